"""Determinism and divergence through the real training scripts (issue 9).

- Same seed -> the same bytes in every output that does not measure time: vectors.txt,
  vectors.bin, projector/, loss.png, every array of model.npz, metrics.json minus its timings.
- Another seed -> other vectors.
- A huge learning rate -> a one-line error naming the step and suggesting a lower learning rate,
  exit 2, and the last good checkpoint loadable with allow_pickle=False, all finite.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys

import numpy as np
import pytest
from conftest import (
    LR_FLAG,
    MODELS,
    SCRIPTS,
    config_without_paths,
    load_arrays,
    model_command,
    run_script,
)

TIMING = ("seconds", "per_second", "peak_memory")
SAME_BYTES = (
    "vectors.txt",
    "vectors.bin",
    "projector/vectors.tsv",
    "projector/metadata.tsv",
    "loss.png",
)


def metrics_without_timings(out) -> dict:
    metrics = json.loads((out / "metrics.json").read_text())
    return {k: v for k, v in metrics.items() if not any(t in k for t in TIMING)}


@pytest.mark.slow
@pytest.mark.parametrize("model", list(MODELS))
def test_same_seed_same_files_other_seed_other_vectors(model, world, reference_run, tmp_path):
    ref = reference_run(model)
    again = tmp_path / "again"
    result = run_script(*model_command(model, world, again, 3))
    assert result.returncode == 0, result.stderr
    for name in SAME_BYTES:
        assert (again / name).read_bytes() == (ref / name).read_bytes(), name
    a, b = load_arrays(again / "model.npz"), load_arrays(ref / "model.npz")
    assert sorted(a) == sorted(b)
    for k in a:
        if k == "config":  # holds --out, which differs between the two folders
            assert config_without_paths(a) == config_without_paths(b)
        else:
            assert a[k].dtype == b[k].dtype and np.array_equal(a[k], b[k]), k
    assert metrics_without_timings(again) == metrics_without_timings(ref)

    other = tmp_path / "other"
    result = run_script(*model_command(model, world, other, 4))
    assert result.returncode == 0, result.stderr
    mine = np.loadtxt(other / "vectors.txt", skiprows=1, usecols=range(1, 9), comments=None)
    theirs = np.loadtxt(ref / "vectors.txt", skiprows=1, usecols=range(1, 9), comments=None)
    assert mine.shape == theirs.shape
    assert np.abs(mine - theirs).max() > 1e-3  # not merely a rounding apart


# A learning rate large enough to overflow float32 for each optimiser: plain SGD / AdaGrad
# blow up at 1e10; Adam moves each weight by about lr per step whatever the gradient, so its
# (clipped, tanh-saturated) models only reach inf once weights near float32's 3.4e38.
HUGE_LR = {
    "skipgram": "1e10",
    "cbow": "1e10",
    "fasttext": "1e10",
    "glove": "1e30",
    "nplm": "1e37",
    "srn": "1e37",
    "transformer": "1e30",
}


def accepted_flags(script: str) -> set[str]:
    help_text = subprocess.run(
        [sys.executable, str(SCRIPTS / script), "--help"], capture_output=True, text=True
    ).stdout
    return set(re.findall(r"(--[a-z][a-z0-9-]*)", help_text))


@pytest.mark.parametrize("model", list(MODELS))
def test_huge_learning_rate_stops_with_one_line_and_keeps_a_good_checkpoint(model, world, tmp_path):
    out = tmp_path / "out"
    flag = LR_FLAG.get(model, "--lr")
    command = model_command(model, world, out, 3, flag, HUGE_LR[model], "--checkpoint-every", "1")
    result = run_script(*command)
    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr
    errors = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1, result.stderr
    assert result.stderr.rstrip().endswith(errors[0])
    message = errors[0]
    step = int(re.search(r"step (\d+)", message).group(1))
    assert "diverged" in message and "lower" in message
    # The suggested option must be one this script has (a user will type it next).
    suggested = re.search(r"lower (--[a-z-]+)", message).group(1)
    assert suggested in accepted_flags(MODELS[model][0]), f"{suggested} is not an option"

    ck = load_arrays(out / "checkpoint.npz")  # allow_pickle=False
    assert 1 <= int(ck["global_step"]) < step
    assert f"step {int(ck['global_step'])})" in message  # the message points at it
    params = [v for k, v in ck.items() if k.startswith("p/")]
    assert params and all(np.all(np.isfinite(p)) for p in params)
    assert not (out / "vectors.txt").exists()  # no run folder from a diverged run
