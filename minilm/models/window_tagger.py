"""Collobert & Weston's window tagger (2008; Collobert et al. 2011, "NLP (almost) from scratch").

Tag each word from a window of 2k+1 words around it: look the words up in a table, concatenate
their vectors, one hidden tanh layer, a score per tag, softmax cross-entropy:

    x = [C[w_{t-k}]; ...; C[w_t]; ...; C[w_{t+k}]]      (N, (2k+1) D)
    a = tanh(x W1 + b1)                                   (N, H)
    s = a W2 + b2                                         (N, K)
    loss = mean_n -ln softmax(s_n)[y_n]

symbols: C (V, D) the word table (random, or a pre-trained model's vectors, frozen or tuned),
W1 ((2k+1) D, H), W2 (H, K); K tags. Their point: a table pre-trained on unlabelled text
transfers to the tagging task, most of all when labelled examples are few. `freeze_table`
leaves C's gradient at 0 (the table is a fixed feature). Shape legend: N windows, D, H, V, K.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from minilm.layers.core import (
    affine_backward,
    affine_forward,
    embedding_backward,
    embedding_forward,
    tanh_backward,
    tanh_forward,
)
from minilm.layers.losses import softmax_cross_entropy


@dataclass
class Config:
    vocab_size: int  # V
    n_tags: int  # K
    dim: int = 32  # D: word vector width (a pre-trained table's width when one is given)
    window: int = 2  # k: words on each side; the window holds 2k + 1
    hidden: int = 64  # H
    freeze_table: bool = False  # True: C is a fixed feature (its gradient is 0)


def init_params(cfg: Config, rng: np.random.Generator) -> dict[str, np.ndarray]:
    width = (2 * cfg.window + 1) * cfg.dim
    return {
        "C": rng.normal(0, 0.1, (cfg.vocab_size, cfg.dim)),
        "W1": rng.normal(0, 1 / np.sqrt(width), (width, cfg.hidden)),
        "b1": np.zeros(cfg.hidden),
        "W2": rng.normal(0, 1 / np.sqrt(cfg.hidden), (cfg.hidden, cfg.n_tags)),
        "b2": np.zeros(cfg.n_tags),
    }


def scores(params: dict[str, np.ndarray], windows: np.ndarray) -> np.ndarray:
    """(N, K) tag scores of windows (N, 2k+1) of word ids (evaluation: no cache kept)."""
    N = windows.shape[0]
    x = params["C"][windows].reshape(N, -1)
    return np.tanh(x @ params["W1"] + params["b1"]) @ params["W2"] + params["b2"]


def loss_and_grads(
    params: dict[str, np.ndarray], batch: dict[str, np.ndarray], cfg: Config
) -> tuple[float, dict[str, np.ndarray]]:
    """batch {"windows" (N, 2k+1) int, "tags" (N,) int} -> (loss, grads with params' keys)."""
    windows, tags = batch["windows"], batch["tags"]
    N, width = windows.shape
    # (1) look up and concatenate      x = [C[w_{t-k}]; ...; C[w_{t+k}]]     (N, width D)
    e, emb_cache = embedding_forward(windows, params["C"])  # (N, width, D)
    x = e.reshape(N, -1)
    # (2) hidden layer                  a = tanh(x W1 + b1)                   (N, H)
    z, aff1_cache = affine_forward(x, params["W1"], params["b1"])
    a, tanh_cache = tanh_forward(z)
    # (3) tag scores                    s = a W2 + b2                         (N, K)
    s, aff2_cache = affine_forward(a, params["W2"], params["b2"])
    # (4) softmax cross-entropy
    loss, ds = softmax_cross_entropy(s, tags)

    # backward (3) -> (2) -> (1)
    da, dW2, db2 = affine_backward(ds, aff2_cache)
    dz = tanh_backward(da, tanh_cache)
    dx, dW1, db1 = affine_backward(dz, aff1_cache)
    if cfg.freeze_table:
        dC = np.zeros_like(params["C"])
    else:  # a word twice in a window (or in the batch) gets every contribution, summed
        dC = embedding_backward(dx.reshape(e.shape), emb_cache)
    return loss, {"C": dC, "W1": dW1, "b1": db1, "W2": dW2, "b2": db2}
