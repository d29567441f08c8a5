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
                 word2vec.c); optional "noise_weight" w: each noise term counts w times
                 (minilm/fast/word2vec.py shares S noise words per group at w = K / S)
    "ngrams", "ngram_mask"  context.shape + (G,) bucket ids / validity, subword models only


Reading order. `sgns_step` is word2vec.c's training step for one example, in plain Python:
the algorithm as the reference code runs it. `loss_and_grads` is the same arithmetic for a
batch, written as a loss and its gradient: the sum over the batch of what `sgns_step` does,
every example evaluated at the same parameters (tested). Training runs the fast version,
minilm/fast/word2vec.py, which returns the same values (tested) with sparse gradients (and
can share noise words between examples); benchmarks/bench_word2vec.py and
benchmarks/bench_real_text.py measure it against gensim. Is a batch of summed steps still
word2vec.c? On real English, yes, if the batches follow the text's order
(minilm/data/batchers.py): minilm's neighbours then agree with gensim's as often as two gensim
seeds agree with each other.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

from minilm.errors import MinilmError
from minilm.layers.core import sigmoid
from minilm.layers.hsoftmax import hsoftmax_backward, hsoftmax_forward

FNV_OFFSET = 2166136261  # 32-bit FNV-1a constants, as in fastText's Dictionary::hash
FNV_PRIME = 16777619


def training_defaults(cbow: bool, given: Mapping | None = None) -> dict[str, float | int]:
    """How scripts/train_skipgram.py and the benchmarks train each architecture by default,
    overridden by the values in `given` (vars(args), say) that are not None.

    alpha is word2vec.c's (0.025; 0.05 for CBOW). The rest is our batching: examples per SGD
    step, S = `shared_negatives` noise words shared by each group of `noise_group` examples
    (each weighted K/S: minilm/fast/word2vec.py), and the span of examples shuffled together
    (0: the text's order; minilm/data/batchers.py). Chosen on real English
    (benchmarks/bench_real_text.py): smaller groups or more noise words per group learn
    vectors closer to gensim's, bigger groups train faster.
    """
    noise = {"shared_negatives": 32, "noise_group": 24}
    if cbow:
        settings = {"alpha": 0.05, "batch_size": 512, **noise, "shuffle_span": 0}
    else:
        settings = {"alpha": 0.025, "batch_size": 1024, **noise, "shuffle_span": 65536}
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
) -> tuple[float, dict[str, np.ndarray]]:
    """Summed negative-sampling loss of a batch and its (dense) gradients: the reference.

    Forward, N examples (skip-gram pairs or CBOW windows), K noise words each:
      (1) input vectors   e = W_in[x] (+ Σ_g Z[g] with subwords)            (N, C, D)
                          x (N, C): skip-gram C = 1, the context word; CBOW the window
                          context[n : n + 2W + 1] of the stretch, mask m (N, C) its words
      (2) hidden vector   h_n = Σ_c m_nc e_nc / |C_n|                        (N, D)
      (3) scores          s_nk = u_{t_nk} . h_n,  t_n = [centre, noise_1..K]  (N, K+1)
      (4) loss            L = Σ_n softplus(-s_n0) + w Σ_n Σ_k [t_nk != centre] softplus(s_nk)
      (3') hierarchical softmax (word2vec.c -hs 1; params "W_node", batch "hs_points",
           "hs_codes", "hs_lengths": the centre's Huffman path, minilm/layers/hsoftmax.py)
                          L += Σ_n -log p(centre_n | h_n),  its dh added to (3)'s
    Steps (3)-(4) run when params has "W_out" (K > 0), (3') when it has "W_node"; with both
    the losses and their dh add, as in word2vec.c.
    Backward mirrors it: dL/ds = -σ(-s) for the centre, w σ(s) for noise (softplus' = σ);
    dh = Σ_k ds_k u_k, du_k = ds_k h; de = m dh / |C| ("exact") or m dh ("word2vec", CBOW:
    word2vec.c's update, not a gradient; see the module docstring). Repeated rows are summed
    with np.add.at (never `dW[ids] += g`, which keeps one of the repeats).
    `-alpha * grads` is the sum of what `sgns_step` does to each example at these parameters.
    """
    if cbow_update not in ("exact", "word2vec"):
        raise MinilmError(f"cbow_update must be 'exact' or 'word2vec', got {cbow_update!r}")
    W_in, N = params["W_in"], batch["center"].size

    # (1) input words x (N, C) at positions pos of batch["context"], and their mask m
    cbow = "context_mask" in batch
    if cbow:
        m = batch["context_mask"]  # (N, C), C = 2W + 1
        C = m.shape[1]
        if batch["context"].shape != (N + C - 1,):
            raise MinilmError(
                f"a CBOW batch is a stretch of text: context (N + 2W,) = ({N + C - 1},), "
                f"got {batch['context'].shape}"
            )
        pos = np.arange(N)[:, None] + np.arange(C)  # (N, C) the window of example n
    else:
        m, pos = np.ones((N, 1), dtype=bool), np.arange(N)[:, None]  # (N, 1) the context word
    x = batch["context"][pos]  # (N, C)
    e = W_in[x]  # (N, C, D)
    if "W_ngram" in params:  # fastText: a word is its own row plus its n-grams' rows
        g_ids, g_mask = batch["ngrams"][pos], batch["ngram_mask"][pos]  # (N, C, G)
        e = e + (params["W_ngram"][g_ids] * g_mask[..., None]).sum(axis=2)
    # (2) h = the mean of the window's input vectors
    count = m.sum(axis=1, keepdims=True)  # (N, 1)
    if np.any(count == 0):
        raise MinilmError("a CBOW example has no valid context word; drop such examples")
    weight = m / count  # (N, C)
    h = (weight[..., None] * e).sum(axis=1)  # (N, D)
    loss, dh, grads = 0.0, np.zeros_like(h), {"W_in": np.zeros_like(W_in)}  # dh (N, D)
    if "W_out" in params:  # (3)-(4) negative sampling, and its backward
        loss, dh, grads["W_out"] = _negative_sampling(params["W_out"], h, batch)
    if "W_node" in params:  # (3') hierarchical softmax along the centre's Huffman path
        hs_loss, cache = hsoftmax_forward(
            h, params["W_node"], batch["hs_points"], batch["hs_codes"], batch["hs_lengths"]
        )
        dh_hs, (node_ids, node_rows) = hsoftmax_backward(cache)
        loss, dh = loss + hs_loss, dh + dh_hs  # both on: the losses add, as in word2vec.c
        grads["W_node"] = np.zeros_like(params["W_node"])
        grads["W_node"][node_ids] = node_rows  # ids are distinct: already summed
    # backward (2): h = Σ_c weight_c e_c; word2vec.c gives each context word the whole dh
    slot = m.astype(h.dtype) if cbow and cbow_update == "word2vec" else weight  # (N, C)
    de = slot[..., None] * dh[:, None, :]  # (N, C, D)
    # backward (1): e = W_in[x] (+ Σ Z[g])
    np.add.at(grads["W_in"], x, de)
    if "W_ngram" in params:
        grads["W_ngram"] = np.zeros_like(params["W_ngram"])
        np.add.at(grads["W_ngram"], g_ids, de[:, :, None, :] * g_mask[..., None])
    return loss, grads


