"""Benchmark: the embedding backward, i.e. summing gradient rows into a table by token id.

    dW[v] = sum of g[i] over every i with ids[i] == v          ids (M,), g (M, D), dW (V, D)

Repeated ids are the whole difficulty: `dW[ids] += g` keeps one contribution per row and drops
the rest. Each approach below is duplicate-safe; each is checked against np.add.at (computed in
float64) and timed in the same run, so the ratios hold on this machine even if the absolute
times do not. minilm.layers.core.scatter_add_rows is the reference (plain np.add.at on rows);
with the fast switch on (minilm/layers/primitives.py) it is np.add.at on the flat cells with two
floats per cell (viewed as one complex number; fast.scatter.add_rows_at): it should come out
fastest.

Run:  python benchmarks/bench_embedding.py  [--vocab 10000 --dim 100 --batch 4096 --context 5]
"""

from __future__ import annotations

import os
import platform
import time
from collections.abc import Callable

import numpy as np

from minilm.errors import ArgumentParser, MinilmError, run_cli
from minilm.gradcheck import rel_error
from minilm.layers import core
from minilm.layers.primitives import kernels

# float32 sums of ~20,000 terms in a different order differ by a few ulps; a wrong method
# (a lost duplicate) is off by O(1), so 1e-5 separates the two cleanly.
TOLERANCE = 1e-5


def add_at(ids: np.ndarray, g: np.ndarray, V: int) -> np.ndarray:
    """Reference: the unbuffered ufunc, written for exactly this job."""
    dW = np.zeros((V, g.shape[1]), dtype=g.dtype)
    np.add.at(dW, ids, g)
    return dW


def sort_reduceat(ids: np.ndarray, g: np.ndarray, V: int) -> np.ndarray:
    """Sort ids so equal ones are adjacent, then sum each run of equal ids with reduceat."""
    order = np.argsort(ids, kind="stable")
    sorted_ids = ids[order]  # (M,)
    starts = np.flatnonzero(np.r_[True, sorted_ids[1:] != sorted_ids[:-1]])  # run starts
    dW = np.zeros((V, g.shape[1]), dtype=g.dtype)
    dW[sorted_ids[starts]] = np.add.reduceat(g[order], starts, axis=0)  # rows now unique
    return dW


def sort_reduceat_columns(ids: np.ndarray, g: np.ndarray, V: int) -> np.ndarray:
    """As sort_reduceat, but on g transposed to (D, M) so every reduced run is contiguous."""
    order = np.argsort(ids, kind="stable")
    sorted_ids = ids[order]
    starts = np.flatnonzero(np.r_[True, sorted_ids[1:] != sorted_ids[:-1]])
    columns = np.ascontiguousarray(g.T[:, order])  # (D, M)
    dW = np.zeros((V, g.shape[1]), dtype=g.dtype)
    dW[sorted_ids[starts]] = np.add.reduceat(columns, starts, axis=1).T
    return dW


def unique_reduceat(ids: np.ndarray, g: np.ndarray, V: int) -> np.ndarray:
    """np.unique gives the distinct rows and their counts; reduceat sums the sorted runs."""
    order = np.argsort(ids, kind="stable")
    rows, counts = np.unique(ids, return_counts=True)
    starts = np.r_[0, np.cumsum(counts)[:-1]]
    dW = np.zeros((V, g.shape[1]), dtype=g.dtype)
    dW[rows] = np.add.reduceat(g[order], starts, axis=0)
    return dW


def bincount_per_column(ids: np.ndarray, g: np.ndarray, V: int) -> np.ndarray:
    """One weighted histogram of the ids per embedding column (a loop over D, not over ids)."""
    columns = np.ascontiguousarray(g.T)  # (D, M)
    return np.stack([np.bincount(ids, weights=c, minlength=V) for c in columns], axis=1).astype(
        g.dtype
    )


def bincount_flat(ids: np.ndarray, g: np.ndarray, V: int) -> np.ndarray:
    """One weighted histogram over the flat cell index ids*D + d of the (V, D) table."""
    D = g.shape[1]
    cells = (ids[:, None] * D + np.arange(D)).reshape(-1)  # (M*D,)
    return np.bincount(cells, weights=g.reshape(-1), minlength=V * D).reshape(V, D).astype(g.dtype)


def add_at_flat(ids: np.ndarray, g: np.ndarray, V: int) -> np.ndarray:
    """np.add.at over the flat cell index ids*D + d: one scalar per index."""
    D = g.shape[1]
    dW = np.zeros((V, D), dtype=g.dtype)
    np.add.at(dW.reshape(-1), (ids[:, None] * D + np.arange(D)).reshape(-1), g.reshape(-1))
    return dW


def onehot_matmul(ids: np.ndarray, g: np.ndarray, V: int, block: int = 2048) -> np.ndarray:
    """dW = onehot(ids)^T @ g with a dense one-hot over the distinct rows, in blocks of ids.

    Exact, but it multiplies R x M x D numbers where only M x D are non-zero, and the full
    one-hot would need R x M floats (~700 MB at the default size), hence the blocks.
    """
    rows, compact = np.unique(ids, return_inverse=True)  # (R,), (M,)
    summed = np.zeros((rows.size, g.shape[1]), dtype=g.dtype)
    for lo in range(0, ids.size, block):
        chunk = compact[lo : lo + block]
        onehot = (np.arange(rows.size)[:, None] == chunk).astype(g.dtype)  # (R, block)
        summed += onehot @ g[lo : lo + block]
    dW = np.zeros((V, g.shape[1]), dtype=g.dtype)
    dW[rows] = summed
    return dW


