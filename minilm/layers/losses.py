"""Losses on logits, fused with their gradient: `loss, dlogits = name(logits, targets, mask)`.

Each loss is the mean over the *counted* entries (mask True; all entries when mask is None), so
its value does not depend on how much padding a batch carries. If nothing is counted the loss is
0 and every gradient is 0 (never 0/0 = NaN). The loss is a Python float summed in float64;
dlogits has the dtype of the logits.

Stability: softmax goes through logsumexp with the row maximum subtracted, and the logistic
loss through np.logaddexp, so logits of +-1e4 give finite, correct values.

Also here: `info_nce`, the contrastive loss over pairs of vectors (van den Oord et al. 2018),
`loss, da, db = info_nce(a, b)`, used by minilm/models/contrastive.py.

Shape legend: "..." any leading dimensions (N) or (N, T); V classes (the vocabulary).
"""

from __future__ import annotations

import numpy as np

from minilm.errors import MinilmError
from minilm.layers.core import sigmoid


def log_softmax(logits: np.ndarray) -> np.ndarray:
    """log p = z - logsumexp(z) over the last axis, with m = max(z) subtracted first.

    logsumexp(z) = m + log(sum(exp(z - m))): every exponent is <= 0, so nothing overflows,
    and the largest term is exp(0) = 1, so the log never sees 0.
    """
    shifted = logits - logits.max(axis=-1, keepdims=True)  # (..., V)
    return shifted - np.log(np.exp(shifted).sum(axis=-1, keepdims=True))


def _counted(mask: np.ndarray | None, shape: tuple[int, ...], what: str) -> np.ndarray:
    """The bool array of entries that count (True), checked against the expected shape."""
    if mask is None:
        return np.ones(shape, dtype=bool)
    mask = np.asarray(mask)
    if mask.dtype != bool or mask.shape != shape:
        raise MinilmError(
            f"{what}: mask has dtype {mask.dtype} and shape {mask.shape}; "
            f"pass a bool array of shape {shape} (True = counted)"
        )
    return mask


def softmax_cross_entropy(
    logits: np.ndarray, targets: np.ndarray, mask: np.ndarray | None = None
) -> tuple[float, np.ndarray]:
    """Mean negative log-likelihood of the targets under softmax(logits).

    logits (..., V), targets int (...), mask bool (...) True = counted -> (loss, dlogits (..., V)).

        loss = (1/n) sum_{counted i} -log softmax(z_i)[y_i],        n = number counted
        dloss/dz_i = (softmax(z_i) - onehot(y_i)) / n  if i counted, else 0.

    Targets at uncounted positions are ignored (they may hold any value, e.g. a padding id).
    With all-zero logits every class has p = 1/V, so the loss is exactly ln V.
    """
    V = logits.shape[-1]
    lead = logits.shape[:-1]
    targets = np.asarray(targets)
    if targets.shape != lead or not np.issubdtype(targets.dtype, np.integer):
        raise MinilmError(
            f"softmax_cross_entropy: targets {targets.dtype} {targets.shape} do not fit logits "
            f"{logits.shape}; need integer targets of shape {lead}"
        )
    counted = _counted(mask, lead, "softmax_cross_entropy")
    n = int(counted.sum())
    if n == 0:
        return 0.0, np.zeros_like(logits)
    y = np.where(counted, targets, 0).reshape(-1)  # (M,)  uncounted -> harmless class 0
    if y.min() < 0 or y.max() >= V:
        raise MinilmError(
            f"softmax_cross_entropy: targets range over [{y.min()}, {y.max()}]; "
            f"counted targets must lie in [0, {V})"
        )
    z = logits.reshape(-1, V)  # (M, V)
    # Fused: one (M, V) buffer goes z - max -> exp -> softmax - onehot, in place. The logits
    # of a language model are the largest array of a step, and each pass over them costs.
    dlogits = z - z.max(axis=1, keepdims=True)  # (M, V)  every entry <= 0: exp cannot overflow
    rows = np.arange(y.size)
    shifted_y = dlogits[rows, y]  # (M,)  z_y - max, read before the buffer is overwritten
    np.exp(dlogits, out=dlogits)  # (M, V)
    total = dlogits.sum(axis=1)  # (M,)  >= 1 (the max entry contributes exp(0)), so log is safe
    keep = counted.reshape(-1)  # (M,)
    nll = np.log(total) - shifted_y  # (M,)  -log softmax(z)[y] = logsumexp - z_y
    loss = float(nll[keep].sum(dtype=np.float64)) / n

    # dloss/dz = keep (exp / total - onehot) / n: one scale per row, then the target entries
    weight = keep.astype(dlogits.dtype) / n  # (M,)  1/n if counted, else 0
    dlogits *= (weight / total)[:, None]  # softmax / n (uncounted rows: 0)
    dlogits[rows, y] -= weight  # each row has one target, so no duplicate indices here
    return loss, dlogits.reshape(logits.shape)


