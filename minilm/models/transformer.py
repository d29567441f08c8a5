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
    out_class.W, out_class.b     (D, C)    class scores of a class-factored head (output="class")

A block is the pair `block_forward` / `block_backward`; the encoder runs L of them.

Real vocabularies: with output="class" the head is Mikolov's class-factored softmax
(minilm/layers/class_softmax.py), P(w | h) = softmax(h W_class + b_class)[c(w)] *
softmax_{j in c(w)}(h E_j^T + c_j)[w], still tied to E and still an exact distribution, at
~C + V/C scores per masked position instead of V.

The causal variant (cfg.causal, a GPT-style decoder after Radford et al. 2018) is the same
network with the causal mask in every attention (layers/attention.py): position t attends to
positions <= t only, so h_t depends on w_1..w_t and the head predicts the *next* word:

    P(w_{t+1} | w_1..w_t) = softmax(h_t E^T + c)[w_{t+1}]     (class-factored: as above)
    loss = mean over every position t of -ln P(w_{t+1} | w_<=t)     `causal_loss_and_grads`

Held-out perplexity is exact: `causal_nll` scores every target of a split exactly once, in
sliding windows of max_len tokens (`eval_windows`), with the targets of Kneser-Ney with </s>
(minilm/models/ngram.py `next_word_pairs` makes them), so the two perplexities compare.

Shapes: N batch, T time, D model width, F feed-forward width, V vocabulary, L layers, h heads,
M masked positions in the batch, C word classes. A batch (minilm.data.batchers.MLMBatches) is
{"inputs" (N, T), "targets" (N, T), "pad_mask" (N, T) True = padding, "loss_mask" (N, T)
True = predicted}.

Dropout sits on the embeddings and on each residual branch (not on the attention weights). Its
masks come from an explicit generator: `np.random.default_rng(batch["dropout_seed"])` - a seed
the batch source adds (`DropoutSeeds` in minilm/data/sentences.py), so a resumed run draws the
very same masks - or are passed in (`masks=`, e.g. fixed masks in gradient checks).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from minilm.errors import MinilmError

# fast forms, tested equal to core's textbook GELU and np.add.at (minilm/fast/gelu.py, scatter.py)
from minilm.fast.gelu import gelu_backward, gelu_forward
from minilm.fast.scatter import scatter_add_rows
from minilm.layers.attention import (
    attention_backward,
    attention_forward,
    masked_mean_backward,
    masked_mean_forward,
    position_backward,
    position_forward,
    sinusoidal_positions,
)
from minilm.layers.class_softmax import (
    check_bounds,
    class_log_probs,
    class_nll,
    class_softmax_backward,
    class_softmax_forward,
)
from minilm.layers.core import (
    affine_backward,
    affine_forward,
    dropout_backward,
    dropout_forward,
    embedding_forward,
    layernorm_backward,
    layernorm_forward,
)
from minilm.layers.losses import log_softmax, softmax_cross_entropy

POSITIONS = ("learned", "sinusoidal")
OUTPUTS = ("full", "class")


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
    output: str = "full"  # masked-LM head: "full" softmax over V, or "class"-factored
    class_bounds: tuple[int, ...] = ()  # output="class": class c = ids [bounds[c], bounds[c+1])
    causal: bool = False  # True: attend to positions <= t only (GPT), a next-word model
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
        if self.output not in OUTPUTS:
            raise MinilmError(f"--output must be one of {OUTPUTS}, got {self.output!r}")
        if self.output == "class":
            self.class_bounds = tuple(check_bounds(self.class_bounds, self.vocab_size).tolist())


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
    if cfg.output == "class":
        n_classes = len(cfg.class_bounds) - 1
        params |= {"out_class.W": normal((D, n_classes), 0.02), "out_class.b": zeros(n_classes)}
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


