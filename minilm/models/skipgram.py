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
  by default. On the world corpus at word2vec.c's alpha 0.05, analogy accuracy is 0.86 with
  word2vec.c's update (gensim 0.83) and 0.83 with the exact gradient, whose input vectors move
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
    "negatives"  (N, K) noise words (may repeat; one equal to the centre is skipped, as in
                 word2vec.c), or (G, S) shared, with "noise_weight" w = K / S (see below)
    "ngrams", "ngram_mask"  context.shape + (G,) bucket ids / validity, subword models only

Reading order. `sgns_step` is word2vec.c's training step for one example, in plain Python:
the algorithm as the reference code runs it. `loss_and_grads` is the same arithmetic for a
batch, written as a loss and its gradient: the sum over the batch of what `sgns_step` does,
every example evaluated at the same parameters (tested): what scripts/train_skipgram.py
trains. Its speed comes from primitives (minilm/layers/primitives.py: a row scatter, distinct
ids, sums over windows, softplus, row dots) whose fast forms one switch picks; benchmarks/
bench_word2vec.py and bench_real_text.py measure it against gensim.

Shared noise words. Scoring K noise words per pair gathers and scatters N K rows of W_out; the
default instead cuts the rows of H (skip-gram: the batch's distinct context words, sorted; CBOW:
the examples) into runs of about 24 that share S = 32 noise words, weighted K/S: one matrix
product per run, the same expected loss and gradient. Is a batch of summed steps with shared
noise still word2vec.c? On real English (benchmarks/bench_real_text.py), yes, if the batches
follow the text's order (minilm/data/word2vec_batches.py): skip-gram's top-10 neighbours agree
with gensim's 0.58 / 0.47 / 0.30 of the time (frequency bands 0-1k / 2-3k / 8-9k) against
gensim's own seed-to-seed 0.60 / 0.48 / 0.28 (K per pair: 0.58 / 0.46 / 0.27; one run of the
whole batch: 0.42 / 0.29 / 0.22); CBOW 0.53 / 0.28 / 0.12 against 0.55 / 0.29 / 0.13.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

from minilm.errors import MinilmError
from minilm.layers.core import sigmoid
from minilm.layers.hsoftmax import hsoftmax_backward, hsoftmax_forward
from minilm.layers.primitives import (
    add_rows_at,
    distinct,
    softplus_and_sigmoid,
    windowed_sum,
    windowed_sum_backward,
)

MAX_EXP = 6.0  # word2vec.c: a hierarchical-softmax decision with |score| >= 6 is skipped
FNV_OFFSET, FNV_PRIME = 2166136261, 16777619  # 32-bit FNV-1a, as fastText's Dictionary::hash


def training_defaults(cbow: bool, given: Mapping | None = None, hs=False) -> dict[str, float | int]:
    """How scripts/train_skipgram.py and the benchmarks train each architecture by default,
    overridden by the values in `given` (vars(args), say) that are not None.

    alpha is word2vec.c's (0.025; 0.05 for CBOW). The rest is our batching: examples per SGD
    step, S = `shared_negatives` noise words shared by each group of `noise_group` examples
    (each weighted K/S: `loss_and_grads`), and the span of examples shuffled together
    (0: the text's order; minilm/data/word2vec_batches.py). Chosen on real English
    (benchmarks/bench_real_text.py): smaller groups or more noise words per group learn
    vectors closer to gensim's, bigger groups train faster. `hs`: all examples walk the root, so
    a batch sums all their steps there (word2vec.c: one by one): 64 each (CBOW's 512 diverged).
    """
    noise = {"shared_negatives": 32, "noise_group": 24}
    if cbow:
        settings = {"alpha": 0.05, "batch_size": 64 if hs else 512, **noise, "shuffle_span": 0}
    else:
        batch, span = (64, 4096) if hs else (1024, 65536)
        settings = {"alpha": 0.025, "batch_size": batch, **noise, "shuffle_span": span}
    given = given or {}
    return {
        name: value if given.get(name) is None else given[name] for name, value in settings.items()
    }


@dataclass
class Config:
    vocab_size: int
    dim: int = 100  # D, word2vec.c's -size default
    cbow: bool = False  # CBOW (mean of context vectors) instead of skip-gram
    negative: bool = True  # negative sampling: an output table W_out (word2vec.c -negative K > 0)
    hs: bool = False  # hierarchical softmax: inner-node table W_node (word2vec.c -hs 1)
    buckets: int = 0  # hash buckets for character n-grams; 0 = no subwords (plain word2vec)
    minn: int = 3  # shortest character n-gram of "<word>" (fastText -minn)
    maxn: int = 6  # longest character n-gram (fastText -maxn)
    dtype: str = "float32"  # float32 to train, float64 for gradient checks


