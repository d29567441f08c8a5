"""Small networks built from the layer library, trained by the shared loop, solve toy tasks.

Both tasks are checked exhaustively (every possible input), to 100% accuracy, from a fixed seed.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator

import numpy as np

from minilm.layers.core import affine_backward, affine_forward, tanh_backward, tanh_forward
from minilm.layers.losses import softmax_cross_entropy
from minilm.layers.recurrent import rnn_backward, rnn_forward
from minilm.optim import Adam
from minilm.train import TrainConfig, train

# --- XOR with a two-layer MLP ------------------------------------------------------------------

XOR_X = np.array([[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]])
XOR_Y = np.array([0, 1, 1, 0])


class XorBatches:
    """The four XOR cases as one batch, `steps_per_epoch` times per epoch."""

    steps_per_epoch = 50

    def epoch(self, epoch: int) -> Iterator[dict]:
        for _ in range(self.steps_per_epoch):
            yield {"x": XOR_X, "y": XOR_Y}


def mlp_loss_and_grads(params, batch):
    # (1) hidden layer   a = tanh(x W1 + b1)     # (N, H)
    z1, c1 = affine_forward(batch["x"], params["W1"], params["b1"])
    a, ca = tanh_forward(z1)
    # (2) class scores   s = a W2 + b2           # (N, 2)
    s, c2 = affine_forward(a, params["W2"], params["b2"])
    loss, ds = softmax_cross_entropy(s, batch["y"])
    # backward (2), (1)
    da, dW2, db2 = affine_backward(ds, c2)
    dz1 = tanh_backward(da, ca)
    _, dW1, db1 = affine_backward(dz1, c1)
    return loss, {"W1": dW1, "b1": db1, "W2": dW2, "b2": db2}


def mlp_predict(params, x):
    a = np.tanh(x @ params["W1"] + params["b1"])
    return np.argmax(a @ params["W2"] + params["b2"], axis=-1)


def test_mlp_learns_xor():
    rng = np.random.default_rng(0)
    H = 8
    params = {
        "W1": rng.normal(size=(2, H)),
        "b1": np.zeros(H),
        "W2": rng.normal(size=(H, 2)) / np.sqrt(H),
        "b2": np.zeros(2),
    }
    assert np.mean(mlp_predict(params, XOR_X) == XOR_Y) < 1.0  # not solved by the init
    cfg = TrainConfig(epochs=6, lr=0.05, desc="xor")
    hist = train(mlp_loss_and_grads, params, XorBatches(), Adam(cfg.lr), cfg)
    np.testing.assert_array_equal(mlp_predict(params, XOR_X), XOR_Y)
    assert hist.losses[-1] < 0.05  # confidently right, not just on the right side of 0.5


# --- Delayed XOR with the Elman layer -----------------------------------------------------------
# Input: a stream of random bits b_1..b_T. Output at step t: b_{t-1} XOR b_{t-2}, computed from
# the two previous bits (positions t < 3 have no answer and are masked out). The network must
# remember two bits in h_t and combine them non-linearly: neither memory nor XOR alone solves it.


def delayed_xor_batch(bits: np.ndarray) -> dict:
    N, T = bits.shape
    x = np.eye(2)[bits]  # (N, T, 2) one-hot bits
    y = np.zeros_like(bits)
    y[:, 2:] = bits[:, 1:-1] ^ bits[:, :-2]  # (N, T)
    mask = np.zeros((N, T), dtype=bool)
    mask[:, 2:] = True
    return {"x": x, "y": y, "mask": mask}


class DelayedXorBatches:
    """Random bit streams, reproducible from (seed, epoch)."""

    steps_per_epoch = 100

    def __init__(self, seed: int, batch_size: int = 32, T: int = 10) -> None:
        self.seed, self.N, self.T = seed, batch_size, T

    def epoch(self, epoch: int) -> Iterator[dict]:
        rng = np.random.default_rng([self.seed, epoch])
        for _ in range(self.steps_per_epoch):
            yield delayed_xor_batch(rng.integers(0, 2, size=(self.N, self.T)))


def rnn_loss_and_grads(params, batch):
    x = batch["x"]
    N, T, _ = x.shape
    h0 = np.zeros((N, params["W_hh"].shape[0]))  # (N, H)
    # (1) states       h_t = tanh(x_t W_xh + h_{t-1} W_hh + b_h)     # (N, T, H)
    hs, c1 = rnn_forward(x, h0, params["W_xh"], params["W_hh"], params["b_h"])
    # (2) scores       s_t = h_t W_hy + b_y                            # (N, T, 2)
    s, c2 = affine_forward(hs, params["W_hy"], params["b_y"])
    loss, ds = softmax_cross_entropy(s, batch["y"], mask=batch["mask"])
    # backward (2), (1); h0 is a constant here
    dhs, dW_hy, db_y = affine_backward(ds, c2)
    _, _, dW_xh, dW_hh, db_h = rnn_backward(dhs, c1)
    return loss, {"W_xh": dW_xh, "W_hh": dW_hh, "b_h": db_h, "W_hy": dW_hy, "b_y": db_y}


def rnn_predict(params, x):
    h0 = np.zeros((x.shape[0], params["W_hh"].shape[0]))
    hs, _ = rnn_forward(x, h0, params["W_xh"], params["W_hh"], params["b_h"])
    return np.argmax(hs @ params["W_hy"] + params["b_y"], axis=-1)  # (N, T)


def test_elman_rnn_learns_delayed_xor():
    rng = np.random.default_rng(0)
    H = 16
    params = {
        "W_xh": rng.normal(size=(2, H)) * 0.5,
        "W_hh": rng.normal(size=(H, H)) / np.sqrt(H),
        "b_h": np.zeros(H),
        "W_hy": rng.normal(size=(H, 2)) / np.sqrt(H),
        "b_y": np.zeros(2),
    }
    cfg = TrainConfig(epochs=4, lr=0.01, clip=5.0, desc="delayed-xor")
    train(rnn_loss_and_grads, params, DelayedXorBatches(seed=1), Adam(cfg.lr), cfg)

    # Every one of the 2^8 bit streams of length 8, at every position that has an answer.
    every = delayed_xor_batch(np.array(list(itertools.product([0, 1], repeat=8))))
    pred = rnn_predict(params, every["x"])
    accuracy = np.mean(pred[every["mask"]] == every["y"][every["mask"]])
    assert accuracy == 1.0, accuracy
