"""The lab's child runs: each model's program as its own process, timed and measured.

Each model's program (`python -m minilm.cli.train_*`, minilm/cli/) runs as a child process into
`OUT/<model>/`; `os.wait4` returns the resource usage (CPU time, peak memory) of exactly the
child it waited for. A model that fails is reported with its one-line error and the others go on.

Lanes. On two cores the lab runs two children at a time (`jobs=2`): the longest expected run
(the transformer, over half of the lab's training) starts first on one lane and the others
follow one after another on the next free lane, each with one BLAS thread. The transformer's
own second thread bought it only ~15% (README.md, "Threads"), so the core is better spent on
the other models. The terminal shows the live progress bar of the newest child still running;
every child's whole output is in its `OUT/<model>/lab.log`.
"""

from __future__ import annotations

import json
import os
import resource
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from minilm.errors import MinilmError
from minilm.io import prepare_out_dir, write_json
from minilm.lab_models import ModelSpec
from minilm.limits import die_with_parent

REPO = Path(__file__).resolve().parent.parent
SCRIPTS = REPO / "scripts"
RUN_RECORD = "lab_run.json"  # OUT/<model>/lab_run.json: how the lab's child run went


@dataclass
class ModelRun:
    """What the lab knows about one child run."""

    spec: ModelSpec
    out: Path
    command: list[str]
    returncode: int = 0
    error: str = ""
    wall_seconds: float = 0.0
    peak_mib: float | None = None
    cpu_seconds: float | None = None  # user + system time of the child (all its threads)

    @property
    def ok(self) -> bool:
        return self.returncode == 0 and not self.error

    def record(self) -> dict:
        """The run as OUT/<model>/lab_run.json holds it."""
        keys = ("command", "returncode", "error", "wall_seconds", "peak_mib", "cpu_seconds")
        return {k: getattr(self, k) for k in keys}


def model_command(
    spec: ModelSpec, out: Path, corpus: Path, seed: int, quick: bool, threads: int | None = None
) -> list[str]:
    """The child's command line: `python -m` the program with this interpreter, own flags, then
    the shared ones, which win over a spec's (`threads` None: the spec's or program's --threads)."""
    flags = spec.quick if quick else spec.default
    shared = ["--corpus", str(corpus), "--out", str(out), "--seed", str(seed)]
    shared += ["--threads", str(threads)] if threads else []
    if spec.program.endswith(".py"):  # a program file (the tests' stand-ins)
        program = [str(SCRIPTS / spec.program)]
    else:
        program = ["-m", spec.program]
    args = [a for a in spec.args if a != "--contrastive" or _has_paraphrases(corpus)]
    return [sys.executable, *program, *args, *flags, *shared]


def _has_paraphrases(corpus: Path) -> bool:
    """A corpus without paraphrases.tsv still trains the transformer, without its contrastive
    tuning (which needs the pairs): the search section then has no contrastive row."""
    folder = corpus if corpus.is_dir() else corpus.parent
    return (folder / "paraphrases.tsv").is_file()


class Screen:
    """Our stderr, shared by the children running at once: only the newest one still running
    draws on it (its progress bar stays live); when it ends, the one before it takes over."""

    def __init__(self, sink: IO[bytes] | None) -> None:
        self.sink = sink
        self.running: list[int] = []  # pids, oldest first
        self.lock = threading.Lock()

    def start(self, pid: int) -> None:
        with self.lock:
            self.running.append(pid)

    def end(self, pid: int) -> None:
        with self.lock:
            self.running.remove(pid)

    def write(self, pid: int, chunk: bytes) -> None:
        with self.lock:
            if self.sink is None or self.running[-1:] != [pid]:
                return
            try:  # the child's "error:" line is the lab's outcome line: shown once, there
                self.sink.write(_without_error_lines(chunk))
                self.sink.flush()
            except (OSError, ValueError):  # our stderr went away; keep logging
                self.sink = None


def _tee(pipe: IO[bytes], pid: int, screen: Screen, log: IO[bytes]) -> None:
    """Copy a child's stderr to its log file, and to our screen while it holds it."""
    while chunk := pipe.read1(4096):  # whatever is there, without waiting for 4096 bytes
        log.write(chunk)
        screen.write(pid, chunk)


def _without_error_lines(chunk: bytes) -> bytes:
    return b"\n".join(ln for ln in chunk.split(b"\n") if not ln.startswith(b"error: "))


def error_line(stderr_text: str, returncode: int) -> str:
    """The one line that says why a child failed: its `error: ...` line, else the last line of a
    traceback, else how it ended."""
    lines = [ln.strip() for ln in stderr_text.replace("\r", "\n").splitlines() if ln.strip()]
    for line in reversed(lines):
        if line.startswith("error:"):
            return line[len("error:") :].strip()
    if returncode < 0:
        return f"killed by signal {-returncode}"
    if lines:
        return lines[-1]
    return f"exited with status {returncode}"


