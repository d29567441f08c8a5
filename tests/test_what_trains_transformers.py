"""What a learner reads is what trains: a patch to a transformer head's `loss_and_grads`
reaches its training program (scripts/train_transformer.py, scripts/train_gpt.py) and the lab's
child run (`python -m minilm.cli.train_transformer`). The patch, installed in every Python
process of the test through a `sitecustomize` module, raises a marked error on the first step;
the program stops with that one line, and the lab reports it for that model and goes on."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
MARK = "patched loss_and_grads reached"

SITECUSTOMIZE = f"""
from minilm.errors import MinilmError
from minilm.models import {{module}}


def patched(*args, **kwargs):
    raise MinilmError("{MARK}: {{module}}")


{{module}}.loss_and_grads = patched
"""


def _env(tmp_path: Path, module: str) -> dict:
    hook = tmp_path / "hook"
    hook.mkdir()
    (hook / "sitecustomize.py").write_text(SITECUSTOMIZE.format(module=module))
    path = os.pathsep.join([str(hook), str(ROOT), os.environ.get("PYTHONPATH", "")])
    return {**os.environ, "PYTHONPATH": path}


def _run(args: list[str], env: dict) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, *args], capture_output=True, text=True, env=env, cwd=ROOT, timeout=600
    )


TINY = ["--epochs", "1", "--dim", "16", "--heads", "2", "--ffn", "32", "--layers", "1"]


@pytest.mark.parametrize(
    ("script", "module"), [("train_transformer.py", "masked_lm"), ("train_gpt.py", "causal_lm")]
)
def test_the_training_script_trains_through_the_head_file(tmp_path, script, module):
    out = tmp_path / "out"
    args = [str(ROOT / "scripts" / script), "--out", str(out), "--threads", "1", *TINY]
    result = _run(args, _env(tmp_path, module))
    assert result.returncode == 2, result.stderr[-2000:]
    assert result.stderr.strip().splitlines()[-1] == f"error: {MARK}: {module}"


def test_an_unpatched_head_is_not_reached_by_the_patch(tmp_path):
    """The check can tell: patching the causal head leaves the masked-LM program untouched
    up to its first step (it fails later only if the run itself fails, not with the mark)."""
    out = tmp_path / "out"
    args = [str(ROOT / "scripts" / "train_transformer.py"), "--out", str(out), "--threads", "1"]
    result = _run([*args, *TINY, "--batch-size", "64"], _env(tmp_path, "causal_lm"))
    assert MARK not in result.stderr
    assert result.returncode == 0, result.stderr[-2000:]


@pytest.mark.slow
def test_the_lab_trains_the_transformer_through_the_head_file(tmp_path):
    out = tmp_path / "lab"
    args = [str(ROOT / "scripts" / "lab.py"), "--out", str(out), "--quick", "--threads", "1"]
    result = _run([*args, "--models", "lsa,transformer"], _env(tmp_path, "masked_lm"))
    # the program stopped with its one-line error (exit 2): the lab skips that model, says
    # why, and reports the others (exit 0 with a warning; scripts/lab.py:report_failures)
    assert result.returncode == 0, result.stderr[-2000:]
    assert f"skipped: transformer: {MARK}: masked_lm" in result.stderr
    models = json.loads((out / "metrics.json").read_text())["models"]
    assert models["transformer"]["status"] == "failed"
    assert models["transformer"]["error"] == f"{MARK}: masked_lm"
    assert models["transformer"]["command"].startswith("-m minilm.cli.train_transformer ")
    assert models["lsa"]["status"] == "ok"  # the other model is unaffected
