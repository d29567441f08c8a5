"""word2vec: skip-gram and CBOW with negative sampling, and fastText's subword vectors.

Mikolov, Chen, Corrado & Dean (2013), "Efficient estimation of word representations in vector
space"; Mikolov, Sutskever, Chen, Corrado & Dean (2013), "Distributed representations of words and
phrases and their compositionality" (negative sampling, subsampling); Bojanowski, Grave, Joulin &
Mikolov (2017), "Enriching word vectors with subword information" (fastText).

Which word predicts which. For a centre word c and a word o inside its (reduced) window,
word2vec.c's skip-gram feeds the *context* word's input vector and predicts the *centre* word
through the output table: h = W_in[o], positive target c. Over a whole corpus every pair occurs in
both directions, so this is the same objective as "centre predicts context", but it is what the
reference code does and what we do. CBOW feeds the mean of the context words' input vectors and
predicts the centre word.

Skip-gram with negative sampling (SGNS), for one pair with K noise words n_1..n_K drawn from the
unigram distribution raised to 0.75:

    L = -[ log σ(u_c · h) + Σ_k log σ(-u_{n_k} · h) ]        h = v_o = W_in[o],  u_w = W_out[w]

CBOW:            h = (1/|C|) Σ_{o in C} W_in[o]               (C = the valid context slots)
fastText (sg):   h = W_in[o] + Σ_{g in G(o)} Z[g]             G(o) = hashed char n-grams of <o>

Loss scaling. word2vec.c is plain SGD that takes one step of size alpha per pair. A minibatch of N
pairs therefore returns the SUM of the per-pair losses (not their mean) and that sum's gradient: an
SGD step with lr = alpha then moves every parameter by exactly what word2vec.c's N per-pair steps
would (all evaluated at the same point instead of one after the other), so alpha = 0.025 means
what it means in word2vec.c whatever the batch size. Divide by N to read the loss per pair: at
initialisation W_out = 0, every score is 0 and each pair costs (K+1) ln 2.

Where the reference code does not follow its own gradient:
- CBOW. The gradient of the mean reaches each context word as dh / |C|; word2vec.c (and gensim
  with cbow_mean=1) adds the whole dh to every context word - |C| times the gradient, which is
  not the gradient of L (nor of any loss: the forward still uses the mean). `loss_and_grads`
  offers both: cbow_update="exact" (its default, what the gradient checks test) and
  cbow_update="word2vec" (tested against word2vec.c's loop), which the training script uses
  by default. On the world corpus at word2vec.c's alpha 0.05, analogy accuracy is 0.88 with
  word2vec.c's update (gensim 0.90) and 0.79 with the exact gradient, whose input vectors move
  ~|C| times less per step (its purity and similarity are a little higher). Think of the
  word2vec.c update as SGD with a |C| times larger step for the context vectors.
- fastText. The paper sums a word's n-gram vectors (as here); fastText's code averages them
  and then adds the undivided gradient to each row. With the sum, every row gets the true
  gradient, so the composite vector moves (1 + |G|) times as far as one row does (hence the
  training script's smaller default alpha, 0.01, for subwords; 0.025 diverges).
Buckets: fastText hashes n-grams into 2e6 rows; a laptop corpus has a few thousand distinct
n-grams, so the training script defaults to 1e5 (a few per cent of them share a bucket).

Symbols and shapes
    V vocabulary, D dimension, N pairs in a batch, K negatives per pair, C context slots (CBOW),
    B hash buckets, G n-grams per word (padded; a mask marks the real ones).
    W_in   (V, D)  input vectors   (word2vec.c syn0, uniform(-0.5/D, 0.5/D))
    W_out  (V, D)  output vectors  (word2vec.c syn1neg, zeros)
    Z      (B, D)  n-gram vectors, params["W_ngram"] (same init as W_in)

A batch (dict of arrays) holds
    "context"    (N,) skip-gram or (N, C) CBOW   ids whose input vectors form h
    "context_mask" (N, C) bool, CBOW only       True = a real context word (False = padding)
    "center"     (N,)                           the word to predict (the positive)
    "negatives"  (N, K)                         noise words (may repeat; one equal to the centre
                                                is skipped, as in word2vec.c)
    "ngrams", "ngram_mask"  context.shape + (G,) bucket ids / validity, subword models only

Gradients of both tables come back sparse, (row_ids, row_grads) with unique ids and repeated ids
summed, so the optimiser touches only the rows a batch used — as word2vec.c does.

Speed. Everything is batched: a few dozen NumPy calls per batch of ~1000 pairs. The cost is
memory traffic on (N, K+1, D) arrays and, above all, summing the N(K+1) rows of dW_out into
the words they belong to (scatter_outer, about 60% of the time). word2vec.c and gensim do the
same arithmetic pair by pair in compiled loops that stay in cache: on the world corpus this
file runs at about 0.15 (skip-gram) and 0.17 (CBOW) of gensim's CPU throughput
(benchmarks/bench_word2vec.py measures it on your machine).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from minilm.errors import MinilmError
from minilm.layers.core import sigmoid, sum_rows

FNV_OFFSET = 2166136261  # 32-bit FNV-1a constants, as in fastText's Dictionary::hash
FNV_PRIME = 16777619


@dataclass
class Config:
    vocab_size: int
    dim: int = 100  # D, word2vec.c's -size default
    cbow: bool = False  # CBOW (mean of context vectors) instead of skip-gram
    buckets: int = 0  # hash buckets for character n-grams; 0 = no subwords (plain word2vec)
    minn: int = 3  # shortest character n-gram of "<word>" (fastText -minn)
    maxn: int = 6  # longest character n-gram (fastText -maxn)
    dtype: str = "float32"  # float32 to train, float64 for gradient checks


def init_params(cfg: Config, rng: np.random.Generator) -> dict[str, np.ndarray]:
    """word2vec.c's initialisation: W_in ~ U(-0.5/D, 0.5/D), W_out = 0 (and Z like W_in).

    A zero output table makes every initial score 0 (loss (K+1) ln 2 per pair) and lets the first
    updates of W_out carry the (small, random) input vectors.
    """
    if cfg.vocab_size < 1 or cfg.dim < 1:
        raise MinilmError(f"vocab_size and dim must be >= 1, got {cfg.vocab_size}, {cfg.dim}")
    D, dtype = cfg.dim, np.dtype(cfg.dtype)
    params = {
        "W_in": ((rng.random((cfg.vocab_size, D)) - 0.5) / D).astype(dtype),
        "W_out": np.zeros((cfg.vocab_size, D), dtype=dtype),
    }
    if cfg.buckets > 0:
        params["W_ngram"] = ((rng.random((cfg.buckets, D)) - 0.5) / D).astype(dtype)
    return params


# ----------------------------------------------------------------------------- forward/backward


def _embed_forward(params: dict, batch: dict) -> tuple[np.ndarray, tuple]:
    """Subword models: e = W_in[ids] + Σ_g mask_g Z[ngrams_g]      # ids.shape + (D,)

    The n-gram sums are built once per *distinct* word of the batch (U of them)
    and then gathered, so the (U, G, D) work does not grow with repeats of frequent words.
    """
    ids = batch["context"]
    words, first, inverse = np.unique(ids, return_index=True, return_inverse=True)  # (U,)
    G = batch["ngrams"].shape[-1]
    ngrams = batch["ngrams"].reshape(-1, G)[first]  # (U, G): the n-grams of each distinct word
    gmask = batch["ngram_mask"].reshape(-1, G)[first]  # (U, G)
    # a padded slot points at some bucket and is zeroed by the mask, keeping one gather
    z = params["W_ngram"][ngrams] * gmask[..., None].astype(params["W_in"].dtype)  # (U, G, D)
    e_words = params["W_in"][words] + z.sum(axis=1)  # (U, D)
    return e_words[inverse.reshape(ids.shape)], (ids, words, inverse, (ngrams, gmask))


def _embed_backward(de: np.ndarray, cache: tuple) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Subword models: every table row that went into e receives de, summed over repeats."""
    ids, words, inverse, (ngrams, gmask) = cache
    D = de.shape[-1]
    # e = e_words[inverse]: sum de over the positions of each distinct word first
    _, de_words = sum_rows(inverse.reshape(-1), de.reshape(-1, D))  # (U, D), rows 0..U-1
    # d Z[g] += de_word for each valid n-gram g of the word: the same vector once per n-gram
    dz = np.broadcast_to(de_words[:, None, :], ngrams.shape + (D,))  # (U, G, D)
    return {"W_in": (words, de_words), "W_ngram": sum_rows(ngrams[gmask], dz[gmask])}


