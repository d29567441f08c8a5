"""Benchmark: minilm's word2vec against gensim's on real English - speed, scores, neighbours.

The world corpus (bench_word2vec.py) shows speed; real text shows whether minilm learns the
*same* vectors as word2vec.c. On the corpus of benchmarks/real_text.py (~1.2M training words:
Wikipedia, news, the King James Bible), skip-gram and CBOW are trained by minilm (the code path
of scripts/train_skipgram.py, BLAS pinned to one thread) and by gensim (workers=1, two seeds),
with the same hyperparameters on the same token lists, and the script prints:

1. tokens/s of each and the ratio minilm / gensim (words counted before subsampling, as
   word2vec.c and gensim count them); gensim's speed is the mean of its three runs (two seeds,
   and the shuffled one: the same work), one timed before minilm's and two after;
2. gensim's own evaluators on both sets of vectors: evaluate_word_pairs on WordSim-353 and
   SimLex-999 (Spearman ρ) and evaluate_word_analogies on questions-words (3CosAdd accuracy);
3. the neighbour overlap: for each word of a frequency band (ranks 0-1k, 2k-3k, 8k-9k), the
   share of its 10 nearest neighbours (cosine) that two models agree on, averaged over the
   band - minilm vs gensim (the mean over both gensim seeds) beside the floor gensim seed 0 vs
   gensim seed 1, which is how much two runs of the very same algorithm agree, and gensim
   (seed 2) trained on the same sentences shuffled vs gensim: two runs that differ in the
   order they read the text. The order matters: with a learning rate that decays over the
   run, what is read when shapes the vectors, and two gensim runs share their order. Last
   column: the median frequency rank of all those neighbours (rarer neighbours than gensim's
   are a sign of learning differently).

Run:  python benchmarks/bench_real_text.py --corpus /work/real_text [--quick] [--models sg]
      (without --corpus the corpus is built into runs/real_text; gensim is required)
`--hs` compares the hierarchical softmax alone (minilm --hs --negative 0, gensim hs=1
negative=0) instead of negative sampling.
`--readme README.md` writes the speed and overlap figures into the README's measured block
(benchmarks/readme_blocks.py), so that the page shows what this script measured, not figures
typed by hand.
`--gensim-cache DIR` keeps gensim's vectors and timings between runs (keyed by the
hyperparameters) so that trying minilm variants does not retrain gensim; the table then says
the gensim timing is cached. minilm's knobs (--batch-size, --shared-negatives, ...) are the
training script's.
"""

from __future__ import annotations

import argparse
import datetime
import hashlib
import itertools
import json
import os
import platform
import sys
import time
from pathlib import Path

import numpy as np

from minilm.data.corpus import load_corpus
from minilm.data.huffman import HuffmanTree, huffman_tree
from minilm.data.word2vec_batches import CbowWindows, HuffmanBatches, SkipgramPairs
from minilm.errors import ArgumentParser, MinilmError, run_cli
from minilm.models import skipgram as sg
from minilm.optim import ScatterSGD
from minilm.train import TrainConfig, train

sys.path.insert(0, str(Path(__file__).resolve().parent))
import real_text  # noqa: E402  (the corpus builder beside this file)
from readme_blocks import replace_block  # noqa: E402

BANDS = ((0, 1000), (2000, 3000), (8000, 9000))  # frequency ranks of the probed words
TOP = 10  # neighbours compared per word


