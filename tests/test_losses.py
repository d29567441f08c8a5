"""Losses: gradients vs finite differences, masks, extreme logits, ln V at zero logits, dtypes.

Gradient checks in float64 with central differences (h = 1e-5); both losses are smooth, so
every check asserts rel_error < 1e-7.
"""

import numpy as np
import pytest

from minilm.errors import MinilmError
from minilm.gradcheck import check_layer
from minilm.layers.losses import log_softmax, logistic_loss, softmax_cross_entropy

TOL = 1e-7  # max relative error for float64 central differences


def _as_layer(loss_fn, *rest, **kwargs):
    """Wrap (loss, dlogits) = loss_fn(logits, ...) as a layer pair for check_layer."""

    def forward(logits):
        loss, dlogits = loss_fn(logits, *rest, **kwargs)
        return np.array(loss), dlogits

    def backward(dout, dlogits):
        return dout * dlogits

    return forward, backward


# Leading shapes with batch 1 and sequence length 1.
LEAD_SHAPES = [(5,), (1,), (3, 4), (1, 1), (2, 1), (1, 3)]


@pytest.mark.parametrize("lead", LEAD_SHAPES)
@pytest.mark.parametrize("masked", [False, True])
def test_softmax_cross_entropy_gradients(lead, masked):
    rng = np.random.default_rng(0)
    V = 6
    logits = 2 * rng.standard_normal((*lead, V))
    targets = rng.integers(0, V, size=lead)
    mask = rng.random(lead) < 0.6 if masked else None
    if mask is not None:
        mask.flat[0] = True  # at least one counted target
    forward, backward = _as_layer(softmax_cross_entropy, targets, mask=mask)
    errors = check_layer(forward, backward, [logits], names=["logits"])
    assert errors["logits"] < TOL, errors


@pytest.mark.parametrize("lead", LEAD_SHAPES)
@pytest.mark.parametrize("masked", [False, True])
def test_logistic_loss_gradients(lead, masked):
    rng = np.random.default_rng(1)
    logits = 3 * rng.standard_normal(lead)
    labels = (rng.random(lead) < 0.5).astype(np.float64)
    mask = rng.random(lead) < 0.6 if masked else None
    if mask is not None:
        mask.flat[0] = True
    forward, backward = _as_layer(logistic_loss, labels, mask=mask)
    errors = check_layer(forward, backward, [logits], names=["logits"])
    assert errors["logits"] < TOL, errors


# --- softmax cross-entropy -------------------------------------------------------------------


@pytest.mark.parametrize("V", [2, 7, 1000])
def test_softmax_cross_entropy_is_ln_v_for_zero_logits(V):
    loss, dlogits = softmax_cross_entropy(np.zeros((3, 2, V)), np.zeros((3, 2), dtype=np.int64))
    assert abs(loss - np.log(V)) < 1e-12
    assert np.allclose(dlogits.sum(axis=-1), 0)  # softmax minus one-hot sums to zero


def test_softmax_cross_entropy_matches_direct_formula():
    rng = np.random.default_rng(2)
    logits, targets = rng.standard_normal((4, 5)), np.array([0, 4, 4, 2])
    p = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    loss, dlogits = softmax_cross_entropy(logits, targets)
    assert np.isclose(loss, -np.mean(np.log(p[np.arange(4), targets])), rtol=1e-13)
    assert np.allclose(dlogits, (p - np.eye(5)[targets]) / 4, rtol=1e-12, atol=0)


def test_softmax_cross_entropy_is_finite_and_exact_for_huge_logits():
    logits = np.array([[1e4, -1e4, 0.0], [1e4, -1e4, 0.0], [-1e4, -1e4, 1e4]])
    targets = np.array([0, 1, 0])
    with np.errstate(over="raise", invalid="raise", divide="raise"):
        loss, dlogits = softmax_cross_entropy(logits, targets)
    # row 0: right with certainty -> 0; row 1: wrong by 2e4 -> 2e4; row 2: wrong by 2e4 -> 2e4
    assert np.isfinite(loss) and np.isclose(loss, (0 + 2e4 + 2e4) / 3, rtol=1e-12)
    assert np.all(np.isfinite(dlogits))
    assert np.allclose(dlogits[1], np.array([1.0, -1.0, 0.0]) / 3)


def test_softmax_cross_entropy_mask_counts_only_true_targets():
    rng = np.random.default_rng(3)
    logits = rng.standard_normal((2, 4, 5))
    targets = rng.integers(0, 5, size=(2, 4))
    mask = np.array([[True, True, False, False], [True, False, False, False]])
    targets[~mask] = -100  # ignored positions may hold any value (e.g. an ignore index)
    loss, dlogits = softmax_cross_entropy(logits, targets, mask=mask)
    kept_loss, kept_grad = softmax_cross_entropy(logits[mask], targets[mask])
    assert np.isclose(loss, kept_loss, rtol=1e-14)  # mean over the 3 counted targets only
    assert np.allclose(dlogits[mask], kept_grad, rtol=1e-14)
    assert np.all(dlogits[~mask] == 0)


