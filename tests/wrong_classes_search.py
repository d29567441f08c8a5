"""Realistic wrong solutions of the exercises of docs/12 and docs/14 (the window tagger and
Matryoshka InfoNCE), for tests/wrong_solutions.py. Each entry: (exercise, label, expected
failure text, impl, source), as in tests/wrong_classes.py."""

from __future__ import annotations

import numpy as np

from minilm.exercises import references as R
from minilm.layers.losses import info_nce
from minilm.layers.matryoshka import matryoshka_info_nce


def _tagger(
    scatter="add", tanh_of="a", mean=True, max_sub=True, split=True, order="words"
):  # one knob per classic bug of a learner's own tagger
    def fn(C, W1, b1, W2, b2, windows, tags):
        N, W = windows.shape
        D = C.shape[1]
        x = C[windows].reshape(N, W * D)
        z = x @ W1 + b1
        a = np.tanh(z)
        s = a @ W2 + b2
        if max_sub:
            s = s - s.max(1, keepdims=True)
        e = np.exp(s)
        p = e / e.sum(1, keepdims=True)
        n = N if mean else 1
        loss = float(np.sum(np.log(e.sum(1)) - s[np.arange(N), tags]) / n)
        ds = p.copy()
        ds[np.arange(N), tags] -= 1
        ds /= n
        dW2, db2, da = a.T @ ds, ds.sum(0), ds @ W2.T
        dz = da * (1 - (a if tanh_of == "a" else z) ** 2)
        dW1, db1, dx = x.T @ dz, dz.sum(0), dz @ W1.T
        dC = np.zeros_like(C)
        pieces = dx.reshape(N, W, D) if order == "words" else dx.reshape(W, N, D).swapaxes(0, 1)
        if not split:  # only the middle word's row gets a gradient
            np.add.at(dC, windows[:, W // 2], pieces[:, W // 2])
        elif scatter == "add":
            np.add.at(dC, windows, pieces)
        else:
            dC[windows] += pieces  # a repeated id keeps one contribution
        return loss, dC, dW1, db1, dW2, db2

    return {"window_tagger_loss": fn}


def _matryoshka(norm="prefix", accumulate=True, reduce="sum", directions=True):
    def fn(a, b, dims, temperature=0.05, symmetric=True):
        sym = symmetric if directions else True
        if norm == "full":  # normalised once over the whole row, then sliced
            a = a / np.linalg.norm(a, axis=1, keepdims=True)
            b = b / np.linalg.norm(b, axis=1, keepdims=True)
        loss, da, db = 0.0, np.zeros_like(a), np.zeros_like(b)
        for m in dims:
            loss_m, da_m, db_m = info_nce(a[:, :m], b[:, :m], temperature, sym)
            loss += loss_m / (len(dims) if reduce == "mean" else 1)
            if accumulate:
                da[:, :m] += da_m
                db[:, :m] += db_m
            else:
                da[:, :m], db[:, :m] = da_m, db_m
        return loss, da, db  # norm "full": the gradients of the unit rows, as if of a and b

    return {"matryoshka_info_nce": fn}


def _matryoshka_unit_rows_once(a, b, dims, temperature=0.05, symmetric=True):
    """Rows made unit length once, prefixes of them compared unnormalised: a prefix's cosine is
    not its dot product (the gradients are the reference's, so the loss is what fails)."""
    u = a / np.linalg.norm(a, axis=1, keepdims=True)
    v = b / np.linalg.norm(b, axis=1, keepdims=True)
    loss = 0.0
    for m in dims:
        S = u[:, :m] @ v[:, :m].T / temperature
        rows, cols = R._ce_rows(S)[0], R._ce_rows(S.T)[0]
        loss += 0.5 * (rows + cols) if symmetric else rows
    return (loss, *matryoshka_info_nce(a, b, dims, temperature, symmetric)[1:])


def search_classes() -> list[tuple]:
    tagger, mat = "window_tagger", "matryoshka"
    return [
        (tagger, "dC[ids] += g: a repeated id keeps one update", "  dC ", _tagger("set"), None),
        (tagger, "tanh' from the pre-activation z", "  dW1 ", _tagger(tanh_of="z"), None),
        (tagger, "the loss summed, not averaged", "  the loss ", _tagger(mean=False), None),
        (tagger, "no max subtraction", "the loss contains", _tagger(max_sub=False), None),
        (tagger, "only the middle word's row updated", "  dC ", _tagger(split=False), None),
        (tagger, "dx split as (W, N, D)", "  dC ", _tagger(order="positions"), None),
        (
            mat,
            "unit rows once, prefixes compared unnormalised",
            "  the loss ",
            {"matryoshka_info_nce": _matryoshka_unit_rows_once},
            None,
        ),
        (
            mat,
            "the gradient stops at the whole row's unit vector",
            "  da ",
            _matryoshka("full"),
            None,
        ),
        (
            mat,
            "da[:, :m] = ... (the prefixes overwrite)",
            "  da ",
            _matryoshka(accumulate=False),
            None,
        ),
        (mat, "the prefixes' losses averaged", "  the loss ", _matryoshka(reduce="mean"), None),
        (mat, "symmetric=False ignored", "  the loss ", _matryoshka(directions=False), None),
    ]
