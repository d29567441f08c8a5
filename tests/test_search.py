"""Semantic search: pooling, SIF, exact top-k, the index on disk, quantisation, BM25 and RRF."""

from __future__ import annotations

import numpy as np
import pytest

from minilm.errors import MinilmError
from minilm.models.bm25 import bm25_scores, build_bm25, rrf
from minilm.quantize import (
    binary_decode,
    binary_encode,
    binary_search,
    hamming_top_k,
    int8_decode,
    int8_encode,
    int8_scale,
    overlap_at_k,
    quantised_recall,
)
from minilm.search import (
    SentenceIndex,
    common_component,
    mean_pool,
    remove_component,
    sif_weights,
    top_k,
    unit_rows,
)


def test_mean_pool_counts_repeats_and_skips_unknown_words():
    table = np.array([[1.0, 0.0], [0.0, 2.0], [4.0, 4.0]])
    got = mean_pool([np.array([0, 0, 1, -1]), np.array([-1]), np.array([2])], table)
    np.testing.assert_allclose(got[0], [2 / 3, 2 / 3])  # word 0 twice, word 1 once, -1 skipped
    np.testing.assert_allclose(got[1], [0, 0])  # no known word: a zero row
    np.testing.assert_allclose(got[2], [4, 4])
    w = np.array([0.5, 1.0, 1.0])
    np.testing.assert_allclose(mean_pool([np.array([0, 1])], table, w)[0], [0.25, 1.0])


def test_sif_weights_frequent_words_less():
    w = sif_weights(np.array([1000, 10, 1]), a=1e-3)
    assert w[0] < w[1] < w[2] <= 1
    with pytest.raises(MinilmError):
        sif_weights(np.zeros(3))


def test_common_component_is_the_shared_direction_and_is_removed():
    rng = np.random.default_rng(0)
    shared = np.array([3.0, 4.0, 0.0]) / 5
    X = 5 * shared + 0.1 * rng.normal(size=(200, 3))
    u = common_component(X)
    assert abs(abs(u @ shared) - 1) < 1e-3
    assert np.max(np.abs(remove_component(X, u) @ u)) < 1e-5


def test_top_k_equals_a_full_sort_with_ties_by_lower_id():
    rng = np.random.default_rng(1)
    index = unit_rows(rng.normal(size=(50, 8)))
    index[7] = index[3]  # a tie
    queries = np.vstack([index[3], unit_rows(rng.normal(size=(4, 8)))])
    ids, scores = top_k(index, queries, 6)
    S = queries @ index.T
    for q in range(len(queries)):
        expected = np.argsort(-S[q], kind="stable")[:6]
        np.testing.assert_allclose(scores[q], S[q, expected], rtol=1e-6)
        np.testing.assert_allclose(S[q, ids[q]], scores[q], rtol=1e-6)
    assert ids[0, 0] == 3 and ids[0, 1] == 7  # the tie inside the k: lower id first
    assert top_k(index, queries, 500)[0].shape == (5, 50)  # k capped at N


def test_top_k_in_several_query_blocks(monkeypatch):
    import minilm.search as search

    rng = np.random.default_rng(2)
    index, queries = unit_rows(rng.normal(size=(30, 4))), unit_rows(rng.normal(size=(9, 4)))
    whole = top_k(index, queries, 5)[0]
    monkeypatch.setattr(search, "BLOCK_ELEMENTS", 60)  # 2 queries a block
    np.testing.assert_array_equal(search.top_k(index, queries, 5)[0], whole)


def test_unit_rows_keeps_zero_rows_zero():
    got = unit_rows(np.array([[3.0, 4.0], [0.0, 0.0]]))
    np.testing.assert_allclose(got, [[0.6, 0.8], [0, 0]])
    assert got.dtype == np.float32


