"""The test inputs of every exercise: fixed cases that break each symmetry, then random shapes.

Each function takes the grader's generator (seeded with the number the report prints) and
returns [(label, inputs)]. The fixed cases are the ones that catch the classic bugs: heads !=
head size and several head counts, odd T, batch 1 and > 1, repeated ids, causal and not, fully
padded rows, padding targets (-100), everything masked, scores of +-1000, square weights (so a
transposed gradient has the right shape). The last cases draw their shapes from the generator.
"""

from __future__ import annotations

import numpy as np

Rng = np.random.Generator
Cases = list[tuple[str, dict[str, object]]]


def _n(rng: Rng, *shape: int, scale: float = 1.0) -> np.ndarray:
    return scale * rng.standard_normal(shape)


def _size(rng: Rng, low: int, high: int) -> int:
    return int(rng.integers(low, high + 1))


def affine(rng: Rng) -> Cases:
    def case(x_shape, H):
        D = x_shape[-1]
        return {"x": _n(rng, *x_shape), "W": _n(rng, D, H), "b": _n(rng, H)}

    lead = tuple(_size(rng, 1, 3) for _ in range(_size(rng, 1, 3)))
    return [
        ("x (2, 3, 4), W (4, 5)", case((2, 3, 4), 5)),
        ("a batch of one, x (1, 3)", case((1, 3), 2)),
        ("a square W (3, 3): a transposed dW keeps its shape", case((4, 3), 3)),
        (f"random: x {(*lead, 4)}, W (4, 3)", case((*lead, 4), 3)),
    ]


def embedding(rng: Rng) -> Cases:
    V = _size(rng, 2, 6)
    ids = rng.integers(0, V, size=(_size(rng, 1, 3), _size(rng, 2, 5)))
    return [
        ("ids (2, 3) with repeats", {"ids": np.array([[1, 4, 1], [0, 1, 4]]), "W": _n(rng, 5, 3)}),
        ("one id", {"ids": np.array([2]), "W": _n(rng, 4, 2)}),
        ("the same id five times", {"ids": np.full(5, 2), "W": _n(rng, 3, 4)}),
        (f"random ids {ids.shape} over V={V} rows", {"ids": ids, "W": _n(rng, V, 3)}),
    ]


def elementwise(rng: Rng) -> Cases:
    shape = tuple(_size(rng, 1, 4) for _ in range(_size(rng, 1, 3)))
    return [
        ("x (3, 4)", {"x": _n(rng, 3, 4)}),
        ("x (5,), values up to +-30", {"x": np.array([-30.0, -3.0, 0.0, 2.5, 30.0])}),
        ("x (2, 3, 2)", {"x": _n(rng, 2, 3, 2, scale=2.0)}),
        (f"random: x {shape}", {"x": _n(rng, *shape)}),
    ]


def softmax(rng: Rng) -> Cases:
    N, T, V = _size(rng, 1, 3), _size(rng, 1, 5), _size(rng, 2, 6)
    mask = rng.random((N, T)) < 0.7
    targets = np.where(mask, rng.integers(0, V, size=(N, T)), -100)
    return [
        (
            "logits (4, 5), no mask, a repeated target",
            {"logits": _n(rng, 4, 5), "targets": np.array([0, 3, 3, 4])},
        ),
        (
            "logits (2, 3, 4) with a mask; padding targets are -100",
            {
                "logits": _n(rng, 2, 3, 4),
                "targets": np.array([[1, 2, -100], [3, -100, -100]]),
                "mask": np.array([[True, True, False], [True, False, False]]),
            },
        ),
        (
            "large logits (+-1000)",
            {
                "logits": np.array([[1000.0, 0.0, -1000.0], [0.0, 1000.0, 999.0]]),
                "targets": np.array([2, 1]),
            },
        ),
        (
            "everything masked: loss 0 and zero gradients",
            {
                "logits": _n(rng, 2, 3),
                "targets": np.array([-100, -100]),
                "mask": np.zeros(2, dtype=bool),
            },
        ),
        ("one row, logits (1, 7)", {"logits": _n(rng, 1, 7), "targets": np.array([6])}),
        (
            f"random: logits {(N, T, V)}, mask",
            {"logits": _n(rng, N, T, V, scale=3.0), "targets": targets, "mask": mask},
        ),
    ]


def _rnn_step(rng: Rng, N: int, D: int, H: int) -> dict:
    return {
        "x": _n(rng, N, D),
        "h_prev": _n(rng, N, H, scale=0.5),
        "W_xh": _n(rng, D, H, scale=0.5),
        "W_hh": _n(rng, H, H, scale=0.5),
        "b_h": _n(rng, H, scale=0.1),
    }


