"""minilm/fast/word2vec.py equals the reference minilm/models/skipgram.py, piece by piece."""

from __future__ import annotations

import numpy as np
import pytest

from minilm.data.huffman import huffman_tree
from minilm.fast import word2vec as fast
from minilm.gradcheck import check_loss, densify
from minilm.models import skipgram as sg
from tests.test_skipgram import WORDS, _add_ngrams, _cbow_batch, _params, _skipgram_batch

GRAD_TOL = 1e-7  # float64 central differences, as in tests/test_skipgram.py


def _batch(kind: str, rng: np.random.Generator, N: int, K: int) -> tuple[sg.Config, dict]:
    """A float64 config and a batch with many repeated ids (7 words) for each kind of model."""
    cbow = kind.startswith("cbow")
    if kind.endswith("subwords"):
        cfg = sg.Config(vocab_size=7, dim=4, cbow=cbow, buckets=5, minn=2, maxn=4, dtype="float64")
    else:
        cfg = sg.Config(vocab_size=7, dim=4, cbow=cbow, dtype="float64")
    batch = _cbow_batch(rng, 7, N, 2, K) if cbow else _skipgram_batch(rng, 7, N, K)
    if kind.endswith("subwords"):
        batch = _add_ngrams(batch, WORDS, cfg)
    return cfg, batch


def _assert_same(params: dict, batch: dict, reference_batch: dict, update: str) -> None:
    loss, grads = fast.loss_and_grads(params, batch, cbow_update=update)
    ref_loss, ref_grads = sg.loss_and_grads(params, reference_batch, cbow_update=update)
    assert loss == pytest.approx(ref_loss, rel=1e-12)
    assert set(grads) == set(ref_grads)
    for name, (rows, values) in grads.items():
        assert np.all(np.diff(rows) > 0), "sparse row ids must be unique and sorted"
        assert np.allclose(
            densify((rows, values), params[name].shape), ref_grads[name], rtol=1e-10, atol=1e-12
        ), name


KINDS = ["skipgram", "cbow", "skipgram-subwords", "cbow-subwords"]


@pytest.mark.parametrize("update", ["exact", "word2vec"])
@pytest.mark.parametrize("kind", KINDS)
def test_per_pair_noise_equals_reference(kind, update):
    cfg, batch = _batch(kind, np.random.default_rng(5), N=12, K=4)
    _assert_same(_params(cfg), batch, batch, update)


