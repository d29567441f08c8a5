"""Train LSA, PPMI-SVD, GloVe, SGNS, CBOW and fastText on one corpus and compare them in a table.

    python scripts/compare_embeddings.py --out runs/compare              # bundled world corpus
    python scripts/compare_embeddings.py --out runs/compare --methods lsa,ppmi,sgns

Each method runs its own training script in its own process (train_baselines.py for LSA,
PPMI-SVD and GloVe, train_skipgram.py for SGNS, CBOW and fastText), so the peak memory reported
is that method's alone: the maximum resident set size of its process, read with os.wait4. Every
method gets the same --corpus, --seed, --dim and --min-count, and otherwise its own defaults
(epochs, window, learning rate). "train s" is the training time the script itself reports;
"wall s" is the whole process (imports, reading the corpus, evaluation, writing files).

Writes OUT/<method>/ (each run's standard outputs), OUT/compare.md and OUT/compare.json, and
prints the table and a plain statement of how PPMI-SVD compares with SGNS (Levy & Goldberg
2014; Levy, Goldberg & Dagan 2015 found them within a few points of each other once the
hyperparameters are matched).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

from minilm import na
from minilm.errors import ArgumentParser, MinilmError, run_cli, seed_arg
from minilm.io import add_out_args, claim_out_dir, write_json, write_text
from minilm.limits import die_with_parent
from minilm.threads import add_threads_arg, apply_threads

SCRIPTS = Path(__file__).resolve().parent
# name -> (label, script, extra arguments)
METHODS = {
    "lsa": ("LSA", "train_baselines.py", ["--method", "lsa"]),
    "ppmi": ("PPMI-SVD", "train_baselines.py", ["--method", "ppmi"]),
    "glove": ("GloVe", "train_baselines.py", ["--method", "glove"]),
    "sgns": ("SGNS", "train_skipgram.py", []),
    "cbow": ("CBOW", "train_skipgram.py", ["--cbow"]),
    "fasttext": ("fastText", "train_skipgram.py", ["--subwords", "3-6"]),
}
COLUMNS = [  # (metrics.json key, table header)
    ("category_purity", "category purity"),
    ("analogy_accuracy", "analogy (query excl.)"),
    ("analogy_accuracy_no_exclusion", "analogy (no excl.)"),
    ("similarity_spearman", "similarity ρ"),
    ("train_seconds", "train s"),
    ("wall_seconds", "wall s"),
    ("peak_memory_mb", "peak MB"),
]
QUALITY = COLUMNS[:4]
WITHIN_REACH = 0.05  # "within reach": no quality figure more than 5 points below SGNS


def parse_args() -> argparse.Namespace:
    ap = ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--corpus", help="text file or folder with train.txt (default: world)")
    add_out_args(ap)
    ap.add_argument("--seed", type=seed_arg, default=1)
    ap.add_argument("--dim", type=int, default=100, help="D for every method")
    ap.add_argument("--min-count", type=int, default=5, help="the same vocabulary for all")
    ap.add_argument("--epochs", type=int, help="passes for the iterative methods (default: theirs)")
    ap.add_argument(
        "--methods",
        default=",".join(METHODS),
        help=f"comma-separated subset of {','.join(METHODS)}",
    )
    add_threads_arg(ap, default=None)
    args = ap.parse_args()
    args.methods = [m.strip() for m in args.methods.split(",") if m.strip()]
    unknown = [m for m in args.methods if m not in METHODS]
    if unknown or not args.methods:
        raise MinilmError(f"--methods: unknown {unknown}; choose from {','.join(METHODS)}")
    for name in ("dim", "min_count", "epochs"):
        value = getattr(args, name)
        if value is not None and value < 1:
            raise MinilmError(f"--{name.replace('_', '-')} must be >= 1, got {value}")
    return args


def run_method(name: str, args: argparse.Namespace, out: Path) -> dict:
    """Run one method's script in a child process; return its metrics + wall time + peak memory."""
    label, script, extra = METHODS[name]
    cmd = [sys.executable, str(SCRIPTS / script), "--out", str(out / name), *extra]
    cmd += ["--seed", str(args.seed), "--dim", str(args.dim), "--min-count", str(args.min_count)]
    if args.corpus:
        cmd += ["--corpus", args.corpus]
    if args.epochs and name not in ("lsa", "ppmi"):
        cmd += ["--epochs", str(args.epochs)]
    print(f"== {label}: {' '.join(cmd[1:])}", file=sys.stderr, flush=True)
    start = time.perf_counter()
    # The child's stdout (its summary line) joins our stderr: our stdout carries only the table.
    child = subprocess.Popen(cmd, stdout=sys.stderr, preexec_fn=die_with_parent)
    _, status, usage = os.wait4(child.pid, 0)  # this child's own rusage, not all children's
    child.returncode = os.waitstatus_to_exitcode(status)
    row = {"method": label, "command": cmd, "exit_code": child.returncode}
    row["wall_seconds"] = time.perf_counter() - start
    row["peak_memory_mb"] = usage.ru_maxrss / 1024  # KiB on Linux
    metrics_path = out / name / "metrics.json"
    if child.returncode == 0 and metrics_path.is_file():
        metrics = json.loads(metrics_path.read_text(encoding="utf-8"))
        row |= {key: metrics.get(key) for key, _ in QUALITY}
        row["train_seconds"] = metrics.get("train_seconds")
        row[na.WHY_NA] = metrics.get(na.WHY_NA) or {}  # why a figure is n/a (minilm/na.py)
    return row


