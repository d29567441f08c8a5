"""References with no twin in minilm/layers: one RNN step, the SGNS loss, GloVe's loss, ...

`window_tagger_loss` is the model's own loss_and_grads (minilm/models/window_tagger.py) with its
parameters as arguments, so the learner rewrites the model that trains.

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

from minilm.models import window_tagger


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
    # d/dz of log(1 + exp(-s z)) = -s sigma(-s z); sigma through tanh: no overflow at any z
    dz = -sign * 0.5 * (1 - np.tanh(0.5 * sign * z))  # (N, 1 + K)
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


def lstm_step_forward(
    x: np.ndarray,
    h_prev: np.ndarray,
    c_prev: np.ndarray,
    W_x: np.ndarray,
    W_h: np.ndarray,
    b: np.ndarray,
) -> tuple[np.ndarray, np.ndarray, tuple]:
    """One step of an LSTM (Hochreiter & Schmidhuber 1997, with the forget gate of Gers 2000).

    x:      (N, D)   input at this step
    h_prev: (N, H)   previous hidden state
    c_prev: (N, H)   previous cell state
    W_x:    (D, 4H)  input weights of the four gates, columns [i | f | o | g]
    W_h:    (H, 4H)  recurrent weights, same column layout
    b:      (4H,)    biases

        a = x W_x + h_prev W_h + b                  (N, 4H), split into four (N, H) blocks
        i = sigmoid(a_i)   f = sigmoid(a_f)   o = sigmoid(a_o)   g = tanh(a_g)
        c = f * c_prev + i * g
        h = o * tanh(c)

    Returns h (N, H), c (N, H) and a cache for `lstm_step_backward` (anything you need).
    """
    H = h_prev.shape[1]
    a = x @ W_x + h_prev @ W_h + b  # (N, 4H)
    i, f, o = (0.5 * (1 + np.tanh(0.5 * a[:, k * H : (k + 1) * H])) for k in range(3))
    g = np.tanh(a[:, 3 * H :])  # (N, H)
    c = f * c_prev + i * g  # (N, H)
    tc = np.tanh(c)
    h = o * tc
    return h, c, (x, h_prev, c_prev, W_x, W_h, i, f, o, g, tc)


def lstm_step_backward(
    dh: np.ndarray, dc: np.ndarray, cache: tuple
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Backward for `lstm_step_forward`.

    dh: (N, H) dloss/dh;  dc: (N, H) dloss/dc from the next step (zeros after the last one)
    Returns (dx (N, D), dh_prev (N, H), dc_prev (N, H), dW_x (D, 4H), dW_h (H, 4H), db (4H,)).
    """
    x, h_prev, c_prev, W_x, W_h, i, f, o, g, tc = cache
    # h = o * tanh(c): c reaches the loss directly (dc) and through h
    dc_total = dc + dh * o * (1 - tc * tc)  # (N, H)
    do = dh * tc
    # c = f * c_prev + i * g
    di, df, dg, dc_prev = dc_total * g, dc_total * c_prev, dc_total * i, dc_total * f
    # sigmoid' = s (1 - s), tanh' = 1 - t^2, on the cached gate values
    da = np.concatenate(
        [di * i * (1 - i), df * f * (1 - f), do * o * (1 - o), dg * (1 - g * g)], axis=1
    )  # (N, 4H)
    # a = x W_x + h_prev W_h + b
    return da @ W_x.T, da @ W_h.T, dc_prev, x.T @ da, h_prev.T @ da, da.sum(axis=0)


def hsoftmax_loss(
    h: np.ndarray, W_node: np.ndarray, points: np.ndarray, codes: np.ndarray, lengths: np.ndarray
) -> tuple[float, np.ndarray, np.ndarray]:
    """Hierarchical softmax (word2vec's `-hs 1`), summed over a batch, with dense gradients.

    h:       (N, D)      hidden vector of each example
    W_node:  (V - 1, D)  one vector per inner node of the word tree
    points:  (N, L) int  the inner nodes on each target word's path, root first
    codes:   (N, L) 0/1  the branch taken at each node
    lengths: (N,) int    path length; entries at j >= lengths[n] are padding (count nothing)

        s_nj = h_n . W_node[points_nj]
        loss = sum_n sum_{j < lengths[n]} -log sigma((1 - 2 codes_nj) s_nj)

    Compute -log sigma(z) = log(1 + exp(-z)) in a form that stays finite for any z.
    Returns (loss, dh (N, D), dW_node (V - 1, D)); a node on several paths (the root is on all
    of them) gets the sum of its contributions.
    """
    N, L = points.shape
    mask = np.arange(L) < lengths[:, None]  # (N, L) True on the path
    U = W_node[points]  # (N, L, D)
    s = np.einsum("nd,nld->nl", h, U)  # (N, L)
    sign = (1 - 2 * codes).astype(s.dtype)  # (N, L) +1 for code 0, -1 for code 1
    loss = float((np.logaddexp(0, -sign * s) * mask).sum())
    # d/ds of log(1 + exp(-sign s)) = -sign sigma(-sign s), zero on padding
    ds = -sign * mask * 0.5 * (1 - np.tanh(0.5 * sign * s))  # (N, L), finite for any s
    dh = np.einsum("nl,nld->nd", ds, U)
    dW_node = np.zeros_like(W_node)
    np.add.at(dW_node, points, ds[:, :, None] * h[:, None, :])  # padding rows add 0
    return loss, dh, dW_node


