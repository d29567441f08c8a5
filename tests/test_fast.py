"""minilm/fast/: every fast kernel equals its plain form in minilm/layers (or changes no bytes).

Row scatter must match np.add.at bit for bit (the same additions in the same order); the
in-place GELU groups its products differently, so it matches to a stated float tolerance.
The switch between the forms and the other primitives: tests/test_primitives.py.
"""

import platform
import resource

import numpy as np
import pytest

from minilm.fast import gelu as fast_gelu
from minilm.fast import scatter as fast
from minilm.fast.memory import keep_freed_memory
from minilm.gradcheck import check_layer
from minilm.layers import core
from minilm.layers.primitives import kernels


def _ids_and_rows(D, dtype, seed=0, V=50, shape=(40, 6)):
    rng = np.random.default_rng(seed)
    ids = rng.zipf(1.5, size=shape) % V  # heavy-tailed: many repeats of small ids
    return ids, rng.standard_normal((*shape, D)).astype(dtype), V


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("D", [1, 7, 8])  # even D: pairs of floats added as one complex
def test_add_rows_at_is_bitwise_the_reference(D, dtype):
    ids, rows, V = _ids_and_rows(D, dtype)
    ids, rows = ids.reshape(-1), rows.reshape(-1, D)
    start = np.random.default_rng(1).standard_normal((V, D)).astype(dtype)
    want, got = start.copy(), start.copy()
    np.add.at(want, ids, rows)
    fast.add_rows_at(got, ids, rows)
    assert got.dtype == dtype and np.array_equal(got, want)


@pytest.mark.parametrize("looked_up", [True, False])
def test_add_rows_at_cells_looked_up_or_computed(looked_up, monkeypatch):
    # small tables read their flat cells from a cached table (grown for a longer table of the
    # same width), big ones compute them: the same sums either way
    if not looked_up:
        monkeypatch.setattr(fast, "_MAX_CELLS", 0)
    for V in (50, 80, 30):
        ids, rows, _ = _ids_and_rows(6, np.float32, seed=V, V=V)
        ids, rows = ids.reshape(-1), rows.reshape(-1, 6)
        want, got = np.zeros((V, 6), np.float32), np.zeros((V, 6), np.float32)
        np.add.at(want, ids, rows)
        fast.add_rows_at(got, ids, rows)
        assert np.array_equal(got, want)


def test_add_rows_at_on_a_non_contiguous_table_still_adds():
    ids, rows, V = _ids_and_rows(4, np.float64)
    ids, rows = ids.reshape(-1), rows.reshape(-1, 4)
    big = np.zeros((V, 8))
    want = np.zeros((V, 4))
    np.add.at(want, ids, rows)
    fast.add_rows_at(big[:, ::2], ids, rows)  # a strided view: a flat copy would lose the sums
    assert np.array_equal(big[:, ::2], want)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("D", [7, 8])
def test_layers_reach_the_fast_scatter_through_the_switch(D, dtype):
    # core's table gradients are the same bytes with the switch on (fast) and off (np.add.at)
    ids, grads, V = _ids_and_rows(D, dtype, seed=2)
    _, cache = core.embedding_forward(ids, np.zeros((V, D), dtype))
    results = {}
    for on in (True, False):
        with kernels(fast=on):
            results[on] = (
                core.scatter_add_rows(ids, grads, V),
                *core.sum_rows(ids, grads),
                core.embedding_backward(grads, cache),
                *core.embedding_backward_rows(grads, cache),
            )
    for got, want in zip(results[True], results[False], strict=True):
        assert got.dtype == want.dtype and np.array_equal(got, want)
    assert np.array_equal(fast.scatter_add_rows(ids, grads, V), results[False][0])


@pytest.mark.parametrize("dtype,tol", [(np.float64, 1e-14), (np.float32, 1e-6)])
def test_gelu_in_place_equals_the_textbook_gelu(dtype, tol):
    # a few units in the last place: |a - b| <= tol * (1 + |b|) (float32 eps 1.2e-7)
    x = (np.random.default_rng(3).standard_normal((64, 33)) * 4).astype(dtype)
    dout = np.random.default_rng(4).standard_normal(x.shape).astype(dtype)
    with kernels(fast=False):
        out_ref, cache_ref = core.gelu_forward(x)
    out_fast, cache_fast = fast_gelu.gelu_forward(x)
    assert out_fast.dtype == dtype and out_ref.dtype == dtype
    assert np.all(np.abs(out_fast - out_ref) <= tol * (1 + np.abs(out_ref)))
    dx_ref = core.gelu_backward(dout, cache_ref)
    dx_fast = fast_gelu.gelu_backward(dout, cache_fast)
    with kernels(fast=True):  # core picks the in-place form, and its backward reads its cache
        out_core, cache_core = core.gelu_forward(x)
    assert np.array_equal(out_core, out_fast)
    assert np.array_equal(core.gelu_backward(dout, cache_core), dx_fast)
    assert (fast_gelu.GELU_A, fast_gelu.GELU_C) == (core.GELU_A, core.GELU_C)
    assert np.all(np.abs(dx_fast - dx_ref) <= tol * (1 + np.abs(dx_ref)))


def test_gelu_in_place_gradient_check():
    x = np.random.default_rng(5).standard_normal((3, 5))
    errors = check_layer(fast_gelu.gelu_forward, fast_gelu.gelu_backward, [x], names=["x"])
    assert errors["x"] < 1e-7, errors


@pytest.mark.skipif(platform.libc_ver()[0] != "glibc", reason="mallopt is glibc's")
def test_keep_freed_memory_reuses_freed_pages():
    assert keep_freed_memory() is True
    n = 20 * 2**20 // 8  # 20 MB: above glibc's default mmap threshold (unmapped on free)
    np.ones(n).sum()  # allocate, touch and free once, so the heap holds the pages
    before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
    np.ones(n).sum()
    faults = resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before
    # fresh pages: ~5000 faults; glibc's default (trim on free) measured ~500 here; kept: 0
    assert faults < 64, faults


def test_keep_freed_memory_without_glibc_changes_nothing(monkeypatch):
    import ctypes

    def no_libc(*args, **kwargs):
        raise OSError("no libc")

    monkeypatch.setattr(ctypes, "CDLL", no_libc)
    assert keep_freed_memory() is False
