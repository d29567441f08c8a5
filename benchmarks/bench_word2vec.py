"""Benchmark: word2vec training throughput (tokens/s) of minilm's skip-gram and CBOW, vs gensim.

Tokens/s follows the word2vec convention: corpus words processed per second, counted before
subsampling (word2vec.c's "words/thread/sec", gensim's "effective words" include the discarded
ones too). Each model trains through the same code path as scripts/train_skipgram.py
(SkipgramPairs -> minilm.models.skipgram.loss_and_grads -> SGD, in minilm.train). If gensim
is importable, its Word2Vec trains with the same hyperparameters and workers=1 on the same
token lists in the same run, and the table shows the throughput ratio and both models' quality
side by side.

Both run on one core: gensim with workers=1, minilm with its BLAS pinned to one thread (the
script re-executes itself with OMP/OPENBLAS/MKL_NUM_THREADS=1). minilm uses the training
script's defaults: examples in the text's order (skip-gram: shuffled within spans of 65536,
--shuffle-span), batches of 1024 (CBOW 512), 32 noise words shared per group of 24 examples
(minilm.models.skipgram.training_defaults). Sharing noise words in bigger groups is faster and
less faithful to word2vec.c (benchmarks/bench_real_text.py).
Wall-clock time is what a user sees; CPU time (process_time) is reported beside it because it
stays meaningful on a shared machine. `--profile` prints where minilm's time goes (cProfile).
CBOW uses word2vec.c's update of the context vectors (cbow_update="word2vec"), as gensim's
cbow_mean=1 does, so the two CBOWs train the same way.

`--scatter` times the W_out gradient of one real skip-gram batch with K noise words per pair
- the hot spot of that layout - with each duplicate-safe way of summing rows: np.bincount
over the cells, sorting + np.add.reduceat, np.add.at on 2-D rows and core.sum_rows
with the fast switch on (np.add.at on the flat cells, two floats per index: the one we use).

Run:  python benchmarks/bench_word2vec.py [--corpus DIR] [--epochs 5] [--profile] [--no-gensim]
      python benchmarks/bench_word2vec.py --scatter
"""

from __future__ import annotations

import argparse
import cProfile
import io
import itertools
import os
import platform
import pstats
import resource
import sys
import time
from functools import partial
from pathlib import Path

import numpy as np

from minilm.data.corpus import load_corpus
from minilm.data.word2vec_batches import CbowWindows, SkipgramPairs
from minilm.errors import ArgumentParser, run_cli
from minilm.evaluate import category_purity, evaluate_analogies
from minilm.layers.core import sum_rows
from minilm.models import skipgram as sg
from minilm.optim import ScatterSGD
from minilm.train import TrainConfig, train
from minilm.vectors import KeyedVectors

WORLD = Path(__file__).resolve().parents[1] / "corpus" / "world"


def parse_args() -> argparse.Namespace:
    ap = ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--corpus", help="folder with train.txt (+ categories.tsv, analogies.txt)")
    ap.add_argument("--epochs", type=int, default=5)
    ap.add_argument("--dim", type=int, default=100)
    ap.add_argument("--window", type=int, default=5)
    ap.add_argument("--negative", type=int, default=5)
    ap.add_argument("--sample", type=float, default=1e-3)
    ap.add_argument("--min-count", type=int, default=5)
    ap.add_argument("--batch-size", type=int, help="examples per step (1024; CBOW 512)")
    ap.add_argument("--shared-negatives", type=int, help="S (32; 0 = K per example)")
    ap.add_argument(
        "--shuffle-span", type=int, help="skip-gram 65536, CBOW 0 (-1 = the whole epoch)"
    )
    ap.add_argument("--noise-group", type=int, help="examples sharing S (24)")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--profile", action="store_true", help="cProfile minilm's runs")
    ap.add_argument("--no-gensim", action="store_true", help="skip gensim even if installed")
    ap.add_argument("--scatter", action="store_true", help="only time the W_out scatter variants")
    return ap.parse_args()


def quality(words: list[str], vectors: np.ndarray, folder: Path) -> dict[str, float | None]:
    kv = KeyedVectors(words, vectors)
    out: dict[str, float | None] = {"purity": None, "analogy": None, "analogy_no_excl": None}
    if (folder / "categories.tsv").is_file():
        out["purity"] = category_purity(kv, folder / "categories.tsv")
    if (folder / "analogies.txt").is_file():
        an = evaluate_analogies(kv, folder / "analogies.txt")
        out["analogy"], out["analogy_no_excl"] = (
            an["accuracy_excluded"],
            an["accuracy_no_exclusion"],
        )
    return out


