"""The lab's lanes (minilm/lab_runner.py): two children at a time, the longest first, the screen
held by the newest one still running, and an error that stops the runs not yet started."""

from __future__ import annotations

import io
import json
import textwrap
from pathlib import Path

import pytest

from minilm import lab_models, lab_runner

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


def test_a_run_that_raises_stops_the_runs_not_started(tmp_path):
    """A lane's error (here a model folder that cannot be made) ends the lab's training: the
    run beside it finishes, the ones queued never start."""
    specs = [
        _sleeper(tmp_path, "long", 1.0, seconds=100),
        _sleeper(tmp_path, "bad", 0.1, seconds=5),
        _sleeper(tmp_path, "never", 0.1, seconds=5),
    ]
    out = tmp_path / "out"
    out.mkdir()
    (out / "bad").write_text("a file where the model's folder should be")
    with pytest.raises(Exception):  # noqa: B017 - whichever error the folder gives
        lab_runner.train_models(specs, out, {"lab": tmp_path}, 0, True, print, False, jobs=2)
    assert (out / "long" / "stamp.json").exists()  # it was running: it ended, not orphaned
    assert not (out / "never").exists()
