"""Core layers: gradients vs finite differences, repeated ids, reuse, cache purity, dtypes.

Gradient checks run in float64 with central differences (h = 1e-5); a correct smooth layer
scores ~1e-9 or better, so every check below asserts rel_error < 1e-7.
"""

import copy

import numpy as np
import pytest

from minilm.errors import MinilmError
from minilm.gradcheck import check_layer, densify, numerical_gradient, rel_error
from minilm.layers.core import (
    affine_backward,
    affine_forward,
    dropout_backward,
    dropout_forward,
    embedding_backward,
    embedding_backward_rows,
    embedding_forward,
    gelu_backward,
    gelu_forward,
    layernorm_backward,
    layernorm_forward,
    relu_backward,
    relu_forward,
    scatter_add_rows,
    sigmoid_backward,
    sigmoid_forward,
    sum_rows,
    tanh_backward,
    tanh_forward,
)

TOL = 1e-7  # max relative error for float64 central differences on smooth layers

# Leading shapes covering batch 1 and sequence length 1: (N,), (N, T), and no leading dims.
LEAD_SHAPES = [(4,), (1,), (3, 5), (1, 1), (2, 1), (1, 3), ()]


def _rng(seed=0):
    return np.random.default_rng(seed)


def _away_from_zero(shape, rng):
    """Values with |x| >= 0.1, so a +-1e-5 step never crosses ReLU's kink."""
    x = rng.standard_normal(shape)
    return np.sign(x) * (0.1 + np.abs(x))


# --- gradients vs finite differences ---------------------------------------------------------


@pytest.mark.parametrize("lead", LEAD_SHAPES)
def test_affine_gradients(lead):
    rng = _rng(1)
    x, W, b = rng.standard_normal((*lead, 3)), rng.standard_normal((3, 4)), rng.standard_normal(4)
    errors = check_layer(affine_forward, affine_backward, [x, W, b], names=["x", "W", "b"])
    assert max(errors.values()) < TOL, errors


@pytest.mark.parametrize("lead", LEAD_SHAPES)
@pytest.mark.parametrize(
    "pair",
    [
        (tanh_forward, tanh_backward),
        (sigmoid_forward, sigmoid_backward),
        (relu_forward, relu_backward),
        (gelu_forward, gelu_backward),
    ],
    ids=["tanh", "sigmoid", "relu", "gelu"],
)
def test_activation_gradients(pair, lead):
    forward, backward = pair
    x = _away_from_zero((*lead, 3), _rng(2))
    errors = check_layer(forward, backward, [x], names=["x"])
    assert errors["x"] < TOL, errors


@pytest.mark.parametrize("lead", LEAD_SHAPES)
def test_layernorm_gradients(lead):
    rng = _rng(3)
    x = rng.standard_normal((*lead, 5))
    gamma, beta = 1 + 0.5 * rng.standard_normal(5), rng.standard_normal(5)
    errors = check_layer(
        layernorm_forward, layernorm_backward, [x, gamma, beta], names=["x", "gamma", "beta"]
    )
    assert max(errors.values()) < TOL, errors


@pytest.mark.parametrize("lead", [(4,), (1,), (3, 5), (1, 1)])
def test_dropout_gradients_with_fixed_mask(lead):
    rng = _rng(4)
    x = rng.standard_normal((*lead, 6))
    mask = rng.random(x.shape) < 0.6
    errors = check_layer(
        dropout_forward, dropout_backward, [x], kwargs={"p": 0.4, "mask": mask}, names=["x"]
    )
    assert errors["x"] < TOL, errors


@pytest.mark.parametrize("lead", [(6,), (1,), (2, 3), (1, 1)])
def test_embedding_gradients_dense_and_sparse(lead):
    rng = _rng(5)
    W = rng.standard_normal((4, 3))
    ids = rng.integers(0, 4, size=lead)  # 4 rows, so larger id arrays repeat ids
    dense = check_layer(embedding_forward, embedding_backward, [ids, W], names=["ids", "W"])
    sparse = check_layer(
        embedding_forward,
        lambda dout, cache: densify(embedding_backward_rows(dout, cache), W.shape),
        [ids, W],
        names=["ids", "W"],
    )
    assert dense["W"] < TOL and sparse["W"] < TOL, (dense, sparse)


# --- repeated ids: the `dW[ids] += g` bug ----------------------------------------------------


