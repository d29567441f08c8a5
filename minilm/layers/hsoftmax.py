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
step (-alpha times it). word2vec.c (and gensim) also skip a decision whose |s| >= 6, the edge of
its sigmoid table (MAX_EXP): it neither counts nor trains - a confidently wrong decision is not
corrected, unlike negative sampling's, which word2vec.c clips to σ = 0 or 1. `max_score=6`
does the same (minilm/models/skipgram.py passes it); σ itself is exact, not read from a table.

Normaliser: the loss is the SUM over the batch of -log p(target_n | h_n) (not the mean), like
minilm/models/skipgram.py's negative-sampling loss, so an SGD step with lr = alpha moves the
parameters as word2vec.c's per-pair steps would. Divide by N to read it per example; with
W_node = 0 (word2vec.c's init) every decision is σ(0) = 1/2 and a word costs lengths[w] ln 2.

Shapes: N examples, D dimension, V words (V - 1 inner nodes), L the longest path in the batch,
M = Σ_n lengths[n] the path entries (the scores and gradients run over these only, through
minilm/layers/primitives.py's row_dots, whose fast form takes the nodes shared by many
entries - the root first - as one matrix product).
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
from minilm.layers.primitives import row_dots, row_dots_backward


def _check(h, W_node, points, codes, lengths, row) -> None:
    if h.ndim != 2 or W_node.ndim != 2 or h.shape[1] != W_node.shape[1]:
        raise MinilmError(
            f"hsoftmax: h {h.shape} and W_node {W_node.shape} must be (N, D) and (V - 1, D)"
        )
    N = h.shape[0] if row is None else row.size
    if row is not None and row.size and (row.min() < 0 or row.max() >= h.shape[0]):
        raise MinilmError(f"hsoftmax: row must index the {h.shape[0]} rows of h")
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


def _entries(h, W_node, points, codes, lengths, max_score=None, row=None):
    """The forward up to the scores, over the real path entries only (padding is never read):
    (s (M,), label (M,), n (M,) the row of h of each entry, node (M,) its inner node).

    The M entries are the (example n, step j < lengths[n]) pairs, example by example.
    max_score: word2vec.c's MAX_EXP; an entry with |s| >= max_score is dropped (see above).
    row (N,) or None: example n's hidden vector is h[row[n]] (skip-gram: a row per distinct
    context word) or h[n].
    """
    points, codes, lengths = np.asarray(points), np.asarray(codes), np.asarray(lengths)
    _check(h, W_node, points, codes, lengths, row)
    L = int(lengths.max()) if lengths.size else 0
    n, j = np.nonzero(np.arange(L) < lengths[:, None])  # (M,) the real entries of (N, L)
    node, code = points[n, j], codes[n, j]  # (M,) the inner node and bit of each entry
    n = n if row is None else row[n]  # (M,) the row of h of each entry
    s = row_dots(h, n, W_node, node)  # (M,)  s_j = h_n · W_node[point_j]
    label = (1 - code).astype(s.dtype)  # (M,) 1 where the path takes the bit-0 child
    if max_score is not None:
        keep = np.abs(s) < max_score
        s, label, n, node = s[keep], label[keep], n[keep], node[keep]
    return s, label, n, node


def hsoftmax_log_prob(
    h: np.ndarray, W_node: np.ndarray, points: np.ndarray, codes: np.ndarray, lengths: np.ndarray
) -> np.ndarray:
    """log p(target_n | h_n) for each example: (N,) float64. Shapes as in the module docstring.

    log σ(±s) = -softplus(∓s) = -logaddexp(0, ∓s): finite for any score.
    """
    s, label, _, _ = _entries(h, W_node, points, codes, lengths)
    signed = (2 * label - 1) * s  # (M,)  (1 - 2 code_j) s_j
    example = np.repeat(np.arange(h.shape[0]), np.asarray(lengths))  # (M,)
    return -np.bincount(example, weights=np.logaddexp(0, -signed), minlength=h.shape[0])


def hsoftmax_forward(
    h: np.ndarray,
    W_node: np.ndarray,
    points: np.ndarray,
    codes: np.ndarray,
    lengths: np.ndarray,
    max_score: float | None = None,
    row: np.ndarray | None = None,
) -> tuple[float, tuple]:
    """Summed hierarchical-softmax loss L = Σ_n -log p(target_n | h_n) -> (L, cache).

    Shapes as in the module docstring. The loss is a Python float summed in float64.
    row (N,) int or None: h holds R rows and example n's hidden vector is h[row[n]]
    (skip-gram passes each distinct context word's vector once); dh is then (R, D).
    max_score=6 is word2vec.c's update: decisions with |s| >= 6 count nothing and do not train
    (then L is the sum over the decisions that do); None (the default) counts them all.
    """
    s, label, n, node = _entries(h, W_node, points, codes, lengths, max_score, row)
    signed = (2 * label - 1) * s  # (M,)
    loss = float(np.logaddexp(0, -signed).sum(dtype=np.float64))
    # dL/ds = σ(s) - label (word2vec.c: g = -alpha dL/ds)
    ds = sigmoid(s) - label  # (M,)
    return loss, (h, W_node, n, node, ds)


def hsoftmax_backward(
    cache: tuple, dloss: float = 1.0, summed: bool = True
) -> tuple[np.ndarray, tuple[np.ndarray, np.ndarray]]:
    """-> (dh (N, D), (node_ids (R,), dW_node_rows (R, D))), scaled by dloss = dOut/dL.

    The node gradient is sparse, as minilm/optim.py accepts it. summed=True: the R distinct
    nodes the batch touched (sorted) and their summed rows - every path starts at the root,
    and paths of different words share their upper nodes, so ids repeat heavily and are summed
    (sum_rows, duplicate-safe), never assigned. summed=False: rows whose ids may repeat, their
    sum the gradient (for optim.ScatterSGD(repeated_rows=True), which adds each; cheaper).
    """
    h, W_node, n, node, ds = cache
    ds = ds * ds.dtype.type(dloss)  # (M,) a new array (the cache is kept), in ds's dtype
    # s_m = h_(n_m) · W_node[node_m]  ->  dh_n = Σ_m ds_m W_node[node_m],  dW_node = ds_m h_(n_m)
    dh, (node_ids, dW_rows) = row_dots_backward(ds, h, n, W_node, node)
    if summed:
        node_ids, dW_rows = sum_rows(node_ids, dW_rows)  # (R,), (R, D)
    return dh, (node_ids, dW_rows)
