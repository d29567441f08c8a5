"""Primitives with a plain NumPy form and a fast form, and the one switch that picks between them.

Models call these (and the layers that use them, e.g. core.embedding_backward through
core.add_rows_at); each is written here in its plain form, the one to read. A fast form takes
the same inputs and returns the same outputs: bit for bit for the row scatter, the distinct ids
and the in-place GELU's output shape, to float rounding for the rest (tests/test_primitives.py).
The switch is `use_fast_kernels`; it is on by default (training speed) and chooses for every
primitive at once, so a model reads the same whichever form runs:

    add_rows_at            table[ids[j]] += rows[j], repeats summed    minilm/fast/scatter.py
    distinct               np.unique(ids, return_inverse=True)          minilm/fast/scatter.py
    windowed_sum           y[n] = Σ_k weight[n, k] x[n + k]             minilm/fast/windows.py
    windowed_sum_backward  its gradient with respect to x               minilm/fast/windows.py
    softplus_and_sigmoid   log(1 + e^z) and σ(z)                        minilm/fast/windows.py
    row_dots               s[m] = A[ia[m]] · B[ib[m]]                   minilm/fast/rowdots.py
    row_dots_backward      its gradients: dA, and B's rows              minilm/fast/rowdots.py
    (core.gelu_forward / gelu_backward: minilm/fast/gelu.py, in place)

Turn it off (`use_fast_kernels(False)`, or `with kernels(fast=False):`) to train through the
plain forms only: the same results to float rounding, slower (docs/ARCHITECTURE.md).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import numpy as np

from minilm.fast import rowdots as fast_rowdots
from minilm.fast import scatter as fast_scatter
from minilm.fast import windows as fast_windows

_SWITCH = {"fast": True}


def fast_kernels() -> bool:
    """Whether the fast forms run (the switch's state)."""
    return _SWITCH["fast"]


def use_fast_kernels(on: bool) -> bool:
    """Set the switch for every primitive at once; returns its previous state."""
    previous, _SWITCH["fast"] = _SWITCH["fast"], bool(on)
    return previous


@contextmanager
def kernels(fast: bool) -> Iterator[None]:
    """`with kernels(fast=False): ...` runs the block with the plain forms, then restores."""
    previous = use_fast_kernels(fast)
    try:
        yield
    finally:
        use_fast_kernels(previous)


def add_rows_at(table: np.ndarray, ids: np.ndarray, rows: np.ndarray) -> None:
    """table[ids[j]] += rows[j] for every j, repeated ids summed, in place.

    table (V, D), ids (M,), rows (M, D). Why not `table[ids] += rows`? With repeated ids,
    fancy-index assignment keeps only one of the contributions and silently drops the rest.
    np.add.at is the unbuffered form of +=: every (id, row) pair is added, in order.
    """
    if _SWITCH["fast"]:
        fast_scatter.add_rows_at(table, ids, rows)
    else:
        np.add.at(table, ids, rows)


def distinct(ids: np.ndarray, size: int) -> tuple[np.ndarray, np.ndarray]:
    """The distinct ids (U,) sorted, and where (ids.shape) each id is in them: words[where] == ids.

    ids int in [0, size).
    """
    if _SWITCH["fast"]:
        return fast_scatter.distinct(ids, size)
    words, where = np.unique(ids, return_inverse=True)
    return words, where.reshape(ids.shape)


def windowed_sum(x: np.ndarray, weight: np.ndarray) -> np.ndarray:
    """y[n] = Σ_k weight[n, k] x[n + k]: a weighted sum over each window of C rows of x.

    x (N + C - 1, D), weight (N, C) -> y (N, D). Window n is x[n : n + C].
    """
    if _SWITCH["fast"]:
        return fast_windows.windowed_sum(x, weight)
    N, C = weight.shape
    windows = x[np.arange(N)[:, None] + np.arange(C)]  # (N, C, D) a copy of every window
    return np.einsum("nk,nkd->nd", weight, windows)


def windowed_sum_backward(dy: np.ndarray, weight: np.ndarray) -> np.ndarray:
    """The gradient of windowed_sum with respect to x: dx[n + k] += weight[n, k] dy[n].

    dy (N, D), weight (N, C) -> dx (N + C - 1, D).
    """
    if _SWITCH["fast"]:
        return fast_windows.windowed_sum_backward(dy, weight)
    N, C = weight.shape
    dx = np.zeros((N + C - 1, dy.shape[1]), dtype=dy.dtype)
    np.add.at(dx, np.arange(N)[:, None] + np.arange(C), weight[..., None] * dy[:, None, :])
    return dx


def softplus_and_sigmoid(z: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """softplus(z) = log(1 + e^z) and its derivative σ(z) = 1 / (1 + e^-z), for any z.

    σ(z) = exp(-softplus(-z)): neither overflows (np.logaddexp never forms e^z).
    """
    if _SWITCH["fast"]:
        return fast_windows.softplus_and_sigmoid(z)
    return np.logaddexp(0, z), np.exp(-np.logaddexp(0, -z))


def row_dots(A: np.ndarray, ia: np.ndarray, B: np.ndarray, ib: np.ndarray) -> np.ndarray:
    """s[m] = A[ia[m]] · B[ib[m]], the dot product of a row of A and a row of B per pair m.

    A (NA, D), B (NB, D), ia, ib int (M,) -> s (M,).
    """
    if _SWITCH["fast"]:
        return fast_rowdots.row_dots(A, ia, B, ib)
    a, b = np.take(A, ia, axis=0), np.take(B, ib, axis=0)  # (M, D) each
    return np.einsum("md,md->m", a, b)


def row_dots_backward(
    ds: np.ndarray, A: np.ndarray, ia: np.ndarray, B: np.ndarray, ib: np.ndarray
) -> tuple[np.ndarray, tuple[np.ndarray, np.ndarray]]:
    """The gradients of row_dots: ds (M,) -> (dA (NA, D), (ids, rows) of B).

    dA[ia[m]] += ds[m] B[ib[m]] and dB[ib[m]] += ds[m] A[ia[m]]. B's gradient is sparse rows
    whose ids may repeat (a table's gradient is the sum of its rows, as optim.ScatterSGD with
    repeated_rows=True adds them); the fast form sums the rows of heavily used ids first.
    """
    if _SWITCH["fast"]:
        return fast_rowdots.row_dots_backward(ds, A, ia, B, ib)
    dA = np.zeros_like(A)
    add_rows_at(dA, ia, ds[:, None] * np.take(B, ib, axis=0))
    return dA, (ib, ds[:, None] * np.take(A, ia, axis=0))