def block_forward(
    x: np.ndarray,
    params: dict[str, np.ndarray],
    prefix: str,
    n_heads: int,
    pad_mask: np.ndarray,
    p_drop: float = 0.0,
    masks: dict[str, np.ndarray] | None = None,
    rows: np.ndarray | None = None,
    causal: bool = False,
) -> tuple[np.ndarray, tuple]:
    """One pre-LayerNorm encoder block on the residual stream x (N*T, D) -> (x_out, cache).

        x = x + Drop(Attn(LN_1(x), pad_mask))
        x = x + Drop(W_2 GELU(W_1 LN_2(x) + b_1) + b_2)

    `prefix` names the block's parameters ("blocks.0."); pad_mask (N, T) True = padding;
    masks: flat dropout keep-masks {site: (N*T, D)}, None = no dropout. `rows` (M,): keep only
    those positions after the attention (everything later is position-wise), x_out (M, D).
    causal: position t attends to positions <= t only.
    """
    N, T = pad_mask.shape
    D = x.shape[1]
    # (a) attention branch                                 x = x + Drop(Attn(LN_1(x)))
    a, ln1 = layernorm_forward(x, params[prefix + "ln1.gamma"], params[prefix + "ln1.beta"])
    att, att_cache = attention_forward(
        a.reshape(N, T, D),
        params[prefix + "attn.W_qkv"],
        params[prefix + "attn.b_qkv"],
        params[prefix + "attn.W_o"],
        params[prefix + "attn.b_o"],
        n_heads,
        pad_mask,
        causal,
    )  # (N, T, D)
    att = att.reshape(N * T, D)
    if rows is not None:  # from here on every step is position-wise: keep the wanted rows
        x, att = x[rows], att[rows]  # (M, D)
        masks = None if masks is None else {k: m[rows] for k, m in masks.items()}
    att, drop1 = _dropout(att, p_drop, masks, prefix + "attn")
    x = x + att
    # (b) feed-forward branch                               x = x + Drop(W_2 GELU(W_1 LN_2(x)))
    f, ln2 = layernorm_forward(x, params[prefix + "ln2.gamma"], params[prefix + "ln2.beta"])
    z, fc1 = affine_forward(f, params[prefix + "ffn.W_1"], params[prefix + "ffn.b_1"])  # (., F)
    g, gelu_cache = gelu_forward(z)  # (., F)
    y, fc2 = affine_forward(g, params[prefix + "ffn.W_2"], params[prefix + "ffn.b_2"])  # (., D)
    y, drop2 = _dropout(y, p_drop, masks, prefix + "ffn")
    x += y  # x is a fresh sum (x + att above): updating it in place saves a temporary
    cache = (prefix, ln1, att_cache, drop1, ln2, fc1, gelu_cache, fc2, drop2, rows, (N, T, D))
    return x, cache


def block_backward(dx: np.ndarray, cache: tuple) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """Backward of `block_forward`, (b) then (a): dx_out -> (dx_in (N*T, D), the block's grads).

    dx has the shape of the forward's x_out: (N*T, D), or (M, D) when `rows` was given.
    """
    p, ln1, att_cache, drop1, ln2, fc1, gelu_cache, fc2, drop2, rows, (N, T, D) = cache
    grads: dict[str, np.ndarray] = {}
    # (b) x_out = x_mid + y: dx flows to x_mid unchanged and into the branch as dy
    dy = dropout_backward(dx, drop2) if drop2 is not None else dx
    dg, grads[p + "ffn.W_2"], grads[p + "ffn.b_2"] = affine_backward(dy, fc2)  # (., F)
    dz = gelu_backward(dg, gelu_cache)  # (., F)
    df, grads[p + "ffn.W_1"], grads[p + "ffn.b_1"] = affine_backward(dz, fc1)  # (., D)
    dx_ln2, grads[p + "ln2.gamma"], grads[p + "ln2.beta"] = layernorm_backward(df, ln2)
    dx = dx + dx_ln2  # x_mid feeds both the residual and LN_2: the two gradients add
    # (a) x_mid = x_in + att
    datt = dropout_backward(dx, drop1) if drop1 is not None else dx
    if rows is not None:
        # forward gathered rows `rows` (each once): scatter back, the other rows get 0
        dx_all, datt_all = np.zeros((N * T, D), dx.dtype), np.zeros((N * T, D), dx.dtype)
        dx_all[rows], datt_all[rows] = dx, datt
        dx, datt = dx_all, datt_all
    da, dW_qkv, db_qkv, dW_o, db_o = attention_backward(datt.reshape(N, T, D), att_cache)
    grads[p + "attn.W_qkv"], grads[p + "attn.b_qkv"] = dW_qkv, db_qkv
    grads[p + "attn.W_o"], grads[p + "attn.b_o"] = dW_o, db_o
    dx_ln1, grads[p + "ln1.gamma"], grads[p + "ln1.beta"] = layernorm_backward(
        da.reshape(N * T, D), ln1
    )
    dx += dx_ln1  # x_in feeds both the residual and LN_1 (in place: dx is ours alone)
    return dx, grads


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
    D, p_drop, L = cfg.dim, cfg.dropout, cfg.n_layers
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
    # (3) L pre-LayerNorm blocks; the last one keeps only `rows` after its attention
    block_caches = []
    for layer in range(L):
        keep = rows if layer == L - 1 else None
        prefix = f"blocks.{layer}."
        x, block_cache = block_forward(
            x, params, prefix, cfg.n_heads, pad_mask, p_drop, flat_masks, keep, cfg.causal
        )
        states.append(x if keep is not None else x.reshape(N, T, D))
        block_caches.append(block_cache)
    # (4) final LayerNorm                                   h = LN_f(x)
    h, lnf = layernorm_forward(x, params["ln_f.gamma"], params["ln_f.beta"])  # (N*T or M, D)
    if rows is None:
        h = h.reshape(N, T, D)
    states[-1] = h
    cache = (emb_cache, pos_cache, drop_cache, block_caches, lnf, (N, T, D))
    return h, states, cache