def _reference_scatter(ids, grads, V):
    ref = np.zeros((V, grads.shape[-1]))
    np.add.at(ref, ids.reshape(-1), grads.reshape(-1, grads.shape[-1]))
    return ref


def test_embedding_backward_sums_repeated_ids():
    W = np.zeros((5, 2))
    ids = np.array([[1, 1, 2], [1, 4, 1]])  # row 1 looked up four times
    dout = np.arange(12, dtype=np.float64).reshape(2, 3, 2)
    _, cache = embedding_forward(ids, W)
    dW = embedding_backward(dout, cache)
    expected = _reference_scatter(ids, dout, 5)
    assert np.array_equal(dW, expected)
    assert np.array_equal(dW[1], dout[0, 0] + dout[0, 1] + dout[1, 0] + dout[1, 2])
    # the buggy fancy-index update keeps one contribution per row: it must differ
    buggy = np.zeros_like(W)
    buggy[ids] += dout
    assert not np.array_equal(buggy, expected)

    row_ids, row_grads = embedding_backward_rows(dout, cache)
    assert np.array_equal(row_ids, [1, 2, 4])
    assert np.array_equal(row_grads, expected[[1, 2, 4]])


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("D", [7, 8])
def test_scatter_helpers_agree_with_add_at_on_many_repeats(D, dtype):
    rng = _rng(6)
    V = 50
    ids = rng.zipf(1.5, size=(40, 6)) % V  # heavy-tailed: many repeats of small ids
    grads = rng.standard_normal((40, 6, D)).astype(dtype)
    expected = _reference_scatter(ids, grads.astype(np.float64), V)
    tol = 1e-14 if dtype == np.float64 else 1e-6
    dW = scatter_add_rows(ids, grads, V)
    assert dW.dtype == dtype and rel_error(dW, expected) < tol
    row_ids, row_grads = sum_rows(ids, grads)
    assert np.array_equal(row_ids, np.unique(ids))
    assert rel_error(densify((row_ids, row_grads), (V, D)), expected) < tol
    assert np.all(np.any(expected[row_ids] != 0, axis=1))  # only touched rows returned


def test_scatter_helpers_handle_empty_ids():
    ids, grads = np.zeros((0,), dtype=np.int64), np.zeros((0, 3))
    assert np.array_equal(scatter_add_rows(ids, grads, 4), np.zeros((4, 3)))
    row_ids, row_grads = sum_rows(ids, grads)
    assert row_ids.shape == (0,) and row_grads.shape == (0, 3)


def test_scatter_helpers_reject_mismatched_grads():
    ids = np.array([0, 1, 1, 2, 0, 3])
    with pytest.raises(MinilmError, match="grads"):
        sum_rows(ids, np.zeros((3, 2, 4)))  # same number of rows, wrong shape: refuse
    with pytest.raises(MinilmError, match="grads"):
        scatter_add_rows(ids, np.zeros((5, 4)), 4)


@pytest.mark.parametrize("bad", [[0, 5], [-1, 2]])
def test_out_of_range_ids_raise(bad):
    W = np.zeros((5, 2))
    with pytest.raises(MinilmError, match="ids"):
        embedding_forward(np.array(bad), W)
    with pytest.raises(MinilmError, match="ids"):
        scatter_add_rows(np.array(bad), np.zeros((2, 2)), 5)


def test_float_ids_raise():
    with pytest.raises(MinilmError, match="integer"):
        embedding_forward(np.array([0.0, 1.0]), np.zeros((3, 2)))


# --- a weight used twice gets both contributions ---------------------------------------------


def test_weight_used_twice_gets_both_contributions():
    rng = _rng(7)
    x1, x2 = rng.standard_normal((3, 4)), rng.standard_normal((2, 5, 4))
    W, b = rng.standard_normal((4, 2)), rng.standard_normal(2)
    d1, d2 = rng.standard_normal((3, 2)), rng.standard_normal((2, 5, 2))

    def loss():
        return float(
            np.sum(affine_forward(x1, W, b)[0] * d1) + np.sum(affine_forward(x2, W, b)[0] * d2)
        )

    _, dW1, db1 = affine_backward(d1, affine_forward(x1, W, b)[1])
    _, dW2, db2 = affine_backward(d2, affine_forward(x2, W, b)[1])
    assert rel_error(dW1 + dW2, numerical_gradient(loss, W)) < TOL
    assert rel_error(db1 + db2, numerical_gradient(loss, b)) < TOL
    # each call alone is only part of the gradient
    assert rel_error(dW1, numerical_gradient(loss, W)) > 0.01


