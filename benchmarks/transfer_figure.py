"""Collobert & Weston's transfer: tagging accuracy against training-set size, per word table.

    python benchmarks/transfer_figure.py runs/lab/skipgram runs/lab/ppmi --out transfer.png

The task: tag each categorised word of a world sentence with its category (categories.tsv: 21
tags, animal, food, capital, ...) from a window of 2 words each side (minilm/models/
window_tagger.py). Training windows come from train.txt, test windows from test.txt; a test
word may be one no training window held, which is where a pre-trained table can help. Each
table is used frozen and fine-tuned, beside a random table trained from scratch.
"""

from __future__ import annotations

import json

import numpy as np

from minilm.data.text import read_lines, tokenize
from minilm.errors import ArgumentParser, run_cli
from minilm.models import window_tagger as wt
from minilm.runs import load_run
from minilm.threads import apply_threads
from minilm.truth import BUNDLED_WORLD, read_categories

K = 2  # words each side


def windows_of(path, index: dict, tag_of: dict, tags: list, limit: int):
    """(windows (N, 2K+1), tags (N,)) of the categorised words of the file's first lines."""
    pad = index["<pad>"]
    W, Y = [], []
    for line in read_lines(path):
        ids = [pad] * K + [index.get(w, index["<unk>"]) for w in tokenize(line)] + [pad] * K
        for t, w in enumerate(tokenize(line)):
            if w in tag_of:
                W.append(ids[t : t + 2 * K + 1])
                Y.append(tags.index(tag_of[w]))
        if len(W) >= limit:
            break
    return np.array(W[:limit]), np.array(Y[:limit])


def train(params, cfg, batch, steps: int = 300, lr: float = 0.01) -> dict:
    """Adam on the full batch (small sets: a few hundred steps converge)."""
    m = {k: np.zeros_like(v) for k, v in params.items()}
    v = {k: np.zeros_like(p) for k, p in params.items()}
    for step in range(1, steps + 1):
        _, grads = wt.loss_and_grads(params, batch, cfg)
        for k in params:
            m[k] = 0.9 * m[k] + 0.1 * grads[k]
            v[k] = 0.999 * v[k] + 0.001 * grads[k] ** 2
            params[k] -= lr * (m[k] / (1 - 0.9**step)) / (np.sqrt(v[k] / (1 - 0.999**step)) + 1e-8)
    return params


def run_table(run: str, words: list[str], rng) -> np.ndarray:
    kv = load_run(run).vectors
    table = rng.normal(0, 0.1, (len(words), kv.dim))
    for i, w in enumerate(words):
        if w in kv:
            table[i] = kv[w] / (np.linalg.norm(kv[w]) + 1e-12)
    return table


def main() -> None:
    ap = ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("runs", nargs="+", help="run folders with pre-trained tables")
    ap.add_argument("--sizes", default="20,50,200,1000,5000")
    ap.add_argument("--out", default="transfer.png")
    args = ap.parse_args()
    apply_threads(1)
    cats, labels = read_categories(BUNDLED_WORLD / "categories.tsv")
    tag_of, tags = dict(zip(cats, labels, strict=True)), sorted(set(labels))
    words = ["<pad>", "<unk>"] + sorted(
        {w for s in read_lines(BUNDLED_WORLD / "train.txt") for w in tokenize(s)}
    )
    index = {w: i for i, w in enumerate(words)}
    sizes = [int(s) for s in args.sizes.split(",")]
    Xtr, Ytr = windows_of(BUNDLED_WORLD / "train.txt", index, tag_of, tags, max(sizes))
    Xte, Yte = windows_of(BUNDLED_WORLD / "test.txt", index, tag_of, tags, 5000)
    setups = [("random init", None, False)]
    for run in args.runs:
        name = run.rstrip("/").split("/")[-1]
        setups += [(f"{name} frozen", run, True), (f"{name} fine-tuned", run, False)]
    results = {}
    for label, run, frozen in setups:
        results[label] = {}
        for n in sizes:
            rng = np.random.default_rng(0)
            table = run_table(run, words, rng) if run else None
            dim = table.shape[1] if table is not None else 50
            cfg = wt.Config(len(words), len(tags), dim, K, 64, freeze_table=frozen)
            params = wt.init_params(cfg, rng)
            if table is not None:
                params["C"] = table
            params = train(params, cfg, {"windows": Xtr[:n], "tags": Ytr[:n]})
            acc = float(np.mean(wt.scores(params, Xte).argmax(1) == Yte))
            results[label][n] = acc
            print(f"{label:28s} n={n:5d} test accuracy {acc:.3f}", flush=True)
    plot(results, sizes, args.out)
    print(json.dumps(results, indent=1))


def plot(results: dict, sizes: list[int], out: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 4))
    for label, r in results.items():
        style = "--" if "frozen" in label else (":" if "random" in label else "-")
        ax.plot(sizes, [r[n] for n in sizes], style, marker="o", label=label)
    ax.set_xscale("log")
    ax.set_xlabel("training windows")
    ax.set_ylabel("test accuracy (category tag)")
    ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(out, dpi=110)


if __name__ == "__main__":
    run_cli(main)