def parse_args() -> argparse.Namespace:
    ap = ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument(
        "--corpus",
        type=Path,
        default=Path("runs/real_text"),
        help="corpus folder (built by benchmarks/real_text.py if missing)",
    )
    ap.add_argument("--models", default="sg,cbow", help="comma list of sg, cbow")
    ap.add_argument("--quick", action="store_true", help="2 epochs instead of 5")
    ap.add_argument("--epochs", type=int, default=5)
    ap.add_argument("--dim", type=int, default=100)
    ap.add_argument("--window", type=int, default=5)
    ap.add_argument("--negative", type=int, default=5)
    ap.add_argument(
        "--hs",
        action="store_true",
        help="hierarchical softmax alone: minilm --hs --negative 0 against gensim\n"
        "hs=1, negative=0",
    )
    ap.add_argument("--sample", type=float, default=1e-3)
    ap.add_argument("--min-count", type=int, default=5)
    ap.add_argument("--seed", type=int, default=1, help="minilm's seed; gensim uses 0 and 1")
    ap.add_argument("--batch-size", type=int, help="minilm examples per step (script default)")
    ap.add_argument("--shared-negatives", type=int, help="minilm S (script default)")
    ap.add_argument("--noise-group", type=int, help="minilm examples sharing S (script default)")
    ap.add_argument(
        "--shuffle-span",
        type=int,
        help="minilm: shuffle examples within spans of this many (0: text order;\n"
        "-1: the whole epoch)",
    )
    ap.add_argument("--save", type=Path, help="write minilm's vectors to SAVE/<arch>.npz")
    ap.add_argument("--gensim-cache", type=Path, help="folder keeping gensim's runs")
    ap.add_argument(
        "--readme",
        type=Path,
        help="write the figures into this page's measured block (README.md), named\n"
        "after the corpus folder: real-text-word2vec for runs/real_text, with --hs\n"
        "real-text-word2vec-hs; second-text-word2vec(-hs) for runs/second_text",
    )
    args = ap.parse_args()
    if args.readme and (args.quick or args.gensim_cache or args.epochs != 5):
        raise MinilmError(
            "--readme records the benchmark as the README states it: 5 epochs, both "
            "implementations timed in this run (no --quick, --epochs or --gensim-cache)"
        )
    if args.quick:
        args.epochs = 2
    if args.hs:
        args.negative = 0
    args.models = [m.strip() for m in args.models.split(",") if m.strip()]
    if not args.models or any(m not in ("sg", "cbow") for m in args.models):
        raise MinilmError(f"--models takes a comma list of sg, cbow; got {args.models}")
    return args


def run_minilm(corpus, args: argparse.Namespace, cbow: bool) -> dict:
    """Train minilm's skip-gram or CBOW as scripts/train_skipgram.py does; vectors and timing."""
    s = sg.training_defaults(cbow, vars(args), args.hs)  # the script's, but for the flags given
    vocab, stream = corpus.vocab, corpus.train
    cfg = sg.Config(
        vocab_size=len(vocab), dim=args.dim, cbow=cbow, negative=args.negative > 0, hs=args.hs
    )
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
        shuffle_span=None if s["shuffle_span"] == -1 else s["shuffle_span"],
    )
    if args.hs:  # the centre words' Huffman paths, as scripts/train_skipgram.py --hs adds them
        batches = HuffmanBatches(batches, huffman_tree(vocab.counts))
    loop = TrainConfig(
        epochs=args.epochs,
        lr=s["alpha"],
        schedule="linear",
        lr_floor=1e-4 * s["alpha"],
        seed=args.seed,
        desc="cbow" if cbow else "skip-gram",
        log_every=50,
    )
    update = "word2vec" if cbow else "exact"  # gensim's (cbow_mean=1) CBOW update

    def loss_and_grads(params: dict, batch: dict) -> tuple[float, dict]:
        return sg.loss_and_grads(params, batch, cbow_update=update)

    cpu, wall = time.process_time(), time.perf_counter()
    train(loss_and_grads, params, batches, ScatterSGD(s["alpha"], repeated_rows=True), loop)
    cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
    tokens = stream.n_tokens * args.epochs
    return {
        "words": list(vocab.itos),
        "vectors": params["W_in"],
        "tok_s": tokens / wall,
        "tok_s_cpu": tokens / cpu,
        "settings": s,
    }


