"""Recurrent cells as cs231n shapes them: one step pair per cell, one sequence loop for all.

Three cells, each a pair with the same signature (docs/04-srn-bptt.md):

    <cell>_step_forward(xw, state, params) -> (state, cache)
    <cell>_step_backward(dstate, cache)    -> (dxw, dstate_prev, dparams)

`xw` (N, G*H) is the input term x_t W_xh of this step (G gate blocks of H columns), `state` a
tuple of (N, H) arrays whose first entry is the output h_t, `params` {"W_hh": (H, G*H),
"b_h": (G*H,)}. Every cell reads h_{t-1} through W_hh and adds b_h:

- Elman (1990), G = 1:   h_t = tanh(xw_t + h_{t-1} W_hh + b_h)                    state (h,)
- LSTM, G = 4 (Hochreiter & Schmidhuber 1997, with the forget gate of Gers et al. 2000),
  blocks in the order i, f, o, g:                                                 state (h, c)
      a = xw_t + h_{t-1} W_hh + b_h;  i, f, o = sigmoid(a_i, a_f, a_o);  g = tanh(a_g)
      c_t = f * c_{t-1} + i * g;      h_t = o * tanh(c_t)
- GRU, G = 3 (Cho et al. 2014), blocks r, z, n; the reset gate acts before the product, as
  in the paper (PyTorch's nn.GRU applies it after, so the two differ):          state (h,)
      r, z = sigmoid(xw_rz + h_{t-1} W_rz + b_rz)
      n = tanh(xw_n + (r * h_{t-1}) W_n + b_n);   h_t = z * h_{t-1} + (1 - z) * n

`sequence_forward(cell, xw, state0, params)` runs any cell over T steps and returns every h_t;
`sequence_backward(dhs, cache)` is backpropagation through time (BPTT): walking back from T,
each step receives dh_t from its output plus the dstate its successor sent back, and the
shared W_hh, b_h collect the sum of every step's contribution. The input projection x_t W_xh
does not depend on the past, so `cell_forward` does it for all N*T positions in one product
before the loop; a model with one-hot input skips it and passes the rows W_xh[ids] as xw.

Truncated BPTT: to train on a long stream in windows of T steps, the caller passes the previous
window's last state (`last_state(cache)`) as the next state0 and treats it as a constant.
`sequence_backward` returns dstate0, the exact gradient for it, which is then simply dropped.

Shapes: N batch, T time, D input size, H hidden size, G gate blocks of the cell.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import NamedTuple

import numpy as np

from minilm.errors import MinilmError
from minilm.layers.core import (
    affine_backward,
    affine_forward,
    sigmoid,
    tanh_backward,
    tanh_forward,
)

State = tuple[np.ndarray, ...]
Params = dict[str, np.ndarray]


# ---------------------------------------------------------------- Elman (1990)


def elman_step_forward(xw: np.ndarray, state: State, params: Params) -> tuple[State, tuple]:
    """h_t = tanh(xw_t + h_{t-1} W_hh + b_h). xw (N, H), state (h_{t-1},) -> (h_t,)."""
    (h_prev,) = state
    W_hh = params["W_hh"]
    h, _ = tanh_forward(xw + h_prev @ W_hh + params["b_h"])  # (N, H)
    return (h,), (h_prev, W_hh, h)


def elman_step_backward(dstate: State, cache: tuple) -> tuple[np.ndarray, State, Params]:
    """dstate (dh_t,) -> (dxw (N, H), (dh_{t-1},), {"W_hh", "b_h"})."""
    h_prev, W_hh, h = cache
    (dh,) = dstate
    da = tanh_backward(dh, h)  # (N, H) h = tanh(a): tanh' = 1 - h^2
    # a = xw + h_prev W_hh + b_h
    dparams = {"W_hh": h_prev.T @ da, "b_h": da.sum(axis=0)}
    return da, (da @ W_hh.T,), dparams


# ---------------------------------------------------------------- LSTM (1997, forget gate 2000)


def lstm_step_forward(xw: np.ndarray, state: State, params: Params) -> tuple[State, tuple]:
    """One LSTM step. xw (N, 4H) in gate order i, f, o, g; state (h_{t-1}, c_{t-1})."""
    h_prev, c_prev = state
    H = h_prev.shape[1]
    W_hh = params["W_hh"]
    a = xw + h_prev @ W_hh + params["b_h"]  # (N, 4H) all four gates' pre-activations
    ifo = sigmoid(a[:, : 3 * H])  # (N, 3H) input, forget, output gates in (0, 1)
    i, f, o = ifo[:, :H], ifo[:, H : 2 * H], ifo[:, 2 * H :]
    g = np.tanh(a[:, 3 * H :])  # (N, H) the candidate written into the cell
    c = f * c_prev + i * g  # (N, H) keep part of the old memory, add part of the new
    tc = np.tanh(c)
    h = o * tc  # (N, H) what the cell shows
    return (h, c), (h_prev, c_prev, W_hh, ifo, g, tc)


def lstm_step_backward(dstate: State, cache: tuple) -> tuple[np.ndarray, State, Params]:
    """dstate (dh_t, dc_t) -> (dxw (N, 4H), (dh_{t-1}, dc_{t-1}), {"W_hh", "b_h"})."""
    h_prev, c_prev, W_hh, ifo, g, tc = cache
    dh, dc_future = dstate
    H = h_prev.shape[1]
    i, f, o = ifo[:, :H], ifo[:, H : 2 * H], ifo[:, 2 * H :]
    # h = o * tanh(c): c reaches the loss through h and through c_{t+1}
    dc = dc_future + dh * o * (1 - tc**2)  # (N, H)
    dpre = np.empty((h_prev.shape[0], 4 * H), dtype=np.result_type(dh, ifo))
    difo = np.concatenate([dc * g, dc * c_prev, dh * tc], axis=1)  # di, df, do
    dpre[:, : 3 * H] = difo * ifo * (1 - ifo)  # sigmoid' = s (1 - s)
    dpre[:, 3 * H :] = dc * i * (1 - g**2)  # c = f c_prev + i g, g = tanh(a_g)
    # a = xw + h_prev W_hh + b_h
    dparams = {"W_hh": h_prev.T @ dpre, "b_h": dpre.sum(axis=0)}
    return dpre, (dpre @ W_hh.T, dc * f), dparams


# ---------------------------------------------------------------- GRU (Cho et al. 2014)


def gru_step_forward(xw: np.ndarray, state: State, params: Params) -> tuple[State, tuple]:
    """One GRU step. xw (N, 3H) in block order r, z, n; state (h_{t-1},)."""
    (h_prev,) = state
    H = h_prev.shape[1]
    W_hh, b_h = params["W_hh"], params["b_h"]
    rz = sigmoid(xw[:, : 2 * H] + h_prev @ W_hh[:, : 2 * H] + b_h[: 2 * H])  # (N, 2H)
    r, z = rz[:, :H], rz[:, H:]
    rh = r * h_prev  # (N, H) the reset gate chooses which of the past the candidate sees
    n = np.tanh(xw[:, 2 * H :] + rh @ W_hh[:, 2 * H :] + b_h[2 * H :])  # (N, H) candidate
    h = z * h_prev + (1 - z) * n  # (N, H) the update gate mixes old state and candidate
    return (h,), (h_prev, W_hh, rz, rh, n)


def gru_step_backward(dstate: State, cache: tuple) -> tuple[np.ndarray, State, Params]:
    """dstate (dh_t,) -> (dxw (N, 3H), (dh_{t-1},), {"W_hh", "b_h"})."""
    h_prev, W_hh, rz, rh, n = cache
    (dh,) = dstate
    H = h_prev.shape[1]
    r, z = rz[:, :H], rz[:, H:]
    dpre = np.empty((h_prev.shape[0], 3 * H), dtype=np.result_type(dh, rz))
    # h = z h_prev + (1 - z) n
    dn_pre = dh * (1 - z) * (1 - n**2)  # (N, H) through n = tanh(...)
    dpre[:, 2 * H :] = dn_pre
    # n's pre-activation = xw_n + (r h_prev) W_n + b_n
    drh = dn_pre @ W_hh[:, 2 * H :].T  # (N, H)
    drz = np.concatenate([drh * h_prev, dh * (h_prev - n)], axis=1)  # dr, dz
    dpre[:, : 2 * H] = drz * rz * (1 - rz)
    # r, z pre-activation = xw_rz + h_prev W_rz + b_rz
    dh_prev = dh * z + drh * r + dpre[:, : 2 * H] @ W_hh[:, : 2 * H].T
    dW_hh = np.concatenate([h_prev.T @ dpre[:, : 2 * H], rh.T @ dn_pre], axis=1)
    return dpre, (dh_prev,), {"W_hh": dW_hh, "b_h": dpre.sum(axis=0)}


# ---------------------------------------------------------------- any cell over a sequence


class Cell(NamedTuple):
    """A recurrent cell: its step pair, gate blocks G and how many (N, H) arrays its state has."""

    step_forward: Callable[[np.ndarray, State, Params], tuple[State, tuple]]
    step_backward: Callable[[State, tuple], tuple[np.ndarray, State, Params]]
    gates: int
    state_size: int


CELLS = {
    "elman": Cell(elman_step_forward, elman_step_backward, gates=1, state_size=1),
    "lstm": Cell(lstm_step_forward, lstm_step_backward, gates=4, state_size=2),
    "gru": Cell(gru_step_forward, gru_step_backward, gates=3, state_size=1),
}


def get_cell(name: str) -> Cell:
    """The cell called `name` (elman, lstm, gru), or a one-line error."""
    if name not in CELLS:
        raise MinilmError(f"unknown recurrent cell {name!r}; choose one of {sorted(CELLS)}")
    return CELLS[name]


def init_recurrent(name: str, H: int, rng: np.random.Generator, dtype: str = "float64") -> Params:
    """W_hh (H, G*H): 0.5 x a random orthogonal matrix per gate block; b_h (G*H,) zeros.

    The orthogonal blocks keep early gradients through time from exploding or vanishing at
    once. The LSTM's forget-gate bias starts at 1 (Gers et al. 2000; Jozefowicz et al. 2015):
    the cell remembers by default until it learns to forget. The model draws W_xh itself
    (its fan-in depends on the input), after these draws.
    """
    G = get_cell(name).gates
    dt = np.dtype(dtype)
    blocks = [np.linalg.qr(rng.standard_normal((H, H)))[0] for _ in range(G)]
    b_h = np.zeros(G * H, dtype=dt)
    if name == "lstm":
        b_h[H : 2 * H] = 1.0
    return {"W_hh": (0.5 * np.concatenate(blocks, axis=1)).astype(dt), "b_h": b_h}


def zero_state(name: str, N: int, H: int, dtype: np.dtype | str) -> State:
    """The state a stream starts from: zeros, one (N, H) array per entry of the cell's state."""
    return tuple(np.zeros((N, H), dtype=dtype) for _ in range(get_cell(name).state_size))