def _negative_sampling(
    W_out: np.ndarray, h: np.ndarray, batch: dict[str, np.ndarray]
) -> tuple[float, np.ndarray, np.ndarray]:
    """Steps (3)-(4) of `loss_and_grads` and their backward: (loss, dh (N, D), dW_out (V, D))."""
    center, negatives = batch["center"], batch["negatives"]  # (N,), (N, K)
    N, K = negatives.shape
    # (3) scores of the centre (column 0) and of the noise words
    t = np.concatenate([center[:, None], negatives], axis=1)  # (N, K+1)
    u = W_out[t]  # (N, K+1, D)
    s = np.einsum("nkd,nd->nk", u, h)  # (N, K+1)
    # (4) logistic loss: softplus(-s) for the centre, w softplus(s) for the counted noise
    w = np.full((N, K + 1), batch.get("noise_weight", 1.0), dtype=s.dtype)
    w[:, 0] = 1.0
    w[:, 1:] *= negatives != center[:, None]  # word2vec.c skips noise equal to the centre
    sign = np.where(np.arange(K + 1) == 0, -1.0, 1.0)  # (K+1,) label 1 -> -s, label 0 -> s
    loss = float((w * np.logaddexp(0.0, sign * s)).sum(dtype=np.float64))

    # backward (4): d softplus(sign s)/ds = sign σ(sign s)
    ds = (w * sign * sigmoid(sign * s)).astype(h.dtype)  # (N, K+1)
    # backward (3): s = u . h
    dh = np.einsum("nk,nkd->nd", ds, u)  # (N, D)
    dW_out = np.zeros_like(W_out)
    np.add.at(dW_out, t, ds[..., None] * h[:, None, :])  # rows repeat: summed
    return loss, dh, dW_out


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
