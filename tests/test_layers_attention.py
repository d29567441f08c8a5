"""Self-attention, positions and masked mean: forward against naive loops, backward against
finite differences, and the padding rules (padded keys are invisible, a fully padded row is finite).

The causal (decoder) mask is checked the same ways, alone and with padding.

Gradient checks are float64 central differences (h = 1e-5); every check asserts rel. error < 1e-7.
"""

import copy

import numpy as np
import pytest

from minilm.errors import MinilmError
from minilm.gradcheck import check_layer
from minilm.layers.attention import (
    attention_backward,
    attention_forward,
    masked_mean_backward,
    masked_mean_forward,
    position_backward,
    position_forward,
    sinusoidal_positions,
)

TOL = 1e-7  # float64 central differences on a smooth layer

ATTN_NAMES = ["x", "W_qkv", "b_qkv", "W_o", "b_o"]


def _attn_params(rng, D, dtype=np.float64):
    return [
        (rng.standard_normal((D, 3 * D)) / np.sqrt(D)).astype(dtype),
        (rng.standard_normal(3 * D) * 0.1).astype(dtype),
        (rng.standard_normal((D, D)) / np.sqrt(D)).astype(dtype),
        (rng.standard_normal(D) * 0.1).astype(dtype),
    ]


def _pad_mask(N, T, kind):
    """None, some keys padded (every row keeps one), or row 0 fully padded."""
    if kind == "none":
        return None
    lengths = np.maximum(T - np.arange(N), 1)  # row n has T - n valid tokens, at least 1
    mask = np.arange(T)[None, :] >= lengths[:, None]  # (N, T) padding at the end
    if kind == "full_row":
        mask[0] = True
    return mask


def _reference_attention(x, W_qkv, b_qkv, W_o, b_o, n_heads, pad_mask=None, causal=False):
    """The definition, one sequence, one head and (causal) one query at a time."""
    N, T, D = x.shape
    d = D // n_heads
    out = np.zeros_like(x)
    for n in range(N):
        qkv = x[n] @ W_qkv + b_qkv  # (T, 3D)
        heads = []
        for j in range(n_heads):
            cols = slice(j * d, (j + 1) * d)
            q, k, v = qkv[:, :D][:, cols], qkv[:, D : 2 * D][:, cols], qkv[:, 2 * D :][:, cols]
            valid = np.ones(T, bool) if pad_mask is None else ~pad_mask[n]
            weights = np.zeros((T, T))
            for i in range(T):
                keys = valid & (np.arange(T) <= i) if causal else valid  # causal: j <= i only
                if keys.any():
                    s = q[i] @ k[keys].T / np.sqrt(d)  # (T_keys,)
                    e = np.exp(s - s.max())
                    weights[i, keys] = e / e.sum()
            heads.append(weights @ v)  # (T, d)
        out[n] = np.concatenate(heads, axis=1) @ W_o + b_o
    return out


ATTN_SHAPES = [  # (N, T, D, n_heads)
    (1, 1, 4, 1),
    (1, 1, 4, 2),
    (2, 1, 6, 3),
    (1, 4, 4, 1),
    (3, 4, 8, 4),
    (2, 5, 6, 2),
]


