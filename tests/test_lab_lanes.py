"""The lab's lanes (minilm/lab_runner.py): two children at a time, the longest first, the screen
held by the newest one still running, and an error or Ctrl-C that starts no other run."""

from __future__ import annotations

import io
import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from minilm import lab_models, lab_runner

REPO = Path(__file__).resolve().parent.parent

STAMP = """
    import json, sys, time
    from pathlib import Path
    out = Path(sys.argv[sys.argv.index("--out") + 1])
    start = time.time()
    print("bar of", out.name, file=sys.stderr, flush=True)
    time.sleep({sleep})
    (out / "stamp.json").write_text(json.dumps([start, time.time()]))
    (out / "vectors.txt").write_text("2 2\\na 1 0\\nb 0 1\\n")
"""


def _sleeper(tmp_path: Path, name: str, sleep: float, seconds: float) -> lab_models.ModelSpec:
    """A stand-in program that sleeps `sleep` s and stamps when it ran; `seconds` expected."""
    script = tmp_path / f"{name}.py"
    script.write_text(textwrap.dedent(STAMP.format(sleep=sleep)))
    return lab_models.ModelSpec(name, name, str(script), seconds=seconds)


def _stamps(out: Path, names) -> dict[str, tuple[float, float]]:
    return {n: tuple(json.loads((out / n / "stamp.json").read_text())) for n in names}


def test_start_order_puts_the_longest_first_with_two_lanes():
    seconds = {"a": 5, "t": 150, "b": 30}
    specs = [lab_models.ModelSpec(n, n, "x", seconds=s) for n, s in seconds.items()]
    assert lab_runner.start_order(specs, 1) == [0, 1, 2]
    assert lab_runner.start_order(specs, 2) == [1, 0, 2]
    assert lab_runner.start_order([], 2) == []


def test_eta_of_two_lanes_is_the_longest_run_or_half_the_work():
    assert lab_runner.estimate_eta(0.0, [], [150, 10, 20], jobs=2) == 150  # the long one rules
    assert lab_runner.estimate_eta(0.0, [], [40, 40, 40], jobs=2) == 60  # the work, shared
    assert lab_runner.estimate_eta(20.0, [10], [40, 40, 40], jobs=2) == pytest.approx(120)
    assert lab_runner.estimate_eta(0.0, [], [40, 40, 40], jobs=1) == 120


def test_two_lanes_overlap_the_longest_run_with_the_others(tmp_path):
    """The long run starts first; the short ones run beside it, one after another; the runs
    come back in the order asked, each with its own record and log."""
    specs = [
        _sleeper(tmp_path, "short1", 0.3, seconds=5),
        _sleeper(tmp_path, "long", 1.5, seconds=100),
        _sleeper(tmp_path, "short2", 0.3, seconds=5),
    ]
    lines: list[str] = []
    out = tmp_path / "out"
    corpora = {"lab": tmp_path}
    runs = lab_runner.train_models(specs, out, corpora, 0, True, lines.append, False, jobs=2)
    assert [r.spec.name for r in runs] == ["short1", "long", "short2"] and all(r.ok for r in runs)
    t = _stamps(out, ["short1", "long", "short2"])
    assert t["short2"][1] < t["long"][1]  # both short runs ended while the long one ran
    assert t["short1"][1] <= t["short2"][0]  # the short ones: one lane, one after another
    assert [ln.split(":")[0] for ln in lines if "model" in ln] == [
        "[lab] model 1/3",
        "[lab] model 2/3",
        "[lab] model 3/3",
    ]
    assert "long" in lines[0] and lines[-1].startswith("[lab] long done")  # first in, last out
    for name in ("short1", "long", "short2"):
        assert f"bar of {name}" in (out / name / "lab.log").read_text()
        assert json.loads((out / name / lab_runner.RUN_RECORD).read_text())["returncode"] == 0


