"""GloVe: weighting function, exact gradients, batches over non-zeros, training lowers the loss.

Training goes through the shared loop exactly as scripts/train_baselines.py does it (AdaGrad,
accumulators starting at 1, batches of co-occurrence cells).
"""

from __future__ import annotations

import ast
import math
from pathlib import Path

import numpy as np
import pytest

from minilm.data.cooccurrence import CooccurrenceCells
from minilm.data.corpus import TokenStream
from minilm.errors import MinilmError
from minilm.gradcheck import check_loss
from minilm.models import count, glove
from minilm.optim import Adagrad
from minilm.train import TrainConfig, train

GRAD_TOL = 1e-7  # float64 central differences on a smooth polynomial loss score ~1e-10


def _params(V: int, D: int, seed: int = 0) -> dict[str, np.ndarray]:
    """float64 parameters large enough that every term of the gradient matters."""
    cfg = glove.Config(vocab_size=V, dim=D, dtype="float64")
    rng = np.random.default_rng(seed)
    return {k: rng.standard_normal(v.shape) * 0.5 for k, v in glove.init_params(cfg, rng).items()}


def test_weighting_function():
    f = glove.weighting(np.array([1.0, 50.0, 100.0, 250.0]))
    np.testing.assert_allclose(f, [0.01**0.75, 0.5**0.75, 1.0, 1.0])
    np.testing.assert_allclose(glove.weighting(np.array([5.0]), x_max=10, alpha=1.0), [0.5])


def test_loss_matches_hand_computation():
    params = {
        "W": np.array([[1.0, 2.0], [0.0, 1.0]]),
        "W_tilde": np.array([[0.5, -1.0], [3.0, 0.0]]),
        "b": np.array([0.1, 0.2]),
        "b_tilde": np.array([-0.3, 0.4]),
    }
    batch = {"i": np.array([0]), "j": np.array([1]), "x": np.array([50.0])}
    # w_0 . wt_1 = 3, + b_0 + bt_1 = 3.5, - log 50;  f(50) = 0.5^0.75
    expected = 0.5**0.75 * (3.5 - math.log(50)) ** 2
    loss, _ = glove.loss_and_grads(params, batch)
    assert loss == pytest.approx(expected, rel=1e-12)


def test_gradients_with_repeated_rows():
    V, D = 5, 3
    params = _params(V, D)
    # word 1 is i of three entries and j of two; (2, 2) is a diagonal entry; x straddles x_max
    batch = {
        "i": np.array([1, 1, 2, 1, 4, 0]),
        "j": np.array([1, 3, 2, 0, 1, 3]),
        "x": np.array([3.0, 150.0, 0.5, 40.0, 100.0, 7.0]),
    }
    errors = check_loss(glove.loss_and_grads, params, batch)
    assert max(errors.values()) < GRAD_TOL, errors


def test_gradients_batch_of_one():
    params = _params(4, 2, seed=1)
    batch = {"i": np.array([3]), "j": np.array([0]), "x": np.array([12.0])}
    errors = check_loss(glove.loss_and_grads, params, batch)
    assert max(errors.values()) < GRAD_TOL, errors


def test_gradients_are_sparse_rows_of_the_batch():
    params = _params(6, 2)
    batch = {"i": np.array([4, 1, 4]), "j": np.array([2, 2, 5]), "x": np.array([1.0, 2.0, 3.0])}
    _, grads = glove.loss_and_grads(params, batch)
    np.testing.assert_array_equal(grads["W"][0], [1, 4])
    np.testing.assert_array_equal(grads["W_tilde"][0], [2, 5])
    np.testing.assert_array_equal(grads["b"][0], [1, 4])
    assert grads["b"][1].shape == (2,) and grads["W"][1].shape == (2, 2)


def _tiny_cooccurrence() -> tuple[count.CooMatrix, int]:
    rng = np.random.default_rng(0)
    V = 12
    # two "topics": words 0-5 co-occur with each other, 6-11 with each other
    sentences = [list(rng.integers(0, 6, 8)) for _ in range(60)]
    sentences += [list(rng.integers(6, 12, 8)) for _ in range(60)]
    stream = TokenStream.from_sentences(sentences)
    return count.cooccurrence(stream.ids, stream.offsets, V, 3, True), V


