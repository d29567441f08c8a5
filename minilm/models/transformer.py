"""A tiny Transformer encoder trained as a masked language model (a miniature BERT).

Vaswani et al. (2017), "Attention Is All You Need" (the encoder block); Devlin et al. (2019),
"BERT" (the masked-LM objective); pre-LayerNorm blocks as in GPT-2 / Xiong et al. (2020), which
train stably without a learning-rate warmup trick. Sentence vectors: Reimers & Gurevych (2019),
"Sentence-BERT", with the InfoNCE loss of van den Oord et al. (2018) over in-batch negatives.

    x_0 = E[w_t] + P[t]                                   token + position embedding
    for block l = 1..L:                                   pre-LayerNorm residual blocks
        x = x + Dropout(Attention(LN_1(x), pad_mask))
        x = x + Dropout(W_2 GELU(W_1 LN_2(x) + b_1) + b_2)
    h = LN_f(x)                                           final LayerNorm
    logits_t = h_t E^T + c      only at the masked positions t (tied output projection)
    loss = mean over masked t of -ln softmax(logits_t)[w_t]

The output projection reuses the token embedding E (Press & Wolf 2017): E reaches the loss
along two paths, the lookup at the bottom and the projection at the top, and its gradient is
the sum of both. Only masked positions are scored, so the V-sized matrix product is done for
~15% of the tokens: the masked rows of h are gathered first. Since everything after the last
block's attention is position-wise, those rows are gathered there already, so the last residual
add, feed-forward net and final LayerNorm also run on ~15% of the positions.

    symbol                       shape     meaning
    tok_emb            E         (V, D)    token embeddings, also the output projection
    pos_emb            P         (Tmax, D) learned positions (absent with positions="sinusoidal")
    blocks.l.ln1.gamma/beta      (D,)      LayerNorm before attention
    blocks.l.attn.W_qkv, b_qkv   (D, 3D)   fused query/key/value projection (layers/attention.py)
    blocks.l.attn.W_o, b_o       (D, D)    attention output projection
    blocks.l.ln2.gamma/beta      (D,)      LayerNorm before the feed-forward net
    blocks.l.ffn.W_1, b_1        (D, F)    feed-forward, GELU hidden layer of width F
    blocks.l.ffn.W_2, b_2        (F, D)
    ln_f.gamma/beta              (D,)      final LayerNorm
    out_bias           c         (V,)      output bias of the masked-LM head

Shapes: N batch, T time, D model width, F feed-forward width, V vocabulary, L layers, h heads,
M masked positions in the batch. A batch (minilm.data.batchers.MLMBatches) is {"inputs" (N, T),
"targets" (N, T), "pad_mask" (N, T) True = padding, "loss_mask" (N, T) True = predicted}.

Dropout sits on the embeddings and on each residual branch (not on the attention weights). Its
masks come from an explicit generator: `np.random.default_rng(batch["dropout_seed"])` - a seed
the batch source adds (`DropoutSeeds`), so a resumed run draws the very same masks - or are
passed in (`masks=`, e.g. fixed masks in gradient checks).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np

from minilm.data.corpus import TokenStream
from minilm.errors import MinilmError
from minilm.layers.attention import (
    attention_backward,
    attention_forward,
    masked_mean_backward,
    masked_mean_forward,
    position_backward,
    position_forward,
    sinusoidal_positions,
)
from minilm.layers.core import (
    affine_backward,
    affine_forward,
    dropout_backward,
    dropout_forward,
    embedding_forward,
    gelu_backward,
    gelu_forward,
    layernorm_backward,
    layernorm_forward,
    scatter_add_rows,
)
from minilm.layers.losses import softmax_cross_entropy

POSITIONS = ("learned", "sinusoidal")


@dataclass
class Config:
    vocab_size: int  # V: token ids predicted and looked up
    max_len: int = 32  # Tmax: longest sequence (learned position rows)
    dim: int = 64  # D: model width
    n_layers: int = 2  # L: transformer blocks
    n_heads: int = 4  # h: attention heads, must divide D
    ffn: int = 256  # F: feed-forward hidden width (4 D as in the paper)
    dropout: float = 0.1  # drop probability on embeddings and residual branches
    positions: str = "learned"  # "learned" (BERT) or "sinusoidal" (Vaswani, no parameters)
    dtype: str = "float32"  # float32 for training, float64 for gradient checks

    def __post_init__(self) -> None:
        for name in ("vocab_size", "max_len", "dim", "n_layers", "n_heads", "ffn"):
            if getattr(self, name) < 1:
                raise MinilmError(f"transformer {name} must be >= 1, got {getattr(self, name)}")
        if self.dim % self.n_heads:
            raise MinilmError(
                f"--heads {self.n_heads} must divide --dim {self.dim}; pick a divisor of the width"
            )
        if not 0 <= self.dropout < 1:
            raise MinilmError(f"--dropout must be in [0, 1), got {self.dropout}")
        if self.positions not in POSITIONS:
            raise MinilmError(f"--positions must be one of {POSITIONS}, got {self.positions!r}")


def init_params(cfg: Config, rng: np.random.Generator) -> dict[str, np.ndarray]:
    """GPT-2/BERT-style initialisation.

    Embeddings N(0, 0.02^2): with the tied output the first logits are h E^T with |h_t|^2 ~ D,
    so their spread is 0.02 sqrt(D) << 1 and the loss starts at ~ln V. Matrices that read a
    LayerNorm output get N(0, 1/fan_in); the two that write into the residual stream (W_o, W_2)
    are further scaled by 1/sqrt(2L), so the residual's variance does not grow with depth.
    LayerNorm gains 1, every bias 0.
    """
    V, D, F, L = cfg.vocab_size, cfg.dim, cfg.ffn, cfg.n_layers
    dt = np.dtype(cfg.dtype)

    def normal(shape, std):
        return (rng.standard_normal(shape) * std).astype(dt)

    def ones(n):
        return np.ones(n, dtype=dt)

    def zeros(n):
        return np.zeros(n, dtype=dt)

    residual = 1 / np.sqrt(2 * L)
    params = {"tok_emb": normal((V, D), 0.02)}
    if cfg.positions == "learned":
        params["pos_emb"] = normal((cfg.max_len, D), 0.02)
    for layer in range(L):
        p = f"blocks.{layer}."
        params |= {
            p + "ln1.gamma": ones(D),
            p + "ln1.beta": zeros(D),
            p + "attn.W_qkv": normal((D, 3 * D), 1 / np.sqrt(D)),
            p + "attn.b_qkv": zeros(3 * D),
            p + "attn.W_o": normal((D, D), residual / np.sqrt(D)),
            p + "attn.b_o": zeros(D),
            p + "ln2.gamma": ones(D),
            p + "ln2.beta": zeros(D),
            p + "ffn.W_1": normal((D, F), 1 / np.sqrt(D)),
            p + "ffn.b_1": zeros(F),
            p + "ffn.W_2": normal((F, D), residual / np.sqrt(F)),
            p + "ffn.b_2": zeros(D),
        }
    params |= {"ln_f.gamma": ones(D), "ln_f.beta": zeros(D), "out_bias": zeros(V)}
    return params


# ---------------------------------------------------------------------------------------------
# Dropout masks
# ---------------------------------------------------------------------------------------------


def dropout_sites(cfg: Config) -> list[str]:
    """Names of the dropout sites, in the order their masks are drawn: each (N, T, D)."""
    sites = ["emb"]
    for layer in range(cfg.n_layers):
        sites += [f"blocks.{layer}.attn", f"blocks.{layer}.ffn"]
    return sites


def draw_dropout_masks(
    cfg: Config, shape: tuple[int, int], rng: np.random.Generator
) -> dict[str, np.ndarray]:
    """Keep-masks (bool, True = keep with probability 1 - p) for every site, shape (N, T, D)."""
    N, T = shape
    # float32 uniforms: half the memory traffic of float64, ample resolution for a threshold
    return {
        site: rng.random((N, T, cfg.dim), dtype=np.float32) >= cfg.dropout
        for site in dropout_sites(cfg)
    }


def _dropout(x: np.ndarray, p: float, masks: dict | None, site: str):
    """Dropout at a named site; `masks is None` (evaluation) or p = 0 is the identity."""
    if masks is None or p == 0:
        return x, None
    return dropout_forward(x, p, mask=masks[site])


# ---------------------------------------------------------------------------------------------
# The encoder: embeddings -> blocks -> final LayerNorm, and its backward
# ---------------------------------------------------------------------------------------------


def encoder_forward(
    params: dict[str, np.ndarray],
    cfg: Config,
    ids: np.ndarray,
    pad_mask: np.ndarray,
    masks: dict[str, np.ndarray] | None = None,
    rows: np.ndarray | None = None,
) -> tuple[np.ndarray, list[np.ndarray], tuple]:
    """Run the encoder on ids (N, T) with pad_mask (N, T) True = padding.

    `masks` are dropout keep-masks (`draw_dropout_masks`); None = evaluation (no dropout).
    Returns (h (N, T, D) after the final LayerNorm, states, cache) where states is the list of
    hidden states [x_0, x_1, ..., x_{L-1}, h]: the embeddings, each block's output, and for the
    last block its output after the final LayerNorm (what the masked-LM head reads).

    `rows` (M,) optional flat indices into the N*T positions: only those rows of h are wanted
    (the masked-LM head reads ~15% of them). Everything after the last attention is
    position-wise, so the last block's residual, FFN and the final LayerNorm then run on those
    M rows only and h (and states[-1]) is (M, D). The values of those rows are unchanged.
    """
    N, T = ids.shape
    if T > cfg.max_len:
        raise MinilmError(f"sequence length {T} exceeds max_len {cfg.max_len}; raise --max-len")
    D, p_drop = cfg.dim, cfg.dropout
    # The residual stream is kept as one (N*T, D) matrix: every position-wise layer is then a
    # single large BLAS call (a 3-D array @ W runs one small matrix product per sequence).
    flat_masks = None if masks is None else {k: m.reshape(N * T, D) for k, m in masks.items()}
    # (1) token + position embeddings                      x_0 = E[w] + P[:T]
    e, emb_cache = embedding_forward(ids, params["tok_emb"])  # (N, T, D)
    if cfg.positions == "learned":
        pos, pos_cache = position_forward(params["pos_emb"], T)  # (T, D)
    else:
        pos, pos_cache = sinusoidal_positions(T, cfg.dim, e.dtype), None  # (T, D), fixed
    e += pos  # x_0 (N, T, D), positions broadcast over the batch (e is a fresh gather: ours)
    x = e.reshape(N * T, D)  # (N*T, D)
    # (2) embedding dropout
    x, drop_cache = _dropout(x, p_drop, flat_masks, "emb")
    states = [x.reshape(N, T, D)]
    # (3) L pre-LayerNorm blocks
    block_caches = []
    for layer in range(cfg.n_layers):
        p = f"blocks.{layer}."
        # (3a) attention branch                            x = x + Drop(Attn(LN_1(x)))
        a, ln1 = layernorm_forward(x, params[p + "ln1.gamma"], params[p + "ln1.beta"])
        att, att_cache = attention_forward(
            a.reshape(N, T, D),
            params[p + "attn.W_qkv"],
            params[p + "attn.b_qkv"],
            params[p + "attn.W_o"],
            params[p + "attn.b_o"],
            cfg.n_heads,
            pad_mask,
        )  # (N, T, D)
        att = att.reshape(N * T, D)
        keep, site_masks = None, flat_masks
        if rows is not None and layer == cfg.n_layers - 1:
            # from here on every step is position-wise: keep only the rows the head reads
            keep = rows
            x, att = x[rows], att[rows]  # (M, D)
            if flat_masks is not None:
                site_masks = {k: m[rows] for k, m in flat_masks.items()}
        att, drop1 = _dropout(att, p_drop, site_masks, p + "attn")
        x = x + att
        # (3b) feed-forward branch                          x = x + Drop(W_2 GELU(W_1 LN_2(x)))
        f, ln2 = layernorm_forward(x, params[p + "ln2.gamma"], params[p + "ln2.beta"])
        z, fc1 = affine_forward(f, params[p + "ffn.W_1"], params[p + "ffn.b_1"])  # (N*T, F)
        g, gelu_cache = gelu_forward(z)  # (N*T, F)
        y, fc2 = affine_forward(g, params[p + "ffn.W_2"], params[p + "ffn.b_2"])  # (N*T, D)
        y, drop2 = _dropout(y, p_drop, site_masks, p + "ffn")
        x += y  # x is a fresh sum (x + att above): updating it in place saves a temporary
        states.append(x if keep is not None else x.reshape(N, T, D))
        block_caches.append((ln1, att_cache, drop1, ln2, fc1, gelu_cache, fc2, drop2, keep))
    # (4) final LayerNorm                                   h = LN_f(x)
    h, lnf = layernorm_forward(x, params["ln_f.gamma"], params["ln_f.beta"])  # (N*T or M, D)
    if rows is None:
        h = h.reshape(N, T, D)
    states[-1] = h
    cache = (cfg, emb_cache, pos_cache, drop_cache, block_caches, lnf, (N, T, D))
    return h, states, cache


def encoder_backward(dh: np.ndarray, cache: tuple) -> tuple[dict[str, np.ndarray], np.ndarray]:
    """Backward of `encoder_forward`, steps (4) -> (1).

    dh has the shape of the forward's h: (N, T, D), or (M, D) when `rows` was given.
    Returns (grads of every encoder parameter, dtok_emb_lookup) - the embedding gradient of the
    *lookup* path only, (V, D) dense; the caller adds the tied output path, if any, to it.
    """
    cfg, emb_cache, pos_cache, drop_cache, block_caches, lnf, (N, T, D) = cache
    grads: dict[str, np.ndarray] = {}
    # backward (4): h = LN_f(x)
    dx, grads["ln_f.gamma"], grads["ln_f.beta"] = layernorm_backward(
        dh.reshape(-1, D), lnf
    )  # (N*T or M, D)
    # backward (3): blocks in reverse order
    for layer in reversed(range(cfg.n_layers)):
        p = f"blocks.{layer}."
        ln1, att_cache, drop1, ln2, fc1, gelu_cache, fc2, drop2, keep = block_caches[layer]
        # (3b) x_out = x_mid + y: dx flows to x_mid unchanged and into the branch as dy
        dy = dropout_backward(dx, drop2) if drop2 is not None else dx
        dg, grads[p + "ffn.W_2"], grads[p + "ffn.b_2"] = affine_backward(dy, fc2)  # (N*T, F)
        dz = gelu_backward(dg, gelu_cache)  # (N*T, F)
        df, grads[p + "ffn.W_1"], grads[p + "ffn.b_1"] = affine_backward(dz, fc1)  # (N*T, D)
        dx_ln2, grads[p + "ln2.gamma"], grads[p + "ln2.beta"] = layernorm_backward(df, ln2)
        dx += dx_ln2  # x_mid feeds both the residual and LN_2: the two gradients add
        # (3a) x_mid = x_in + att
        datt = dropout_backward(dx, drop1) if drop1 is not None else dx
        if keep is not None:
            # forward gathered rows `keep` (each once): scatter back, the other rows get 0
            dx_all, datt_all = np.zeros((N * T, D), dx.dtype), np.zeros((N * T, D), dx.dtype)
            dx_all[keep], datt_all[keep] = dx, datt
            dx, datt = dx_all, datt_all
        da, dW_qkv, db_qkv, dW_o, db_o = attention_backward(
            datt.reshape(N, T, D), att_cache
        )  # (N, T, D)
        grads[p + "attn.W_qkv"], grads[p + "attn.b_qkv"] = dW_qkv, db_qkv
        grads[p + "attn.W_o"], grads[p + "attn.b_o"] = dW_o, db_o
        dx_ln1, grads[p + "ln1.gamma"], grads[p + "ln1.beta"] = layernorm_backward(
            da.reshape(N * T, D), ln1
        )
        dx += dx_ln1  # x_in feeds both the residual and LN_1 (in place: dx is ours alone)
    # backward (2): embedding dropout
    dx = dropout_backward(dx, drop_cache) if drop_cache is not None else dx
    dx = dx.reshape(N, T, D)
    # backward (1): x_0 = E[w] + P[:T]
    if pos_cache is not None:
        grads["pos_emb"] = position_backward(dx, pos_cache)  # (Tmax, D), summed over the batch
    ids, V = emb_cache
    dtok_emb_lookup = scatter_add_rows(ids, dx, V)  # (V, D), repeated ids summed
    return grads, dtok_emb_lookup


def _masks_for(cfg: Config, batch: dict, masks: dict | None, shape: tuple[int, int]):
    """Dropout masks: given ones, else drawn from the batch's seed; None when p = 0."""
    if cfg.dropout == 0:
        return None
    if masks is not None:
        return masks
    if "dropout_seed" not in batch:
        raise MinilmError(
            "dropout > 0 needs batch['dropout_seed'] (wrap the batches in DropoutSeeds) "
            "or explicit masks"
        )
    return draw_dropout_masks(cfg, shape, np.random.default_rng(batch["dropout_seed"]))


