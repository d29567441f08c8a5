"""Core layers: affine, embedding, activations, dropout, layer norm.

Every layer is a pair of pure functions (cs231n style):

    out, cache = name_forward(x, *params, **hyper)
    dx, dparam1, ... = name_backward(dout, cache)

`d` means dloss/d(that). Gradients come back in the order the forward took its arguments;
integer inputs (token ids) get none. A backward never modifies its cache, so it may be called
twice. No layer keeps state or draws random numbers by itself (dropout takes an rng or a mask).
The dtype follows the input: float32 for training, float64 for gradient checks.

Shape legend: N batch, T time, D input/embedding width, H output width, V vocabulary rows.
"..." means any number of leading dimensions, e.g. (N, D) or (N, T, D).
"""

from __future__ import annotations

import numpy as np

from minilm.errors import MinilmError
from minilm.fast import gelu as fast_gelu
from minilm.layers.primitives import add_rows_at, fast_kernels  # the row scatter and the switch

# ---------------------------------------------------------------------------------------------
# Affine
# ---------------------------------------------------------------------------------------------


def affine_forward(
    x: np.ndarray, W: np.ndarray, b: np.ndarray
) -> tuple[np.ndarray, tuple[np.ndarray, np.ndarray]]:
    """out = x @ W + b, applied at every leading position.

    x (..., D), W (D, H), b (H,) -> out (..., H).
    """
    D, H = W.shape
    if x.shape[-1:] != (D,) or b.shape != (H,):
        raise MinilmError(
            f"affine: x {x.shape}, W {W.shape}, b {b.shape} do not fit; "
            "need x (..., D), W (D, H), b (H,)"
        )
    # One 2-D product: NumPy runs (N, T, D) @ (D, H) as N small products, slower on 2 threads.
    out = x.reshape(-1, D) @ W  # (N*T, H)
    out += b
    return out.reshape(*x.shape[:-1], H), (x, W)