@dataclass
class Child:
    """A model's program that `start_model` started: its run so far, process, log and clock."""

    run: ModelRun
    proc: subprocess.Popen
    log: IO[bytes]
    tee: threading.Thread
    start: float


def start_model(
    spec: ModelSpec,
    out: Path,
    corpus: Path,
    seed: int,
    quick: bool,
    screen: Screen,
    threads: int | None = None,
) -> Child | ModelRun:
    """Start one model's program as a child process into `out`, its stderr (where tqdm draws)
    kept in `out/lab.log` and shown on `screen`; a program that cannot start: its failed run."""
    prepare_out_dir(out, "lab.py")  # the project's folder (minilm/io.py), before lab.log
    run = ModelRun(spec, out, model_command(spec, out, corpus, seed, quick, threads))
    log = open(out / "lab.log", "wb")  # closed by finish_model
    try:
        proc = subprocess.Popen(  # the child dies with the lab: a killed lab leaves none running
            run.command, stdout=None, stderr=subprocess.PIPE, cwd=REPO, preexec_fn=die_with_parent
        )
    except OSError as err:
        log.close()
        run.returncode, run.error = 127, f"cannot start {run.command[1]}: {err.strerror}"
        return run
    screen.start(proc.pid)
    tee = threading.Thread(target=_tee, args=(proc.stderr, proc.pid, screen, log), daemon=True)
    tee.start()
    return Child(run, proc, log, tee, time.perf_counter())


def finish_model(
    child: Child, status: int, usage: resource.struct_rusage, screen: Screen
) -> ModelRun:
    """The run of a child that os.wait4 reaped (`status`, `usage`): exit status, wall time, CPU,
    peak memory, its one-line error; recorded in `out/lab_run.json`.

    Peak memory is the child's own ru_maxrss (Linux counts in it the high-water RSS of the lab
    process it was spawned from: a floor, not a leak)."""
    run, proc = child.run, child.proc
    screen.end(proc.pid)
    run.wall_seconds = time.perf_counter() - child.start
    proc.returncode = run.returncode = os.waitstatus_to_exitcode(status)  # we reaped it, not Popen
    child.tee.join()
    proc.stderr.close()
    child.log.close()
    run.peak_mib = usage.ru_maxrss / 1024  # Linux reports kilobytes
    run.cpu_seconds = usage.ru_utime + usage.ru_stime
    if run.returncode != 0:
        text = (run.out / "lab.log").read_bytes().decode("utf-8", "replace")
        run.error = error_line(text, run.returncode)
    elif not (run.out / "vectors.txt").exists():
        run.error = f"{run.spec.program} finished but wrote no {run.out / 'vectors.txt'}"
    write_json(run.out / RUN_RECORD, run.record())
    return run


def run_model(
    spec: ModelSpec,
    out: Path,
    corpus: Path,
    seed: int,
    quick: bool,
    echo: bool = True,
    threads: int | None = None,
) -> ModelRun:
    """Run one model's program as a child process into `out` and wait for it: `start_model`,
    then `finish_model`. Its stdout is inherited; its stderr is kept in `out/lab.log` and, with
    `echo`, copied live to ours."""
    screen = Screen(getattr(sys.stderr, "buffer", None) if echo else None)
    child = start_model(spec, out, corpus, seed, quick, screen, threads)
    if isinstance(child, ModelRun):
        return child
    try:
        _, status, usage = os.wait4(child.proc.pid, 0)
    except KeyboardInterrupt:
        # Ctrl-C reached the child too: let it write its checkpoint, then stop the lab.
        os.wait4(child.proc.pid, 0)
        raise
    return finish_model(child, status, usage, screen)


def reuse_model(spec: ModelSpec, out: Path) -> ModelRun:
    """A run already in `out` (from an earlier lab), read back from its record."""
    path = out / RUN_RECORD
    if not path.exists():
        raise MinilmError(f"--skip-training: {out} holds no earlier lab run of {spec.name}")
    rec = json.loads(path.read_text(encoding="utf-8"))
    rec.setdefault("cpu_seconds", None)  # records of older labs lack it
    return ModelRun(spec, out, **rec)


# ---- progress ------------------------------------------------------------------------------
def format_duration(seconds: float) -> str:
    """72.4 -> '1m12s'; 5.2 -> '5s'."""
    seconds = int(round(seconds))
    return f"{seconds // 60}m{seconds % 60:02d}s" if seconds >= 60 else f"{seconds}s"


def progress_line(i: int, n: int, name: str, elapsed: float, eta: float | None) -> str:
    """The overall line printed before each model: model i of n, elapsed, ETA."""
    eta_text = "?" if eta is None else format_duration(eta)
    return f"[lab] model {i}/{n}: {name}  (elapsed {format_duration(elapsed)}, ETA {eta_text})"