# ---------------------------------------------------------------------------------------------
# Masked-LM loss
# ---------------------------------------------------------------------------------------------


def loss_and_grads(
    params: dict[str, np.ndarray],
    batch: dict[str, np.ndarray],
    cfg: Config,
    masks: dict[str, np.ndarray] | None = None,
) -> tuple[float, dict[str, np.ndarray]]:
    """Masked-LM loss (mean over the masked positions) and the gradient of every parameter.

    Bind `cfg` with functools.partial for the training loop. `masks`: fixed dropout keep-masks;
    by default they are drawn from batch["dropout_seed"] (when cfg.dropout > 0).
    """
    ids, targets = batch["inputs"], batch["targets"]
    pad_mask, loss_mask = batch["pad_mask"], batch["loss_mask"]
    N, T = ids.shape
    E, c = params["tok_emb"], params["out_bias"]
    masks = _masks_for(cfg, batch, masks, (N, T))
    # (1)-(5) encoder, its output only at the masked positions (the rest is never scored:
    # asking for these rows only skips ~85% of the last block's position-wise work)
    rows = np.flatnonzero(loss_mask)  # (M,) flat indices, row-major = the order of h[loss_mask]
    hm, _, enc_cache = encoder_forward(params, cfg, ids, pad_mask, masks, rows)  # (M, D)
    # (6) tied output projection                            logits = h_m E^T + c
    logits = hm @ E.T  # (M, V)
    logits += c  # in place: no second (M, V) temporary
    # (7) loss = mean over masked positions of -ln softmax(logits)[target]
    loss, dlogits = softmax_cross_entropy(logits, targets.reshape(-1)[rows])  # (M, V)

    # backward (6): logits = hm E^T + c
    dhm = dlogits @ E  # (M, D)
    dtok_emb_output = dlogits.T @ hm  # (V, D): E used as the output projection
    dout_bias = dlogits.sum(axis=0)  # (V,)
    # backward (5)-(1): the encoder scatters dhm back to the masked positions itself
    grads, dtok_emb_lookup = encoder_backward(dhm, enc_cache)
    # E is used twice - looked up at the bottom and projected onto at the top: sum both paths
    # (in place into the fresh lookup gradient: one (V, D) temporary fewer per step)
    dtok_emb_lookup += dtok_emb_output
    grads["tok_emb"] = dtok_emb_lookup
    grads["out_bias"] = dout_bias
    return float(loss), grads


