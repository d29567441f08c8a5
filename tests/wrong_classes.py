"""Realistic wrong solutions, one per class of bug found by hand (issue 22), for
tests/wrong_solutions.py. Each entry: (exercise, label, expected failure text, impl, source).
"""

from __future__ import annotations

import numpy as np
from wrong_classes_search import search_classes  # tests/ is on sys.path

from minilm.exercises import references as R
from minilm.layers import attention as A
from minilm.layers import core, losses, recurrent


def _attention(scale_by="d", heads=None, causal_ok=True, max_sub=True, fill=None):
    """A naive attention forward with one knob per classic bug; the reference's cache."""

    def forward(x, W_qkv, b_qkv, W_o, b_o, n_heads, pad_mask=None, causal=False):
        N, T, D = x.shape
        h = heads or n_heads
        d = D // h
        q, k, v = (x @ W_qkv + b_qkv).reshape(N, T, 3, h, d).transpose(2, 0, 3, 1, 4)
        s = q @ k.swapaxes(-1, -2) / np.sqrt(d if scale_by == "d" else h)
        keep = np.ones((N, 1, T, T), dtype=bool)
        if pad_mask is not None:
            keep &= ~pad_mask[:, None, None, :]
        if causal and causal_ok:
            keep &= np.tril(np.ones((T, T), dtype=bool))
        s = np.where(keep, s, -np.inf if fill is None else fill)
        if max_sub:
            m = s.max(-1, keepdims=True)
            s = s - np.where(np.isfinite(m), m, 0)
        e = np.exp(s)
        total = e.sum(-1, keepdims=True)
        p = e / (total if fill is not None else np.where(total == 0, 1, total))
        ctx = (p @ v).transpose(0, 2, 1, 3).reshape(N, T, D)
        ref = A.attention_forward(x, W_qkv, b_qkv, W_o, b_o, n_heads, pad_mask, causal)
        return ctx @ W_o + b_o, ref[1]

    return {"attention_forward": forward}


def _attention_backward(slip):
    def backward(dout, cache):
        qkv_cache, q, k, v, p, out_cache, scale = cache
        N, h, T, d = q.shape
        dctx, dW_o, db_o = core.affine_backward(dout, out_cache)
        dctx = dctx.reshape(N, T, h, d).transpose(0, 2, 1, 3)
        dp = dctx @ v.swapaxes(-1, -2)
        dv = (p if slip == "dV = P dC" else p.swapaxes(-1, -2)) @ dctx
        ds = p * dp if slip == "no row sum" else p * (dp - (p * dp).sum(-1, keepdims=True))
        sc = 1.0 if slip == "no scale" else scale
        dq, dk = ds @ k * sc, ds.swapaxes(-1, -2) @ q * sc
        dqkv = np.stack([dq, dk, dv]).transpose(1, 3, 0, 2, 4).reshape(N, T, 3 * h * d)
        dx, dW_qkv, db_qkv = core.affine_backward(dqkv, qkv_cache)
        return dx, dW_qkv, db_qkv, dW_o, db_o

    return {"attention_backward": backward}


def _softmax(max_sub=True, use_mask=True, divide_all=False, guard=True, inplace=False):
    def fn(logits, targets, mask=None):
        z = logits
        if inplace:
            z -= z.max(-1, keepdims=True)
        elif max_sub:
            z = z - z.max(-1, keepdims=True)
        V = z.shape[-1]
        z2, y = z.reshape(-1, V), np.asarray(targets).reshape(-1)
        keep = np.ones(y.size, bool) if mask is None or not use_mask else mask.reshape(-1)
        y = np.where(keep & (y >= 0), y, 0)  # padding targets read as class 0
        e = np.exp(z2)
        p = e / e.sum(1, keepdims=True)
        n = y.size if divide_all else keep.sum()
        if not guard or n:
            nll = np.log(e.sum(1)) - z2[np.arange(y.size), y]
            loss = float(nll[keep].sum() / n)
        else:
            return 0.0, np.zeros_like(logits)
        d = p.copy()
        d[np.arange(y.size), y] -= 1
        return loss, (d * keep[:, None] / n).reshape(logits.shape)

    return {"softmax_cross_entropy": fn}


def _rnn_step_inplace(dh, cache):
    x, h_prev, W_xh, W_hh, h = cache
    dh *= 1 - h**2  # the classic: the caller's dh is now da
    return dh @ W_xh.T, dh @ W_hh.T, x.T @ dh, h_prev.T @ dh, dh.sum(0)


def _rnn_step_sgd(dh, cache):
    grads = R.rnn_step_backward(dh, cache)
    W_hh = cache[3]
    W_hh -= 0.1 * grads[3]  # an optimiser step hidden in the backward
    return grads