def sequence_forward(
    name: str, xw: np.ndarray, state0: State | None, params: Params
) -> tuple[np.ndarray, tuple]:
    """Run the cell `name` over T steps from state0 (zeros if None).

    xw:     (N, T, G*H) input terms x_t W_xh, precomputed for all steps
    state0: tuple of (N, H), the cell's initial state (h_0, or (h_0, c_0) for the LSTM)
    params: {"W_hh": (H, G*H), "b_h": (G*H,)}
    Returns hs (N, T, H) = h_1..h_T and the cache for `sequence_backward` / `last_state`.
    """
    cell = get_cell(name)
    N, T, GH = xw.shape
    H = GH // cell.gates
    if GH != cell.gates * H:
        raise MinilmError(f"{name} input term has {GH} columns, not a multiple of {cell.gates}")
    _check_shape("W_hh", params["W_hh"], (H, GH))
    _check_shape("b_h", params["b_h"], (GH,))
    dtype = np.result_type(xw, params["W_hh"], params["b_h"])
    state = zero_state(name, N, H, dtype) if state0 is None else tuple(state0)
    if len(state) != cell.state_size:
        raise MinilmError(f"{name} state has {len(state)} arrays, expected {cell.state_size}")
    for k, s in enumerate(state):
        _check_shape("h0" if k == 0 else f"state0[{k}]", s, (N, H))
    hs = np.empty((N, T, H), dtype=np.result_type(dtype, *state))  # (N, T, H)
    caches = []
    for t in range(T):  # sequential by nature: step t needs the state of step t-1
        state, step_cache = cell.step_forward(xw[:, t], state, params)
        hs[:, t] = state[0]
        caches.append(step_cache)
    return hs, (name, caches, state, xw.shape)