def run_gensim(
    sentences: list[list[str]],
    args: argparse.Namespace,
    cbow: bool,
    seed: int,
    shuffled: bool,
    tree: tuple[list[str], HuffmanTree] | None = None,
) -> dict:
    """gensim's Word2Vec, workers=1, same hyperparameters; cached in --gensim-cache if given.

    `shuffled`: the sentences in a random order (the same every epoch) instead of the text's.
    `tree` (words, minilm's HuffmanTree): with --hs, gensim walks minilm's tree instead of its own.
    """
    alpha = sg.training_defaults(cbow)["alpha"]  # word2vec.c's
    if shuffled:
        order = np.random.default_rng(seed).permutation(len(sentences))
        sentences = [sentences[i] for i in order]
    hyper = {
        "vector_size": args.dim,
        "window": args.window,
        "negative": args.negative,
        "hs": 1 if args.hs else 0,
        "sample": args.sample,
        "min_count": args.min_count,
        "sg": 0 if cbow else 1,
        "cbow_mean": 1,
        "alpha": alpha,
        "min_alpha": 1e-4 * alpha,
        "workers": 1,
        "seed": seed,
    }
    key = [hyper, args.epochs, str(args.corpus.resolve())] + (["shuffled"] if shuffled else [])
    key += ["minilm-tree"] if tree is not None else []
    key = hashlib.sha1(json.dumps(key).encode())
    cached = args.gensim_cache / f"gensim-{key.hexdigest()[:12]}.npz" if args.gensim_cache else None
    if cached is not None and cached.is_file():
        return _read_cached(cached)
    from gensim.models import Word2Vec

    model = Word2Vec(**hyper)
    model.build_vocab(sentences)  # not training time (minilm's vocabulary is not timed either)
    if tree is not None:
        _use_tree(model, *tree)
    tokens = sum(len(s) for s in sentences) * args.epochs
    cpu, wall = time.process_time(), time.perf_counter()
    model.train(sentences, total_examples=len(sentences), epochs=args.epochs)
    cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
    out = {
        "words": list(model.wv.index_to_key),
        "vectors": model.wv.vectors.copy(),
        "tok_s": tokens / wall,
        "tok_s_cpu": tokens / cpu,
        "cached": False,
    }
    if cached is not None:
        _write_cached(cached, out)
    return out


def _use_tree(model, words: list[str], tree: HuffmanTree) -> None:
    """Give gensim's words minilm's Huffman paths (codes and inner nodes, root first).

    Both build word2vec.c's Huffman tree, but words of equal count are ranked differently
    (minilm: alphabetically; gensim: as its sort leaves them), which moves them in the tree;
    with --hs that alone changes gensim's neighbours by more than a seed does (the
    "gensim, its own tree" line), so the comparison gives both implementations one tree.
    """
    for i, word in enumerate(words):
        n = tree.lengths[i]
        model.wv.set_vecattr(word, "code", tree.codes[i, :n].astype(np.uint8))
        model.wv.set_vecattr(word, "point", tree.points[i, :n].astype(np.uint32))


def _read_cached(cached: Path) -> dict:
    """A gensim run kept in --gensim-cache."""
    with np.load(cached, allow_pickle=False) as z:
        return {
            "words": z["words"].tolist(),
            "vectors": z["vectors"],
            "tok_s": float(z["tok_s"]),
            "tok_s_cpu": float(z["tok_s_cpu"]),
            "cached": True,
        }


def _write_cached(cached: Path, out: dict) -> None:
    """Keep a gensim run in --gensim-cache (written to a temporary file, then renamed)."""
    cached.parent.mkdir(parents=True, exist_ok=True)
    tmp = cached.with_suffix(".tmp.npz")
    np.savez(
        tmp,
        words=np.array(out["words"]),
        vectors=out["vectors"],
        tok_s=out["tok_s"],
        tok_s_cpu=out["tok_s_cpu"],
    )
    os.replace(tmp, cached)


