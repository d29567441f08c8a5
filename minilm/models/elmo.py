"""ELMo: a bidirectional LSTM language model whose states are contextual word vectors.

Peters et al. (2018), "Deep contextualized word representations", NAACL. Two language models
read the same window of words, one left to right and one right to left, and share the word
embedding C and the output softmax (W_hy, b_y); each has its own stack of L LSTM layers
(minilm/layers/recurrent.py, the LSTM cell):

    x_t = C[w_t]                                           layer 0, the token
    ->h_t^l = LSTM_l^fwd(->h_t^{l-1}, ->h_{t-1}^l)         reads w_1..w_t
    <-h_t^l = LSTM_l^bwd(<-h_t^{l-1}, <-h_{t+1}^l)         reads w_T..w_t
    P(w_{t+1} | w_1..w_t) = softmax(->h_t^L W_hy + b_y)
    P(w_{t-1} | w_t..w_T) = softmax(<-h_t^L W_hy + b_y)

The loss is the mean of both directions' cross-entropies over every target inside the window
(T-1 per direction and row). A word's contextual vectors are its layers
R_t = [x_t; x_t], [->h_t^1; <-h_t^1], ..., [->h_t^L; <-h_t^L] (2D wide each), and ELMo's vector
is their scalar mix gamma * sum_j softmax(w)_j R_t^j (minilm/layers/mix.py), whose weights the
task that reads the vectors learns. Simplifications against the paper: word embeddings instead
of the character CNN, no projection or residual connection between layers, windows of a stream
instead of sentences.

    symbol            shape        meaning
    C                 (V, D)       word embedding, shared by both directions
    fwd{l}/W_xh ...   (D, 4D) ...  layer l of the forward LM (W_xh, W_hh (D, 4D), b_h (4D,))
    bwd{l}/W_xh ...   (D, 4D) ...  layer l of the backward LM
    W_hy, b_y         (D, V), (V,) output softmax, shared by both directions

Shapes: N batch, T time, D embedding = hidden size, V vocabulary, L layers.
A batch is {"inputs": (N, T) int} with T >= 2.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from minilm.errors import MinilmError
from minilm.layers.core import (
    affine_backward,
    affine_forward,
    embedding_backward,
    embedding_forward,
)
from minilm.layers.losses import softmax_cross_entropy
from minilm.layers.recurrent import cell_backward, cell_forward, init_recurrent

DIRECTIONS = ("fwd", "bwd")


@dataclass
class Config:
    vocab_size: int  # V
    dim: int = 64  # D: embedding and hidden size (the layers must match to be mixed)
    layers: int = 2  # L: LSTM layers per direction (ELMo used 2)
    dtype: str = "float32"  # float32 for training, float64 for gradient checks
    max_len: int = 64  # sentences are cut to this many words when encoded

    @property
    def n_layers(self) -> int:  # the name minilm/contextual.py reads
        return self.layers

    @property
    def width(self) -> int:  # a contextual vector is [forward; backward]: 2D
        return 2 * self.dim

    def __post_init__(self) -> None:
        for name in ("vocab_size", "dim", "layers"):
            if getattr(self, name) < 1:
                raise MinilmError(f"ELMo {name} must be >= 1, got {getattr(self, name)}")


def init_params(cfg: Config, rng: np.random.Generator) -> dict[str, np.ndarray]:
    """C ~ N(0, 0.3^2); LSTM weights as layers/recurrent.py init_recurrent, W_xh ~ 1/sqrt(D);
    the output weights 0.1/sqrt(D), so the loss starts near ln V."""
    V, D = cfg.vocab_size, cfg.dim
    dt = np.dtype(cfg.dtype)
    params = {"C": (rng.standard_normal((V, D)) * 0.3).astype(dt)}
    for direction in DIRECTIONS:
        for layer in range(1, cfg.layers + 1):
            rec = init_recurrent("lstm", D, rng, cfg.dtype)
            W_xh = (rng.standard_normal((D, 4 * D)) / np.sqrt(D)).astype(dt)
            params |= {f"{direction}{layer}/W_xh": W_xh}
            params |= {f"{direction}{layer}/{k}": v for k, v in rec.items()}
    params["W_hy"] = (rng.standard_normal((D, V)) * 0.1 / np.sqrt(D)).astype(dt)
    params["b_y"] = np.zeros(V, dtype=dt)
    return params


def _n_layers(params: dict[str, np.ndarray]) -> int:
    return sum(1 for k in params if k.startswith("fwd") and k.endswith("/W_hh"))


def _layer(params: dict, direction: str, layer: int) -> dict[str, np.ndarray]:
    return {k: params[f"{direction}{layer}/{k}"] for k in ("W_xh", "W_hh", "b_h")}


def _stacks_forward(params: dict, x: np.ndarray) -> tuple[dict, dict]:
    """Both LSTM stacks over x (N, T, D): every layer's states aligned to position t."""
    states, caches = {}, {}
    for direction in DIRECTIONS:
        h = x if direction == "fwd" else x[:, ::-1]  # the backward LM reads right to left
        for layer in range(1, _n_layers(params) + 1):
            h, caches[direction, layer] = cell_forward(
                "lstm", h, None, _layer(params, direction, layer)
            )
            states[direction, layer] = h if direction == "fwd" else h[:, ::-1]  # (N, T, D)
    return states, caches


