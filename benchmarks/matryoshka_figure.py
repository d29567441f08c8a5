"""Retrieval quality against the number of dimensions kept: Matryoshka against plain truncation.

    python scripts/train_transformer.py --contrastive --also-matryoshka 8,16,32,64 \
        --out runs/m --epochs 2 --dim 64 --ffn 256
    python benchmarks/matryoshka_figure.py runs/m --out matryoshka.png

The run holds both sentence models: sentence_model.npz (plain contrastive tuning) and
sentence_model_matryoshka.npz (the same masked-LM start and batches, the loss summed over the
prefixes). Each is cut to its first m dimensions and scored with the small MTEB of
minilm/mteb.py on the bundled world's truth, by minilm/lab_search_rows.py (the lab's rows and
figure 9a; docs/14-matryoshka-quantisation-hybrid.md).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from minilm.cli.args import positive_list
from minilm.encoders import load_encoder
from minilm.errors import ArgumentParser, run_cli
from minilm.lab_search_figures import MATRYOSHKA_KEYS, plot_matryoshka
from minilm.lab_search_rows import cached, prefix_encoder
from minilm.mteb import build_tasks, run_mteb
from minilm.threads import apply_threads
from minilm.truth import BUNDLED_WORLD


def main() -> None:
    ap = ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("run", help="run folder trained with --contrastive --also-matryoshka")
    ap.add_argument("--dims", default="4,8,16,32,64")
    ap.add_argument("--out", default="matryoshka.png")
    args = ap.parse_args()
    apply_threads(1)
    dims = positive_list(args.dims, "--dims")
    tasks = build_tasks(BUNDLED_WORLD, np.random.default_rng(0))
    curves = {}
    for label, kind in (("plain, truncated", "contrastive"), ("Matryoshka", "matryoshka")):
        encode = cached(load_encoder(args.run, kind).encode)
        curves[label] = {m: run_mteb(prefix_encoder(encode, m), tasks) for m in dims}
    plot_matryoshka(curves, Path(args.out))
    keys = [k for k, _ in MATRYOSHKA_KEYS]
    table = {
        label: {m: {k: round(c[m][k], 3) for k in keys} for m in dims}
        for label, c in curves.items()
    }
    print(f"-> {args.out}")
    print(json.dumps(table))  # one line: {model: {m: {task: score}}}


if __name__ == "__main__":
    run_cli(main)
