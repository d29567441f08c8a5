"""Smaller sentence vectors: int8 (4x smaller) and binary (32x), and search with them.

    int8_scale      per-dimension scale calibrated on the corpus: s_d = max_n |x_nd| / 127
    int8_encode     q = round(x / s) in [-127, 127], int8;   int8_decode: x' = q s
    binary_encode   the sign of each dimension, 8 to a byte (np.packbits): D/8 bytes a vector
    hamming_top_k   nearest codes by Hamming distance (popcount of XOR), blockwise
    binary_search   Hamming top candidates, then rescored by the float query against the float
                    vectors of those candidates only: binary recall at the cost of a few dot
                    products (what vector databases call rescoring)
    overlap_at_k    recall@k against exact float32 search: |top-k found & exact top-k| / k

A float32 vector of D dims is 4D bytes; int8 is D bytes; binary D/8. For unit vectors,
cosine(sign x, sign y) = 1 - 2 hamming / D, so Hamming order is the cosine order of the sign
vectors. See docs/13-search-mteb.md.
"""

from __future__ import annotations

import numpy as np

from minilm.errors import MinilmError
from minilm.search import BLOCK_ELEMENTS, top_k


def int8_scale(X: np.ndarray) -> np.ndarray:
    """(D,) float32: the largest |value| of each dimension over the corpus, over 127."""
    m = np.max(np.abs(np.asarray(X, dtype=np.float32)), axis=0)
    return np.where(m > 0, m / 127.0, 1.0).astype(np.float32)


def int8_encode(X: np.ndarray, scale: np.ndarray) -> np.ndarray:
    """(N, D) int8 codes; values beyond the calibrated range are clipped to +-127."""
    return np.clip(np.rint(np.asarray(X, dtype=np.float32) / scale), -127, 127).astype(np.int8)


def int8_decode(codes: np.ndarray, scale: np.ndarray) -> np.ndarray:
    return codes.astype(np.float32) * scale


def binary_encode(X: np.ndarray) -> np.ndarray:
    """(N, ceil(D/8)) uint8: bit d is 1 where x_d > 0."""
    return np.packbits(np.asarray(X) > 0, axis=1)


def binary_decode(codes: np.ndarray, dim: int) -> np.ndarray:
    """(N, dim) float32 of +-1: the sign vectors the codes stand for."""
    return np.unpackbits(codes, axis=1, count=dim).astype(np.float32) * 2 - 1


def hamming_top_k(codes: np.ndarray, query_codes: np.ndarray, k: int) -> np.ndarray:
    """(Q, k) ids of the codes nearest each query code by Hamming distance (ties: lower id)."""
    N, B = codes.shape
    if query_codes.shape[1] != B:
        raise MinilmError(f"binary codes of {query_codes.shape[1]} and {B} bytes do not compare")
    k = min(k, N)
    Q = query_codes.shape[0]
    out = np.zeros((Q, k), dtype=np.int64)
    step = max(1, BLOCK_ELEMENTS // max(N * B, 1))
    for start in range(0, Q, step):
        x = np.bitwise_xor(query_codes[start : start + step, None, :], codes[None])  # (q, N, B)
        dist = np.bitwise_count(x).sum(axis=2, dtype=np.int32)  # (q, N)
        out[start : start + step] = top_k_smallest(dist, k)
    return out


def top_k_smallest(dist: np.ndarray, k: int) -> np.ndarray:
    part = np.sort(np.argpartition(dist, k - 1, axis=1)[:, :k], axis=1)
    order = np.argsort(np.take_along_axis(dist, part, axis=1), axis=1, kind="stable")
    return np.take_along_axis(part, order, axis=1)


def binary_search(
    codes: np.ndarray, vectors: np.ndarray, queries: np.ndarray, k: int, candidates: int
) -> np.ndarray:
    """(Q, k) ids: `candidates` nearest by Hamming, reordered by the float dot product.

    vectors (N, D) are the float rows (on disk in practice: only the candidates are read).
    """
    cand = hamming_top_k(codes, binary_encode(queries), max(candidates, k))  # (Q, C)
    scores = np.einsum("qd,qcd->qc", queries, vectors[cand])  # (Q, C)
    order = np.argsort(-scores, axis=1, kind="stable")[:, :k]
    return np.take_along_axis(cand, order, axis=1)


def overlap_at_k(found: np.ndarray, exact: np.ndarray, k: int = 10) -> float:
    """Mean over queries of |found[:k] & exact[:k]| / k."""
    hits = [
        len(set(f[:k].tolist()) & set(e[:k].tolist())) for f, e in zip(found, exact, strict=True)
    ]
    return float(np.mean(hits)) / min(k, exact.shape[1])


def quantised_recall(
    index: np.ndarray, queries: np.ndarray, k: int = 10, rescore: int = 50
) -> dict[str, float]:
    """recall@k of int8, binary and binary + rescoring against exact float32 top-k (unit rows).

    The int8 scale is calibrated on `index` (the corpus), queries stay float (asymmetric).
    """
    exact = top_k(index, queries, k)[0]
    scale = int8_scale(index)
    int8_ids = top_k(int8_decode(int8_encode(index, scale), scale), queries, k)[0]
    codes = binary_encode(index)
    binary_ids = hamming_top_k(codes, binary_encode(queries), k)
    rescored = binary_search(codes, index, queries, k, rescore)
    return {
        "int8_recall": overlap_at_k(int8_ids, exact, k),
        "binary_recall": overlap_at_k(binary_ids, exact, k),
        "binary_rescored_recall": overlap_at_k(rescored, exact, k),
        "float32_bytes": int(index.shape[1] * 4),
        "int8_bytes": int(index.shape[1]),
        "binary_bytes": int(codes.shape[1]),
    }
