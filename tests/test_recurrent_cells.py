"""Elman, LSTM and GRU cells: each step pair and the one sequence loop, in float64.

Every gradient is checked against central differences (h = 1e-5) with the symmetric relative
error of minilm/gradcheck.py; a correct backward scores ~1e-9 or better, so the tolerance is 1e-7.
"""

import copy

import numpy as np
import pytest

from minilm.errors import MinilmError
from minilm.gradcheck import numerical_gradient, rel_error
from minilm.layers.core import tanh_backward
from minilm.layers.recurrent import (
    CELLS,
    cell_backward,
    cell_forward,
    get_cell,
    init_recurrent,
    last_state,
    sequence_backward,
    sequence_forward,
)

TOL = 1e-7  # float64 central differences on smooth layers
NAMES = sorted(CELLS)


def make(name, N, T, D, H, seed=0):
    """Inputs, a non-zero carried state and parameters large enough to leave the linear zone."""
    rng = np.random.default_rng(seed)
    cell = get_cell(name)
    G = cell.gates
    params = {
        "W_xh": rng.standard_normal((D, G * H)) / np.sqrt(D),
        "W_hh": rng.standard_normal((H, G * H)) / np.sqrt(H),
        "b_h": rng.standard_normal(G * H) * 0.3,
    }
    x = rng.standard_normal((N, T, D))
    state0 = tuple(rng.standard_normal((N, H)) * 0.5 for _ in range(cell.state_size))
    return x, state0, params, rng


def _check_all(loss, grads, arrays):
    for key, array in arrays.items():
        num = numerical_gradient(loss, array)
        err = rel_error(grads[key], num)
        assert err < TOL, f"{key}: rel. error {err:.2e} >= {TOL}"
        assert np.abs(num).max() > 1e-6, f"{key} has no gradient: the check would be empty"


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("N,H", [(1, 1), (1, 4), (3, 5)])
def test_step_gradients(name, N, H):
    x, state0, params, rng = make(name, N, 1, 3, H)
    cell = get_cell(name)
    xw = rng.standard_normal((N, cell.gates * H))
    rec = {"W_hh": params["W_hh"], "b_h": params["b_h"]}
    dstate = tuple(rng.standard_normal((N, H)) for _ in state0)

    def loss():
        new, _ = cell.step_forward(xw, state0, rec)
        return float(sum(np.sum(s * d) for s, d in zip(new, dstate, strict=True)))

    new, cache = cell.step_forward(xw, state0, rec)
    assert len(new) == cell.state_size and all(s.shape == (N, H) for s in new)
    dxw, dprev, dparams = cell.step_backward(dstate, cache)
    grads = {"xw": dxw, **dparams, **{f"s{k}": d for k, d in enumerate(dprev)}}
    arrays = {"xw": xw, **rec, **{f"s{k}": s for k, s in enumerate(state0)}}
    _check_all(loss, grads, arrays)


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("N,T,D,H", [(1, 1, 2, 3), (1, 4, 3, 2), (2, 1, 3, 4), (3, 5, 4, 3)])
def test_sequence_gradients_with_a_carried_state(name, N, T, D, H):
    """The whole layer (projection + BPTT) from a carried state, with a gradient arriving
    for the final state from beyond the window (as when the next window is backpropagated)."""
    x, state0, params, rng = make(name, N, T, D, H, seed=1)
    dhs = rng.standard_normal((N, T, H))
    dlast = tuple(rng.standard_normal((N, H)) for _ in state0)

    def loss():
        hs, cache = cell_forward(name, x, state0, params)
        final = last_state(cache)
        return float(
            np.sum(hs * dhs) + sum(np.sum(s * d) for s, d in zip(final, dlast, strict=True))
        )

    _, cache = cell_forward(name, x, state0, params)
    dx, dstate0, dparams = cell_backward(dhs, cache, dlast)
    grads = {"x": dx, **dparams, **{f"s{k}": d for k, d in enumerate(dstate0)}}
    arrays = {"x": x, **params, **{f"s{k}": s for k, s in enumerate(state0)}}
    _check_all(loss, grads, arrays)


