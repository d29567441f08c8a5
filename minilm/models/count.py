"""Count-based word vectors: one-hot, tf-idf, LSA, windowed co-occurrence, PPMI and its SVD.

The lineage, in the order a learner meets it:

1. One-hot vectors. Word i is e_i in R^V. Two distinct words are orthogonal, cos(e_a, e_b) = 0,
   so "cat" is exactly as far from "dog" as from "tuesday": one-hot codes hold no similarity.
2. tf-idf (Salton; idf from Spärck Jones 1972). A term-document matrix A (V x N):
       A[t, d] = tf(t, d) * idf(t),    tf = raw count of t in d,    idf(t) = log(N / df(t))
   df(t) = number of documents containing t. A word that occurs in every document gets idf 0.
   A column is a document vector (sparse); a row is a word vector: words are similar when
   they occur in the same documents.
3. LSA (Deerwester et al. 1990): the truncated SVD A ~ U_k S_k V_k^T; word vectors U_k S_k.
4. Windowed co-occurrence (HAL, Lund & Burgess 1996): X[i, j] = how often j occurs within
   `window` tokens of i, optionally weighted 1/distance (HAL, GloVe).
5. PPMI with context-distribution smoothing and shift (Levy, Goldberg & Dagan 2015):
       PMI_a(i, j) = log( P(i, j) / (P(i) P_a(j)) )
       P(i, j) = X_ij / sum(X),  P(i) = X_i. / sum(X),  P_a(j) = X_.j^a / sum_c X_.c^a   (a = 0.75)
       SPPMI(i, j) = max(PMI_a(i, j) - log k, 0)                     (k = 1: plain PPMI)
   SGNS with k negatives implicitly factorises PMI - log k (Levy & Goldberg 2014).
6. Truncated SVD with eigenvalue weighting p:  M ~ U_k S_k V_k^T,  word vectors U_k S_k^p.
   p = 1 is the classic LSA choice; Levy et al. (2015) found p = 0.5 or 0 works better.

Input. Every counting function takes the corpus as two int arrays, as minilm.data.corpus keeps
it: `ids` (n_tokens,) and `offsets` (S + 1,), sentence s being ids[offsets[s]:offsets[s + 1]]
(the script reads the text; this module only counts). A document of the tf-idf/LSA functions
is `doc_lines` consecutive lines (default 1: a document is a line). In the bundled world corpus
every line is an independent statement, so grouping lines would only mix unrelated facts.

Sparse storage. Every sparse matrix here is a `CooMatrix`: three parallel arrays (rows, cols,
vals) plus a shape, with no duplicate (row, col) pairs, sorted by row then column. Counting
builds int64 keys `row * n_cols + col`, and `np.unique(keys, return_inverse=True)` followed by
`np.bincount(inverse, weights)` sums duplicates: a sort, no Python loop over tokens
(co-occurrence merges each offset's sorted keys into the running total with a linear merge).
The only Python loops are over window offsets 1..window and over fixed-size chunks of entries
in a sparse-dense product or a Gram matrix, which keep scratch memory bounded.

SVD. `truncated_svd` picks one of three routes (thresholds below), none of which builds a
dense copy of a large sparse matrix, so memory grows with V, nnz and k, not with V^2:
- dense `np.linalg.svd` when the matrix has at most DENSE_SVD_MAX_CELLS = 1M cells (8 MB in
  float64; the (V, V) PPMI matrix of the world corpus, V = 896, is 0.8M cells): exact;
- the eigendecomposition of the Gram matrix of the short side when the matrix is wide, short
  side <= GRAM_SVD_MAX_SIDE = 3000 and long side >= GRAM_MIN_ASPECT = 4 times it (the world's
  term-document matrix is 896 x 67,500: its 896 x 896 Gram matrix gives the SVD exactly, in
  well under a second). The Gram matrix is then smaller than a quarter of the dense matrix;
- the randomized SVD of Halko, Martinsson & Tropp (2011) otherwise, seeded, which touches the
  matrix only through products A @ X and A^T @ X, done sparsely: its memory is O(nnz + (m + n) k).
Singular vectors are sign-fixed (largest-magnitude entry of each column of U positive) so the
results are deterministic and the three routes agree.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from minilm.errors import MinilmError

DENSE_SVD_MAX_CELLS = 1_000_000  # dense np.linalg.svd up to this many cells (8 MB)
_MATMUL_CHUNK_CELLS = 1 << 20  # scratch numbers per chunk of a sparse product (8 MB)
_GRAM_CHUNK_PAIRS = 1 << 18  # pairs per chunk of `gram` (six 2 MB arrays of scratch)
GRAM_SVD_MAX_SIDE = 3_000  # "gram" SVD when the short side is at most this (eigh of 3000^2)...
GRAM_MIN_ASPECT = 4  # ... and the long side at least 4 times as long (a term-document matrix)
GRAM_MAX_ROWS = 20_000  # a dense (V, V) Gram matrix beyond this would not fit a laptop


# ---------------------------------------------------------------------------------------------
# A minimal sparse matrix in coordinate form
# ---------------------------------------------------------------------------------------------
@dataclass
class CooMatrix:
    """A sparse (n_rows, n_cols) matrix: entry (rows[e], cols[e]) holds vals[e].

    Invariant: (row, col) pairs are unique and sorted by row, then column.
    """

    rows: np.ndarray  # (nnz,) int64
    cols: np.ndarray  # (nnz,) int64
    vals: np.ndarray  # (nnz,) float
    shape: tuple[int, int]

    @classmethod
    def from_entries(
        cls, rows: np.ndarray, cols: np.ndarray, vals: np.ndarray, shape: tuple[int, int]
    ) -> CooMatrix:
        """Sum duplicate (row, col) entries: int64 keys row*n_cols + col, np.unique, bincount."""
        n_rows, n_cols = int(shape[0]), int(shape[1])
        keys = np.asarray(rows, dtype=np.int64) * n_cols + np.asarray(cols, dtype=np.int64)
        unique, inverse = np.unique(keys, return_inverse=True)
        vals = np.asarray(vals)
        summed = np.bincount(inverse.ravel(), weights=vals, minlength=unique.size)
        return cls(unique // n_cols, unique % n_cols, summed.astype(vals.dtype), (n_rows, n_cols))

    @property
    def nnz(self) -> int:
        return int(self.vals.size)

    def transpose(self) -> CooMatrix:
        return CooMatrix.from_entries(self.cols, self.rows, self.vals, self.shape[::-1])

    def to_dense(self) -> np.ndarray:
        out = np.zeros(self.shape, dtype=self.vals.dtype)
        out[self.rows, self.cols] = self.vals  # pairs are unique: plain assignment loses nothing
        return out

    def matmul(self, X: np.ndarray) -> np.ndarray:
        """A @ X for dense X (n_cols, k) -> (n_rows, k).

        (A X)[r] = sum over entries e of row r of vals[e] * X[cols[e]]. Entries are sorted by
        row, so each row's entries form one run: gather the rows X[cols] (contiguous reads),
        scale, and `np.add.reduceat` each run. Done in chunks of entries so that the scratch
        array stays near _MATMUL_CHUNK_CELLS numbers whatever nnz is.
        """
        X = np.asarray(X)
        k = X.shape[1]
        out = np.zeros((self.shape[0], k), dtype=np.result_type(self.vals, X))
        chunk = max(1, _MATMUL_CHUNK_CELLS // max(k, 1))
        for a in range(0, self.nnz, chunk):
            rows, cols, vals = (x[a : a + chunk] for x in (self.rows, self.cols, self.vals))
            starts = np.flatnonzero(np.r_[True, rows[1:] != rows[:-1]])  # first entry of a run
            sums = np.add.reduceat(vals[:, None] * X[cols], starts, axis=0)  # (runs, k)
            out[rows[starts]] += sums  # runs have distinct rows; a row split across chunks adds
        return out

    def rmatmul(self, X: np.ndarray) -> np.ndarray:
        """A^T @ X for dense X (n_rows, k) -> (n_cols, k). (Re-sorts; transpose once if reused.)"""
        return self.transpose().matmul(X)

    def gram(self) -> np.ndarray:
        """G = A A^T (n_rows, n_rows), dense: the dot product of every pair of rows.

        G[a, b] = sum over columns c of A[a, c] A[b, c]: every pair of entries that share a
        column contributes. The pairs are enumerated without a Python loop over entries:
        entries sorted by column, each entry repeated once per entry of its column, partnered
        with each of them. There are P = sum over columns of (entries in it)^2 pairs, far more
        than nnz when some columns are long (a frequent context word of a PPMI matrix), so they
        are made a chunk of entries at a time, near _GRAM_CHUNK_PAIRS pairs per chunk, and
        added into G: memory is G plus one chunk whatever P is.
        """
        n = self.shape[0]
        if n > GRAM_MAX_ROWS:
            raise MinilmError(
                f"a dense {n} x {n} Gram matrix is too large; use a truncated SVD (LSA) instead"
            )
        order = np.argsort(self.cols, kind="stable")
        rows, cols, vals = self.rows[order], self.cols[order], self.vals[order].astype(np.float64)
        col_len = np.bincount(cols, minlength=self.shape[1])  # entries per column
        col_start = np.cumsum(col_len) - col_len
        reps = col_len[cols]  # (nnz,) how many partners each entry has (itself included)
        first_pair = np.cumsum(reps) - reps  # (nnz,) index of each entry's first pair
        G = np.zeros(n * n, dtype=np.float64)
        a = 0
        while a < rows.size:
            # entries [a, b) make at most _GRAM_CHUNK_PAIRS pairs (at least one entry)
            b = int(np.searchsorted(first_pair, first_pair[a] + _GRAM_CHUNK_PAIRS, "left"))
            b = max(b, a + 1)
            left = np.repeat(np.arange(a, b), reps[a:b])  # (P_chunk,)
            run_start = np.repeat(first_pair[a:b] - first_pair[a], reps[a:b])  # (P_chunk,)
            rank_in_run = np.arange(left.size) - run_start
            right = col_start[cols[left]] + rank_in_run
            np.add.at(G, rows[left] * n + rows[right], vals[left] * vals[right])
            a = b
        return G.reshape(n, n).astype(self.vals.dtype, copy=False)


# ---------------------------------------------------------------------------------------------
# 1. One-hot vectors
# ---------------------------------------------------------------------------------------------
def one_hot(ids: np.ndarray, vocab_size: int, dtype: type = np.float64) -> np.ndarray:
    """ids int (N,) -> (N, V) rows e_{ids[n]}."""
    ids = np.asarray(ids, dtype=np.int64)
    if ids.size and (ids.min() < 0 or ids.max() >= vocab_size):
        raise MinilmError(f"one_hot: ids must lie in [0, {vocab_size})")
    out = np.zeros((ids.size, vocab_size), dtype=dtype)
    out[np.arange(ids.size), ids] = 1
    return out


def one_hot_cosines(words: list[str], itos: list[str]) -> np.ndarray:
    """The cosine matrix of the one-hot vectors of `words` (n, n), computed from the vectors.

    It is the identity: 1 on the diagonal, 0 between any two distinct words - "cat" vs "dog"
    is 0, exactly as "cat" vs "tuesday". One-hot codes carry no notion of similarity; every
    method below exists to fix that.
    """
    stoi = {w: i for i, w in enumerate(itos)}
    missing = [w for w in words if w not in stoi]
    if missing:
        raise MinilmError(f"one_hot_cosines: {missing[:3]} not in the vocabulary")
    E = one_hot(np.array([stoi[w] for w in words]), len(itos))  # (n, V)
    unit = E / np.linalg.norm(E, axis=1, keepdims=True)
    return unit @ unit.T


# ---------------------------------------------------------------------------------------------
# 2-3. tf-idf and LSA
# ---------------------------------------------------------------------------------------------
def sentence_index(offsets: np.ndarray) -> np.ndarray:
    """offsets (S + 1,) -> (n_tokens,) the sentence each token belongs to."""
    offsets = np.asarray(offsets, dtype=np.int64)
    return np.repeat(np.arange(offsets.size - 1, dtype=np.int64), np.diff(offsets))


def term_document_counts(
    ids: np.ndarray, offsets: np.ndarray, vocab_size: int, doc_lines: int = 1
) -> CooMatrix:
    """tf(t, d): how often term t occurs in document d, as a sparse (V, N) matrix.

    Document d is lines [d * doc_lines, (d + 1) * doc_lines) of the corpus (ids, offsets).
    """
    if doc_lines < 1:
        raise MinilmError(f"doc_lines must be >= 1, got {doc_lines}")
    ids = np.asarray(ids, dtype=np.int64)
    doc = sentence_index(offsets) // doc_lines  # (n_tokens,)
    n_docs = -(-(len(offsets) - 1) // doc_lines)  # ceil
    ones = np.ones(ids.size, dtype=np.float64)
    return CooMatrix.from_entries(ids, doc, ones, (vocab_size, n_docs))


def tfidf(counts: CooMatrix) -> tuple[CooMatrix, np.ndarray]:
    """A[t, d] = tf(t, d) * log(N / df(t)); returns (A, idf (V,)).

    A term never seen has df 0; its idf is set to 0 (it has no entries anyway).
    """
    V, N = counts.shape
    df = np.bincount(counts.rows, minlength=V)  # each (t, d) pair is stored once
    idf = np.log(N / np.maximum(df, 1)) * (df > 0)  # (V,)
    A = CooMatrix(counts.rows, counts.cols, counts.vals * idf[counts.rows], counts.shape)
    return A, idf


def cosine_matrix(A: CooMatrix) -> np.ndarray:
    """Cosine similarity of every pair of rows of a sparse matrix, (V, V); zero rows give 0."""
    G = A.gram()
    norms = np.sqrt(np.maximum(np.diag(G), 0))
    norms = np.where(norms > 0, norms, 1)
    return G / norms[:, None] / norms[None, :]


def gram_factor(A: CooMatrix) -> np.ndarray:
    """Dense rows L (V, r) with L L^T = A A^T, in r = rank(A) <= V dimensions.

    From the eigendecomposition A A^T = U S^2 U^T: L = U S, which is the full (untruncated)
    LSA. It keeps every dot product and cosine between rows of A exactly, so the (V, N) rows -
    N = tens of thousands of documents - become V-dimensional vectors that a vectors file can
    hold. Truncating L to its first k columns is LSA.
    """
    G = A.gram().astype(np.float64)
    eigval, eigvec = np.linalg.eigh(G)  # ascending
    keep = eigval > 1e-10 * max(float(eigval[-1]), 1e-300)
    eigval, eigvec = eigval[keep][::-1], eigvec[:, keep][:, ::-1]  # descending
    U = _fix_signs(eigvec)
    return (U * np.sqrt(eigval)).astype(A.vals.dtype, copy=False)


def lsa(A: CooMatrix, dim: int, rng: np.random.Generator, eig_p: float = 1.0) -> np.ndarray:
    """LSA word vectors U_k S_k^p (V, k) from the truncated SVD of the tf-idf matrix A (V, N)."""
    U, s, _ = truncated_svd(A, dim, rng)
    return U * s**eig_p


# ---------------------------------------------------------------------------------------------
# 4. Windowed co-occurrence counts
# ---------------------------------------------------------------------------------------------
def cooccurrence(
    ids: np.ndarray,
    offsets: np.ndarray,
    vocab_size: int,
    window: int = 5,
    distance_weighting: bool = False,
    dtype: type = np.float64,
) -> CooMatrix:
    """Symmetric windowed co-occurrence X (V, V), sparse.

    X[i, j] = sum over tokens t with word i, and tokens u with word j in the same sentence with
    1 <= |t - u| <= window, of w(|t - u|);  w(d) = 1, or 1/d with `distance_weighting` (HAL,
    GloVe). Symmetric by construction (X = C + C^T, C counting j to the right of i).

    Counting, per offset d = 1..window: the pairs (ids[:-d], ids[d:]) whose two tokens lie in
    the same sentence, in both directions (X = C + C^T: i sees j on its right exactly when j
    sees i on its left), as int64 keys i*V + j. Each offset's keys are merged into the running
    total straight away (np.unique + np.bincount), so memory holds one offset's pairs plus the
    distinct cells, not window * n_tokens pairs at once; rows and columns are split out of
    the keys only at the end.
    """
    if window < 1:
        raise MinilmError(f"window must be >= 1, got {window}")
    V = int(vocab_size)
    ids = np.asarray(ids, dtype=np.int64)
    sentence = sentence_index(offsets)  # (n_tokens,)
    keys, sums = np.zeros(0, np.int64), np.zeros(0, np.float64)  # distinct cells so far, sorted
    longest = int(np.bincount(sentence).max()) if sentence.size else 1
    for d in range(1, min(window, longest - 1) + 1):  # no pair is further apart than that
        same = sentence[:-d] == sentence[d:]  # never count across a sentence boundary
        left, right = ids[:-d][same], ids[d:][same]
        pairs = np.concatenate([left * V + right, right * V + left])  # (2 P,) both directions
        del left, right, same
        step_keys, step_counts = np.unique(pairs, return_counts=True)  # sorted, distinct
        del pairs
        weight = 1.0 / d if distance_weighting else 1.0
        keys, sums = _merge_sorted(keys, sums, step_keys, weight * step_counts)
    rows, cols = np.divmod(keys, V)
    return CooMatrix(rows, cols, sums.astype(dtype), (V, V))


def _merge_sorted(
    keys: np.ndarray, vals: np.ndarray, more_keys: np.ndarray, more_vals: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Merge two sorted arrays of distinct keys with their values, summing those in both.

    The stable sort (timsort) of two sorted runs is one linear merge, not a full sort.
    """
    both = np.concatenate([keys, more_keys])
    order = np.argsort(both, kind="stable")
    both = both[order]
    first = np.empty(both.size, dtype=bool)  # first occurrence of each key in the merged run
    first[:1] = True
    np.not_equal(both[1:], both[:-1], out=first[1:])
    group = np.cumsum(first) - 1  # (n,) index of each entry's distinct key
    sums = np.bincount(group, np.concatenate([vals, more_vals])[order], int(first.sum()))
    return both[first], sums


