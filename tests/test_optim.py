"""Optimisers, schedules and clipping: convergence, hand-computed steps, sparse == dense rows."""

from __future__ import annotations

import numpy as np
import pytest

from minilm.errors import MinilmError
from minilm.optim import (
    SGD,
    Adagrad,
    Adam,
    AdamW,
    ScatterSGD,
    clip_global_norm,
    clip_if_above,
    constant,
    linear_decay,
    warmup_cosine,
)

# A quadratic bowl f(p) = 1/2 sum a (p - c)^2 with known minimum p = c; curvatures differ by 10x.
A = np.array([[1.0, 3.0, 10.0], [0.5, 2.0, 5.0]])
C = np.array([[1.0, -2.0, 0.5], [3.0, 0.0, -1.0]])


def quadratic_grad(p: np.ndarray) -> np.ndarray:
    return A * (p - C)


@pytest.mark.parametrize(
    "make_opt, steps, schedule",
    [
        (lambda: SGD(lr=0.15), 300, None),
        (lambda: SGD(lr=0.05, momentum=0.9), 300, None),
        (lambda: Adagrad(lr=1.0), 500, None),
        (lambda: Adam(lr=0.1), 800, "cosine"),
        (lambda: AdamW(lr=0.1, weight_decay=0.0), 800, "cosine"),
    ],
    ids=["sgd", "momentum", "adagrad", "adam", "adamw"],
)
def test_optimiser_converges_on_quadratic(make_opt, steps, schedule):
    opt = make_opt()
    params = {"p": np.zeros_like(C)}
    for t in range(steps):
        lr = warmup_cosine(t, steps, opt.lr, warmup=20, floor=0.0) if schedule else None
        opt.step(params, {"p": quadratic_grad(params["p"])}, lr=lr)
    # Tolerance: all of these reach the minimum to well below 1e-4 in the given steps.
    np.testing.assert_allclose(params["p"], C, atol=1e-4)


def test_adamw_decay_shrinks_weights_without_gradient_geometrically():
    # With g = 0 the Adam part is 0 / (0 + eps) = 0, so only the decoupled decay acts:
    # p_n = p_0 (1 - lr wd)^n. (Adam's L2 decay instead goes through the normalised moments.)
    opt = AdamW(lr=0.1, weight_decay=0.5)
    params = {"p": np.array([2.0, -4.0])}
    for _ in range(10):
        opt.step(params, {"p": np.zeros(2)})
    np.testing.assert_allclose(params["p"], np.array([2.0, -4.0]) * 0.95**10, rtol=1e-13)


def test_sgd_step_by_hand():
    p0 = np.array([1.0, -2.0])
    g1, g2 = np.array([0.5, 0.25]), np.array([-1.0, 2.0])
    opt = SGD(lr=0.1, momentum=0.9)
    params = {"p": p0.copy()}
    opt.step(params, {"p": g1})
    opt.step(params, {"p": g2})
    u1 = g1
    u2 = 0.9 * u1 + g2
    np.testing.assert_array_equal(params["p"], p0 - 0.1 * u1 - 0.1 * u2)


def test_adam_two_steps_by_hand():
    lr, b1, b2, eps = 0.01, 0.9, 0.999, 1e-8
    p0 = np.array([[0.5, -1.0, 2.0]])
    g1, g2 = np.array([[0.1, -0.2, 0.3]]), np.array([[-0.4, 0.0, 0.3]])
    opt = Adam(lr=lr, betas=(b1, b2), eps=eps)
    params = {"p": p0.copy()}
    opt.step(params, {"p": g1})
    # t = 1: m_hat = g, v_hat = g^2, so the step is lr * g / (|g| + eps), about lr * sign(g).
    p1 = p0 - lr * g1 / (np.abs(g1) + eps)
    np.testing.assert_allclose(params["p"], p1, rtol=0, atol=1e-15)
    opt.step(params, {"p": g2})
    m = b1 * (1 - b1) * g1 + (1 - b1) * g2
    v = b2 * (1 - b2) * g1**2 + (1 - b2) * g2**2
    p2 = p1 - lr * (m / (1 - b1**2)) / (np.sqrt(v / (1 - b2**2)) + eps)
    # Tolerance 1e-15: the same float64 arithmetic in a different order.
    np.testing.assert_allclose(params["p"], p2, rtol=0, atol=1e-15)