def mlm_predictions(
    params: dict[str, np.ndarray], cfg: Config, batch: dict[str, np.ndarray]
) -> np.ndarray:
    """The most likely token (M,) at each masked position of the batch (evaluation mode)."""
    rows = np.flatnonzero(batch["loss_mask"])  # only the masked positions are scored
    hm, _, _ = encoder_forward(params, cfg, batch["inputs"], batch["pad_mask"], rows=rows)
    logits = hm @ params["tok_emb"].T + params["out_bias"]  # (M, V)
    return logits.argmax(axis=1)


# ---------------------------------------------------------------------------------------------
# Contextual and sentence vectors
# ---------------------------------------------------------------------------------------------


def encode(
    params: dict[str, np.ndarray], cfg: Config, ids: np.ndarray, pad_mask: np.ndarray
) -> list[np.ndarray]:
    """Hidden states per layer, evaluation mode: [embeddings, block 1, ..., block L] each (N, T, D).

    The last entry is after the final LayerNorm. Padded positions carry values too (as queries
    they still attend to the valid tokens); ignore them. Valid positions do not depend on how
    much padding follows: padded keys get attention weight exactly 0.
    """
    return encoder_forward(params, cfg, ids, pad_mask)[1]


def sentence_vectors(
    params: dict[str, np.ndarray],
    cfg: Config,
    ids: np.ndarray,
    pad_mask: np.ndarray,
    layer: int = -1,
) -> np.ndarray:
    """Mean of one layer's hidden states over each sentence's valid tokens: (N, D)."""
    return masked_mean_forward(encode(params, cfg, ids, pad_mask)[layer], pad_mask)[0]