def affine_backward(
    dout: np.ndarray, cache: tuple[np.ndarray, np.ndarray]
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Gradients of out = x @ W + b.

    dx = dout @ W^T                       (..., D)
    dW = sum over positions of x^T dout   (D, H)   every position used the same W
    db = sum over positions of dout       (H,)
    """
    x, W = cache
    D, H = W.shape
    dout2 = dout.reshape(-1, H)  # (N*T, H): 2-D products, as in the forward
    dx = (dout2 @ W.T).reshape(x.shape)  # (..., D)
    dW = x.reshape(-1, D).T @ dout2  # (D, H)
    db = dout2.sum(axis=0)  # (H,)
    return dx, dW, db


# ---------------------------------------------------------------------------------------------
# Embedding and the duplicate-safe row scatter
# ---------------------------------------------------------------------------------------------


def _check_ids(ids: np.ndarray, num_rows: int, what: str) -> None:
    """Token ids must be integers in [0, num_rows): W[-1] would silently read the last row."""
    if not np.issubdtype(ids.dtype, np.integer):
        raise MinilmError(f"{what}: ids have dtype {ids.dtype}; pass integer token ids")
    if ids.size and (ids.min() < 0 or ids.max() >= num_rows):
        raise MinilmError(
            f"{what}: ids range over [{ids.min()}, {ids.max()}] but the table has {num_rows} "
            f"rows; ids must lie in [0, {num_rows})"
        )


def scatter_add_rows(ids: np.ndarray, grads: np.ndarray, num_rows: int) -> np.ndarray:
    """Dense table gradient: dW[v] = sum of grads[i] over every i with ids[i] == v.

    ids int (...), grads (..., D) -> dW (num_rows, D), dtype of grads. The rows are added into
    the zero table by add_rows_at (minilm/layers/primitives.py: np.add.at, or its fast equal).
    """
    ids = np.asarray(ids)
    _check_ids(ids, num_rows, "scatter_add_rows")
    D = grads.shape[-1]
    if grads.shape[:-1] != ids.shape:
        raise MinilmError(
            f"scatter_add_rows: grads {grads.shape} do not match ids {ids.shape}; "
            "need grads of shape ids.shape + (D,)"
        )
    dW = np.zeros((num_rows, D), dtype=grads.dtype)
    add_rows_at(dW, ids.reshape(-1), grads.reshape(-1, D))
    return dW


def sum_rows(ids: np.ndarray, grads: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Sparse table gradient: the distinct rows touched and their summed gradients.

    ids int (...), grads (..., D) -> (row_ids (R,) sorted unique, row_grads (R, D)),
    where row_grads[r] = sum of grads[i] over every i with ids[i] == row_ids[r].
    An optimiser then updates only those R rows instead of the whole (V, D) table.
    """
    ids = np.asarray(ids)
    if not np.issubdtype(ids.dtype, np.integer):
        raise MinilmError(f"sum_rows: ids have dtype {ids.dtype}; pass integer token ids")
    if grads.shape[:-1] != ids.shape:
        raise MinilmError(
            f"sum_rows: grads {grads.shape} do not match ids {ids.shape}; "
            "need grads of shape ids.shape + (D,)"
        )
    # Renumber the touched rows 0..R-1, then reuse the dense scatter on that small table.
    row_ids, compact = np.unique(ids.reshape(-1), return_inverse=True)
    row_grads = scatter_add_rows(compact, grads.reshape(-1, grads.shape[-1]), row_ids.size)
    return row_ids, row_grads


def embedding_forward(ids: np.ndarray, W: np.ndarray) -> tuple[np.ndarray, tuple[np.ndarray, int]]:
    """Table lookup: out[...] = W[ids[...]].

    ids int (...), W (V, D) -> out (..., D). Equivalent to one_hot(ids) @ W without building
    the one-hot matrix.
    """
    V, _ = W.shape
    ids = np.asarray(ids)
    _check_ids(ids, V, "embedding")
    out = W[ids]  # (..., D)
    return out, (ids, V)


def embedding_backward(dout: np.ndarray, cache: tuple[np.ndarray, int]) -> np.ndarray:
    """dW (V, D): each row receives the sum of dout at every position that looked it up."""
    ids, V = cache
    return scatter_add_rows(ids, dout, V)


def embedding_backward_rows(
    dout: np.ndarray, cache: tuple[np.ndarray, int]
) -> tuple[np.ndarray, np.ndarray]:
    """Sparse form of embedding_backward: (row_ids (R,) sorted unique, row_grads (R, D))."""
    ids, _ = cache
    return sum_rows(ids, dout)


# ---------------------------------------------------------------------------------------------
# Element-wise activations. Each caches what its derivative needs, in the input's dtype.
# ---------------------------------------------------------------------------------------------


def tanh_forward(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """out = tanh(x)."""
    out = np.tanh(x)
    return out, out


def tanh_backward(dout: np.ndarray, cache: np.ndarray) -> np.ndarray:
    """tanh'(x) = 1 - tanh(x)^2, written with the cached output."""
    out = cache
    return dout * (1 - out * out)


def sigmoid(x: np.ndarray) -> np.ndarray:
    """Logistic function 1 / (1 + exp(-x)), stable for any |x|.

    exp(-x) overflows for x << 0, so use e = exp(-|x|) <= 1 on both sides:
    sigma(x) = 1 / (1 + e) for x >= 0 and e / (1 + e) for x < 0 (the same value), i.e.
    exp(min(x, 0)) / (1 + e) - without a branch (np.where over mixed signs is several times
    slower).
    """
    out = np.exp(np.minimum(x, 0))
    out /= 1 + np.exp(-np.abs(x))
    return out


def sigmoid_forward(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """out = sigma(x) = 1 / (1 + exp(-x)), computed without overflow."""
    out = sigmoid(x)
    return out, out


def sigmoid_backward(dout: np.ndarray, cache: np.ndarray) -> np.ndarray:
    """sigma'(x) = sigma(x) (1 - sigma(x)), written with the cached output."""
    out = cache
    return dout * out * (1 - out)


def relu_forward(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """out = max(x, 0)."""
    return np.maximum(x, 0), x > 0


def relu_backward(dout: np.ndarray, cache: np.ndarray) -> np.ndarray:
    """relu'(x) = 1 where x > 0 else 0 (we take 0 at the kink x = 0)."""
    positive = cache
    return dout * positive


# GELU, tanh approximation (Hendrycks & Gimpel 2016, as in BERT and GPT-2):
#   gelu(x) ~ 0.5 x (1 + tanh(u)),   u = sqrt(2/pi) (x + 0.044715 x^3).
# The exact GELU is x * Phi(x) with the normal CDF Phi, which needs erf; NumPy has no vectorised
# erf, and the approximation differs from it by less than 5e-4 everywhere.
GELU_C = float(np.sqrt(2 / np.pi))
GELU_A = 0.044715


def gelu_forward(x: np.ndarray) -> tuple[np.ndarray, tuple | np.ndarray]:
    """out = 0.5 x (1 + tanh(u)),  u = sqrt(2/pi) (x + 0.044715 x^3)  (tanh approximation).

    x (...) -> out (...). The cache keeps x and t = tanh(u) for the backward. With the fast
    switch on (minilm/layers/primitives.py), minilm/fast/gelu.py computes the same in place,
    caching the derivative instead; gelu_backward tells the two caches apart.
    """
    if fast_kernels():
        return fast_gelu.gelu_forward(x)
    t = np.tanh(GELU_C * (x + GELU_A * x * x * x))
    out = 0.5 * x * (1 + t)
    return out, (x, t)


def gelu_backward(dout: np.ndarray, cache: tuple | np.ndarray) -> np.ndarray:
    """Product rule on out = 0.5 x (1 + t), t = tanh(u), u = c (x + a x^3):

    d out / dx = 0.5 (1 + t) + 0.5 x (1 - t^2) du/dx,   du/dx = c (1 + 3 a x^2).
    """
    if not isinstance(cache, tuple):  # the fast form's cache: the derivative itself
        return fast_gelu.gelu_backward(dout, cache)
    x, t = cache
    du_dx = GELU_C * (1 + 3 * GELU_A * x * x)
    return dout * (0.5 * (1 + t) + 0.5 * x * (1 - t * t) * du_dx)


# ---------------------------------------------------------------------------------------------
# Dropout
# ---------------------------------------------------------------------------------------------


def dropout_forward(
    x: np.ndarray,
    p: float,
    rng: np.random.Generator | None = None,
    mask: np.ndarray | None = None,
    train: bool = True,
) -> tuple[np.ndarray, tuple[np.ndarray, np.floating] | None]:
    """Inverted dropout: out = x * keep / (1 - p), keep ~ Bernoulli(1 - p) per element.

    Dividing by the keep probability during training keeps E[out] = x, so evaluation
    (train=False) is the plain identity. The keep mask is either given (`mask`, bool,
    broadcastable to x, True = keep; e.g. (N, 1, D) to drop the same units at every time step)
    or drawn from `rng` with the shape of x - exactly one of the two when training.
    """
    if not 0 <= p < 1:
        raise MinilmError(f"dropout: p = {p} is not a probability in [0, 1)")
    if not train:
        return x.copy(), None
    if (rng is None) == (mask is None):
        raise MinilmError("dropout: pass exactly one of rng (to draw a mask) or mask when training")
    if mask is None:
        mask = rng.random(x.shape, dtype=np.float32) >= p  # True with probability 1 - p
    elif mask.dtype != bool:
        raise MinilmError(f"dropout: mask has dtype {mask.dtype}; pass a bool keep-mask")
    scale = np.divide(1, 1 - p, dtype=x.dtype)  # 1/(1-p) in x's dtype
    # The cache is the bool mask itself (1 byte an element) and the scale: no float copy of
    # the mask is built, in the forward or kept for the backward.
    out = np.multiply(x, mask)  # x where kept, 0 where dropped (exact)
    out *= scale
    return out, (mask, scale)


def dropout_backward(dout: np.ndarray, cache: tuple[np.ndarray, np.floating] | None) -> np.ndarray:
    """dx = dout * keep / (1 - p): the same mask and scale as the forward (identity in eval)."""
    if cache is None:
        return dout.copy()
    mask, scale = cache
    dx = np.multiply(dout, mask)
    dx *= scale
    return dx


# ---------------------------------------------------------------------------------------------
# Layer normalisation
# ---------------------------------------------------------------------------------------------


def layernorm_forward(
    x: np.ndarray, gamma: np.ndarray, beta: np.ndarray, eps: float = 1e-5
) -> tuple[np.ndarray, tuple[np.ndarray, np.ndarray, np.ndarray]]:
    """Layer norm over the last axis (Ba et al. 2016).

    mu = mean(x), var = mean((x - mu)^2), xhat = (x - mu) / sqrt(var + eps),
    out = gamma * xhat + beta.      x (..., D), gamma (D,), beta (D,) -> out (..., D).
    """
    D = x.shape[-1]
    if gamma.shape != (D,) or beta.shape != (D,):
        raise MinilmError(
            f"layernorm: gamma {gamma.shape} and beta {beta.shape} must both be ({D},) for x "
            f"{x.shape}"
        )
    mu = x.mean(axis=-1, keepdims=True)  # (..., 1)
    xhat = x - mu  # (..., D)  centred; normalised in place below
    # the row sums of squares by einsum: no (..., D) array of squares is built
    var = np.einsum("...d,...d->...", xhat, xhat)[..., None] / D  # (..., 1)
    rstd = 1 / np.sqrt(var + eps)  # (..., 1)
    xhat *= rstd  # (..., D)
    out = xhat * gamma
    out += beta  # (..., D)
    return out, (xhat, gamma, rstd)


def layernorm_backward(
    dout: np.ndarray, cache: tuple[np.ndarray, np.ndarray, np.ndarray]
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Gradients of layer norm: (dx, dgamma, dbeta)."""
    xhat, gamma, rstd = cache
    D = xhat.shape[-1]
    # forward: out = gamma * xhat + beta, summed over every leading position
    dbeta = dout.reshape(-1, D).sum(axis=0)  # (D,)
    buf = dout * xhat  # (..., D)
    dgamma = buf.reshape(-1, D).sum(axis=0)  # (D,)
    dxhat = np.multiply(dout, gamma, out=buf)  # (..., D)  the same buffer, reused
    # forward: xhat = (x - mean(x)) * rstd, rstd = (mean((x - mean(x))^2) + eps)^(-1/2).
    # x enters through the centring and through rstd; collecting both paths gives the compact
    #   dx = rstd * (dxhat - mean(dxhat) - xhat * mean(dxhat * xhat)),
    # means over the last axis: the two subtractions remove the components of dxhat along the
    # directions the normalisation fixes (the constant shift and the scale of xhat).
    # Built in one buffer, the row means of dxhat * xhat by einsum (no product array).
    proj = np.einsum("...d,...d->...", dxhat, xhat)[..., None] / D  # (..., 1)
    dx = xhat * proj  # (..., D)
    np.subtract(dxhat, dx, out=dx)
    dx -= dxhat.mean(axis=-1, keepdims=True)
    dx *= rstd
    return dx, dgamma, dbeta
