"""Class-factored softmax output: a language model's output layer at the cost of ~2 sqrt(V).

Mikolov, Kombrink, Burget, Cernocky & Khudanpur (2011), "Extensions of recurrent neural
network language model", ICASSP, section 3. Every word w belongs to exactly one class c(w), and

    P(w | h) = P(c(w) | h) * P(w | c(w), h)
    P(c | h)    = softmax_c(h W_c + b_c)                     over the C classes
    P(w | c, h) = softmax_{w in c}(h W_w[:, w] + b_w[w])     over the words of class c only

Both factors are exact softmaxes, so P(. | h) is an exact normalised distribution over all V
words (sum_w P(w | h) = sum_c P(c | h) sum_{w in c} P(w | c, h) = 1): its perplexity is exact,
no sampling involved. Training a target costs C + |c(w)| scores instead of V; with C ~ sqrt(V)
classes of equal unigram mass ("frequency binning"), the expected class size is V / C and a step
costs ~2 sqrt(V) scores per target (V = 30000: ~350 instead of 30000).

Classes are *contiguous id ranges*: class c holds word ids bounds[c] .. bounds[c+1]-1. minilm
vocabularies are sorted by frequency (minilm/data/vocab.py), so binning the ids in order is
Mikolov's frequency binning, and the words of a class are a slice of W_w and b_w - a view, no
gather, and their gradients are slices too, no scatter.

    symbol  shape    meaning
    h       (M, H)   hidden vectors, one per target (M = N or N*T positions)
    W_c     (H, C)   class output weights          b_c  (C,)   class biases
    W_w     (H, V)   word output weights           b_w  (V,)   word biases
    bounds  (C+1,)   class c = ids [bounds[c], bounds[c+1]), bounds[0] = 0, bounds[C] = V

The loss is the mean over the counted targets (mask True) of -ln P(target | h), as in
minilm/layers/losses.py. The word factor is computed class by class: the targets are sorted by
class and each class present in the batch is one (g, H) @ (H, |c|) product. That loop runs over
classes (at most C ~ sqrt(V)), never over tokens; padding the classes to a common width instead
would waste most of the work, because frequency binning makes the rare words' classes wide.
"""

from __future__ import annotations

import numpy as np

from minilm.errors import MinilmError
from minilm.layers.losses import log_softmax

FULL_SOFTMAX_UP_TO = 5000  # output "auto": the full softmax up to this many words, then classes


def frequency_classes(counts: np.ndarray, n_classes: int) -> np.ndarray:
    """Class bounds (C+1,) for word counts (V,): contiguous id ranges of ~equal unigram mass.

    Word i goes to class floor(C * (mass of the words before i)), as in Mikolov's RNNLM. A word
    heavier than 1/C of the mass takes a bin of its own and the bins it covers stay empty;
    empty bins are dropped, so the result can have fewer than `n_classes` classes, none empty.
    """
    counts = np.asarray(counts, dtype=np.float64)
    V = counts.size
    if V < 1 or n_classes < 1:
        raise MinilmError(f"frequency_classes needs >= 1 word and class, got {V} and {n_classes}")
    if np.any(counts < 0):
        raise MinilmError("frequency_classes: counts must be >= 0")
    total = counts.sum()
    before = np.cumsum(counts) - counts  # (V,) mass of the words with smaller ids
    share = before / total if total > 0 else np.arange(V) / V
    bins = np.minimum((share * n_classes).astype(np.int64), n_classes - 1)  # (V,) non-decreasing
    starts = np.flatnonzero(np.diff(bins, prepend=-1))  # first id of every non-empty bin
    return np.append(starts, V).astype(np.int64)


def output_bounds(output: str, counts: np.ndarray, n_classes: int = 0) -> tuple[int, ...]:
    """A language model's output layer from its training-target counts (V,): () for the full
    softmax ("full", or "auto" with V <= FULL_SOFTMAX_UP_TO), else the class bounds of
    `n_classes` frequency classes (0 = round(sqrt(V)), Mikolov's choice)."""
    V = counts.size
    if output == "full" or (output == "auto" and V <= FULL_SOFTMAX_UP_TO):
        return ()
    return tuple(frequency_classes(counts, n_classes or round(np.sqrt(V))).tolist())


def check_bounds(bounds: np.ndarray, V: int) -> np.ndarray:
    """bounds as int64 after checking they cut 0..V into non-empty ranges."""
    bounds = np.asarray(bounds, dtype=np.int64)
    if bounds.ndim != 1 or bounds.size < 2 or bounds[0] != 0 or bounds[-1] != V:
        raise MinilmError(f"class bounds must run from 0 to V = {V}, got {bounds[:3]}...")
    if np.any(np.diff(bounds) < 1):
        raise MinilmError("class bounds must be strictly increasing (no empty class)")
    return bounds


def word_classes(bounds: np.ndarray, ids: np.ndarray) -> np.ndarray:
    """The class of each word id: the c with bounds[c] <= id < bounds[c+1]."""
    return np.searchsorted(bounds, ids, side="right") - 1


def _groups(cls: np.ndarray):
    """Yield (class, rows) for every class present in `cls` (M,), rows in ascending order."""
    order = np.argsort(cls, kind="stable")  # (M,)
    present, starts = np.unique(cls[order], return_index=True)
    ends = np.append(starts[1:], order.size)[: starts.size]  # no targets: no groups
    for c, a, b in zip(present.tolist(), starts.tolist(), ends.tolist(), strict=True):
        yield c, order[a:b]