def minilm_core_scatter_add_rows(ids: np.ndarray, g: np.ndarray, V: int) -> np.ndarray:
    """The layer function with the fast switch off: plain np.add.at (and its id check)."""
    with kernels(fast=False):
        return core.scatter_add_rows(ids, g, V)


def minilm_fast_scatter_add_rows(ids: np.ndarray, g: np.ndarray, V: int) -> np.ndarray:
    """The same layer function with the switch on, as the models run it."""
    with kernels(fast=True):
        return core.scatter_add_rows(ids, g, V)


def minilm_fast_sum_rows(ids: np.ndarray, g: np.ndarray, V: int) -> np.ndarray:
    """The sparse form (distinct rows + sums), switch on, scattered to dense for the check."""
    with kernels(fast=True):
        rows, summed = core.sum_rows(ids, g)
    dW = np.zeros((V, g.shape[1]), dtype=g.dtype)
    dW[rows] = summed
    return dW


METHODS: dict[str, Callable[[np.ndarray, np.ndarray, int], np.ndarray]] = {
    "np.add.at (reference)": add_at,
    "sort + np.add.reduceat": sort_reduceat,
    "sort + reduceat on (D, M)": sort_reduceat_columns,
    "np.unique + reduceat": unique_reduceat,
    "np.bincount per column": bincount_per_column,
    "np.bincount on flat cells": bincount_flat,
    "np.add.at on flat cells": add_at_flat,
    "one-hot matmul (blocked)": onehot_matmul,
    "core.scatter_add_rows, switch off": minilm_core_scatter_add_rows,
    "core.scatter_add_rows, switch on": minilm_fast_scatter_add_rows,
    "core.sum_rows, switch on (sparse)": minilm_fast_sum_rows,
}
SLOW = {"one-hot matmul (blocked)"}  # timed with fewer repeats


def median_times(
    methods: dict[str, Callable[..., object]], args: tuple, repeats: int
) -> dict[str, float]:
    """Median wall time of each method(*args), interleaved: round r times every method once.

    Interleaving spreads any background load over all methods alike, so the ratios stay fair
    on a busy machine. Methods in SLOW take part only in the first rounds.
    """
    times: dict[str, list[float]] = {name: [] for name in methods}
    for fn in methods.values():
        fn(*args)  # warm-up: first-touch page faults, caches
    for round_ in range(repeats):
        for name, fn in methods.items():
            if name in SLOW and round_ >= max(1, repeats // 7):
                continue
            start = time.perf_counter()
            fn(*args)
            times[name].append(time.perf_counter() - start)
    return {name: float(np.median(t)) for name, t in times.items()}


def make_ids(dist: str, shape: tuple[int, int], V: int, rng: np.random.Generator) -> np.ndarray:
    """Token ids with repeats: uniform over V, or Zipf-like (rank^-1) as in running text."""
    if dist == "uniform":
        return rng.integers(0, V, size=shape)
    weights = 1.0 / np.arange(1, V + 1)
    return rng.choice(V, size=shape, p=weights / weights.sum())


def main() -> None:
    parser = ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--vocab", type=int, default=10_000, help="table rows V")
    parser.add_argument("--dim", type=int, default=100, help="table columns D")
    parser.add_argument("--batch", type=int, default=4096, help="N rows of ids")
    parser.add_argument("--context", type=int, default=5, help="ids per row")
    parser.add_argument("--repeats", type=int, default=21, help="timed runs per method")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    if min(args.vocab, args.dim, args.batch, args.context, args.repeats) < 1:
        raise MinilmError("all sizes and --repeats must be >= 1")

    V, D = args.vocab, args.dim
    rng = np.random.default_rng(args.seed)
    print(
        f"embedding backward: table {V} x {D} float32, ids {args.batch} x {args.context}; "
        f"numpy {np.__version__}, Python {platform.python_version()}, {os.cpu_count()} cores; "
        f"median of {args.repeats} interleaved runs"
    )
    for dist in ("uniform", "zipf"):
        ids2d = make_ids(dist, (args.batch, args.context), V, rng)
        ids = ids2d.reshape(-1)  # (M,)
        g = rng.standard_normal((ids.size, D)).astype(np.float32)  # (M, D)
        reference = add_at(ids, g.astype(np.float64), V)
        print(
            f"\nids {dist}: {ids.size} ids, {np.unique(ids).size} distinct "
            f"(most frequent id repeated {np.bincount(ids).max()} times)"
        )
        print(f"  {'method':28s} {'median ms':>10s} {'speed-up vs add.at':>19s}  check")
        errors = {name: rel_error(m(ids, g, V), reference) for name, m in METHODS.items()}
        seconds = median_times(METHODS, (ids, g, V), args.repeats)
        base = seconds["np.add.at (reference)"]
        results = {}
        for name in METHODS:
            ok = errors[name] < TOLERANCE
            results[name] = (seconds[name], ok)
            verdict = f"ok (rel err {errors[name]:.0e})" if ok else f"WRONG ({errors[name]:.0e})"
            print(
                f"  {name:28s} {seconds[name] * 1e3:10.2f} {base / seconds[name]:18.2f}x  {verdict}"
            )
        candidates = {k: v for k, v in results.items() if v[1]}
        fastest = min(candidates, key=lambda k: candidates[k][0])
        print(f"  fastest correct approach: {fastest}")


if __name__ == "__main__":
    run_cli(main)
