"""Retrieval quality against the number of dimensions kept: Matryoshka against plain truncation.

    python scripts/train_transformer.py --contrastive --out runs/m_plain --epochs 2 --dim 64
    python scripts/train_transformer.py --contrastive --matryoshka 8,16,32,64 --out runs/m_mat \
        --epochs 2 --dim 64
    python benchmarks/matryoshka_figure.py runs/m_plain runs/m_mat --out matryoshka.png

Both runs share the seed, so their masked-LM models are the same bytes and only the contrastive
loss differs. Each contrastive model's vectors are cut to their first m dimensions (then
normalised) and scored with the small MTEB of minilm/mteb.py on the bundled world's truth.
"""

from __future__ import annotations

import json

import numpy as np

from minilm.encoders import load_encoder
from minilm.errors import ArgumentParser, run_cli
from minilm.mteb import build_tasks, run_mteb
from minilm.threads import apply_threads
from minilm.truth import BUNDLED_WORLD

KEYS = ("retrieval_ndcg10", "pairs_ap", "sts")


def curve(run: str, dims: list[int], tasks) -> dict[int, dict]:
    enc = load_encoder(run, "contrastive")
    return {m: run_mteb(lambda s, m=m: enc.encode(s)[:, :m], tasks) for m in dims}


def main() -> None:
    ap = ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("plain", help="run folder, plain contrastive tuning")
    ap.add_argument("matryoshka", help="run folder, --matryoshka tuning")
    ap.add_argument("--dims", default="4,8,16,32,64")
    ap.add_argument("--out", default="matryoshka.png")
    args = ap.parse_args()
    apply_threads(1)
    dims = [int(d) for d in args.dims.split(",")]
    tasks = build_tasks(BUNDLED_WORLD, np.random.default_rng(0))
    curves = {
        "plain, truncated": curve(args.plain, dims, tasks),
        "Matryoshka": curve(args.matryoshka, dims, tasks),
    }
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, len(KEYS), figsize=(4 * len(KEYS), 3.2))
    for ax, key in zip(axes, KEYS, strict=True):
        for label, c in curves.items():
            ax.plot(dims, [c[m][key] for m in dims], marker="o", label=label)
        ax.set_xscale("log", base=2)
        ax.set_xlabel("dimensions kept")
        ax.set_title(key)
    axes[0].legend()
    fig.tight_layout()
    fig.savefig(args.out, dpi=110)
    table = {
        label: {m: {k: round(c[m][k], 3) for k in KEYS} for m in dims}
        for label, c in curves.items()
    }
    print(json.dumps(table, indent=1))
    print(f"-> {args.out}")


if __name__ == "__main__":
    run_cli(main)
