"""Directions in a vector space: a gender direction, a word-association test, a sense axis.

Three ways to ask "which way does meaning X point?", each a pure function returning values.

1. Definitional direction (Bolukbasi et al. 2016, "Man is to computer programmer as woman is to
   homemaker?"). One pair (he, she) gives one noisy difference; several definitional pairs
   (he/she, his/her, man/woman, ...) agree on a shared direction. Centre each pair on its own
   mean, stack the centred unit vectors, and take the first principal component:

       mu_i = (u_a + u_b) / 2,   rows  u_a - mu_i = +(u_a - u_b)/2,   u_b - mu_i = -(u_a - u_b)/2
       g    = first right singular vector of those rows (the pairs' mean is 0 by construction)

   The share of variance the first component explains says whether the pairs agree on one
   direction (Bolukbasi et al. found one component well above the rest for their ten pairs);
   docs/bias-findings.md shows a corpus where two groups of pairs disagree.

2. WEAT, the Word Embedding Association Test (Caliskan, Bryson & Narayanan 2017, "Semantics
   derived automatically from language corpora contain human-like biases"). Target sets X, Y
   (e.g. male- and female-skewed occupations), attribute sets A, B (male and female words):

       s(w, A, B) = mean_{a in A} cos(w, a) - mean_{b in B} cos(w, b)
       d          = (mean_{x in X} s(x) - mean_{y in Y} s(y)) / std_{w in X u Y} s(w)
       p          = Pr[ stat(X_i, Y_i) >= stat(X, Y) ]  over re-partitions of X u Y into two
                    sets of sizes |X|, |Y|;  stat = mean_X s - mean_Y s  (one-sided)

   d is a standardised effect size (|d| of 0.8 and more is "large"); p asks whether the split
   into X and Y matters for s at all. No direction is chosen: every attribute word votes.

3. Sense axis: for occurrence vectors of one polysemous word, PCA's first axes follow the
   largest variance, which need not be the sense difference. The axis that a nearest-centroid
   classifier uses is the centroid difference; drawing the points on it (and on the largest
   remaining variance) shows what a sense accuracy says.

Symbols: V vocabulary, D dimension, N points, P partitions.
"""

from __future__ import annotations

import itertools
import math
from typing import NamedTuple

import numpy as np

from minilm.errors import MinilmError
from minilm.vectors import KeyedVectors

# Enumerate every re-partition up to this many; beyond it, sample.
EXACT_LIMIT = 100_000


def unit_rows(x: np.ndarray) -> np.ndarray:
    """Rows scaled to unit length (an all-zero row stays zero), in float64."""
    x = np.asarray(x, dtype=np.float64)
    norms = np.linalg.norm(x, axis=-1, keepdims=True)
    return x / np.where(norms > 0, norms, 1)


# ---- 1. definitional direction -----------------------------------------------------------
def _pair_rows(kv: KeyedVectors, pairs: list[tuple[str, str]]) -> np.ndarray:
    """The (P, D) half-differences (u_a - u_b) / 2 of the pairs' unit vectors."""
    if not pairs:
        raise MinilmError("a definitional direction needs at least one pair of words")
    a, b = kv.indices([p[0] for p in pairs]), kv.indices([p[1] for p in pairs])
    return (unit_rows(kv.vectors[a]) - unit_rows(kv.vectors[b])) / 2  # (P, D)


def definitional_pca(
    kv: KeyedVectors, pairs: list[tuple[str, str]]
) -> tuple[np.ndarray, np.ndarray]:
    """(components (k, D), explained-variance ratios (k,)) of the pairs' centred members.

    k = min(2P, D) components, each unit length; the first is signed so that the first words of
    the pairs (list the male word first: ("he", "she")) project positive on average.
    """
    half = _pair_rows(kv, pairs)  # (P, D)
    rows = np.concatenate([half, -half])  # (2P, D): each member minus its pair's mean
    _, S, Vt = np.linalg.svd(rows, full_matrices=False)
    total = float((S**2).sum())
    if total == 0:
        raise MinilmError(f"the words of every pair in {pairs} have identical vectors")
    g = Vt[0]
    Vt[0] = g if (half @ g).sum() >= 0 else -g
    return Vt, S**2 / total


def definitional_direction(kv: KeyedVectors, pairs: list[tuple[str, str]]) -> np.ndarray:
    """The unit (D,) first principal component of the definitional pairs (Bolukbasi et al.
    2016), signed so that the first word of each pair (he, his, man, ...) projects positive."""
    return definitional_pca(kv, pairs)[0][0]


def projections(kv: KeyedVectors, words: list[str], direction: np.ndarray) -> np.ndarray:
    """cos(w, g) of each word with a unit direction g: (len(words),)."""
    return unit_rows(kv.vectors[kv.indices(words)]) @ np.asarray(direction, dtype=np.float64)