def pad_sentences(
    stream: TokenStream, which: np.ndarray, pad_id: int, max_len: int
) -> tuple[np.ndarray, np.ndarray]:
    """Sentences `which` of a stream as a padded batch: (ids (N, T), pad_mask (N, T)).

    Sentences longer than max_len are cut to their first max_len tokens; T is the longest
    (cut) length. Built with one gather, no loop over sentences.
    """
    which = np.asarray(which, dtype=np.int64)
    begin = stream.offsets[which]
    length = np.minimum(stream.offsets[which + 1] - begin, max_len)  # (N,)
    T = max(1, int(length.max(initial=0)))
    t = np.arange(T)
    real = t[None, :] < length[:, None]  # (N, T)
    ids = np.where(real, stream.ids[np.where(real, begin[:, None] + t, 0)], pad_id)
    return ids, ~real


def iter_padded(
    stream: TokenStream, batch_size: int, pad_id: int, max_len: int
) -> Iterator[tuple[np.ndarray, np.ndarray, np.ndarray]]:
    """All sentences of a stream in order, batch by batch: (sentence indices, ids, pad_mask).

    Sentences are sorted by length within the whole stream first, so a batch carries little
    padding; the indices say which sentences a batch holds.
    """
    order = np.argsort(stream.lengths, kind="stable")
    for start in range(0, order.size, batch_size):
        which = order[start : start + batch_size]
        yield (which, *pad_sentences(stream, which, pad_id, max_len))