def test_tied_embedding_and_output_weight_gets_both_contributions():
    """W as input table (lookup) and as output layer (h @ W^T): dW is the sum of both paths."""
    rng = _rng(8)
    V, D = 6, 3
    W = rng.standard_normal((V, D))
    ids = np.array([2, 2, 5])
    dlogits = rng.standard_normal((3, V))

    def forward():
        h, _ = embedding_forward(ids, W)  # (3, D)
        return h @ W.T  # (3, V)

    h, emb_cache = embedding_forward(ids, W)
    dh, dWt, _ = affine_backward(dlogits, affine_forward(h, W.T, np.zeros(V))[1])
    dW = dWt.T + embedding_backward(dh, emb_cache)
    num = numerical_gradient(lambda: float(np.sum(forward() * dlogits)), W)
    assert rel_error(dW, num) < TOL


# --- backward twice on one cache: same result, cache untouched --------------------------------


def _snapshot(obj):
    return copy.deepcopy(obj)


def _same(a, b):
    """Deep equality of caches: tuples/lists element-wise, arrays by dtype, shape and values."""
    if isinstance(a, tuple | list):
        return type(a) is type(b) and len(a) == len(b) and all(map(_same, a, b))
    if isinstance(a, np.ndarray):
        return isinstance(b, np.ndarray) and a.dtype == b.dtype and np.array_equal(a, b)
    return a == b


def _layer_cases():
    rng = _rng(9)
    x = _away_from_zero((2, 3, 4), rng)
    W, b = rng.standard_normal((4, 5)), rng.standard_normal(5)
    gamma, beta = rng.standard_normal(4), rng.standard_normal(4)
    ids = np.array([[0, 1, 1], [3, 1, 0]])
    table = rng.standard_normal((4, 4))
    return {
        "affine": (affine_forward, affine_backward, (x, W, b), {}),
        "embedding": (embedding_forward, embedding_backward, (ids, table), {}),
        "embedding_rows": (embedding_forward, embedding_backward_rows, (ids, table), {}),
        "tanh": (tanh_forward, tanh_backward, (x,), {}),
        "sigmoid": (sigmoid_forward, sigmoid_backward, (x,), {}),
        "relu": (relu_forward, relu_backward, (x,), {}),
        "gelu": (gelu_forward, gelu_backward, (x,), {}),
        "dropout": (dropout_forward, dropout_backward, (x, 0.5), {"rng": _rng(10)}),
        "dropout_eval": (dropout_forward, dropout_backward, (x, 0.5), {"train": False}),
        "layernorm": (layernorm_forward, layernorm_backward, (x, gamma, beta), {}),
    }


@pytest.mark.parametrize("name", list(_layer_cases()))
def test_backward_twice_is_pure(name):
    forward, backward, args, kwargs = _layer_cases()[name]
    out, cache = forward(*args, **kwargs)
    before = _snapshot(cache)
    dout = _rng(11).standard_normal(out.shape)
    first = backward(dout, cache)
    assert _same(cache, before), "backward modified its cache"
    second = backward(dout, cache)
    assert _same(first, second)
    assert _same(cache, before)


# --- dtype follows the input -----------------------------------------------------------------


@pytest.mark.parametrize("name", list(_layer_cases()))
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_dtype_follows_input(name, dtype):
    forward, backward, args, kwargs = _layer_cases()[name]
    args = tuple(
        a.astype(dtype) if isinstance(a, np.ndarray) and a.dtype.kind == "f" else a for a in args
    )
    out, cache = forward(*args, **kwargs)
    assert out.dtype == dtype
    grads = backward(np.ones_like(out), cache)
    grads = grads if isinstance(grads, tuple) else (grads,)
    float_grads = [g for g in grads if g.dtype.kind == "f"]
    assert float_grads and all(g.dtype == dtype for g in float_grads)


# --- behaviour of individual layers ----------------------------------------------------------


def test_affine_over_leading_dims_equals_row_by_row():
    rng = _rng(12)
    x, W, b = rng.standard_normal((2, 3, 4)), rng.standard_normal((4, 5)), rng.standard_normal(5)
    out, _ = affine_forward(x, W, b)
    assert out.shape == (2, 3, 5)
    assert np.allclose(out[1, 2], x[1, 2] @ W + b)


def test_affine_shape_mismatch_raises():
    with pytest.raises(MinilmError, match="affine"):
        affine_forward(np.zeros((2, 3)), np.zeros((4, 5)), np.zeros(5))


