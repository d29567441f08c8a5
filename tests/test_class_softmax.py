"""Class-factored softmax: gradients, exact normalisation, the naive factored formula, binning.

Gradient checks in float64 with central differences (h = 1e-5): the loss is smooth, so every
check asserts rel_error < 1e-7.
"""

import numpy as np
import pytest

from minilm.errors import MinilmError
from minilm.gradcheck import check_layer
from minilm.layers.class_softmax import (
    class_log_probs,
    class_nll,
    class_softmax_backward,
    class_softmax_forward,
    frequency_classes,
    word_classes,
)
from minilm.layers.losses import log_softmax, softmax_cross_entropy

TOL = 1e-7
# 9 words in 4 classes; class 1 holds a single word (its word factor is always 1)
BOUNDS = np.array([0, 3, 4, 7, 9])


def _params(rng, H=5, V=9, C=4, scale=1.0):
    return (
        scale * rng.standard_normal((H, C)),
        scale * rng.standard_normal(C),
        scale * rng.standard_normal((H, V)),
        scale * rng.standard_normal(V),
    )


def _check(h, targets, mask, bounds=BOUNDS):
    rng = np.random.default_rng(1)
    W_c, b_c, W_w, b_w = _params(rng, H=h.shape[1], V=int(bounds[-1]), C=bounds.size - 1)

    def forward(h, W_c, b_c, W_w, b_w):
        loss, cache = class_softmax_forward(h, W_c, b_c, W_w, b_w, targets, bounds, mask)
        return np.array(loss), cache

    def backward(dout, cache):
        return class_softmax_backward(float(dout), cache)

    names = ["h", "W_c", "b_c", "W_w", "b_w"]
    return check_layer(forward, backward, [h, W_c, b_c, W_w, b_w], names=names)


@pytest.mark.parametrize(
    "targets, mask",
    [
        (np.array([0, 4, 8, 2, 3, 5]), None),  # every class, incl. the one-word class 1
        (np.array([6, 6, 6, 1, 6]), None),  # repeated targets: their gradients add
        (np.array([3]), None),  # batch 1, the one-word class
        (np.array([7]), None),  # batch 1
        (np.array([2, -100, 8, 5, 99]), np.array([True, False, True, True, False])),  # ignored
    ],
)
def test_gradients(targets, mask):
    h = np.random.default_rng(0).standard_normal((targets.size, 5))
    errors = _check(h, targets, mask)
    assert max(errors.values()) < TOL, errors


def test_nothing_counted_gives_zero_loss_and_gradients():
    rng = np.random.default_rng(0)
    h = rng.standard_normal((3, 5))
    nothing = np.zeros(3, dtype=bool)
    loss, cache = class_softmax_forward(h, *_params(rng), np.array([1, 2, 3]), BOUNDS, nothing)
    assert loss == 0.0
    assert all(not np.any(g) for g in class_softmax_backward(1.0, cache))


def test_distribution_sums_to_one_and_matches_the_loss():
    rng = np.random.default_rng(2)
    h = 3 * rng.standard_normal((6, 5))
    params = _params(rng, scale=3.0)
    lp = class_log_probs(h, *params, BOUNDS)  # (6, 9)
    np.testing.assert_allclose(np.exp(lp).sum(axis=1), 1.0, rtol=0, atol=1e-14)
    targets = np.array([0, 3, 8, 5, 5, 1])
    nll = class_nll(h, *params, targets, BOUNDS)
    np.testing.assert_allclose(nll, -lp[np.arange(6), targets], rtol=1e-12)
    loss, _ = class_softmax_forward(h, *params, targets, BOUNDS)
    assert loss == pytest.approx(nll.mean(), rel=1e-12)