# ---------------------------------------------------------------------------------------------
# 5. PPMI with context-distribution smoothing and shift
# ---------------------------------------------------------------------------------------------
def ppmi(X: CooMatrix, alpha: float = 0.75, shift: float = 1.0) -> CooMatrix:
    """Shifted PPMI with context-distribution smoothing (equations in the module docstring).

    `shift` is k (1 = no shift). Only the non-zero counts need computing: a zero count has
    PMI = -inf, clipped to 0. Entries that end up 0 are dropped, so the result stays sparse.
    """
    if not alpha > 0:
        raise MinilmError(f"alpha (context smoothing) must be > 0, got {alpha}")
    if not shift >= 1:
        raise MinilmError(f"shift k must be >= 1 (1 = no shift), got {shift}")
    vals = X.vals.astype(np.float64)
    total = vals.sum()
    if total <= 0:
        raise MinilmError("the co-occurrence matrix is empty; the corpus has no word pairs")
    row_sum = np.bincount(X.rows, weights=vals, minlength=X.shape[0])  # X_i.
    col_sum = np.bincount(X.cols, weights=vals, minlength=X.shape[1])  # X_.j
    context = col_sum**alpha
    p_context = context / context.sum()  # P_a(j)
    # log(P(i,j) / (P(i) P_a(j))) = log X_ij - log X_i. - log P_a(j)   (the sum(X) cancels once)
    pmi = np.log(vals) - np.log(row_sum[X.rows]) - np.log(p_context[X.cols])
    sppmi = pmi - np.log(shift)
    keep = sppmi > 0
    return CooMatrix(X.rows[keep], X.cols[keep], sppmi[keep].astype(X.vals.dtype), X.shape)


