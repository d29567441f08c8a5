"""The capstone: the NPLM from the four layers is a correct model and says whose layers it used."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from minilm.exercises import capstone, grader, progress
from minilm.gradcheck import numerical_gradient, rel_error


def test_capstone_gradients_match_central_differences():
    """float64, relative error < 1e-7; a batch with a repeated context word and of size 1."""
    f, _ = capstone.layers(Path("/nonexistent"))
    cfg = {**capstone.QUICK, "dim": 3, "hidden": 4, "context": 2}
    params = capstone.init(7, cfg, np.random.default_rng(0))
    params = {
        k: v + 0.1 * np.random.default_rng(1).standard_normal(v.shape) for k, v in params.items()
    }
    for batch in (
        {"context": np.array([[1, 1], [2, 5], [1, 3]]), "target": np.array([0, 6, 1])},
        {"context": np.array([[4, 4]]), "target": np.array([4])},
    ):
        _, grads = capstone.loss_and_grads(f, params, batch)
        for name, p in params.items():
            numeric = numerical_gradient(
                lambda b=batch: capstone.loss_and_grads(f, params, b)[0], p
            )
            assert rel_error(grads[name], numeric) < 1e-7, name


@pytest.mark.slow
def test_quick_capstone_uses_passed_layers_and_reports_kneser_ney(tmp_path):
    ws = tmp_path / "ws"
    ws.mkdir()
    (ws / "tanh.py").write_text("from minilm.layers.core import tanh_backward, tanh_forward\n")
    report = grader.check(
        grader.get("tanh"), grader.load_learner(ws / "tanh.py", grader.get("tanh"))
    )
    assert report.passed
    progress.mark_passed(ws, "tanh", 0)
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "minilm.exercises",
            "capstone",
            "nplm",
            "--quick",
            "--workspace",
            str(ws),
        ],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=tmp_path,
    )
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert f"tanh                   yours ({ws / 'tanh.py'})" in out
    assert "affine                 reference (not passed" in out
    line = next(x for x in out.splitlines() if x.startswith("valid perplexity"))
    ppl, kn3, kn5 = (float(w) for w in line.split() if w[0].isdigit() and "-" not in w)
    assert 1 < kn5 < kn3 and np.isfinite(ppl)


def test_a_layer_broken_after_passing_is_not_used(tmp_path):
    (tmp_path / "affine.py").write_text(
        "from minilm.layers.core import affine_forward\n"
        "def affine_backward(dout, cache):\n    return None\n"
    )
    progress.mark_passed(tmp_path, "affine", 0)  # passed once, edited since
    functions, said = capstone.layers(tmp_path)
    assert "affine                 reference (yours passed once but fails `check` now)" in said
    assert functions["affine_backward"] is grader.reference(grader.get("affine"))["affine_backward"]