def _rnn_step_double_tanh(dh, cache):
    x, h_prev, W_xh, W_hh, h = cache
    da = dh * (1 - np.tanh(h) ** 2)
    return da @ W_xh.T, da @ W_hh.T, x.T @ da, h_prev.T @ da, da.sum(0)


def _bptt_forward(x, h0, W_xh, W_hh, b_h):
    """A learner's own forward (the library's cache layout is the library's business)."""
    N, T, _ = x.shape
    hs = np.empty((N, T, h0.shape[1]), dtype=np.result_type(x, h0))
    h = h0
    for t in range(T):
        h, _ = R.rnn_step_forward(x[:, t], h, W_xh, W_hh, b_h)
        hs[:, t] = h
    return hs, ((x, W_xh), (h0, W_hh, hs))


def _bptt(view=False, carry=True, accumulate=True):
    def backward(dhs, cache):
        (x, W_xh), (h0, W_hh, hs) = cache
        N, T, H = hs.shape
        dx, dW_xh = np.zeros_like(x), np.zeros_like(W_xh)
        dW_hh, db = np.zeros_like(W_hh), np.zeros(H, dtype=hs.dtype)
        dh_next = np.zeros_like(h0)
        for t in reversed(range(T)):
            dh = dhs[:, t] if view else dhs[:, t].copy()
            if carry:
                dh += dh_next
            h_prev = h0 if t == 0 else hs[:, t - 1]
            g = R.rnn_step_backward(dh, (x[:, t], h_prev, W_xh, W_hh, hs[:, t]))
            dx[:, t], dh_next = g[0], g[1]
            if accumulate:
                dW_xh += g[2]
                dW_hh += g[3]
                db += g[4]
            else:
                dW_xh, dW_hh, db = g[2], g[3], g[4]
        return dx, dh_next, dW_xh, dW_hh, db

    return {"rnn_forward": _bptt_forward, "rnn_backward": backward}


def _layernorm_inplace(x, gamma, beta, eps=1e-5):
    x -= x.mean(-1, keepdims=True)
    return core.layernorm_forward(x, gamma, beta, eps)


def _layernorm_no_mean_path(dout, cache):
    xhat, gamma, rstd = cache
    D = xhat.shape[-1]
    return (dout * gamma * rstd, (dout * xhat).reshape(-1, D).sum(0), dout.reshape(-1, D).sum(0))


def _glove(log_inplace=False, fancy=False, clip=True):
    def fn(W, W_tilde, b, b_tilde, i, j, x, x_max=100.0, alpha=0.75):
        logx = np.log(x, out=x) if log_inplace else np.log(x)
        f = (x / x_max) ** alpha
        f = np.minimum(1.0, f) if clip else f
        diff = np.einsum("nd,nd->n", W[i], W_tilde[j]) + b[i] + b_tilde[j] - logx
        g = 2 * f * diff
        dW, dWt, db, dbt = (np.zeros_like(a) for a in (W, W_tilde, b, b_tilde))
        if fancy:
            dW[i] += g[:, None] * W_tilde[j]
        else:
            np.add.at(dW, i, g[:, None] * W_tilde[j])
        np.add.at(dWt, j, g[:, None] * W[i])
        np.add.at(db, i, g)
        np.add.at(dbt, j, g)
        return float(np.sum(f * diff**2)), dW, dWt, db, dbt

    return {"glove_loss": fn}


def _sgns_naive(W_in, W_out, context, center, negatives):
    _, dW_in, dW_out = R.sgns_loss(W_in, W_out, context, center, negatives)
    h = W_in[context]
    z_pos = np.einsum("nd,nd->n", h, W_out[center])
    z_neg = np.einsum("nd,nkd->nk", h, W_out[negatives])
    sig = lambda z: 1 / (1 + np.exp(-z))  # noqa: E731
    loss = -np.log(sig(z_pos)).sum() - np.log(sig(-z_neg)).sum()
    return float(loss), dW_in, dW_out


def _embedding_fancy(dout, cache):
    ids, V = cache
    dW = np.zeros((V, dout.shape[-1]), dtype=dout.dtype)
    dW[ids] += dout
    return dW


def _embedding_float32(dout, cache):
    ids, V = cache
    dW = np.zeros((V, dout.shape[-1]), dtype=np.float32)
    np.add.at(dW, ids.reshape(-1), dout.reshape(-1, dout.shape[-1]))
    return dW


def _embedding_complex(ids, W):
    out, cache = core.embedding_forward(ids, W)
    return out.astype(np.complex128), cache


def _affine_db_axis1(dout, cache):
    dx, dW, _ = core.affine_backward(dout, cache)
    return dx, dW, dout.reshape(-1, dout.shape[-1]).sum(axis=1)


