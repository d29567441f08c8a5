"""Matryoshka representation learning: one loss for every nested prefix of a vector.

Kusupati et al. (2022), "Matryoshka Representation Learning": train so that the first m
dimensions of a vector are a good vector on their own, for every m in a nested list
(8, 16, 32, 64, ...). The loss is the sum over the prefixes of the task's loss on the prefix;
here the task is InfoNCE (minilm/layers/losses.py `info_nce`, page 08):

    loss = sum_{m in dims} InfoNCE(a[:, :m], b[:, :m])
    da[:, :m] += dInfoNCE_m / da[:, :m]        each prefix adds its gradient to its own slice

so the first dimensions, in every prefix, get the most gradient. A search can then keep only
the first m dimensions (less memory, faster products) and lose little (docs/13-search-mteb.md).
Shapes: a, b (N, D); every m in dims is 1..D.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from minilm.errors import MinilmError
from minilm.layers.losses import info_nce


def parse_dims(text: str) -> tuple[int, ...]:
    """'8,16,32,64' -> (8, 16, 32, 64): increasing positive ints (bad text: MinilmError)."""
    try:
        dims = tuple(int(x) for x in text.split(",") if x.strip())
    except ValueError:
        msg = f"--matryoshka wants comma-separated sizes like 8,16,32; got {text!r}"
        raise MinilmError(msg) from None
    if not dims or dims[0] < 1 or any(b <= a for a, b in zip(dims, dims[1:], strict=False)):
        raise MinilmError(f"--matryoshka sizes must be increasing and >= 1; got {text!r}")
    return dims


def matryoshka_info_nce(
    a: np.ndarray,
    b: np.ndarray,
    dims: Sequence[int],
    temperature: float = 0.05,
    symmetric: bool = True,
) -> tuple[float, np.ndarray, np.ndarray]:
    """Sum over m in dims of InfoNCE on the first m dimensions -> (loss, da (N, D), db (N, D))."""
    N, D = a.shape
    if not dims or max(dims) > D or min(dims) < 1:
        raise MinilmError(f"matryoshka sizes {tuple(dims)} must lie in 1..{D} (the width)")
    loss = 0.0
    da, db = np.zeros_like(a), np.zeros_like(b)
    for m in dims:
        loss_m, da_m, db_m = info_nce(a[:, :m], b[:, :m], temperature, symmetric)
        loss += loss_m
        da[:, :m] += da_m  # backward of the slice: the prefix's gradient into its columns
        db[:, :m] += db_m
    return loss, da, db