def rnn_step(rng: Rng) -> Cases:
    N, D, H = _size(rng, 1, 4), _size(rng, 1, 5), _size(rng, 1, 5)
    return [
        ("N=3, D=4, H=5", _rnn_step(rng, 3, 4, 5)),
        ("N=1, D=3, H=3 (W_xh square)", _rnn_step(rng, 1, 3, 3)),
        (f"random: N={N}, D={D}, H={H}", _rnn_step(rng, N, D, H)),
    ]


def rnn_bptt(rng: Rng) -> Cases:
    def case(N, T, D, H):
        return {
            "x": _n(rng, N, T, D),
            "h0": _n(rng, N, H, scale=0.5),
            "W_xh": _n(rng, D, H, scale=0.5),
            "W_hh": _n(rng, H, H, scale=0.5),
            "b_h": _n(rng, H, scale=0.1),
        }

    N, T, D, H = (_size(rng, 1, 3), _size(rng, 1, 6), _size(rng, 1, 4), _size(rng, 1, 5))
    return [
        ("N=2, T=4, D=3, H=5", case(2, 4, 3, 5)),
        ("one step, T=1", case(3, 1, 2, 4)),
        ("a batch of one, odd T=5, D=H=3", case(1, 5, 3, 3)),
        (f"random: N={N}, T={T}, D={D}, H={H}", case(N, T, D, H)),
    ]


def lstm_step(rng: Rng) -> Cases:
    def case(N, D, H):
        return {
            "x": _n(rng, N, D),
            "h_prev": _n(rng, N, H, scale=0.5),
            "c_prev": _n(rng, N, H),
            "W_x": _n(rng, D, 4 * H, scale=0.5),
            "W_h": _n(rng, H, 4 * H, scale=0.5),
            "b": _n(rng, 4 * H, scale=0.3),
        }

    N, D, H = _size(rng, 1, 4), _size(rng, 1, 5), _size(rng, 1, 4)
    return [
        ("N=3, D=4, H=5", case(3, 4, 5)),
        ("N=1, D=2, H=2", case(1, 2, 2)),
        ("N=2, D=8, H=2 (W_x square)", case(2, 8, 2)),
        (f"random: N={N}, D={D}, H={H}", case(N, D, H)),
    ]


def layernorm(rng: Rng) -> Cases:
    shape = tuple(_size(rng, 1, 3) for _ in range(_size(rng, 0, 2))) + (_size(rng, 2, 6),)

    def case(*s, scale=1.0, shift=0.0):
        D = s[-1]
        return {"x": _n(rng, *s, scale=scale) + shift, "gamma": _n(rng, D), "beta": _n(rng, D)}

    return [
        ("x (3, 5), shifted and scaled", case(3, 5, scale=2.0, shift=1.0)),
        ("x (2, 3, 4)", case(2, 3, 4)),
        ("one position, x (1, 1, 7)", case(1, 1, 7)),
        (f"random: x {shape}", case(*shape, scale=3.0)),
    ]


def attention(rng: Rng) -> Cases:
    def case(N, T, h, d, pad=None, causal=False, scale=0.5):
        D = h * d
        return {
            "x": _n(rng, N, T, D),
            "W_qkv": _n(rng, D, 3 * D, scale=scale),
            "b_qkv": _n(rng, 3 * D, scale=0.1),
            "W_o": _n(rng, D, D, scale=0.5),
            "b_o": _n(rng, D, scale=0.1),
            "n_heads": h,
            "pad_mask": pad,
            "causal": causal,
        }

    pad = np.array([[False, False, False, False], [False, False, True, True]])
    full = np.array([[False, False, True], [True, True, True], [False, True, True]])
    N, T, h, d = _size(rng, 1, 3), _size(rng, 1, 6), _size(rng, 1, 3), _size(rng, 1, 4)
    rpad = rng.random((N, T)) < 0.3
    causal = bool(rng.integers(2))
    return [
        ("N=2, T=3, D=6, 2 heads of size 3", case(2, 3, 2, 3)),
        ("a batch of one, odd T=5, D=6, 3 heads of size 2", case(1, 5, 3, 2)),
        (
            "N=2, T=4, D=8, 4 heads of size 2; the second sequence ends in two pads",
            case(2, 4, 4, 2, pad),
        ),
        ("causal, N=2, T=5, D=6, 2 heads of size 3", case(2, 5, 2, 3, causal=True)),
        (
            "causal with padding, one sequence fully padded, D=4, 1 head",
            case(3, 3, 1, 4, full, causal=True),
        ),
        (
            "scores of +-1000: the max must be subtracted, D=4, 2 heads",
            case(2, 3, 2, 2, scale=20.0),
        ),
        (
            f"random: N={N}, T={T}, {h} head(s) of size {d}, causal={causal}, some padding",
            case(N, T, h, d, rpad, causal),
        ),
    ]


