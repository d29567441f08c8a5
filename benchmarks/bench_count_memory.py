"""Benchmark: peak memory of the count-based methods (PPMI-SVD, LSA, GloVe) against V and nnz.

Their memory should grow with the vocabulary V and the non-zeros of the sparse matrix they
factorise, never with V^2, and so never be worse on a small corpus than on a big one. Each run
is a child process started as a user would (`python scripts/train_baselines.py --method M
--corpus C --min-count K --out DIR`); its peak RSS is the kernel's ru_maxrss for that child,
read with os.wait4 (as benchmarks/bench_memory.py does). V, nnz and the SVD route come from the
run's metrics.json. GloVe's memory is flat in the number of epochs, so it runs `--epochs 1`.

Corpora: the bundled world corpus, and with --real-text DIR (a folder built by
benchmarks/real_text.py) that corpus whole and its first --small-tokens tokens (105k by
default: the size at which issue 14 saw PPMI-SVD peak at 4.5 GB) at several --min-count values.
Lower min-counts mean a larger V on the same text.

Run:  python benchmarks/bench_count_memory.py --real-text /work/real_text
      python benchmarks/bench_count_memory.py --methods ppmi --min-counts 1 6
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

from bench_memory import measure

from minilm.errors import ArgumentParser, MinilmError, run_cli

ROOT = Path(__file__).resolve().parent.parent
METHODS = ("ppmi", "lsa", "glove")
ROW = "{:7s} {:24s} {:>4} {:>9s} {:>7s} {:>11s} {:>10s} {:>9s} {:>8s}"


def first_tokens(source: Path, n_tokens: int, out: Path) -> Path:
    """Copy the first lines of `source` (about n_tokens words in all) to out/train.txt."""
    lines, seen = [], 0
    with open(source, encoding="utf-8") as f:
        for line in f:
            if seen >= n_tokens:
                break
            lines.append(line)
            seen += len(line.split())
    out.mkdir(parents=True, exist_ok=True)
    (out / "train.txt").write_text("".join(lines), encoding="utf-8")
    return out


def run(method: str, corpus: str | None, min_count: int, out: Path) -> dict:
    """One training run: its peak RSS (MiB), wall seconds and metrics (V, nnz, SVD route)."""
    script = str(ROOT / "scripts" / "train_baselines.py")
    command = [sys.executable, script, "--method", method, "--min-count", str(min_count)]
    command += ["--out", str(out)]
    if corpus:
        command += ["--corpus", corpus]
    if method == "glove":
        command += ["--epochs", "1"]
    code, peak, seconds = measure(command)
    metrics = json.loads((out / "metrics.json").read_text()) if code == 0 else {}
    return {"code": code, "peak": peak, "seconds": seconds, **metrics}


def main() -> None:
    ap = ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--methods", nargs="+", default=list(METHODS), choices=METHODS)
    ap.add_argument("--real-text", help="folder with train.txt (benchmarks/real_text.py --out)")
    ap.add_argument("--small-tokens", type=int, default=105_000, help="size of the small subset")
    ap.add_argument(
        "--min-counts",
        type=int,
        nargs="+",
        default=[1, 6],
        help="min-counts for the small subset (1: the largest V)",
    )
    args = ap.parse_args()
    if args.small_tokens < 1 or min(args.min_counts) < 1:
        raise MinilmError("--small-tokens and --min-counts must be >= 1")

    with tempfile.TemporaryDirectory() as tmp:
        corpora: list[tuple[str, str | None, int]] = [("world", None, 5)]
        if args.real_text:
            source = Path(args.real_text) / "train.txt"
            if not source.is_file():
                raise MinilmError(f"--real-text: no train.txt in {args.real_text}")
            small = str(first_tokens(source, args.small_tokens, Path(tmp) / "small"))
            label = f"real_text first {args.small_tokens // 1000}k"
            corpora += [(label, small, k) for k in args.min_counts]
            corpora.append(("real_text", args.real_text, 5))

        print(f"peak RSS of count-based runs; python {sys.version.split()[0]}")
        head = ("method", "corpus", "min", "tokens", "V", "nnz", "svd", "peak MiB", "seconds")
        print(ROW.format(*head))
        for method in args.methods:
            for n, (label, corpus, min_count) in enumerate(corpora):
                r = run(method, corpus, min_count, Path(tmp) / f"{method}-{n}")
                if r["code"] != 0:
                    print(f"{method:7s} {label:24s} {min_count:>4d}  failed (exit {r['code']})")
                    continue
                nnz = f"{r['nonzeros']:,}" if "nonzeros" in r else "?"  # older scripts lack it
                cells = (f"{r['train_tokens']:,}", f"{r['vocab_size']:,}", nnz)
                row = (method, label, min_count, *cells, r.get("svd_method", "-"))
                print(ROW.format(*row, f"{r['peak']:.0f}", f"{r['seconds']:.1f}"), flush=True)


if __name__ == "__main__":
    run_cli(main)
