"""The lab: train every model on one corpus, compare their vectors, write a report with figures.

    python scripts/lab.py --out runs/lab                   # bundled world corpus, all models
    python scripts/lab.py --out runs/quick --quick         # small generated world: ~20-30 s
    python scripts/lab.py --out runs/mine --corpus my.txt  # any corpus (figures needing
                                                           # ground truth are skipped, with a note)
    python scripts/lab.py --out runs/w2v --models skipgram,cbow,ppmi
    python scripts/lab.py --out runs/lstm --models srn --flags 'srn=--cell lstm'  # a model's flags

Writes OUT/report.md (every figure, a metrics table, a paragraph per figure), OUT/metrics.json
(a "models" section per model, and "lab"), OUT/fig*.png, OUT/explore.html (every model side by
side in the browser: maps, neighbours, analogies), and each model's own run in OUT/<model>/.
The SRN also runs on corpus/elman (OUT/srn-elman) for Elman's dendrogram.
Models: lsa ppmi glove nplm srn srn-elman skipgram cbow transformer elmo (default: all);
optional: srn-lstm srn-gru fasttext.
Each runs its own program (minilm/cli/) with its defaults; report.md lists every command. On
two cores two models train at a time (--jobs 2): the transformer, the longest, on one core and
the others one after another on the other (about 4 minutes for the whole lab on 2 quiet cores).
Ground truth (categories.tsv, analogies.txt, ...) is read beside train.txt.
Exit status 1 when a model failed (the others still run and are reported).
"""

from __future__ import annotations

import argparse
import sys
import time

from minilm.errors import EXIT_BAD_INPUT, ArgumentParser, MinilmError, run_cli, seed_arg
from minilm.io import add_out_args, claim_out_dir
from minilm.lab import run_lab
from minilm.lab_models import ALL_MODELS
from minilm.lab_runner import default_jobs, format_duration
from minilm.threads import add_threads_arg, apply_threads


def parse_args() -> argparse.Namespace:
    ap = ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    add_out_args(ap)
    ap.add_argument("--corpus", help="text file or folder with train.txt (default: world)")
    ap.add_argument(
        "--quick",
        action="store_true",
        help="smoke run: a small generated world corpus, 1 epoch, small dims",
    )
    ap.add_argument(
        "--models",
        nargs="+",
        metavar="NAME",
        help=f"models to run, comma- or space-separated: {', '.join(ALL_MODELS)}",
    )
    ap.add_argument(
        "--flags",
        action="append",
        metavar="MODEL=FLAGS",
        help="extra flags for one model's run, e.g. --flags 'srn=--cell lstm' (repeatable)",
    )
    ap.add_argument("--seed", type=seed_arg, default=0)
    ap.add_argument(
        "--skip-training",
        action="store_true",
        help="re-evaluate, redraw and rewrite the report of the runs already in OUT",
    )
    # Size of the generated world corpus (tests use a tiny one); not for everyday use.
    ap.add_argument("--sentences", type=int, help=argparse.SUPPRESS)
    add_threads_arg(ap, default=None)
    ap.add_argument(
        "--jobs",
        type=int,
        default=default_jobs(),
        metavar="J",
        help="models trained at a time (default: 2 on two or more cores, else 1): the longest "
        "starts first and the others share the other lane",
    )
    args = ap.parse_args()
    if args.jobs < 1:
        raise MinilmError(f"--jobs must be >= 1, got {args.jobs}")
    if args.sentences is not None and args.sentences < 200:
        raise MinilmError(f"--sentences must be >= 200, got {args.sentences}")
    return args


def main() -> None:
    args = parse_args()
    apply_threads(args.threads)
    start = time.perf_counter()
    out = claim_out_dir(args.out, "lab.py", args.force)
    result = run_lab(
        out,
        corpus=args.corpus,
        models=args.models,
        quick=args.quick,
        seed=args.seed,
        sentences=args.sentences,
        skip_training=args.skip_training,
        threads=args.threads,
        flags=args.flags,
        jobs=args.jobs,
    )
    lab = result.metrics["lab"]
    print(
        f"lab: {len(result.runs) - len(result.failed)} of {len(result.runs)} models, "
        f"{len(result.figures)} figures in {format_duration(time.perf_counter() - start)}, "
        f"peak memory {lab['peak_memory_mib']:.0f} MiB -> {result.out / 'report.md'}"
    )
    report_failures(result)


def report_failures(result) -> None:
    """One line per model that refused the corpus (exit 2 of its program: bad input), with the
    lab's own way out; exit 0 with a warning when others trained, 2 when none did, 1 when a
    model crashed (a bug, not the corpus)."""
    refused = [r for r in result.failed if r.returncode == EXIT_BAD_INPUT]
    for run in refused:
        print(
            f"skipped: {run.spec.name}: {run.error} [lab: give a larger --corpus, pass the model "
            f"flags with --flags '{run.spec.name}=...', or leave it out of --models]",
            file=sys.stderr,
        )
    crashed = [r for r in result.failed if r.returncode != EXIT_BAD_INPUT]
    for run in crashed:
        print(f"failed: {run.spec.name}: {run.error}", file=sys.stderr)
    if crashed:
        sys.exit(1)
    if refused and len(refused) == len(result.runs):
        raise MinilmError("no model could train on this corpus (see the skipped lines above)")
    if refused:
        print(
            f"warning: {len(refused)} of {len(result.runs)} models skipped; the report covers "
            "the others",
            file=sys.stderr,
        )


if __name__ == "__main__":
    run_cli(main)