def encoder_backward(dh: np.ndarray, cache: tuple) -> tuple[dict[str, np.ndarray], np.ndarray]:
    """Backward of `encoder_forward`, steps (4) -> (1).

    dh has the shape of the forward's h: (N, T, D), or (M, D) when `rows` was given.
    Returns (grads of every encoder parameter, dtok_emb_lookup) - the embedding gradient of the
    *lookup* path only, (V, D) dense; the caller adds the tied output path, if any, to it.
    """
    emb_cache, pos_cache, drop_cache, block_caches, lnf, (N, T, D) = cache
    grads: dict[str, np.ndarray] = {}
    # backward (4): h = LN_f(x)
    dx, grads["ln_f.gamma"], grads["ln_f.beta"] = layernorm_backward(dh.reshape(-1, D), lnf)
    # backward (3): blocks in reverse order
    for block_cache in reversed(block_caches):
        dx, block_grads = block_backward(dx, block_cache)  # (N*T, D)
        grads |= block_grads
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
    masks = _masks_for(cfg, batch, masks, (N, T))
    # (1)-(5) encoder, its output only at the masked positions (the rest is never scored:
    # asking for these rows only skips ~85% of the last block's position-wise work)
    rows = np.flatnonzero(loss_mask)  # (M,) flat indices, row-major = the order of h[loss_mask]
    hm, _, enc_cache = encoder_forward(params, cfg, ids, pad_mask, masks, rows)  # (M, D)
    target = targets.reshape(-1)[rows]  # (M,)
    # (6)-(7) tied output head: mean over masked positions of -ln P(target | h_m)
    loss, dhm, head_grads = _head_loss_and_grads(params, cfg, hm, target)
    # backward (5)-(1): the encoder scatters dhm back to the masked positions itself
    grads, dtok_emb_lookup = encoder_backward(dhm, enc_cache)
    return loss, _tied_grads(grads, dtok_emb_lookup, head_grads)


def _head_loss_and_grads(
    params: dict[str, np.ndarray], cfg: Config, hm: np.ndarray, target: np.ndarray
) -> tuple[float, np.ndarray, dict[str, np.ndarray]]:
    """The tied output head on rows hm (M, D) with targets (M,): mean -ln P(target | h_m).

    Returns (loss, dhm (M, D), head grads): "tok_emb" holds the *output* path's (V, D) only.
    """
    E, c = params["tok_emb"], params["out_bias"]
    grads: dict[str, np.ndarray] = {}
    if cfg.output == "class":
        # (6c)-(7) class-factored head, word weights tied to E: -ln P(c(w)|h) - ln P(w|c(w), h)
        head = (params["out_class.W"], params["out_class.b"], E.T, c)
        loss, head_cache = class_softmax_forward(hm, *head, target, np.array(cfg.class_bounds))
        dhm, grads["out_class.W"], grads["out_class.b"], dE_T, grads["out_bias"] = (
            class_softmax_backward(1.0, head_cache)
        )
        grads["tok_emb"] = dE_T.T  # (V, D)
    else:
        # (6) tied output projection                            logits = h_m E^T + c
        logits = hm @ E.T  # (M, V)
        logits += c  # in place: no second (M, V) temporary
        # (7) loss = mean over the scored positions of -ln softmax(logits)[target]
        loss, dlogits = softmax_cross_entropy(logits, target)  # (M, V)
        # backward (6): logits = hm E^T + c
        dhm = dlogits @ E  # (M, D)
        grads["tok_emb"] = dlogits.T @ hm  # (V, D): E used as the output projection
        grads["out_bias"] = dlogits.sum(axis=0)  # (V,)
    return float(loss), dhm, grads