def init_params(cfg: Config, rng: np.random.Generator) -> dict[str, np.ndarray]:
    """word2vec.c's initialisation: W_in ~ U(-0.5/D, 0.5/D), W_out = 0 (and Z like W_in).

    W_out (V, D) only with negative sampling; W_node (V - 1, D) = 0 (syn1) only with hs.

    A zero output table makes every initial score 0 (loss (K+1) ln 2 per pair) and lets the first
    updates of W_out carry the (small, random) input vectors.
    """
    if cfg.vocab_size < 1 or cfg.dim < 1:
        raise MinilmError(f"vocab_size and dim must be >= 1, got {cfg.vocab_size}, {cfg.dim}")
    if not (cfg.negative or cfg.hs):
        raise MinilmError("word2vec needs negative sampling or hierarchical softmax (or both)")
    if cfg.hs and cfg.vocab_size < 2:
        raise MinilmError(f"hierarchical softmax needs >= 2 words, got {cfg.vocab_size}")
    D, dtype = cfg.dim, np.dtype(cfg.dtype)
    params = {"W_in": ((rng.random((cfg.vocab_size, D)) - 0.5) / D).astype(dtype)}
    if cfg.negative:
        params["W_out"] = np.zeros((cfg.vocab_size, D), dtype=dtype)
    if cfg.hs:
        params["W_node"] = np.zeros((cfg.vocab_size - 1, D), dtype=dtype)
    if cfg.buckets > 0:
        params["W_ngram"] = ((rng.random((cfg.buckets, D)) - 0.5) / D).astype(dtype)
    return params


# ----------------------------------------------------------------------------- word2vec.c's step


def sgns_step(
    W_in: np.ndarray,
    W_out: np.ndarray,
    inputs: np.ndarray,
    center: int,
    negatives: np.ndarray,
    alpha: float,
) -> float:
    """word2vec.c's SGD step for one example, in place; returns the example's loss.

    inputs (n,) the input words: skip-gram one context word o, CBOW the words of the window;
    center the word to predict; negatives (K,) noise words; alpha the learning rate.
    Per output word t with label y (1 for the centre, 0 for noise) and score s = u_t . h:

        L_t = -log σ(s) if y = 1 else -log σ(-s);      dL_t/ds = σ(s) - y
        g = alpha (y - σ(s))                           (-alpha dL_t/ds: a descent step)
        neu1e += g u_t     u_t += g h             (dL_t/dh = dL_t/ds u_t, dL_t/du_t = dL_t/ds h)
    and at the end every input word's row gets v += neu1e (word2vec.c adds it whole to each
    CBOW context word: see "Where the reference code does not follow its own gradient").
    word2vec.c reads σ from a table over [-6, 6] and takes σ = 0 or 1 beyond (gensim skips
    those terms instead); here σ is exact.
    """
    h = W_in[inputs].mean(axis=0)  # (D,) skip-gram: v_o; CBOW: the window's mean
    neu1e = np.zeros_like(h)  # (D,) word2vec.c's name for -alpha dL/dh
    loss = 0.0
    targets = [(center, 1.0)] + [(int(n), 0.0) for n in negatives if n != center]
    for t, y in targets:  # word2vec.c skips a noise word equal to the centre
        s = float(W_out[t] @ h)  # score of output word t
        loss += float(np.logaddexp(0.0, -s if y else s))  # -log σ(s) or -log σ(-s)
        g = alpha * (y - float(sigmoid(np.array(s))))  # -alpha dL_t/ds
        neu1e += g * W_out[t]  # uses u_t before its update, as word2vec.c does
        W_out[t] += g * h  # u_t -= alpha dL_t/du_t
    np.add.at(W_in, inputs, neu1e)  # every input word's row, a repeated word once per slot
    return loss


# ----------------------------------------------------------------------------- the batched loss


