"""The lab's child runs: each model's program as its own process, timed and measured.

Each model's program (`python -m minilm.cli.train_*`, minilm/cli/) runs as a child process into
`OUT/<model>/` (its own tqdm bar shows), one after another, so that each child's peak memory is
its own: `os.wait4` returns the resource usage of exactly the child it waited for. A model that
fails is reported with its one-line error and the others go on.
"""

from __future__ import annotations

import json
import os
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


def _tee(pipe: IO[bytes], sink: IO[bytes] | None, log: IO[bytes]) -> None:
    """Copy a child's stderr to ours (its progress bar stays live) and to its log file."""
    while chunk := pipe.read1(4096):  # whatever is there, without waiting for 4096 bytes
        log.write(chunk)
        if sink is not None:
            try:  # the child's "error:" line is the lab's outcome line: shown once, there
                sink.write(_without_error_lines(chunk))
                sink.flush()
            except (OSError, ValueError):  # our stderr went away; keep logging
                sink = None


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


def _wait(command: list[str], out: Path, echo: bool):
    """Run `command`, teeing its stderr to ours and to out/lab.log: (exit status, rusage)."""
    sink = getattr(sys.stderr, "buffer", None) if echo else None
    with open(out / "lab.log", "wb") as log:
        proc = subprocess.Popen(  # the child dies with the lab: a killed lab leaves none running
            command, stdout=None, stderr=subprocess.PIPE, cwd=REPO, preexec_fn=die_with_parent
        )
        tee = threading.Thread(target=_tee, args=(proc.stderr, sink, log), daemon=True)
        tee.start()
        try:
            _, status, usage = os.wait4(proc.pid, 0)
        except KeyboardInterrupt:
            # Ctrl-C reached the child too: let it write its checkpoint, then stop the lab.
            os.wait4(proc.pid, 0)
            raise
        proc.returncode = os.waitstatus_to_exitcode(status)  # we reaped it, not Popen
        tee.join()
        proc.stderr.close()
    return proc.returncode, usage


def run_model(
    spec: ModelSpec,
    out: Path,
    corpus: Path,
    seed: int,
    quick: bool,
    echo: bool = True,
    threads: int | None = None,
) -> ModelRun:
    """Run one model's program as a child process into `out`; measure wall time and peak memory.

    The child's stdout is inherited; its stderr (where tqdm draws) is copied live to ours and
    kept in `out/lab.log`. Peak memory is the child's own ru_maxrss from `os.wait4` (Linux
    counts in it the high-water RSS of the lab process it was spawned from: a floor, not a leak).
    """
    prepare_out_dir(out, "lab.py")  # the project's folder (minilm/io.py), before lab.log
    run = ModelRun(spec, out, model_command(spec, out, corpus, seed, quick, threads))
    start = time.perf_counter()
    try:
        run.returncode, usage = _wait(run.command, out, echo)
    except OSError as err:
        run.returncode, run.error = 127, f"cannot start {run.command[1]}: {err.strerror}"
        return run
    run.wall_seconds = time.perf_counter() - start
    run.peak_mib = usage.ru_maxrss / 1024  # Linux reports kilobytes
    run.cpu_seconds = usage.ru_utime + usage.ru_stime
    if run.returncode != 0:
        text = (out / "lab.log").read_bytes().decode("utf-8", "replace")
        run.error = error_line(text, run.returncode)
    elif not (out / "vectors.txt").exists():
        run.error = f"{spec.program} finished but wrote no {out / 'vectors.txt'}"
    write_json(out / RUN_RECORD, run.record())
    return run


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


def estimate_eta(elapsed: float, done: Sequence[float], remaining: Sequence[float]) -> float:
    """Remaining expected seconds, scaled by how fast this machine has been so far:
    ETA = sum(remaining) * elapsed / sum(done) (or sum(remaining) before any model ended)."""
    expected_done = sum(done)
    speed = elapsed / expected_done if expected_done > 0 and elapsed > 0 else 1.0
    return sum(remaining) * speed


def outcome_line(run: ModelRun) -> str:
    """The line printed after each model: its time and memory, or its one-line error."""
    if not run.ok:
        return f"[lab] {run.spec.name} FAILED: {run.error} (log: {run.out / 'lab.log'})"
    return (
        f"[lab] {run.spec.name} done in {format_duration(run.wall_seconds)} "
        f"(CPU {format_duration(run.cpu_seconds)}), peak memory {run.peak_mib:.0f} MiB"
    )


def train_models(
    specs: Sequence[ModelSpec],
    out: Path,
    corpora: dict[str, Path],
    seed: int,
    quick: bool,
    log: Callable[[str], None] = print,
    echo: bool = True,
    threads: int | None = None,
) -> list[ModelRun]:
    """Run every model's program, one after another, with an overall progress line."""
    t_start = time.perf_counter()
    expected = [1.0 if quick else s.seconds for s in specs]
    runs: list[ModelRun] = []
    for i, spec in enumerate(specs):
        elapsed = time.perf_counter() - t_start
        eta = estimate_eta(elapsed, expected[:i], expected[i:])
        log(progress_line(i + 1, len(specs), spec.name, elapsed, eta))
        run = run_model(
            spec, out / spec.name, corpora[spec.corpus], seed, quick, echo=echo, threads=threads
        )
        runs.append(run)
        log(outcome_line(run))
    return runs