# ---------------------------------------------------------------------------------------------
# 6. Truncated Truncated SVD: dense, via the Gram matrix, or randomized (Halko et al. 2011)
# ---------------------------------------------------------------------------------------------
def _fix_signs(U: np.ndarray, Vt: np.ndarray | None = None) -> np.ndarray:
    """Flip each singular pair so the largest-|.| entry of U's column is positive.

    SVD is unique only up to the sign of each pair; fixing it makes runs reproducible and lets
    dense and randomized results be compared. Flips Vt's rows in place to match.
    """
    pivot = U[np.argmax(np.abs(U), axis=0), np.arange(U.shape[1])]
    signs = np.where(pivot < 0, -1.0, 1.0).astype(U.dtype)
    if Vt is not None:
        Vt *= signs[:, None]
    return U * signs


SVD_METHODS = ("auto", "dense", "gram", "randomized")


def svd_route(m: int, n: int) -> str:
    """The method "auto" uses for an (m, n) matrix (see `truncated_svd`)."""
    if m * n <= DENSE_SVD_MAX_CELLS:
        return "dense"
    short, long = min(m, n), max(m, n)
    if short <= GRAM_SVD_MAX_SIDE and long >= GRAM_MIN_ASPECT * short:
        return "gram"
    return "randomized"


