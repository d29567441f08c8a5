"""Collobert & Weston's transfer: tagging accuracy against training-set size, per word table.

    python benchmarks/transfer_figure.py runs/lab/skipgram runs/lab/ppmi --out transfer.png

The experiment is minilm/lab_transfer.py's (the lab runs it for its skip-gram table, figure 10
of the report); this script runs it for any run folders and training sizes on the bundled
world: tag each categorised word of a sentence with its category (21 tags) from a window of 2
words each side, a random table against each run's table frozen and fine-tuned
(docs/12-transfer.md).
"""

from __future__ import annotations

import json
from pathlib import Path

from minilm.cli.args import positive_list
from minilm.errors import ArgumentParser, run_cli
from minilm.lab_search_figures import plot_transfer
from minilm.lab_transfer import TaggingData, transfer_curves
from minilm.runs import load_run
from minilm.threads import apply_threads
from minilm.truth import BUNDLED_WORLD


def main() -> None:
    ap = ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("runs", nargs="+", help="run folders with pre-trained tables")
    ap.add_argument("--sizes", default="20,50,200,1000,5000")
    ap.add_argument("--test", type=int, default=5000, help="test windows")
    ap.add_argument("--out", default="transfer.png")
    args = ap.parse_args()
    apply_threads(1)
    sizes = positive_list(args.sizes, "--sizes")
    data = TaggingData(BUNDLED_WORLD, max(sizes), args.test)
    tables = {run.rstrip("/").split("/")[-1]: load_run(run).vectors for run in args.runs}
    results = transfer_curves(tables, data, sizes, log=lambda line: print(line, flush=True))
    curves = {k: {str(n): a for n, a in c.items()} for k, c in results.items()}
    plot_transfer(curves, Path(args.out))
    print(json.dumps(curves))  # one line: {setup: {n: test accuracy}}


if __name__ == "__main__":
    run_cli(main)