def class_softmax_forward(
    h: np.ndarray,
    W_c: np.ndarray,
    b_c: np.ndarray,
    W_w: np.ndarray,
    b_w: np.ndarray,
    targets: np.ndarray,
    bounds: np.ndarray,
    mask: np.ndarray | None = None,
) -> tuple[float, tuple]:
    """Mean -ln P(target | h) over the counted targets, and the cache for the backward.

    h (M, H), targets int (M,), mask bool (M,) True = counted (None: all). Uncounted targets
    may hold any value (e.g. a padding id). No target counted: loss 0, zero gradients.
    """
    M, H = h.shape
    V = W_w.shape[1]
    bounds = check_bounds(bounds, V)
    targets = np.asarray(targets)
    if targets.shape != (M,) or not np.issubdtype(targets.dtype, np.integer):
        raise MinilmError(f"class softmax: got targets {targets.shape}, need int ({M},)")
    counted = np.ones(M, dtype=bool) if mask is None else np.asarray(mask, dtype=bool)
    rows = np.flatnonzero(counted)  # (n,) the targets that count
    n = rows.size
    y = targets[rows]
    if n and (y.min() < 0 or y.max() >= V):
        raise MinilmError(f"class softmax: targets in [{y.min()}, {y.max()}], need [0, {V})")
    hn = h[rows]  # (n, H)
    cls = word_classes(bounds, y)  # (n,)
    # (1) class factor: log P(c | h) = log softmax(h W_c + b_c)[c]
    log_pc = log_softmax(hn @ W_c + b_c)  # (n, C)
    nll = -log_pc[np.arange(n), cls].astype(np.float64)  # (n,)
    # (2) word factor, one class at a time: log P(w | c, h) over the words of class c only
    groups = []
    for c, g in _groups(cls):
        s, e = bounds[c], bounds[c + 1]
        log_pw = log_softmax(hn[g] @ W_w[:, s:e] + b_w[s:e])  # (g, |c|)
        nll[g] -= log_pw[np.arange(g.size), y[g] - s]
        groups.append((c, g, log_pw))
    loss = float(nll.sum()) / n if n else 0.0
    cache = (h, W_c, W_w, bounds, rows, y, cls, hn, log_pc, groups, nll)
    return loss, cache


def class_softmax_backward(dloss: float, cache: tuple) -> tuple[np.ndarray, ...]:
    """Gradients (dh (M, H), dW_c, db_c, dW_w, db_w) of dloss * loss; rows not counted get 0.

    Each factor is a softmax cross-entropy, so its score gradient is (p - onehot) / n:
    over the C classes for the class factor, over the words of the target's class for the word
    factor (the other words get no gradient from that target).
    """
    h, W_c, W_w, bounds, rows, y, cls, hn, log_pc, groups, _ = cache
    n = rows.size
    dh = np.zeros_like(h)
    dW_c, db_c = np.zeros_like(W_c), np.zeros(W_c.shape[1], dtype=W_c.dtype)
    dW_w, db_w = np.zeros_like(W_w), np.zeros(W_w.shape[1], dtype=W_w.dtype)
    if n == 0:
        return dh, dW_c, db_c, dW_w, db_w
    scale = dloss / n
    # backward (1): dz_c = (P(. | h) - onehot(c)) / n
    dz_c = np.exp(log_pc)  # (n, C) a fresh array: log_pc stays intact for a second backward
    dz_c[np.arange(n), cls] -= 1.0
    dz_c *= scale
    dhn = dz_c @ W_c.T  # (n, H)
    dW_c += hn.T @ dz_c
    db_c += dz_c.sum(axis=0)
    # backward (2): per class, dz_w = (P(. | c, h) - onehot(w)) / n on that class's slice
    for c, g, log_pw in groups:
        s, e = bounds[c], bounds[c + 1]
        dz_w = np.exp(log_pw)  # (g, |c|)
        dz_w[np.arange(g.size), y[g] - s] -= 1.0
        dz_w *= scale
        dhn[g] += dz_w @ W_w[:, s:e].T  # each row of g once: no duplicate indices
        dW_w[:, s:e] += hn[g].T @ dz_w  # classes are disjoint slices: no overlap either
        db_w[s:e] += dz_w.sum(axis=0)
    dh[rows] = dhn  # rows are distinct positions
    return dh, dW_c, db_c, dW_w, db_w


def class_nll(
    h: np.ndarray,
    W_c: np.ndarray,
    b_c: np.ndarray,
    W_w: np.ndarray,
    b_w: np.ndarray,
    targets: np.ndarray,
    bounds: np.ndarray,
) -> np.ndarray:
    """-ln P(target | h) of every row, float64 (M,): exact, at the training cost per target."""
    _, cache = class_softmax_forward(h, W_c, b_c, W_w, b_w, targets, bounds)
    return cache[-1]  # the per-target nll, every row counted


def class_log_probs(
    h: np.ndarray,
    W_c: np.ndarray,
    b_c: np.ndarray,
    W_w: np.ndarray,
    b_w: np.ndarray,
    bounds: np.ndarray,
) -> np.ndarray:
    """ln P(w | h) for every word (M, V): the whole factored distribution (sampling, checks).

    Costs a full (M, H) @ (H, V) product; for perplexity, `class_nll` scores the targets only.
    Within-class softmaxes are segment operations over the contiguous classes (reduceat).
    """
    V = W_w.shape[1]
    bounds = check_bounds(bounds, V)
    starts = bounds[:-1]
    log_pc = log_softmax(h @ W_c + b_c)  # (M, C)
    z = h @ W_w + b_w  # (M, V)
    z -= np.repeat(np.maximum.reduceat(z, starts, axis=1), np.diff(bounds), axis=1)  # <= 0
    log_norm = np.log(np.add.reduceat(np.exp(z), starts, axis=1))  # (M, C), each >= log 1
    z += np.repeat(log_pc - log_norm, np.diff(bounds), axis=1)
    return z