def truncated_svd(
    A: np.ndarray | CooMatrix,
    k: int,
    rng: np.random.Generator,
    method: str = "auto",
    oversample: int = 10,
    power_iters: int = 4,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """A (m, n) ~ U (m, k) diag(s) (k,) Vt (k, n), the top k singular triples, float64 inside.

    method "auto" picks, in this order:
    - "dense" when m * n <= DENSE_SVD_MAX_CELLS: exact np.linalg.svd of the dense matrix.
    - "gram" when the short side min(m, n) <= GRAM_SVD_MAX_SIDE and the long side is at least
      GRAM_MIN_ASPECT times longer (a wide term-document matrix: a thousand words, tens of
      thousands of documents): A A^T = U S^2 U^T is only m x m, so
      its eigendecomposition gives U and S exactly, and Vt = S^-1 U^T A. Squaring doubles the
      condition number, which costs accuracy only in singular values below ~1e-8 s_max,
      far beyond the top k.
    - "randomized" otherwise (Halko, Martinsson & Tropp 2011, Alg. 4.4 + 5.1):
          Omega ~ N(0, 1) (n, r),  r = k + oversample
          Q = orth(A Omega);  power_iters times: Q = orth(A orth(A^T Q))
          B = Q^T A  (r, n);  B = U_B s Vt;  U = Q U_B
      Power iterations sharpen the spectrum (error ~ (s_{k+1}/s_k)^(2q+1)), so a slowly
      decaying spectrum such as PPMI's is still captured. Only products A @ X and A^T @ X are
      needed, which a CooMatrix does sparsely. Seeded by `rng`.
    Signs are fixed (see `_fix_signs`), so every method returns the same vectors.
    """
    m, n = A.shape
    if not 1 <= k <= min(m, n):
        raise MinilmError(f"SVD rank k must be in [1, {min(m, n)}] for a {m} x {n} matrix, got {k}")
    if method not in SVD_METHODS:
        raise MinilmError(f"SVD method must be one of {SVD_METHODS}, got {method!r}")
    dtype = A.vals.dtype if isinstance(A, CooMatrix) else A.dtype
    if isinstance(A, CooMatrix):
        A = CooMatrix(A.rows, A.cols, A.vals.astype(np.float64), A.shape)
    else:
        A = np.asarray(A, dtype=np.float64)
    if method == "auto":
        method = svd_route(m, n)
    if method == "dense":
        dense = A.to_dense() if isinstance(A, CooMatrix) else A
        U, s, Vt = np.linalg.svd(dense, full_matrices=False)
    elif method == "gram":
        U, s, Vt = _svd_gram(A, k)
    else:
        U, s, Vt = _svd_randomized(A, k, rng, oversample, power_iters)
    # Vt (k, n) can be the biggest array here (n = tens of thousands of documents): no copy
    U, s, Vt = U[:, :k], s[:k], Vt[:k]
    U = _fix_signs(U, Vt)
    return U.astype(dtype), s.astype(dtype), Vt.astype(dtype, copy=False)


def _products(A: np.ndarray | CooMatrix):
    """(X -> A @ X, Y -> A^T @ Y) for a dense or sparse A."""
    if isinstance(A, CooMatrix):
        return A.matmul, A.transpose().matmul  # transpose (a sort) once, reused
    return A.__matmul__, A.T.__matmul__


def _svd_gram(A: np.ndarray | CooMatrix, k: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Exact top-k SVD from the eigendecomposition of the Gram matrix of the short side."""
    m, n = A.shape
    if m > n:  # tall: decompose A^T = V S U^T instead, and swap the factors back
        At = A.transpose() if isinstance(A, CooMatrix) else A.T
        V, s, Ut = _svd_gram(At, k)
        return Ut.T, s, V.T
    G = A.gram() if isinstance(A, CooMatrix) else A @ A.T  # (m, m)
    eigval, eigvec = np.linalg.eigh(G)  # ascending
    s = np.sqrt(np.maximum(eigval[::-1][:k], 0.0))  # (k,) descending
    U = eigvec[:, ::-1][:, :k]  # (m, k)
    _, rmatmul = _products(A)
    V = rmatmul(U)  # (n, k)
    V /= np.where(s > 0, s, 1.0)  # V = A^T U S^-1, in place: V can be large
    Vt = V.T  # (k, n)
    return U, s, Vt


def _svd_randomized(
    A: np.ndarray | CooMatrix, k: int, rng: np.random.Generator, oversample: int, power_iters: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Halko et al. (2011): randomized range finder with power iterations, then a small SVD."""
    m, n = A.shape
    matmul, rmatmul = _products(A)
    r = min(k + oversample, m, n)
    Q, _ = np.linalg.qr(matmul(rng.standard_normal((n, r))))  # (m, r)
    for _ in range(power_iters):  # re-orthonormalise each half step: keeps small directions
        W, _ = np.linalg.qr(rmatmul(Q))  # (n, r)
        Q, _ = np.linalg.qr(matmul(W))  # (m, r)
    B = rmatmul(Q).T  # (r, n) = Q^T A
    U_B, s, Vt = np.linalg.svd(B, full_matrices=False)
    return Q @ U_B, s, Vt


def svd_vectors(
    M: np.ndarray | CooMatrix, dim: int, rng: np.random.Generator, eig_p: float = 0.5
) -> np.ndarray:
    """Word vectors U_k S_k^p (V, k) of a (V, C) matrix such as PPMI (Levy et al. 2015)."""
    U, s, _ = truncated_svd(M, dim, rng)
    return U * s**eig_p
