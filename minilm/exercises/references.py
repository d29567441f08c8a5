"""References with no twin in minilm/layers: one RNN step, the SGNS loss, GloVe's loss.

The other exercises use the library's own functions as their reference (minilm/layers/core.py,
losses.py, recurrent.py, attention.py), so a learner who solves them has rewritten the real code.
The three functions here are written at the level of the equations, for the exercises only:
the models (minilm/models/skipgram.py, glove.py) compute the same quantities in batched,
sparse-gradient forms that are harder to start from.

Shape legend: N batch (pairs or co-occurrence entries), D input/embedding width, H hidden,
V vocabulary, K negatives per pair.
"""

from __future__ import annotations

import numpy as np


def rnn_step_forward(
    x: np.ndarray, h_prev: np.ndarray, W_xh: np.ndarray, W_hh: np.ndarray, b_h: np.ndarray
) -> tuple[np.ndarray, tuple]:
    """One step of the Elman recurrence: h = tanh(x W_xh + h_prev W_hh + b_h).

    x:      (N, D)  input at this step
    h_prev: (N, H)  previous hidden state
    W_xh:   (D, H)  input-to-hidden weights
    W_hh:   (H, H)  hidden-to-hidden weights
    b_h:    (H,)    bias
    Returns h (N, H) and a cache for `rnn_step_backward` (anything you need).
    """
    h = np.tanh(x @ W_xh + h_prev @ W_hh + b_h)  # (N, H)
    return h, (x, h_prev, W_xh, W_hh, h)


def rnn_step_backward(
    dh: np.ndarray, cache: tuple
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Gradients of one step h = tanh(a), a = x W_xh + h_prev W_hh + b_h.

    dh: (N, H) dloss/dh
    Returns (dx (N, D), dh_prev (N, H), dW_xh (D, H), dW_hh (H, H), db_h (H,)).
    """
    x, h_prev, W_xh, W_hh, h = cache
    da = dh * (1 - h * h)  # tanh'(a) = 1 - tanh(a)^2, from the cached output  (N, H)
    # a = x W_xh + h_prev W_hh + b_h: two affine maps sharing one output
    return da @ W_xh.T, da @ W_hh.T, x.T @ da, h_prev.T @ da, da.sum(axis=0)


def sgns_loss(
    W_in: np.ndarray,
    W_out: np.ndarray,
    context: np.ndarray,
    center: np.ndarray,
    negatives: np.ndarray,
) -> tuple[float, np.ndarray, np.ndarray]:
    """Skip-gram negative-sampling loss of a batch of pairs, summed (word2vec's convention).

    W_in:      (V, D)  input vectors v_w
    W_out:     (V, D)  output vectors u_w
    context:   (N,) int  the input word o of each pair:          h = v_o = W_in[o]
    center:    (N,) int  the word c to predict (the positive)
    negatives: (N, K) int  noise words n_1..n_K of each pair (ids may repeat anywhere)

        loss = sum over pairs of  -log sigma(u_c . h) - sum_k log sigma(-u_{n_k} . h)

    with -log sigma(z) = log(1 + exp(-z)) = np.logaddexp(0, -z) (stable for any z).
    Returns (loss, dW_in (V, D), dW_out (V, D)); a row used several times in the batch gets
    the sum of its contributions.
    """
    h = W_in[context]  # (N, D)
    targets = np.concatenate([center[:, None], negatives], axis=1)  # (N, 1 + K)
    u = W_out[targets]  # (N, 1 + K, D)
    z = np.einsum("nd,nkd->nk", h, u)  # (N, 1 + K) scores
    sign = np.ones(z.shape)
    sign[:, 1:] = -1  # the positive wants z large, every negative wants z small
    loss = float(np.logaddexp(0, -sign * z).sum())
    # d/dz of log(1 + exp(-s z)) = -s sigma(-s z)
    dz = -sign / (1 + np.exp(sign * z))  # (N, 1 + K)
    dW_in = np.zeros_like(W_in)
    dW_out = np.zeros_like(W_out)
    np.add.at(dW_in, context, np.einsum("nk,nkd->nd", dz, u))  # duplicate-safe scatter
    np.add.at(dW_out, targets, dz[:, :, None] * h[:, None, :])
    return loss, dW_in, dW_out


def glove_loss(
    W: np.ndarray,
    W_tilde: np.ndarray,
    b: np.ndarray,
    b_tilde: np.ndarray,
    i: np.ndarray,
    j: np.ndarray,
    x: np.ndarray,
    x_max: float = 100.0,
    alpha: float = 0.75,
) -> tuple[float, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """GloVe's weighted least squares over a batch of non-zero co-occurrence entries.

    W, W_tilde: (V, D)  word and context vectors w_i, w~_j
    b, b_tilde: (V,)    word and context biases
    i, j:       (N,) int  row and column of each entry X_ij (ids may repeat)
    x:          (N,) float  the counts X_ij > 0 (data: no gradient)

        J = sum_n f(x_n) (w_i . w~_j + b_i + b~_j - log x_n)^2
        f(x) = min(1, (x / x_max)^alpha)

    Returns (J, dW, dW_tilde, db, db_tilde), each gradient dense, the shape of its table.
    """
    f = np.minimum(1.0, (x / x_max) ** alpha)  # (N,)
    diff = np.einsum("nd,nd->n", W[i], W_tilde[j]) + b[i] + b_tilde[j] - np.log(x)  # (N,)
    loss = float(np.sum(f * diff**2))
    ddiff = 2 * f * diff  # (N,)
    dW, dW_tilde = np.zeros_like(W), np.zeros_like(W_tilde)
    db, db_tilde = np.zeros_like(b), np.zeros_like(b_tilde)
    np.add.at(dW, i, ddiff[:, None] * W_tilde[j])
    np.add.at(dW_tilde, j, ddiff[:, None] * W[i])
    np.add.at(db, i, ddiff)
    np.add.at(db_tilde, j, ddiff)
    return loss, dW, dW_tilde, db, db_tilde