def gensim_scores(run: dict, folder: Path) -> dict[str, float]:
    """gensim's evaluators on a run's vectors: Spearman on WordSim/SimLex, analogy accuracy."""
    from gensim.models import KeyedVectors

    kv = KeyedVectors(run["vectors"].shape[1])
    kv.add_vectors(run["words"], run["vectors"])
    scores = {}
    for name, file in (("wordsim", "similarity.tsv"), ("simlex", "simlex.tsv")):
        pairs = truth_file(folder, file)
        scores[name] = float(kv.evaluate_word_pairs(pairs, delimiter="\t")[1][0])
    scores["analogy"] = float(kv.evaluate_word_analogies(truth_file(folder, "analogies.txt"))[0])
    return scores


def truth_file(folder: Path, name: str) -> Path:
    """The corpus folder's evaluation file, else gensim's own copy of it: a corpus built by
    benchmarks/second_corpus.py has none, and real_text.py copies them from gensim."""
    if (folder / name).is_file():
        return folder / name
    source = {"analogies.txt": "questions-words.txt", "similarity.tsv": "wordsim353.tsv"}
    return real_text.gensim_test_data() / source.get(name, "simlex999.txt")


def unit_rows(run: dict, words: list[str]) -> np.ndarray:
    """The run's vectors in the order of `words`, scaled to unit length: (V, D) float32."""
    index = {w: i for i, w in enumerate(run["words"])}
    if len(index) != len(words) or any(w not in index for w in words):
        raise MinilmError("minilm and gensim built different vocabularies; compare is off")
    x = run["vectors"][[index[w] for w in words]].astype(np.float32)
    return x / np.maximum(np.linalg.norm(x, axis=1, keepdims=True), 1e-12)


def neighbours(unit: np.ndarray, band: tuple[int, int]) -> np.ndarray:
    """(n, TOP) ids of the TOP nearest words (cosine, the word itself excluded), by rank."""
    ids = np.arange(*band)
    ids = ids[ids < len(unit)]
    sims = unit[ids] @ unit.T  # (n, V)
    sims[np.arange(ids.size), ids] = -np.inf
    return np.argpartition(-sims, TOP, axis=1)[:, :TOP]


def overlap(a: np.ndarray, b: np.ndarray) -> float:
    """Mean share of TOP neighbours two models agree on, over the words of a band."""
    hits = (a[:, :, None] == b[:, None, :]).any(axis=2).sum(axis=1)  # (n,)
    return float(hits.mean() / TOP) if len(hits) else float("nan")


def compare(runs: dict[str, dict], words: list[str]) -> dict[str, dict]:
    """Overlap per band (minilm vs each gensim seed, averaged; gensim vs gensim) and median rank."""
    near = {
        name: [neighbours(unit_rows(r, words), band) for band in BANDS] for name, r in runs.items()
    }
    table = {}
    for name in ("minilm", "gensim-0", "gensim-shuf", "gensim-own"):
        if name not in runs:
            continue
        others = ["gensim-1"] if name == "gensim-0" else ["gensim-0", "gensim-1"]
        bands = [
            np.mean([overlap(near[name][i], near[o][i]) for o in others]) for i in range(len(BANDS))
        ]
        table[name] = {"bands": bands}
    for name in runs:  # neighbour ids are frequency ranks: minilm's vocabulary is by count
        table.setdefault(name, {})["median_rank"] = float(np.median(np.concatenate(near[name])))
    return table


TIMED = ("gensim-0", "gensim-1", "gensim-shuf")  # the same work: gensim's speed is their mean


def gensim_speed(runs: dict[str, dict], key: str) -> float:
    """gensim's tokens per second (`key`: "tok_s" wall or "tok_s_cpu"), the mean over its three
    runs of the same work, timed before and after minilm's: a machine whose speed drifts over
    the minutes of the benchmark moves both sides of the ratio alike."""
    return float(np.mean([runs[name][key] for name in TIMED]))


