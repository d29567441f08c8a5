"""Collobert & Weston's transfer: tagging accuracy against training-set size, per word table.

The task: tag each categorised word of a sentence with its category (categories.tsv: 21 tags in
the world, animal, food, capital, ...) from a window of K words each side
(minilm/models/window_tagger.py). Training windows come from train.txt, test windows from
test.txt; a test word may be one no training window held, which is where a pre-trained table
can help. Each pre-trained table is used frozen and fine-tuned, beside a random table trained
from scratch, on the first n training windows for every n of `sizes`; the same seed gives every
setup the same hidden layer at the start. docs/12-transfer.md explains the figure;
benchmarks/transfer_figure.py runs it for any run folders, the lab (`transfer_section`) for its
skip-gram table.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from minilm.data.text import read_lines, tokenize
from minilm.lab_runner import ModelRun
from minilm.models import window_tagger as wt
from minilm.runs import load_run
from minilm.threads import blas_threads
from minilm.truth import read_categories
from minilm.vectors import KeyedVectors

K = 2  # words each side
RANDOM_DIM = 50  # the random table's width (a pre-trained table keeps its own)
LAB_SIZES = (20, 50, 200, 1000)
LAB_TEST_WINDOWS = 2000
LAB_TABLES = ("skipgram",)  # the lab's pre-trained tables (benchmarks/transfer_figure.py: any)


class TaggingData:
    """The vocabulary of train.txt (<pad>, <unk> first), the tags, and the windows."""

    def __init__(self, folder: Path, train_limit: int, test_limit: int) -> None:
        cats, labels = read_categories(folder / "categories.tsv")
        self.tag_of = dict(zip(cats, labels, strict=True))
        self.tags = sorted(set(labels))
        seen = {w for s in read_lines(folder / "train.txt") for w in tokenize(s)}
        self.words = ["<pad>", "<unk>"] + sorted(seen)
        self.index = {w: i for i, w in enumerate(self.words)}
        self.train = self.windows(folder / "train.txt", train_limit)
        self.test = self.windows(folder / "test.txt", test_limit)

    def windows(self, path: Path, limit: int) -> tuple[np.ndarray, np.ndarray]:
        """(windows (N, 2K+1), tags (N,)) of the categorised words of the file's first lines."""
        pad, unk = self.index["<pad>"], self.index["<unk>"]
        W, Y = [], []
        for line in read_lines(path):
            words = tokenize(line)
            ids = [pad] * K + [self.index.get(w, unk) for w in words] + [pad] * K
            for t, w in enumerate(words):
                if w in self.tag_of:
                    W.append(ids[t : t + 2 * K + 1])
                    Y.append(self.tags.index(self.tag_of[w]))
            if len(W) >= limit:
                break
        return np.array(W[:limit], dtype=np.int64).reshape(-1, 2 * K + 1), np.array(Y[:limit])


def train_tagger(params, cfg: wt.Config, batch: dict, steps: int = 300, lr: float = 0.01) -> dict:
    """Adam on the full batch (small sets: a few hundred steps converge); a frozen C is left out."""
    keys = [k for k in params if not (cfg.freeze_table and k == "C")]
    m = {k: np.zeros_like(params[k]) for k in keys}
    v = {k: np.zeros_like(params[k]) for k in keys}
    for step in range(1, steps + 1):
        _, grads = wt.loss_and_grads(params, batch, cfg)
        for k in keys:
            m[k] = 0.9 * m[k] + 0.1 * grads[k]
            v[k] = 0.999 * v[k] + 0.001 * grads[k] ** 2
            params[k] -= lr * (m[k] / (1 - 0.9**step)) / (np.sqrt(v[k] / (1 - 0.999**step)) + 1e-8)
    return params


def pretrained_table(kv: KeyedVectors, words: list[str], rng) -> np.ndarray:
    """(V, D): each known word's vector at length 1; the others (and <pad>, <unk>) random."""
    table = rng.normal(0, 0.1, (len(words), kv.dim))
    for i, w in enumerate(words):
        if w in kv:
            table[i] = kv[w] / (np.linalg.norm(kv[w]) + 1e-12)
    return table


def transfer_curves(
    tables: dict[str, KeyedVectors],
    data: TaggingData,
    sizes: Sequence[int],
    steps: int = 300,
    seed: int = 0,
    log=None,
) -> dict[str, dict[int, float]]:
    """{setup: {n: test accuracy}}: random init, then each table frozen and fine-tuned."""
    setups: list[tuple[str, KeyedVectors | None, bool]] = [("random init", None, False)]
    for name, kv in tables.items():
        setups += [(f"{name} frozen", kv, True), (f"{name} fine-tuned", kv, False)]
    Xtr, Ytr = data.train
    Xte, Yte = data.test
    results: dict[str, dict[int, float]] = {}
    for label, kv, frozen in setups:
        results[label] = {}
        for n in sizes:
            rng = np.random.default_rng(seed)
            table = pretrained_table(kv, data.words, rng) if kv is not None else None
            dim = table.shape[1] if table is not None else RANDOM_DIM
            cfg = wt.Config(len(data.words), len(data.tags), dim, K, 64, freeze_table=frozen)
            params = wt.init_params(cfg, rng)
            if table is not None:
                params["C"] = table
            params = {k: p.astype(np.float32) for k, p in params.items()}  # as training runs
            params = train_tagger(params, cfg, {"windows": Xtr[:n], "tags": Ytr[:n]}, steps)
            results[label][n] = float(np.mean(wt.scores(params, Xte).argmax(1) == Yte))
            if log:
                log(f"{label:28s} n={n:5d} test accuracy {results[label][n]:.3f}")
    return results


def transfer_section(runs: Sequence[ModelRun], folder: Path | None, seed: int) -> dict:
    """metrics.json's "transfer": the curves for the lab's pre-trained tables, or {"skipped"}."""
    if folder is None or not all(
        (folder / f).exists() for f in ("categories.tsv", "train.txt", "test.txt")
    ):
        return {"skipped": "the corpus has no categories.tsv, train.txt and test.txt"}
    tables = {
        run.spec.label: load_run(run.out).vectors
        for run in runs
        if run.ok and run.spec.name in LAB_TABLES
    }
    if not tables:
        return {"skipped": f"no pre-trained table ({', '.join(LAB_TABLES)}) finished"}
    t0 = time.process_time()
    data = TaggingData(folder, max(LAB_SIZES), LAB_TEST_WINDOWS)
    sizes = [n for n in LAB_SIZES if n <= len(data.train[1])]
    if not sizes or not len(data.test[1]):
        return {"skipped": "too few categorised words in train.txt or test.txt"}
    with blas_threads(1):  # small products: 18 CPU-s with 2 threads, 4 with 1 (load ~7)
        curves = transfer_curves(tables, data, sizes, seed=seed)
    return {
        "curves": {k: {str(n): a for n, a in c.items()} for k, c in curves.items()},
        "tables": list(tables),
        "n_test": int(len(data.test[1])),
        "n_tags": len(data.tags),
        "unseen_test_share": unseen_share(data),
        "cpu_seconds": time.process_time() - t0,
    }


def unseen_share(data: TaggingData) -> dict[str, float]:
    """For each training size n: the share of test windows whose word no first-n window held."""
    centre_test = data.test[0][:, K]
    return {str(n): float(np.mean(~np.isin(centre_test, data.train[0][:n]))) for n in LAB_SIZES}
