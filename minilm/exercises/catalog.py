"""The graded exercises: what to write, the reference it must match, the test inputs, a hint.

Each exercise names reference functions; `start` copies their signatures and docstrings (never
their bodies) into the learner's file, so the task and the reference cannot drift apart. The
inputs are small float64 arrays from a fixed seed, with the cases that catch the classic bugs:
repeated ids, masks and padding, batch or sequence length 1.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from minilm.exercises import references
from minilm.layers import attention, core, losses, recurrent

Inputs = dict[str, object]


@dataclass(frozen=True)
class Exercise:
    name: str
    title: str
    kind: str  # "layer": forward(**inputs) -> (out, cache), backward(dout, cache) -> grads;
    #            "loss": fn(**inputs) -> (loss, *grads)
    functions: tuple[Callable, ...]  # the references: (forward, backward) or (loss,)
    grad_args: tuple[str, ...]  # inputs that get a gradient, in the order they come back
    cases: Callable[[np.random.Generator], list[tuple[str, Inputs]]]
    task: str
    hint: str
    docs: str = ""  # the docs page that explains it
    equations: str = ""  # the forward's equations, when the reference's docstring lacks them


def _normal(rng: np.random.Generator, *shape: int, scale: float = 1.0) -> np.ndarray:
    return scale * rng.standard_normal(shape)


def _affine_cases(rng):
    return [
        ("x of shape (2, 3, 4), W (4, 5)",
         {"x": _normal(rng, 2, 3, 4), "W": _normal(rng, 4, 5), "b": _normal(rng, 5)}),
        ("a batch of one, x (1, 3)",
         {"x": _normal(rng, 1, 3), "W": _normal(rng, 3, 2), "b": _normal(rng, 2)}),
    ]


def _embedding_cases(rng):
    return [
        ("ids (2, 3) with repeats", {"ids": np.array([[1, 4, 1], [0, 1, 4]]),
                                     "W": _normal(rng, 5, 3)}),
        ("one id", {"ids": np.array([2]), "W": _normal(rng, 4, 2)}),
    ]


def _softmax_cases(rng):
    mask = np.array([[True, True, False], [True, False, False]])
    return [
        ("logits (4, 5), no mask",
         {"logits": _normal(rng, 4, 5), "targets": np.array([0, 3, 3, 4])}),
        ("logits (2, 3, 4) with a mask",
         {"logits": _normal(rng, 2, 3, 4), "targets": np.array([[1, 2, 0], [3, 0, 0]]),
          "mask": mask}),
        ("large logits (+-1000): the max must be subtracted",
         {"logits": np.array([[1000.0, 0.0, -1000.0], [0.0, 1000.0, 999.0]]),
          "targets": np.array([2, 1])}),
    ]


def _rnn_step_cases(rng):
    return [
        ("N=3, D=4, H=5",
         {"x": _normal(rng, 3, 4), "h_prev": _normal(rng, 3, 5, scale=0.5),
          "W_xh": _normal(rng, 4, 5, scale=0.5), "W_hh": _normal(rng, 5, 5, scale=0.5),
          "b_h": _normal(rng, 5, scale=0.1)}),
    ]


def _rnn_cases(rng):
    def case(N, T, D, H):
        return {"x": _normal(rng, N, T, D), "h0": _normal(rng, N, H, scale=0.5),
                "W_xh": _normal(rng, D, H, scale=0.5), "W_hh": _normal(rng, H, H, scale=0.5),
                "b_h": _normal(rng, H, scale=0.1)}

    return [("N=2, T=4, D=3, H=5", case(2, 4, 3, 5)), ("one step, T=1", case(3, 1, 2, 4))]


def _layernorm_cases(rng):
    return [
        ("x (3, 5)", {"x": _normal(rng, 3, 5, scale=2.0) + 1.0, "gamma": _normal(rng, 5),
                      "beta": _normal(rng, 5)}),
        ("x (2, 3, 4)", {"x": _normal(rng, 2, 3, 4), "gamma": _normal(rng, 4),
                         "beta": _normal(rng, 4)}),
    ]


def _attention_cases(rng):
    def case(N, T, D, pad_mask):
        return {"x": _normal(rng, N, T, D), "W_qkv": _normal(rng, D, 3 * D, scale=0.5),
                "b_qkv": _normal(rng, 3 * D, scale=0.1), "W_o": _normal(rng, D, D, scale=0.5),
                "b_o": _normal(rng, D, scale=0.1), "n_heads": 2, "pad_mask": pad_mask}

    pad = np.array([[False, False, False, False], [False, False, True, True]])
    return [
        ("N=2, T=3, D=4, 2 heads, no padding", case(2, 3, 4, None)),
        ("N=2, T=4, D=4, 2 heads, the second sequence ends in two pads", case(2, 4, 4, pad)),
    ]


def _sgns_cases(rng):
    return [
        ("4 pairs, K=3 negatives, repeated ids",
         {"W_in": _normal(rng, 6, 3), "W_out": _normal(rng, 6, 3),
          "context": np.array([0, 2, 2, 5]), "center": np.array([1, 3, 1, 0]),
          "negatives": np.array([[4, 4, 1], [0, 5, 2], [3, 4, 0], [1, 1, 2]])}),
    ]


def _glove_cases(rng):
    V, D = 5, 3
    return [
        ("6 entries, repeated rows and columns, counts on both sides of x_max",
         {"W": _normal(rng, V, D), "W_tilde": _normal(rng, V, D), "b": _normal(rng, V),
          "b_tilde": _normal(rng, V), "i": np.array([0, 1, 1, 3, 4, 0]),
          "j": np.array([1, 0, 2, 3, 1, 1]), "x": np.array([1.0, 3.0, 250.0, 7.5, 40.0, 120.0]),
          "x_max": 100.0, "alpha": 0.75}),
    ]


EXERCISES: dict[str, Exercise] = {}


def _add(ex: Exercise) -> None:
    EXERCISES[ex.name] = ex


_add(Exercise(
    "affine", "the affine layer, out = x W + b",
    "layer", (core.affine_forward, core.affine_backward), ("x", "W", "b"), _affine_cases,
    task="Write the forward (x may have any number of leading axes) and the backward.",
    hint="Flatten the leading axes: x2 = x.reshape(-1, D), dout2 = dout.reshape(-1, H). Then "
         "dx = dout2 @ W.T (reshaped back to x's shape), dW = x2.T @ dout2, db = dout2.sum(0): "
         "W and b were used at every position, so their gradients sum over all of them. Check "
         "each gradient's shape against its parameter's first.",
    docs="docs/03-nplm.md",
))
_add(Exercise(
    "embedding", "the embedding lookup and its duplicate-safe backward",
    "layer", (core.embedding_forward, core.embedding_backward), ("W",), _embedding_cases,
    task="Write the lookup out = W[ids] and its backward dW (ids get no gradient). The "
         "forward's input validation is optional.",
    hint="dW[ids] += dout looks right and is wrong: with a repeated id, NumPy's fancy "
         "assignment keeps one of the contributions. Use np.add.at(dW, ids, dout) (flatten "
         "ids to (M,) and dout to (M, D) first).",
    docs="docs/03-nplm.md",
))
_add(Exercise(
    "softmax_cross_entropy", "softmax cross-entropy, fused with its gradient",
    "loss", (losses.softmax_cross_entropy,), ("logits",), _softmax_cases,
    task="Return the mean loss over the counted positions and dloss/dlogits. Input validation "
         "is optional.",
    hint="Subtract each row's max before exp (softmax does not change, nothing overflows). "
         "log p_y = z_y - max - log(sum exp(z - max)). The gradient is (softmax - onehot) / n "
         "on counted rows and 0 on the others, n = the number of counted rows.",
    docs="docs/03-nplm.md",
))
_add(Exercise(
    "rnn_step", "one step of a tanh RNN",
    "layer", (references.rnn_step_forward, references.rnn_step_backward),
    ("x", "h_prev", "W_xh", "W_hh", "b_h"), _rnn_step_cases,
    task="Write one step of the recurrence and its backward (five gradients).",
    hint="Keep h in the cache: tanh'(a) = 1 - h^2, so da = dh * (1 - h**2). Then the step is "
         "two affine maps with one output: dx = da @ W_xh.T, dW_xh = x.T @ da, and the same "
         "for h_prev and W_hh; db_h = da.sum(0).",
    docs="docs/04-srn-bptt.md",
))
_add(Exercise(
    "rnn_bptt", "a tanh RNN over a sequence, and backpropagation through time",
    "layer", (recurrent.rnn_forward, recurrent.rnn_backward), ("x", "h0", "W_xh", "W_hh", "b_h"),
    _rnn_cases,
    task="Run the recurrence over T steps (return every h_t), then write BPTT. You may reuse "
         "your rnn_step solution inside.",
    hint="Go backwards in time carrying dh_next (zeros after the last step): at step t the "
         "state gets dhs[:, t] + dh_next. Run the step backward, keep its dh_prev as the new "
         "dh_next and ADD its dW_xh, dW_hh, db_h into running sums: the same weights were used "
         "at every step. What is left in dh_next at the end is dh0.",
    docs="docs/04-srn-bptt.md",
))
_add(Exercise(
    "layernorm", "layer normalisation",
    "layer", (core.layernorm_forward, core.layernorm_backward), ("x", "gamma", "beta"),
    _layernorm_cases,
    task="Normalise over the last axis; write the backward. Input validation is optional.",
    hint="Write dxhat = dout * gamma first. x reaches xhat twice: through the mean and through "
         "the standard deviation. Differentiating both gives "
         "dx = rstd * (dxhat - mean(dxhat) - xhat * mean(dxhat * xhat)), means over the last "
         "axis (keepdims=True), rstd = 1 / sqrt(var + eps). dgamma and dbeta sum over every "
         "leading axis.",
    docs="docs/07-transformer-mlm.md",
))
_add(Exercise(
    "attention", "multi-head self-attention with a padding mask",
    "layer", (attention.attention_forward, attention.attention_backward),
    ("x", "W_qkv", "b_qkv", "W_o", "b_o"), _attention_cases,
    task="Write the forward (heads batched, padded keys get weight exactly 0) and the backward "
         "(five gradients). Input validation is optional.",
    equations="""h heads of size d = D / h:
    [Q | K | V] = x W_qkv + b_qkv                  (N, T, 3D); head j owns columns [j d, (j+1) d)
                                                   of each of the three D-column blocks
    S = Q K^T / sqrt(d)                            (N, h, T, T), query i (rows) vs key j
    P = softmax(S) over keys j                     a padded key gets weight exactly 0
    C = P V                                        (N, h, T, d)
    out = concat_heads(C) W_o + b_o                (N, T, D)""",
    hint="Split heads with qkv.reshape(N, T, 3, h, d).transpose(2, 0, 3, 1, 4). Mask by adding "
         "-inf to padded keys' scores before the softmax. Backward, in reverse: dP = dC V^T, "
         "dV = P^T dC, dS = P * (dP - sum_j P dP) per row, dQ = dS K / sqrt(d), "
         "dK = dS^T Q / sqrt(d); then undo the head split and run the affine backward twice.",
    docs="docs/07-transformer-mlm.md",
))
_add(Exercise(
    "sgns", "the skip-gram negative-sampling loss",
    "loss", (references.sgns_loss,), ("W_in", "W_out"), _sgns_cases,
    task="Return the summed loss and the dense gradients of both tables.",
    hint="With z = u . h and -log sigma(z) = np.logaddexp(0, -z): d/dz[-log sigma(z)] = "
         "sigma(z) - 1 for the positive and d/dz[-log sigma(-z)] = sigma(z) for a negative. "
         "Then dh = sum_k dz_k u_k and du_k = dz_k h. Scatter them with np.add.at: a word can "
         "be a context twice, or a negative of several pairs.",
    docs="docs/05-word2vec.md",
))
_add(Exercise(
    "glove", "GloVe's weighted least-squares loss",
    "loss", (references.glove_loss,), ("W", "W_tilde", "b", "b_tilde"), _glove_cases,
    task="Return J and the dense gradients of the four tables (the counts x get none).",
    hint="Call diff = w_i . w~_j + b_i + b~_j - log x. Then dJ/ddiff = 2 f(x) diff, "
         "dw_i = ddiff w~_j, dw~_j = ddiff w_i, db_i = db~_j = ddiff. Add them into the tables "
         "with np.add.at (ids repeat). f(x) = min(1, (x / x_max)^alpha).",
    docs="docs/02-ppmi-glove.md",
))