def scatter_outer(
    ids: np.ndarray, rows: np.ndarray, weights: np.ndarray | None, x: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Sparse gradient of a table whose row ids[j] received weights[j] * x[rows[j]], j = 1..M.

    ids, rows int (M,), weights (M,) or None (all 1), x (N, D) -> (row_ids (R,) sorted unique,
    row_grads (R, D)) with row_grads[r] = Σ_{j: ids[j] = row_ids[r]} weights[j] x[rows[j]].

    Every table gradient of word2vec has this form: dW_out[w] = Σ ds_nk h_n over the (n, k)
    with out_ids[n, k] = w, dW_in[o] = Σ dh_n over the pairs with context o. It is
    `sum_rows(ids, weights[:, None] * x[rows])`, done in the order that is fastest in NumPy
    (measured in benchmarks/bench_word2vec.py --scatter): sort the M terms by id, build them
    already sorted (one gather of x, one multiply, never the unsorted (M, D) array), and add
    each run of equal ids with one `np.add.reduceat`. Float32 stays float32 (bincount would go
    through float64). Duplicate-safe by construction: equal ids sit in one run.
    """
    order = np.argsort(ids, kind="stable")  # (M,)
    sorted_ids = ids[order]
    run_starts = np.flatnonzero(np.diff(sorted_ids, prepend=-1))  # (R,) where a new id begins
    terms = x[rows[order]]  # (M, D), grouped by id
    if weights is not None:
        terms *= weights[order, None]
    return sorted_ids[run_starts], np.add.reduceat(terms, run_starts, axis=0)


def loss_and_grads(
    params: dict[str, np.ndarray], batch: dict[str, np.ndarray], cbow_update: str = "exact"
):
    """Summed negative-sampling loss of a batch of pairs and its sparse gradients.

    Forward (N pairs, K negatives; skip-gram has context (N,), CBOW context (N, C)):
      (1) input embeddings  e = W_in[context] (+ n-gram sum)          # (N, D) or (N, C, D)
      (2) hidden vector     h = e (skip-gram)  or  mean over valid C   # (N, D)
      (3) output rows       U = W_out[[centre, negatives]]             # (N, K+1, D)
      (4) scores            s = U · h                                  # (N, K+1)
      (5) loss              L = Σ_n softplus(-s_n0) + Σ_{n,k: n_k != c_n} softplus(s_nk)
    Backward mirrors it: ds = σ(s) - y (y = 1 for the centre, 0 for noise), dU = ds h,
    dh = Σ_k ds_k U_k, de = dh (skip-gram) or dh / |C| on each valid slot (CBOW).

    cbow_update (CBOW only): "exact" returns the true gradient of L (each context word gets
    dh / |C|). "word2vec" returns word2vec.c's update instead: every context word gets the
    whole dh, as if h were the sum, though the forward uses the mean. That is |C| times the
    true W_in gradient - NOT the gradient of L - and it is what word2vec.c and gensim
    (cbow_mean=1) do; it learns markedly better vectors at word2vec.c's alpha (training
    script, --cbow-update). W_out's gradient is exact in both modes.
    """
    if cbow_update not in ("exact", "word2vec"):
        raise MinilmError(f"cbow_update must be 'exact' or 'word2vec', got {cbow_update!r}")
    W_in, W_out = params["W_in"], params["W_out"]
    center, negatives, context = batch["center"], batch["negatives"], batch["context"]
    N, K = negatives.shape
    subwords = "W_ngram" in params
    cbow = context.ndim == 2

    # (1) input embeddings
    if subwords:
        e, embed_cache = _embed_forward(params, batch)  # (N, D) or (N, C, D)
    else:
        e = W_in[context]
    # (2) hidden vector: the context word's vector, or the mean of the valid context vectors
    if cbow:
        mask = batch["context_mask"]  # (N, C)
        count = mask.sum(axis=1)  # (N,)
        if np.any(count == 0):
            raise MinilmError("a CBOW example has no valid context word; drop such examples")
        weight = mask / count[:, None].astype(e.dtype)  # (N, C): 1/|C| on real slots, 0 on pads
        h = np.einsum("ncd,nc->nd", e, weight)  # (N, D)
    else:
        h = e  # (N, D)
    # (3) output rows of the centre word (column 0) and the K noise words
    out_ids = np.concatenate([center[:, None], negatives], axis=1)  # (N, K+1)
    U = W_out[out_ids]  # (N, K+1, D)
    # (4) scores u_w · h, as N small matrix-vector products
    s = np.matmul(U, h[:, :, None])[:, :, 0]  # (N, K+1)
    # (5) logistic loss, label 1 for the centre and 0 for noise. With z = -s for the centre and
    # z = s for noise every term is softplus(z) = logaddexp(0, z) and d softplus/dz = σ(z).
    # A noise word equal to its centre is skipped, as word2vec.c and gensim do
    # (`if (target == word) continue;`): its term and gradient are zeroed.
    z = s.copy()
    z[:, 0] *= -1
    counted = np.ones((N, K + 1), dtype=s.dtype)
    counted[:, 1:] = negatives != center[:, None]  # (N, K+1)
    loss = float((np.logaddexp(0, z) * counted).sum(dtype=np.float64))
    ds = sigmoid(z) * counted  # dL/dz on counted terms, 0 on skipped ones
    ds[:, 0] *= -1  # dL/ds = -dL/dz for the centre: σ(-s) with a minus = σ(s) - 1

    # backward (4) s_k = U_k · h  ->  dU_k = ds_k h (summed per W_out row), dh = Σ_k ds_k U_k
    dh = np.matmul(ds[:, None, :], U)[:, 0, :]  # (N, D)
    # backward (3) U = W_out[out_ids]: rows repeat (centre also drawn as noise, frequent words)
    pair = np.repeat(np.arange(N), K + 1)  # (N*(K+1),) the pair of each flattened (n, k)
    grads = {"W_out": scatter_outer(out_ids.reshape(-1), pair, ds.reshape(-1), h)}
    # backward (2) h = Σ_c weight_c e_c  ->  de_c = weight_c dh   (word2vec: de_c = dh)
    # backward (1) e = W_in[context] (+ Z[ngrams])  ->  each row gets its de, summed per row
    if subwords:
        de = dh  # like e
        if cbow:
            slot_weight = mask if cbow_update == "word2vec" else weight  # (N, C)
            de = slot_weight[:, :, None] * dh[:, None, :]  # (N, C, D)
        grads.update(_embed_backward(de, embed_cache))
    elif cbow:
        n, c = np.nonzero(mask)  # the valid slots, (M,) each
        slot_weight = None if cbow_update == "word2vec" else weight[n, c]
        grads["W_in"] = scatter_outer(context[n, c], n, slot_weight, dh)
    else:
        grads["W_in"] = scatter_outer(context, np.arange(N), None, dh)
    return loss, grads


# ----------------------------------------------------------------------------- fastText subwords


def fnv1a_32(text: str) -> int:
    """fastText's 32-bit FNV-1a hash of the UTF-8 bytes of `text`.

    h = 2166136261; for each byte b: h = (h XOR b) * 16777619 mod 2^32. fastText XORs the byte
    as a *signed* char, so bytes >= 0x80 enter sign-extended (0xFFFFFF00 | b); we do the same so
    that bucket ids match fastText's for non-ASCII words too.
    """
    h = FNV_OFFSET
    for b in text.encode("utf-8"):
        h ^= b if b < 0x80 else (0xFFFFFF00 | b)
        h = (h * FNV_PRIME) & 0xFFFFFFFF
    return h


def char_ngrams(word: str, minn: int = 3, maxn: int = 6) -> list[str]:
    """The character n-grams (minn <= n <= maxn) of "<word>", the boundary marks included.

    "where", 3..3 -> <wh whe her ere re>. As in fastText the full "<word>" is one of them when it
    is short enough; it is hashed like any n-gram, apart from the word's own row in W_in.
    """
    if not 1 <= minn <= maxn:
        raise MinilmError(f"n-gram lengths must satisfy 1 <= minn <= maxn, got {minn}-{maxn}")
    marked = f"<{word}>"
    return [
        marked[i : i + n]
        for i in range(len(marked))
        for n in range(minn, maxn + 1)
        if i + n <= len(marked) and marked[i : i + n] not in ("<", ">")
    ]


def ngram_buckets(
    words: list[str], minn: int, maxn: int, buckets: int
) -> tuple[np.ndarray, np.ndarray]:
    """Padded (len(words), G) bucket ids fnv1a(ngram) % buckets and a mask of the real ones.

    Computed once per vocabulary; a batch then gathers its rows (`index[context]`), so the hot
    path never hashes. Padding slots hold bucket 0 and are masked out.
    """
    if buckets < 1:
        raise MinilmError(f"buckets must be >= 1, got {buckets}")
    lists = [[fnv1a_32(g) % buckets for g in char_ngrams(w, minn, maxn)] for w in words]
    G = max(1, max((len(x) for x in lists), default=0))
    ids = np.zeros((len(words), G), dtype=np.int64)
    mask = np.zeros((len(words), G), dtype=bool)
    for row, x in enumerate(lists):  # once per vocabulary word, not per token
        ids[row, : len(x)] = x
        mask[row, : len(x)] = True
    return ids, mask


def input_vectors(
    params: dict[str, np.ndarray],
    ngram_ids: np.ndarray | None = None,
    ngram_mask: np.ndarray | None = None,
) -> np.ndarray:
    """The exported word vectors: W_in, or with subwords W_in[w] + Σ_g Z[g] for every word."""
    W_in = params["W_in"]
    if "W_ngram" not in params:
        return W_in.copy()
    z = params["W_ngram"][ngram_ids] * ngram_mask[..., None].astype(W_in.dtype)  # (V, G, D)
    return W_in + z.sum(axis=1)


def oov_vector(params: dict[str, np.ndarray], word: str, minn: int, maxn: int) -> np.ndarray:
    """A vector for a word never seen in training: the sum of its n-gram vectors (fastText)."""
    Z = params["W_ngram"]
    ids = [fnv1a_32(g) % Z.shape[0] for g in char_ngrams(word, minn, maxn)]
    return Z[ids].sum(axis=0) if ids else np.zeros(Z.shape[1], dtype=Z.dtype)
