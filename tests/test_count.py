"""Count-based vectors: sparse matrices, co-occurrence, tf-idf, PPMI, SVD, and the script."""

from __future__ import annotations

import itertools
import json
import math
import subprocess
import sys
import tracemalloc
from pathlib import Path

import numpy as np
import pytest

from minilm.data.corpus import TokenStream
from minilm.errors import MinilmError
from minilm.models import count

REPO = Path(__file__).resolve().parents[1]


def _coo(dense: np.ndarray) -> count.CooMatrix:
    r, c = np.nonzero(dense)
    return count.CooMatrix.from_entries(r, c, dense[r, c], dense.shape)


def _random_sparse(rng, shape, density=0.2) -> np.ndarray:
    return rng.standard_normal(shape) * (rng.random(shape) < density)


# ---- the sparse matrix ---------------------------------------------------------------------
def test_from_entries_sums_duplicates_and_sorts():
    A = count.CooMatrix.from_entries([2, 0, 2, 0], [1, 3, 1, 0], [1.0, 2.0, 3.0, 4.0], (3, 4))
    np.testing.assert_array_equal(A.rows, [0, 0, 2])
    np.testing.assert_array_equal(A.cols, [0, 3, 1])
    np.testing.assert_array_equal(A.vals, [4.0, 2.0, 4.0])  # (2, 1) got 1 + 3


@pytest.mark.parametrize("chunk_cells", [7, 1 << 22])  # tiny chunks split rows across chunks
def test_sparse_products_match_dense(monkeypatch, chunk_cells):
    monkeypatch.setattr(count, "_MATMUL_CHUNK_CELLS", chunk_cells)
    monkeypatch.setattr(count, "_GRAM_CHUNK_PAIRS", chunk_cells)
    rng = np.random.default_rng(0)
    dense = _random_sparse(rng, (13, 9))
    A = _coo(dense)
    X, Y = rng.standard_normal((9, 4)), rng.standard_normal((13, 3))
    np.testing.assert_allclose(A.matmul(X), dense @ X, atol=1e-12)
    np.testing.assert_allclose(A.rmatmul(Y), dense.T @ Y, atol=1e-12)
    np.testing.assert_allclose(A.gram(), dense @ dense.T, atol=1e-12)
    np.testing.assert_array_equal(A.transpose().to_dense(), dense.T)


# ---- 1. one-hot ----------------------------------------------------------------------------
def test_one_hot_vectors_make_distinct_words_orthogonal():
    itos = ["the", "cat", "dog", "kitten", "tuesday"]
    cos = count.one_hot_cosines(["cat", "kitten", "dog", "cat"], itos)
    expected = np.array([[1, 0, 0, 1], [0, 1, 0, 0], [0, 0, 1, 0], [1, 0, 0, 1]], dtype=float)
    np.testing.assert_array_equal(cos, expected)  # cat vs its synonym kitten: exactly 0
    with pytest.raises(MinilmError):
        count.one_hot_cosines(["cat", "lion"], itos)


# ---- 2-3. tf-idf and LSA -------------------------------------------------------------------
def test_tfidf_matches_hand_computation():
    # words: 0 a, 1 b, 2 c. Documents (lines): "a b a", "b c", "c"
    stream = TokenStream.from_sentences([[0, 1, 0], [1, 2], [2]])
    A, idf = count.tfidf(count.term_document_counts(stream.ids, stream.offsets, 3))
    # N = 3; df(a) = 1, df(b) = 2, df(c) = 2
    np.testing.assert_allclose(idf, [math.log(3), math.log(3 / 2), math.log(3 / 2)])
    expected = np.array(
        [
            [2 * math.log(3), 0, 0],
            [math.log(1.5), math.log(1.5), 0],
            [0, math.log(1.5), math.log(1.5)],
        ]
    )
    np.testing.assert_allclose(A.to_dense(), expected, atol=1e-15)


def test_tfidf_groups_lines_into_documents():
    stream = TokenStream.from_sentences([[0, 1, 0], [1, 2], [2]])
    # documents: lines 1-2, line 3
    counts = count.term_document_counts(stream.ids, stream.offsets, 3, doc_lines=2)
    np.testing.assert_array_equal(counts.to_dense(), [[2, 0], [2, 0], [1, 1]])
    A, idf = count.tfidf(counts)
    np.testing.assert_allclose(idf, [math.log(2), math.log(2), 0.0])  # c is in every document
    np.testing.assert_allclose(A.to_dense(), [[2 * math.log(2), 0], [2 * math.log(2), 0], [0, 0]])