def _todays_elman(xw, h0, W_hh, b_h):
    """The Elman recurrence as minilm/layers/recurrent.py wrote it before the cells: forward,
    then BPTT with the weight gradients as one product over all N*T positions."""
    N, T, H = xw.shape
    hs = np.empty((N, T, H), dtype=np.result_type(xw, h0, W_hh, b_h))
    h = h0
    for t in range(T):
        h = np.tanh(xw[:, t] + h @ W_hh + b_h)
        hs[:, t] = h

    def backward(dhs):
        da = np.empty_like(hs)
        dh_future = np.zeros_like(h0, dtype=hs.dtype)
        for t in reversed(range(T)):
            da[:, t] = tanh_backward(dhs[:, t] + dh_future, hs[:, t])
            dh_future = da[:, t] @ W_hh.T
        h_prev = np.concatenate([h0[:, None, :], hs[:, :-1]], axis=1)
        dW_hh = h_prev.reshape(N * T, H).T @ da.reshape(N * T, H)
        return da, dh_future, dW_hh, da.sum(axis=(0, 1))

    return hs, backward


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_elman_cell_reproduces_todays_recurrence(dtype):
    rng = np.random.default_rng(2)
    N, T, H = 4, 7, 6
    xw = rng.standard_normal((N, T, H)).astype(dtype)
    h0 = (rng.standard_normal((N, H)) * 0.5).astype(dtype)
    W_hh = (rng.standard_normal((H, H)) / np.sqrt(H)).astype(dtype)
    b_h = (rng.standard_normal(H) * 0.1).astype(dtype)
    hs, cache = sequence_forward("elman", xw, (h0,), {"W_hh": W_hh, "b_h": b_h})
    ref_hs, ref_backward = _todays_elman(xw, h0, W_hh, b_h)
    np.testing.assert_array_equal(hs, ref_hs)  # the same arithmetic, bit for bit
    dhs = rng.standard_normal((N, T, H)).astype(dtype)
    dxw, (dh0,), grads = sequence_backward(dhs, cache)
    ref_dxw, ref_dh0, ref_dW, ref_db = ref_backward(dhs)
    np.testing.assert_array_equal(dxw, ref_dxw)  # the walk back through time: bit for bit
    np.testing.assert_array_equal(dh0, ref_dh0)
    # the shared weights: a sum of T step products instead of one product, so only rounding
    tol = 1e-5 if dtype == np.float32 else 1e-12
    assert rel_error(grads["W_hh"], ref_dW) < tol
    assert rel_error(grads["b_h"], ref_db) < tol


def _sig(a):
    return 1 / (1 + np.exp(-a))


def _reference_step(name, xw, state, W, b):
    """Each cell's equations, one gate at a time (recurrent.py's module docstring)."""
    H = state[0].shape[1]
    block = lambda a, k: a[:, k * H : (k + 1) * H]  # noqa: E731
    h = state[0]
    if name == "elman":
        return (np.tanh(xw + h @ W + b),)
    if name == "lstm":
        a = xw + h @ W + b
        i, f, o, g = _sig(block(a, 0)), _sig(block(a, 1)), _sig(block(a, 2)), np.tanh(block(a, 3))
        c = f * state[1] + i * g
        return (o * np.tanh(c), c)
    r = _sig(block(xw, 0) + h @ block(W, 0) + block(b[None], 0))
    z = _sig(block(xw, 1) + h @ block(W, 1) + block(b[None], 1))
    n = np.tanh(block(xw, 2) + (r * h) @ block(W, 2) + block(b[None], 2))
    return (z * h + (1 - z) * n,)


@pytest.mark.parametrize("name", NAMES)
def test_sequence_forward_matches_the_equations(name):
    x, state0, params, _ = make(name, 2, 5, 3, 4, seed=3)
    hs, cache = cell_forward(name, x, state0, params)
    state = state0
    for t in range(5):
        xw = x[:, t] @ params["W_xh"]
        state = _reference_step(name, xw, state, params["W_hh"], params["b_h"])
        np.testing.assert_allclose(hs[:, t], state[0], rtol=1e-12, atol=1e-13)
    for mine, ref in zip(last_state(cache[1]), state, strict=True):
        np.testing.assert_allclose(mine, ref, rtol=1e-12, atol=1e-13)


@pytest.mark.parametrize("name", NAMES)
def test_two_windows_carrying_the_state_equal_one(name):
    x, state0, params, _ = make(name, 2, 6, 3, 4, seed=4)
    whole, _ = cell_forward(name, x, state0, params)
    first, cache = cell_forward(name, x[:, :3], state0, params)
    second, _ = cell_forward(name, x[:, 3:], last_state(cache[1]), params)
    np.testing.assert_allclose(np.concatenate([first, second], axis=1), whole, atol=1e-14)


@pytest.mark.parametrize("name", NAMES)
def test_backward_twice_same_result_cache_unchanged(name):
    x, state0, params, rng = make(name, 2, 3, 3, 4, seed=5)
    hs, cache = cell_forward(name, x, state0, params)
    before = copy.deepcopy(cache)
    dhs = rng.standard_normal(hs.shape)
    first, second = cell_backward(dhs, cache), cell_backward(dhs, cache)
    np.testing.assert_array_equal(first[0], second[0])
    for k in first[2]:
        np.testing.assert_array_equal(first[2][k], second[2][k])
    flat = lambda c: [a for a in _arrays(c)]  # noqa: E731
    for a, b in zip(flat(cache), flat(before), strict=True):
        np.testing.assert_array_equal(a, b)


