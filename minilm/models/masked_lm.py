"""The masked language model (a miniature BERT): the encoder plus a tied output head.

Devlin et al. (2019), "BERT": ~15% of the tokens of a sentence are hidden (minilm/data/
batchers.py `MLMBatches` picks them and replaces them by <mask>, a random word, or themselves)
and the network predicts each from the words on both sides:

    h = Encoder(corrupted sentence)                       minilm/models/encoder.py
    logits_m = h_m E^T + c      only at the masked positions m (tied output projection)
    loss = mean over masked m of -ln softmax(logits_m)[w_m]

The output projection is the token embedding E (Press & Wolf 2017): E is looked up at the
bottom and projected onto at the top, and its gradient is the sum of both paths. Only masked
positions are scored, so the encoder is asked for those rows alone (`rows=`): the V-sized
product, the last feed-forward sublayer and the final LayerNorm run on ~15% of the positions.

With output="class" the head is Mikolov's class-factored softmax (minilm/layers/output.py):
still tied to E and still an exact distribution, at ~C + V/C scores per masked position.

A batch is {"inputs" (N, T), "targets" (N, T), "pad_mask" (N, T) True = padding, "loss_mask"
(N, T) True = predicted}, plus "dropout_seed" when cfg.dropout > 0 (encoder.py's docstring).
Shapes: N batch, T time, D width, V vocabulary, M masked positions in the batch.
"""

from __future__ import annotations

import numpy as np

from minilm.layers.output import output_backward, output_forward, output_log_probs, output_nll
from minilm.models.encoder import (
    Config,
    encoder_backward,
    encoder_forward,
    masks_for,
    output_head,
    tied_grads,
)


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
    N, T = ids.shape
    masks = masks_for(cfg, batch, masks, (N, T))
    # (1) the encoder, its output only at the masked positions (the others are never scored)
    rows = np.flatnonzero(batch["loss_mask"])  # (M,) flat indices, row-major like h[loss_mask]
    hm, _, enc_cache = encoder_forward(params, cfg, ids, batch["pad_mask"], masks, rows)  # (M, D)
    target = targets.reshape(-1)[rows]  # (M,)
    # (2) tied output head                               logits = h_m E^T + c
    # (3) loss = mean over masked m of -ln softmax(logits_m)[w_m]
    E, c, classes = output_head(params, cfg)
    loss, head_cache = output_forward(hm, E, c, target, classes)
    # backward (3)-(2)
    dhm, dE_out, dc, dW_class, db_class = output_backward(1.0, head_cache)
    # backward (1): the encoder puts dhm back at the masked positions itself
    grads, dE_lookup = encoder_backward(dhm, enc_cache)
    return loss, tied_grads(grads, dE_lookup, dE_out, dc, dW_class, db_class)


def log_probs(params: dict[str, np.ndarray], cfg: Config, hm: np.ndarray) -> np.ndarray:
    """ln P(token | h_m) of the tied head over the whole vocabulary (M, V); hm (M, D)."""
    return output_log_probs(hm, *output_head(params, cfg))


def predictions(
    params: dict[str, np.ndarray], cfg: Config, batch: dict[str, np.ndarray]
) -> np.ndarray:
    """The most likely token (M,) at each masked position of the batch (evaluation mode)."""
    rows = np.flatnonzero(batch["loss_mask"])  # only the masked positions are scored
    hm, _, _ = encoder_forward(params, cfg, batch["inputs"], batch["pad_mask"], rows=rows)
    return log_probs(params, cfg, hm).argmax(axis=1)


def nll(params: dict[str, np.ndarray], cfg: Config, batch: dict[str, np.ndarray]) -> np.ndarray:
    """-ln P(target | the corrupted sentence) at each masked position (M,), float64.

    exp(mean) over a split is the masked-token *pseudo*-perplexity: each prediction sees the
    words on both sides of the gap, so it is not comparable with a left-to-right perplexity.
    """
    rows = np.flatnonzero(batch["loss_mask"])
    target = batch["targets"].reshape(-1)[rows]
    hm, _, _ = encoder_forward(params, cfg, batch["inputs"], batch["pad_mask"], rows=rows)
    E, c, classes = output_head(params, cfg)
    return output_nll(hm, E, c, target, classes)