# ---------------------------------------------------------------------------------------------
# Contrastive fine-tuning (Sentence-BERT with in-batch negatives)
# ---------------------------------------------------------------------------------------------


def info_nce(
    a: np.ndarray, b: np.ndarray, temperature: float = 0.05, symmetric: bool = True
) -> tuple[float, np.ndarray, np.ndarray]:
    """InfoNCE over cosine similarities; pair i of a and b is the positive, the rest negatives.

        u_i = a_i / |a_i|,  v_j = b_j / |b_j|,  S_ij = u_i . v_j / tau          S (N, N)
        loss_ab = (1/N) sum_i -ln softmax_j(S_i.)[i]      find b_i among all b for each a_i
        loss_ba = (1/N) sum_j -ln softmax_i(S_.j)[j]      and a_j among all a for each b_j
        loss = (loss_ab + loss_ba) / 2   if symmetric, else loss_ab

    A small temperature tau sharpens the softmax, so near-miss negatives are pushed hard.
    a, b (N, D) -> (loss, da (N, D), db (N, D)).

    Backward, in reverse:
        dS = (dS_ab + dS_ba^T) / 2     from the two cross-entropies (a plain softmax CE each)
        du = dS v / tau,   dv = dS^T u / tau
        da = (du - u (u . du)) / |a|   the normalisation keeps only the part orthogonal to u
    """
    N, D = a.shape
    if b.shape != (N, D):
        raise MinilmError(f"info_nce: a {a.shape} and b {b.shape} must have the same shape")
    if not temperature > 0:
        raise MinilmError(f"temperature must be > 0, got {temperature}")
    # (1) unit vectors; a zero vector stays zero instead of dividing by 0
    na = np.maximum(np.linalg.norm(a, axis=1, keepdims=True), 1e-12)  # (N, 1)
    nb = np.maximum(np.linalg.norm(b, axis=1, keepdims=True), 1e-12)
    u, v = a / na, b / nb  # (N, D)
    # (2) similarities
    S = (u @ v.T) / temperature  # (N, N)
    # (3) cross-entropy with target i in row i (and in column i for the other direction)
    target = np.arange(N)
    loss, dS = softmax_cross_entropy(S, target)
    if symmetric:
        loss_ba, dS_ba = softmax_cross_entropy(S.T, target)
        loss = (loss + loss_ba) / 2
        dS = (dS + dS_ba.T) / 2
    # backward (2)
    du = (dS @ v) / temperature  # (N, D)
    dv = (dS.T @ u) / temperature
    # backward (1): d(a/|a|) = (I - u u^T) / |a|
    da = (du - u * np.sum(u * du, axis=1, keepdims=True)) / na
    db = (dv - v * np.sum(v * dv, axis=1, keepdims=True)) / nb
    return float(loss), da, db


