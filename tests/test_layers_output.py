"""The feed-forward and output layers of the transformer (minilm/layers/attention.py
`feed_forward_*`, minilm/layers/output.py) against float64 central differences, and the output
layer's two forms against each other's definitions."""

import numpy as np
import pytest

from minilm.gradcheck import check_layer, numerical_gradient, rel_error
from minilm.layers.attention import feed_forward_backward, feed_forward_forward
from minilm.layers.output import output_backward, output_forward, output_log_probs, output_nll

# float64 central differences; a correct backward scores ~1e-9 here, a missing term ~1e-2.
TOL = 1e-7


@pytest.mark.parametrize("shape", [(1, 4), (2, 3, 4)])
def test_feed_forward_gradients(shape):
    rng = np.random.default_rng(0)
    D, F = shape[-1], 6
    args = [rng.standard_normal(shape), rng.standard_normal((D, F)), rng.standard_normal(F)]
    args += [rng.standard_normal((F, D)), rng.standard_normal(D)]
    errors = check_layer(
        feed_forward_forward, feed_forward_backward, args, names=["x", "W_1", "b_1", "W_2", "b_2"]
    )
    assert max(errors.values()) < TOL, errors


def _head(classes: bool, M=5, D=4, V=7, seed=1):
    rng = np.random.default_rng(seed)
    h, E, c = rng.standard_normal((M, D)), rng.standard_normal((V, D)), rng.standard_normal(V)
    target = np.array([3, 3, 0, 6, 1])[:M]  # a repeated target
    cls = None
    if classes:
        cls = (rng.standard_normal((D, 3)), rng.standard_normal(3), np.array([0, 1, 4, V]))
    return h, E, c, target, cls


@pytest.mark.parametrize("classes", [False, True])
@pytest.mark.parametrize("M", [1, 5])
def test_output_gradients(classes, M):
    h, E, c, target, cls = _head(classes, M=M)
    loss, cache = output_forward(h, E, c, target, cls)
    dh, dE, dc, dW, db = output_backward(2.0, cache)  # dloss = 2: the gradients scale

    def f():
        return 2.0 * output_forward(h, E, c, target, cls)[0]

    for name, g, x in [("h", dh, h), ("E", dE, E), ("c", dc, c)]:
        assert rel_error(g, numerical_gradient(f, x)) < TOL, name
    if classes:
        assert rel_error(dW, numerical_gradient(f, cls[0])) < TOL
        assert rel_error(db, numerical_gradient(f, cls[1])) < TOL
    else:
        assert dW is None and db is None


@pytest.mark.parametrize("classes", [False, True])
def test_output_loss_nll_and_log_probs_agree(classes):
    h, E, c, target, cls = _head(classes)
    loss, _ = output_forward(h, E, c, target, cls)
    nll = output_nll(h, E, c, target, cls)
    lp = output_log_probs(h, E, c, cls)  # (M, V)
    np.testing.assert_allclose(np.exp(lp).sum(axis=1), 1.0, rtol=1e-12)  # a distribution
    np.testing.assert_allclose(nll, -lp[np.arange(target.size), target], rtol=1e-12)
    assert loss == pytest.approx(nll.mean(), rel=1e-12)