def _forward(params: dict[str, np.ndarray], ids: np.ndarray) -> tuple[float, np.ndarray, tuple]:
    """Steps (1)-(4) of `loss_and_grads`: (loss, dloss/dscores, the caches of its backward)."""
    L, D = _n_layers(params), params["C"].shape[1]
    # (1) embed                                      x_t = C[w_t]
    x, emb_cache = embedding_forward(ids, params["C"])  # (N, T, D)
    # (2) both LSTM stacks                           ->h_t^l, <-h_t^l
    states, caches = _stacks_forward(params, x)
    # (3) shared output: ->h_t predicts w_{t+1}, <-h_t predicts w_{t-1}
    h_top = np.concatenate(
        [states["fwd", L][:, :-1].reshape(-1, D), states["bwd", L][:, 1:].reshape(-1, D)]
    )  # (2 N (T-1), D)
    targets = np.concatenate([ids[:, 1:].reshape(-1), ids[:, :-1].reshape(-1)])
    y, out_cache = affine_forward(h_top, params["W_hy"], params["b_y"])  # (2 N (T-1), V)
    # (4) loss: the mean over both directions' targets
    loss, dy = softmax_cross_entropy(y, targets)
    return float(loss), dy, (x, emb_cache, caches, out_cache)


def loss_and_grads(
    params: dict[str, np.ndarray], batch: dict[str, np.ndarray]
) -> tuple[float, dict[str, np.ndarray]]:
    """Mean cross-entropy of both directions' next (previous) word over the window; grads."""
    ids = batch["inputs"]
    N, T = ids.shape
    if T < 2:
        raise MinilmError(f"ELMo needs windows of at least 2 words, got T = {T}")
    L, D = _n_layers(params), params["C"].shape[1]
    loss, dy, (x, emb_cache, caches, out_cache) = _forward(params, ids)
    grads = {}
    # backward (3)
    dh_top, grads["W_hy"], grads["b_y"] = affine_backward(dy, out_cache)
    half = N * (T - 1)
    dx = np.zeros_like(x)  # (N, T, D) both stacks' gradients for the embedding
    for direction in DIRECTIONS:
        dh = np.zeros_like(x)  # (N, T, D) aligned to position t
        if direction == "fwd":
            dh[:, :-1] = dh_top[:half].reshape(N, T - 1, D)
        else:
            dh[:, 1:] = dh_top[half:].reshape(N, T - 1, D)
            dh = dh[:, ::-1]  # back into the order the backward LM read
        # backward (2): from the top layer down, each layer's dx is the dh of the one below
        for layer in range(L, 0, -1):
            dh, _, layer_grads = cell_backward(dh, caches[direction, layer])
            grads |= {f"{direction}{layer}/{k}": g for k, g in layer_grads.items()}
        dx += dh if direction == "fwd" else dh[:, ::-1]
    # backward (1): repeated words add their rows' gradients
    grads["C"] = embedding_backward(dx, emb_cache)
    return float(loss), grads


def contextual_layers(params: dict[str, np.ndarray], ids: np.ndarray) -> np.ndarray:
    """ELMo's layers for a window ids (N, T): (L+1, N, T, 2D), layer 0 = [x_t; x_t].

    Mix them with minilm/layers/mix.py scalar_mix_forward (w = 0: their average).
    """
    x, _ = embedding_forward(ids, params["C"])
    states, _ = _stacks_forward(params, x)
    layers = [np.concatenate([x, x], axis=-1)]
    for layer in range(1, _n_layers(params) + 1):
        layers.append(np.concatenate([states["fwd", layer], states["bwd", layer]], axis=-1))
    return np.stack(layers)


def nll_sum(params: dict[str, np.ndarray], ids: np.ndarray, T: int = 64) -> tuple[float, int]:
    """Sum of -ln P over both directions' targets in windows of T of a sequence ids (L,),
    and the number of targets (perplexity = exp(sum / count))."""
    total, count = 0.0, 0
    for s in range(0, ids.size - 1, T):
        window = ids[s : s + T + 1][None]  # one word of overlap: every pair is scored once
        if window.shape[1] < 2:
            break
        loss, _, _ = _forward(params, window)  # no backward: scoring only
        n = 2 * (window.shape[1] - 1)
        total, count = total + loss * n, count + n
    return total, count


def encode(
    params: dict[str, np.ndarray], cfg: Config, ids: np.ndarray, pad_mask: np.ndarray
) -> list[np.ndarray]:
    """ELMo's layers for padded sentences, as minilm/contextual.py reads an encoder's:
    L+1 arrays (N, T, 2D), layer 0 = [x_t; x_t]. ids (N, T), pad_mask (N, T) True at padding
    (after each sentence). The backward LM reads each sentence from its own last word, so the
    padding never enters a real word's state."""
    N, T = ids.shape
    lengths = (~pad_mask).sum(axis=1)  # (N,)
    t = np.arange(T)
    # position read at step t: the sentence reversed, then its padding in place (an involution)
    flip = np.where(t < lengths[:, None], lengths[:, None] - 1 - t, t)  # (N, T)
    rows = np.arange(N)[:, None]
    x, _ = embedding_forward(ids, params["C"])  # (N, T, D)
    layers = [np.concatenate([x, x], axis=-1)]
    h_fwd, h_bwd = x, x[rows, flip]
    for layer in range(1, _n_layers(params) + 1):
        h_fwd, _ = cell_forward("lstm", h_fwd, None, _layer(params, "fwd", layer))
        h_bwd, _ = cell_forward("lstm", h_bwd, None, _layer(params, "bwd", layer))
        layers.append(np.concatenate([h_fwd, h_bwd[rows, flip]], axis=-1))
    return layers
