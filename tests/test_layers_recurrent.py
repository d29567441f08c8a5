"""The Elman layer: forward against a plain loop, backward through time against finite differences.

Gradient checks are float64 central differences (h = 1e-5); a correct backward scores ~1e-9 or
better, so every check asserts rel. error < 1e-7.
"""

import copy

import numpy as np
import pytest

from minilm.errors import MinilmError
from minilm.gradcheck import check_layer, numerical_gradient, rel_error
from minilm.layers.recurrent import (
    recurrence_backward,
    recurrence_forward,
    rnn_backward,
    rnn_forward,
)

TOL = 1e-7  # float64 central differences on a smooth layer

SHAPES = [(1, 1, 3, 4), (1, 5, 2, 3), (3, 1, 4, 2), (2, 4, 3, 5), (4, 6, 5, 4)]  # (N, T, D, H)


def _rnn_args(rng, N, T, D, H, dtype=np.float64):
    # weights scaled so tanh stays out of saturation and gradients are not tiny
    return [
        rng.standard_normal((N, T, D)).astype(dtype),
        rng.standard_normal((N, H)).astype(dtype) * 0.5,
        (rng.standard_normal((D, H)) / np.sqrt(D)).astype(dtype),
        (rng.standard_normal((H, H)) / np.sqrt(H)).astype(dtype),
        rng.standard_normal(H).astype(dtype) * 0.1,
    ]


def _recurrence_args(rng, N, T, H):
    _, h0, _, W_hh, b_h = _rnn_args(rng, N, T, 1, H)
    return [rng.standard_normal((N, T, H)), h0, W_hh, b_h]


def _reference_rnn(x, h0, W_xh, W_hh, b_h):
    """The definition, one sequence and one step at a time."""
    N, T, _ = x.shape
    hs = np.zeros((N, T, W_hh.shape[0]))
    for n in range(N):
        h = h0[n]
        for t in range(T):
            h = np.tanh(x[n, t] @ W_xh + h @ W_hh + b_h)
            hs[n, t] = h
    return hs


