"""Grade a learner's file in a child process, so that no code of theirs can hang or end `check`.

    report = check_file(exercise, path, seed)

The child (`python -m minilm.exercises.sandbox NAME PATH SEED LIMIT DIR`) imports the file,
runs minilm/exercises/grader.py's `check` and writes the report as JSON into DIR. Before every
call of a learner's function it writes that function's name into DIR/progress, so the parent
can always say which function was running:
- a call that runs past the time limit is interrupted inside the child (the grader's alarm);
  one that ignores the alarm is killed by the parent a few seconds later;
- `sys.exit()` inside a function is caught by the grader; `os._exit()` or a crash ends the
  child, and the parent names the function that was running.
The learner's own prints go to the terminal as usual.
"""

from __future__ import annotations

import itertools
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from minilm.errors import MinilmError
from minilm.exercises import grader
from minilm.exercises.catalog import Exercise
from minilm.io import write_text

GRACE = 5.0  # seconds the parent waits past the time limit before it kills the child
IMPORTING = "importing your file"


def check_file(
    ex: Exercise, path: Path, seed: int, limit: float = grader.TIME_LIMIT, quiet: bool = False
) -> grader.Report:
    """Grade the learner's file `path` in a child process; MinilmError if it cannot load."""
    with tempfile.TemporaryDirectory(prefix="minilm-grade-") as tmp:
        folder = Path(tmp)
        cmd = [
            sys.executable,
            "-m",
            "minilm.exercises.sandbox",
            ex.name,
            str(path),
            str(seed),
            str(limit),
            tmp,
        ]
        quiet_out = subprocess.DEVNULL if quiet else None  # quiet: the learner's prints dropped
        child = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=quiet_out)
        running, since = None, time.monotonic()
        while child.poll() is None:
            time.sleep(0.02)
            now = _read(folder / "progress")
            if now != running:
                running, since = now, time.monotonic()
            elif time.monotonic() - since > limit + GRACE:
                child.kill()
                child.wait()
                return _stopped(
                    f"{_who(running)} did not return within {limit:g} s "
                    "(an endless loop that ignores the alarm?)"
                )
        result = folder / "result.json"
        if not result.is_file():
            return _stopped(
                f"{_who(_read(folder / 'progress'))} ended the grading process "
                f"(exit code {child.returncode}): an exercise function must return "
                "its values, never exit or crash the interpreter"
            )
        data = json.loads(result.read_text(encoding="utf-8"))
    if "error" in data:
        raise MinilmError(data["error"])
    return grader.Report(data["passed"], data["lines"], data["failures"])


def _read(path: Path) -> str | None:
    try:
        return path.read_text(encoding="utf-8")
    except OSError:
        return None


def _who(progress: str | None) -> str:
    """The function named in a progress line "name count", or what was going on."""
    name = progress.rsplit(" ", 1)[0] if progress else IMPORTING
    return "importing your file" if name == IMPORTING else f"your {name}"


def _stopped(line: str) -> grader.Report:
    report = grader.Report()
    report.fail(f"  {line}")
    report.lines.append("not yet - fix the line above")
    return report


def child(name: str, path: str, seed: str, limit: str, folder: str) -> None:
    """The child's side: import, grade, write result.json (or {"error": ...})."""
    out = Path(folder)
    counter = itertools.count()

    def progress(who: str) -> None:
        (out / "progress").write_text(f"{who} {next(counter)}", encoding="utf-8")

    ex = grader.get(name)
    seconds = float(limit)
    progress(IMPORTING)
    try:
        with grader.time_limit(seconds):
            impl = grader.load_learner(Path(path), ex)
    except grader.LearnerTimeout:
        impl = f"importing {path} did not finish within {seconds:g} s (a loop at the top level?)"
    except MinilmError as err:
        impl = str(err)
    if isinstance(impl, str):
        write_text(out / "result.json", json.dumps({"error": impl}))
        return
    grader.ON_CALL.append(progress)
    report = grader.check(ex, impl, int(seed), seconds)
    data = {"passed": report.passed, "lines": report.lines, "failures": report.failures}
    write_text(out / "result.json", json.dumps(data))


if __name__ == "__main__":
    child(*sys.argv[1:6])