def contrastive_loss_and_grads(
    params: dict[str, np.ndarray],
    batch: dict[str, np.ndarray],
    cfg: Config,
    temperature: float = 0.05,
    symmetric: bool = True,
    masks: dict[str, np.ndarray] | None = None,
) -> tuple[float, dict[str, np.ndarray]]:
    """InfoNCE loss of mean-pooled sentence vectors and the gradient of every parameter.

    batch: {"inputs" (2N, T), "pad_mask" (2N, T)}: rows 0..N-1 are sentences a_i, rows N..2N-1
    their paraphrases b_i (`PairBatches`). out_bias is not used here; its gradient is 0.
    """
    ids, pad_mask = batch["inputs"], batch["pad_mask"]
    N2, T = ids.shape
    N = N2 // 2
    masks = _masks_for(cfg, batch, masks, (N2, T))
    # (1)-(4) encoder on both halves at once
    h, _, enc_cache = encoder_forward(params, cfg, ids, pad_mask, masks)  # (2N, T, D)
    # (5) mean-pool each sentence's valid tokens
    s, pool_cache = masked_mean_forward(h, pad_mask)  # (2N, D)
    # (6) InfoNCE between the two halves
    loss, da, db = info_nce(s[:N], s[N:], temperature, symmetric)

    # backward (6) -> (5) -> (4)-(1)
    ds = np.concatenate([da, db])  # (2N, D)
    dh = masked_mean_backward(ds, pool_cache)  # (2N, T, D)
    grads, dtok_emb_lookup = encoder_backward(dh, enc_cache)
    grads["tok_emb"] = dtok_emb_lookup  # no output projection in this loss: one path only
    grads["out_bias"] = np.zeros_like(params["out_bias"])
    return loss, grads