def test_matches_the_naive_factored_formula():
    """P(w | h) = softmax(h W_c + b_c)[c(w)] * softmax over class c's words, written out."""
    rng = np.random.default_rng(3)
    h = rng.standard_normal((4, 5))
    W_c, b_c, W_w, b_w = _params(rng)
    lp = class_log_probs(h, W_c, b_c, W_w, b_w, BOUNDS)
    for i in range(4):  # a test: loops are fine here
        pc = np.exp(h[i] @ W_c + b_c)
        pc /= pc.sum()
        for c in range(4):
            s, e = BOUNDS[c], BOUNDS[c + 1]
            pw = np.exp(h[i] @ W_w[:, s:e] + b_w[s:e])
            np.testing.assert_allclose(np.exp(lp[i, s:e]), pc[c] * pw / pw.sum(), rtol=1e-12)


def test_one_class_is_the_full_softmax():
    rng = np.random.default_rng(4)
    h = rng.standard_normal((5, 5))
    W_c, b_c, W_w, b_w = _params(rng, C=1)
    targets = np.array([0, 8, 8, 4, 2])
    loss, _ = class_softmax_forward(h, W_c, b_c, W_w, b_w, targets, np.array([0, 9]))
    full, _ = softmax_cross_entropy(h @ W_w + b_w, targets)
    assert loss == pytest.approx(full, rel=1e-12)
    lp = class_log_probs(h, W_c, b_c, W_w, b_w, np.array([0, 9]))
    np.testing.assert_allclose(lp, log_softmax(h @ W_w + b_w), atol=1e-12)


def test_extreme_scores_stay_finite():
    rng = np.random.default_rng(5)
    h = 1e3 * rng.standard_normal((4, 5))
    params = _params(rng, scale=10.0)
    loss, cache = class_softmax_forward(h, *params, np.array([0, 3, 6, 8]), BOUNDS)
    assert np.isfinite(loss)
    assert all(np.all(np.isfinite(g)) for g in class_softmax_backward(1.0, cache))
    assert np.all(np.isfinite(class_log_probs(h, *params, BOUNDS)))


def test_backward_twice_is_the_same_and_float32_stays_float32():
    rng = np.random.default_rng(6)
    h = rng.standard_normal((4, 5)).astype(np.float32)
    params = [p.astype(np.float32) for p in _params(rng)]
    _, cache = class_softmax_forward(h, *params, np.array([0, 3, 6, 8]), BOUNDS)
    first = class_softmax_backward(1.0, cache)
    second = class_softmax_backward(1.0, cache)
    for a, b in zip(first, second, strict=True):
        assert a.dtype == np.float32
        np.testing.assert_array_equal(a, b)


def test_frequency_classes_have_equal_mass_and_no_empty_class():
    rng = np.random.default_rng(7)
    counts = np.sort(rng.zipf(1.3, size=5000).astype(np.float64))[::-1]
    bounds = frequency_classes(counts, 70)
    assert bounds[0] == 0 and bounds[-1] == 5000 and np.all(np.diff(bounds) >= 1)
    mass = np.add.reduceat(counts, bounds[:-1]) / counts.sum()
    # a class is at most 1/C of the mass plus one word's (the word that crosses the boundary)
    assert np.all(mass <= 1 / 70 + counts[bounds[:-1]] / counts.sum() + 1e-12)
    # rare words share wide classes, frequent ones narrow classes
    assert np.diff(bounds)[0] < np.diff(bounds)[-1]
    np.testing.assert_array_equal(word_classes(bounds, bounds[:-1]), np.arange(bounds.size - 1))


def test_frequency_classes_drop_bins_a_heavy_word_covers():
    bounds = frequency_classes(np.array([100, 1, 1, 1, 1, 0]), 4)
    np.testing.assert_array_equal(bounds, [0, 1, 6])  # word 0 is > 3/4 of the mass


def test_bad_input():
    rng = np.random.default_rng(8)
    h = rng.standard_normal((2, 5))
    with pytest.raises(MinilmError):
        class_softmax_forward(h, *_params(rng), np.array([0, 9]), BOUNDS)  # target >= V
    with pytest.raises(MinilmError):
        class_softmax_forward(h, *_params(rng), np.array([0, 1]), np.array([0, 3, 3, 9]))
    with pytest.raises(MinilmError):
        frequency_classes(np.array([1, 2]), 0)
