"""A run folder holds every promised file, written atomically, and reads back without pickle."""

import json
from dataclasses import dataclass

import numpy as np
import pytest

from minilm.data.vocab import Vocab
from minilm.errors import MinilmError
from minilm.runs import load_run, write_run
from minilm.vectors import KeyedVectors


@dataclass
class _Config:
    dim: int = 3
    seed: int = 7
    model: str = "toy"


@dataclass
class _History:
    losses: np.ndarray
    train_seconds: float = 1.5
    tokens_per_second: float = 1000.0


def _write(tmp_path, **overrides):
    rng = np.random.default_rng(0)
    vocab = Vocab(["<unk>", "the", "cat", "sat"], np.array([0, 5, 3, 2]), n_specials=1)
    args = dict(
        words=vocab.itos,
        vectors=rng.standard_normal((4, 3)).astype(np.float32),
        params={"W_in": rng.standard_normal((4, 3)), "W_out": rng.standard_normal((4, 3))},
        vocab=vocab,
        metrics={"category_purity": 0.5, "anisotropy": float("nan")},
        history=_History(np.linspace(3, 1, 200) + 0.1 * rng.standard_normal(200)),
        config=_Config(),
    )
    args.update(overrides)
    return write_run(tmp_path / "run", **args), args


def test_write_run_writes_every_file(tmp_path):
    out, args = _write(tmp_path)
    for name in (
        "vectors.txt",
        "vectors.bin",
        "projector/vectors.tsv",
        "projector/metadata.tsv",
        "model.npz",
        "metrics.json",
        "loss.png",
    ):
        assert (out / name).stat().st_size > 0, name
    assert not list(out.rglob("*.tmp"))
    assert (out / "loss.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    for name in ("vectors.txt", "vectors.bin", "projector"):
        kv = KeyedVectors.load(out / name)
        assert kv.words == args["words"]
        np.testing.assert_array_equal(kv.vectors, args["vectors"])
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["anisotropy"] is None  # NaN is not JSON: null, and why
    assert metrics["why_na"] == {"anisotropy": "computed as nan"}
    assert metrics["vocab_size"] == 4 and metrics["seed"] == 7
    assert metrics["train_seconds"] == 1.5 and metrics["tokens_per_second"] == 1000.0
    with np.load(out / "model.npz", allow_pickle=False) as z:
        assert {"p/W_in", "p/W_out", "vocab/words", "vocab/counts", "config"} <= set(z.files)


def test_load_run_round_trip(tmp_path):
    out, args = _write(tmp_path)
    run = load_run(out)
    np.testing.assert_array_equal(run.params["W_in"], args["params"]["W_in"])
    assert run.params.keys() == {"W_in", "W_out"}
    assert run.vocab.itos == args["vocab"].itos
    np.testing.assert_array_equal(run.vocab.counts, [0, 5, 3, 2])
    assert run.config == {"dim": 3, "seed": 7, "model": "toy"}
    assert run.metrics["category_purity"] == 0.5
    np.testing.assert_array_equal(run.vectors.vectors, args["vectors"])


def test_run_without_history_or_vocab(tmp_path):
    out, _ = _write(tmp_path, history=None, vocab=None, config={"method": "lsa"})
    assert (out / "loss.png").exists()
    assert load_run(out).vocab is None


def test_load_run_of_a_foreign_folder(tmp_path):
    with pytest.raises(MinilmError, match="no such file"):
        load_run(tmp_path)
