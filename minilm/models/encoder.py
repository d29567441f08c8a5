"""A tiny Transformer encoder: the network under the three heads of minilm/models/.

Vaswani et al. (2017), "Attention Is All You Need" (the encoder block); pre-LayerNorm blocks as
in GPT-2 / Xiong et al. (2020), which train stably without a learning-rate warmup trick.

    x_0 = E[w_t] + P[t]                                   token + position embedding
    for block l = 1..L:                                   pre-LayerNorm residual blocks
        x = x + Dropout(Attention(LN_1(x), pad_mask))     (a) the attention sublayer
        x = x + Dropout(W_2 GELU(W_1 LN_2(x) + b_1) + b_2)  (b) the feed-forward sublayer
    h = LN_f(x)                                           final LayerNorm

The heads read h: minilm/models/masked_lm.py (BERT's masked LM), causal_lm.py (the same network
with the causal mask in every attention: a GPT-style next-word LM) and contrastive.py
(Sentence-BERT's mean-pooled sentence vectors under InfoNCE). The two language models score
words with the token embedding E itself as the output projection (Press & Wolf 2017), so E
reaches their loss along two paths and its gradient is the sum of both.

Only some rows of h may be wanted (a masked LM scores ~15% of the positions). Everything after
the last block's attention is position-wise, so `encoder_forward(..., rows=)` keeps only those
rows after that attention: the last feed-forward sublayer and LN_f run on ~15% of the positions.
Its backward puts the rows back where they came from (zeros elsewhere) before the attention.

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
    out_bias           c         (V,)      output bias of the language-model heads
    out_class.W, out_class.b     (D, C)    class scores of a class-factored head (output="class")

Shapes: N batch, T time, D model width, F feed-forward width, V vocabulary, L layers, h heads,
M rows kept, C word classes. pad_mask (N, T) is True at padding.

Dropout sits on the embeddings and on each residual branch (not on the attention weights). Its
masks come from an explicit generator: `np.random.default_rng(batch["dropout_seed"])` - a seed
the batch source adds (`DropoutSeeds` in minilm/data/sentences.py), so a resumed run draws the
very same masks - or are passed in (`masks=`, e.g. fixed masks in gradient checks).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from minilm.errors import MinilmError
from minilm.layers.attention import (
    attention_backward,
    attention_forward,
    feed_forward_backward,
    feed_forward_forward,
    position_backward,
    position_forward,
    sinusoidal_positions,
    token_embedding_backward,
)
from minilm.layers.class_softmax import check_bounds
from minilm.layers.core import (
    dropout_backward,
    dropout_forward,
    embedding_forward,
    layernorm_backward,
    layernorm_forward,
)

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
    output: str = "full"  # language-model head: "full" softmax over V, or "class"-factored
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
    """GPT-2/BERT-style initialisation of the encoder and the language-model head's bias.

    Embeddings N(0, 0.02^2): with the tied output the first logits are h E^T with |h_t|^2 ~ D,
    so their spread is 0.02 sqrt(D) << 1 and the loss starts at ~ln V. Matrices that read a
    LayerNorm output get N(0, 1/fan_in); the two that write into the residual stream (W_o, W_2)
    are further scaled by 1/sqrt(2L), so the residual's variance does not grow with depth.
    LayerNorm gains 1, every bias 0. One set of parameters serves all three heads: a contrastive
    run fine-tunes the masked LM's weights.
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


def output_head(params: dict[str, np.ndarray], cfg: Config) -> tuple:
    """The language-model head's arguments for minilm/layers/output.py: (E, c, classes)."""
    classes = None
    if cfg.output == "class":
        classes = (params["out_class.W"], params["out_class.b"], np.array(cfg.class_bounds))
    return params["tok_emb"], params["out_bias"], classes


HEAD_PARAMS = ("out_bias", "out_class.W", "out_class.b")  # in the order their grads are listed


def tied_grads(
    grads: dict[str, np.ndarray],
    dE_lookup: np.ndarray,
    dE_out: np.ndarray,
    dc: np.ndarray,
    dW_class: np.ndarray | None,
    db_class: np.ndarray | None,
) -> dict[str, np.ndarray]:
    """The encoder's grads plus the head's: E's two paths summed (lookup + output projection)."""
    # in place into the fresh lookup gradient: one (V, D) temporary fewer per step
    dE_lookup += dE_out
    grads["tok_emb"] = dE_lookup
    # the head's own, in a fixed order (the global-norm clip sums the grads in dict order)
    head = dict(zip(HEAD_PARAMS, (dc, dW_class, db_class), strict=True))
    return grads | {name: g for name, g in head.items() if g is not None}


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


def masks_for(cfg: Config, batch: dict, masks: dict | None, shape: tuple[int, int]):
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


def _dropout(x: np.ndarray, p: float, mask: np.ndarray | None):
    """Dropout with a given keep-mask; no mask (evaluation) or p = 0 is the identity."""
    if mask is None or p == 0:
        return x, None
    return dropout_forward(x, p, mask=mask)