def _tied_grads(
    grads: dict[str, np.ndarray], dtok_emb_lookup: np.ndarray, head_grads: dict[str, np.ndarray]
) -> dict[str, np.ndarray]:
    """The encoder's grads plus the head's, E's two paths summed (lookup + output projection)."""
    # E is used twice - looked up at the bottom and projected onto at the top: sum both paths
    # (in place into the fresh lookup gradient: one (V, D) temporary fewer per step)
    dtok_emb_lookup += head_grads["tok_emb"]
    grads["tok_emb"] = dtok_emb_lookup
    # the head's own, in a fixed order (the global-norm clip sums the grads in dict order)
    for name in ("out_bias", "out_class.W", "out_class.b"):
        if name in head_grads:
            grads[name] = head_grads[name]
    return grads


def mlm_log_probs(params: dict[str, np.ndarray], cfg: Config, hm: np.ndarray) -> np.ndarray:
    """ln P(token | h) of the output head over the whole vocabulary (M, V), head inputs hm (M, D).

    (The masked-LM's distribution at masked positions; the causal model's next-word one.)
    """
    E, c = params["tok_emb"], params["out_bias"]
    if cfg.output == "class":
        head = (params["out_class.W"], params["out_class.b"], E.T, c)
        return class_log_probs(hm, *head, np.array(cfg.class_bounds))
    return log_softmax(hm @ E.T + c)


def mlm_predictions(
    params: dict[str, np.ndarray], cfg: Config, batch: dict[str, np.ndarray]
) -> np.ndarray:
    """The most likely token (M,) at each masked position of the batch (evaluation mode)."""
    rows = np.flatnonzero(batch["loss_mask"])  # only the masked positions are scored
    hm, _, _ = encoder_forward(params, cfg, batch["inputs"], batch["pad_mask"], rows=rows)
    return mlm_log_probs(params, cfg, hm).argmax(axis=1)


def mlm_nll(params: dict[str, np.ndarray], cfg: Config, batch: dict[str, np.ndarray]) -> np.ndarray:
    """-ln P(target | the corrupted sentence) at each masked position (M,), float64.

    exp(mean) over a split is the masked-token *pseudo*-perplexity: each prediction sees the
    words on both sides of the gap, so it is not comparable with a left-to-right perplexity.
    """
    rows = np.flatnonzero(batch["loss_mask"])
    target = batch["targets"].reshape(-1)[rows]
    hm, _, _ = encoder_forward(params, cfg, batch["inputs"], batch["pad_mask"], rows=rows)
    return _head_nll(params, cfg, hm, target)


def _head_nll(
    params: dict[str, np.ndarray], cfg: Config, hm: np.ndarray, target: np.ndarray
) -> np.ndarray:
    """-ln P(target | h_m) of the output head for each row, float64 (M,); hm (M, D)."""
    if cfg.output == "class":
        head = (params["out_class.W"], params["out_class.b"], params["tok_emb"].T)
        return class_nll(hm, *head, params["out_bias"], target, np.array(cfg.class_bounds))
    lp = mlm_log_probs(params, cfg, hm)  # (M, V)
    return -lp[np.arange(target.size), target].astype(np.float64)


# ---------------------------------------------------------------------------------------------
# Causal (next-word) LM: the same network with the causal mask
# ---------------------------------------------------------------------------------------------


def _check_causal(cfg: Config) -> None:
    if not cfg.causal:
        raise MinilmError("a next-word (causal) loss needs Config(causal=True)")


def causal_loss_and_grads(
    params: dict[str, np.ndarray],
    batch: dict[str, np.ndarray],
    cfg: Config,
    masks: dict[str, np.ndarray] | None = None,
) -> tuple[float, dict[str, np.ndarray]]:
    """Next-word loss, the mean over every position t of -ln P(targets_t | inputs_<=t), and grads.

    batch: {"inputs" (N, T), "targets" (N, T)}, targets_t the word after inputs_t (no padding:
    `StreamBatches` windows). Bind `cfg` (causal=True) with functools.partial for the loop;
    dropout masks as in `loss_and_grads`.
    """
    _check_causal(cfg)
    ids, targets = batch["inputs"], batch["targets"]
    N, T = ids.shape
    masks = _masks_for(cfg, batch, masks, (N, T))
    # (1)-(5) the masked (causal) encoder: h_t reads positions <= t only
    h, _, enc_cache = encoder_forward(params, cfg, ids, np.zeros((N, T), dtype=bool), masks)
    # (6)-(7) the tied head at every position                  (N*T, D) -> mean -ln P
    loss, dh, head_grads = _head_loss_and_grads(
        params, cfg, h.reshape(N * T, cfg.dim), targets.reshape(-1)
    )
    # backward (5)-(1)
    grads, dtok_emb_lookup = encoder_backward(dh, enc_cache)
    return loss, _tied_grads(grads, dtok_emb_lookup, head_grads)