def last_state(cache: tuple) -> State:
    """The state after the last step: the next window's state0 in truncated BPTT.

    `cache` is that of `sequence_forward` or of `cell_forward`.
    """
    seq_cache = cache if isinstance(cache[0], str) else cache[1]
    return seq_cache[2]


def sequence_backward(
    dhs: np.ndarray, cache: tuple, dstate_last: State | None = None
) -> tuple[np.ndarray, State, Params]:
    """BPTT for `sequence_forward`.

    dhs:         (N, T, H) gradient of the loss with respect to every output h_1..h_T
    dstate_last: gradient for the final state from beyond the window (zeros if None)
    Returns (dxw (N, T, G*H), dstate0 (tuple of (N, H)), {"W_hh", "b_h"} summed over steps).
    """
    name, caches, state_T, xw_shape = cache
    cell = get_cell(name)
    dstate = dstate_last or tuple(np.zeros_like(s, dtype=dhs.dtype) for s in state_T)
    dxw = np.empty(xw_shape, dtype=dhs.dtype)  # (N, T, G*H)
    dparams: Params = {}
    for t in reversed(range(len(caches))):
        # h_t feeds the output at t and step t+1: both gradients add
        dstate = (dstate[0] + dhs[:, t], *dstate[1:])
        dxw[:, t], dstate, step_grads = cell.step_backward(dstate, caches[t])
        for k, g in step_grads.items():  # the same W_hh, b_h at every step: add them up
            dparams[k] = dparams[k] + g if k in dparams else g
    return dxw, dstate, dparams