def run_minilm(corpus, args, cbow: bool, profile: bool) -> dict:
    s = sg.training_defaults(cbow, vars(args))  # the training script's, but for the flags given
    alpha, span = s["alpha"], s["shuffle_span"]
    vocab, stream = corpus.vocab, corpus.train
    cfg = sg.Config(vocab_size=len(vocab), dim=args.dim, cbow=cbow)
    params = sg.init_params(cfg, np.random.default_rng(args.seed))
    batches = (CbowWindows if cbow else SkipgramPairs)(
        stream,
        vocab.counts,
        args.window,
        args.sample,
        s["batch_size"],
        args.seed,
        negative=args.negative,
        shared_negatives=s["shared_negatives"],
        noise_group=s["noise_group"],
        shuffle_span=None if span == -1 else span,
    )
    loop = TrainConfig(
        epochs=args.epochs,
        lr=alpha,
        schedule="linear",
        lr_floor=1e-4 * alpha,
        seed=args.seed,
        desc="cbow" if cbow else "skipgram",
        log_every=50,
    )
    profiler = cProfile.Profile() if profile else None
    cpu, wall = time.process_time(), time.perf_counter()
    if profiler:
        profiler.enable()
    update = "word2vec" if cbow else "exact"  # gensim's CBOW update (see the module docstring)
    step = partial(sg.loss_and_grads, cbow_update=update)
    train(step, params, batches, ScatterSGD(lr=alpha, repeated_rows=True), loop)
    if profiler:
        profiler.disable()
    cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
    tokens = stream.n_tokens * args.epochs
    result = {"tok_s": tokens / wall, "tok_s_cpu": tokens / cpu, "seconds": wall}
    result |= quality(vocab.itos, params["W_in"], args.folder)
    if profiler:
        text = io.StringIO()
        pstats.Stats(profiler, stream=text).sort_stats("tottime").print_stats(14)
        result["profile"] = text.getvalue()
    return result


def run_gensim(sentences: list[list[str]], args, cbow: bool) -> dict:
    from gensim.models import Word2Vec  # optional: pip install 'minilm[bench]'

    model = Word2Vec(
        vector_size=args.dim,
        window=args.window,
        negative=args.negative,
        hs=0,
        sample=args.sample,
        min_count=args.min_count,
        sg=0 if cbow else 1,
        cbow_mean=1,
        alpha=sg.training_defaults(cbow)["alpha"],
        min_alpha=1e-4 * sg.training_defaults(cbow)["alpha"],
        workers=1,
        seed=args.seed,
    )
    model.build_vocab(sentences)  # vocabulary building is not training time (nor is ours)
    tokens = sum(len(s) for s in sentences) * args.epochs
    cpu, wall = time.process_time(), time.perf_counter()
    model.train(sentences, total_examples=len(sentences), epochs=args.epochs)
    cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
    result = {"tok_s": tokens / wall, "tok_s_cpu": tokens / cpu, "seconds": wall}
    return result | quality(list(model.wv.index_to_key), model.wv.vectors, args.folder)


def time_scatter(corpus, args) -> None:
    """ms per call of each way to sum one batch's W_out gradient rows (CPU time, best of 5)."""
    vocab, stream = corpus.vocab, corpus.train
    batches = SkipgramPairs(
        stream,
        vocab.counts,
        args.window,
        args.sample,
        args.batch_size or 1024,
        args.seed,
        negative=args.negative,
    )
    batch = next(iter(batches.epoch(0)))
    rng = np.random.default_rng(args.seed)
    N, K = batch["negatives"].shape
    ids = np.concatenate([batch["center"][:, None], batch["negatives"]], axis=1).reshape(-1)
    pair = np.repeat(np.arange(N), K + 1)  # (N*(K+1),)
    h = rng.standard_normal((N, args.dim)).astype(np.float32)
    ds = rng.standard_normal(ids.size).astype(np.float32)

    terms = ds[:, None] * h[pair]  # (N*(K+1), D)

    def sort_reduceat():
        order = np.argsort(ids, kind="stable")
        sorted_ids = ids[order]
        starts = np.flatnonzero(np.diff(sorted_ids, prepend=-1))
        return sorted_ids[starts], np.add.reduceat(terms[order], starts, axis=0)

    def add_at_2d():
        rows, compact = np.unique(ids, return_inverse=True)
        out = np.zeros((rows.size, args.dim), dtype=np.float32)
        np.add.at(out, compact, terms)
        return rows, out

    def bincount_cells():
        rows, compact = np.unique(ids, return_inverse=True)
        cells = (compact[:, None] * args.dim + np.arange(args.dim)).reshape(-1)
        sums = np.bincount(cells, weights=terms.reshape(-1), minlength=rows.size * args.dim)
        return rows, sums.reshape(rows.size, args.dim).astype(np.float32)

    variants = {
        "np.bincount on flat cells": bincount_cells,
        "sort + np.add.reduceat": sort_reduceat,
        "np.add.at on 2-D rows": add_at_2d,
        "core.sum_rows, fast switch on (flat np.add.at, float pairs)": lambda: sum_rows(ids, terms),
    }
    reference = variants["np.bincount on flat cells"]()
    print(
        f"W_out gradient of one batch: {ids.size} rows of D={args.dim} into "
        f"{reference[0].size} distinct words"
    )
    _time_variants(variants, reference)