def _affine_dW_transposed(dout, cache):
    dx, dW, db = core.affine_backward(dout, cache)
    return dx, dW.T, db


def _lstm_ignores_dc(dh, dc, cache):
    return R.lstm_step_backward(dh, np.zeros_like(dc), cache)


def _lstm_swapped_gates(x, h_prev, c_prev, W_x, W_h, b):
    H = h_prev.shape[1]
    perm = np.r_[H : 2 * H, 0:H, 2 * H : 4 * H]  # reads f where i is, i where f is
    return R.lstm_step_forward(x, h_prev, c_prev, W_x[:, perm], W_h[:, perm], b[perm])


def _hsoftmax_no_mask(h, W_node, points, codes, lengths):
    return R.hsoftmax_loss(h, W_node, points, codes, np.full_like(lengths, points.shape[1]))


def _info_nce_one_way(a, b, tau=0.05):
    u, v = R._normalise(a)[0], R._normalise(b)[0]
    loss, _ = R._ce_rows(u @ v.T / tau)
    return (loss, *R.info_nce_loss(a, b, tau)[1:])


def _info_nce_no_norm_backward(a, b, tau=0.05):
    loss = R.info_nce_loss(a, b, tau)[0]
    (u, na), (v, nb) = R._normalise(a), R._normalise(b)
    S = u @ v.T / tau
    dS = 0.5 * (R._ce_rows(S)[1] + R._ce_rows(S.T)[1].T)
    return loss, dS @ v / tau / na, dS.T @ u / tau / nb  # the projection step forgotten


def _tsne_half(P, Y):
    kl, dY = R.tsne_gradient(P, Y)
    return kl, dY / 2


def _tsne_log0(P, Y):
    _, dY = R.tsne_gradient(P, Y)
    diff = Y[:, None] - Y[None]
    w = 1 / (1 + (diff**2).sum(-1))
    np.fill_diagonal(w, 0)
    Q = w / w.sum()
    off = ~np.eye(len(P), dtype=bool)
    return float(np.sum(P[off] * np.log(P[off] / Q[off]))), dY


def _gelu_no_product_rule(dout, cache):
    x, t = cache
    return dout * 0.5 * (1 + t)


def _tanh_wrong_cache(dout, cache):
    return dout * (1 - np.arctanh(np.clip(cache, -0.999, 0.999)) ** 2)


LOOP = "    while True:\n        pass\n"
SOURCE_HEAD = "import os\nimport sys\nfrom minilm.layers.core import tanh_forward\n"


def _source(body: str) -> str:
    return SOURCE_HEAD + "def tanh_backward(dout, cache):\n" + body


def hand_written() -> list[tuple]:
    return _hand_written() + search_classes()