def test_one_lane_runs_one_after_another(tmp_path):
    specs = [_sleeper(tmp_path, "a", 0.2, seconds=5), _sleeper(tmp_path, "b", 0.2, seconds=50)]
    out = tmp_path / "out"
    lab_runner.train_models(specs, out, {"lab": tmp_path}, 0, True, lambda _: None, False, jobs=1)
    t = _stamps(out, ["a", "b"])
    assert t["a"][1] <= t["b"][0]  # in their own order, no overlap


def test_the_screen_shows_the_newest_running_child_only():
    sink = io.BytesIO()
    screen = lab_runner.Screen(sink)
    screen.start(1)
    screen.write(1, b"one ")
    screen.start(2)
    screen.write(1, b"hidden ")  # the older child: in its log only
    screen.write(2, b"two\nerror: shown by the lab once\n")
    screen.end(2)
    screen.write(1, b"one again")
    assert sink.getvalue() == b"one two\none again"
    lab_runner.Screen(None).write(1, b"nowhere")  # echo off: nothing to write to


def test_a_lab_error_stops_the_runs_and_starts_no_other(tmp_path):
    """An error of the lab's (here a model folder that cannot be made) ends its training: the
    run beside it is asked to stop (SIGINT, as Ctrl-C would: a checkpoint where the program
    keeps one) and reaped, not orphaned; the ones queued never start."""
    specs = [
        _sleeper(tmp_path, "long", 30.0, seconds=100),
        _sleeper(tmp_path, "bad", 0.1, seconds=5),
        _sleeper(tmp_path, "never", 0.1, seconds=5),
    ]
    out = tmp_path / "out"
    out.mkdir()
    (out / "bad").write_text("a file where the model's folder should be")
    t0 = time.perf_counter()
    with pytest.raises(Exception):  # noqa: B017 - whichever error the folder gives
        lab_runner.train_models(specs, out, {"lab": tmp_path}, 0, True, print, False, jobs=2)
    assert time.perf_counter() - t0 < 20  # the long run was stopped, not waited for
    with pytest.raises(ChildProcessError):
        os.waitpid(-1, os.WNOHANG)  # no child left running or unreaped
    assert not (out / "long" / "stamp.json").exists()
    assert not (out / "never").exists()


DRIVER = """
import sys
from pathlib import Path
from minilm import lab_models, lab_runner
tmp = Path(sys.argv[1])
specs = [
    lab_models.ModelSpec(name, name, str(tmp / f"{name}.py"), seconds=seconds)
    for name, seconds in [("long", 100), ("short", 10), ("never", 5)]
]
lab_runner.train_models(specs, tmp / "out", {"lab": tmp}, 0, True, print, False, jobs=2)
"""


def test_ctrl_c_stops_the_lab_at_once_and_starts_no_other(tmp_path):
    """Ctrl-C (SIGINT to the whole process group, as a terminal sends it) while two models
    train: the lab stops within seconds, its children reaped, the queued model never started.
    (A lab waiting in a worker thread would not see it until a child ended.)"""
    _sleeper(tmp_path, "long", 60.0, seconds=100)
    _sleeper(tmp_path, "short", 60.0, seconds=10)
    _sleeper(tmp_path, "never", 0.1, seconds=5)
    (tmp_path / "out").mkdir()
    driver = tmp_path / "driver.py"
    driver.write_text(DRIVER)
    proc = subprocess.Popen(
        [sys.executable, str(driver), str(tmp_path)],
        cwd=REPO,
        start_new_session=True,  # its own process group, as a terminal's foreground job
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    deadline = time.time() + 30
    while not (tmp_path / "out" / "short" / "lab.log").exists() and time.time() < deadline:
        time.sleep(0.05)
    time.sleep(1.0)  # both children are running
    t0 = time.perf_counter()
    os.killpg(proc.pid, signal.SIGINT)
    _, err = proc.communicate(timeout=30)
    assert time.perf_counter() - t0 < 15, "the lab waited for its children to finish"
    assert proc.returncode != 0 and "KeyboardInterrupt" in err
    assert not (tmp_path / "out" / "never").exists()
    assert not (tmp_path / "out" / "long" / "stamp.json").exists()
