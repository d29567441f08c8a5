"""The Elman recurrent layer (simple recurrent network, Elman 1990) and its backward through time.

    a_t = x_t W_xh + h_{t-1} W_hh + b_h          pre-activation        (N, H)
    h_t = tanh(a_t)                               hidden state          (N, H)

for t = 1..T, starting from a given initial state h_0. The layer returns every state h_1..h_T,
so a language model can predict the next word from each of them.

The work splits in two:
- the input term x_t W_xh does not depend on the past, so it is computed for all N*T positions in
  one matrix product (an affine layer) before the loop;
- the recurrence h_{t-1} -> h_t is inherently sequential: one small matmul per time step.
`recurrence_forward` is the second part alone. A model with one-hot input skips the matmul and
passes the rows of W_xh it would have selected (xw = W_xh[ids], an embedding lookup).

Backward through time (BPTT). The same W_hh and b_h are used at every step, so their gradients
are sums of per-step contributions:

    dh_t   = dhs_t + da_{t+1} W_hh^T              (from the output at t, and from the future)
    da_t   = dh_t * (1 - h_t^2)                   (tanh' = 1 - tanh^2)
    dW_hh  = sum_t h_{t-1}^T da_t                 dW_xh = sum_t x_t^T da_t
    db_h   = sum_t sum_n da_t                     dh_0  = da_1 W_hh^T

Only dh_t needs the loop; once every da_t is known the weight gradients are single batched
products over all N*T positions.

Truncated BPTT: to train on a long stream in windows of T steps, the caller passes the previous
window's last state as h_0 and treats it as a constant. `dh0` is returned (it is the exact
gradient for h_0) and is simply not propagated into the previous window.

Shapes: N batch, T time, D input size, H hidden size.
"""

from __future__ import annotations

import numpy as np

from minilm.errors import MinilmError
from minilm.layers.core import affine_backward, affine_forward, tanh_backward, tanh_forward


def recurrence_forward(
    xw: np.ndarray, h0: np.ndarray, W_hh: np.ndarray, b_h: np.ndarray
) -> tuple[np.ndarray, tuple]:
    """Run h_t = tanh(xw_t + h_{t-1} W_hh + b_h) for t = 1..T.

    xw:   (N, T, H) input term x_t W_xh, precomputed for all steps
    h0:   (N, H)    initial state h_0
    W_hh: (H, H)    hidden-to-hidden weights
    b_h:  (H,)      bias
    Returns hs (N, T, H) = h_1..h_T and the cache for `recurrence_backward`.
    """
    N, T, H = xw.shape
    _check_shape("h0", h0, (N, H))
    _check_shape("W_hh", W_hh, (H, H))
    _check_shape("b_h", b_h, (H,))
    hs = np.empty((N, T, H), dtype=np.result_type(xw, h0, W_hh, b_h))  # (N, T, H)
    h = h0
    for t in range(T):  # sequential by nature: h_t needs h_{t-1}
        h, _ = tanh_forward(xw[:, t] + h @ W_hh + b_h)  # (N, H)
        hs[:, t] = h
    cache = (h0, W_hh, hs)
    return hs, cache


def recurrence_backward(
    dhs: np.ndarray, cache: tuple
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Backward through time for `recurrence_forward`.

    dhs: (N, T, H) gradient of the loss with respect to every returned state h_1..h_T
    Returns (dxw (N, T, H), dh0 (N, H), dW_hh (H, H), db_h (H,)).
    """
    h0, W_hh, hs = cache
    N, T, H = hs.shape
    da = np.empty_like(hs)  # (N, T, H) gradient for every pre-activation a_t
    dh_future = np.zeros_like(h0, dtype=hs.dtype)  # (N, H) da_{t+1} W_hh^T; nothing after T
    for t in reversed(range(T)):
        dh = dhs[:, t] + dh_future  # h_t feeds the output at t and the step t+1
        da[:, t] = tanh_backward(dh, hs[:, t])  # h_t = tanh(a_t): the cache is h_t
        dh_future = da[:, t] @ W_hh.T  # a_t = ... + h_{t-1} W_hh
    dh0 = dh_future

    # W_hh and b_h are shared by every step: add up all N*T contributions in one product.
    h_prev = np.concatenate([h0[:, None, :], hs[:, :-1]], axis=1)  # (N, T, H) h_0..h_{T-1}
    dW_hh = h_prev.reshape(N * T, H).T @ da.reshape(N * T, H)  # (H, H)
    db_h = da.sum(axis=(0, 1))  # (H,)
    dxw = da  # a_t = xw_t + ...: the input term gets da_t unchanged
    return dxw, dh0, dW_hh, db_h


def rnn_forward(
    x: np.ndarray, h0: np.ndarray, W_xh: np.ndarray, W_hh: np.ndarray, b_h: np.ndarray
) -> tuple[np.ndarray, tuple]:
    """Elman layer over a whole sequence: h_t = tanh(x_t W_xh + h_{t-1} W_hh + b_h).

    x:    (N, T, D) inputs x_1..x_T
    h0:   (N, H)    initial state h_0 (the previous window's last state in truncated BPTT)
    W_xh: (D, H)    input-to-hidden weights
    W_hh: (H, H)    hidden-to-hidden weights
    b_h:  (H,)      bias
    Returns hs (N, T, H) = h_1..h_T and the cache for `rnn_backward`.
    """
    N, T, D = x.shape
    _check_shape("W_xh", W_xh, (D, W_hh.shape[0]))
    # The input projection for all N*T positions in one matmul; the bias is added once, inside
    # the recurrence, so the projection's own bias is zero.
    xw, affine_cache = affine_forward(x, W_xh, np.zeros_like(b_h))  # (N, T, H)
    hs, recurrence_cache = recurrence_forward(xw, h0, W_hh, b_h)  # (N, T, H)
    return hs, (affine_cache, recurrence_cache)


def rnn_backward(
    dhs: np.ndarray, cache: tuple
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Backward for `rnn_forward`: the recurrence backward, then the input projection's.

    dhs: (N, T, H) gradient with respect to every state h_1..h_T
    Returns (dx (N, T, D), dh0 (N, H), dW_xh (D, H), dW_hh (H, H), db_h (H,)).
    """
    affine_cache, recurrence_cache = cache
    dxw, dh0, dW_hh, db_h = recurrence_backward(dhs, recurrence_cache)
    dx, dW_xh, _ = affine_backward(dxw, affine_cache)  # the zero bias is not a parameter
    return dx, dh0, dW_xh, dW_hh, db_h


def _check_shape(name: str, a: np.ndarray, shape: tuple[int, ...]) -> None:
    if a.shape != shape:
        raise MinilmError(
            f"{name} has shape {a.shape}, expected {shape}; check the hidden size and batch size"
        )
