"""Hierarchical softmax: log2 V binary decisions instead of a V-way softmax (word2vec.c `-hs 1`).

Morin & Bengio (2005), "Hierarchical probabilistic neural network language model"; Mikolov,
Sutskever, Chen, Corrado & Dean (2013), "Distributed representations of words and phrases and
their compositionality", eq. (3). The V words are the leaves of a binary tree (word2vec.c: the
Huffman tree of the word counts, minilm/data/huffman.py); each of the V - 1 inner nodes n has a
vector v'_n, a row of W_node. With n(w, 1) = root, ..., n(w, L(w)) = w the path to word w:

    p(w | h) = Π_{j=1}^{L(w)-1} σ( ⟦n(w, j+1) = ch(n(w, j))⟧ · v'_{n(w,j)}ᵀ h )

where ⟦x⟧ is 1 if x is true and -1 otherwise and ch(n) is a fixed child of n. Since
σ(x) + σ(-x) = 1, the two branches at every node share its probability mass, so Σ_w p(w|h) = 1
without summing over V. In word2vec.c's terms (path `points`, bits `codes`, root first), ch(n) is
the child with bit 0, so the sign at step j is 1 - 2 code_j; the paper's L(w) counts the nodes,
root and leaf included, so a path has lengths[w] = L(w) - 1 decisions, and

    -log p(w | h) = Σ_j softplus(-(1 - 2 code_j) s_j),      s_j = h · W_node[point_j]

which is the logistic loss of score s_j with label 1 - code_j. Its gradient is
dL/ds_j = σ(s_j) - (1 - code_j); word2vec.c's update g = (1 - code - σ(s)) · alpha is the same
step (-alpha times it). word2vec.c also skips a node whose |s| >= 6 (the edge of its sigmoid
table) and reads σ from that table; we use the exact σ and gradient.

Normaliser: the loss is the SUM over the batch of -log p(target_n | h_n) (not the mean), like
minilm/models/skipgram.py's negative-sampling loss, so an SGD step with lr = alpha moves the
parameters as word2vec.c's per-pair steps would. Divide by N to read it per example; with
W_node = 0 (word2vec.c's init) every decision is σ(0) = 1/2 and a word costs lengths[w] ln 2.

Shapes: N examples, D dimension, V words (V - 1 inner nodes), L the longest path in the batch.
    h        (N, D)      hidden vector of each example (skip-gram: an input vector; CBOW: a mean)
    W_node   (V - 1, D)  inner-node vectors (word2vec.c syn1), zeros at init
    points   (N, L) int  the inner nodes on each target's path, root first (HuffmanTree.paths)
    codes    (N, L) 0/1  the branch taken at each of them
    lengths  (N,)  int   path length; entries at j >= lengths[n] are padding and count nothing
"""

from __future__ import annotations

import numpy as np

from minilm.errors import MinilmError
from minilm.layers.core import sigmoid, sum_rows


def _check(h, W_node, points, codes, lengths) -> None:
    if h.ndim != 2 or W_node.ndim != 2 or h.shape[1] != W_node.shape[1]:
        raise MinilmError(
            f"hsoftmax: h {h.shape} and W_node {W_node.shape} must be (N, D) and (V - 1, D)"
        )
    N = h.shape[0]
    if points.ndim != 2 or points.shape[0] != N or codes.shape != points.shape:
        raise MinilmError(
            f"hsoftmax: points {points.shape} and codes {codes.shape} must both be (N, L) "
            f"with N = {N}"
        )
    if lengths.shape != (N,) or not np.issubdtype(lengths.dtype, np.integer):
        raise MinilmError(f"hsoftmax: lengths {lengths.dtype} {lengths.shape}: need int ({N},)")
    if N and (lengths.min() < 0 or lengths.max() > points.shape[1]):
        raise MinilmError(
            f"hsoftmax: lengths range over [{lengths.min()}, {lengths.max()}]; "
            f"they must lie in [0, {points.shape[1]}] (the width of points)"
        )
    if not np.issubdtype(points.dtype, np.integer):
        raise MinilmError(f"hsoftmax: points have dtype {points.dtype}; pass integer node ids")
    if points.size and (points.min() < 0 or points.max() >= W_node.shape[0]):
        raise MinilmError(
            f"hsoftmax: node ids range over [{points.min()}, {points.max()}] but W_node has "
            f"{W_node.shape[0]} rows (V - 1 for a vocabulary of V words)"
        )