def cell_forward(
    name: str, x: np.ndarray, state0: State | None, params: Params
) -> tuple[np.ndarray, tuple]:
    """A recurrent layer: the input projection for all N*T positions, then the cell over T.

    x (N, T, D); params {"W_xh": (D, G*H), "W_hh": (H, G*H), "b_h": (G*H,)}.
    Returns hs (N, T, H) and the cache for `cell_backward`.
    """
    N, T, D = x.shape
    _check_shape("W_xh", params["W_xh"], (D, params["W_hh"].shape[1]))
    # b_h is added once, inside each step, so the projection's own bias is zero
    xw, affine_cache = affine_forward(x, params["W_xh"], np.zeros_like(params["b_h"]))
    hs, seq_cache = sequence_forward(name, xw, state0, params)  # (N, T, H)
    return hs, (affine_cache, seq_cache)


def cell_backward(
    dhs: np.ndarray, cache: tuple, dstate_last: State | None = None
) -> tuple[np.ndarray, State, Params]:
    """Backward for `cell_forward`: (dx (N, T, D), dstate0, {"W_xh", "W_hh", "b_h"})."""
    affine_cache, seq_cache = cache
    dxw, dstate0, dparams = sequence_backward(dhs, seq_cache, dstate_last)
    dx, dparams["W_xh"], _ = affine_backward(dxw, affine_cache)  # the zero bias: no parameter
    return dx, dstate0, dparams


# ---------------------------------------------------------------- the Elman layer, positionally


def recurrence_forward(
    xw: np.ndarray, h0: np.ndarray, W_hh: np.ndarray, b_h: np.ndarray
) -> tuple[np.ndarray, tuple]:
    """The Elman cell over T steps: xw (N, T, H), h0 (N, H) -> hs (N, T, H)."""
    return sequence_forward("elman", xw, (h0,), {"W_hh": W_hh, "b_h": b_h})


def recurrence_backward(
    dhs: np.ndarray, cache: tuple
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Returns (dxw (N, T, H), dh0 (N, H), dW_hh (H, H), db_h (H,))."""
    dxw, (dh0,), grads = sequence_backward(dhs, cache)
    return dxw, dh0, grads["W_hh"], grads["b_h"]


def rnn_forward(
    x: np.ndarray, h0: np.ndarray, W_xh: np.ndarray, W_hh: np.ndarray, b_h: np.ndarray
) -> tuple[np.ndarray, tuple]:
    """Elman layer: h_t = tanh(x_t W_xh + h_{t-1} W_hh + b_h); x (N, T, D), h0 (N, H)."""
    return cell_forward("elman", x, (h0,), {"W_xh": W_xh, "W_hh": W_hh, "b_h": b_h})


def rnn_backward(
    dhs: np.ndarray, cache: tuple
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Returns (dx (N, T, D), dh0 (N, H), dW_xh (D, H), dW_hh (H, H), db_h (H,))."""
    dx, (dh0,), grads = cell_backward(dhs, cache)
    return dx, dh0, grads["W_xh"], grads["W_hh"], grads["b_h"]


def _check_shape(name: str, a: np.ndarray, shape: tuple[int, ...]) -> None:
    if a.shape != shape:
        raise MinilmError(
            f"{name} has shape {a.shape}, expected {shape}; check the hidden size and batch size"
        )