def test_softmax_cross_entropy_with_nothing_counted_is_zero_not_nan():
    logits = np.random.default_rng(4).standard_normal((2, 3, 4))
    mask = np.zeros((2, 3), dtype=bool)
    loss, dlogits = softmax_cross_entropy(logits, np.zeros((2, 3), dtype=np.int64), mask=mask)
    assert loss == 0.0 and np.array_equal(dlogits, np.zeros_like(logits))


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_softmax_cross_entropy_dtype_follows_logits(dtype):
    logits = np.random.default_rng(5).standard_normal((3, 4)).astype(dtype)
    loss, dlogits = softmax_cross_entropy(logits, np.array([0, 1, 3]), mask=np.ones(3, bool))
    assert dlogits.dtype == dtype and isinstance(loss, float)


def test_softmax_cross_entropy_float32_huge_logits_finite():
    logits = np.array([[1e4, -1e4], [-1e4, 1e4]], dtype=np.float32)
    loss, dlogits = softmax_cross_entropy(logits, np.array([0, 0]))
    assert np.isclose(loss, 1e4) and np.all(np.isfinite(dlogits))


def test_softmax_cross_entropy_float32_matches_float64_and_leaves_logits_alone():
    """The fused in-place computation works on its own buffer: the caller's logits are intact,
    and float32 agrees with float64 to float32 rounding (rel. 1e-5)."""
    rng = np.random.default_rng(6)
    logits = 4 * rng.standard_normal((7, 300))
    targets = rng.integers(0, 300, size=7)
    mask = rng.random(7) < 0.7
    mask[0] = True
    before = logits.copy()
    loss64, d64 = softmax_cross_entropy(logits, targets, mask=mask)
    loss32, d32 = softmax_cross_entropy(logits.astype(np.float32), targets, mask=mask)
    assert np.array_equal(logits, before)
    assert np.isclose(loss32, loss64, rtol=1e-5)
    assert np.abs(d32 - d64).max() < 1e-5 * np.abs(d64).max()


@pytest.mark.parametrize(
    "targets, mask",
    [
        (np.array([0, 5]), None),  # out of range
        (np.array([0, -1]), None),
        (np.array([0.0, 1.0]), None),  # not integer
        (np.array([0, 1, 2]), None),  # wrong shape
        (np.array([0, 1]), np.array([1, 1])),  # mask not bool
    ],
)
def test_softmax_cross_entropy_bad_input_raises(targets, mask):
    with pytest.raises(MinilmError, match="softmax_cross_entropy"):
        softmax_cross_entropy(np.zeros((2, 5)), targets, mask=mask)


def test_log_softmax_is_normalised_and_stable():
    logits = np.array([[1e4, 0.0, -1e4], [1.0, 2.0, 3.0]])
    logp = log_softmax(logits)
    assert np.all(np.isfinite(logp))
    assert np.allclose(np.exp(logp).sum(axis=-1), 1.0)
    assert logp[0, 0] == 0.0 and logp[0, 1] == -1e4


# --- logistic loss ---------------------------------------------------------------------------


def test_logistic_loss_matches_direct_formula():
    z = np.array([-2.0, -0.5, 0.0, 0.7, 3.0])
    y = np.array([1.0, 0.0, 1.0, 1.0, 0.0])
    s = 1 / (1 + np.exp(-z))
    loss, dlogits = logistic_loss(z, y)
    assert np.isclose(loss, -np.mean(y * np.log(s) + (1 - y) * np.log(1 - s)), rtol=1e-13)
    assert np.allclose(dlogits, (s - y) / 5, rtol=1e-12, atol=0)


def test_logistic_loss_is_finite_and_exact_for_huge_logits():
    z = np.array([1e4, 1e4, -1e4, -1e4])
    y = np.array([1.0, 0.0, 1.0, 0.0])
    with np.errstate(over="raise", invalid="raise", divide="raise"):
        loss, dlogits = logistic_loss(z, y)
    # right with certainty costs 0, wrong by 1e4 costs 1e4
    assert np.isclose(loss, (0 + 1e4 + 1e4 + 0) / 4, rtol=1e-12)
    assert np.array_equal(dlogits, np.array([0.0, 1.0, -1.0, 0.0]) / 4)


def test_logistic_loss_mask_and_nothing_counted():
    z = np.array([[0.3, -1.0, 2.0], [5.0, 0.0, -3.0]])
    y = np.array([[1.0, 0.0, 0.0], [1.0, 1.0, 0.0]])
    mask = np.array([[True, False, True], [False, False, True]])
    loss, dlogits = logistic_loss(z, y, mask=mask)
    kept_loss, kept_grad = logistic_loss(z[mask], y[mask])
    assert np.isclose(loss, kept_loss, rtol=1e-14)
    assert np.allclose(dlogits[mask], kept_grad, rtol=1e-14) and np.all(dlogits[~mask] == 0)
    loss, dlogits = logistic_loss(z, y, mask=np.zeros_like(mask))
    assert loss == 0.0 and np.array_equal(dlogits, np.zeros_like(z))


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_logistic_loss_dtype_follows_logits(dtype):
    z = np.array([[1e4, -1e4], [0.5, -0.5]], dtype=dtype)
    loss, dlogits = logistic_loss(z, np.array([[1, 0], [0, 1]]))  # int labels are accepted
    assert dlogits.dtype == dtype and isinstance(loss, float) and np.isfinite(loss)


def test_logistic_loss_shape_mismatch_raises():
    with pytest.raises(MinilmError, match="logistic_loss"):
        logistic_loss(np.zeros((2, 3)), np.zeros(3))
