"""What a learner reads is what trains: each model's training script trains through the
`loss_and_grads` of its file in minilm/models/, not through a copy.

The script's `main` runs in this process on the tiny world corpus (conftest's `world`), with the
model module's `loss_and_grads` replaced by a spy that counts its calls and passes them on (or
scales the gradient): a script training through any other function leaves the count at 0.
Reusable: `spy_on(monkeypatch, module)` and `run_main(monkeypatch, script, args)` work for any
model and script (the transformers' subprocess version is tests/test_what_trains_transformers.py).
"""

from __future__ import annotations

import runpy
import sys
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType

import numpy as np
import pytest

from minilm.models import glove, nplm, skipgram, srn
from tests.conftest import MODELS, SCRIPTS


@dataclass
class Spy:
    """The calls a patched loss_and_grads received; `scale` multiplies every gradient."""

    module: ModuleType
    scale: float = 1.0
    calls: int = 0
    batches: list[int] = field(default_factory=list)


def spy_on(monkeypatch: pytest.MonkeyPatch, module: ModuleType, scale: float = 1.0) -> Spy:
    """Replace module.loss_and_grads by a counting wrapper around the original."""
    spy, original = Spy(module, scale), module.loss_and_grads

    def loss_and_grads(params, batch, *args, **kwargs):
        spy.calls += 1
        loss, grads = original(params, batch, *args, **kwargs)
        if spy.scale != 1.0:
            grads = {k: _scaled(g, spy.scale) for k, g in grads.items()}
        return loss, grads

    monkeypatch.setattr(module, "loss_and_grads", loss_and_grads)
    return spy


def _scaled(grad, scale: float):
    if isinstance(grad, tuple):  # sparse rows (ids, rows)
        return grad[0], grad[1] * grad[1].dtype.type(scale)
    return grad * grad.dtype.type(scale)


def run_main(monkeypatch: pytest.MonkeyPatch, script: str, args: list[str]) -> None:
    """scripts/<script>'s main() in this process, with sys.argv = [script, *args]."""
    namespace = runpy.run_path(str(SCRIPTS / script), run_name="what_trains")
    monkeypatch.setattr(sys, "argv", [script, *map(str, args)])
    namespace["main"]()


CASES = {  # model name in conftest.MODELS -> the model module its script must train through
    "skipgram": skipgram,
    "cbow": skipgram,
    "fasttext": skipgram,
    "nplm": nplm,
    "srn": srn,
    "glove": glove,
}


@pytest.mark.parametrize("name", list(CASES))
def test_the_script_trains_through_the_model_file(name, world, tmp_path, monkeypatch):
    spy = spy_on(monkeypatch, CASES[name])
    script, options = MODELS[name]
    out = tmp_path / name
    run_main(monkeypatch, script, ["--corpus", world, "--out", out, "--threads", "1", *options])
    assert spy.calls > 0, f"{script} never called minilm.models.{CASES[name].__name__}"
    assert (out / "metrics.json").exists()


def test_an_edit_to_the_model_changes_what_trains(world, tmp_path, monkeypatch):
    """Zero every gradient skip-gram's loss returns: the saved vectors are the initial ones."""
    spy_on(monkeypatch, skipgram, scale=0.0)
    script, options = MODELS["skipgram"]
    out = tmp_path / "frozen"
    run_main(monkeypatch, script, ["--corpus", world, "--out", out, "--seed", 7, *options])
    saved = np.load(Path(out) / "model.npz")
    cfg = skipgram.Config(vocab_size=len(saved["p/W_in"]), dim=8)
    initial = skipgram.init_params(cfg, np.random.default_rng(7))
    assert np.array_equal(saved["p/W_in"], initial["W_in"])
    assert not saved["p/W_out"].any()
