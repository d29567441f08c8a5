"""Multi-head self-attention (Vaswani et al. 2017), position embeddings and masked mean pooling.

Self-attention over a sequence x (N, T, D) with h heads of size d = D / h:

    [Q | K | V] = x W_qkv + b_qkv                  one fused projection          (N, T, 3D)
    Q, K, V split into heads                       each                          (N, h, T, d)
    S = Q K^T / sqrt(d)                            scores, query i vs key j      (N, h, T, T)
    P = softmax(S) over keys j, padded keys j      attention weights             (N, h, T, T)
        excluded (weight exactly 0); causal: also
        every future key j > i (GPT's decoder mask)
    C = P V                                        context per head              (N, h, T, d)
    out = concat_heads(C) W_o + b_o                output projection             (N, T, D)

Column layout of W_qkv: columns [0, D) make Q, [D, 2D) make K, [2D, 3D) make V; within each block,
head j owns the d columns [j d, (j + 1) d). The 1/sqrt(d) keeps the scores' variance near 1 at
initialisation, so the softmax starts neither one-hot nor uniform.

Backward, in reverse (every forward line has its d-line):

    dC = split_heads(dout_proj)                    from the output affine's backward
    dP = dC V^T,   dV = P^T dC
    dS = P * (dP - sum_j P dP)                     softmax backward, per row (each query)
    dQ = dS K / sqrt(d),   dK = dS^T Q / sqrt(d)
    d[Q|K|V] -> the fused affine's backward -> dx, dW_qkv, db_qkv

The causal mask (Radford et al. 2018) sets S_ij = -inf for j > i before the softmax, so position
i reads only positions <= i and a next-word model cannot see the word it predicts. Masked
weights are exactly 0, so the same backward holds unchanged: dS_ij = P_ij (...) = 0 there.

Heads and batch are batched with reshapes and `@` on (N, h, T, .) arrays: no Python loop.

Also here: the position-wise feed-forward net of a block, out = GELU(x W_1 + b_1) W_2 + b_2;
sinusoidal positions (fixed), learned positions (a table P, sliced); the token embedding's
backward (a dense (V, D) scatter); and the masked mean that pools a padded sequence into one
vector. The GELU and the scatter run in the fast forms of minilm/fast/ (gelu.py, scatter.py),
each tested equal to its textbook form in minilm/layers/core.py (tests/test_fast.py).

Shapes: N batch, T time, D model width, h heads, d = D / h head size.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import DTypeLike

from minilm.errors import MinilmError
from minilm.fast import gelu as fast_gelu
from minilm.layers.core import affine_backward, affine_forward, embedding_backward


def attention_forward(
    x: np.ndarray,
    W_qkv: np.ndarray,
    b_qkv: np.ndarray,
    W_o: np.ndarray,
    b_o: np.ndarray,
    n_heads: int,
    pad_mask: np.ndarray | None = None,
    causal: bool = False,
) -> tuple[np.ndarray, tuple]:
    """Multi-head scaled dot-product self-attention with an optional key-padding mask.

    x:        (N, T, D)  input sequence
    W_qkv:    (D, 3D)    fused query/key/value projection, columns [Q | K | V]
    b_qkv:    (3D,)
    W_o:      (D, D)     output projection
    b_o:      (D,)
    n_heads:  h, must divide D
    pad_mask: (N, T) bool, True = padding: that position is never attended to as a key.
              Padded positions still produce an output row (as queries); the loss ignores it.
    causal:   True = query i never attends to a key j > i (a left-to-right decoder).
    Returns out (N, T, D) and the cache for `attention_backward`.
    """
    N, T, D = x.shape
    if n_heads < 1 or D % n_heads:
        raise MinilmError(f"n_heads={n_heads} must divide the model width D={D}; pick a divisor")
    if pad_mask is not None and (pad_mask.shape != (N, T) or pad_mask.dtype != np.bool_):
        raise MinilmError(
            f"pad_mask must be bool of shape {(N, T)}, got {pad_mask.dtype} {pad_mask.shape}; "
            "pass True for padding positions"
        )
    h, d = n_heads, D // n_heads
    scale = d**-0.5  # a Python float, so float32 inputs stay float32

    qkv, qkv_cache = affine_forward(x, W_qkv, b_qkv)  # (N, T, 3D)
    # (N, T, 3D) -> (N, T, 3, h, d) -> (3, N, h, T, d): one transpose splits Q/K/V and heads.
    q, k, v = qkv.reshape(N, T, 3, h, d).transpose(2, 0, 3, 1, 4)  # each (N, h, T, d), views
    scores = q @ k.swapaxes(-1, -2)  # (N, h, T, T) query i (rows) vs key j
    scores *= scale  # in place: (N, h, T, T) is the largest array here, avoid a second one
    # a fully padded row gets all-zero weights (finite, see _masked_softmax for why)
    p = _masked_softmax(scores, pad_mask, causal)  # (N, h, T, T), in the buffer of scores
    # C = P V written straight into the (N, T, h, d) layout that concatenates the heads, so
    # the concatenation below is a free reshape instead of a transpose copy
    ctx = np.empty((N, T, h, d), dtype=p.dtype)
    np.matmul(p, v, out=ctx.transpose(0, 2, 1, 3))  # (N, h, T, d) view of ctx
    out, out_cache = affine_forward(ctx.reshape(N, T, D), W_o, b_o)  # (N, T, D)

    cache = (qkv_cache, q, k, v, p, out_cache, scale)
    return out, cache


def attention_backward(
    dout: np.ndarray, cache: tuple
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Backward for `attention_forward`.

    dout: (N, T, D)
    Returns (dx (N, T, D), dW_qkv (D, 3D), db_qkv (3D,), dW_o (D, D), db_o (D,)).
    """
    qkv_cache, q, k, v, p, out_cache, scale = cache
    N, h, T, d = q.shape

    # out = ctx W_o + b_o
    dctx, dW_o, db_o = affine_backward(dout, out_cache)  # (N, T, D)
    dctx = dctx.reshape(N, T, h, d).transpose(0, 2, 1, 3)  # split heads: (N, h, T, d) view
    # d[Q|K|V] is assembled in place in the (N, T, 3, h, d) layout of the fused projection:
    # dq, dk, dv below are views of one buffer, so undoing the head split costs no copy.
    dqkv = np.empty((N, T, 3, h, d), dtype=dout.dtype)
    dq, dk, dv = dqkv.transpose(2, 0, 3, 1, 4)  # each (N, h, T, d)
    # ctx = p v
    dp = dctx @ v.swapaxes(-1, -2)  # (N, h, T, T)
    np.matmul(p.swapaxes(-1, -2), dctx, out=dv)  # dv = p^T dctx
    # p = softmax(scores) per row: dscores = p * (dp - sum_j p_j dp_j). Where p is exactly 0
    # (padded keys, future keys when causal, fully padded rows) dscores is 0 too: no gradient
    # reaches a masked key.
    # Computed in the buffer of dp (ours), the row sums with einsum (no (N, h, T, T) product).
    dp -= np.einsum("nhij,nhij->nhi", p, dp)[..., None]
    dp *= p
    dscores = dp  # (N, h, T, T)
    # scores = q k^T * scale
    np.matmul(dscores, k, out=dq)
    np.matmul(dscores.swapaxes(-1, -2), q, out=dk)
    dqkv[:, :, :2] *= scale  # dq, dk both carry the 1/sqrt(d) of the scores
    dx, dW_qkv, db_qkv = affine_backward(dqkv.reshape(N, T, 3 * h * d), qkv_cache)
    return dx, dW_qkv, db_qkv, dW_o, db_o


