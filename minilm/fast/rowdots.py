"""Dot products of gathered row pairs, fast: minilm/layers/primitives.py picks these (its switch)
and tests them equal to the plain forms there, to float rounding.

row_dots(A, ia, B, ib) is s[m] = A[ia[m]] · B[ib[m]]; the plain form gathers both rows of every
pair, and its backward scatters a row into B for every pair. The hierarchical softmax's pairs
(example, inner node on its path) share few rows of B heavily: every path starts at the root,
and in a batch of 1024 skip-gram pairs the ~60 nodes nearest the root hold about half of the
~12,000 path entries. A row of B hit by many pairs is cheaper as one column of a matrix
product - all of A against it, then pick the pairs' cells - than as many gathers and scatters:
three products cost ~3 len(A) D multiply-adds per such row, a pair ~6 D memory touches, mostly
in the scatter. So the rows of B with at least `hot_hits(len(A))` pairs go through
T = A B_hot^T (and back through dT B_hot, dT^T A), the others as in the plain form.
"""

from __future__ import annotations

import numpy as np

from minilm.fast.scatter import add_rows_at


def hot_hits(n_rows_a: int) -> int:
    """Pairs a row of B needs to go through the matrix product: ~1/32 of A's rows, >= 8."""
    return max(8, n_rows_a // 32)


def _split(A: np.ndarray, ib: np.ndarray, num_b: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(hot rows of B (H,), is_hot (M,) per pair, slot (M,): the pair's column among them)."""
    hits = np.bincount(ib, minlength=num_b)  # (num_b,)
    hot = np.flatnonzero(hits >= hot_hits(len(A)))  # (H,) sorted
    slot_of = np.full(num_b, -1, dtype=np.int64)
    slot_of[hot] = np.arange(hot.size)
    slot = slot_of[ib]  # (M,)
    return hot, slot >= 0, slot


def row_dots(A: np.ndarray, ia: np.ndarray, B: np.ndarray, ib: np.ndarray) -> np.ndarray:
    """s[m] = A[ia[m]] · B[ib[m]]: A (NA, D), B (NB, D), ia, ib (M,) -> s (M,)."""
    hot, is_hot, slot = _split(A, ib, len(B))
    s = np.empty(ia.size, dtype=np.result_type(A, B))
    if hot.size:
        T = A @ np.take(B, hot, axis=0).T  # (NA, H)
        s[is_hot] = T[ia[is_hot], slot[is_hot]]
    cold = ~is_hot
    a, b = np.take(A, ia[cold], axis=0), np.take(B, ib[cold], axis=0)  # (m, D) each
    s[cold] = np.einsum("md,md->m", a, b)
    return s


def row_dots_backward(
    ds: np.ndarray, A: np.ndarray, ia: np.ndarray, B: np.ndarray, ib: np.ndarray
) -> tuple[np.ndarray, tuple[np.ndarray, np.ndarray]]:
    """-> (dA (NA, D), (ids, rows) of B: hot rows once each, then one row per cold pair)."""
    hot, is_hot, slot = _split(A, ib, len(B))
    dA = np.zeros_like(A)
    ids, rows = [], []
    if hot.size:
        B_hot = np.take(B, hot, axis=0)  # (H, D)
        cells = ia[is_hot] * hot.size + slot[is_hot]
        dT = np.bincount(cells, weights=ds[is_hot], minlength=len(A) * hot.size)
        dT = dT.astype(A.dtype).reshape(len(A), hot.size)  # (NA, H) summed per cell
        dA += dT @ B_hot  # (NA, D)
        ids.append(hot)
        rows.append(dT.T @ A)  # (H, D)
    cold = ~is_hot
    ia_c, ib_c, ds_c = ia[cold], ib[cold], ds[cold]
    add_rows_at(dA, ia_c, ds_c[:, None] * np.take(B, ib_c, axis=0))
    ids.append(ib_c)
    rows.append(ds_c[:, None] * np.take(A, ia_c, axis=0))
    return dA, (np.concatenate(ids), np.concatenate(rows))