def _cells(X: count.CooMatrix, batch_size: int, seed: int, n_tokens: int = 0):
    return CooccurrenceCells(X.rows, X.cols, X.vals, batch_size, seed, n_tokens)


def test_batches_visit_every_nonzero_once_per_epoch():
    X, _ = _tiny_cooccurrence()
    source = _cells(X, batch_size=7, seed=3, n_tokens=960)
    assert source.steps_per_epoch == math.ceil(X.nnz / 7)
    first = list(source.epoch(0))
    keys = np.concatenate([b["i"] * 100 + b["j"] for b in first])
    np.testing.assert_array_equal(np.sort(keys), X.rows * 100 + X.cols)
    x_of = dict(zip(X.rows * 100 + X.cols, X.vals, strict=True))
    np.testing.assert_allclose(np.concatenate([b["x"] for b in first]), [x_of[k] for k in keys])
    # each batch is credited with its share of the corpus: an epoch is the whole corpus
    assert sum(b["n_tokens"] for b in first) == 960
    assert max(b["n_tokens"] for b in first) - min(b["n_tokens"] for b in first) <= 1
    again = np.concatenate([b["i"] * 100 + b["j"] for b in source.epoch(0)])
    other = np.concatenate([b["i"] * 100 + b["j"] for b in source.epoch(1)])
    np.testing.assert_array_equal(keys, again)  # deterministic per epoch (resume relies on it)
    assert not np.array_equal(keys, other)  # reshuffled each epoch


def _fit(X: count.CooMatrix, cfg: glove.Config, epochs: int, batch_size: int, lr: float = 0.05):
    """What the script does: the shared loop, AdaGrad from accumulators 1, J per cell."""
    params = glove.init_params(cfg, np.random.default_rng(0))

    def per_cell(params, batch):
        loss, grads = glove.loss_and_grads(params, batch, cfg.x_max, cfg.alpha)
        return loss / len(batch["x"]), grads

    loop = TrainConfig(epochs=epochs, lr=lr, seed=0, desc="glove")
    optimizer = Adagrad(lr, initial_accumulator=1.0)
    history = train(per_cell, params, _cells(X, batch_size, 0), optimizer, loop)
    return params, history


def test_training_lowers_the_loss_and_learns_the_topics():
    X, V = _tiny_cooccurrence()
    cfg = glove.Config(vocab_size=V, dim=8, x_max=10)
    params, history = _fit(X, cfg, epochs=30, batch_size=16)
    steps = history.steps_per_epoch
    first, last = history.losses[:steps].mean(), history.losses[-steps:].mean()
    assert last < 0.3 * first, (first, last)
    vecs = glove.vectors(params)
    np.testing.assert_array_equal(vecs, params["W"] + params["W_tilde"])
    unit = vecs / np.linalg.norm(vecs, axis=1, keepdims=True)
    cos = unit @ unit.T
    same = cos[:6, :6][~np.eye(6, dtype=bool)].mean()
    across = cos[:6, 6:].mean()
    assert same > across + 0.3, (same, across)


def test_bad_input_is_rejected():
    X, V = _tiny_cooccurrence()
    with pytest.raises(MinilmError):
        glove.Config(vocab_size=V, x_max=0)
    with pytest.raises(MinilmError):
        glove.Config(vocab_size=0)
    with pytest.raises(MinilmError):
        _cells(X, batch_size=0, seed=0)
    with pytest.raises(MinilmError):
        CooccurrenceCells(X.rows, X.cols, X.vals * 0, 4, 0)  # log 0: no empty cells
    with pytest.raises(MinilmError):
        CooccurrenceCells(X.rows[:0], X.cols[:0], X.vals[:0], 4, 0)


@pytest.mark.parametrize("module", [count, glove])
def test_models_import_only_layers_and_errors(module):
    """Issue 15: the fitting loop lives in the script; counting takes token-id arrays."""
    tree = ast.parse(Path(module.__file__).read_text())
    imported = {node.module for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)}
    imported |= {a.name for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names}
    ours = {m for m in imported if m and m.split(".")[0] == "minilm"}
    allowed = ("minilm.layers", "minilm.errors")
    assert all(m.startswith(allowed) for m in ours), ours