def _per_pair(batch: dict, params: dict) -> dict:
    """The shared-noise batch written out for the reference: each example gets its group's S
    noise words at weight K/S. Group of an example = the group of its row of H: CBOW one row
    per example, skip-gram one row per distinct context word (sorted), rows cut in G runs."""
    negatives = np.atleast_2d(batch["negatives"])  # (G, S)
    G, N = len(negatives), len(batch["center"])
    if "context_mask" in batch:
        row = np.arange(N)
    else:
        row = np.unique(batch["context"], return_inverse=True)[1].reshape(-1)
    size = -(-(row.max() + 1) // G)  # rows per group
    return {**batch, "negatives": negatives[row // size]}


@pytest.mark.parametrize("groups", [1, 2, 3])  # 3 groups of 2 rows leave one padded row
@pytest.mark.parametrize("kind", KINDS)
def test_shared_noise_equals_reference(kind, groups):
    cfg, batch = _batch(kind, np.random.default_rng(6), N=5, K=3)
    # word 1 (a centre and a context word) is drawn twice in group 0
    negatives = np.array([[1, 4, 1, 0, 6], [2, 2, 5, 1, 3], [0, 3, 6, 6, 1]])[:groups]
    shared = {**batch, "negatives": negatives, "noise_weight": 3 / 5}
    params = _params(cfg)
    for update in ("exact", "word2vec"):
        _assert_same(params, shared, _per_pair(shared, params), update)
    errors = check_loss(fast.loss_and_grads, params, shared)  # and it is a gradient
    assert max(errors.values()) < GRAD_TOL, errors


def test_shared_noise_one_group_as_a_vector():
    cfg = sg.Config(vocab_size=3, dim=2, dtype="float64")
    batch = {
        "context": np.array([2]),
        "center": np.array([0]),
        "negatives": np.array([0, 1]),
        "noise_weight": 2.5,
    }
    _assert_same(_params(cfg), batch, {**batch, "negatives": np.array([[0, 1]])}, "exact")


def test_shared_noise_is_unbiased():
    # E over the draws of the shared estimator = K E_z[softplus(u_z . h)] per pair (z != centre),
    # which is also what K noise words of one's own give: check the mean of 4000 draws, 5 sigma
    cfg = sg.Config(vocab_size=6, dim=3, dtype="float64")
    params, rng = _params(cfg), np.random.default_rng(6)
    K, S = 5, 3
    p = np.array([0.3, 0.25, 0.2, 0.1, 0.1, 0.05])
    batch = {"context": np.array([0, 1, 2, 2]), "center": np.array([1, 1, 3, 5])}
    h, U = params["W_in"][batch["context"]], params["W_out"]
    exact = np.logaddexp(0, -np.einsum("nd,nd->n", U[batch["center"]], h)).sum()
    noise_terms = np.logaddexp(0, h @ U.T) * (np.arange(6) != batch["center"][:, None])  # (N, V)
    exact += K * (noise_terms @ p).sum()
    draws = [
        fast.loss_and_grads(
            params, {**batch, "negatives": rng.choice(6, S, p=p), "noise_weight": K / S}
        )[0]
        for _ in range(4000)
    ]
    assert abs(np.mean(draws) - exact) < 5 * np.std(draws) / np.sqrt(len(draws))


def test_cbow_stretch_layout_is_checked():
    cfg, batch = _batch("cbow", np.random.default_rng(2), N=4, K=3)
    with pytest.raises(Exception, match="stretch of text"):
        fast.loss_and_grads(_params(cfg), {**batch, "context": batch["context"][:-1]})


def test_windowed_sum_and_its_transpose():
    # y = A x for the banded A with A[n, n + k] = weight[n, k]; the backward is A^T dy
    rng = np.random.default_rng(9)
    N, C, D = 6, 5, 3
    x, weight, dy = rng.standard_normal((N + C - 1, D)), rng.random((N, C)), rng.random((N, D))
    A = np.zeros((N, N + C - 1))
    for n in range(N):
        A[n, n : n + C] = weight[n]
    assert np.allclose(fast.windowed_sum(x, weight), A @ x)
    assert np.allclose(fast.windowed_sum_backward(dy, weight), A.T @ dy)


@pytest.mark.parametrize("size", [12, 10_000])  # flags table, and np.unique for a large vocab
def test_distinct_equals_np_unique(size):
    ids = np.random.default_rng(11).integers(0, 12, (30, 4))
    words, where = fast.distinct(ids, size)
    expected, inverse = np.unique(ids, return_inverse=True)
    assert np.array_equal(words, expected) and np.array_equal(where, inverse.reshape(ids.shape))


def test_softplus_and_sigmoid_are_stable():
    z = np.array([-800.0, -30.0, -1.0, 0.0, 2.0, 40.0, 800.0])
    softplus, sig = fast.softplus_and_sigmoid(z)
    assert np.allclose(softplus, np.logaddexp(0, z)) and np.all(np.isfinite(softplus))
    assert np.allclose(sig, 0.5 * (1 + np.tanh(z / 2)))


def test_float32_stays_float32():
    # no silent float64 upcast in the training dtype (it would double the memory traffic)
    params = sg.init_params(sg.Config(vocab_size=20, dim=8), np.random.default_rng(0))
    params["W_out"] += 0.1
    rng = np.random.default_rng(8)
    for b in (_skipgram_batch(rng, 20, 16, 3), _cbow_batch(rng, 20, 16, 2, 3)):
        for mode in ("exact", "word2vec"):
            _, grads = fast.loss_and_grads(params, b, cbow_update=mode)
            assert all(g.dtype == np.float32 for _, g in grads.values()), mode


@pytest.mark.parametrize("shared", [False, True])
@pytest.mark.parametrize("kind", KINDS + ["skipgram-hs", "cbow-hs"])
def test_repeated_rows_sum_to_the_gradient(kind, shared):
    # repeated_rows=True leaves the rows of a word unsummed; summed they are the gradient
    cfg, batch = _batch(kind.removesuffix("-hs"), np.random.default_rng(12), N=6, K=3)
    params = _params(cfg)
    if kind.endswith("-hs"):
        params["W_node"] = np.random.default_rng(13).normal(size=(6, 4))
        points, codes, lengths = huffman_tree(np.arange(7, 0, -1)).paths(batch["center"])
        batch = {**batch, "hs_points": points, "hs_codes": codes, "hs_lengths": lengths}
    if shared:
        batch = {**batch, "negatives": np.array([[1, 4, 1], [2, 5, 0]]), "noise_weight": 1.0}
    for update in ("exact", "word2vec"):
        loss, grads = fast.loss_and_grads(params, batch, cbow_update=update)
        loss_r, repeated = fast.loss_and_grads(params, batch, update, repeated_rows=True)
        assert loss_r == loss and set(repeated) == set(grads)
        for name, g in repeated.items():
            summed = np.zeros_like(params[name])
            np.add.at(summed, *g)
            assert np.allclose(summed, densify(grads[name], params[name].shape), atol=1e-14), name