# ---- 2. WEAT ---------------------------------------------------------------------------------
def association(kv: KeyedVectors, words: list[str], A: list[str], B: list[str]) -> np.ndarray:
    """s(w, A, B) = mean cos(w, a) - mean cos(w, b) for each word: (len(words),)."""
    W, UA, UB = (unit_rows(kv.vectors[kv.indices(ws)]) for ws in (words, A, B))
    return (W @ UA.T).mean(axis=1) - (W @ UB.T).mean(axis=1)


def partitions(
    n: int, k: int, rng: np.random.Generator, n_permutations: int
) -> tuple[np.ndarray, bool]:
    """(masks (P, n) bool with k True per row, exact): all C(n, k) ways to choose k of n when
    there are at most n_permutations of them (and at most EXACT_LIMIT), else n_permutations
    uniformly random choices drawn with rng."""
    count = math.comb(n, k)
    if count <= max(n_permutations, 1) and count <= EXACT_LIMIT:
        chosen = np.array(list(itertools.combinations(range(n), k)), dtype=np.int64)  # (P, k)
        masks = np.zeros((count, n), dtype=bool)
        np.put_along_axis(masks, chosen, True, axis=1)
        return masks, True
    # A uniform random k-subset per row: the k smallest of n uniform keys.
    order = np.argsort(rng.random((n_permutations, n)), axis=1)[:, :k]  # (P, k)
    masks = np.zeros((n_permutations, n), dtype=bool)
    np.put_along_axis(masks, order, True, axis=1)
    return masks, False


def weat(
    kv: KeyedVectors,
    X: list[str],
    Y: list[str],
    A: list[str],
    B: list[str],
    rng: np.random.Generator,
    n_permutations: int = 10_000,
) -> dict:
    """Caliskan et al. (2017)'s effect size d and one-sided permutation p-value.

    Re-partitions of X u Y are enumerated when there are at most n_permutations of them
    (`exact`: the observed split is one of them, so p >= 1/P), else n_permutations are drawn with
    `rng` and p = (1 + #{stat_i >= stat}) / (1 + n_permutations) (never 0: a sampled test
    cannot rule out the unseen splits). The std in d is the sample std (ddof=1) over X u Y.
    Returns {effect_size, p_value, statistic, exact, n_partitions, s_X, s_Y}.
    """
    if not X or not Y or not A or not B:
        raise MinilmError("WEAT needs non-empty target sets X, Y and attribute sets A, B")
    s = association(kv, list(X) + list(Y), A, B)  # (n,)
    nx, n = len(X), len(s)
    statistic = float(s[:nx].mean() - s[nx:].mean())
    std = float(s.std(ddof=1)) if n > 1 else 0.0
    effect = statistic / std if std > 0 else 0.0
    masks, exact = partitions(n, nx, rng, n_permutations)
    # stat_i = mean over the chosen X_i - mean over the rest, for every partition at once
    sum_x = masks.astype(np.float64) @ s  # (P,)
    stats = sum_x / nx - (s.sum() - sum_x) / (n - nx)
    extreme = int(np.sum(stats >= statistic - 1e-12 * max(1.0, abs(statistic))))
    p = extreme / len(stats) if exact else (1 + extreme) / (1 + len(stats))
    return {
        "effect_size": effect,
        "p_value": p,
        "statistic": statistic,
        "exact": exact,
        "n_partitions": len(stats),
        "s_X": s[:nx].tolist(),
        "s_Y": s[nx:].tolist(),
    }


def _pearson(x: np.ndarray, y: np.ndarray) -> float | None:
    """Pearson r, None when either side is constant (or fewer than two points)."""
    x, y = np.asarray(x, dtype=np.float64), np.asarray(y, dtype=np.float64)
    if len(x) < 2 or x.std() == 0 or y.std() == 0:
        return None
    return float(np.corrcoef(x, y)[0, 1])


