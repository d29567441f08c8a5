"""PCA against an SVD reference, t-SNE keeps clusters, trustworthiness and Procrustes by hand."""

import time

import numpy as np
import pytest

from minilm.errors import MinilmError
from minilm.project import (
    conditional_affinities,
    pca,
    pca_fit,
    procrustes,
    trustworthiness,
    tsne,
)


def _blobs(n_per=40, n_clusters=4, dim=10, seed=0):
    rng = np.random.default_rng(seed)
    centres = rng.standard_normal((n_clusters, dim)) * 10
    X = np.concatenate([c + rng.standard_normal((n_per, dim)) for c in centres])
    return X, np.repeat(np.arange(n_clusters), n_per)


def test_pca_matches_svd_reference_up_to_fixed_signs():
    rng = np.random.default_rng(0)
    X = rng.standard_normal((50, 6)) @ rng.standard_normal((6, 6))
    Xc = X - X.mean(axis=0)
    U, S, Vt = np.linalg.svd(Xc)
    reference = U[:, :3] * S[:3]
    res = pca_fit(X, 3)
    for j in range(3):  # equal up to sign; the sign is the one that makes the biggest loading > 0
        sign = np.sign(Vt[j, np.argmax(np.abs(Vt[j]))])
        np.testing.assert_allclose(res.scores[:, j], sign * reference[:, j], atol=1e-10)
        assert res.components[j, np.argmax(np.abs(res.components[j]))] > 0
    np.testing.assert_allclose(res.explained_variance_ratio, S[:3] ** 2 / np.sum(S**2))
    # The picture does not depend on the sign LAPACK happens to return, nor on a flipped input.
    np.testing.assert_allclose(pca(X, 2), pca(X.copy(), 2))
    assert pca(X, 2).dtype == X.dtype


def test_pca_rejects_too_many_components():
    with pytest.raises(MinilmError):
        pca(np.zeros((3, 2)), 3)


def test_affinities_reach_the_target_perplexity():
    X, _ = _blobs(n_per=25)
    D2 = ((X[:, None] - X[None]) ** 2).sum(-1)
    P = conditional_affinities(D2, perplexity=15.0)
    H = -np.sum(np.where(P > 0, P * np.log(np.where(P > 0, P, 1)), 0), axis=1)
    np.testing.assert_allclose(np.exp(H), 15.0, rtol=1e-3)
    np.testing.assert_allclose(P.sum(axis=1), 1.0)
    assert np.all(np.diag(P) == 0)


def test_tsne_keeps_well_separated_clusters():
    X, labels = _blobs()
    start = time.perf_counter()
    Y = tsne(X, perplexity=20, seed=np.random.default_rng(0), n_iter=500)
    assert time.perf_counter() - start < 5
    assert trustworthiness(X, Y, k=5) >= 0.9
    # Every point's nearest map neighbour belongs to its own cluster.
    D = ((Y[:, None] - Y[None]) ** 2).sum(-1)
    np.fill_diagonal(D, np.inf)
    assert np.mean(labels[np.argmin(D, axis=1)] == labels) == 1.0
    # Seeded: the same generator state gives the same map.
    np.testing.assert_array_equal(
        Y, tsne(X, perplexity=20, seed=np.random.default_rng(0), n_iter=500)
    )


def test_trustworthiness_extremes_and_hand_case():
    X, _ = _blobs(n_per=20)
    assert trustworthiness(X, X, k=5) == pytest.approx(1.0)
    rng = np.random.default_rng(1)
    assert trustworthiness(X, rng.standard_normal((len(X), 2)), k=5) < 0.7
    # 1-D hand case, N=6, k=1, gaps 1,2,3,4,5 (no ties); the map swaps the two end points.
    x = np.array([0.0, 1, 3, 6, 10, 15])[:, None]
    y = x[[5, 1, 2, 3, 4, 0]]
    # Map neighbours: 0->4 (rank 4 in X), 1->5 (rank 5), 2->1, 3->2, 4->3 (rank 1 each),
    # 5->1 (rank 4). Penalty (4-1) + (5-1) + (4-1) = 10; T = 1 - 2/(6*1*(12-3-1)) * 10.
    assert trustworthiness(x, y, k=1) == pytest.approx(1 - 20 / 48)


def test_procrustes_undoes_a_rotation_and_reflection():
    rng = np.random.default_rng(2)
    A = rng.standard_normal((30, 2))
    theta = 0.7
    R = np.array([[np.cos(theta), -np.sin(theta)], [np.sin(theta), np.cos(theta)]])
    B = (A @ R) * np.array([1, -1]) + 5.0  # rotate, mirror, shift
    aligned, Q = procrustes(A, B)
    np.testing.assert_allclose(aligned, A, atol=1e-10)
    np.testing.assert_allclose(Q.T @ Q, np.eye(2), atol=1e-12)