def causal_log_probs(params: dict[str, np.ndarray], cfg: Config, ids: np.ndarray) -> np.ndarray:
    """ln P(next word | ids_<=t) over the vocabulary at every position: (N, T, V), eval mode."""
    _check_causal(cfg)
    N, T = ids.shape
    h, _, _ = encoder_forward(params, cfg, ids, np.zeros((N, T), dtype=bool))  # (N, T, D)
    return mlm_log_probs(params, cfg, h.reshape(N * T, cfg.dim)).reshape(N, T, -1)


def eval_windows(n: int, max_len: int, stride: int) -> np.ndarray:
    """Sliding windows that score each of n targets exactly once: (W, 2) rows [start, first].

    Every window covers positions [start, start + T), T = min(max_len, n), and scores the
    targets [first, start + T). The first window scores all of its T positions; each later one
    moves on by `stride` (the last one by less, to end at n) and scores only its new positions,
    so a target there sees at least T - stride earlier tokens as context.
    """
    if n < 1 or max_len < 1 or not 1 <= stride <= max_len:
        raise MinilmError(
            f"eval windows need n >= 1 targets and 1 <= stride <= max_len, got n={n}, "
            f"max_len={max_len}, stride={stride}"
        )
    T = min(max_len, n)
    ends = np.append(np.arange(T, n, stride), n)  # (W,) one past each window's last position
    firsts = np.append(0, ends[:-1])  # each window scores where the previous one stopped
    return np.stack([ends - T, firsts], axis=1).astype(np.int64)


def causal_nll(
    params: dict[str, np.ndarray],
    cfg: Config,
    inputs: np.ndarray,
    targets: np.ndarray,
    stride: int = 0,
    batch_size: int = 32,
) -> np.ndarray:
    """-ln P(targets_t | inputs_<=t) of every target of a split (n,), float64, in eval mode.

    inputs, targets (n,): the split read as one long sequence, targets_t the word after
    inputs_t - from minilm/models/ngram.py `next_word_pairs`, whose targets (every word and a
    </s> per sentence) are exactly Kneser-Ney's, so exp(mean) compares with KN's perplexity.
    Each target is scored once, in the `eval_windows` of cfg.max_len tokens moved by `stride`
    (0 = max_len // 2).
    """
    _check_causal(cfg)
    n = targets.size
    if inputs.shape != (n,):
        raise MinilmError(f"causal_nll: inputs {inputs.shape} and targets {targets.shape} differ")
    windows = eval_windows(n, cfg.max_len, stride or max(cfg.max_len // 2, 1))
    T = min(cfg.max_len, n)
    nll = np.empty(n, dtype=np.float64)
    for b in range(0, len(windows), batch_size):
        start, first = windows[b : b + batch_size].T  # (B,) each
        at = start[:, None] + np.arange(T)  # (B, T) positions of the windows
        rows = np.flatnonzero(at >= first[:, None])  # flat indices of the scored positions
        h, _, _ = encoder_forward(
            params, cfg, inputs[at], np.zeros(at.shape, dtype=bool), rows=rows
        )  # (M, D): only the scored rows leave the last block
        scored = at.reshape(-1)[rows]  # (M,) their target positions, each once over all b
        nll[scored] = _head_nll(params, cfg, h, targets[scored])
    return nll


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
    their paraphrases b_i (`PairBatches`). The masked-LM head (out_bias, out_class.*) is not
    used here; its gradient is 0.
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
    for name in ("out_bias", "out_class.W", "out_class.b"):  # the masked-LM head: unused here
        if name in params:
            grads[name] = np.zeros_like(params[name])
    return loss, grads


def retrieval_recall_at_1(a: np.ndarray, b: np.ndarray) -> float:
    """Fraction of rows i whose nearest b by cosine (among all rows of b) is b_i. a, b (N, D)."""
    u = a / np.maximum(np.linalg.norm(a, axis=1, keepdims=True), 1e-12)
    v = b / np.maximum(np.linalg.norm(b, axis=1, keepdims=True), 1e-12)
    return float(np.mean((u @ v.T).argmax(axis=1) == np.arange(len(a))))
