"""Agglomerative clustering: merge order and heights against a brute-force reference."""

import itertools

import numpy as np
import pytest

from minilm.cluster import cut_tree, leaves_order, linkage, pairwise_distances
from minilm.errors import MinilmError


def _brute_force(X, method, metric):
    """Recompute every cluster-to-cluster distance from its definition at every step."""
    D = pairwise_distances(X, metric)
    clusters = {i: [i] for i in range(len(X))}
    merges = []
    next_id = len(X)
    while len(clusters) > 1:
        best = None
        for a, b in itertools.combinations(sorted(clusters), 2):
            A, B = clusters[a], clusters[b]
            block = D[np.ix_(A, B)]
            if method == "single":
                d = block.min()
            elif method == "complete":
                d = block.max()
            elif method == "average":
                d = block.mean()
            else:  # ward: sqrt(2 |A||B| / (|A|+|B|)) * ||centroid A - centroid B||
                gap = X[A].mean(0) - X[B].mean(0)
                d = np.sqrt(2 * len(A) * len(B) / (len(A) + len(B))) * np.linalg.norm(gap)
            if best is None or d < best[0] - 1e-12:
                best = (d, a, b)
        d, a, b = best
        merges.append((frozenset(clusters[a]), frozenset(clusters[b]), d))
        clusters[next_id] = clusters.pop(a) + clusters.pop(b)
        next_id += 1
    return merges


def _members(Z, n):
    members = {i: frozenset([i]) for i in range(n)}
    out = []
    for t, (a, b, d, size) in enumerate(Z):
        A, B = members[int(a)], members[int(b)]
        members[n + t] = A | B
        assert size == len(A | B)
        out.append(({A, B}, d))
    return out


@pytest.mark.parametrize(
    "method, metric",
    [
        ("single", "cosine"),
        ("complete", "cosine"),
        ("average", "cosine"),
        ("average", "euclidean"),
        ("ward", "euclidean"),
    ],
)
def test_merge_order_matches_brute_force(method, metric):
    X = np.random.default_rng(0).standard_normal((12, 5))
    Z = linkage(X, method=method, metric=metric)
    assert Z.shape == (11, 4)
    assert np.all(Z[:, 0] < Z[:, 1])
    assert np.all(np.diff(Z[:, 2]) >= -1e-12)  # these four linkages never invert
    for (pair, d), (A, B, d_ref) in zip(
        _members(Z, 12), _brute_force(X, method, metric), strict=True
    ):
        assert pair == {A, B}
        assert d == pytest.approx(d_ref, abs=1e-10)


def test_two_obvious_groups_and_helpers():
    X = np.array([[0.0, 0], [0.1, 0], [10, 10], [10, 10.2], [0, 0.3]])
    Z = linkage(X, method="average", metric="euclidean")
    assert Z[0, :2].tolist() == [0, 1]  # the closest pair merges first
    labels = cut_tree(Z, 2)
    assert labels.tolist() == [0, 0, 1, 1, 0] or labels.tolist() == [1, 1, 0, 0, 1]
    order = leaves_order(Z)
    assert sorted(order) == list(range(5))
    # The two groups are contiguous in leaf order.
    groups = [labels[i] for i in order]
    assert groups == sorted(groups) or groups == sorted(groups, reverse=True)
    assert cut_tree(Z, 5).tolist() != cut_tree(Z, 1).tolist()


def test_bad_arguments():
    with pytest.raises(MinilmError, match="ward"):
        linkage(np.zeros((3, 2)), method="ward", metric="cosine")
    with pytest.raises(MinilmError):
        linkage(np.zeros((1, 2)))
    with pytest.raises(MinilmError):
        linkage(np.zeros((3, 2)), method="median")