def test_adamw_and_adam_l2_step_by_hand():
    lr, wd, eps = 0.01, 0.1, 1e-8
    p0 = np.array([1.0, -3.0, 0.5])
    g = np.array([0.2, 0.1, -0.3])
    # AdamW: decay the weights directly, then the Adam step on g alone.
    params = {"p": p0.copy()}
    AdamW(lr=lr, eps=eps, weight_decay=wd).step(params, {"p": g})
    p_decayed = p0 - lr * wd * p0
    np.testing.assert_allclose(params["p"], p_decayed - lr * g / (np.abs(g) + eps), atol=1e-15)
    # Adam + L2: the decay is part of the gradient, g' = g + wd p.
    params = {"p": p0.copy()}
    Adam(lr=lr, eps=eps, weight_decay=wd).step(params, {"p": g})
    g_l2 = g + wd * p0
    np.testing.assert_allclose(params["p"], p0 - lr * g_l2 / (np.abs(g_l2) + eps), atol=1e-15)


def test_adagrad_step_by_hand():
    p0, g1, g2 = np.array([1.0, 2.0]), np.array([0.5, -1.0]), np.array([0.5, 2.0])
    params = {"p": p0.copy()}
    opt = Adagrad(lr=0.1, eps=1e-8, initial_accumulator=1.0)
    opt.step(params, {"p": g1})
    opt.step(params, {"p": g2})
    G1, G2 = 1.0 + g1**2, 1.0 + g1**2 + g2**2
    expected = p0 - 0.1 * g1 / (np.sqrt(G1) + 1e-8) - 0.1 * g2 / (np.sqrt(G2) + 1e-8)
    np.testing.assert_allclose(params["p"], expected, rtol=0, atol=1e-15)


