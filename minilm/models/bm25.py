"""BM25 (Robertson et al., Okapi at TREC-3, 1994), the sparse ranking beside tf-idf.

tf-idf (minilm/models/count.py) weights a term by its count times its rarity. BM25 keeps the
rarity and makes the count saturate and the document length count:

    score(q, d) = sum_{t in q} idf(t) * tf(t, d) (k1 + 1) / (tf(t, d) + k1 (1 - b + b |d| / avgdl))
    idf(t)      = ln(1 + (N - n_t + 0.5) / (n_t + 0.5))      (Lucene's form: never negative)

symbols: N documents; n_t documents holding t; tf(t, d) count of t in d; |d| tokens of d; avgdl
mean |d|; k1 (1.2-2.0) how fast repeated terms saturate; b (0.75) how much length normalises.

The index is a posting list per term (CSR arrays, no matrix of size V x N): a query touches only
the documents holding its terms. Ids are any non-negative ints (a vocabulary's, -1 = unknown,
skipped). `rrf` fuses rankings by reciprocal rank (Cormack et al. 2009):
    rrf(d) = sum over rankings r of 1 / (k + rank_r(d)),   k = 60,  rank from 1.
See docs/13-search-mteb.md.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from minilm.errors import MinilmError

RRF_K = 60  # Cormack et al.'s constant: a document's 1st and 10th rank differ by ~13%, not 10x


@dataclass
class BM25:
    """Posting lists: term t's documents are docs[starts[t]:starts[t+1]] with counts tf[...]."""

    starts: np.ndarray  # (V + 1,) int64
    docs: np.ndarray  # (nnz,) int64 document of each posting
    tf: np.ndarray  # (nnz,) float64 count of the term in that document
    idf: np.ndarray  # (V,) float64
    doc_len: np.ndarray  # (N,) float64
    k1: float = 1.5
    b: float = 0.75

    @property
    def n_docs(self) -> int:
        return int(self.doc_len.size)


def build_bm25(
    documents: Sequence[np.ndarray], vocab_size: int, k1: float = 1.5, b: float = 0.75
) -> BM25:
    """Index documents given as arrays of term ids (< vocab_size; negative ids skipped)."""
    if not (k1 >= 0 and 0 <= b <= 1):
        raise MinilmError(f"BM25 needs k1 >= 0 and 0 <= b <= 1, got k1={k1}, b={b}")
    N = len(documents)
    lengths = np.array([len(d) for d in documents], dtype=np.int64)
    terms = np.concatenate([np.asarray(d, dtype=np.int64) for d in documents] + [np.zeros(0, int)])
    owner = np.repeat(np.arange(N), lengths)
    keep = terms >= 0
    if np.any(terms[keep] >= vocab_size):
        raise MinilmError(f"BM25: a term id is >= the vocabulary size {vocab_size}")
    # one posting per (term, document): sort by term then document, count the runs
    key = terms[keep] * N + owner[keep]
    uniq, tf = np.unique(key, return_counts=True)
    term, doc = uniq // max(N, 1), uniq % max(N, 1)
    starts = np.concatenate([[0], np.cumsum(np.bincount(term, minlength=vocab_size))])
    n_t = np.diff(starts).astype(np.float64)
    idf = np.log1p((N - n_t + 0.5) / (n_t + 0.5))
    doc_len = np.bincount(owner[keep], minlength=N).astype(np.float64)
    return BM25(starts, doc, tf.astype(np.float64), idf, doc_len, k1, b)


def bm25_scores(index: BM25, query: np.ndarray) -> np.ndarray:
    """(N,) BM25 score of every document for one query (term ids; a repeated term counts once
    per occurrence, as in the sum over query terms)."""
    scores = np.zeros(index.n_docs)
    avgdl = max(index.doc_len.mean(), 1e-12) if index.n_docs else 1.0
    norm = index.k1 * (1 - index.b + index.b * index.doc_len / avgdl)  # (N,)
    for t in np.asarray(query, dtype=np.int64):
        if t < 0 or t >= index.idf.size:
            continue
        lo, hi = index.starts[t], index.starts[t + 1]
        d, f = index.docs[lo:hi], index.tf[lo:hi]
        scores[d] += index.idf[t] * f * (index.k1 + 1) / (f + norm[d])
    return scores


def rrf(rankings: Sequence[np.ndarray], n_docs: int, k: int = RRF_K) -> np.ndarray:
    """(n_docs,) fused score: sum of 1 / (k + rank) over the rankings that hold a document.

    Each ranking is an array of document ids, best first (it may be a top-n, not all)."""
    fused = np.zeros(n_docs)
    for ranking in rankings:
        ranking = np.asarray(ranking, dtype=np.int64)
        fused[ranking] += 1.0 / (k + np.arange(1, ranking.size + 1))
    return fused