def _scores(h, W_node, points, codes, lengths):
    """The forward up to the scores: (s (N, L), label (N, L), mask (N, L), U (N, L, D), points).

    Paths are cut to the batch's longest one, so padding beyond it costs nothing.
    """
    points, codes, lengths = np.asarray(points), np.asarray(codes), np.asarray(lengths)
    _check(h, W_node, points, codes, lengths)
    L = int(lengths.max()) if lengths.size else 0
    points, codes = points[:, :L], codes[:, :L]  # (N, L)
    mask = np.arange(L) < lengths[:, None]  # (N, L) True on the path, False on padding
    U = W_node[points]  # (N, L, D) the node vectors on each path (padding reads some row)
    s = np.matmul(U, h[:, :, None])[:, :, 0]  # (N, L)  s_j = h · W_node[point_j]
    label = (1 - codes).astype(s.dtype)  # (N, L) 1 where the path takes the bit-0 child
    return s, label, mask, U, points


def hsoftmax_log_prob(
    h: np.ndarray, W_node: np.ndarray, points: np.ndarray, codes: np.ndarray, lengths: np.ndarray
) -> np.ndarray:
    """log p(target_n | h_n) for each example: (N,) float64. Shapes as in the module docstring.

    log σ(±s) = -softplus(∓s) = -logaddexp(0, ∓s): finite for any score.
    """
    s, label, mask, _, _ = _scores(h, W_node, points, codes, lengths)
    signed = (2 * label - 1) * s  # (N, L)  (1 - 2 code_j) s_j
    return -(np.logaddexp(0, -signed) * mask).sum(axis=1, dtype=np.float64)


def hsoftmax_forward(
    h: np.ndarray, W_node: np.ndarray, points: np.ndarray, codes: np.ndarray, lengths: np.ndarray
) -> tuple[float, tuple]:
    """Summed hierarchical-softmax loss L = Σ_n -log p(target_n | h_n) -> (L, cache).

    Shapes as in the module docstring. The loss is a Python float summed in float64.
    """
    s, label, mask, U, points = _scores(h, W_node, points, codes, lengths)
    signed = (2 * label - 1) * s  # (N, L)
    loss = float((np.logaddexp(0, -signed) * mask).sum(dtype=np.float64))
    # dL/ds = σ(s) - label on the path, 0 on padding (word2vec.c: g = -alpha dL/ds)
    ds = (sigmoid(s) - label) * mask  # (N, L)
    return loss, (h, U, points, ds, mask)


def hsoftmax_backward(
    cache: tuple, dloss: float = 1.0
) -> tuple[np.ndarray, tuple[np.ndarray, np.ndarray]]:
    """-> (dh (N, D), (node_ids (R,), dW_node_rows (R, D))), scaled by dloss = dOut/dL.

    The node gradient is sparse, as minilm/optim.py accepts it: the R distinct nodes the batch
    touched (sorted) and their summed rows. Every path starts at the root, and paths of
    different words share their upper nodes, so ids repeat heavily and are summed (sum_rows,
    duplicate-safe), never assigned. Padding slots are left out, so they touch no row.
    """
    h, U, points, ds, mask = cache
    ds = ds * ds.dtype.type(dloss)  # (N, L) a new array (the cache is kept), in ds's dtype
    # s_j = h · U_j  ->  dh = Σ_j ds_j U_j (ds is 0 on padding),  dU_j = ds_j h
    dh = np.matmul(ds[:, None, :], U)[:, 0, :]  # (N, D)
    n, j = np.nonzero(mask)  # (M,) the M real path entries: example n, step j
    dU = ds[n, j, None] * h[n]  # (M, D) only for those (about half of N * L: paths vary)
    node_ids, dW_rows = sum_rows(points[n, j], dU)  # (R,), (R, D)
    return dh, (node_ids, dW_rows)
