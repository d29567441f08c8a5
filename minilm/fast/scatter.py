"""Row scatter and distinct ids, fast: minilm/layers/primitives.py picks these (its switch) and
tests them equal to the plain forms there, bit for bit.

add_rows_at. The plain form is `np.add.at(table, ids, rows)`. NumPy runs that per index with a
slow inner loop for 2-D rows; over the flat cells id*D + d of the table it is the fastest way we
measured to add rows into a table in NumPy 2 (benchmarks/bench_embedding.py): ~1.8 ns a number,
against ~4 for sorting + np.add.reduceat, 9-70 for np.add.at with 2-D rows, and 2-4x
np.bincount over the cells. Its cost is per index, so with D even we let each index carry two
numbers: viewed as complex64 (complex128 for float64), a pair of floats adds exactly as the two
floats do (real and imaginary parts are separate float additions), and the call takes ~40%
less. Every cell receives the same additions in the same order as in the plain form, so the
sums are identical.

distinct. The plain form is np.unique(ids, return_inverse=True); marking the ids in a table of
flags is ~3x faster when the vocabulary is small next to the batch, as in word2vec.
"""

from __future__ import annotations

import numpy as np

_PAIR = {np.float32: np.complex64, np.float64: np.complex128}


def add_rows_at(table: np.ndarray, ids: np.ndarray, rows: np.ndarray) -> None:
    """table[ids[j]] += rows[j] for every j, repeated ids summed, in place.

    table (V, D), ids (M,), rows (M, D).
    """
    if not table.flags.c_contiguous:
        np.add.at(table, ids, rows)  # the flat view below needs contiguous rows
        return
    rows = np.ascontiguousarray(rows, dtype=table.dtype)
    pair = _PAIR.get(table.dtype.type)
    if pair is not None and table.shape[1] % 2 == 0:
        table, rows = table.view(pair), rows.view(pair)  # (V, D/2), (M, D/2)
    V, D = table.shape
    if V * D > _MAX_CELLS:
        cells = ids[:, None] * D + np.arange(D)  # (M, D) flat index into table
    else:
        cells = np.take(_cell_table(V, D), ids, axis=0)  # the same, looked up
    np.add.at(table.reshape(-1), cells.reshape(-1), rows.reshape(-1))


_CELLS: dict[int, np.ndarray] = {}  # D -> (V, D) table of flat cell ids, the largest V asked
_MAX_CELLS = 1 << 23  # beyond this (64 MB of ids) the cells are computed, not looked up


def _cell_table(V: int, D: int) -> np.ndarray:
    """(>= V, D) int64: the flat cell id * D + d of row id, column d. Copying a batch's rows out
    of this table (np.take) is ~3x faster than computing ids[:, None] * D + arange(D)."""
    cells = _CELLS.get(D)
    if cells is None or len(cells) < V:
        cells = _CELLS[D] = np.arange(V * D, dtype=np.int64).reshape(V, D)
    return cells


def distinct(ids: np.ndarray, size: int) -> tuple[np.ndarray, np.ndarray]:
    """np.unique(ids, return_inverse=True) for ids in [0, size): (words (U,) sorted, where).

    words[where] == ids. Flags when the vocabulary is small next to the batch, else np.unique.
    """
    if size > 64 * ids.size:
        words, where = np.unique(ids, return_inverse=True)
        return words, where.reshape(ids.shape)
    seen = np.zeros(size, dtype=bool)
    seen[ids] = True
    return np.flatnonzero(seen), (np.cumsum(seen) - 1)[ids]


def scatter_add_rows(ids: np.ndarray, grads: np.ndarray, num_rows: int) -> np.ndarray:
    """Dense gradient dW (num_rows, D) from ids (...), grads (..., D): core.scatter_add_rows
    without its checks. Kept for minilm/models/transformer.py and minilm/contextual.py until
    they call minilm.layers.core.scatter_add_rows (which reaches add_rows_at by the switch)."""
    D = grads.shape[-1]
    dW = np.zeros((num_rows, D), dtype=grads.dtype)
    add_rows_at(dW, np.asarray(ids).reshape(-1), grads.reshape(-1, D))
    return dW