def _normalise(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    norm = np.sqrt(np.einsum("nd,nd->n", x, x))[:, None]  # (N, 1)
    return x / norm, norm


def _ce_rows(S: np.ndarray) -> tuple[float, np.ndarray]:
    """Mean over rows of -log softmax(S_i)[i] and its gradient dS (N, N)."""
    N = S.shape[0]
    z = S - S.max(axis=1, keepdims=True)
    logp = z - np.log(np.exp(z).sum(axis=1, keepdims=True))
    dS = np.exp(logp)
    dS[np.arange(N), np.arange(N)] -= 1
    return float(-np.trace(logp)) / N, dS / N


def info_nce_loss(
    a: np.ndarray, b: np.ndarray, tau: float = 0.05
) -> tuple[float, np.ndarray, np.ndarray]:
    """Symmetric InfoNCE over a batch of N pairs (a_i, b_i), in-batch negatives (docs/08).

    a, b: (N, D)  the two sides of each pair (rows need not have unit length)
    tau:  the temperature

        u_i = a_i / |a_i|,   v_j = b_j / |b_j|,   S_ij = u_i . v_j / tau
        loss = 1/2 [ mean_i -log softmax_j(S_i.)[i] + mean_j -log softmax_i(S_.j)[j] ]

    Subtract maxima before any exp. Returns (loss, da (N, D), db (N, D)).
    """
    u, na = _normalise(a)
    v, nb = _normalise(b)
    S = u @ v.T / tau  # (N, N)
    loss_rows, dS_rows = _ce_rows(S)  # each a_i picks its b_i among all b
    loss_cols, dS_cols = _ce_rows(S.T)  # each b_j picks its a_j among all a
    loss = 0.5 * (loss_rows + loss_cols)
    dS = 0.5 * (dS_rows + dS_cols.T)  # (N, N)
    du, dv = dS @ v / tau, dS.T @ u / tau
    # x / |x|: only the part of du orthogonal to u survives
    da = (du - u * np.einsum("nd,nd->n", u, du)[:, None]) / na
    db = (dv - v * np.einsum("nd,nd->n", v, dv)[:, None]) / nb
    return loss, da, db


def tsne_gradient(P: np.ndarray, Y: np.ndarray) -> tuple[float, np.ndarray]:
    """t-SNE's cost and its gradient with respect to the map (van der Maaten & Hinton 2008).

    P: (N, N)  joint affinities of the data: symmetric, zero diagonal, summing to 1 (no gradient)
    Y: (N, k)  the map (k = 2 for a picture)

        w_ij = 1 / (1 + |y_i - y_j|^2)  for i != j,  w_ii = 0      (Student-t kernel)
        Q_ij = w_ij / sum_kl w_kl
        KL   = sum_{i != j, P_ij > 0} P_ij log(P_ij / Q_ij)

    Returns (KL, dY (N, k)).
    """
    diff = Y[:, None, :] - Y[None, :, :]  # (N, N, k)
    w = 1 / (1 + np.einsum("ijk,ijk->ij", diff, diff))  # (N, N)
    np.fill_diagonal(w, 0)
    Q = w / w.sum()
    kept = P > 0
    kl = float(np.sum(P[kept] * np.log(P[kept] / Q[kept])))
    # d KL / d y_i = 4 sum_j (P_ij - Q_ij) w_ij (y_i - y_j)
    dY = 4 * np.einsum("ij,ijk->ik", (P - Q) * w, diff)
    return kl, dY


def window_tagger_loss(
    C: np.ndarray,
    W1: np.ndarray,
    b1: np.ndarray,
    W2: np.ndarray,
    b2: np.ndarray,
    windows: np.ndarray,
    tags: np.ndarray,
) -> tuple[float, np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Collobert & Weston's window tagger: the tags' mean cross-entropy and every gradient.

    C:       (V, D)          the word table
    W1, b1:  (W D, H), (H,)  the hidden layer; W = 2k + 1 words a window
    W2, b2:  (H, K), (K,)    a score per tag
    windows: (N, W) int      the word ids of each window (a word may come twice)
    tags:    (N,) int        the tag of each window's middle word

        x_n  = [C[w_n1], C[w_n2], ..., C[w_nW]]    the window's rows side by side, (W D,)
        a_n  = tanh(x_n W1 + b1)                   (H,)
        s_n  = a_n W2 + b2                         (K,)
        loss = mean_n -log softmax(s_n)[tags_n]

    Subtract the max before any exp. Returns (loss, dC, dW1, db1, dW2, db2), each gradient of
    its parameter's shape (windows and tags are data: no gradient).
    """
    N, W = windows.shape
    cfg = window_tagger.Config(C.shape[0], W2.shape[1], C.shape[1], (W - 1) // 2, W1.shape[1])
    params = {"C": C, "W1": W1, "b1": b1, "W2": W2, "b2": b2}
    loss, g = window_tagger.loss_and_grads(params, {"windows": windows, "tags": tags}, cfg)
    # the model file is the reference: models/window_tagger.py:loss_and_grads
    return loss, g["C"], g["W1"], g["b1"], g["W2"], g["b2"]