def fmt(value: object, key: str, why: str | None = None) -> str:
    if value is None:
        return na.show(None, why)
    if key in ("train_seconds", "wall_seconds"):
        return f"{value:.1f}"
    if key == "peak_memory_mb":
        return f"{value:.0f}"
    return f"{value:.3f}"


def table(rows: list[dict]) -> str:
    head = "| method | " + " | ".join(h for _, h in COLUMNS) + " |"
    rule = "|---|" + "---:|" * len(COLUMNS)
    lines = [head, rule]
    for row in rows:
        if row["exit_code"] != 0:
            cells = [f"failed (exit {row['exit_code']})"] + [""] * (len(COLUMNS) - 1)
        else:
            cells = [fmt(row.get(key), key, na.reason(row, key)) for key, _ in COLUMNS]
        lines.append(f"| {row['method']} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def verdict(rows: list[dict]) -> str:
    """Levy & Goldberg's observation, checked on these figures and said plainly."""
    by = {r["method"]: r for r in rows if r["exit_code"] == 0}
    if "PPMI-SVD" not in by or "SGNS" not in by:
        return "PPMI-SVD vs SGNS: not compared (one of them was not run or failed)."
    ppmi, sgns = by["PPMI-SVD"], by["SGNS"]
    parts, behind = [], []
    for key, header in QUALITY:
        a, b = ppmi.get(key), sgns.get(key)
        if a is None or b is None:
            continue
        parts.append(f"{header} {a:.3f} vs {b:.3f} ({a - b:+.3f})")
        if a < b - WITHIN_REACH:
            behind.append(header)
    if not parts:
        return "PPMI-SVD vs SGNS: no shared quality figures (no ground-truth files?)."
    if behind:
        summary = (
            f"PPMI-SVD is NOT within reach of SGNS here: more than {WITHIN_REACH:.2f} "
            f"behind on {', '.join(behind)}."
        )
    else:
        ahead = sum(
            ppmi[k] >= sgns[k]
            for k, _ in QUALITY
            if ppmi.get(k) is not None and sgns.get(k) is not None
        )
        summary = (
            f"PPMI-SVD is within reach of SGNS (no quality figure more than "
            f"{WITHIN_REACH:.2f} behind; ahead or equal on {ahead} of {len(parts)}), as "
            "Levy & Goldberg observed."
        )
    speed = ""
    if ppmi.get("train_seconds") and sgns.get("train_seconds"):
        ratio = sgns["train_seconds"] / ppmi["train_seconds"]
        speed = (
            f" Training time: PPMI-SVD {ppmi['train_seconds']:.1f}s, SGNS "
            f"{sgns['train_seconds']:.1f}s ({ratio:.0f}x)."
        )
    return f"{summary} PPMI-SVD vs SGNS: " + "; ".join(parts) + "." + speed


def main() -> None:
    args = parse_args()
    apply_threads(args.threads)
    out = claim_out_dir(args.out, "compare_embeddings.py", args.force)
    rows = [run_method(name, args, out) for name in args.methods]
    corpus = args.corpus or "the bundled world corpus"
    text = (
        f"# Word vectors compared on {corpus}\n\n"
        f"dim {args.dim}, min count {args.min_count}, seed {args.seed}; every other option at "
        "each method's default. Analogy accuracy under both protocols: the three query words "
        "excluded from the answers (word2vec's convention) and not excluded.\n\n"
        f"{table(rows)}\n\n{verdict(rows)}\n"
    )
    write_text(out / "compare.md", text)
    write_json(out / "compare.json", {"rows": rows, "verdict": verdict(rows), "args": vars(args)})
    print(text)
    failed = [r["method"] for r in rows if r["exit_code"] != 0]
    if failed:
        raise MinilmError(f"{', '.join(failed)} failed (see the messages above); table in {out}")


if __name__ == "__main__":
    run_cli(main)