def logistic_loss(
    logits: np.ndarray, labels: np.ndarray, mask: np.ndarray | None = None
) -> tuple[float, np.ndarray]:
    """Mean binary cross-entropy on logits (negative sampling: label 1 = true pair, 0 = noise).

    logits z (...), labels y (...) in {0, 1}, mask bool (...) True = counted -> (loss, dlogits).

        -log sigma(z)     = softplus(-z) = logaddexp(0, -z)    for y = 1
        -log(1 - sigma(z)) = softplus(z)  = logaddexp(0,  z)    for y = 0
        loss = (1/n) sum_{counted} [y softplus(-z) + (1 - y) softplus(z)]
        dloss/dz = (sigma(z) - y) / n  if counted, else 0.

    Each softplus is evaluated on its own (no softplus(z) - y z), so nothing cancels.
    """
    labels = np.asarray(labels)
    if labels.shape != logits.shape:
        raise MinilmError(
            f"logistic_loss: labels {labels.shape} do not match logits {logits.shape}; "
            "pass one 0/1 label per logit"
        )
    counted = _counted(mask, logits.shape, "logistic_loss")
    n = int(counted.sum())
    if n == 0:
        return 0.0, np.zeros_like(logits)
    y = labels.astype(logits.dtype)
    per_entry = y * np.logaddexp(0, -logits) + (1 - y) * np.logaddexp(0, logits)
    loss = float(per_entry[counted].sum(dtype=np.float64)) / n
    dlogits = sigmoid(logits) - y
    dlogits *= counted
    dlogits /= n
    return loss, dlogits


def info_nce(
    a: np.ndarray, b: np.ndarray, temperature: float = 0.05, symmetric: bool = True
) -> tuple[float, np.ndarray, np.ndarray]:
    """InfoNCE over cosine similarities; pair i of a and b is the positive, the rest negatives.

        u_i = a_i / |a_i|,  v_j = b_j / |b_j|,  S_ij = u_i . v_j / tau          S (N, N)
        loss_ab = (1/N) sum_i -ln softmax_j(S_i.)[i]      find b_i among all b for each a_i
        loss_ba = (1/N) sum_j -ln softmax_i(S_.j)[j]      and a_j among all a for each b_j
        loss = (loss_ab + loss_ba) / 2   if symmetric, else loss_ab

    A small temperature tau sharpens the softmax, so near-miss negatives are pushed hard.
    a, b (N, D) -> (loss, da (N, D), db (N, D)).

    Backward, in reverse:
        dS = (dS_ab + dS_ba^T) / 2     from the two cross-entropies (a plain softmax CE each)
        du = dS v / tau,   dv = dS^T u / tau
        da = (du - u (u . du)) / |a|   the normalisation keeps only the part orthogonal to u
    """
    N, D = a.shape
    if b.shape != (N, D):
        raise MinilmError(f"info_nce: a {a.shape} and b {b.shape} must have the same shape")
    if not temperature > 0:
        raise MinilmError(f"temperature must be > 0, got {temperature}")
    # (1) unit vectors; a zero vector stays zero instead of dividing by 0
    na = np.maximum(np.linalg.norm(a, axis=1, keepdims=True), 1e-12)  # (N, 1)
    nb = np.maximum(np.linalg.norm(b, axis=1, keepdims=True), 1e-12)
    u, v = a / na, b / nb  # (N, D)
    # (2) similarities
    S = (u @ v.T) / temperature  # (N, N)
    # (3) cross-entropy with target i in row i (and in column i for the other direction)
    target = np.arange(N)
    loss, dS = softmax_cross_entropy(S, target)
    if symmetric:
        loss_ba, dS_ba = softmax_cross_entropy(S.T, target)
        loss = (loss + loss_ba) / 2
        dS = (dS + dS_ba.T) / 2
    # backward (2)
    du = (dS @ v) / temperature  # (N, D)
    dv = (dS.T @ u) / temperature
    # backward (1): d(a/|a|) = (I - u u^T) / |a|
    da = (du - u * np.sum(u * du, axis=1, keepdims=True)) / na
    db = (dv - v * np.sum(v * dv, axis=1, keepdims=True)) / nb
    return float(loss), da, db
