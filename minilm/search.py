"""Semantic search over sentence vectors: pooling, the index on disk, exact top-k by cosine.

"Encode your corpus once, find similar items with a dot product" (Sentence-BERT, Reimers &
Gurevych 2019). Every model of the lab can give a sentence a vector (`minilm/encoders.py` turns
a run folder into one); this module holds what comes after, on arrays only:

    mean_pool        the mean of a sentence's word vectors (words without a vector skipped)
    sif_weights      Arora, Liang & Ma 2017, "A simple but tough-to-beat baseline for sentence
                     embeddings": weight each word a / (a + p(w)), p its unigram probability,
    common_component and remove from every sentence its projection on the first principal
                     component of the weighted means (the direction every sentence shares)
    unit_rows        rows scaled to length 1 (zero rows stay zero), float32
    top_k            exact search: cosine = dot product of unit rows, blockwise over queries
    SentenceIndex    the unit vectors (index.npy), the sentences (sentences.txt) and how they
                     were encoded (index.json), written atomically and read back without pickle

Exact search costs one (Q, N) matrix product and an `argpartition` per query block: N = 100k
sentences of D = 128 float32 are 51 MB, and a query takes a few milliseconds (the figure,
measured, is in docs/13-search-mteb.md). See docs/13-search-mteb.md.
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from minilm.errors import MinilmError
from minilm.io import (
    atomic_open,
    check_complete,
    ensure_dir,
    outputs_cleared,
    write_json,
    write_text,
)

SIF_A = 1e-3  # Arora et al.'s a: words with p(w) >> a are weighted down (their range 1e-4..1e-3)
INDEX_FILES = ("index.npy", "sentences.txt", "index.json")  # what SentenceIndex.save writes
BLOCK_ELEMENTS = 1 << 24  # scores computed per query block: at most ~16M floats (64 MB)


def mean_pool(
    sentences: Sequence[np.ndarray], table: np.ndarray, weights: np.ndarray | None = None
) -> np.ndarray:
    """(N, D) float32: row n is sum_w weight(w) table[w] / (number of words), over sentence n's
    ids (-1 = a word without a vector, skipped). A sentence with no known word is a zero row.

    table (V, D); weights (V,) or None (all 1: the plain mean).
    """
    V, D = table.shape
    N = len(sentences)
    lengths = np.array([len(s) for s in sentences], dtype=np.int64)
    ids = np.concatenate([np.asarray(s, dtype=np.int64) for s in sentences] + [np.zeros(0, int)])
    owner = np.repeat(np.arange(N), lengths)  # (n_words,) sentence of each word
    keep = ids >= 0
    ids, owner = ids[keep], owner[keep]
    w = np.ones(ids.size) if weights is None else weights[ids]
    out = np.zeros((N, D), dtype=np.float64)
    np.add.at(out, owner, table[ids] * w[:, None])  # a word twice in a sentence counts twice
    n_known = np.bincount(owner, minlength=N)
    return (out / np.maximum(n_known, 1)[:, None]).astype(np.float32)


def sif_weights(counts: np.ndarray, a: float = SIF_A) -> np.ndarray:
    """a / (a + p(w)) with p(w) = counts / counts.sum(): frequent words count for little. (V,)"""
    counts = np.asarray(counts, dtype=np.float64)
    total = counts.sum()
    if not total > 0:
        raise MinilmError("SIF weights need word counts with a positive total")
    return a / (a + counts / total)


def common_component(X: np.ndarray) -> np.ndarray:
    """The first right singular vector of X (N, D), uncentred as in Arora et al.: (D,), unit,
    sign fixed so its largest entry is positive (the same X gives the same vector)."""
    if X.shape[0] == 0:
        return np.zeros(X.shape[1], dtype=np.float32)
    _, _, Vt = np.linalg.svd(np.asarray(X, dtype=np.float64), full_matrices=False)
    u = Vt[0]
    return (u * np.sign(u[np.argmax(np.abs(u))])).astype(np.float32)


def remove_component(X: np.ndarray, u: np.ndarray) -> np.ndarray:
    """X - (X u) u^T: each row without its projection on the unit direction u."""
    return (X - np.outer(X @ u, u)).astype(np.float32)


def unit_rows(X: np.ndarray) -> np.ndarray:
    """Rows scaled to unit length, float32; an all-zero row stays zero (it matches nothing)."""
    X = np.asarray(X, dtype=np.float32)
    norms = np.linalg.norm(X, axis=1, keepdims=True)
    return X / np.maximum(norms, np.float32(1e-12))


def top_k(index: np.ndarray, queries: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Exact top-k by dot product: (ids (Q, k), scores (Q, k)), best first. Equal scores inside
    the k are listed by lower id; of several tied at the k-th place, any may be the one kept.

    index (N, D) and queries (Q, D) are unit rows for cosine. k is capped at N.
    """
    N = index.shape[0]
    Q = queries.shape[0]
    k = min(k, N)
    ids = np.zeros((Q, k), dtype=np.int64)
    scores = np.zeros((Q, k), dtype=np.float32)
    step = max(1, BLOCK_ELEMENTS // max(N, 1))
    for start in range(0, Q, step):
        S = queries[start : start + step] @ index.T  # (q, N)
        ids[start : start + step], scores[start : start + step] = _best(S, k)
    return ids, scores


def _best(S: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """The k largest of each row of S, sorted (stable: among equal scores the lower id first)."""
    if k < S.shape[1]:
        part = np.argpartition(-S, k - 1, axis=1)[:, :k]  # the k best, unordered: O(N)
    else:
        part = np.broadcast_to(np.arange(S.shape[1]), S.shape)
    part = np.sort(part, axis=1)  # by id, so that the stable sort below breaks ties by id
    vals = np.take_along_axis(S, part, axis=1)
    order = np.argsort(-vals, axis=1, kind="stable")
    return np.take_along_axis(part, order, axis=1), np.take_along_axis(vals, order, axis=1)


@dataclass
class SentenceIndex:
    """Unit sentence vectors and their sentences; `meta` says how to encode a query alike."""

    vectors: np.ndarray  # (N, D) float32, unit rows
    sentences: list[str]
    meta: dict = field(default_factory=dict)  # encoder, run, sif component, ...

    def __post_init__(self) -> None:
        if self.vectors.ndim != 2 or self.vectors.shape[0] != len(self.sentences):
            raise MinilmError(
                f"index: {self.vectors.shape} vectors for {len(self.sentences)} sentences"
            )

    def search(self, queries: np.ndarray, k: int = 10) -> list[list[tuple[str, float]]]:
        """For each query vector (Q, D): its k nearest sentences and their cosines."""
        ids, scores = top_k(self.vectors, unit_rows(np.atleast_2d(queries)), k)
        return [
            [(self.sentences[i], float(s)) for i, s in zip(row, srow, strict=True)]
            for row, srow in zip(ids, scores, strict=True)
        ]

    def save(self, folder: str | os.PathLike) -> Path:
        """folder/index.npy, sentences.txt (one a line), index.json; each file atomic."""
        if any("\n" in s or "\r" in s for s in self.sentences):
            raise MinilmError("index: a sentence holds a line break; give one sentence a line")
        out = ensure_dir(folder)
        for name in INDEX_FILES:  # no earlier index's file stays beside a half-written one
            (out / name).unlink(missing_ok=True)
        outputs_cleared(out)
        with atomic_open(out / "index.npy", "wb") as f:
            np.save(f, np.ascontiguousarray(self.vectors, dtype=np.float32))
        write_text(out / "sentences.txt", "".join(s + "\n" for s in self.sentences))
        write_json(out / "index.json", self.meta | {"n": len(self.sentences)})
        return out

    @classmethod
    def load(cls, folder: str | os.PathLike) -> SentenceIndex:
        folder = Path(folder)
        check_complete(folder)
        try:
            vectors = np.load(folder / "index.npy", allow_pickle=False)
            meta = json.loads((folder / "index.json").read_text(encoding="utf-8"))
            sentences = (folder / "sentences.txt").read_text(encoding="utf-8").splitlines()
        except FileNotFoundError as err:
            raise MinilmError(f"{folder}: not an index ({err.filename} missing)") from None
        except (ValueError, OSError) as err:
            raise MinilmError(f"{folder}: unreadable index ({err})") from None
        return cls(np.asarray(vectors, dtype=np.float32), sentences, meta)