def loss_and_grads(
    params: dict[str, np.ndarray], batch: dict[str, np.ndarray], cbow_update: str = "exact"
) -> tuple[float, dict[str, tuple[np.ndarray, np.ndarray]]]:
    """Summed loss of a batch and its gradients, as rows: what scripts/train_skipgram.py trains.

    Forward, N examples (skip-gram pairs or CBOW windows):
      (1) input vectors  E (U, D): W_in[w] (+ Σ_g Z[g] with subwords) of each distinct word w of
                         batch["context"], once; position p holds E[where_p] (CBOW without
                         subwords: one row per position)
      (2) hidden vectors H (R, D), pair n's h_n = H[row_n]. Skip-gram: H = E, row = where.
                         CBOW: h_n = Σ_c m_nc e_(n+c) / |C_n|, its window's mean (row_n = n)
      (3) scores         centre s_n = u_(c_n) · h_n, u_w = W_out[w]; noise: K words per pair
                         (negatives (N, K)), s_nk = u_(z_nk) · h_n; or shared (negatives (G, S),
                         "noise_weight" w = K/S): H's rows in G runs, T_g = H_g U_g^T
      (4) loss           L = Σ_n softplus(-s_n) + w Σ softplus(noise score) per pair of its row,
                         less a pair whose centre it is (word2vec.c skips those)
      (3') hierarchical softmax (params "W_node"): L += Σ_n -log p(c_n | h_n) along the centre's
                         Huffman path (minilm/layers/hsoftmax.py); with W_out the losses add
    Backward, mirrored: (4) dL/ds = -σ(-s) for the centre, w σ(s) for noise; (3) dh = Σ ds u,
    du = ds h; (2) CBOW: de = m dh / |C| ("exact") or m dh ("word2vec": word2vec.c's update,
    see the module docstring) through the windows' transpose; (1) rows of W_in (and Z).
    Gradients are rows (ids (M,), rows (M, D)) per table, ids repeating: a table's gradient is
    the sum of its rows (optim.ScatterSGD(repeated_rows=True) adds each, as word2vec.c's step
    per pair). `-alpha * grads` is the sum of `sgns_step`'s moves at these parameters.
    """
    if cbow_update not in ("exact", "word2vec"):
        raise MinilmError(f"cbow_update must be 'exact' or 'word2vec', got {cbow_update!r}")
    cbow = "context_mask" in batch
    # (1) input vectors of the distinct words, E (U, D); position p holds E[where[p]]
    E, where, cache = _input_forward(params, batch, cbow)
    # (2) hidden vectors H (R, D); pair n's is H[row[n]] (row None: the n-th, CBOW)
    if cbow:
        weight = _window_weights(batch, E.dtype)  # (N, C): 1/|C_n| on example n's window
        H, row = windowed_sum(E if where is None else E[where], weight), None
    else:
        H, row = E, where
    # (3)-(4) negative sampling, with its backward: dH (R, D) per row of H, dh (N, D) per pair
    loss, dH, dh, grads = 0.0, None, None, {}
    if "W_out" in params:
        h = H if row is None else np.take(H, row, axis=0)  # (N, D)
        loss, dH, dh, grads["W_out"] = _negative_sampling(params["W_out"], batch, H, row, h)
    if "W_node" in params:  # (3') hierarchical softmax along the centre's Huffman path
        paths = batch["hs_points"], batch["hs_codes"], batch["hs_lengths"]
        # pair n's h_n = H[row_n] (skip-gram reads a context word's vector once); MAX_EXP skips
        hs_loss, hs_cache = hsoftmax_forward(H, params["W_node"], *paths, MAX_EXP, row)
        dH_hs, grads["W_node"] = hsoftmax_backward(hs_cache, summed=False)  # (R, D)
        loss, dH = loss + hs_loss, dH_hs if dH is None else dH + dH_hs
    # backward (2): CBOW h = the windows' weighted sums; skip-gram H = E and h_n = e at n
    if cbow:
        dH = dH if dh is None else dh if dH is None else dH + dh  # row_n = n: per example
        slot = batch["context_mask"].astype(H.dtype) if cbow_update == "word2vec" else weight
        dE, d_at = None, windowed_sum_backward(dH, slot)  # (N + 2W, D) per position
    else:
        dE, d_at = dH, dh
    # backward (1): the rows of W_in (and Z) of each word
    grads |= _input_backward(params, batch, cache, dE, d_at)
    return loss, grads


def _input_forward(params: dict, batch: dict, cbow: bool) -> tuple[np.ndarray, np.ndarray, tuple]:
    """Step (1): (E (U, D), where (context.shape) or None, cache for `_input_backward`).

    ~450 distinct words in 1024 skip-gram pairs: each word's vector (with subwords, its n-gram
    sum) is made once. CBOW without subwords: a row per position (a stretch repeats few words).
    """
    ids, W_in = batch["context"], params["W_in"]
    if "W_ngram" not in params and cbow:
        return np.take(W_in, ids, axis=0), None, (ids, None, None, None)
    words, where = distinct(ids, len(W_in))  # (U,) sorted, ids.shape
    if "W_ngram" not in params:
        return np.take(W_in, words, axis=0), where, (words, where, None, None)
    G = batch["ngrams"].shape[-1]
    some = np.empty(words.size, dtype=np.int64)  # a position of each word (all have its n-grams)
    some[where.reshape(-1)] = np.arange(ids.size)
    ngrams = batch["ngrams"].reshape(-1, G)[some]  # (U, G): the n-grams of each distinct word
    gmask = batch["ngram_mask"].reshape(-1, G)[some]  # (U, G)
    # a padded slot points at some bucket and is zeroed by the mask, keeping one gather
    z = params["W_ngram"][ngrams] * gmask[..., None].astype(W_in.dtype)  # (U, G, D)
    return W_in[words] + z.sum(axis=1), where, (words, where, ngrams, gmask)


