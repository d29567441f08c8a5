"""Checkpoints and resume through the real training scripts (issue 9).

For every model: a run is SIGKILLed in the middle of its first epoch (some steps after its last
checkpoint, so that work is lost and must be redone), resumed and Ctrl-C'd (SIGINT) in the middle
of its second epoch, then resumed to the end. Its vectors.txt must be bit-identical to an
uninterrupted run with the same seed, and so must every parameter and every step's loss.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import numpy as np
import pytest
from conftest import (
    MODELS,
    ROOT,
    SCRIPTS,
    load_arrays,
    model_command,
    run_script,
    run_until,
)

from minilm.io import RUN_MARKER

CHECKPOINT_EVERY = "3"


def checkpoint_position(out) -> tuple[int, int, int]:
    """(epoch, step inside the epoch, global step) of OUT/checkpoint.npz."""
    ck = load_arrays(out / "checkpoint.npz")
    return int(ck["epoch"]), int(ck["step"]), int(ck["global_step"])


def assert_same_run(out, ref) -> None:
    """Bit-identical vectors.txt, parameters and per-step losses."""
    assert (out / "vectors.txt").read_bytes() == (ref / "vectors.txt").read_bytes()
    mine, theirs = load_arrays(out / "model.npz"), load_arrays(ref / "model.npz")
    params = sorted(k for k in theirs if k.startswith("p/"))
    assert params and sorted(k for k in mine if k.startswith("p/")) == params
    for k in params:
        assert np.array_equal(mine[k], theirs[k]), k
    losses = load_arrays(out / "checkpoint.npz")["history/losses"]
    assert np.array_equal(losses, load_arrays(ref / "checkpoint.npz")["history/losses"])


@pytest.mark.slow
@pytest.mark.parametrize("model", list(MODELS))
def test_sigkill_then_sigint_then_resume_is_bit_identical(model, world, reference_run, tmp_path):
    out = tmp_path / "out"
    command = model_command(model, world, out, 3, "--checkpoint-every", CHECKPOINT_EVERY)

    # (1) SIGKILL at ~30% of the steps: the process dies at once, no handler runs.
    killed = run_until("KILL", 0.3, *command)
    assert killed.returncode == -signal.SIGKILL, killed.stderr
    killed_at = int(killed.stderr.split("after step ")[1].split()[0])
    epoch, step, gstep = checkpoint_position(out)
    assert epoch == 0 and step > 0, "the checkpoint should be in the middle of epoch 1"
    assert gstep < killed_at, "the kill should lose the steps after the last checkpoint"
    assert not (out / "vectors.txt").exists()

    # (2) resume, and Ctrl-C at ~70%: a checkpoint of that very step, exit 130, one line.
    interrupted = run_until("INT", 0.7, *command, "--resume")
    assert interrupted.returncode == 130, interrupted.stderr
    assert "Traceback" not in interrupted.stderr
    errors = [line for line in interrupted.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and "--resume" in errors[0], interrupted.stderr
    assert interrupted.stderr.rstrip().endswith(errors[0])
    epoch, step, gstep = checkpoint_position(out)
    interrupted_at = int(interrupted.stderr.split("after step ")[1].split()[0])
    assert (epoch, gstep) == (1, interrupted_at) and step > 0
    assert f"after step {gstep}" in errors[0]

    # (3) resume to the end: the same bits as never stopping.
    finished = run_script(*command, "--resume")
    assert finished.returncode == 0, finished.stderr
    assert_same_run(out, reference_run(model))


@pytest.mark.slow
def test_external_sigkill_and_sigint_while_polling_for_the_checkpoint(world, tmp_path):
    """The real thing, from outside: wait for OUT/checkpoint.npz, then kill the process.

    Many epochs and a checkpoint every step make the run last long enough to be caught alive.
    """
    out = tmp_path / "out"
    options = ["--min-count", "1", "--dim", "8", "--batch-size", "64", "--epochs", "40"]
    script = [sys.executable, str(SCRIPTS / "train_skipgram.py"), *options]
    command = [*script, "--corpus", str(world), "--out", str(out), "--seed", "5"]
    command += ["--checkpoint-every", "1"]

    def start_and_signal(extra: list[str], sig: int, after_step: int):
        child = subprocess.Popen(
            command + extra, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=ROOT
        )
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and child.poll() is None:
            try:
                if checkpoint_position(out)[2] >= after_step:
                    break
            except (OSError, KeyError, ValueError, EOFError):
                pass  # not there yet
            time.sleep(0.01)
        assert child.poll() is None, "the run ended before it could be signalled"
        os.kill(child.pid, sig)
        _, err = child.communicate(timeout=120)
        return child.returncode, err

    code, _ = start_and_signal([], signal.SIGKILL, 1)
    assert code == -signal.SIGKILL
    first = checkpoint_position(out)[2]
    code, err = start_and_signal(["--resume"], signal.SIGINT, first + 5)
    assert code == 130 and "Traceback" not in err, err
    assert [line for line in err.splitlines() if line.startswith("error:")][0].count("--resume")
    assert checkpoint_position(out)[2] > first + 4
    # The rest without checkpoints (fsync per step is slow): their frequency changes no bits.
    finished = run_script("train_skipgram.py", *command[2:], "--resume", "--checkpoint-every", 0)
    assert finished.returncode == 0, finished.stderr

    ref = tmp_path / "ref"
    uninterrupted = run_script(
        "train_skipgram.py", *options, "--corpus", world, "--out", ref, "--seed", 5
    )
    assert uninterrupted.returncode == 0, uninterrupted.stderr
    assert (out / "vectors.txt").read_bytes() == (ref / "vectors.txt").read_bytes()


def copy_checkpoint(run, out) -> bytes:
    """Copy a run's checkpoint and its folder marker (as `cp -r` would) into a new `out`."""
    out.mkdir()
    (out / RUN_MARKER).write_bytes((run / RUN_MARKER).read_bytes())
    saved = (run / "checkpoint.npz").read_bytes()
    (out / "checkpoint.npz").write_bytes(saved)
    return saved


