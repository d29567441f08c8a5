"""Seeing vectors in 2-D: PCA, exact t-SNE, trustworthiness, Procrustes alignment - in NumPy.

A 2-D map always distorts a 100-D space. `trustworthiness` measures how much: it penalises
points that look close on the map but were not among the true neighbours (Venna & Kaski 2001).

Shapes: N points, D input dimensions, k output dimensions.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from minilm.errors import MinilmError


# ---- PCA ---------------------------------------------------------------------------------
class PCAResult(NamedTuple):
    scores: np.ndarray  # (N, k) the projected points
    components: np.ndarray  # (k, D) unit principal axes, rows
    mean: np.ndarray  # (D,)
    explained_variance_ratio: np.ndarray  # (k,)


def pca_fit(X: np.ndarray, k: int = 2) -> PCAResult:
    """PCA by the SVD of the centred data:  X - mean = U S V^T,  scores = U S,  axes = rows of V^T.

    Signs of singular vectors are arbitrary; we fix each axis so that its largest-|loading|
    entry is positive, so the same data always gives the same picture.
    """
    X = np.asarray(X)
    N, D = X.shape
    if not 1 <= k <= min(N, D):
        raise MinilmError(f"PCA to {k} dimensions needs 1 <= k <= min(N, D) = {min(N, D)}")
    mean = X.mean(axis=0)
    Xc = X - mean  # (N, D)
    _, S, Vt = np.linalg.svd(Xc, full_matrices=False)
    components = Vt[:k]  # (k, D)
    biggest = np.argmax(np.abs(components), axis=1)
    signs = np.sign(components[np.arange(k), biggest])
    components = components * signs[:, None]
    var = S**2
    total = var.sum()
    ratio = var[:k] / total if total > 0 else np.zeros(k, dtype=var.dtype)
    return PCAResult(Xc @ components.T, components, mean, ratio)


def pca(X: np.ndarray, k: int = 2) -> np.ndarray:
    """The (N, k) sign-fixed PCA projection of X; see `pca_fit` for the axes and variances."""
    return pca_fit(X, k).scores


# ---- t-SNE -------------------------------------------------------------------------------
def _squared_distances(X: np.ndarray) -> np.ndarray:
    """||x_i - x_j||^2 for all pairs, (N, N), clipped at 0 against round-off."""
    if X.shape[1] <= 3:
        # For 2-D maps a (N, 2) x (2, N) matrix product is a slow BLAS case: sum per column.
        return sum(np.subtract.outer(X[:, c], X[:, c]) ** 2 for c in range(X.shape[1]))
    sq = np.einsum("nd,nd->n", X, X)
    return np.maximum(sq[:, None] + sq[None, :] - 2 * X @ X.T, 0)


def conditional_affinities(
    D2: np.ndarray, perplexity: float, tol: float = 1e-5, max_iter: int = 100
) -> np.ndarray:
    """p_{j|i} = exp(-beta_i d_ij^2) / sum_k exp(-beta_i d_ik^2), with beta_i found per point
    so that the entropy H(P_i) = log(perplexity)  (van der Maaten & Hinton 2008).

    All N binary searches run at once: each step halves every point's interval (or doubles /
    halves beta while the upper bound is still infinite). H is in nats:
    H_i = log Z_i + beta_i * sum_j p_{j|i} d_ij^2.
    """
    N = D2.shape[0]
    target = np.log(perplexity)
    beta = np.ones(N)
    lo, hi = np.zeros(N), np.full(N, np.inf)
    # Subtracting each row's smallest distance keeps exp() from underflowing for all j at once.
    off = ~np.eye(N, dtype=bool)
    D2 = D2 - np.where(off, D2, np.inf).min(axis=1, keepdims=True)
    for _ in range(max_iter):
        P = np.exp(-beta[:, None] * D2) * off  # (N, N)
        Z = P.sum(axis=1)
        H = np.log(Z) + beta * (P * D2).sum(axis=1) / Z
        diff = H - target
        if np.all(np.abs(diff) < tol):
            break
        too_flat = diff > 0  # entropy too high: sharpen, raise beta
        lo = np.where(too_flat, beta, lo)
        hi = np.where(too_flat, hi, beta)
        beta = np.where(np.isinf(hi), beta * 2, (lo + hi) / 2)
    return P / Z[:, None]


def _kl_gradient(P: np.ndarray, Y: np.ndarray, num: np.ndarray, W: np.ndarray) -> np.ndarray:
    """dKL/dY (N, k) for affinities P (N, N) float32, using the (N, N) buffers num and W."""
    N, k = Y.shape
    # num_ij = 1 / (1 + ||y_i - y_j||^2), the Student-t kernel, zero on the diagonal
    Y32 = Y.astype(np.float32)
    num.fill(1)
    for c in range(k):  # ||y_i - y_j||^2 a coordinate at a time (see _squared_distances)
        np.subtract(Y32[:, c, None], Y32[None, :, c], out=W)
        W *= W
        num += W
    np.reciprocal(num, out=num)
    num[np.arange(N), np.arange(N)] = 0
    Z = float(num.sum())  # float32 pairwise summation: relative error ~1e-7
    # W_ij = (p_ij - q_ij) num_ij  with  q_ij = num_ij / Z
    np.multiply(P, num, out=W)
    num *= num
    num *= np.float32(1 / Z)
    W -= num
    # W @ Y as k matrix-vector products: BLAS handles a (N, N) x (N, 2) product badly.
    WY = np.stack([W @ Y32[:, c] for c in range(k)], axis=1)  # (N, k)
    return 4.0 * (W.sum(axis=1)[:, None] * Y - WY)  # (N, k)


def tsne(
    X: np.ndarray,
    perplexity: float = 30.0,
    seed: int | np.random.Generator = 0,
    n_iter: int = 1000,
    learning_rate: float | None = None,
    early_exaggeration: float = 12.0,
    exaggeration_iters: int = 250,
    k: int = 2,
) -> np.ndarray:
    """Exact t-SNE (van der Maaten & Hinton 2008) to k dimensions; returns Y (N, k).

    p_ij = (p_{j|i} + p_{i|j}) / 2N, Gaussian affinities calibrated to the perplexity;
    q_ij = (1 + ||y_i - y_j||^2)^-1 / sum_{k != l} (1 + ||y_k - y_l||^2)^-1, Student-t;
    dKL/dy_i = 4 sum_j (p_ij - q_ij) (1 + ||y_i - y_j||^2)^-1 (y_i - y_j).
    Gradient descent with momentum 0.5 then 0.8, per-parameter gains (+0.2 when the gradient's
    sign flips, x0.8 otherwise, floor 0.01), P multiplied by `early_exaggeration` for the first
    `exaggeration_iters` steps. Init: N(0, 1e-4) from the generator. The default learning rate
    max(N / early_exaggeration / 4, 50) follows Belkina et al. (2019). O(N^2) time and memory per
    step: fine to ~2,000 points.
    """
    X = np.asarray(X, dtype=np.float64)
    N = X.shape[0]
    if N < 4:
        raise MinilmError(f"t-SNE needs at least 4 points, got {N}")
    perplexity = min(perplexity, (N - 1) / 3)  # a perplexity near N cannot be reached
    rng = seed if isinstance(seed, np.random.Generator) else np.random.default_rng(seed)
    if learning_rate is None:
        learning_rate = max(N / early_exaggeration / 4, 50.0)
    P = conditional_affinities(_squared_distances(X), perplexity)
    # The (N, N) work per step is memory-bound: float32 and in-place updates halve its cost.
    P = np.maximum((P + P.T) / (2 * N), 1e-12).astype(np.float32)  # symmetric, sums to 1
    P_exaggerated = P * np.float32(early_exaggeration)
    Y = rng.standard_normal((N, k)) * 1e-2
    update = np.zeros_like(Y)
    gains = np.ones_like(Y)
    num = np.empty((N, N), dtype=np.float32)  # work buffers of _kl_gradient
    W = np.empty((N, N), dtype=np.float32)
    for it in range(n_iter):
        momentum = 0.5 if it < exaggeration_iters else 0.8
        grad = _kl_gradient(P_exaggerated if it < exaggeration_iters else P, Y, num, W)
        same_sign = np.sign(grad) == np.sign(update)
        gains = np.maximum(np.where(same_sign, gains * 0.8, gains + 0.2), 0.01)
        update = momentum * update - learning_rate * gains * grad
        Y = Y + update
        Y = Y - Y.mean(axis=0)
    return Y


# ---- how far to trust a map --------------------------------------------------------------
def _ranks_by_distance(D2: np.ndarray) -> np.ndarray:
    """rank[i, j] = position of j when the others are sorted by distance from i (self = 0)."""
    N = D2.shape[0]
    D2 = D2.copy()
    np.fill_diagonal(D2, -np.inf)  # self first, at rank 0
    order = np.argsort(D2, axis=1, kind="stable")
    ranks = np.empty_like(order)
    ranks[np.arange(N)[:, None], order] = np.arange(N)[None, :]
    return ranks


def trustworthiness(X: np.ndarray, Y: np.ndarray, k: int = 5) -> float:
    """Trustworthiness (Venna & Kaski 2001):

        T(k) = 1 - 2 / (N k (2N - 3k - 1)) sum_i sum_{j in U_k(i)} (r(i, j) - k)

    U_k(i): the k nearest neighbours of i on the map (Y) that are not among its k nearest in the
    original space (X); r(i, j): the rank of j among i's neighbours in X (1 = nearest). T = 1
    when no point becomes a false neighbour. Euclidean distances in both spaces.
    """
    X, Y = np.asarray(X, dtype=np.float64), np.asarray(Y, dtype=np.float64)
    N = X.shape[0]
    if not 1 <= k < N / 2:
        raise MinilmError(f"trustworthiness needs 1 <= k < N/2 (N={N}, k={k})")
    rank_x = _ranks_by_distance(_squared_distances(X))  # (N, N)
    map_nbrs = np.argsort(_ranks_by_distance(_squared_distances(Y)), axis=1)[:, 1 : k + 1]
    r = rank_x[np.arange(N)[:, None], map_nbrs]  # (N, k) ranks in X of the map's neighbours
    penalty = np.maximum(r - k, 0).sum()  # only intruders (r > k) count
    return float(1.0 - 2.0 / (N * k * (2 * N - 3 * k - 1)) * penalty)


def procrustes(A: np.ndarray, B: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Rotate/reflect B onto A:  R = argmin_{R^T R = I} ||(A - mean A) - (B - mean B) R||_F.

    Solution (Schoenemann 1966): (B - mean B)^T (A - mean A) = U S V^T,  R = U V^T.
    Returns (B aligned = (B - mean B) R + mean A, R). No scaling, so distances are kept.
    """
    A, B = np.asarray(A), np.asarray(B)
    if A.shape != B.shape:
        raise MinilmError(f"procrustes needs equal shapes, got {A.shape} and {B.shape}")
    mu_a, mu_b = A.mean(axis=0), B.mean(axis=0)
    U, _, Vt = np.linalg.svd((B - mu_b).T @ (A - mu_a))
    R = U @ Vt
    return (B - mu_b) @ R + mu_a, R