def report(arch: str, runs: dict[str, dict], scores: dict, table: dict) -> None:
    mine = runs["minilm"]
    theirs = {key: gensim_speed(runs, key) for key in ("tok_s", "tok_s_cpu")}
    note = " (gensim timing cached)" if any(runs[n].get("cached") for n in TIMED) else ""
    print(f"\n== {arch}  minilm {mine['settings']}")
    print(
        f"speed: minilm {mine['tok_s']:,.0f} tok/s ({mine['tok_s_cpu']:,.0f} cpu), gensim "
        f"{theirs['tok_s']:,.0f} ({theirs['tok_s_cpu']:,.0f} cpu, mean of {len(TIMED)} runs): "
        f"ratio {mine['tok_s'] / theirs['tok_s']:.2f} wall, "
        f"{mine['tok_s_cpu'] / theirs['tok_s_cpu']:.2f} cpu{note}"
    )
    print(f"{'vectors':11s} {'wordsim':>8s} {'simlex':>8s} {'analogy':>8s} {'median rank':>12s}")
    for name in runs:
        s = scores[name]
        print(
            f"{name:11s} {s['wordsim']:8.3f} {s['simlex']:8.3f} {s['analogy']:8.3f} "
            f"{table[name]['median_rank']:12,.0f}"
        )
    bands = " ".join(f"{a // 1000}-{b // 1000}k".rjust(6) for a, b in BANDS)
    print(f"top-{TOP} neighbour overlap      {bands}")
    ours, floor = table["minilm"]["bands"], table["gensim-0"]["bands"]
    print("minilm vs gensim (mean of 2)  " + "  ".join(f"{x:6.3f}" for x in ours))
    print("gensim seed 0 vs 1 (floor)    " + "  ".join(f"{x:6.3f}" for x in floor))
    shuffled = table["gensim-shuf"]["bands"]
    print(
        "gensim shuffled vs gensim     "
        + "  ".join(f"{x:6.3f}" for x in shuffled)
        + "   (the same sentences in another order)"
    )
    if "gensim-own" in table:
        own = table["gensim-own"]["bands"]
        print(
            "gensim, its own tree          "
            + "  ".join(f"{x:6.3f}" for x in own)
            + "   (ties ranked as gensim ranks them)"
        )
    gaps = [m - g for m, g in zip(ours, floor, strict=True)]
    print(
        "minilm - floor                "
        + "  ".join(f"{x:+6.3f}" for x in gaps)
        + "   (target: >= -0.03 in every band)"
    )


def summary_row(arch: str, runs: dict[str, dict], table: dict) -> dict:
    """The figures of one architecture that the README's block shows."""
    floor = table["gensim-0"]["bands"]
    row = {
        "arch": arch,
        "minilm": runs["minilm"]["tok_s_cpu"],
        "gensim": gensim_speed(runs, "tok_s_cpu"),
        "gaps": [m - f for m, f in zip(table["minilm"]["bands"], floor, strict=True)],
    }
    if "gensim-own" in table:
        row["own_gaps"] = [g - f for g, f in zip(table["gensim-own"]["bands"], floor, strict=True)]
    return row


def _gensim_version() -> str:
    try:
        import gensim
    except ImportError:
        return "(not installed)"
    return gensim.__version__