def _masked_softmax(
    scores: np.ndarray, pad_mask: np.ndarray | None, causal: bool = False
) -> np.ndarray:
    """Softmax over the keys (last axis) of scores (N, h, T, T), in place, masked keys excluded.

    pad_mask (N, T) True = padded key, or None; causal: keys j > i of query i are masked too.
    Overwrites `scores` (a fresh buffer of the caller's) and returns it.

    Stable: the row maximum over kept entries is subtracted before exp. A padded key's score
    becomes -inf (an additive bias row of 0 / -inf), and exp(-inf) = 0: its weight is exactly 0.
    Every step runs in place on the one (N, h, T, T) buffer: this is the layer's largest array.

    A row with nothing kept (a fully padded sequence) has no valid key, so we define its weights
    as all zeros: its context vector is 0 and its output is just b_o. The other common choice,
    filling masked scores with a large negative number, gives such a row uniform weights over
    the padding - finite, but it quietly averages padding vectors and sends gradient to them.
    Zero weights keep the output finite (no 0/0) and padded keys gradient-free in every case.
    """
    if pad_mask is not None and pad_mask.any():  # no padding at all: nothing to add
        bias = np.where(pad_mask, -np.inf, 0).astype(scores.dtype)  # (N, T): 0 keep, -inf pad
        scores += bias[:, None, None, :]  # broadcast over heads and queries
    if causal:
        T = scores.shape[-1]
        future = np.triu(np.ones((T, T), dtype=bool), k=1)  # (T, T) True where key j > query i
        np.copyto(scores, -np.inf, where=future)  # broadcast over batch and heads
    row_max = scores.max(axis=-1, keepdims=True)  # (N, h, T, 1)
    row_max[~np.isfinite(row_max)] = 0  # fully masked row: avoid -inf - -inf = nan
    scores -= row_max
    np.exp(scores, out=scores)  # 0 where masked
    total = scores.sum(axis=-1, keepdims=True)  # (N, h, T, 1)
    total[total == 0] = 1  # fully masked row: 0 / 1 = 0
    scores /= total
    return scores


