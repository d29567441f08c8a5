"""Sentence vectors by contrastive fine-tuning: Sentence-BERT with in-batch negatives.

Reimers & Gurevych (2019), "Sentence-BERT": a sentence's vector is the mean of the encoder's
last hidden states over its tokens; fine-tuning pulls a sentence and its paraphrase together
and pushes the other sentences of the batch away, with the InfoNCE loss of van den Oord et al.
(2018) (minilm/layers/losses.py `info_nce`):

    h = Encoder(sentences)                                minilm/models/encoder.py
    s_n = (1 / |valid t|) sum_{valid t} h_{n,t}           mean pooling     (layers/attention.py)
    loss = InfoNCE(s_a, s_b)                              pair i of a, b the positive

A batch is {"inputs" (2N, T), "pad_mask" (2N, T)}: rows 0..N-1 are sentences a_i, rows N..2N-1
their paraphrases b_i (`PairBatches` in minilm/data/sentences.py), plus "dropout_seed" when
cfg.dropout > 0. The language-model head (out_bias, out_class.*) is not used here: its
gradient is 0. Shapes: N pairs, T time, D width.
"""

from __future__ import annotations

import numpy as np

from minilm.layers.attention import masked_mean_backward, masked_mean_forward
from minilm.layers.losses import info_nce
from minilm.layers.matryoshka import matryoshka_info_nce
from minilm.models.encoder import (
    HEAD_PARAMS,
    Config,
    encode,
    encoder_backward,
    encoder_forward,
    masks_for,
)


def loss_and_grads(
    params: dict[str, np.ndarray],
    batch: dict[str, np.ndarray],
    cfg: Config,
    temperature: float = 0.05,
    symmetric: bool = True,
    masks: dict[str, np.ndarray] | None = None,
    matryoshka: tuple[int, ...] = (),
) -> tuple[float, dict[str, np.ndarray]]:
    """InfoNCE loss of mean-pooled sentence vectors and the gradient of every parameter.

    `matryoshka` (8, 16, ...): the loss summed over those nested prefixes of the vectors
    (minilm/layers/matryoshka.py); () the plain loss.

    Bind `cfg` (and the temperature) with functools.partial for the loop; `masks` as in
    minilm/models/masked_lm.py.
    """
    ids, pad_mask = batch["inputs"], batch["pad_mask"]
    N2, T = ids.shape
    N = N2 // 2
    masks = masks_for(cfg, batch, masks, (N2, T))
    # (1) the encoder on both halves at once
    h, _, enc_cache = encoder_forward(params, cfg, ids, pad_mask, masks)  # (2N, T, D)
    # (2) mean-pool each sentence's valid tokens
    s, pool_cache = masked_mean_forward(h, pad_mask)  # (2N, D)
    # (3) InfoNCE between the two halves
    if matryoshka:
        loss, da, db = matryoshka_info_nce(s[:N], s[N:], matryoshka, temperature, symmetric)
    else:
        loss, da, db = info_nce(s[:N], s[N:], temperature, symmetric)

    # backward (3) -> (2) -> (1)
    ds = np.concatenate([da, db])  # (2N, D)
    dh = masked_mean_backward(ds, pool_cache)  # (2N, T, D)
    grads, dtok_emb_lookup = encoder_backward(dh, enc_cache)
    grads["tok_emb"] = dtok_emb_lookup  # no output projection in this loss: one path only
    for name in HEAD_PARAMS:  # the language-model head: unused here
        if name in params:
            grads[name] = np.zeros_like(params[name])
    return loss, grads


def sentence_vectors(
    params: dict[str, np.ndarray],
    cfg: Config,
    ids: np.ndarray,
    pad_mask: np.ndarray,
    layer: int = -1,
) -> np.ndarray:
    """Mean of one layer's hidden states over each sentence's valid tokens: (N, D), eval mode."""
    return masked_mean_forward(encode(params, cfg, ids, pad_mask)[layer], pad_mask)[0]
