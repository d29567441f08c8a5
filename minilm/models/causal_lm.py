"""The causal (next-word) language model: the encoder with the causal mask, a GPT in miniature.

Radford et al. (2018), "Improving Language Understanding by Generative Pre-Training": the network
of minilm/models/encoder.py with the causal mask in every attention (Config(causal=True),
minilm/layers/attention.py), so position t attends to positions <= t only, h_t depends on
w_1..w_t, and the tied head predicts the *next* word at every position:

    h = Encoder_causal(w_1..w_T)
    P(w_{t+1} | w_1..w_t) = softmax(h_t E^T + c)[w_{t+1}]     (class-factored: layers/output.py)
    loss = mean over every position t of -ln P(w_{t+1} | w_<=t)

Held-out perplexity is exact: `nll` scores every target of a split exactly once, in sliding
windows of max_len tokens (`eval_windows`), with the targets of Kneser-Ney with </s>
(minilm/models/ngram.py `next_word_pairs` makes them), so the two perplexities compare.

A batch is {"inputs" (N, T), "targets" (N, T)}, targets_t the word after inputs_t, no padding
(`StreamBatches` windows), plus "dropout_seed" when cfg.dropout > 0.
Shapes: N batch, T time, D width, V vocabulary, n targets of a split, W windows.
"""

from __future__ import annotations

import numpy as np

from minilm.errors import MinilmError
from minilm.layers.output import output_backward, output_forward, output_log_probs, output_nll
from minilm.models.encoder import (
    Config,
    encoder_backward,
    encoder_forward,
    masks_for,
    output_head,
    tied_grads,
)


def _check_causal(cfg: Config) -> None:
    if not cfg.causal:
        raise MinilmError("a next-word (causal) loss needs Config(causal=True)")


def loss_and_grads(
    params: dict[str, np.ndarray],
    batch: dict[str, np.ndarray],
    cfg: Config,
    masks: dict[str, np.ndarray] | None = None,
) -> tuple[float, dict[str, np.ndarray]]:
    """Next-word loss, the mean over every position t of -ln P(targets_t | inputs_<=t), and grads.

    Bind `cfg` (causal=True) with functools.partial for the loop; `masks`: fixed dropout
    keep-masks, by default drawn from batch["dropout_seed"] (when cfg.dropout > 0).
    """
    _check_causal(cfg)
    ids, targets = batch["inputs"], batch["targets"]
    N, T = ids.shape
    masks = masks_for(cfg, batch, masks, (N, T))
    # (1) the causal encoder: h_t reads positions <= t only
    h, _, enc_cache = encoder_forward(params, cfg, ids, np.zeros((N, T), dtype=bool), masks)
    # (2) tied output head at every position             logits_t = h_t E^T + c
    # (3) loss = mean over t of -ln softmax(logits_t)[w_{t+1}]
    E, c, classes = output_head(params, cfg)
    loss, head_cache = output_forward(h.reshape(N * T, cfg.dim), E, c, targets.reshape(-1), classes)
    # backward (3)-(2)
    dh, dE_out, dc, dW_class, db_class = output_backward(1.0, head_cache)
    # backward (1)
    grads, dE_lookup = encoder_backward(dh, enc_cache)
    return loss, tied_grads(grads, dE_lookup, dE_out, dc, dW_class, db_class)


def log_probs(params: dict[str, np.ndarray], cfg: Config, ids: np.ndarray) -> np.ndarray:
    """ln P(next word | ids_<=t) over the vocabulary at every position: (N, T, V), eval mode."""
    _check_causal(cfg)
    N, T = ids.shape
    h, _, _ = encoder_forward(params, cfg, ids, np.zeros((N, T), dtype=bool))  # (N, T, D)
    return output_log_probs(h.reshape(N * T, cfg.dim), *output_head(params, cfg)).reshape(N, T, -1)


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


def nll(
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
        raise MinilmError(f"causal nll: inputs {inputs.shape} and targets {targets.shape} differ")
    windows = eval_windows(n, cfg.max_len, stride or max(cfg.max_len // 2, 1))
    T = min(cfg.max_len, n)
    E, c, classes = output_head(params, cfg)
    out = np.empty(n, dtype=np.float64)
    for b in range(0, len(windows), batch_size):
        start, first = windows[b : b + batch_size].T  # (B,) each
        at = start[:, None] + np.arange(T)  # (B, T) positions of the windows
        rows = np.flatnonzero(at >= first[:, None])  # flat indices of the scored positions
        h, _, _ = encoder_forward(
            params, cfg, inputs[at], np.zeros(at.shape, dtype=bool), rows=rows
        )  # (M, D): only the scored rows leave the last block
        scored = at.reshape(-1)[rows]  # (M,) their target positions, each once over all b
        out[scored] = output_nll(h, E, c, targets[scored], classes)
    return out