def _arrays(obj):
    if isinstance(obj, np.ndarray):
        yield obj
    elif isinstance(obj, tuple | list):
        for item in obj:
            yield from _arrays(item)


@pytest.mark.parametrize("name", NAMES)
def test_float32_stays_float32(name):
    x, state0, params, rng = make(name, 2, 3, 3, 4, seed=6)
    f32 = lambda a: a.astype(np.float32)  # noqa: E731
    hs, cache = cell_forward(name, f32(x), None, {k: f32(v) for k, v in params.items()})
    assert hs.dtype == np.float32
    dx, dstate0, grads = cell_backward(np.ones_like(hs), cache)
    assert dx.dtype == np.float32 and all(g.dtype == np.float32 for g in grads.values())
    assert all(s.dtype == np.float32 for s in dstate0)


def test_init_forget_bias_and_orthogonal_blocks():
    rng = np.random.default_rng(7)
    H = 5
    lstm = init_recurrent("lstm", H, rng)
    np.testing.assert_array_equal(lstm["b_h"][H : 2 * H], 1.0)  # forget gate open at start
    assert np.count_nonzero(lstm["b_h"]) == H
    for k in range(4):
        block = lstm["W_hh"][:, k * H : (k + 1) * H]
        np.testing.assert_allclose(block.T @ block, 0.25 * np.eye(H), atol=1e-12)
    assert init_recurrent("gru", H, rng)["W_hh"].shape == (H, 3 * H)


def test_bad_cell_and_shapes_raise_clear_errors():
    with pytest.raises(MinilmError, match="unknown recurrent cell 'rnn'"):
        get_cell("rnn")
    x, state0, params, _ = make("lstm", 2, 3, 3, 4)
    with pytest.raises(MinilmError, match="state has 1 arrays, expected 2"):
        cell_forward("lstm", x, state0[:1], params)
    with pytest.raises(MinilmError, match="state0"):
        cell_forward("lstm", x, (state0[0], state0[1][:1]), params)
    with pytest.raises(MinilmError, match="W_xh"):
        cell_forward("lstm", x, None, {**params, "W_xh": params["W_xh"][:, :12]})
    with pytest.raises(MinilmError, match="16 columns, not a multiple of 3"):
        cell_forward("gru", x, None, params)  # an LSTM's weights given to a GRU
    xw = x[:, :, :1] @ np.ones((1, 12))
    with pytest.raises(MinilmError, match="W_hh"):
        sequence_forward("gru", xw, None, params)  # 12 = 3 x 4 columns, W_hh is 4 x 16


def test_lstm_matches_torch():
    """nn.LSTM stacks its gates i, f, g, o; ours are i, f, o, g: map the blocks, then the
    states and every gradient agree to float64 rounding."""
    torch = pytest.importorskip("torch")
    x, (h0, c0), params, rng = make("lstm", 3, 5, 4, 6, seed=8)
    H = 6
    order = np.r_[0:H, H : 2 * H, 3 * H : 4 * H, 2 * H : 3 * H]  # torch's i, f, g, o from ours
    lstm = torch.nn.LSTM(4, H, batch_first=True).double()
    with torch.no_grad():
        lstm.weight_ih_l0.copy_(torch.from_numpy(params["W_xh"][:, order].T.copy()))
        lstm.weight_hh_l0.copy_(torch.from_numpy(params["W_hh"][:, order].T.copy()))
        lstm.bias_ih_l0.copy_(torch.from_numpy(params["b_h"][order]))
        lstm.bias_hh_l0.zero_()
    tx = torch.from_numpy(x).requires_grad_()
    dhs = rng.standard_normal((3, 5, H))
    out, _ = lstm(tx, (torch.from_numpy(h0)[None], torch.from_numpy(c0)[None]))
    (out * torch.from_numpy(dhs)).sum().backward()
    hs, cache = cell_forward("lstm", x, (h0, c0), params)
    np.testing.assert_allclose(hs, out.detach().numpy(), rtol=1e-12, atol=1e-13)
    dx, _, grads = cell_backward(dhs, cache)
    np.testing.assert_allclose(dx, tx.grad.numpy(), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(grads["W_hh"][:, order].T, lstm.weight_hh_l0.grad.numpy(), 1e-10)
    np.testing.assert_allclose(grads["b_h"][order], lstm.bias_ih_l0.grad.numpy(), 1e-10)