@pytest.mark.parametrize("N,T,D,H", SHAPES)
def test_rnn_forward_matches_definition(N, T, D, H):
    args = _rnn_args(np.random.default_rng(1), N, T, D, H)
    hs, _ = rnn_forward(*args)
    assert hs.shape == (N, T, H)
    np.testing.assert_allclose(hs, _reference_rnn(*args), rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("N,T,D,H", SHAPES)
def test_rnn_gradients(N, T, D, H):
    args = _rnn_args(np.random.default_rng(2), N, T, D, H)
    errors = check_layer(
        rnn_forward, rnn_backward, args, names=["x", "h0", "W_xh", "W_hh", "b_h"], seed=3
    )
    for name, err in errors.items():
        assert err < TOL, f"{name}: rel. error {err:.2e} >= {TOL}"  # rel. error < 1e-7


@pytest.mark.parametrize("N,T,D,H", SHAPES)
def test_recurrence_gradients(N, T, D, H):
    args = _recurrence_args(np.random.default_rng(4), N, T, H)
    errors = check_layer(
        recurrence_forward,
        recurrence_backward,
        args,
        names=["xw", "h0", "W_hh", "b_h"],
        seed=5,
    )
    for name, err in errors.items():
        assert err < TOL, f"{name}: rel. error {err:.2e} >= {TOL}"  # rel. error < 1e-7


def test_rnn_is_affine_plus_recurrence():
    x, h0, W_xh, W_hh, b_h = _rnn_args(np.random.default_rng(6), 2, 3, 4, 5)
    hs, _ = rnn_forward(x, h0, W_xh, W_hh, b_h)
    hs_rec, _ = recurrence_forward(x @ W_xh, h0, W_hh, b_h)
    np.testing.assert_allclose(hs, hs_rec, rtol=1e-13, atol=1e-13)


def test_one_hot_input_equals_row_lookup():
    """The reason recurrence_forward exists: one-hot x times W_xh is just W_xh[ids]."""
    rng = np.random.default_rng(7)
    N, T, V, H = 2, 4, 6, 3
    ids = rng.integers(0, V, size=(N, T))
    _, h0, W_xh, W_hh, b_h = _rnn_args(rng, N, T, V, H)
    one_hot = np.eye(V)[ids]  # (N, T, V)
    hs_dense, cache_dense = rnn_forward(one_hot, h0, W_xh, W_hh, b_h)
    hs_rows, cache_rows = recurrence_forward(W_xh[ids], h0, W_hh, b_h)
    np.testing.assert_allclose(hs_rows, hs_dense, rtol=1e-13, atol=1e-13)
    # and the gradient of W_xh is the row-scatter of dxw
    dhs = rng.standard_normal((N, T, H))
    _, _, dW_xh, _, _ = rnn_backward(dhs, cache_dense)
    dxw, _, _, _ = recurrence_backward(dhs, cache_rows)
    dW_rows = np.zeros_like(W_xh)
    np.add.at(dW_rows, ids.ravel(), dxw.reshape(-1, H))
    np.testing.assert_allclose(dW_rows, dW_xh, rtol=1e-12, atol=1e-13)


def _unrolled_forward(xw, h0, W_hh_per_step, b_h):
    """The recurrence with a separate copy of W_hh at every step, to isolate each use."""
    h, hs = h0, []
    for t, W_t in enumerate(W_hh_per_step):
        h = np.tanh(xw[:, t] + h @ W_t + b_h)
        hs.append(h)
    return np.stack(hs, axis=1)


def test_shared_weights_get_the_sum_of_every_step():
    """W_hh is used T times: dW_hh must be the sum of T per-step gradients, each one measured
    separately by perturbing only the copy of W_hh used at that step."""
    rng = np.random.default_rng(8)
    N, T, H = 2, 4, 3
    xw, h0, W_hh, b_h = _recurrence_args(rng, N, T, H)
    dhs = rng.standard_normal((N, T, H))

    _, cache = recurrence_forward(xw, h0, W_hh, b_h)
    _, _, dW_hh, _ = recurrence_backward(dhs, cache)

    copies = [W_hh.copy() for _ in range(T)]
    per_step = [
        numerical_gradient(
            lambda: float(np.sum(_unrolled_forward(xw, h0, copies, b_h) * dhs)), copies[t]
        )
        for t in range(T)
    ]
    assert rel_error(dW_hh, sum(per_step)) < TOL  # rel. error < 1e-7
    # every step really contributes: no single step's gradient is the total
    for g in per_step:
        assert np.abs(g).max() > 1e-3
        assert rel_error(dW_hh, g) > 1e-2


def test_carried_state_is_truncated_bptt():
    """Two windows of a stream: window 2 starts from window 1's last state, held constant.

    - carrying the state reproduces running the whole 2T sequence at once;
    - window 2's gradients are those of window 2 alone with h0 a constant (truncated BPTT);
    - feeding window 2's dh0 into window 1's backward recovers the full, untruncated gradient,
      which is different: truncation is an approximation, and dh0 is exactly what it drops.
    """
    rng = np.random.default_rng(9)
    N, T, D, H = 2, 3, 4, 5
    x, h0, W_xh, W_hh, b_h = _rnn_args(rng, N, 2 * T, D, H)
    x1, x2 = x[:, :T].copy(), x[:, T:].copy()

    hs1, cache1 = rnn_forward(x1, h0, W_xh, W_hh, b_h)
    h_carry = hs1[:, -1].copy()  # the constant the next window starts from
    hs2, cache2 = rnn_forward(x2, h_carry, W_xh, W_hh, b_h)
    hs_full, cache_full = rnn_forward(x, h0, W_xh, W_hh, b_h)
    np.testing.assert_allclose(np.concatenate([hs1, hs2], axis=1), hs_full, rtol=0, atol=1e-14)

    # loss on window 2 only; truncated: h_carry does not move when the weights move
    dhs2 = rng.standard_normal((N, T, H))
    _, dh0_2, _, dW_hh_2, _ = rnn_backward(dhs2, cache2)
    num_truncated = numerical_gradient(
        lambda: float(np.sum(rnn_forward(x2, h_carry, W_xh, W_hh, b_h)[0] * dhs2)), W_hh
    )
    assert rel_error(dW_hh_2, num_truncated) < TOL  # rel. error < 1e-7

    # untruncated: the same loss seen through the whole sequence
    dhs_full = np.concatenate([np.zeros((N, T, H)), dhs2], axis=1)
    _, _, _, dW_hh_full, _ = rnn_backward(dhs_full, cache_full)
    assert rel_error(dW_hh_full, dW_hh_2) > 1e-3  # truncation changes the gradient
    dhs1 = np.zeros((N, T, H))
    dhs1[:, -1] = dh0_2  # continue backward into window 1 through the carried state
    _, _, _, dW_hh_1, _ = rnn_backward(dhs1, cache1)
    assert rel_error(dW_hh_1 + dW_hh_2, dW_hh_full) < 1e-12  # exact algebra, no differences


def _all_arrays(obj):
    if isinstance(obj, np.ndarray):
        return [obj]
    if isinstance(obj, tuple | list):
        return [a for item in obj for a in _all_arrays(item)]
    return []


@pytest.mark.parametrize(
    "forward,backward,make_args",
    [
        (rnn_forward, rnn_backward, lambda rng: _rnn_args(rng, 2, 3, 4, 5)),
        (recurrence_forward, recurrence_backward, lambda rng: _recurrence_args(rng, 2, 3, 5)),
    ],
)
def test_backward_twice_same_result_cache_unchanged(forward, backward, make_args):
    rng = np.random.default_rng(10)
    args = make_args(rng)
    hs, cache = forward(*args)
    before = copy.deepcopy(cache)
    dhs = rng.standard_normal(hs.shape)
    first = backward(dhs, cache)
    second = backward(dhs, cache)
    for a, b in zip(first, second, strict=True):
        np.testing.assert_array_equal(a, b)
    for a, b in zip(_all_arrays(cache), _all_arrays(before), strict=True):
        np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_dtype_follows_input(dtype):
    args = _rnn_args(np.random.default_rng(11), 2, 3, 4, 5, dtype=dtype)
    hs, cache = rnn_forward(*args)
    assert hs.dtype == dtype
    for g in rnn_backward(np.ones_like(hs), cache):
        assert g.dtype == dtype


def test_bad_shapes_raise_clear_errors():
    x, h0, W_xh, W_hh, b_h = _rnn_args(np.random.default_rng(12), 2, 3, 4, 5)
    with pytest.raises(MinilmError, match="h0"):
        rnn_forward(x, h0[:1], W_xh, W_hh, b_h)
    with pytest.raises(MinilmError, match="W_xh"):
        rnn_forward(x[:, :, :3], h0, W_xh, W_hh, b_h)
    with pytest.raises(MinilmError, match="b_h"):
        recurrence_forward(x @ W_xh, h0, W_hh, b_h[:4])
