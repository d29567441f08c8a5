"""Bad input, issue 26: numbers that must not come out silently wrong - a diverging run (inf as
well as NaN) is one error line and exit 2 with the last good checkpoint kept, and every figure
computed on nothing is "n/a (why)" in print and null plus a `why_na` reason in JSON.
"""

from __future__ import annotations

import json

import pytest
from conftest import MODELS, run_script, snapshot

from minilm.io import RUN_MARKER

LR_FLAG = {"skipgram": "--alpha", "cbow": "--alpha", "fasttext": "--alpha"}
DIVERGING = {
    **MODELS,
    "gpt": (
        "train_gpt.py",
        "--dim 16 --heads 2 --ffn 32 --layers 1 --epochs 1 --max-len 8".split(),
    ),
    "elmo": ("train_elmo.py", "--dim 8 --layers 1 --epochs 1 --bptt 8".split()),
}


# ------------------------------------------------------------------ a diverging run
@pytest.mark.parametrize("model", list(DIVERGING))
def test_a_diverging_run_is_one_error_line_and_keeps_the_good_checkpoint(model, world, tmp_path):
    """--lr 1e9: without the guard nplm, srn, elmo and glove finished with exit 0 (valid
    perplexity inf, or finite vectors of 1e9 from a loss of 1e33). Now: exit 2, one line, the
    folder marked failed, and the earlier run's checkpoint left as it was."""
    script, options = DIVERGING[model]
    out = tmp_path / "run"
    good = run_script(script, *options, "--corpus", world, "--out", out, "--epochs", 1)
    assert good.returncode == 0, good.stderr
    checkpoint = snapshot(out)["checkpoint.npz"]
    flag = LR_FLAG.get(model, "--lr")
    bad = run_script(script, *options, "--corpus", world, "--out", out, "--epochs", 1, flag, 1e9)
    # stderr: the note of what this run cleared (minilm.train), then the one error line
    assert bad.returncode == 2 and "Traceback" not in bad.stderr, bad.stderr
    errors = [line for line in bad.stderr.splitlines() if line.startswith("error:")]
    assert errors == bad.stderr.splitlines()[-1:], bad.stderr
    assert "diverged" in errors[0] and f"lower {flag}" in errors[0], errors
    assert (out / "checkpoint.npz").read_bytes() == checkpoint
    marker = json.loads((out / RUN_MARKER).read_text())
    assert marker["status"] == "failed" and "diverged" in marker["error"]
    assert not (out / "metrics.json").exists()