def _time_variants(variants: dict, reference: tuple) -> None:
    """Check each variant against the reference sums, then print its CPU ms (best of 5)."""
    for name, fn in variants.items():
        rows, grads = fn()
        assert np.array_equal(rows, reference[0]) and np.allclose(grads, reference[1], atol=1e-4)
        best = np.inf
        for _ in range(5):
            cpu = time.process_time()
            for _ in range(20):
                fn()
            best = min(best, (time.process_time() - cpu) / 20)
        print(f"  {name:44s} {best * 1e3:7.3f} ms")


def fmt(x: float | None, spec: str) -> str:
    return "-" if x is None else format(x, spec)


def gensim_available(no_gensim: bool) -> bool:
    try:
        if no_gensim:
            raise ImportError
        import gensim
    except ImportError:
        print("gensim not installed (or --no-gensim): minilm figures only")
        return False
    print(f"gensim {gensim.__version__} (workers=1)")
    return True


def print_table(rows: list[tuple[str, dict, dict | None]]) -> None:
    """One line per (model, implementation), then minilm/gensim speed ratios and quality gaps."""
    print(
        f"\n{'model':10s} {'impl':7s} {'tok/s':>10s} {'tok/s cpu':>10s} {'secs':>6s} "
        f"{'purity':>7s} {'analogy':>8s} {'no-excl':>8s}"
    )
    for name, ours, theirs in rows:
        for impl, r in (("minilm", ours), ("gensim", theirs)):
            if r is None:
                continue
            print(
                f"{name:10s} {impl:7s} {r['tok_s']:10,.0f} {r['tok_s_cpu']:10,.0f} "
                f"{r['seconds']:6.1f} {fmt(r['purity'], '7.3f')} {fmt(r['analogy'], '8.3f')} "
                f"{fmt(r['analogy_no_excl'], '8.3f')}"
            )
        if theirs is not None:
            gaps = ", ".join(
                f"{k} {ours[k] - theirs[k]:+.3f}"
                for k in ("purity", "analogy")
                if ours[k] is not None and theirs[k] is not None
            )
            print(
                f"{name:10s} ratio minilm/gensim: {ours['tok_s'] / theirs['tok_s']:.2f} wall, "
                f"{ours['tok_s_cpu'] / theirs['tok_s_cpu']:.2f} cpu; quality minilm - gensim: "
                f"{gaps or '-'} (target: ratio >= 0.5, at most 0.02 worse)"
            )


def main() -> None:
    args = parse_args()
    if os.environ.get("OMP_NUM_THREADS") != "1":  # one core each, like gensim's workers=1
        env = os.environ | {
            v: "1" for v in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")
        }
        os.execve(sys.executable, [sys.executable, *sys.argv], env)
    args.folder = Path(args.corpus) if args.corpus else WORLD
    corpus = load_corpus(args.corpus, min_count=args.min_count, specials=())
    if args.scatter:
        time_scatter(corpus, args)
        return
    stream, itos = corpus.train, corpus.vocab.itos
    # the very token lists minilm trains on, as words, for gensim
    words = np.array(itos, dtype=object)[stream.ids]
    sentences = [list(words[a:b]) for a, b in itertools.pairwise(stream.offsets)]
    print(
        f"corpus {args.folder}: {stream.n_tokens:,} tokens, {len(itos)} words; "
        f"{args.epochs} epochs, dim {args.dim}, window {args.window}, negative "
        f"{args.negative}, sample {args.sample:g}, batch {args.batch_size or '1024 (CBOW 512)'}, "
        f"noise {args.shared_negatives or 'default'}, span "
        f"{'default' if args.shuffle_span is None else args.shuffle_span}"
    )
    print(f"numpy {np.__version__}, python {platform.python_version()}, {platform.machine()}")

    have_gensim = gensim_available(args.no_gensim)

    rows = []
    for cbow in (False, True):
        name = "cbow" if cbow else "skip-gram"
        ours = run_minilm(corpus, args, cbow, profile=args.profile)
        theirs = run_gensim(sentences, args, cbow) if have_gensim else None
        rows.append((name, ours, theirs))
        if "profile" in ours:
            print(f"\nwhere minilm's {name} time goes (cProfile, sorted by own time):")
            print(ours["profile"])

    print_table(rows)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux
    print(f"peak RSS of this process: {peak:.0f} MiB")


if __name__ == "__main__":
    run_cli(main)