def _undropout(dx: np.ndarray, cache) -> np.ndarray:
    return dropout_backward(dx, cache) if cache is not None else dx


# ---------------------------------------------------------------------------------------------
# A block's two residual sublayers, on the residual stream x (rows, D)
# ---------------------------------------------------------------------------------------------


def attention_sublayer_forward(
    x: np.ndarray,
    params: dict[str, np.ndarray],
    prefix: str,
    cfg: Config,
    pad_mask: np.ndarray,
    mask: np.ndarray | None = None,
) -> tuple[np.ndarray, tuple]:
    """(a) x + Drop(Attn(LN_1(x))): x (N*T, D) -> (N*T, D).

    `prefix` names the block ("blocks.0."); pad_mask (N, T) True = padding; mask: the site's
    dropout keep-mask (N*T, D), None = no dropout; cfg.causal: attend to positions <= t only.
    """
    N, T = pad_mask.shape
    D = x.shape[1]
    a, ln1 = layernorm_forward(x, params[prefix + "ln1.gamma"], params[prefix + "ln1.beta"])
    att, att_cache = attention_forward(
        a.reshape(N, T, D),
        params[prefix + "attn.W_qkv"],
        params[prefix + "attn.b_qkv"],
        params[prefix + "attn.W_o"],
        params[prefix + "attn.b_o"],
        cfg.n_heads,
        pad_mask,
        cfg.causal,
    )  # (N, T, D)
    att, drop = _dropout(att.reshape(N * T, D), cfg.dropout, mask)
    return x + att, (prefix, ln1, att_cache, drop, (N, T, D))


def attention_sublayer_backward(dx: np.ndarray, cache: tuple) -> tuple[np.ndarray, dict]:
    """Backward of (a): dx_out (N*T, D) -> (dx_in (N*T, D), the sublayer's grads)."""
    p, ln1, att_cache, drop, (N, T, D) = cache
    grads: dict[str, np.ndarray] = {}
    datt = _undropout(dx, drop)  # x_out = x_in + att: dx reaches both
    da, dW_qkv, db_qkv, dW_o, db_o = attention_backward(datt.reshape(N, T, D), att_cache)
    grads[p + "attn.W_qkv"], grads[p + "attn.b_qkv"] = dW_qkv, db_qkv
    grads[p + "attn.W_o"], grads[p + "attn.b_o"] = dW_o, db_o
    dx_ln1, grads[p + "ln1.gamma"], grads[p + "ln1.beta"] = layernorm_backward(
        da.reshape(N * T, D), ln1
    )
    dx_ln1 += dx  # x_in feeds both the residual and LN_1 (dx_ln1 is fresh: ours)
    return dx_ln1, grads


def ffn_sublayer_forward(
    x: np.ndarray,
    params: dict[str, np.ndarray],
    prefix: str,
    cfg: Config,
    mask: np.ndarray | None = None,
) -> tuple[np.ndarray, tuple]:
    """(b) x + Drop(W_2 GELU(W_1 LN_2(x) + b_1) + b_2): x (rows, D) -> (rows, D), position-wise.

    x must be ours (a fresh sum): it is updated in place, which saves a temporary.
    """
    f, ln2 = layernorm_forward(x, params[prefix + "ln2.gamma"], params[prefix + "ln2.beta"])
    y, ffn_cache = feed_forward_forward(
        f,
        params[prefix + "ffn.W_1"],
        params[prefix + "ffn.b_1"],
        params[prefix + "ffn.W_2"],
        params[prefix + "ffn.b_2"],
    )  # (rows, D)
    y, drop = _dropout(y, cfg.dropout, mask)
    x += y
    return x, (prefix, ln2, ffn_cache, drop)


def ffn_sublayer_backward(dx: np.ndarray, cache: tuple) -> tuple[np.ndarray, dict]:
    """Backward of (b): dx_out (rows, D) -> (dx_in (rows, D), the sublayer's grads)."""
    p, ln2, ffn_cache, drop = cache
    grads: dict[str, np.ndarray] = {}
    dy = _undropout(dx, drop)  # x_out = x_in + y: dx reaches both
    df, dW_1, db_1, dW_2, db_2 = feed_forward_backward(dy, ffn_cache)
    grads[p + "ffn.W_2"], grads[p + "ffn.b_2"] = dW_2, db_2
    grads[p + "ffn.W_1"], grads[p + "ffn.b_1"] = dW_1, db_1
    dx_ln2, grads[p + "ln2.gamma"], grads[p + "ln2.beta"] = layernorm_backward(df, ln2)
    dx_ln2 += dx  # x_in feeds both the residual and LN_2 (dx_ln2 is fresh: ours)
    return dx_ln2, grads