def feed_forward_forward(
    x: np.ndarray, W_1: np.ndarray, b_1: np.ndarray, W_2: np.ndarray, b_2: np.ndarray
) -> tuple[np.ndarray, tuple]:
    """Position-wise feed-forward net (Vaswani et al. 2017, eq. 2, with GELU for ReLU).

        z = x W_1 + b_1      (., F)
        g = GELU(z)          (., F)   tanh approximation, in place (minilm/fast/gelu.py)
        out = g W_2 + b_2    (., D)

    x (..., D), W_1 (D, F), b_1 (F,), W_2 (F, D), b_2 (D,) -> out (..., D), cache.
    """
    z, fc1 = affine_forward(x, W_1, b_1)  # (., F)
    g, gelu_cache = fast_gelu.gelu_forward(z)  # (., F)
    out, fc2 = affine_forward(g, W_2, b_2)  # (., D)
    return out, (fc1, gelu_cache, fc2)


def feed_forward_backward(dout: np.ndarray, cache: tuple) -> tuple[np.ndarray, ...]:
    """Backward of `feed_forward_forward`: (dx, dW_1, db_1, dW_2, db_2)."""
    fc1, gelu_cache, fc2 = cache
    dg, dW_2, db_2 = affine_backward(dout, fc2)  # (., F)
    dz = fast_gelu.gelu_backward(dg, gelu_cache)  # (., F)
    dx, dW_1, db_1 = affine_backward(dz, fc1)  # (., D)
    return dx, dW_1, db_1, dW_2, db_2


def token_embedding_backward(dout: np.ndarray, cache: tuple[np.ndarray, int]) -> np.ndarray:
    """core.embedding_backward (the fast row scatter by the switch): dE (V, D), ids summed.

    dout (N, T, D), cache from core.embedding_forward. The (V, D) gradient is dense here: the
    tied output projection makes every row of E non-zero anyway.
    """
    return embedding_backward(dout, cache)


def sinusoidal_positions(T: int, D: int, dtype: DTypeLike = np.float32) -> np.ndarray:
    """Fixed position encodings of Vaswani et al. (2017), shape (T, D).

        PE[t, 2i]     = sin(t / 10000^(2i / D))
        PE[t, 2i + 1] = cos(t / 10000^(2i / D))

    Each pair of columns is a sine/cosine at one frequency, from 1 rad/step down to
    1/10000 rad/step, so PE[t + k] is a fixed rotation of PE[t] for every t. An odd D gets one
    extra sine column. Computed in float64, returned in `dtype`.
    """
    if T < 0 or D < 1:
        raise MinilmError(f"need T >= 0 and D >= 1 for positions, got T={T}, D={D}")
    t = np.arange(T, dtype=np.float64)[:, None]  # (T, 1)
    pair = np.arange(D) // 2  # (D,) i for columns 2i and 2i + 1
    angle = t / 10000.0 ** (2 * pair / D)  # (T, D)
    pe = np.where(np.arange(D) % 2 == 0, np.sin(angle), np.cos(angle))
    return pe.astype(dtype)


def position_forward(P: np.ndarray, T: int) -> tuple[np.ndarray, tuple]:
    """Learned positions: the first T rows of the table P (Tmax, D), returned as (T, D).

    The caller adds them to every sequence of the batch (broadcast over N). The rows are copied
    so that changing the output in place can never change the parameter.
    """
    Tmax, D = P.shape
    if not 0 <= T <= Tmax:
        raise MinilmError(
            f"sequence length {T} exceeds the {Tmax} learned positions; raise max_len"
        )
    return P[:T].copy(), (P.shape, P.dtype)


def position_backward(dout: np.ndarray, cache: tuple) -> np.ndarray:
    """Backward for `position_forward`: dP (Tmax, D).

    dout: (..., T, D). The same row P[t] is added to every sequence, so its gradient is the sum
    over all leading (batch) axes; rows t >= T were not used and get 0.
    """
    shape, dtype = cache
    T, D = dout.shape[-2:]
    dP = np.zeros(shape, dtype=dtype)  # (Tmax, D)
    dP[:T] = dout.reshape(-1, T, D).sum(axis=0)
    return dP


def masked_mean_forward(x: np.ndarray, pad_mask: np.ndarray) -> tuple[np.ndarray, tuple]:
    """Mean over the valid (not padded) positions of each sequence.

        out_n = sum_t w_nt x_nt,   w_nt = [not pad_nt] / max(1, number of valid t in row n)

    x:        (N, T, D)
    pad_mask: (N, T) bool, True = padding (left out of the mean)
    Returns out (N, D). A row with no valid position gets 0 (the max(1, .) avoids 0/0).
    """
    N, T, D = x.shape
    if pad_mask.shape != (N, T) or pad_mask.dtype != np.bool_:
        raise MinilmError(
            f"pad_mask must be bool of shape {(N, T)}, got {pad_mask.dtype} {pad_mask.shape}; "
            "pass True for padding positions"
        )
    valid = (~pad_mask).astype(x.dtype)  # (N, T)
    w = valid / np.maximum(valid.sum(axis=1, keepdims=True), 1)  # (N, T)
    out = np.einsum("nt,ntd->nd", w, x)  # (N, D)
    return out, (w,)


def masked_mean_backward(dout: np.ndarray, cache: tuple) -> np.ndarray:
    """Backward for `masked_mean_forward`: dx_nt = w_nt dout_n, shape (N, T, D)."""
    (w,) = cache
    return w[:, :, None] * dout[:, None, :]  # (N, T, D)