class PairBatches:
    """Batches of paraphrase pairs for `contrastive_loss_and_grads` (a BatchSource).

    a, b: TokenStreams with one sentence per pair (sentence i of a pairs with sentence i of b).
    Each epoch the pairs are shuffled; a batch stacks its a's over its b's, padded together:
    {"inputs" (2N, T), "pad_mask" (2N, T), "n_tokens"}. The last, smaller batch is dropped,
    because the loss needs negatives and a batch of one pair has none.
    """

    def __init__(
        self, a: TokenStream, b: TokenStream, batch_size: int, seed: int, pad_id: int, max_len: int
    ):
        if a.n_sentences != b.n_sentences:
            raise MinilmError(f"{a.n_sentences} sentences pair with {b.n_sentences}; need equal")
        if batch_size < 2 or a.n_sentences < batch_size:
            raise MinilmError(
                f"contrastive batches need 2 <= batch size <= pairs ({a.n_sentences}); "
                f"got {batch_size}: lower --contrastive-batch-size or add pairs"
            )
        self.n_pairs, self.batch_size, self.seed = a.n_sentences, batch_size, seed
        self.pad_id, self.max_len = pad_id, max_len
        # one stream: pair i is sentence i (its a) and sentence n_pairs + i (its b)
        self.both = TokenStream(
            np.concatenate([a.ids, b.ids]), np.concatenate([a.offsets, b.offsets[1:] + a.n_tokens])
        )
        self.steps_per_epoch = a.n_sentences // batch_size

    def epoch(self, epoch: int) -> Iterator[dict]:
        order = np.random.default_rng([self.seed, epoch]).permutation(self.n_pairs)
        for step in range(self.steps_per_epoch):
            which = order[step * self.batch_size : (step + 1) * self.batch_size]
            rows = np.concatenate([which, which + self.n_pairs])  # a's, then their b's
            ids, pad_mask = pad_sentences(self.both, rows, self.pad_id, self.max_len)
            yield {"inputs": ids, "pad_mask": pad_mask, "n_tokens": int((~pad_mask).sum())}


class DropoutSeeds:
    """Wrap a BatchSource so every batch carries `dropout_seed` = [seed, epoch, step].

    The dropout masks of a step then depend only on the run's seed and the step's position,
    never on how many random numbers were drawn before - a resumed run draws the same masks.
    """

    def __init__(self, source, seed: int):
        self.source, self.seed = source, seed
        self.steps_per_epoch = source.steps_per_epoch

    def epoch(self, epoch: int) -> Iterator[dict]:
        for step, batch in enumerate(self.source.epoch(epoch)):
            yield {**batch, "dropout_seed": np.array([self.seed, epoch, step], dtype=np.int64)}


def retrieval_recall_at_1(a: np.ndarray, b: np.ndarray) -> float:
    """Fraction of rows i whose nearest b by cosine (among all rows of b) is b_i. a, b (N, D)."""
    u = a / np.maximum(np.linalg.norm(a, axis=1, keepdims=True), 1e-12)
    v = b / np.maximum(np.linalg.norm(b, axis=1, keepdims=True), 1e-12)
    return float(np.mean((u @ v.T).argmax(axis=1) == np.arange(len(a))))
