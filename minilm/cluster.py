"""Hierarchical agglomerative clustering in NumPy - the analysis behind Elman's (1990) Figure 7.

Start with every point its own cluster; repeatedly merge the two closest clusters. "Closest"
between clusters I and J depends on the linkage:

    single    d(I, J) = min  d(i, j)            complete  d(I, J) = max d(i, j)
    average   d(I, J) = mean d(i, j)  (UPGMA)   ward      the growth in within-cluster variance

After merging I and J into M, the distance from M to any other cluster K follows from the old
ones (the Lance-Williams update), so each merge costs one pass over an (n, n) matrix:

    single    min(d_KI, d_KJ)                   complete  max(d_KI, d_KJ)
    average   (n_I d_KI + n_J d_KJ) / (n_I + n_J)
    ward      sqrt(((n_K + n_I) d_KI^2 + (n_K + n_J) d_KJ^2 - n_K d_IJ^2) / (n_K + n_I + n_J))

The result is a scipy-style linkage matrix Z, (n - 1, 4): row t merges clusters Z[t, 0] < Z[t, 1]
(ids < n are points, id n + s is the cluster made at row s) at distance Z[t, 2], giving a
cluster of Z[t, 3] points. Ties go to the first pair in row-major order.
"""

from __future__ import annotations

import numpy as np

from minilm.errors import MinilmError

METHODS = ("single", "complete", "average", "ward")
METRICS = ("cosine", "euclidean")


def pairwise_distances(X: np.ndarray, metric: str = "cosine") -> np.ndarray:
    """(n, n) distances: cosine 1 - u_i . u_j, or euclidean ||x_i - x_j||."""
    X = np.asarray(X, dtype=np.float64)
    if metric == "cosine":
        norms = np.linalg.norm(X, axis=1, keepdims=True)
        U = X / np.where(norms > 0, norms, 1)
        D = 1.0 - U @ U.T
    elif metric == "euclidean":
        sq = np.einsum("nd,nd->n", X, X)
        D = np.sqrt(np.maximum(sq[:, None] + sq[None, :] - 2 * X @ X.T, 0))
    else:
        raise MinilmError(f"unknown metric {metric!r}; choose one of {METRICS}")
    D = np.maximum((D + D.T) / 2, 0)  # exact symmetry, no negative round-off
    np.fill_diagonal(D, 0.0)
    return D


def linkage(X: np.ndarray, method: str = "average", metric: str = "cosine") -> np.ndarray:
    """Agglomerative clustering of the rows of X (n, D); returns Z (n - 1, 4), see module doc."""
    if method not in METHODS:
        raise MinilmError(f"unknown linkage {method!r}; choose one of {METHODS}")
    if method == "ward" and metric != "euclidean":
        raise MinilmError("ward linkage needs metric='euclidean' (unit-normalise for cosine-like)")
    X = np.asarray(X)
    n = X.shape[0]
    if n < 2:
        raise MinilmError(f"clustering needs at least 2 points, got {n}")
    D = pairwise_distances(X, metric)
    np.fill_diagonal(D, np.inf)  # a cluster never merges with itself
    ids = np.arange(n)  # cluster id held in each slot
    sizes = np.ones(n)
    Z = np.empty((n - 1, 4))
    for t in range(n - 1):  # one merge per step; each step is O(n^2) array work
        flat = int(np.argmin(D))
        i, j = divmod(flat, n)
        i, j = min(i, j), max(i, j)  # merged cluster lives in slot i, slot j is retired
        d_ij = D[i, j]
        ni, nj = sizes[i], sizes[j]
        Z[t] = [min(ids[i], ids[j]), max(ids[i], ids[j]), d_ij, ni + nj]
        dki, dkj = D[i], D[j]  # distances of every slot k to I and to J
        if method == "single":
            new = np.minimum(dki, dkj)
        elif method == "complete":
            new = np.maximum(dki, dkj)
        elif method == "average":
            new = (ni * dki + nj * dkj) / (ni + nj)
        else:
            nk = sizes
            new = np.sqrt(
                np.maximum(((nk + ni) * dki**2 + (nk + nj) * dkj**2 - nk * d_ij**2), 0)
                / (nk + ni + nj)
            )
        D[i, :] = new
        D[:, i] = new
        D[i, i] = np.inf
        D[j, :] = np.inf
        D[:, j] = np.inf
        ids[i] = n + t
        sizes[i] = ni + nj
    return Z


def leaves_order(Z: np.ndarray) -> list[int]:
    """Leaf ids left to right as a dendrogram draws them (first child of each merge first)."""
    n = Z.shape[0] + 1
    order, stack = [], [2 * n - 2]
    while stack:  # depth-first, children pushed right-then-left so left comes out first
        node = stack.pop()
        if node < n:
            order.append(node)
        else:
            a, b = Z[node - n, :2].astype(int)
            stack.extend([b, a])
    return order


def cut_tree(Z: np.ndarray, n_clusters: int) -> np.ndarray:
    """Flat labels (n,) 0..n_clusters-1 from undoing the last n_clusters - 1 merges.

    Labels are numbered in dendrogram leaf order, so the result is deterministic."""
    n = Z.shape[0] + 1
    if not 1 <= n_clusters <= n:
        raise MinilmError(f"n_clusters must be in 1..{n}, got {n_clusters}")
    parent = np.arange(2 * n - 1)
    for t in range(n - n_clusters):  # replay the first merges only
        a, b = Z[t, :2].astype(int)
        parent[a] = parent[b] = n + t
    root = parent.copy()
    for _ in range(n):  # pointer jumping until every node points at its top cluster
        nxt = root[root]
        if np.array_equal(nxt, root):
            break
        root = nxt
    labels = np.empty(n, dtype=np.int64)
    seen: dict[int, int] = {}
    for leaf in leaves_order(Z):
        labels[leaf] = seen.setdefault(int(root[leaf]), len(seen))
    return labels
