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

CBOW:            h = (1/|C|) Σ_{o in C} W_in[o]               (C = the words of c's window)
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
  by default. On the world corpus at word2vec.c's alpha 0.05, analogy accuracy is 0.87 with
  word2vec.c's update (gensim 0.83) and 0.80 with the exact gradient, whose input vectors move
  ~|C| times less per step (its purity and similarity are a little higher). Think of the
  word2vec.c update as SGD with a |C| times larger step for the context vectors.
- fastText. The paper sums a word's n-gram vectors (as here); fastText's code averages them
  and then adds the undivided gradient to each row. With the sum, every row gets the true
  gradient, so the composite vector moves (1 + |G|) times as far as one row does (hence the
  training script's smaller default alpha, 0.01, for subwords; 0.025 diverges).
Buckets: fastText hashes n-grams into 2e6 rows; a laptop corpus has a few thousand distinct
n-grams, so the training script defaults to 1e5 (a few per cent of them share a bucket).

Symbols and shapes
    V vocabulary, D dimension, N pairs (CBOW: windows) in a batch, K negatives per pair, W the
    window (CBOW: C = 2W + 1 slots), S shared noise words per group, B hash buckets, G n-grams
    per word (padded; a mask marks the real ones).
    W_in   (V, D)  input vectors   (word2vec.c syn0, uniform(-0.5/D, 0.5/D))
    W_out  (V, D)  output vectors  (word2vec.c syn1neg, zeros)
    Z      (B, D)  n-gram vectors, params["W_ngram"] (same init as W_in)

A batch (dict of arrays) holds
    "context"    (N,) skip-gram: the context word of each pair
                 (N + 2W,) CBOW: a stretch of text, centre n at position n + W
    "context_mask" (N, 2W + 1) bool, CBOW only: True = context[n + W + d] is in n's window
    "center"     (N,)                           the word to predict (the positive)
    "negatives"  (N, K) per pair, or (G, S) shared by groups with "noise_weight" = K / S:
                 noise words (may repeat; one equal to the centre is skipped, as in word2vec.c)
    "ngrams", "ngram_mask"  context.shape + (G,) bucket ids / validity, subword models only

Gradients of both tables come back sparse, (row_ids, row_grads) with unique ids and repeated ids
summed, so the optimiser touches only the rows a batch used — as word2vec.c does.

Speed. Everything is batched: a few dozen NumPy calls per batch of ~1000 pairs. In the per-pair
layout most of the time goes to gathering and summing the N(K+1) rows of dW_out; with shared
noise words (the training script's default) what is left is adding the N positive pairs' rows
into both tables (core.add_rows_at, about a third of the time) and a few matrix products. CBOW
reads its windows as strided views of one stretch of text (windowed_sum): each word's vector is
gathered once, not once per window holding it, and its gradient is added once. word2vec.c and
gensim do the arithmetic pair by pair in compiled loops that stay in cache;
benchmarks/bench_word2vec.py measures how close this file comes on your machine.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.lib.stride_tricks import as_strided

from minilm.errors import MinilmError
from minilm.layers.core import add_rows_at, sum_rows

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


def _word_vectors(params: dict, batch: dict) -> tuple[np.ndarray, np.ndarray, tuple]:
    """The input vectors of the distinct words in batch["context"], computed once each.

    -> (E (U, D), where (context.shape,), cache) with the context's vectors = E[where]: a batch
    holds far fewer distinct words than positions (~450 in 1024 pairs on the world corpus).
    Plain word2vec: E = W_in[words]. Subwords (fastText): E = W_in[words] + Σ_g mask_g Z[g]
    over each word's padded n-gram buckets, so the (U, G, D) work does not grow with repeats.
    """
    ids = batch["context"]
    words, where = distinct(ids, len(params["W_in"]))  # (U,), ids.shape
    if "W_ngram" not in params:
        return params["W_in"][words], where, (words, None, None)
    G = batch["ngrams"].shape[-1]
    some = np.empty(words.size, dtype=np.int64)  # a position of each word (all have its n-grams)
    some[where.reshape(-1)] = np.arange(ids.size)
    ngrams = batch["ngrams"].reshape(-1, G)[some]  # (U, G): the n-grams of each distinct word
    gmask = batch["ngram_mask"].reshape(-1, G)[some]  # (U, G)
    # a padded slot points at some bucket and is zeroed by the mask, keeping one gather
    z = params["W_ngram"][ngrams] * gmask[..., None].astype(params["W_in"].dtype)  # (U, G, D)
    return params["W_in"][words] + z.sum(axis=1), where, (words, ngrams, gmask)


def _word_vectors_backward(dE: np.ndarray, cache: tuple) -> dict:
    """dE (U, D) -> sparse grads: W_in's row of each word gets its dE (and so does each of the
    word's n-gram rows in Z, summed over the words sharing a bucket)."""
    words, ngrams, gmask = cache
    if ngrams is None:
        return {"W_in": (words, dE)}
    dz = np.broadcast_to(dE[:, None, :], ngrams.shape + dE.shape[1:])  # (U, G, D)
    return {"W_in": (words, dE), "W_ngram": sum_rows(ngrams[gmask], dz[gmask])}


def distinct(ids: np.ndarray, size: int) -> tuple[np.ndarray, np.ndarray]:
    """np.unique(ids, return_inverse=True) for ids in [0, size): (words (U,) sorted, where).

    words[where] == ids. Marking the ids in a table of `size` flags is ~3x faster than sorting
    them when the vocabulary is small next to the batch, as in word2vec; else np.unique.
    """
    if size > 64 * ids.size:
        words, where = np.unique(ids, return_inverse=True)
        return words, where.reshape(ids.shape)
    seen = np.zeros(size, dtype=bool)
    seen[ids] = True
    return np.flatnonzero(seen), (np.cumsum(seen) - 1)[ids]


def softplus_and_sigmoid(z: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """softplus(z) = log(1 + e^z) and its derivative σ(z), sharing one exp.

    With e = exp(-|z|) <= 1 nothing overflows: softplus(z) = max(z, 0) + log1p(e), and
    σ(z) = exp(min(z, 0)) / (1 + e), which is 1 / (1 + e) for z >= 0 and e / (1 + e) for
    z < 0 without a branch (np.where over random signs is several times slower).
    """
    e = np.exp(-np.abs(z))
    softplus = np.maximum(z, 0)
    softplus += np.log1p(e)
    sig = np.exp(np.minimum(z, 0))
    sig /= 1 + e
    return softplus, sig


def windowed_sum(x: np.ndarray, weight: np.ndarray) -> np.ndarray:
    """y[n] = Σ_k weight[n, k] x[n + k]: a weighted sum over each window of C rows of x.

    x (N + C - 1, D), weight (N, C) -> y (N, D). Window n is x[n : n + C]; all N windows are
    one strided view of x (row n of the view starts where row n of x does, so windows share
    memory and nothing is copied), and y is one batched (1, C) @ (C, D) product per row - no
    gather of N * C rows.
    """
    N, C = weight.shape
    step, along = x.strides
    windows = as_strided(x, shape=(N, C, x.shape[1]), strides=(step, step, along), writeable=False)
    return np.matmul(weight[:, None, :], windows)[:, 0]  # (N, D)


def windowed_sum_backward(dy: np.ndarray, weight: np.ndarray) -> np.ndarray:
    """The gradient of windowed_sum with respect to x: dx[p] = Σ_k weight[p - k, k] dy[p - k].

    dy (N, D), weight (N, C) -> dx (N + C - 1, D). Row p of x lies in the windows n = p - C + 1
    .. p, so dx is itself a windowed sum: over dy padded with C - 1 zero rows on either side,
    window p holds dy[p - C + 1 + j] (j = 0..C-1), the window of example n = p - C + 1 + j, in
    which p is slot k = C - 1 - j. Its weights weight_t[p, j] = weight[n, k] run along the
    anti-diagonals of the padded weights: again a strided view, one row down and one column
    left per step in j.
    """
    (N, C), pad = weight.shape, weight.shape[1] - 1
    dy_pad = np.zeros((N + 2 * pad, dy.shape[1]), dtype=dy.dtype)  # (N + 2C - 2, D)
    dy_pad[pad : pad + N] = dy
    weight_pad = np.zeros((N + 2 * pad, C), dtype=dy.dtype)
    weight_pad[pad : pad + N] = weight
    size = weight_pad.itemsize  # weight_t[p, j] = weight_pad[p + j, pad - j]:
    weight_t = as_strided(weight_pad.reshape(-1)[pad:], shape=(N + pad, C),
                          strides=(C * size, (C - 1) * size), writeable=False)  # fmt: skip
    return windowed_sum(dy_pad, weight_t)


def loss_and_grads(
    params: dict[str, np.ndarray], batch: dict[str, np.ndarray], cbow_update: str = "exact"
):
    """Summed negative-sampling loss of a batch of pairs and its sparse gradients.

    Forward (N pairs or CBOW examples):
      (1) input vectors     E = W_in[words] (+ n-gram sums) for the U distinct context words
      (2) hidden vectors    H (R, D), h_n = H[row_n]. Skip-gram: H = E (R = U; a batch of 1024
                            pairs has ~450 distinct context words). CBOW: h_n = the mean of
                            the words in its window (R = N), a windowed sum over the stretch
      (3) scores of the centre and of the noise words (two layouts, below)
      (4) loss              L = Σ softplus(-s_centre) + Σ weight * softplus(s_noise)
    Backward mirrors it: d softplus(z)/dz = σ(z); dU = ds h, dh = Σ ds U summed into the rows
    of H, and dE = dH (skip-gram) or dh / |C| on each word of the window (CBOW).

    CBOW batches are stretches of text: "context" (N + 2W,) holds the N centre words with W
    words on either side, the centre of example n sits at position n + W, and
    "context_mask" (N, 2W + 1) marks the words of its window (column W, the centre itself,
    is False). So h = windowed_sum(e, mask / |C|) over the stretch's vectors e (N + 2W, D):
    each vector is read once however many windows hold it.

    Noise words, batch["negatives"]:
    - (N, K), per pair (word2vec.c): U = W_out[[centre, negatives]] (N, K+1, D), scores
      s = U · h (N, K+1), every noise term at weight 1.
    - (G, S) with batch["noise_weight"] = K / S: shared. The rows of H are cut into G
      consecutive groups and group g's rows all use the S noise words negatives[g] (a 1-D
      (S,) is one group). As the noise scores depend on h alone they are one matrix product
      per group, T_g = H_g U_g^T, each score weighted K / S times the number of pairs using
      that row. Over the draws E[(K/S) Σ_s f(z_s)] = K E[f(z)]: the same expected loss and
      gradient as K noise words of one's own. Sharing noise words is how word2vec is
      parallelised on CPUs (Ji et al. 2016, within a window) and GPUs (BlazingText, Gupta &
      Khare 2017, within a minibatch). It replaces the gather and scatter of N*K rows of
      W_out - the bottleneck of the per-pair layout - with matrix products and G*S rows.
    Either way a noise word equal to the pair's centre is skipped, as in word2vec.c.

    cbow_update (CBOW only): "exact" returns the true gradient of L (each context word gets
    dh / |C|). "word2vec" returns word2vec.c's update instead: every context word gets the
    whole dh, as if h were the sum, though the forward uses the mean. That is |C| times the
    true W_in gradient - NOT the gradient of L - and it is what word2vec.c and gensim
    (cbow_mean=1) do; it learns markedly better vectors at word2vec.c's alpha (training
    script, --cbow-update). W_out's gradient is exact in both modes.
    """
    if cbow_update not in ("exact", "word2vec"):
        raise MinilmError(f"cbow_update must be 'exact' or 'word2vec', got {cbow_update!r}")
    W_out = params["W_out"]
    center, negatives = batch["center"], batch["negatives"]
    N, cbow = center.size, "context_mask" in batch

    # (1) input vectors of the distinct context words, E (U, D); position i has E[where[i]]
    E, where, embed_cache = _word_vectors(params, batch)
    # (2) hidden vectors, kept as H (R, D) with h_n = H[row_n]. Skip-gram: h is the context
    # word's vector, so H = E and the R distinct context words are all there is to score.
    # CBOW: every example has its own h, the mean of its window (row = n).
    if cbow:
        mask = batch["context_mask"]  # (N, C), C = 2W + 1
        _check_stretch(batch["context"], mask, N)
        count = mask.sum(axis=1)  # (N,)
        if np.any(count == 0):
            raise MinilmError("a CBOW example has no valid context word; drop such examples")
        weight = mask / count[:, None].astype(E.dtype)  # (N, C): 1/|C| in the window, else 0
        H, row = windowed_sum(E[where], weight), np.arange(N)  # (N, D)
    else:
        H, row = E, where  # (U, D), (N,)
    h = H[row]  # (N, D)
    D = H.shape[1]

    shared = "noise_weight" in batch
    if not shared:  # (3) per pair: U = W_out[[centre, negatives]], s = U · h
        out_ids = np.concatenate([center[:, None], negatives], axis=1)  # (N, K+1)
        U = W_out[out_ids]  # (N, K+1, D)
        s = np.matmul(U, h[:, :, None])[:, :, 0]  # (N, K+1), N small matrix-vector products
        s_centre, s_noise = s[:, 0], s[:, 1:]
        noise_weight = (negatives != center[:, None]).astype(s.dtype)  # (N, K), 0 = skipped
    else:  # (3) shared: the centre's score per pair, the noise scores once per row of H
        negatives = np.atleast_2d(negatives)  # (G, S)
        G, S = negatives.shape
        size = -(-len(H) // G)  # rows of H per group; the last group is padded with zeros
        u, U = W_out[center], W_out[negatives]  # (N, D), (G, S, D)
        s_centre = np.einsum("nd,nd->n", u, h)  # (N,)
        H_groups = H
        if G * size > len(H):
            H_groups = np.zeros((G * size, D), dtype=H.dtype)
            H_groups[: len(H)] = H
        H_groups = H_groups.reshape(G, size, D)
        s_noise = H_groups @ U.transpose(0, 2, 1)  # (G, size, S)
        noise_weight = _shared_noise_weight(
            row, center, negatives, size, batch["noise_weight"], len(W_out)
        )
    # (4) logistic loss: label 1 for the centre (-log σ(s) = softplus(-s)), 0 for noise
    # (-log(1 - σ(s)) = softplus(s)), noise terms weighted
    loss_centre, sig_centre = softplus_and_sigmoid(-s_centre)  # σ(-s) = 1 - σ(s)
    loss_noise, sig_noise = softplus_and_sigmoid(s_noise)
    loss = float(
        loss_centre.sum(dtype=np.float64) + (noise_weight * loss_noise).sum(dtype=np.float64)
    )

    # backward (4): dL/ds = -σ(-s) for the centre, weight σ(s) for noise
    ds_centre = -sig_centre  # (N,)
    ds_noise = (noise_weight * sig_noise).astype(H.dtype)  # (N, K) or (G, size, S)
    # backward (3): dH = Σ ds U (through h = H[row], summed per row), dU = ds h summed per
    # W_out row (rows repeat)
    if not shared:
        ds = np.concatenate([ds_centre[:, None], ds_noise], axis=1)  # (N, K+1)
        dh = np.matmul(ds[:, None, :], U)[:, 0, :]  # (N, D)
        out_ids, slot = distinct(out_ids.reshape(-1), len(W_out))
        dW_out = np.zeros((out_ids.size, D), dtype=H.dtype)
        add_rows_at(dW_out, slot, (ds[:, :, None] * h[:, None, :]).reshape(-1, D))
        dH = dh if cbow else np.zeros_like(H)  # CBOW: row = n, nothing to sum
        if not cbow:
            add_rows_at(dH, row, dh)
    else:
        dH = (ds_noise @ U).reshape(-1, D)[: len(H)]  # (R, D)
        if cbow:
            dH += ds_centre[:, None] * u  # row = n
        else:
            add_rows_at(dH, row, ds_centre[:, None] * u)
        out_ids, slot = distinct(np.concatenate([center, negatives.reshape(-1)]), len(W_out))
        dW_out = np.zeros((out_ids.size, D), dtype=H.dtype)
        add_rows_at(dW_out, slot[:N], ds_centre[:, None] * h)
        add_rows_at(dW_out, slot[N:], (ds_noise.transpose(0, 2, 1) @ H_groups).reshape(-1, D))
    grads = {"W_out": (out_ids, dW_out)}
    # backward (2): skip-gram dE = dH. CBOW: h = Σ_k weight_k e_k -> de_k = weight_k dh
    # (word2vec.c: de_k = dh), summed into the rows of E
    if cbow:
        slot_weight = mask.astype(H.dtype) if cbow_update == "word2vec" else weight  # (N, C)
        dE = np.zeros_like(E)
        add_rows_at(dE, where, windowed_sum_backward(dH, slot_weight))
    else:
        dE = dH
    # backward (1): each word's rows of W_in (and Z) get its dE
    grads.update(_word_vectors_backward(dE, embed_cache))
    return loss, grads


def _check_stretch(context: np.ndarray, mask: np.ndarray, N: int) -> None:
    C = mask.shape[1]
    if context.ndim != 1 or C % 2 == 0 or context.size != N + C - 1:
        raise MinilmError(
            f"a CBOW batch is a stretch of text: context (N + 2W,) and context_mask (N, 2W+1); "
            f"got context {context.shape}, context_mask {mask.shape}, {N} centres"
        )


def _shared_noise_weight(
    row: np.ndarray, center: np.ndarray, negatives: np.ndarray, size: int, weight: float, V: int
) -> np.ndarray:
    """(G, size, S): each noise score's weight, K/S per pair using the row, pairs skipped.

    Row r of H is used by the pairs with row_n = r and belongs to group r // size; a pair
    whose centre is one of its group's noise words skips that term (as word2vec.c does).
    """
    G, S = negatives.shape
    uses = np.bincount(row, minlength=G * size)  # pairs per row (CBOW: 1; padding: 0)
    noise_weight = np.repeat(weight * uses[:, None], S, axis=1)  # (G * size, S)
    group = row // size  # (N,)
    drawn = np.zeros((G, V), dtype=bool)
    drawn[np.arange(G)[:, None], negatives] = True
    hit = np.flatnonzero(drawn[group, center])  # the few pairs whose centre was drawn as noise
    n, k = np.nonzero(center[hit, None] == negatives[group[hit]])
    np.add.at(noise_weight, (row[hit[n]], k), -weight)
    return noise_weight.reshape(G, size, S)


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