def _input_backward(
    params: dict, batch: dict, cache: tuple, dE: np.ndarray | None, d_at: np.ndarray
) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Backward of step (1): dE (U, D) per distinct word (or None) and d_at (P, D) per position
    of the context -> rows of W_in (and Z).

    Plain word2vec: e = W_in[w], so both go straight to W_in's rows (the words', then the
    positions'). Subwords: e = W_in[w] + Σ_g Z[g]: summed per word first, then each of the
    word's rows gets it.
    """
    words, where, ngrams, gmask = cache
    if "W_ngram" not in params:
        ids, rows = batch["context"].reshape(-1), d_at
        if d_at is None:  # skip-gram, hierarchical softmax alone: all in dE
            return {"W_in": (words, dE)}
        if dE is not None:
            ids, rows = np.concatenate([words, ids]), np.concatenate([dE, rows])
        return {"W_in": (ids, rows)}
    dE = np.zeros((words.size, d_at.shape[1]), dtype=d_at.dtype) if dE is None else dE
    if d_at is not None:
        add_rows_at(dE, where.reshape(-1), d_at)
    dz = np.broadcast_to(dE[:, None, :], ngrams.shape + dE.shape[1:])  # (U, G, D)
    return {"W_in": (words, dE), "W_ngram": (ngrams[gmask], dz[gmask])}


def _window_weights(batch: dict, dtype: np.dtype) -> np.ndarray:
    """CBOW's (N, C) weights 1/|C_n| on example n's window (0 elsewhere), the layout checked."""
    mask, context, N = batch["context_mask"], batch["context"], batch["center"].size
    C = mask.shape[1]
    if context.ndim != 1 or C % 2 == 0 or context.size != N + C - 1:
        raise MinilmError(
            f"a CBOW batch is a stretch of text: context (N + 2W,) and context_mask (N, 2W+1); "
            f"got context {context.shape}, context_mask {mask.shape}, {N} centres"
        )
    count = mask.sum(axis=1)  # (N,)
    if not count.all():
        raise MinilmError("a CBOW example has no valid context word; drop such examples")
    return mask / count[:, None].astype(dtype)


def _negative_sampling(
    W_out: np.ndarray, batch: dict, H: np.ndarray, row: np.ndarray | None, h: np.ndarray
) -> tuple[float, np.ndarray | None, np.ndarray, tuple[np.ndarray, np.ndarray]]:
    """Steps (3)-(4) with their backward: (loss, dH (R, D) or None, dh (N, D), W_out's rows)."""
    center = batch["center"]  # (N,)
    # (3) the centre's score s_n = u_(c_n) · h_n
    u = np.take(W_out, center, axis=0)  # (N, D)
    s = np.einsum("nd,nd->n", u, h)  # (N,)
    # (4) its loss, label 1: -log σ(s) = softplus(-s)
    softplus, sig = softplus_and_sigmoid(-s)
    loss = float(softplus.sum(dtype=np.float64))
    # backward (4): dL/ds = -σ(-s); backward (3): dh = ds u, du = ds h
    ds = -sig
    dh, du = ds[:, None] * u, ds[:, None] * h  # (N, D), (N, D)
    # (3)-(4) for the noise words, with their backward
    if "noise_weight" in batch:
        noise_loss, dH, (ids, rows) = _shared_noise(W_out, batch, H, row)
    else:
        noise_loss, dh_noise, (ids, rows) = _own_noise(W_out, batch, h)
        dH, dh = None, dh + dh_noise
    ids, rows = np.concatenate([center, ids]), np.concatenate([du, rows])
    return loss + noise_loss, dH, dh, (ids, rows)


def _own_noise(
    W_out: np.ndarray, batch: dict, h: np.ndarray
) -> tuple[float, np.ndarray, tuple[np.ndarray, np.ndarray]]:
    """K noise words per pair, negatives (N, K): (loss, dh (N, D), W_out's rows)."""
    center, negatives = batch["center"], batch["negatives"]
    (N, K), D = negatives.shape, h.shape[1]
    # (3) s_nk = u_(z_nk) · h_n
    U = np.take(W_out, negatives.reshape(-1), axis=0).reshape(N, K, D)
    s = np.matmul(U, h[:, :, None])[:, :, 0]  # (N, K)
    # (4) softplus(s), label 0, unless the noise word is the pair's centre
    counted = (negatives != center[:, None]).astype(s.dtype)  # (N, K)
    softplus, sig = softplus_and_sigmoid(s)
    loss = float((counted * softplus).sum(dtype=np.float64))
    # backward (4): dL/ds = σ(s) where counted; backward (3): dh = Σ_k ds u, du = ds h
    ds = counted * sig
    dh = np.matmul(ds[:, None, :], U)[:, 0, :]  # (N, D)
    du = (ds[:, :, None] * h[:, None, :]).reshape(-1, D)  # (N K, D)
    return loss, dh, (negatives.reshape(-1), du)


def _shared_noise(
    W_out: np.ndarray, batch: dict, H: np.ndarray, row: np.ndarray | None
) -> tuple[float, np.ndarray, tuple[np.ndarray, np.ndarray]]:
    """S noise words per run of rows of H, negatives (G, S): (loss, dH (R, D), W_out's rows).

    One matrix product per run (BlazingText, Gupta & Khare 2017, shares noise words on GPUs
    the same way); each score weighs w = K/S once per pair of its row.
    """
    center, negatives = batch["center"], np.atleast_2d(batch["negatives"])  # (N,), (G, S)
    (G, S), (R, D), w = negatives.shape, H.shape, batch["noise_weight"]
    size = -(-R // G)  # rows per run; the last run is padded with zero rows
    # (3) T_g = H_g U_g^T
    U = np.take(W_out, negatives.reshape(-1), axis=0).reshape(G, S, D)
    H_runs = H if G * size == R else np.concatenate([H, np.zeros((G * size - R, D), H.dtype)])
    H_runs = H_runs.reshape(G, size, D)
    T = H_runs @ U.transpose(0, 2, 1)  # (G, size, S)
    # (4) w softplus(T), counted once per pair of the row, less the pairs that skip it
    rows_of = np.arange(center.size) if row is None else row
    uses, skipped = _shared_noise_uses(rows_of, center, negatives, size, len(W_out))
    softplus, sig = softplus_and_sigmoid(T.reshape(-1, S))  # (G size, S)
    loss = w * float(uses @ softplus.sum(axis=1, dtype=np.float64))
    loss -= w * float(softplus[skipped].sum(dtype=np.float64))
    # backward (4): dL/dT = w σ(T) per count (exactly 0 if every pair of the row skips it)
    w = np.asarray(w, dtype=H.dtype)
    dT = sig * (w * uses.astype(H.dtype))[:, None]  # (G size, S)
    np.subtract.at(dT, skipped, w * sig[skipped])
    dT = dT.reshape(G, size, S)
    # backward (3): dH_g = dT_g U_g, dU_g = dT_g^T H_g
    dH = (dT @ U).reshape(-1, D)[:R]  # (R, D)
    dU = (dT.transpose(0, 2, 1) @ H_runs).reshape(-1, D)  # (G S, D)
    return loss, dH, (negatives.reshape(-1), dU)


def _shared_noise_uses(
    row: np.ndarray, center: np.ndarray, negatives: np.ndarray, size: int, V: int
) -> tuple[np.ndarray, tuple[np.ndarray, np.ndarray]]:
    """How often each noise score counts, in units of w: (uses (G * size,), skipped).

    Row r of H is used by uses[r] pairs (those with row_n = r) and belongs to run r // size;
    score (r, k) counts uses[r] times, less once for each pair of row r whose centre is its
    run's k-th noise word: the `skipped` cells (rows (m,), slots (m,)), repeated if several
    pairs skip the same cell.
    """
    S = negatives.shape[1]
    uses = np.bincount(row, minlength=negatives.shape[0] * size)  # (G * size,) CBOW: 1 each
    # the few (pair n, slot k) whose centre is its run's k-th noise word, among the pairs
    # whose centre is drawn in some run
    drawn = np.zeros(V, dtype=bool)
    drawn[negatives] = True
    some = np.flatnonzero(drawn[center])  # (n,)
    same = np.take(negatives, row[some] // size, axis=0) == center[some, None]  # (n, S)
    cell = np.flatnonzero(same)  # one flat index: ~10x cheaper than np.nonzero's two
    return uses, (row[some[cell // S]], cell % S)


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