def test_gram_factor_keeps_every_cosine_of_the_tfidf_rows():
    rng = np.random.default_rng(1)
    dense = np.abs(_random_sparse(rng, (8, 40), 0.3))
    dense[5] = 0  # a word with no tf-idf weight (e.g. in every document)
    A = _coo(dense)
    L = count.gram_factor(A)
    assert L.shape[1] <= 8
    np.testing.assert_allclose(L @ L.T, dense @ dense.T, atol=1e-10)
    norms = np.linalg.norm(dense, axis=1)
    norms[norms == 0] = 1
    np.testing.assert_allclose(count.cosine_matrix(A), dense @ dense.T / np.outer(norms, norms))


def test_lsa_is_the_truncated_svd_of_the_tfidf_matrix():
    stream = TokenStream.from_sentences([[0, 1, 2], [0, 1], [2, 3], [3, 4, 0], [4, 1]])
    A, _ = count.tfidf(count.term_document_counts(stream.ids, stream.offsets, 5))
    U, s, Vt = np.linalg.svd(A.to_dense())
    vecs = count.lsa(A, 2, np.random.default_rng(0))
    # columns equal U_k S_k up to a sign per column
    for c in range(2):
        ref = U[:, c] * s[c]
        assert min(np.abs(vecs[:, c] - ref).max(), np.abs(vecs[:, c] + ref).max()) < 1e-10


# ---- 4. windowed co-occurrence -------------------------------------------------------------
def _brute_cooccurrence(sentences, V, window, weighted):
    """The definition, one token at a time: each neighbour within the window, same sentence."""
    X = np.zeros((V, V))
    for sent in sentences:
        for t, i in enumerate(sent):
            for u, j in enumerate(sent):
                d = abs(t - u)
                if 1 <= d <= window:
                    X[i, j] += 1.0 / d if weighted else 1.0
    return X


@pytest.mark.parametrize("window, weighted", list(itertools.product([1, 2, 3, 6], [False, True])))
def test_cooccurrence_matches_brute_force(window, weighted):
    rng = np.random.default_rng(window)
    V = 6
    sentences = [list(rng.integers(0, V, n)) for n in (7, 1, 4, 9, 2)]
    sentences.append([3, 3, 3])  # a word next to itself: the diagonal counts both directions
    stream = TokenStream.from_sentences(sentences)
    X = count.cooccurrence(stream.ids, stream.offsets, V, window, weighted)
    np.testing.assert_allclose(X.to_dense(), _brute_cooccurrence(sentences, V, window, weighted))
    np.testing.assert_allclose(X.to_dense(), X.to_dense().T)


def test_cooccurrence_never_crosses_a_sentence_boundary():
    stream = TokenStream.from_sentences([[0, 1], [2, 3]])
    X = count.cooccurrence(stream.ids, stream.offsets, 4, window=5).to_dense()
    assert X[1, 2] == 0 and X[0, 3] == 0
    assert X[0, 1] == 1 and X[2, 3] == 1
    with pytest.raises(MinilmError):
        count.cooccurrence(stream.ids, stream.offsets, 4, window=0)


# ---- 5. PPMI -------------------------------------------------------------------------------
def test_ppmi_matches_hand_computation_without_smoothing():
    # X = [[4, 2], [2, 0]]: sum 8, row sums 6 and 2, column probabilities 6/8 and 2/8.
    X = _coo(np.array([[4.0, 2.0], [2.0, 0.0]]))
    M = count.ppmi(X, alpha=1.0).to_dense()
    # PMI(0,0) = log(4*8 / (6*6)) < 0 -> 0;  PMI(0,1) = PMI(1,0) = log(2*8 / (6*2)) = log(4/3)
    np.testing.assert_allclose(M, [[0, math.log(4 / 3)], [math.log(4 / 3), 0]])
    # shift k = 1.2: log(4/3) - log(1.2) = log(10/9)
    M = count.ppmi(X, alpha=1.0, shift=1.2).to_dense()
    np.testing.assert_allclose(M, [[0, math.log(10 / 9)], [math.log(10 / 9), 0]])


def test_ppmi_context_smoothing_matches_the_formula():
    rng = np.random.default_rng(3)
    dense = rng.integers(0, 5, (5, 5)).astype(float)
    dense[0, 0] = 0
    total, rows, cols = dense.sum(), dense.sum(1), dense.sum(0)
    p_ctx = cols**0.75 / (cols**0.75).sum()
    expected = np.zeros_like(dense)
    for i, j in itertools.product(range(5), range(5)):
        if dense[i, j] > 0:
            pmi = math.log((dense[i, j] / total) / ((rows[i] / total) * p_ctx[j]))
            expected[i, j] = max(pmi - math.log(2), 0)
    M = count.ppmi(_coo(dense), alpha=0.75, shift=2)
    np.testing.assert_allclose(M.to_dense(), expected, atol=1e-12)
    assert np.all(M.vals > 0)  # zeros are dropped: the result stays sparse