def estimate_eta(
    elapsed: float, done: Sequence[float], remaining: Sequence[float], jobs: int = 1
) -> float:
    """Remaining expected seconds, scaled by how fast this machine has been so far: the longer
    of the longest remaining run and the remaining work shared by `jobs` lanes, times
    speed = elapsed / sum(done) (1 before any model ended). One lane: sum(remaining) * speed."""
    expected_done = sum(done)
    speed = elapsed / expected_done if expected_done > 0 and elapsed > 0 else 1.0
    return max(max(remaining, default=0.0), sum(remaining) / jobs) * speed


def outcome_line(run: ModelRun) -> str:
    """The line printed after each model: its time and memory, or its one-line error."""
    if not run.ok:
        return f"[lab] {run.spec.name} FAILED: {run.error} (log: {run.out / 'lab.log'})"
    return (
        f"[lab] {run.spec.name} done in {format_duration(run.wall_seconds)} "
        f"(CPU {format_duration(run.cpu_seconds)}), peak memory {run.peak_mib:.0f} MiB"
    )


def default_jobs() -> int:
    """Two lanes where two cores are ours (the module docstring), else one."""
    return min(2, len(os.sched_getaffinity(0)))


def start_order(specs: Sequence[ModelSpec], jobs: int) -> list[int]:
    """Indices of `specs` in the order they start: with several lanes the longest expected run
    first, so that it overlaps all the others; the rest in their own order."""
    if jobs == 1 or not specs:
        return list(range(len(specs)))
    longest = max(range(len(specs)), key=lambda i: specs[i].seconds)
    return [longest] + [i for i in range(len(specs)) if i != longest]


def train_models(
    specs: Sequence[ModelSpec],
    out: Path,
    corpora: dict[str, Path],
    seed: int,
    quick: bool,
    log: Callable[[str], None] = print,
    echo: bool = True,
    threads: int | None = None,
    jobs: int = 1,
) -> list[ModelRun]:
    """Run every model's program, `jobs` at a time (lanes: the module docstring), with an
    overall progress line as each starts; the runs come back in the order of `specs`.

    This thread starts every child and waits for whichever ends first (os.wait4), so Ctrl-C
    reaches it at once: no other model starts, the running ones (which got the Ctrl-C too)
    write their checkpoints, and the lab stops. Any other error stops them the same way."""
    screen = Screen(getattr(sys.stderr, "buffer", None) if echo else None)
    expected = [1.0 if quick else s.seconds for s in specs]
    queue, running, started, runs = start_order(specs, jobs), {}, {}, {}
    t_start = time.perf_counter()
    try:
        while queue or running:
            while queue and len(running) < jobs:  # a free lane: start the next model
                i, now = queue.pop(0), time.perf_counter()
                eta = lanes_eta(now, expected, started, runs, jobs)
                log(progress_line(len(started) + 1, len(specs), specs[i].name, now - t_start, eta))
                started[i] = now
                spec = specs[i]
                child = start_model(
                    spec, out / spec.name, corpora[spec.corpus], seed, quick, screen, threads
                )
                if isinstance(child, ModelRun):  # it could not start
                    runs[i] = child
                    log(outcome_line(child))
                else:
                    running[child.proc.pid] = (i, child)
            if running:
                pid, status, usage = os.wait4(-1, 0)  # whichever child ends first
                i, child = running.pop(pid)
                runs[i] = finish_model(child, status, usage, screen)
                log(outcome_line(runs[i]))
    except BaseException as err:
        _stop(running, interrupted=isinstance(err, KeyboardInterrupt))
        raise
    return [runs[i] for i in range(len(specs))]


def _stop(running: dict, interrupted: bool) -> None:
    """Wait for the running children: after Ctrl-C (which they got too) as they write their
    checkpoints; after an error of the lab's, first asking them to do the same (SIGINT)."""
    for pid in running:
        if not interrupted:
            os.kill(pid, signal.SIGINT)
    for pid in running:
        os.wait4(pid, 0)


def lanes_eta(now: float, expected: Sequence[float], started: dict, runs: dict, jobs: int) -> float:
    """estimate_eta over the models not finished, a running one's expected time less what it has
    run; the speed from the finished ones (`started`: index -> start time, `runs`: index ->
    ModelRun)."""
    walls = sum(r.wall_seconds for r in runs.values())
    done = [expected[f] for f in runs]
    speed = walls / sum(done) if done and walls > 0 else 1.0
    remaining = [
        max(expected[r] - (now - started.get(r, now)) / speed, 0.0)
        for r in range(len(expected))
        if r not in runs
    ]
    return estimate_eta(walls, done, remaining, jobs)