def sgns(rng: Rng) -> Cases:
    def case(V, D, N, K, scale=1.0):
        return {
            "W_in": _n(rng, V, D, scale=scale),
            "W_out": _n(rng, V, D, scale=scale),
            "context": rng.integers(0, V, N),
            "center": rng.integers(0, V, N),
            "negatives": rng.integers(0, V, (N, K)),
        }

    V, D, N, K = _size(rng, 2, 6), _size(rng, 1, 4), _size(rng, 1, 5), _size(rng, 1, 4)
    return [
        (
            "4 pairs, K=3 negatives, repeated ids",
            {
                "W_in": _n(rng, 6, 3),
                "W_out": _n(rng, 6, 3),
                "context": np.array([0, 2, 2, 5]),
                "center": np.array([1, 3, 1, 0]),
                "negatives": np.array([[4, 4, 1], [0, 5, 2], [3, 4, 0], [1, 1, 2]]),
            },
        ),
        ("one pair, one negative", case(3, 2, 1, 1)),
        (
            "scores of +-1200: -log sigma must stay finite",
            {
                "W_in": 20 * np.array([1.0, -1, 1, -1])[:, None] + _n(rng, 4, 3, scale=0.1),
                "W_out": 20 * np.array([1.0, -1, -1, 1])[:, None] + _n(rng, 4, 3, scale=0.1),
                "context": np.array([0, 1, 2]),
                "center": np.array([2, 3, 0]),
                "negatives": np.array([[0, 1], [2, 3], [1, 2]]),
            },
        ),
        (f"random: V={V}, D={D}, N={N}, K={K}", case(V, D, N, K)),
    ]


def glove(rng: Rng) -> Cases:
    def case(V, D, N, x):
        return {
            "W": _n(rng, V, D),
            "W_tilde": _n(rng, V, D),
            "b": _n(rng, V),
            "b_tilde": _n(rng, V),
            "i": rng.integers(0, V, N),
            "j": rng.integers(0, V, N),
            "x": x,
            "x_max": 100.0,
            "alpha": 0.75,
        }

    V, D, N = _size(rng, 2, 6), _size(rng, 1, 4), _size(rng, 1, 6)
    return [
        (
            "6 entries, repeated rows and columns, counts on both sides of x_max",
            {
                **case(5, 3, 6, np.array([1.0, 3.0, 250.0, 7.5, 40.0, 120.0])),
                "i": np.array([0, 1, 1, 3, 4, 0]),
                "j": np.array([1, 0, 2, 3, 1, 1]),
            },
        ),
        ("one entry", case(3, 2, 1, np.array([5.0]))),
        (f"random: V={V}, D={D}, N={N}", case(V, D, N, rng.uniform(1, 300, N))),
    ]


def hsoftmax(rng: Rng) -> Cases:
    def case(N, D, V, L, scale=1.0):
        lengths = rng.integers(1, L + 1, N)
        points = rng.integers(0, V - 1, (N, L))
        points[:, 0] = 0  # every path starts at the root
        return {
            "h": _n(rng, N, D, scale=scale),
            "W_node": _n(rng, V - 1, D, scale=scale),
            "points": points,
            "codes": rng.integers(0, 2, (N, L)),
            "lengths": lengths,
        }

    N, D, V, L = _size(rng, 1, 5), _size(rng, 1, 4), _size(rng, 3, 8), _size(rng, 1, 4)
    return [
        ("N=4, D=3, 5 nodes, paths of 1 to 3 nodes", case(4, 3, 6, 3)),
        ("one example", case(1, 2, 4, 2)),
        ("scores beyond +-1000: -log sigma must stay finite", case(3, 3, 5, 3, scale=40.0)),
        (f"random: N={N}, D={D}, V={V}, L={L}", case(N, D, V, L)),
    ]


def info_nce(rng: Rng) -> Cases:
    N, D = _size(rng, 1, 6), _size(rng, 1, 5)
    return [
        ("N=4 pairs, D=3, tau=0.05", {"a": _n(rng, 4, 3), "b": _n(rng, 4, 3), "tau": 0.05}),
        (
            "N=3, D=5, rows of different lengths, tau=0.5",
            {"a": _n(rng, 3, 5) * np.array([[0.1], [1.0], [7.0]]), "b": _n(rng, 3, 5), "tau": 0.5},
        ),
        ("scores near +-1000: tau=0.001", {"a": _n(rng, 3, 2), "b": _n(rng, 3, 2), "tau": 1e-3}),
        (f"random: N={N}, D={D}", {"a": _n(rng, N, D), "b": _n(rng, N, D), "tau": 0.1}),
    ]