def test_ppmi_rejects_bad_options():
    X = _coo(np.eye(2))
    with pytest.raises(MinilmError):
        count.ppmi(X, shift=0.5)
    with pytest.raises(MinilmError):
        count.ppmi(X, alpha=0)


# ---- 6. truncated SVD ----------------------------------------------------------------------
@pytest.mark.parametrize("method", ["dense", "gram", "randomized"])
@pytest.mark.parametrize("sparse", [False, True])
def test_truncated_svd_recovers_a_low_rank_matrix(method, sparse):
    rng = np.random.default_rng(4)
    # rank 5, well separated singular values, 120 x 90
    Uo, _ = np.linalg.qr(rng.standard_normal((120, 5)))
    Vo, _ = np.linalg.qr(rng.standard_normal((90, 5)))
    A = Uo @ np.diag([50.0, 20.0, 10.0, 5.0, 2.0]) @ Vo.T
    U_ref, s_ref, Vt_ref = np.linalg.svd(A, full_matrices=False)
    U, s, Vt = count.truncated_svd(_coo(A) if sparse else A, 4, np.random.default_rng(0), method)
    np.testing.assert_allclose(s, s_ref[:4], rtol=1e-9)
    # same subspace and, after sign fixing, the same vectors
    signs = np.sign(U_ref[np.argmax(np.abs(U_ref[:, :4]), axis=0), np.arange(4)])
    np.testing.assert_allclose(U, U_ref[:, :4] * signs, atol=1e-9)
    np.testing.assert_allclose(Vt, Vt_ref[:4] * signs[:, None], atol=1e-9)


def test_randomized_svd_is_close_on_a_full_rank_decaying_spectrum():
    rng = np.random.default_rng(5)
    Uo, _ = np.linalg.qr(rng.standard_normal((200, 60)))
    Vo, _ = np.linalg.qr(rng.standard_normal((150, 60)))
    s_true = 0.8 ** np.arange(60)
    A = Uo @ np.diag(s_true) @ Vo.T
    _, s, _ = count.truncated_svd(A, 10, np.random.default_rng(0), "randomized")
    # tolerance: power iterations give error ~ s_11 (s_11/s_10)^(2q) ~ 1e-3 relative at worst
    np.testing.assert_allclose(s, s_true[:10], rtol=1e-3)


def test_svd_route_never_densifies_a_large_square_matrix():
    assert count.svd_route(896, 896) == "dense"  # the world's PPMI matrix: 0.8M cells
    assert count.svd_route(896, 67_500) == "gram"  # the world's term-document matrix
    assert count.svd_route(2_582, 2_582) == "randomized"  # issue 14's 105k-token corpus
    assert count.svd_route(16_070, 4_415) == "randomized"


def _traced_peak_mb(fn) -> float:
    tracemalloc.start()
    try:
        fn()
        return tracemalloc.get_traced_memory()[1] / 2**20
    finally:
        tracemalloc.stop()


def test_svd_memory_grows_with_nnz_not_with_v_squared():
    # V = 2500, 25k non-zeros: a dense copy would be 48 MB, a dense Gram matrix as much
    rng = np.random.default_rng(7)
    V, nnz = 2500, 25_000
    A = count.CooMatrix.from_entries(
        rng.integers(0, V, nnz), rng.integers(0, V, nnz), rng.random(nnz), (V, V)
    )
    peak = _traced_peak_mb(lambda: count.truncated_svd(A, 20, np.random.default_rng(0)))
    # O(nnz + V k): factors and products ~3 MB, a sparse product's chunk scratch <= 2 x 8 MB
    assert peak < 24, peak


def test_gram_memory_is_bounded_whatever_the_column_lengths():
    # one column holding every row: P = 1500^2 = 2.25M pairs (old code: ~100 MB of scratch)
    n = 1500
    A = count.CooMatrix.from_entries(np.arange(n), np.zeros(n, int), np.ones(n), (n, 1))
    G = None

    def run():
        nonlocal G
        G = A.gram()

    peak = _traced_peak_mb(run)
    np.testing.assert_array_equal(G, np.ones((n, n)))
    assert peak < n * n * 8 / 2**20 + 20, peak  # G itself (17 MB) plus bounded chunks


def test_truncated_svd_checks_rank_and_method():
    with pytest.raises(MinilmError):
        count.truncated_svd(np.eye(3), 4, np.random.default_rng(0))
    with pytest.raises(MinilmError):
        count.truncated_svd(np.eye(3), 2, np.random.default_rng(0), method="lanczos")


def test_svd_vectors_apply_the_eigenvalue_weighting():
    rng = np.random.default_rng(6)
    M = rng.standard_normal((12, 12))
    U, s, _ = count.truncated_svd(M, 3, np.random.default_rng(0))
    for p in (0.0, 0.5, 1.0):
        np.testing.assert_allclose(count.svd_vectors(M, 3, np.random.default_rng(0), p), U * s**p)