def _hand_written() -> list[tuple]:
    att = "the output of attention_forward"
    return [
        ("attention", "scale by sqrt(h), not sqrt(d)", att, _attention(scale_by="h"), None),
        ("attention", "2 heads hard-coded", att, _attention(heads=2), None),
        ("attention", "causal=True ignored", att, _attention(causal_ok=False), None),
        ("attention", "no max subtraction", att, _attention(max_sub=False), None),
        ("attention", "-1e9 fill: a padded row averages pads", att, _attention(fill=-1e9), None),
        (
            "attention",
            "softmax backward without the row sum",
            "  dW_qkv ",
            _attention_backward("no row sum"),
            None,
        ),
        (
            "attention",
            "dQ, dK without 1/sqrt(d)",
            "  dW_qkv ",
            _attention_backward("no scale"),
            None,
        ),
        ("attention", "dV = P dC", "  dW_qkv ", _attention_backward("dV = P dC"), None),
        (
            "softmax_cross_entropy",
            "no max subtraction",
            "the loss contains",
            _softmax(max_sub=False),
            None,
        ),
        ("softmax_cross_entropy", "mask ignored", "  the loss ", _softmax(use_mask=False), None),
        (
            "softmax_cross_entropy",
            "mean over every row",
            "  the loss ",
            _softmax(divide_all=True),
            None,
        ),
        (
            "softmax_cross_entropy",
            "all masked gives 0/0",
            "the loss contains NaN",
            _softmax(guard=False),
            None,
        ),
        (
            "softmax_cross_entropy",
            "logits -= max",
            "changed the argument logits",
            _softmax(inplace=True),
            None,
        ),
        (
            "rnn_step",
            "dh *= 1 - h**2",
            "changed its argument dh",
            {"rnn_step_backward": _rnn_step_inplace},
            None,
        ),
        (
            "rnn_step",
            "an SGD step inside the backward",
            "rnn_step_backward changed",
            {"rnn_step_backward": _rnn_step_sgd},
            None,
        ),
        (
            "rnn_step",
            "tanh applied twice in tanh'",
            "  dx ",
            {"rnn_step_backward": _rnn_step_double_tanh},
            None,
        ),
        (
            "rnn_bptt",
            "dh += dh_next on a view of dhs",
            "changed its argument dhs",
            _bptt(view=True),
            None,
        ),
        ("rnn_bptt", "no gradient from the future", "  dh0 ", _bptt(carry=False), None),
        (
            "rnn_bptt",
            "weight gradients of the first step only",
            "  dW_hh ",
            _bptt(accumulate=False),
            None,
        ),
        (
            "layernorm",
            "x -= mean in the forward",
            "changed the argument x",
            {"layernorm_forward": _layernorm_inplace},
            None,
        ),
        (
            "layernorm",
            "dx without the mean and variance paths",
            "  dx ",
            {"layernorm_backward": _layernorm_no_mean_path},
            None,
        ),
        ("glove", "np.log(x, out=x)", "changed the argument x", _glove(log_inplace=True), None),
        ("glove", "dW[i] += ...", "  dW ", _glove(fancy=True), None),
        ("glove", "f(x) not capped at 1", "  the loss ", _glove(clip=False), None),
        (
            "sgns",
            "-log(sigmoid(z)): inf at |s| ~ 1000",
            "the loss contains",
            {"sgns_loss": _sgns_naive},
            None,
        ),
        ("embedding", "dW[ids] += dout", "  dW ", {"embedding_backward": _embedding_fancy}, None),
        (
            "embedding",
            "dW in float32 for float64 input",
            "dW has dtype float32",
            {"embedding_backward": _embedding_float32},
            None,
        ),
        (
            "embedding",
            "a complex forward",
            "is complex",
            {"embedding_forward": _embedding_complex},
            None,
        ),
        ("affine", "db summed over axis 1", "  db ", {"affine_backward": _affine_db_axis1}, None),
        ("affine", "dW = dout^T x", "  dW ", {"affine_backward": _affine_dW_transposed}, None),
        ("lstm_step", "dc ignored", "  dc_prev ", {"lstm_step_backward": _lstm_ignores_dc}, None),
        (
            "lstm_step",
            "input and forget gates swapped",
            "the output h of",
            {"lstm_step_forward": _lstm_swapped_gates},
            None,
        ),
        ("hsoftmax", "padding counted", "  the loss ", {"hsoftmax_loss": _hsoftmax_no_mask}, None),
        (
            "info_nce",
            "one direction only",
            "  the loss ",
            {"info_nce_loss": _info_nce_one_way},
            None,
        ),
        (
            "info_nce",
            "normalisation skipped in the backward",
            "  da ",
            {"info_nce_loss": _info_nce_no_norm_backward},
            None,
        ),
        (
            "tsne",
            "factor 2 instead of 4",
            "dY is exactly 0.5x",
            {"tsne_gradient": _tsne_half},
            None,
        ),
        (
            "tsne",
            "log 0 for pairs with P = 0",
            "the loss contains",
            {"tsne_gradient": _tsne_log0},
            None,
        ),
        ("gelu", "no product rule", "  dx ", {"gelu_backward": _gelu_no_product_rule}, None),
        (
            "tanh",
            "derivative of the wrong variable",
            "  dx ",
            {"tanh_backward": _tanh_wrong_cache},
            None,
        ),
        ("tanh", "an endless loop", "did not return within", None, _source(LOOP)),
        ("tanh", "sys.exit(0)", "called exit(0)", None, _source("    sys.exit(0)\n")),
        ("tanh", "os._exit(0)", "ended the grading process", None, _source("    os._exit(0)\n")),
        ("tanh", "a string returned", "returned a str", None, _source("    return 'dx'\n")),
        (
            "tanh",
            "an endless loop at import",
            "importing",
            None,
            "while True:\n    pass\n" + _source("    return None\n"),
        ),
        (
            "rnn_bptt",
            "the library's recurrence with dhs changed",
            "changed its argument dhs",
            _bptt(view=True),
            None,
        ),
        (
            "softmax_cross_entropy",
            "the library's loss, logits scaled",
            "  the loss ",
            {
                "softmax_cross_entropy": lambda logits, targets, mask=None: (
                    losses.softmax_cross_entropy(logits * 1.0001, targets, mask)
                )
            },
            None,
        ),
        (
            "rnn_bptt",
            "the library's forward, h0 ignored",
            "the output of rnn_forward",
            {
                "rnn_forward": lambda x, h0, W_xh, W_hh, b_h: recurrent.rnn_forward(
                    x, 0 * h0, W_xh, W_hh, b_h
                )
            },
            None,
        ),
    ]
