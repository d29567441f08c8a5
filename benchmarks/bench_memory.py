"""Benchmark: peak memory (RSS) of every default training run on the bundled corpus.

Each run is a child process started exactly as a user would (`python scripts/train_*.py --out
DIR`, default options, bundled world corpus); its peak resident set size is the kernel's
ru_maxrss for that child, read with os.wait4 - the child's own high-water mark, Python and
NumPy included, nothing of this parent. Issue 9's limit is 1 GiB per run.

Memory does not grow with the number of epochs (the loop keeps one loss per step, a few MB),
so `--epochs 1` gives the same peak in a fraction of the time; the table says which was used.

Run:  python benchmarks/bench_memory.py                    # every model, default epochs
      python benchmarks/bench_memory.py --epochs 1 --models skipgram nplm
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from minilm.errors import ArgumentParser, MinilmError, run_cli

ROOT = Path(__file__).resolve().parent.parent
LIMIT_MIB = 1024.0

# name: (script, options beyond --out). Everything else is the script's default.
RUNS = {
    "skipgram": ("train_skipgram.py", []),
    "cbow": ("train_skipgram.py", ["--cbow"]),
    "fasttext": ("train_skipgram.py", ["--subwords", "3-6"]),
    "nplm": ("train_nplm.py", []),
    "srn": ("train_srn.py", []),
    "transformer": ("train_transformer.py", []),
    "glove": ("train_baselines.py", ["--method", "glove"]),
    "ppmi": ("train_baselines.py", ["--method", "ppmi"]),
    "lsa": ("train_baselines.py", ["--method", "lsa"]),
    "tfidf": ("train_baselines.py", ["--method", "tfidf"]),
}
NO_EPOCHS = {"ppmi", "lsa", "tfidf"}  # closed-form: no --epochs to shorten


def measure(command: list[str]) -> tuple[int, float, float]:
    """Run `command`; return (exit status, peak RSS in MiB, wall seconds)."""
    start = time.perf_counter()
    with tempfile.TemporaryFile() as err:
        child = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=err, cwd=ROOT)
        # wait4 reaps this very child and returns its own rusage (Popen.wait would discard it).
        _, status, usage = os.wait4(child.pid, 0)
        child.returncode = code = os.waitstatus_to_exitcode(status)
        seconds = time.perf_counter() - start
        if code != 0:
            err.seek(0)
            tail = err.read().decode(errors="replace").strip().splitlines()[-1:]
            print(f"  {command[1]} failed ({code}): {' '.join(tail)}", file=sys.stderr)
    # ru_maxrss is in KiB on Linux (bytes on macOS).
    scale = 1024.0 if sys.platform != "darwin" else 1024.0 * 1024.0
    return code, usage.ru_maxrss / scale, seconds


def main() -> None:
    ap = ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--models", nargs="+", default=list(RUNS), choices=list(RUNS))
    ap.add_argument("--epochs", type=int, help="override the default epochs (memory is flat)")
    ap.add_argument("--corpus", help="default: the bundled world corpus")
    args = ap.parse_args()
    if args.epochs is not None and args.epochs < 1:
        raise MinilmError(f"--epochs must be >= 1, got {args.epochs}")

    print(f"peak RSS per training run (limit {LIMIT_MIB:.0f} MiB); python {sys.version.split()[0]}")
    print(f"{'model':12s} {'epochs':>7s} {'peak MiB':>9s} {'of limit':>9s} {'seconds':>8s}  status")
    worst = 0.0
    with tempfile.TemporaryDirectory() as tmp:
        for name in args.models:
            script, options = RUNS[name]
            command = [
                sys.executable,
                str(ROOT / "scripts" / script),
                *options,
                "--out",
                str(Path(tmp) / name),
            ]
            epochs = "-" if name in NO_EPOCHS else "default"
            if args.epochs is not None and name not in NO_EPOCHS:
                command += ["--epochs", str(args.epochs)]
                epochs = str(args.epochs)
            if args.corpus:
                command += ["--corpus", args.corpus]
            code, peak, seconds = measure(command)
            worst = max(worst, peak)
            status = "ok" if code == 0 else f"exit {code}"
            if peak > LIMIT_MIB:
                status += "  OVER THE LIMIT"
            print(
                f"{name:12s} {epochs:>7s} {peak:9.0f} {peak / LIMIT_MIB:9.1%} {seconds:8.1f}  "
                f"{status}",
                flush=True,
            )
    print(f"largest peak: {worst:.0f} MiB ({'within' if worst <= LIMIT_MIB else 'OVER'} 1 GiB)")


if __name__ == "__main__":
    run_cli(main)