def _affinities(rng: Rng, N: int) -> np.ndarray:
    P = rng.random((N, N))
    P = P + P.T
    np.fill_diagonal(P, 0)
    P[0, 1] = P[1, 0] = 0  # a pair with P = 0: it must be left out of the sum, not log(0)
    return P / P.sum()


def tsne(rng: Rng) -> Cases:
    N, k = _size(rng, 3, 7), _size(rng, 1, 3)
    Y = _n(rng, 4, 2)
    Y[3] = Y[2]  # two points on top of each other
    return [
        ("N=5 points in 2-D", {"P": _affinities(rng, 5), "Y": _n(rng, 5, 2)}),
        ("N=4, two points at the same place", {"P": _affinities(rng, 4), "Y": Y}),
        ("N=3 points in 3-D, far apart", {"P": _affinities(rng, 3), "Y": _n(rng, 3, 3, scale=10)}),
        (f"random: N={N}, k={k}", {"P": _affinities(rng, N), "Y": _n(rng, N, k)}),
    ]


def _tagger(rng: Rng, N: int, W: int, V: int, D: int, H: int, K: int, **over) -> dict:
    inputs = {
        "C": _n(rng, V, D),
        "W1": _n(rng, W * D, H, scale=1 / np.sqrt(W * D)),
        "b1": _n(rng, H, scale=0.1),
        "W2": _n(rng, H, K),
        "b2": _n(rng, K, scale=0.1),
        "windows": rng.integers(0, V, size=(N, W)),
        "tags": rng.integers(0, K, size=N),
    }
    return inputs | over


def window_tagger(rng: Rng) -> Cases:
    N, k = _size(rng, 1, 6), _size(rng, 0, 2)
    V, D, H, K = _size(rng, 2, 7), _size(rng, 1, 4), _size(rng, 1, 5), _size(rng, 2, 5)
    big = _tagger(rng, 3, 3, 4, 2, 3, 3)
    big["W2"] = big["W2"] * 1000
    return [
        (
            "N=4 windows of 3 words, a word repeated in a window and across windows",
            _tagger(
                rng,
                4,
                3,
                5,
                2,
                3,
                4,
                windows=np.array([[1, 1, 2], [0, 1, 4], [2, 3, 2], [1, 0, 1]]),
            ),
        ),
        (
            "one window of 5 words, every word the same",
            _tagger(rng, 1, 5, 3, 3, 2, 3, windows=np.full((1, 5), 2), tags=np.array([1])),
        ),
        ("square weights: one word a window, D = H = K = 3", _tagger(rng, 5, 1, 4, 3, 3, 3)),
        ("scores near +-1000 (W2 x 1000)", big),
        (
            f"random: N={N}, {2 * k + 1} words, V={V}, D={D}, H={H}, K={K}",
            _tagger(rng, N, 2 * k + 1, V, D, H, K),
        ),
    ]


def matryoshka(rng: Rng) -> Cases:
    N, D = _size(rng, 1, 6), _size(rng, 2, 8)
    dims = tuple(
        sorted(
            rng.choice(np.arange(1, D + 1), size=_size(rng, 1, min(D, 4)), replace=False).tolist()
        )
    )
    lengths = np.array([[0.1], [1.0], [7.0]])
    return [
        (
            "N=4, D=6, dims (2, 4, 6), tau=0.1",
            {"a": _n(rng, 4, 6), "b": _n(rng, 4, 6), "dims": (2, 4, 6), "temperature": 0.1},
        ),
        (
            "dims (5,) = the full width: plain InfoNCE",
            {"a": _n(rng, 3, 5), "b": _n(rng, 3, 5), "dims": (5,), "temperature": 0.5},
        ),
        (
            "N=3, D=7, dims (1, 3, 5): the last columns in no prefix, rows of different lengths",
            {
                "a": _n(rng, 3, 7) * lengths,
                "b": _n(rng, 3, 7),
                "dims": (1, 3, 5),
                "temperature": 0.2,
            },
        ),
        (
            "one direction only (symmetric=False), N=5, D=4, dims (2, 4)",
            {
                "a": _n(rng, 5, 4),
                "b": _n(rng, 5, 4),
                "dims": (2, 4),
                "temperature": 0.1,
                "symmetric": False,
            },
        ),
        (
            "scores near +-1000: tau=0.001",
            {"a": _n(rng, 3, 4), "b": _n(rng, 3, 4), "dims": (2, 4), "temperature": 1e-3},
        ),
        (
            f"random: N={N}, D={D}, dims {dims}",
            {"a": _n(rng, N, D), "b": _n(rng, N, D), "dims": dims, "temperature": 0.1},
        ),
    ]