def readme_table(
    args: argparse.Namespace, tokens: int, words: int, rows: list[dict], loads: tuple
) -> str:
    """The README's measured block: how it was run, then a row per architecture."""
    when = datetime.datetime.now().strftime("%Y-%m-%d %H:%M")
    command = f"python benchmarks/bench_real_text.py --corpus {args.corpus}" + " --hs" * args.hs
    bands = " / ".join(f"{a // 1000}–{b // 1000}k" for a, b in BANDS)
    lines = [
        f"Measured {when} by `{command}` ({tokens:,} training tokens, {words:,} words, "
        f"{args.epochs} epochs; numpy {np.__version__}, gensim {_gensim_version()} `workers=1`, "
        f"{platform.machine()}, one thread each; load average "
        f"{loads[0]:.1f} at the start, {os.getloadavg()[0]:.1f} at the end):",
        "",
        f"| model | minilm tok/CPU-s | gensim tok/CPU-s | ratio | overlap − floor, {bands} "
        "| within 0.03 |",
        "|---|---|---|---|---|---|",
    ]
    for row in rows:
        gaps = " / ".join(f"{g:+.3f}" for g in row["gaps"])
        ok = "yes" if min(row["gaps"]) >= -0.03 else "**no**"
        ratio = row["minilm"] / row["gensim"]
        lines.append(
            f"| {row['arch']} | {row['minilm']:,.0f} | {row['gensim']:,.0f} | {ratio:.2f}× "
            f"| {gaps} | {ok} |"
        )
    for row in rows:
        if "own_gaps" in row:
            gaps = " / ".join(f"{g:+.3f}" for g in row["own_gaps"])
            lines.append(f"| {row['arch']}: gensim on its own tree | | | | {gaps} | |")
    return "\n".join(lines)


def main() -> None:
    args = parse_args()
    if os.environ.get("OMP_NUM_THREADS") != "1":  # one core each, like gensim's workers=1
        env = os.environ | {
            v: "1" for v in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")
        }
        os.execve(sys.executable, [sys.executable, *sys.argv], env)
    try:
        import gensim
    except ImportError:
        raise MinilmError("this benchmark needs gensim: pip install -e '.[bench]'") from None
    folder = real_text.ensure(args.corpus)
    corpus = load_corpus(folder, min_count=args.min_count, specials=())
    stream, words = corpus.train, list(corpus.vocab.itos)
    as_words = np.array(words, dtype=object)[stream.ids]  # the token lists minilm trains on
    sentences = [list(as_words[a:b]) for a, b in itertools.pairwise(stream.offsets)]
    print(
        f"corpus {folder}: {stream.n_tokens:,} tokens, {len(words):,} words (min count "
        f"{args.min_count}); {args.epochs} epochs, dim {args.dim}, window {args.window}, "
        f"negative {args.negative}, hs {int(args.hs)}, sample {args.sample:g}"
    )
    print(
        f"numpy {np.__version__}, gensim {gensim.__version__} (workers=1), python "
        f"{platform.python_version()}, {platform.machine()}; one thread each"
    )
    rows, loads = [], os.getloadavg()
    for arch in args.models:
        cbow = arch == "cbow"
        tree = (words, huffman_tree(corpus.vocab.counts)) if args.hs else None
        first = run_gensim(sentences, args, cbow, 0, False, tree)  # gensim runs around minilm's
        runs = {"minilm": run_minilm(corpus, args, cbow), "gensim-0": first}
        if args.save:
            args.save.mkdir(parents=True, exist_ok=True)
            np.savez(
                args.save / f"{arch}.npz", words=np.array(words), vectors=runs["minilm"]["vectors"]
            )
        runs["gensim-1"] = run_gensim(sentences, args, cbow, 1, False, tree)
        runs["gensim-shuf"] = run_gensim(sentences, args, cbow, 2, True, tree)
        if args.hs:
            runs["gensim-own"] = run_gensim(sentences, args, cbow, 2, shuffled=False)
        scores = {name: gensim_scores(r, folder) for name, r in runs.items()}
        table = compare(runs, words)
        report("CBOW" if cbow else "skip-gram", runs, scores, table)
        rows.append(summary_row("CBOW" if cbow else "skip-gram", runs, table))
    if args.readme:
        name = args.corpus.absolute().name.replace("_", "-") + "-word2vec" + "-hs" * args.hs
        body = readme_table(args, stream.n_tokens, len(words), rows, loads)
        replace_block(args.readme, name, body, "benchmarks/bench_real_text.py --readme")
        print(f"wrote the {name} block of {args.readme}")


if __name__ == "__main__":
    run_cli(main)
