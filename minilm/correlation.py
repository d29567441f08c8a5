"""Correlations of two columns of scores: Pearson's r, Spearman's rho (ranks with ties averaged).

Used by minilm/evaluate.py (similarity files, bias) and minilm/mteb.py (STS). A correlation
of fewer than two pairs, or of a constant column, is undefined: None, and
`why_no_correlation` says why (minilm/na.py).
"""

from __future__ import annotations

import numpy as np


def rankdata(x: np.ndarray) -> np.ndarray:
    """Ranks 1..n, ties given the average of the ranks they span (as Spearman requires)."""
    x = np.asarray(x)
    if len(x) == 0:
        return np.zeros(0)
    order = np.argsort(x, kind="stable")
    sorted_x = x[order]
    # Start a new group wherever the sorted value changes.
    group = np.concatenate([[0], np.cumsum(sorted_x[1:] != sorted_x[:-1])])  # (n,)
    positions = np.arange(1, len(x) + 1, dtype=np.float64)
    mean_rank = np.bincount(group, weights=positions) / np.bincount(group)
    ranks = np.empty(len(x), dtype=np.float64)
    ranks[order] = mean_rank[group]
    return ranks


def pearson(x: np.ndarray, y: np.ndarray) -> float | None:
    """r = sum((x - mean x)(y - mean y)) / sqrt(sum (x - mean x)^2 sum (y - mean y)^2)."""
    x, y = np.asarray(x, np.float64), np.asarray(y, np.float64)
    if len(x) < 2:
        return None
    xc, yc = x - x.mean(), y - y.mean()
    denom = np.sqrt((xc @ xc) * (yc @ yc))
    return float(xc @ yc / denom) if denom > 0 else None


def spearman(x: np.ndarray, y: np.ndarray) -> float | None:
    """Spearman's rho: Pearson's r of the (tie-averaged) ranks."""
    return pearson(rankdata(x), rankdata(y))


def why_no_correlation(x: np.ndarray, y: np.ndarray, n_total: int, what: str) -> str:
    """Why a correlation of x with y is undefined (to go with its None)."""
    if len(x) < 2:
        return f"{len(x)} of {n_total} {what}; a correlation needs 2"
    side = "cosines" if np.ptp(x) == 0 else "scores"
    return f"the {side} of the {len(x)} {what} are all equal: no correlation"
