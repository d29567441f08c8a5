"""minilm/layers/primitives.py: each primitive's fast form equals its plain form, the one switch
chooses for all of them, and word2vec trains to the same vectors through either."""

from __future__ import annotations

import numpy as np
import pytest

from minilm.layers import primitives as prim
from minilm.layers.primitives import kernels
from minilm.models import skipgram as sg
from tests.test_skipgram import _cbow_batch, _skipgram_batch


def both(fn, *args):
    """fn(*args) with the plain forms, then with the fast forms."""
    with kernels(fast=False):
        plain = fn(*args)
    with kernels(fast=True):
        fast = fn(*args)
    return plain, fast


def test_the_switch_sets_and_restores():
    before = prim.fast_kernels()
    with kernels(fast=not before):
        assert prim.fast_kernels() is (not before)
    assert prim.fast_kernels() is before
    assert prim.use_fast_kernels(before) is before


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("D", [3, 8])
def test_add_rows_at_is_bitwise_the_plain_form(D, dtype):
    rng = np.random.default_rng(0)
    ids = rng.zipf(1.5, 300) % 40  # heavy-tailed: many repeats
    rows = rng.standard_normal((300, D)).astype(dtype)

    def add(table):
        table = table.copy()
        prim.add_rows_at(table, ids, rows)
        return table

    plain, fast = both(add, rng.standard_normal((40, D)).astype(dtype))
    assert fast.dtype == dtype and np.array_equal(plain, fast)


@pytest.mark.parametrize("size", [12, 100_000])  # flags table; np.unique for a large vocabulary
def test_distinct_is_the_plain_form(size):
    ids = np.random.default_rng(1).integers(0, 12, (30, 4))
    (words, where), (fast_words, fast_where) = both(prim.distinct, ids, size)
    assert np.array_equal(words, fast_words) and np.array_equal(where, fast_where)
    assert where.shape == ids.shape and np.array_equal(words[where], ids)
    assert np.all(np.diff(words) > 0)


@pytest.mark.parametrize("dtype,tol", [(np.float64, 1e-13), (np.float32, 1e-5)])
def test_windowed_sum_and_its_backward_equal_the_plain_forms(dtype, tol):
    # y = A x for the banded A with A[n, n + k] = weight[n, k]; the backward is A^T dy
    rng = np.random.default_rng(2)
    N, C, D = 7, 5, 3
    x = rng.standard_normal((N + C - 1, D)).astype(dtype)
    weight, dy = rng.random((N, C)).astype(dtype), rng.random((N, D)).astype(dtype)
    A = np.zeros((N, N + C - 1))
    for n in range(N):
        A[n, n : n + C] = weight[n]
    for got in both(prim.windowed_sum, x, weight):
        assert got.dtype == dtype and np.allclose(got, A @ x, rtol=tol, atol=tol)
    for got in both(prim.windowed_sum_backward, dy, weight):
        assert got.dtype == dtype and np.allclose(got, A.T @ dy, rtol=tol, atol=tol)


def test_softplus_and_sigmoid_equal_the_plain_forms_and_are_stable():
    z = np.array([-800.0, -30.0, -1.0, 0.0, 2.0, 40.0, 800.0])
    (softplus, sig), (fast_softplus, fast_sig) = both(prim.softplus_and_sigmoid, z)
    assert np.all(np.isfinite(fast_softplus)) and np.all(np.isfinite(softplus))
    assert np.allclose(fast_softplus, softplus, rtol=1e-14)
    assert np.allclose(fast_sig, sig, rtol=1e-14, atol=1e-300)
    assert np.allclose(sig, 0.5 * (1 + np.tanh(z / 2)))


@pytest.mark.parametrize("dtype,tol", [(np.float64, 1e-12), (np.float32, 1e-5)])
def test_row_dots_and_its_backward_equal_the_plain_forms(dtype, tol):
    # heavy-tailed ids of B (a root hit by every pair, like a Huffman tree's): the fast form
    # takes the rows hit often through matrix products, the rest row by row
    rng = np.random.default_rng(4)
    NA, NB, D, M = 50, 40, 6, 900
    A, B = (rng.standard_normal((n, D)).astype(dtype) for n in (NA, NB))
    ia = rng.integers(0, NA, M)
    ib = np.minimum(rng.zipf(1.3, M) - 1, NB - 1)
    ds = rng.standard_normal(M).astype(dtype)
    hits = np.bincount(ib, minlength=NB)
    assert hits.max() >= 8 and 0 < hits[(hits > 0) & (hits < 8)].size  # both paths run
    s_plain, s_fast = both(prim.row_dots, A, ia, B, ib)
    assert s_fast.dtype == dtype
    assert np.allclose(s_plain, np.einsum("md,md->m", A[ia], B[ib]), rtol=tol, atol=tol)
    assert np.allclose(s_fast, s_plain, rtol=tol, atol=tol)
    dense_A = np.zeros((M, NA), dtype=np.float64)  # s = rows of A picked: ds back through it
    dense_A[np.arange(M), ia] = ds
    want_dA = dense_A.T @ B[ib].astype(np.float64)
    want_dB = np.zeros((NB, D))
    np.add.at(want_dB, ib, ds[:, None].astype(np.float64) * A[ia])
    for dA, (ids, rows) in both(prim.row_dots_backward, ds, A, ia, B, ib):
        assert dA.dtype == dtype and rows.dtype == dtype
        assert np.allclose(dA, want_dA, rtol=tol, atol=tol)
        got_dB = np.zeros((NB, D))
        np.add.at(got_dB, ids, rows.astype(np.float64))  # ids may repeat: their sum counts
        assert np.allclose(got_dB, want_dB, rtol=tol, atol=tol)


@pytest.mark.parametrize("kind", ["skipgram", "cbow"])
def test_word2vec_trains_alike_through_either_form(kind):
    # a few SGD steps on shared-noise batches: the same parameters to float32 rounding
    cbow = kind == "cbow"
    cfg = sg.Config(vocab_size=30, dim=8, cbow=cbow)
    rng = np.random.default_rng(3)
    batches = []
    for _ in range(5):
        b = _cbow_batch(rng, 30, 40, 2, 3) if cbow else _skipgram_batch(rng, 30, 40, 3)
        batches.append({**b, "negatives": rng.integers(0, 30, (3, 8)), "noise_weight": 5 / 8})

    def train():
        params = sg.init_params(cfg, np.random.default_rng(0))
        for batch in batches:
            _, grads = sg.loss_and_grads(params, batch, cbow_update="word2vec")
            for name, (ids, rows) in grads.items():
                prim.add_rows_at(params[name], ids, rows * np.float32(-0.5))
        return params

    plain, fast = both(train)
    for name in plain:
        assert np.abs(plain[name]).max() > 0
        assert np.allclose(plain[name], fast[name], rtol=1e-5, atol=1e-7), name
