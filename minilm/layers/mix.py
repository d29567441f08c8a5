"""ELMo's scalar mix: a softmax-weighted sum of a model's layers, scaled (Peters et al. 2018).

    s = softmax(w)                      (L+1,)  one weight per layer, summing to 1
    out = gamma * sum_j s_j layers_j    (N, T, E)

w and gamma are learned by the task that reads the vectors (docs/10-contextual.md's sense
probe would be one); with w = 0 the mix is the plain average of the layers.

Shapes: L+1 layers (the token layer 0 and L recurrent layers), N batch, T time, E width.
"""

from __future__ import annotations

import numpy as np

from minilm.errors import MinilmError


def scalar_mix_forward(
    layers: np.ndarray, w: np.ndarray, gamma: np.ndarray
) -> tuple[np.ndarray, tuple]:
    """layers (L+1, ..., E), w (L+1,), gamma (1,) -> out (..., E) and the cache."""
    if w.shape != (layers.shape[0],) or gamma.shape != (1,):
        raise MinilmError(
            f"scalar mix of {layers.shape[0]} layers needs w ({layers.shape[0]},) and gamma (1,),"
            f" got {w.shape} and {gamma.shape}"
        )
    e = np.exp(w - w.max())  # max subtracted: exp cannot overflow
    s = e / e.sum()  # (L+1,)
    mixed = np.tensordot(s, layers, axes=1)  # (..., E) sum_j s_j layers_j
    return gamma[0] * mixed, (layers, s, gamma, mixed)


def scalar_mix_backward(
    dout: np.ndarray, cache: tuple
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Returns (dlayers (L+1, ..., E), dw (L+1,), dgamma (1,))."""
    layers, s, gamma, mixed = cache
    # out = gamma * mixed, mixed = sum_j s_j layers_j
    dgamma = np.array([np.sum(dout * mixed)], dtype=gamma.dtype)
    dlayers = (gamma[0] * s).reshape((-1,) + (1,) * dout.ndim) * dout[None]
    ds = gamma[0] * np.tensordot(layers, dout, axes=dout.ndim)  # (L+1,) <layers_j, dout>
    dw = s * (ds - np.dot(s, ds))  # softmax backward: ds_j -> dw_i = s_i (ds_i - sum_j s_j ds_j)
    return dlayers, dw, dgamma
