"""The output layer of a language model: scores over the V words of the vocabulary.

    logits = h E^T + c                  E (V, D) the output matrix, c (V,) its bias
    loss   = mean over rows m of -ln softmax(logits_m)[target_m]

With `classes` the same distribution is Mikolov's class-factored softmax
(minilm/layers/class_softmax.py): P(w | h) = softmax(h W_class + b_class)[c(w)] *
softmax_{j in c(w)}(h E_j^T + c_j)[w], an exact distribution at ~C + V/C scores a row instead
of V. The transformer's language models (minilm/models/masked_lm.py, causal_lm.py) pass their
token embedding as E: the output projection tied to the input (Press & Wolf 2017).

Backward of the full softmax (softmax_cross_entropy returns dlogits):
    dh = dlogits E,   dE = dlogits^T h,   dc = sum_m dlogits_m

Shapes: M rows scored, D width, V vocabulary, C word classes. `classes` is None or the triple
(W_class (D, C), b_class (C,), bounds (C + 1,)): class c holds the ids [bounds[c], bounds[c+1]).
"""

from __future__ import annotations

import numpy as np

from minilm.layers.class_softmax import (
    class_log_probs,
    class_nll,
    class_softmax_backward,
    class_softmax_forward,
)
from minilm.layers.losses import log_softmax, softmax_cross_entropy

Classes = tuple[np.ndarray, np.ndarray, np.ndarray] | None


def output_forward(
    h: np.ndarray, E: np.ndarray, c: np.ndarray, target: np.ndarray, classes: Classes = None
) -> tuple[float, tuple]:
    """Mean -ln P(target_m | h_m) over the rows: h (M, D), E (V, D), c (V,), target (M,)."""
    if classes is not None:
        W_class, b_class, bounds = classes
        loss, cache = class_softmax_forward(h, W_class, b_class, E.T, c, target, bounds)
        return float(loss), ("class", cache)
    logits = h @ E.T  # (M, V)
    logits += c  # in place: no second (M, V) temporary
    loss, dlogits = softmax_cross_entropy(logits, target)  # (M, V)
    return float(loss), ("full", (h, E, dlogits))


def output_backward(dloss: float, cache: tuple) -> tuple[np.ndarray, ...]:
    """Backward of `output_forward`: (dh (M, D), dE (V, D), dc (V,), dW_class, db_class).

    dW_class and db_class are None for the full softmax.
    """
    kind, inner = cache
    if kind == "class":
        dh, dW_class, db_class, dE_T, dc = class_softmax_backward(dloss, inner)
        return dh, dE_T.T, dc, dW_class, db_class
    h, E, dlogits = inner
    if dloss != 1:
        dlogits = dlogits * dloss
    # logits = h E^T + c
    dh = dlogits @ E  # (M, D)
    dE = dlogits.T @ h  # (V, D)
    dc = dlogits.sum(axis=0)  # (V,)
    return dh, dE, dc, None, None


def output_log_probs(
    h: np.ndarray, E: np.ndarray, c: np.ndarray, classes: Classes = None
) -> np.ndarray:
    """ln P(word | h_m) over the whole vocabulary: (M, V)."""
    if classes is not None:
        W_class, b_class, bounds = classes
        return class_log_probs(h, W_class, b_class, E.T, c, bounds)
    return log_softmax(h @ E.T + c)


def output_nll(
    h: np.ndarray, E: np.ndarray, c: np.ndarray, target: np.ndarray, classes: Classes = None
) -> np.ndarray:
    """-ln P(target_m | h_m) for each row, float64 (M,)."""
    if classes is not None:
        W_class, b_class, bounds = classes
        return class_nll(h, W_class, b_class, E.T, c, target, bounds)
    lp = output_log_probs(h, E, c)  # (M, V)
    return -lp[np.arange(target.size), target].astype(np.float64)