def test_sigmoid_is_stable_and_exact_at_extremes():
    x = np.array([-1e4, -800.0, -30.0, 0.0, 30.0, 800.0, 1e4])
    with np.errstate(over="raise", invalid="raise", divide="raise"):
        out, cache = sigmoid_forward(x)
        dx = sigmoid_backward(np.ones_like(x), cache)
    assert np.all(np.isfinite(out)) and np.all(np.isfinite(dx))
    assert out[0] == 0.0 and out[-1] == 1.0 and out[3] == 0.5
    assert np.isclose(out[2], np.exp(-30.0), rtol=1e-12)  # tail keeps relative precision
    assert np.isclose(out[4], 1 / (1 + np.exp(-30.0)), rtol=1e-15)


def test_gelu_matches_known_values():
    out, _ = gelu_forward(np.array([-3.0, 0.0, 1.0, 3.0]))
    # tanh approximation values; exact GELU(1) = 0.841345, the approximation is within 5e-4
    assert np.allclose(out, [-0.0036373920817729, 0.0, 0.8411919906082768, 2.9963626079182271])


def test_layernorm_output_is_normalised():
    rng = _rng(13)
    x = 3 + 5 * rng.standard_normal((4, 2, 16))
    out, _ = layernorm_forward(x, np.ones(16), np.zeros(16))
    assert np.allclose(out.mean(axis=-1), 0, atol=1e-12)
    assert np.allclose(out.var(axis=-1), 1, atol=1e-4)  # var/(var+eps), var ~ 25


def test_layernorm_matches_direct_formula_where_eps_matters():
    rng = _rng(17)
    x = 0.003 * rng.standard_normal((3, 8))  # var ~ 1e-5, comparable to eps
    gamma, beta = rng.standard_normal(8), rng.standard_normal(8)
    out, _ = layernorm_forward(x, gamma, beta, eps=1e-5)
    mu, var = x.mean(axis=-1, keepdims=True), x.var(axis=-1, keepdims=True)
    assert np.allclose(out, gamma * (x - mu) / np.sqrt(var + 1e-5) + beta, rtol=1e-12, atol=0)


def test_dropout_keep_rate_and_scaling():
    p = 0.3
    x = np.ones((200, 500))  # 100,000 draws: keep rate std = sqrt(0.7*0.3/1e5) ~ 0.0015
    out, cache = dropout_forward(x, p, rng=_rng(14))
    kept = out != 0
    assert abs(kept.mean() - (1 - p)) < 0.01  # tolerance ~7 standard deviations
    assert np.allclose(out[kept], 1 / (1 - p))  # inverted dropout: survivors scaled up
    assert abs(out.mean() - 1) < 0.015  # so E[out] = x
    dx = dropout_backward(np.ones_like(x), cache)
    assert np.array_equal(dx, out)  # same mask, same scale


def test_dropout_is_reproducible_and_identity_in_eval():
    x = _rng(15).standard_normal((3, 4))
    a, _ = dropout_forward(x, 0.5, rng=_rng(16))
    b, _ = dropout_forward(x, 0.5, rng=_rng(16))
    assert np.array_equal(a, b)
    out, cache = dropout_forward(x, 0.5, train=False)
    assert np.array_equal(out, x) and out is not x
    assert np.array_equal(dropout_backward(x, cache), x)


def test_dropout_mask_broadcasts_over_time():
    x = np.ones((2, 3, 4))
    mask = np.array([[[True, False, True, True]], [[False, True, True, True]]])  # (N, 1, D)
    out, _ = dropout_forward(x, 0.25, mask=mask)
    assert np.array_equal(out, np.broadcast_to(mask / 0.75, x.shape))


@pytest.mark.parametrize(
    "kwargs",
    [
        {"p": 1.0, "rng": np.random.default_rng(0)},
        {"p": -0.1, "rng": np.random.default_rng(0)},
        {"p": 0.5},
        {"p": 0.5, "rng": np.random.default_rng(0), "mask": np.ones((2, 2), dtype=bool)},
        {"p": 0.5, "mask": np.ones((2, 2))},
    ],
    ids=["p=1", "p<0", "no rng or mask", "both", "float mask"],
)
def test_dropout_bad_arguments_raise(kwargs):
    with pytest.raises(MinilmError, match="dropout"):
        dropout_forward(np.ones((2, 2)), **kwargs)