def test_ppmi_svd_groups_words_that_share_contexts():
    # "cat" and "dog" never meet, but both sit between "the" and "runs": second-order similarity
    stream = TokenStream.from_sentences([[0, 1, 3], [0, 2, 3]] * 20 + [[4, 5, 6]] * 20)
    M = count.ppmi(count.cooccurrence(stream.ids, stream.offsets, 7, window=1))
    W = count.svd_vectors(M, 5, np.random.default_rng(0), eig_p=0.5)
    norms = np.linalg.norm(W, axis=1, keepdims=True)
    assert np.all(norms[[1, 2, 5]] > 0)
    unit = W / np.where(norms > 0, norms, 1)
    assert unit[1] @ unit[2] > 0.99  # cat ~ dog
    assert abs(unit[1] @ unit[5]) < 0.01  # cat vs an unrelated word


# ---- the script ----------------------------------------------------------------------------
def _tiny_corpus(folder: Path) -> Path:
    rng = np.random.default_rng(0)
    animals, foods = ["dog", "cat", "horse", "cow"], ["bread", "apple", "rice", "cake"]
    lines = [
        f"the {rng.choice(animals)} {rng.choice(['eats', 'likes'])} the {rng.choice(foods)} ."
        for _ in range(150)
    ]
    (folder / "train.txt").write_text("\n".join(lines) + "\n")
    (folder / "categories.tsv").write_text(
        "".join(f"{w}\tanimal\n" for w in animals) + "".join(f"{w}\tfood\n" for w in foods)
    )
    (folder / "analogies.txt").write_text(": animals\ndog cat horse cow\n")
    (folder / "similarity.tsv").write_text("dog\tcat\t9\ndog\tbread\t1\ncat\trice\t1\n")
    return folder


@pytest.mark.parametrize("method", ["tfidf", "lsa", "ppmi", "glove"])
def test_script_end_to_end(tmp_path, method):
    corpus = _tiny_corpus(tmp_path)
    out = tmp_path / f"run_{method}"
    cmd = [sys.executable, str(REPO / "scripts/train_baselines.py"), "--method", method]
    cmd += ["--corpus", str(corpus), "--out", str(out)]
    cmd += ["--dim", "4", "--min-count", "1", "--epochs", "3", "--window", "2"]
    res = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
    assert res.returncode == 0, res.stderr
    assert str(out) in res.stdout
    files = ("vectors.txt", "vectors.bin", "model.npz", "metrics.json", "loss.png")
    for name in (*files, "projector/vectors.tsv", "projector/metadata.tsv"):
        assert (out / name).is_file(), name
    metrics = json.loads((out / "metrics.json").read_text())
    scores = ("category_purity", "analogy_accuracy", "analogy_accuracy_no_exclusion")
    run = ("train_seconds", "peak_memory_mb", "vocab_size", "train_tokens", "seed")
    for key in (*scores, "similarity_spearman", *run):
        assert key in metrics, key
    assert metrics["vocab_size"] == 11 and metrics["train_tokens"] == 150 * 5
    header = (out / "vectors.txt").read_text().splitlines()[0].split()
    assert int(header[0]) == 11 and (method == "tfidf" or int(header[1]) == 4)


def test_script_bad_option_is_one_line_error(tmp_path):
    corpus = _tiny_corpus(tmp_path)
    cmd = [sys.executable, str(REPO / "scripts/train_baselines.py"), "--method", "ppmi"]
    cmd += ["--corpus", str(corpus), "--out", str(tmp_path / "o")]
    cmd += ["--dim", "50", "--min-count", "1"]
    res = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
    assert res.returncode == 2
    assert res.stderr.startswith("error: --dim 50 exceeds") and "Traceback" not in res.stderr


@pytest.mark.slow  # two child processes that each import numpy, matplotlib and train: ~8 s
def test_compare_script_writes_the_table(tmp_path):
    corpus = _tiny_corpus(tmp_path)
    out = tmp_path / "cmp"
    cmd = [sys.executable, str(REPO / "scripts/compare_embeddings.py"), "--corpus", str(corpus)]
    cmd += ["--out", str(out), "--dim", "4", "--min-count", "1"]
    cmd += ["--methods", "lsa,ppmi"]
    res = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
    assert res.returncode == 0, res.stderr
    table = (out / "compare.md").read_text()
    assert "| LSA |" in table and "| PPMI-SVD |" in table and "peak MB" in table
    assert "not compared" in table  # SGNS was not run: the verdict says so instead of guessing
    rows = json.loads((out / "compare.json").read_text())["rows"]
    assert [r["method"] for r in rows] == ["LSA", "PPMI-SVD"]
    assert all(r["peak_memory_mb"] > 10 and r["category_purity"] is not None for r in rows)
    assert "| PPMI-SVD |" in res.stdout