def test_index_round_trip_and_search(tmp_path):
    vectors = unit_rows(np.array([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0]]))
    index = SentenceIndex(vectors, ["east", "north", "north east"], {"encoder": "test"})
    index.save(tmp_path / "ix")
    back = SentenceIndex.load(tmp_path / "ix")
    assert back.sentences == index.sentences and back.meta["n"] == 3
    np.testing.assert_array_equal(back.vectors, vectors)
    hits = back.search(np.array([0.9, 0.1]), k=2)[0]
    assert [s for s, _ in hits] == ["east", "north east"]
    with pytest.raises(MinilmError, match="not an index"):
        SentenceIndex.load(tmp_path / "missing")
    with pytest.raises(MinilmError, match="line break"):
        SentenceIndex(vectors[:1], ["a\nb"]).save(tmp_path / "bad")


def test_int8_round_trip_error_is_at_most_half_a_step():
    rng = np.random.default_rng(3)
    X = rng.normal(size=(100, 16)).astype(np.float32)
    scale = int8_scale(X)
    codes = int8_encode(X, scale)
    assert codes.dtype == np.int8 and np.abs(codes).max() == 127
    assert np.all(np.abs(int8_decode(codes, scale) - X) <= scale / 2 + 1e-6)
    assert int8_encode(X * 3, scale).max() == 127  # out of range: clipped, not wrapped


def test_binary_codes_and_hamming_search_against_brute_force():
    rng = np.random.default_rng(4)
    X = rng.normal(size=(60, 13))  # 13 dims: the last byte is partial
    codes = binary_encode(X)
    assert codes.shape == (60, 2)
    np.testing.assert_array_equal(binary_decode(codes, 13), np.where(X > 0, 1, -1))
    queries = rng.normal(size=(5, 13))
    signs, qsigns = np.where(X > 0, 1, 0), np.where(queries > 0, 1, 0)
    dist = (signs[None] != qsigns[:, None]).sum(2)
    got = hamming_top_k(codes, binary_encode(queries), 7)
    for q in range(5):  # many ties in 13 bits: compare the distances, sorted, not the ids
        np.testing.assert_array_equal(dist[q, got[q]], np.sort(dist[q])[:7])
        assert len(set(got[q].tolist())) == 7


def test_rescoring_recovers_what_binary_search_loses():
    rng = np.random.default_rng(5)
    index = unit_rows(rng.normal(size=(2000, 32)))
    queries = unit_rows(index[:50] + 0.3 * rng.normal(size=(50, 32)))
    exact = top_k(index, queries, 10)[0]
    rescored = binary_search(binary_encode(index), index, queries, 10, 2000)
    np.testing.assert_array_equal(rescored, exact)  # every candidate rescored: exact
    r = quantised_recall(index, queries, 10, rescore=100)
    assert r["binary_recall"] < r["binary_rescored_recall"] <= 1
    assert r["int8_recall"] > r["binary_recall"]
    assert r["float32_bytes"] == 4 * r["int8_bytes"] == 128 and r["binary_bytes"] == 4
    assert overlap_at_k(exact, exact) == 1.0


def test_bm25_matches_the_formula_term_by_term():
    docs = [np.array([0, 1, 1]), np.array([1, 2]), np.array([3, 3, 3, 0, 2])]
    index = build_bm25(docs, vocab_size=5, k1=1.2, b=0.75)
    N, avgdl = 3, 10 / 3
    query = np.array([1, 3, 4, -1])  # 4 occurs nowhere, -1 is unknown

    def term(t, d):
        tf = float(np.sum(docs[d] == t))
        n_t = sum(t in doc for doc in docs)
        idf = np.log(1 + (N - n_t + 0.5) / (n_t + 0.5))
        return idf * tf * 2.2 / (tf + 1.2 * (1 - 0.75 + 0.75 * len(docs[d]) / avgdl))

    expected = [sum(term(t, d) for t in (1, 3)) for d in range(3)]
    np.testing.assert_allclose(bm25_scores(index, query), expected)
    with pytest.raises(MinilmError):
        build_bm25(docs, vocab_size=3)


def test_rrf_prefers_documents_both_rankings_like():
    fused = rrf([np.array([0, 1, 2]), np.array([2, 1, 3])], 5, k=60)
    assert fused[1] > fused[0] and fused[2] > fused[1]  # 1 is second twice; 2 is 3rd and 1st
    assert fused[4] == 0
    np.testing.assert_allclose(fused[0], 1 / 61)