@pytest.mark.parametrize(
    "source, target",
    [("skipgram", "nplm"), ("nplm", "srn"), ("glove", "transformer"), ("transformer", "glove")],
)
def test_resume_from_another_models_checkpoint_is_refused(
    source, target, world, tmp_path, reference_run
):
    out = tmp_path / "out"
    foreign = copy_checkpoint(reference_run(source), out)
    result = run_script(*model_command(target, world, out, 3, "--resume"))
    assert result.returncode == 2 and "Traceback" not in result.stderr, result.stderr
    (line,) = result.stderr.splitlines()
    assert line.startswith("error: ") and source in line and target in line
    assert (out / "checkpoint.npz").read_bytes() == foreign  # nothing destroyed
    assert sorted(p.name for p in out.iterdir()) == [RUN_MARKER, "checkpoint.npz"]


def test_resume_with_other_options_is_refused(world, tmp_path, reference_run):
    """Same model, another --dim: the parameter shapes differ; say so, touch nothing."""
    out = tmp_path / "out"
    saved = copy_checkpoint(reference_run("skipgram"), out)
    command = model_command("skipgram", world, out, 3, "--resume")
    command[command.index("--dim") + 1] = "16"
    result = run_script(*command)
    assert result.returncode == 2 and result.stderr.count("\n") == 1, result.stderr
    assert "--dim" in result.stderr and "Traceback" not in result.stderr
    assert (out / "checkpoint.npz").read_bytes() == saved


def test_checkpoint_is_plain_arrays(reference_run):
    """Every checkpoint loads with allow_pickle=False and names its model."""
    for model in ("skipgram", "glove"):
        ck = load_arrays(reference_run(model) / "checkpoint.npz")
        assert str(ck["model"]) == model
        assert all(ck[k].dtype != object for k in ck)
        assert int(ck["epoch"]) == 2 and int(ck["step"]) == 0  # the end of the run


@pytest.mark.slow
@pytest.mark.parametrize(
    "model, regularisers",
    [
        ("srn", ["--dim", "16", "--tie", "--dropout", "0.3"]),
        ("nplm", ["--dim", "16", "--tie", "--dropout", "0.3"]),
    ],
)
def test_resume_with_tying_and_dropout_is_bit_identical(model, regularisers, world, tmp_path):
    """The dropout masks come from (seed, epoch, step), not from a generator's position, and
    the tied table C is one parameter: an interrupted run resumes to the same bits."""
    ref, out = tmp_path / "ref", tmp_path / "out"
    whole = run_script(*model_command(model, world, ref, 3, *regularisers))
    assert whole.returncode == 0, whole.stderr
    command = model_command(model, world, out, 3, *regularisers)
    interrupted = run_until("INT", 0.6, *command)  # inside the second of two epochs
    assert interrupted.returncode == 130, interrupted.stderr
    assert checkpoint_position(out)[0] == 1
    finished = run_script(*command, "--resume")
    assert finished.returncode == 0, finished.stderr
    assert_same_run(out, ref)
    assert "p/W_hy" not in load_arrays(out / "model.npz")  # tied: C^T is the output table
    assert "p/U" not in load_arrays(out / "model.npz")