def _dense(rows: np.ndarray, row_grads: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    out = np.zeros(shape)
    out[rows] = row_grads  # rows are unique here
    return out


@pytest.mark.parametrize(
    "make_opt, n_steps",
    [
        (lambda: SGD(lr=0.1), 3),
        (lambda: Adagrad(lr=0.1), 3),  # zero grads leave G and p unchanged: equal at every step
        (lambda: SGD(lr=0.1, momentum=0.9), 1),  # lazy: equal on a row's first touch only
        (lambda: Adam(lr=0.1), 1),
        (lambda: AdamW(lr=0.1, weight_decay=0.1), 1),
    ],
    ids=["sgd", "adagrad", "momentum", "adam", "adamw"],
)
def test_sparse_rows_equal_dense_update_restricted_to_rows(make_opt, n_steps):
    rng = np.random.default_rng(0)
    V, D = 8, 3
    W0 = rng.normal(size=(V, D))
    b0 = rng.normal(size=D)
    sparse_opt, dense_opt = make_opt(), make_opt()
    sparse = {"W": W0.copy(), "b": b0.copy()}
    dense = {"W": W0.copy(), "b": b0.copy()}
    touched = np.zeros(V, dtype=bool)
    for rows in [np.array([1, 4, 6]), np.array([0, 4]), np.array([7, 2, 5])][:n_steps]:
        touched[rows] = True
        row_grads = rng.normal(size=(rows.size, D))
        gb = rng.normal(size=D)
        sparse_opt.step(sparse, {"W": (rows, row_grads.copy()), "b": gb.copy()})
        dense_opt.step(dense, {"W": _dense(rows, row_grads, (V, D)), "b": gb.copy()})
        # Tolerance 1e-15: same arithmetic on gathered rows.
        np.testing.assert_allclose(sparse["W"][rows], dense["W"][rows], rtol=0, atol=1e-15)
        np.testing.assert_allclose(sparse["b"], dense["b"], rtol=0, atol=1e-15)
    np.testing.assert_array_equal(sparse["W"][~touched], W0[~touched])


def test_lazy_adam_leaves_untouched_rows_and_moments_alone():
    rng = np.random.default_rng(1)
    opt = Adam(lr=0.1)
    params = {"W": rng.normal(size=(5, 2))}
    opt.step(params, {"W": (np.array([0, 3]), rng.normal(size=(2, 2)))})
    m_before, W_before = opt.state["m/W"].copy(), params["W"].copy()
    opt.step(params, {"W": (np.array([1]), rng.normal(size=(1, 2)))})
    # Rows 0 and 3 were not touched at step 2: their moments are not decayed and they do not move
    # (a dense Adam step would keep moving them along their momentum).
    np.testing.assert_array_equal(opt.state["m/W"][[0, 3]], m_before[[0, 3]])
    np.testing.assert_array_equal(params["W"][[0, 3]], W_before[[0, 3]])
    assert opt.t == 2  # the bias correction uses the global step


@pytest.mark.parametrize(
    "make_opt",
    [lambda: SGD(0.1), lambda: SGD(0.1, 0.9), lambda: Adagrad(0.1), lambda: AdamW(0.01)],
    ids=["sgd", "momentum", "adagrad", "adamw"],
)
def test_float32_params_and_state_stay_float32(make_opt):
    rng = np.random.default_rng(2)
    params = {
        "W": rng.normal(size=(6, 4)).astype(np.float32),
        "b": np.zeros(4, np.float32),
    }
    opt = make_opt()
    for _ in range(2):
        grads = {
            "W": (np.array([1, 5]), rng.normal(size=(2, 4)).astype(np.float32)),
            "b": rng.normal(size=4).astype(np.float32),
        }
        opt.step(params, grads, lr=np.float64(0.05))
    assert all(p.dtype == np.float32 for p in params.values())
    assert all(v.dtype == np.float32 for k, v in opt.state_dict().items() if k != "step")


def test_lr_override_is_used_for_that_step_only():
    opt = SGD(lr=1.0)
    params = {"p": np.zeros(2)}
    opt.step(params, {"p": np.ones(2)}, lr=0.25)
    np.testing.assert_array_equal(params["p"], [-0.25, -0.25])
    opt.step(params, {"p": np.ones(2)})
    np.testing.assert_array_equal(params["p"], [-1.25, -1.25])


@pytest.mark.parametrize(
    "make_opt",
    [lambda: SGD(0.1, 0.9), lambda: Adagrad(0.1), lambda: Adam(0.01), lambda: AdamW(0.01)],
    ids=["momentum", "adagrad", "adam", "adamw"],
)
def test_state_dict_round_trip_through_npz_gives_identical_updates(make_opt, tmp_path):
    rng = np.random.default_rng(3)
    grads = [
        {"W": (np.array([0, 2]), rng.normal(size=(2, 3))), "b": rng.normal(size=3)}
        for _ in range(6)
    ]
    params = {"W": rng.normal(size=(4, 3)), "b": rng.normal(size=3)}
    opt = make_opt()
    for g in grads[:3]:
        opt.step(params, g)
    np.savez(tmp_path / "opt.npz", **opt.state_dict())
    params_copy = {k: v.copy() for k, v in params.items()}
    with np.load(tmp_path / "opt.npz", allow_pickle=False) as f:
        restored = make_opt()
        restored.load_state_dict({k: f[k] for k in f.files})
    for g in grads[3:]:
        opt.step(params, g)
        restored.step(params_copy, g)
    for k in params:
        np.testing.assert_array_equal(params[k], params_copy[k])  # bit-identical


def test_state_dict_is_a_copy():
    opt = Adam(0.1)
    params = {"p": np.zeros(2)}
    opt.step(params, {"p": np.ones(2)})
    d = opt.state_dict()
    d["m/p"][:] = 99.0
    assert not np.any(opt.state["m/p"] == 99.0)
    assert int(d["step"]) == 1


def test_bad_inputs_raise_one_line_errors():
    opt = SGD(0.1)
    params = {"W": np.zeros((4, 2))}
    with pytest.raises(MinilmError, match="repeat"):
        opt.step(params, {"W": (np.array([2, 1, 2]), np.ones((3, 2)))})
    with pytest.raises(MinilmError, match="keys"):
        opt.step(params, {"V": np.zeros((4, 2))})
    with pytest.raises(MinilmError, match="shape"):
        opt.step(params, {"W": (np.array([1]), np.ones((2, 2)))})
    with pytest.raises(MinilmError, match="another optimizer"):
        SGD(0.1).load_state_dict(Adam(0.1).state_dict() | {"m/W": np.zeros((4, 2))})
    with pytest.raises(MinilmError, match="lr"):
        Adam(lr=0.0)


def test_clip_global_norm_dense_and_sparse():
    g = {"a": np.array([3.0, 0.0]), "E": (np.array([1, 5]), np.array([[0.0, 4.0], [0.0, 0.0]]))}
    norm = clip_global_norm(g, max_norm=1.0)
    assert norm == pytest.approx(5.0, abs=1e-12)
    np.testing.assert_allclose(g["a"], [0.6, 0.0], atol=1e-12)
    np.testing.assert_allclose(g["E"][1], [[0.0, 0.8], [0.0, 0.0]], atol=1e-12)
    # Below the threshold nothing changes.
    small = {"a": np.array([0.3, 0.4])}
    assert clip_global_norm(small, max_norm=1.0) == pytest.approx(0.5)
    np.testing.assert_array_equal(small["a"], [0.3, 0.4])


def test_clip_global_norm_float32_in_place():
    g = {"W": np.full((100, 100), 1.0, np.float32)}
    norm = clip_global_norm(g, max_norm=10.0)
    assert norm == pytest.approx(100.0)
    assert g["W"].dtype == np.float32
    assert float(np.linalg.norm(g["W"].astype(np.float64))) == pytest.approx(10.0, rel=1e-6)


@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.float16])
@pytest.mark.parametrize("ratio", [0.3, 0.949, 0.9501, 0.999, 1.0001, 3.0])
def test_clip_if_above_equals_clip_global_norm_bit_for_bit(dtype, ratio):
    """Norms far below, just around (where the certificate gives up) and above max_norm; a
    table larger than one certificate chunk; sparse rows. Same bits as clip_global_norm."""
    rng = np.random.default_rng(int(ratio * 1e4))
    big = rng.standard_normal((3, (1 << 20) // 2 + 7)).astype(dtype)  # > one chunk
    grads = {"C": big, "E": (np.array([0, 4]), rng.standard_normal((2, 5)).astype(dtype))}
    norm = float(np.sqrt(sum(np.sum(np.square(a, dtype=np.float64)) for a in (big, grads["E"][1]))))
    max_norm = norm / ratio
    exact = {"C": big.copy(), "E": (grads["E"][0], grads["E"][1].copy())}
    clipped_exact = clip_global_norm(exact, max_norm) > max_norm
    assert clip_if_above(grads, max_norm) == clipped_exact == (ratio > 1)
    np.testing.assert_array_equal(grads["C"], exact["C"])
    np.testing.assert_array_equal(grads["E"][1], exact["E"][1])


def test_clip_if_above_falls_back_on_overflow():
    g = {"W": np.full(4, 3e19, np.float32)}  # the float32 dot overflows to inf
    assert not clip_if_above(g, max_norm=1e20)  # the exact float64 norm, 6e19, decides
    np.testing.assert_array_equal(g["W"], np.full(4, 3e19, np.float32))
    assert clip_if_above(g, max_norm=1e19)
    assert float(np.linalg.norm(g["W"].astype(np.float64))) == pytest.approx(1e19, rel=1e-6)


def test_schedules_start_end_and_floor():
    assert constant(0, 0.1) == constant(10**6, 0.1) == 0.1
    # linear decay: lr at 0, half way at half, floor at the end and beyond (word2vec style).
    assert linear_decay(0, 100, 0.025, 1e-6) == 0.025
    assert linear_decay(50, 100, 0.025, 1e-6) == pytest.approx(0.0125)
    assert linear_decay(100, 100, 0.025, 1e-6) == 1e-6
    assert linear_decay(500, 100, 0.025, 1e-6) == 1e-6
    assert linear_decay(99, 100, 0.025, 0.01) == 0.01  # the floor wins before the end
    # warmup + cosine
    assert warmup_cosine(0, 100, 1.0, warmup=10, floor=0.1) == pytest.approx(0.1)
    assert warmup_cosine(9, 100, 1.0, warmup=10, floor=0.1) == pytest.approx(1.0)
    assert warmup_cosine(10, 100, 1.0, warmup=10, floor=0.1) == pytest.approx(1.0)
    assert warmup_cosine(55, 100, 1.0, warmup=10, floor=0.1) == pytest.approx(0.55)
    assert warmup_cosine(100, 100, 1.0, warmup=10, floor=0.1) == pytest.approx(0.1)
    assert warmup_cosine(1000, 100, 1.0, warmup=10, floor=0.1) == pytest.approx(0.1)
    assert warmup_cosine(0, 100, 1.0, warmup=0, floor=0.0) == pytest.approx(1.0)
    lrs = [warmup_cosine(t, 100, 1.0, 10, 0.0) for t in range(10, 101)]
    assert all(a >= b for a, b in zip(lrs, lrs[1:], strict=False))  # monotone after warmup


def test_scatter_sgd_is_sgd_bit_for_bit():
    # unique rows (any order) and dense parameters: the very same bytes as SGD
    rng = np.random.default_rng(3)
    start = {"W": rng.normal(size=(9, 4)).astype(np.float32), "b": rng.normal(size=4)}
    sgd = {k: v.copy() for k, v in start.items()}
    scatter = {k: v.copy() for k, v in start.items()}
    for step, rows in enumerate([np.array([1, 4, 6]), np.array([8, 0, 4]), np.array([5])]):
        grads = {
            "W": (rows, rng.normal(size=(rows.size, 4)).astype(np.float32)),
            "b": rng.normal(size=4),
        }
        SGD(lr=0.1).step(sgd, grads, lr=0.1 / (step + 1))
        ScatterSGD(lr=0.1).step(scatter, grads, lr=0.1 / (step + 1))
        for k in start:
            assert scatter[k].dtype == start[k].dtype
            assert np.array_equal(scatter[k], sgd[k]), k


def test_scatter_sgd_repeated_rows_sum_the_repeats():
    # repeated ids: every repeat is applied (SGD on the summed rows, up to rounding); without
    # repeated_rows=True repeats are refused, as by SGD
    rng = np.random.default_rng(4)
    W = rng.normal(size=(6, 3))
    rows, row_grads = np.array([2, 5, 2, 2, 0]), rng.normal(size=(5, 3))
    summed = np.zeros_like(W)
    np.add.at(summed, rows, row_grads)
    want = {"W": W.copy()}
    SGD(lr=0.3).step(want, {"W": (np.array([0, 2, 5]), summed[[0, 2, 5]])})
    got = {"W": W.copy()}
    ScatterSGD(lr=0.3, repeated_rows=True).step(got, {"W": (rows, row_grads)})
    np.testing.assert_allclose(got["W"], want["W"], rtol=0, atol=1e-15)
    with pytest.raises(MinilmError, match="repeat"):
        ScatterSGD(lr=0.3).step({"W": W.copy()}, {"W": (rows, row_grads)})
    with pytest.raises(MinilmError, match="shape"):
        ScatterSGD(lr=0.3, repeated_rows=True).step({"W": W.copy()}, {"W": (rows, row_grads[:2])})