@pytest.mark.parametrize("N,T,D,n_heads", ATTN_SHAPES)
@pytest.mark.parametrize("kind", ["none", "some_keys", "full_row"])
@pytest.mark.parametrize("causal", [False, True])
def test_attention_forward_matches_definition(N, T, D, n_heads, kind, causal):
    rng = np.random.default_rng(1)
    x = rng.standard_normal((N, T, D))
    params = _attn_params(rng, D)
    mask = _pad_mask(N, T, kind)
    out, _ = attention_forward(x, *params, n_heads, pad_mask=mask, causal=causal)
    ref = _reference_attention(x, *params, n_heads, pad_mask=mask, causal=causal)
    np.testing.assert_allclose(out, ref, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("N,T,D,n_heads", ATTN_SHAPES)
@pytest.mark.parametrize("kind", ["none", "some_keys", "full_row"])
@pytest.mark.parametrize("causal", [False, True])
def test_attention_gradients(N, T, D, n_heads, kind, causal):
    rng = np.random.default_rng(2)
    args = [rng.standard_normal((N, T, D))] + _attn_params(rng, D)
    errors = check_layer(
        attention_forward,
        attention_backward,
        args,
        kwargs={"n_heads": n_heads, "pad_mask": _pad_mask(N, T, kind), "causal": causal},
        names=ATTN_NAMES,
        seed=3,
    )
    for name, err in errors.items():
        assert err < TOL, f"{name}: rel. error {err:.2e} >= {TOL}"  # rel. error < 1e-7


def test_no_mask_equals_all_false_mask():
    rng = np.random.default_rng(4)
    x = rng.standard_normal((2, 3, 4))
    params = _attn_params(rng, 4)
    out_none, _ = attention_forward(x, *params, 2)
    out_false, _ = attention_forward(x, *params, 2, pad_mask=np.zeros((2, 3), bool))
    np.testing.assert_allclose(out_none, out_false, rtol=1e-14, atol=1e-14)


def test_fully_padded_row_is_finite_and_attends_to_nothing():
    rng = np.random.default_rng(5)
    N, T, D = 2, 4, 6
    x = rng.standard_normal((N, T, D)) * 30  # large inputs: no overflow either
    W_qkv, b_qkv, W_o, b_o = _attn_params(rng, D)
    mask = np.zeros((N, T), bool)
    mask[1] = True  # row 1: every key is padding
    out, cache = attention_forward(x, W_qkv, b_qkv, W_o, b_o, 3, pad_mask=mask)
    assert np.all(np.isfinite(out))
    # our choice: no valid key -> zero attention weights -> context 0 -> output is b_o
    np.testing.assert_array_equal(out[1], np.broadcast_to(b_o, (T, D)))

    grads = attention_backward(rng.standard_normal((N, T, D)), cache)
    for name, g in zip(ATTN_NAMES, grads, strict=True):
        assert np.all(np.isfinite(g)), name
    dx = grads[0]
    np.testing.assert_array_equal(dx[1], 0.0)  # nothing in row 1 influences its output
    assert np.abs(dx[0]).max() > 0


def test_padded_keys_are_invisible():
    """Padded tokens influence nothing but their own (ignored) output rows:
    changing them leaves every valid output unchanged, and with no loss on the padded outputs
    their gradient, which could only arrive through their keys and values, is exactly zero."""
    rng = np.random.default_rng(6)
    N, T, D = 3, 5, 8
    x = rng.standard_normal((N, T, D))
    params = _attn_params(rng, D)
    mask = _pad_mask(N, T, "some_keys")
    mask[2, 1] = True  # padding in the middle of a row too
    out, cache = attention_forward(x, *params, 4, pad_mask=mask)

    x_changed = x.copy()
    x_changed[mask] = rng.standard_normal((mask.sum(), D)) * 10
    out_changed, _ = attention_forward(x_changed, *params, 4, pad_mask=mask)
    np.testing.assert_allclose(out_changed[~mask], out[~mask], rtol=1e-12, atol=1e-12)

    dout = rng.standard_normal((N, T, D))
    dout[mask] = 0.0  # the loss ignores padded positions
    dx = attention_backward(dout, cache)[0]
    np.testing.assert_array_equal(dx[mask], 0.0)
    assert np.all(np.abs(dx[~mask]).max(axis=-1) > 0)


def test_causal_outputs_do_not_see_the_future():
    """Causal: changing position t + 1 leaves every output <= t unchanged, and with a loss on
    the outputs <= t only, no gradient reaches the positions after t."""
    rng = np.random.default_rng(10)
    N, T, D, t = 2, 6, 8, 2
    x = rng.standard_normal((N, T, D))
    params = _attn_params(rng, D)
    out, cache = attention_forward(x, *params, 2, causal=True)
    x_changed = x.copy()
    x_changed[:, t + 1 :] += rng.standard_normal((N, T - t - 1, D)) * 10
    out_changed, _ = attention_forward(x_changed, *params, 2, causal=True)
    np.testing.assert_array_equal(out_changed[:, : t + 1], out[:, : t + 1])
    assert np.abs(out_changed[:, t + 1 :] - out[:, t + 1 :]).min() > 0  # the future did change

    dout = np.zeros((N, T, D))
    dout[:, : t + 1] = rng.standard_normal((N, t + 1, D))
    dx = attention_backward(dout, cache)[0]
    np.testing.assert_array_equal(dx[:, t + 1 :], 0.0)
    # without the mask, the same loss does reach the future positions
    _, cache_full = attention_forward(x, *params, 2)
    assert np.abs(attention_backward(dout, cache_full)[0][:, t + 1 :]).max() > 0


def _all_arrays(obj):
    if isinstance(obj, np.ndarray):
        return [obj]
    if isinstance(obj, tuple | list):
        return [a for item in obj for a in _all_arrays(item)]
    return []


def test_attention_backward_twice_same_result_cache_unchanged():
    rng = np.random.default_rng(7)
    x = rng.standard_normal((2, 4, 6))
    out, cache = attention_forward(
        x, *_attn_params(rng, 6), 2, pad_mask=_pad_mask(2, 4, "some_keys")
    )
    before = copy.deepcopy(cache)
    dout = rng.standard_normal(out.shape)
    first = attention_backward(dout, cache)
    second = attention_backward(dout, cache)
    for a, b in zip(first, second, strict=True):
        np.testing.assert_array_equal(a, b)
    for a, b in zip(_all_arrays(cache), _all_arrays(before), strict=True):
        np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_attention_dtype_follows_input(dtype):
    rng = np.random.default_rng(8)
    x = rng.standard_normal((2, 3, 4)).astype(dtype)
    mask = _pad_mask(2, 3, "full_row")
    out, cache = attention_forward(x, *_attn_params(rng, 4, dtype), 2, pad_mask=mask)
    assert out.dtype == dtype
    for g in attention_backward(np.ones_like(out), cache):
        assert g.dtype == dtype


def test_attention_bad_input_raises():
    rng = np.random.default_rng(9)
    x = rng.standard_normal((2, 3, 6))
    params = _attn_params(rng, 6)
    with pytest.raises(MinilmError, match="divide"):
        attention_forward(x, *params, 4)
    with pytest.raises(MinilmError, match="pad_mask"):
        attention_forward(x, *params, 2, pad_mask=np.zeros((2, 3), int))
    with pytest.raises(MinilmError, match="pad_mask"):
        attention_forward(x, *params, 2, pad_mask=np.zeros((3, 2), bool))


# ---------------------------------------------------------------------------------------------
# positions
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("T,D", [(1, 1), (1, 4), (7, 6), (9, 5)])
def test_sinusoidal_positions_match_formula(T, D):
    pe = sinusoidal_positions(T, D, np.float64)
    assert pe.shape == (T, D)
    for t in range(T):
        for i in range(D):
            angle = t / 10000 ** (2 * (i // 2) / D)
            expected = np.sin(angle) if i % 2 == 0 else np.cos(angle)
            assert abs(pe[t, i] - expected) < 1e-12


def test_sinusoidal_positions_properties():
    pe = sinusoidal_positions(50, 8, np.float32)
    assert pe.dtype == np.float32
    np.testing.assert_array_equal(pe[0], [0, 1, 0, 1, 0, 1, 0, 1])  # sin 0, cos 0
    np.testing.assert_allclose(pe[:, 0], np.sin(np.arange(50)), atol=1e-6)  # 1 rad per step
    # each (sin, cos) pair is a point on the unit circle: every pair has norm 1
    np.testing.assert_allclose(np.hypot(pe[:, 0::2], pe[:, 1::2]), 1.0, atol=1e-6)


def _add_positions(x, P):
    """x + P[:T], broadcast over the batch: the way a model uses learned positions."""
    pos, cache = position_forward(P, x.shape[-2])
    return x + pos, cache


def _add_positions_backward(dout, cache):
    return dout, position_backward(dout, cache)


@pytest.mark.parametrize("N,T,Tmax,D", [(1, 1, 1, 3), (1, 1, 4, 2), (3, 4, 6, 5), (2, 6, 6, 4)])
def test_learned_positions_gradients(N, T, Tmax, D):
    rng = np.random.default_rng(10)
    x, P = rng.standard_normal((N, T, D)), rng.standard_normal((Tmax, D))
    errors = check_layer(_add_positions, _add_positions_backward, [x, P], names=["x", "P"])
    for name, err in errors.items():
        assert err < TOL, f"{name}: rel. error {err:.2e} >= {TOL}"  # rel. error < 1e-7


def test_learned_positions_sum_over_batch_and_leave_unused_rows_zero():
    rng = np.random.default_rng(11)
    P = rng.standard_normal((6, 3)).astype(np.float32)
    out, cache = position_forward(P, 4)
    np.testing.assert_array_equal(out, P[:4])
    out[0] = 99.0  # the output is a copy: the parameter cannot change behind the model's back
    assert not np.any(P == 99.0)
    dout = rng.standard_normal((5, 4, 3)).astype(np.float32)
    dP = position_backward(dout, cache)
    assert dP.shape == P.shape and dP.dtype == np.float32
    np.testing.assert_allclose(dP[:4], dout.sum(axis=0), rtol=1e-6)
    np.testing.assert_array_equal(dP[4:], 0.0)
    with pytest.raises(MinilmError, match="max_len"):
        position_forward(P, 7)


# ---------------------------------------------------------------------------------------------
# masked mean
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("N,T,D", [(1, 1, 3), (2, 1, 2), (3, 5, 4), (4, 6, 2)])
@pytest.mark.parametrize("kind", ["no_padding", "some_keys", "full_row"])
def test_masked_mean_forward_and_gradients(N, T, D, kind):
    rng = np.random.default_rng(12)
    x = rng.standard_normal((N, T, D))
    mask = _pad_mask(N, T, kind) if kind != "no_padding" else np.zeros((N, T), bool)
    out, _ = masked_mean_forward(x, mask)
    for n in range(N):  # the definition, row by row
        valid = x[n][~mask[n]]
        expected = valid.mean(axis=0) if len(valid) else np.zeros(D)
        np.testing.assert_allclose(out[n], expected, rtol=1e-13, atol=1e-15)
    errors = check_layer(masked_mean_forward, masked_mean_backward, [x, mask], names=["x", "mask"])
    assert errors["x"] < TOL, f"rel. error {errors['x']:.2e} >= {TOL}"  # rel. error < 1e-7


def test_masked_mean_fully_padded_row_and_dtype():
    x = np.full((2, 3, 4), 7.0, dtype=np.float32)
    mask = np.array([[False, True, True], [True, True, True]])
    out, cache = masked_mean_forward(x, mask)
    assert out.dtype == np.float32
    np.testing.assert_array_equal(out, [[7.0] * 4, [0.0] * 4])  # empty row -> zeros, not NaN
    dx = masked_mean_backward(np.ones((2, 4), np.float32), cache)
    assert dx.dtype == np.float32
    np.testing.assert_array_equal(dx[0, 0], 1.0)
    np.testing.assert_array_equal(dx[mask], 0.0)  # padding gets no gradient
    with pytest.raises(MinilmError, match="pad_mask"):
        masked_mean_forward(x, mask.astype(int))