def skew_measures(
    kv: KeyedVectors,
    words: list[str],
    skews: np.ndarray,
    pair_sets: dict[str, list[tuple[str, str]]],
    A: list[str],
    B: list[str],
    rng: np.random.Generator,
    neutral: float = 0.5,
    n_permutations: int = 100_000,
) -> dict:
    """Does a planted skew (e.g. each occupation's he-share) show in the vectors? Three views.

    - per pair set (name -> definitional pairs): Pearson r of the words' projections on the
      first principal component against the skews, and that component's variance share
      (`pc1_share`; near the second's means the pairs do not agree on one direction);
    - `association_r`: Pearson r of s(w, A, B) against the skews (every attribute word votes);
    - `weat`: X = words skewed above `neutral`, Y = below it (words at `neutral` left out).
    Returns {"pairs": {name: {pearson, pc1_share, pc2_share}}, "association_r", "weat"}.
    """
    skews = np.asarray(skews, dtype=np.float64)
    out: dict = {"pairs": {}}
    for name, pairs in pair_sets.items():
        comps, ratio = definitional_pca(kv, pairs)
        out["pairs"][name] = {
            "pearson": _pearson(projections(kv, words, comps[0]), skews),
            "pc1_share": float(ratio[0]),
            "pc2_share": float(ratio[1]) if len(ratio) > 1 else 0.0,
        }
    out["association_r"] = _pearson(association(kv, words, A, B), skews)
    X = [w for w, s in zip(words, skews, strict=True) if s > neutral]
    Y = [w for w, s in zip(words, skews, strict=True) if s < neutral]
    out["weat"] = weat(kv, X, Y, A, B, rng, n_permutations) if X and Y else None
    return out


# ---- 3. sense axis ---------------------------------------------------------------------------
class SenseAxes(NamedTuple):
    """A 2-D frame for occurrence vectors: origin (D,), axes (2, D) orthonormal rows, and the
    two senses the x-axis runs from (negative side) and to (positive side)."""

    origin: np.ndarray
    axes: np.ndarray
    senses: tuple[str, str]


def sense_axis(
    vectors: np.ndarray,
    senses,
    order: tuple[str, str] | None = None,
    metric: str = "euclidean",
) -> SenseAxes:
    """x = the unit difference of the two senses' centroids; y = the first principal component
    of the vectors with their x-part removed. Fit on one set of occurrences (e.g. train or
    valid), draw another with `project_on_sense_axis`.

    vectors (N, D); senses: N labels with exactly two distinct values (sorted, unless `order`);
    x runs from the first sense (negative) to the second (positive). x = 0 is the boundary of
    the nearest-centroid classifier with these centroids, so the picture shows its accuracy:
    metric "euclidean" - nearest centroid by distance: x = c1 - c0, through their midpoint;
    metric "cosine"    - nearest centroid by cosine: x = c1/|c1| - c0/|c0|, through 0 (scaling
                         a vector does not change its cosines).
    """
    V = np.asarray(vectors, dtype=np.float64)
    labels = np.asarray(senses)
    names = tuple(order) if order is not None else tuple(sorted(set(labels.tolist())))
    if len(names) != 2 or set(labels.tolist()) - set(names) or V.ndim != 2 or len(V) != len(labels):
        raise MinilmError(
            f"a sense axis needs (N, D) vectors and N labels of two senses, got "
            f"{V.shape} and senses {sorted(set(labels.tolist()))}"
        )
    if metric not in ("euclidean", "cosine"):
        raise MinilmError(f"metric must be 'euclidean' or 'cosine', got {metric!r}")
    if not (labels == names[0]).any() or not (labels == names[1]).any():
        raise MinilmError(f"each of the senses {names} needs at least one occurrence")
    c0, c1 = (V[labels == s].mean(axis=0) for s in names)  # (D,) each
    if metric == "cosine":
        c0, c1 = unit_rows(c0), unit_rows(c1)
    x = c1 - c0
    if np.linalg.norm(x) == 0:
        raise MinilmError(f"the senses {names} have the same centroid; no axis separates them")
    x = x / np.linalg.norm(x)
    mid = (c0 + c1) / 2 if metric == "euclidean" else np.zeros_like(x)
    R = V - np.outer(V @ x, x)  # (N, D) the part orthogonal to x
    rest_mean = R.mean(axis=0)
    R = R - rest_mean
    y = np.linalg.svd(R, full_matrices=False)[2][0] if len(R) > 1 else np.zeros_like(x)
    y = y - (y @ x) * x  # exact orthogonality against round-off
    ny = np.linalg.norm(y)
    y = y / ny if ny > 0 else y
    y = y if y[np.argmax(np.abs(y))] >= 0 else -y  # sign-fixed as in minilm.project.pca_fit
    # origin: the boundary on x, the fitted points' mean on y
    origin = (mid @ x) * x + rest_mean
    return SenseAxes(origin, np.stack([x, y]), (str(names[0]), str(names[1])))


def project_on_sense_axis(vectors: np.ndarray, frame: SenseAxes) -> np.ndarray:
    """(N, 2) coordinates of vectors (N, D) in the sense frame: (x = along the centroid
    difference, positive towards frame.senses[1]; y = largest remaining variance)."""
    return (np.asarray(vectors, dtype=np.float64) - frame.origin) @ frame.axes.T


def sense_axis_labels(frame: SenseAxes) -> tuple[str, str]:
    """Axis labels for a plot in the sense frame."""
    a, b = frame.senses
    return (
        f"sense axis: centroid '{b}' - centroid '{a}'",
        "largest other variance (PC 1 of the rest)",
    )