# ---------------------------------------------------------------------------------------------
# The encoder: embeddings -> L blocks -> final LayerNorm, and its backward
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
    last block its output after the final LayerNorm (what the heads read).

    `rows` (M,): optional flat indices into the N*T positions, each once: only those rows of h
    are wanted. They are kept after the last attention (step 3'), so h and states[-1] are
    (M, D); their values are those of the full run.
    """
    N, T = ids.shape
    if T > cfg.max_len:
        raise MinilmError(f"sequence length {T} exceeds max_len {cfg.max_len}; raise --max-len")
    D, L = cfg.dim, cfg.n_layers
    # The residual stream is kept as one (N*T, D) matrix: every position-wise layer is then a
    # single large BLAS call (a 3-D array @ W runs one small matrix product per sequence).
    flat = {} if masks is None else {k: m.reshape(N * T, D) for k, m in masks.items()}
    # (1) token + position embeddings                      x_0 = E[w] + P[:T]
    e, emb_cache = embedding_forward(ids, params["tok_emb"])  # (N, T, D)
    if cfg.positions == "learned":
        pos, pos_cache = position_forward(params["pos_emb"], T)  # (T, D)
    else:
        pos, pos_cache = sinusoidal_positions(T, D, e.dtype), None  # (T, D), fixed
    e += pos  # x_0 (N, T, D), positions broadcast over the batch (e is a fresh gather: ours)
    # (2) embedding dropout
    x, drop_cache = _dropout(e.reshape(N * T, D), cfg.dropout, flat.get("emb"))
    states = [x.reshape(N, T, D)]
    # (3) L pre-LayerNorm blocks, each (a) attention then (b) feed-forward
    block_caches = []
    for layer in range(L):
        p = f"blocks.{layer}."
        ffn_mask = flat.get(p + "ffn")
        x, att_cache = attention_sublayer_forward(x, params, p, cfg, pad_mask, flat.get(p + "attn"))
        kept = layer == L - 1 and rows is not None
        if kept:  # (3') from here on every step is position-wise: keep the wanted rows only
            x = x[rows]  # (M, D)
            ffn_mask = None if ffn_mask is None else ffn_mask[rows]
        x, ffn_cache = ffn_sublayer_forward(x, params, p, cfg, ffn_mask)
        states.append(x if kept else x.reshape(N, T, D))
        block_caches.append((att_cache, ffn_cache))
    # (4) final LayerNorm                                   h = LN_f(x)
    h, lnf = layernorm_forward(x, params["ln_f.gamma"], params["ln_f.beta"])  # (N*T or M, D)
    if rows is None:
        h = h.reshape(N, T, D)
    states[-1] = h
    cache = (emb_cache, pos_cache, drop_cache, block_caches, lnf, rows, (N, T, D))
    return h, states, cache


def encoder_backward(dh: np.ndarray, cache: tuple) -> tuple[dict[str, np.ndarray], np.ndarray]:
    """Backward of `encoder_forward`, steps (4) -> (1).

    dh has the shape of the forward's h: (N, T, D), or (M, D) when `rows` was given.
    Returns (grads of every encoder parameter, dtok_emb_lookup) - the embedding gradient of the
    *lookup* path only, (V, D) dense; a head with a tied output adds its path to it.
    """
    emb_cache, pos_cache, drop_cache, block_caches, lnf, rows, (N, T, D) = cache
    grads: dict[str, np.ndarray] = {}
    # backward (4): h = LN_f(x)
    dx, grads["ln_f.gamma"], grads["ln_f.beta"] = layernorm_backward(dh.reshape(-1, D), lnf)
    # backward (3): blocks in reverse order, (b) then (a)
    for layer in reversed(range(len(block_caches))):
        att_cache, ffn_cache = block_caches[layer]
        dx, ffn_grads = ffn_sublayer_backward(dx, ffn_cache)
        if layer == len(block_caches) - 1 and rows is not None:
            # backward (3'): x[rows] - each kept row back in its place, the others got 0
            dx_all = np.zeros((N * T, D), dx.dtype)
            dx_all[rows] = dx
            dx = dx_all
        dx, att_grads = attention_sublayer_backward(dx, att_cache)
        grads |= ffn_grads | att_grads
    # backward (2): embedding dropout
    dx = _undropout(dx, drop_cache).reshape(N, T, D)
    # backward (1): x_0 = E[w] + P[:T]
    if pos_cache is not None:
        grads["pos_emb"] = position_backward(dx, pos_cache)  # (Tmax, D), summed over the batch
    dtok_emb_lookup = token_embedding_backward(dx, emb_cache)  # (V, D), repeated ids summed
    return grads, dtok_emb_lookup


def encode(
    params: dict[str, np.ndarray], cfg: Config, ids: np.ndarray, pad_mask: np.ndarray
) -> list[np.ndarray]:
    """Hidden states per layer, evaluation mode: [embeddings, block 1, ..., block L] each (N, T, D).

    The last entry is after the final LayerNorm. Padded positions carry values too (as queries
    they still attend to the valid tokens); ignore them. Valid positions do not depend on how
    much padding follows: padded keys get attention weight exactly 0.
    """
    return encoder_forward(params, cfg, ids, pad_mask)[1]
