"""Windows of a stretch of text as strided views, and the logistic loss's two functions in one
exp: the fast forms of minilm/layers/primitives.py's windowed_sum, windowed_sum_backward and
softplus_and_sigmoid (tested equal to the plain forms there, to float rounding).

A CBOW batch is a stretch of text (minilm/data/word2vec_batches.py): its N windows are strided
views of the stretch's N + 2W vectors, so each word's vector is read once however many windows
hold it, and the gradient goes back through the transposed view - no gather of N * (2W + 1)
rows and no scatter of them back.
"""

from __future__ import annotations

import numpy as np


def windowed_sum(x: np.ndarray, weight: np.ndarray) -> np.ndarray:
    """y[n] = Σ_k weight[n, k] x[n + k]: a weighted sum over each window of C rows of x.

    x (N + C - 1, D), weight (N, C) -> y (N, D). Window n is x[n : n + C]; all N windows are
    one strided view of x (row n of the view starts where row n of x does, so windows share
    memory and nothing is copied), and y is one batched (1, C) @ (C, D) product per row.
    """
    N, C = weight.shape
    x = np.ascontiguousarray(x)
    windows = _view(x, (N, C, x.shape[1]), (x.strides[0], *x.strides))  # (N, C, D)
    return np.matmul(weight[:, None, :], windows)[:, 0]  # (N, D)


def _view(x: np.ndarray, shape: tuple, strides: tuple, offset: int = 0) -> np.ndarray:
    """A strided view of contiguous x's memory (the first element `offset` items in), for
    internal reads: as_strided does the same at ~10x the cost (3 us), a cost that CBOW pays
    three times a step."""
    return np.ndarray(shape, x.dtype, x, offset * x.itemsize, strides)


def windowed_sum_backward(dy: np.ndarray, weight: np.ndarray) -> np.ndarray:
    """The gradient of windowed_sum with respect to x: dx[p] = Σ_k weight[p - k, k] dy[p - k].

    dy (N, D), weight (N, C) -> dx (N + C - 1, D). Row p of x lies in the windows n = p - C + 1
    .. p, so dx is itself a windowed sum: over dy padded with C - 1 zero rows on either side,
    window p holds dy[p - C + 1 + j] (j = 0..C-1), the window of example n = p - C + 1 + j, in
    which p is slot k = C - 1 - j. Its weights weight_t[p, j] = weight[n, k] run along the
    anti-diagonals of the padded weights: again a strided view, one row down and one column
    left per step in j.
    """
    (N, C), pad = weight.shape, weight.shape[1] - 1
    dy_pad = np.zeros((N + 2 * pad, dy.shape[1]), dtype=dy.dtype)  # (N + 2C - 2, D)
    dy_pad[pad : pad + N] = dy
    weight_pad = np.zeros((N + 2 * pad, C), dtype=dy.dtype)
    weight_pad[pad : pad + N] = weight
    size = weight_pad.itemsize  # weight_t[p, j] = weight_pad[p + j, pad - j]:
    weight_t = _view(weight_pad, (N + pad, C), (C * size, (C - 1) * size), offset=pad)
    return windowed_sum(dy_pad, weight_t)


def softplus_and_sigmoid(z: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """softplus(z) = log(1 + e^z) and its derivative σ(z), sharing one exp.

    With e = exp(-|z|) <= 1 nothing overflows: softplus(z) = max(z, 0) + log1p(e), and
    σ(z) = exp(min(z, 0)) / (1 + e), which is 1 / (1 + e) for z >= 0 and e / (1 + e) for
    z < 0 without a branch (np.where over random signs is several times slower).
    """
    e = np.exp(-np.abs(z))
    softplus = np.maximum(z, 0)
    softplus += np.log1p(e)
    sig = np.exp(np.minimum(z, 0))
    sig /= 1 + e
    return softplus, sig
