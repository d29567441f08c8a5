"""Train word2vec (skip-gram or CBOW with negative sampling), optionally with fastText subwords.

    python scripts/train_skipgram.py --out runs/sgns                  # bundled world corpus
    python scripts/train_skipgram.py --out runs/cbow --cbow
    python scripts/train_skipgram.py --out runs/hs --hs --negative 0  # hierarchical softmax
    python scripts/train_skipgram.py --out runs/fasttext --subwords 3-6
    python scripts/analogy.py runs/sgns/vectors.txt king - man + woman --no-exclude

Defaults are word2vec.c's (-size 100 -window 5 -negative 5 -sample 1e-3 -alpha 0.025, linear
decay to 1e-4 alpha, -min-count 5, -iter 5); CBOW uses word2vec.c's own -alpha 0.05 and, by
default, its update of the context vectors (--cbow-update word2vec: every context word gets the
whole gradient of the mean h, |C| times the exact gradient; --cbow-update exact trains with the
true gradient and, at the same alpha, learns weaker analogies). Choices of ours: examples are
processed --batch-size at a time (1024; CBOW 512), one SGD step of lr alpha per example, all
summed: the same update size as word2vec.c. The examples follow the text's order: skip-gram's
pairs shuffled only within spans of --shuffle-span examples, CBOW's stretches of text in order
(span 0) as word2vec.c reads them. Noise words: both share S = 32 per group of 24 examples
(--shared-negatives, --noise-group; each weighted K/S, the same expected gradient as K per
example; minilm.models.skipgram.training_defaults). On real English
(benchmarks/bench_real_text.py) these defaults make minilm learn gensim's vectors: its top-10
neighbours agree with gensim's within 0.02 of how often two gensim seeds agree with each other,
in every frequency band, skip-gram and CBOW, at over half gensim's speed (one core each).
Groups of 16 agree a little more (skip-gram within 0.01) and train ~15% slower; K words per
example (--shared-negatives 0, word2vec.c's way) agree no better - 32 shared words average out
more of the noise than 5 do - and are the slowest. Shuffling the whole epoch, or sharing noise
words in big groups (the whole batch) learns different vectors: agreement drops by up to 0.2
(see minilm/data/word2vec_batches.py and minilm/models/skipgram.py). CBOW batches are stretches of
text (minilm.data.word2vec_batches.CbowWindows); with K noise words per example they agreed with
gensim within 0.02 of its floor read in the text's order at 512 examples a batch (0.04 below it at
1024), but 0.03 below it already at 128 when shuffled within spans of 65536 examples.
--subwords uses --buckets 100000 hash buckets
instead of fastText's 2e6 (a laptop corpus has a few thousand distinct n-grams) and alpha 0.01:
a word's vector is the SUM of its own and its ~20 n-gram rows, so one step moves it ~20 times
as far as a row, and 0.025 diverges on the world corpus (fastText's code averages instead).

--hs adds word2vec.c's hierarchical softmax over the Huffman tree of the word counts
(minilm/layers/hsoftmax.py; inner-node table W_node, zeros at init); with --negative K > 0 too,
the two losses add, as in word2vec.c (-hs 1 -negative K). Its defaults are hs off, K = 5.
With --hs the batches are smaller (64 pairs, shuffled within spans of 4096; CBOW 64 windows):
every example walks the root, so a batch's summed step there adds all of its examples'
(minilm.models.skipgram.training_defaults); a decision with |score| >= 6 is skipped, as
word2vec.c does.

Writes vectors.txt/.bin (the input vectors W_in; with subwords W_in + the n-gram sum),
projector/, model.npz, metrics.json and loss.png into --out. On the world corpus (or a folder
holding categories.tsv / analogies.txt / similarity.tsv) metrics.json also has
category_purity, analogy accuracy under both protocols (per section, and the share of
query-word answers) and similarity_spearman.
"""

from __future__ import annotations

import argparse
from collections.abc import Iterable
from pathlib import Path

import numpy as np

from minilm import na
from minilm.data.corpus import TokenStream, load_corpus
from minilm.data.huffman import huffman_tree
from minilm.data.vocab import Vocab
from minilm.data.word2vec_batches import (
    CbowWindows,
    HuffmanBatches,
    SkipgramPairs,
    SubwordBatches,
)
from minilm.errors import ArgumentParser, MinilmError, finite_float, run_cli, seed_arg
from minilm.evaluate import evaluate_embedding, ground_truth_files
from minilm.io import add_out_args, claim_out_dir
from minilm.models import skipgram as sg
from minilm.optim import ScatterSGD
from minilm.runs import summary_line, write_run
from minilm.threads import add_threads_arg, apply_threads
from minilm.train import TrainConfig, run_identity, train
from minilm.vectors import KeyedVectors

PROBES = ("king", "dog", "bread", "red", "france", "walked")


def _add_size_args(ap: argparse.ArgumentParser) -> None:
    ap.add_argument("--corpus", help="text file or folder with train.txt (default: world)")
    add_out_args(ap)
    ap.add_argument("--seed", type=seed_arg, default=1)
    ap.add_argument("--epochs", type=int, default=5, help="passes over the corpus (-iter)")
    ap.add_argument("--dim", type=int, default=100, help="D: vector size (-size)")
    ap.add_argument("--window", type=int, default=5, help="max window; each word draws 1..window")


def _add_noise_args(ap: argparse.ArgumentParser) -> None:
    ap.add_argument(
        "--negative", type=int, default=5, help="K: noise words per pair (0 = none: needs --hs)"
    )
    ap.add_argument(
        "--hs",
        action="store_true",
        help="hierarchical softmax over word2vec.c's Huffman tree (-hs 1);\n"
        "with --negative K > 0 both losses add, as in word2vec.c",
    )
    ap.add_argument(
        "--shared-negatives",
        type=int,
        metavar="S",
        help="S noise words shared by a group of examples, each weighted K/S\n"
        "(32; 0 = K per example, as word2vec.c)",
    )
    ap.add_argument(
        "--noise-group",
        type=int,
        metavar="G",
        help="examples per group sharing S noise words (24; 0 = the whole batch)",
    )
    ap.add_argument(
        "--shuffle-span",
        type=int,
        metavar="N",
        help="examples are shuffled within spans of N in the text's order\n"
        "(skip-gram 65536; CBOW 0 = word2vec.c's order; -1 = the whole epoch)",
    )


def _add_training_args(ap: argparse.ArgumentParser) -> None:
    ap.add_argument(
        "--sample", type=finite_float, default=1e-3, help="subsampling threshold t (0 = off)"
    )
    ap.add_argument("--alpha", type=finite_float, help="start lr (0.025; CBOW 0.05; subwords 0.01)")
    ap.add_argument("--min-count", type=int, default=5, help="rarer words are dropped")
    ap.add_argument(
        "--batch-size", type=int, help="examples per SGD step (1024; CBOW 512; --hs 64)"
    )
    ap.add_argument("--cbow", action="store_true", help="CBOW: mean of the context predicts")
    ap.add_argument(
        "--cbow-update",
        choices=("word2vec", "exact"),
        default="word2vec",
        help="CBOW input-vector update: word2vec.c's (each context word gets the\n"
        "whole gradient of h; not the exact gradient) or the exact gradient\n"
        "of the mean (1/|C| of it); see minilm/models/skipgram.py",
    )
    ap.add_argument("--subwords", metavar="MINN-MAXN", help="fastText char n-grams, e.g. 3-6")
    ap.add_argument("--buckets", type=int, default=100_000, help="n-gram hash buckets")
    ap.add_argument("--checkpoint-every", type=int, default=0, help="steps (0 = end only)")
    ap.add_argument("--resume", action="store_true", help="continue from OUT/checkpoint.npz")


def _check_sizes(args: argparse.Namespace) -> None:
    if args.subwords and args.alpha is None:
        args.alpha = 0.01  # a word's vector sums ~20 rows: see the docstring
    for name, value in sg.training_defaults(args.cbow, vars(args), args.hs).items():
        setattr(args, name, value)
    for name in ("epochs", "dim", "window", "min_count", "batch_size", "buckets"):
        if getattr(args, name) < 1:
            flag = "--" + name.replace("_", "-")
            raise MinilmError(f"{flag} must be >= 1, got {getattr(args, name)}")


def _check_noise(args: argparse.Namespace) -> None:
    if args.negative < 0 or (args.negative == 0 and not args.hs):
        raise MinilmError(f"--negative must be >= 1 (or 0 with --hs), got {args.negative}")
    if args.shuffle_span < -1:
        raise MinilmError(f"--shuffle-span must be >= -1, got {args.shuffle_span}")
    for name in ("shared_negatives", "noise_group"):
        if getattr(args, name) < 0:
            flag = "--" + name.replace("_", "-")
            raise MinilmError(f"{flag} must be >= 0, got {getattr(args, name)}")


def _check_rates_and_subwords(args: argparse.Namespace) -> None:
    if not args.alpha > 0:
        raise MinilmError(f"--alpha must be > 0, got {args.alpha}")
    if args.sample < 0:
        raise MinilmError(f"--sample must be >= 0 (0 = no subsampling), got {args.sample}")
    args.minn = args.maxn = 0
    if args.subwords:
        try:
            args.minn, args.maxn = (int(x) for x in args.subwords.split("-"))
        except ValueError:
            raise MinilmError(
                f"--subwords takes MINN-MAXN, e.g. 3-6; got {args.subwords!r}"
            ) from None
        if not 1 <= args.minn <= args.maxn:
            raise MinilmError(f"--subwords needs 1 <= MINN <= MAXN, got {args.subwords}")


def parse_args() -> argparse.Namespace:
    ap = ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    _add_size_args(ap)
    _add_noise_args(ap)
    _add_training_args(ap)
    add_threads_arg(ap, default=1)
    args = ap.parse_args()
    # defaults that depend on other flags are filled in while checking, in this order
    _check_sizes(args)
    _check_noise(args)
    _check_rates_and_subwords(args)
    return args


def per_pair(cbow_update: str):
    """minilm/models/skipgram.py's loss_and_grads: the summed loss's gradients (word2vec's lr
    semantics), the loss shown per pair. Its rows of a word come unsummed, and
    ScatterSGD(repeated_rows=True) adds each into the table.
    """

    def loss_and_grads(params: dict, batch: dict) -> tuple[float, dict]:
        loss, grads = sg.loss_and_grads(params, batch, cbow_update=cbow_update)
        return loss / len(batch["center"]), grads

    return loss_and_grads


def model_config(args: argparse.Namespace, vocab_size: int) -> sg.Config:
    return sg.Config(
        vocab_size=vocab_size,
        dim=args.dim,
        cbow=args.cbow,
        negative=args.negative > 0,
        hs=args.hs,
        buckets=args.buckets if args.subwords else 0,
        minn=args.minn or 3,
        maxn=args.maxn or 6,
    )


def build_batches(
    args: argparse.Namespace, vocab: Vocab, stream: TokenStream, cfg: sg.Config
) -> tuple[Iterable, np.ndarray | None, np.ndarray | None]:
    """The epoch's batches (with n-gram rows and Huffman paths as asked), ngram_ids, ngram_mask."""
    batches = (CbowWindows if args.cbow else SkipgramPairs)(
        stream,
        vocab.counts,
        args.window,
        args.sample,
        args.batch_size,
        args.seed,
        negative=args.negative,
        shared_negatives=args.shared_negatives,
        noise_group=args.noise_group,
        shuffle_span=None if args.shuffle_span == -1 else args.shuffle_span,
    )
    ngram_ids = ngram_mask = None
    if args.subwords:
        ngram_ids, ngram_mask = sg.ngram_buckets(vocab.itos, cfg.minn, cfg.maxn, cfg.buckets)
        batches = SubwordBatches(batches, ngram_ids, ngram_mask)
    if args.hs:  # each batch carries its centre words' paths (models never import data)
        batches = HuffmanBatches(batches, huffman_tree(vocab.counts))
    return batches, ngram_ids, ngram_mask


def loop_config(args: argparse.Namespace, out: Path, name: str) -> TrainConfig:
    return TrainConfig(
        epochs=args.epochs,
        lr=args.alpha,
        schedule="linear",
        lr_floor=1e-4 * args.alpha,  # word2vec.c: alpha never falls below starting_alpha * 1e-4
        seed=args.seed,
        checkpoint_every=args.checkpoint_every,
        out_dir=out,
        resume=args.resume,
        identity=run_identity(args),
        desc=name,
        lr_flag="--alpha",
    )


def oov_neighbours(kv: KeyedVectors, params: dict, cfg: sg.Config) -> dict:
    """An unseen spelling still gets a vector: the sum of its n-grams; its 5 nearest words."""
    found = {}
    for typo in [w + w[-1] for w in PROBES if w in kv]:  # "king" -> "kingg"
        oov = sg.oov_vector(params, typo, cfg.minn, cfg.maxn)
        cos = kv.unit @ (oov / max(float(np.linalg.norm(oov)), 1e-12))
        found[typo] = [kv.words[i] for i in np.argsort(-cos)[:5]]
    return found


def main() -> None:
    args = parse_args()
    apply_threads(args.threads)
    out = claim_out_dir(args.out, "train_skipgram.py", args.force)
    # No specials: words under --min-count are dropped before windowing, as in word2vec.c.
    corpus = load_corpus(args.corpus, min_count=args.min_count, specials=())
    vocab, stream = corpus.vocab, corpus.train
    words = vocab.itos
    name = "fasttext" if args.subwords else "cbow" if args.cbow else "skipgram"

    cfg = model_config(args, len(vocab))
    params = sg.init_params(cfg, np.random.default_rng(args.seed))
    batches, ngram_ids, ngram_mask = build_batches(args, vocab, stream, cfg)

    def vectors(params: dict) -> np.ndarray:
        return sg.input_vectors(params, ngram_ids, ngram_mask)

    def probe(params: dict) -> str:
        kv = KeyedVectors(words, vectors(params))
        return "\n".join(
            f"  {w}: " + " ".join(n for n, _ in kv.nearest(w, 6)) for w in PROBES if w in kv
        )

    loss_fn = per_pair(args.cbow_update)
    opt = ScatterSGD(lr=args.alpha, repeated_rows=True)
    history = train(loss_fn, params, batches, opt, loop_config(args, out, name), probe=probe)

    kv = KeyedVectors(words, vectors(params))
    metrics = {"model": name, "train_tokens": int(stream.n_tokens), "seed": args.seed}
    metrics |= {
        "train_seconds": history.train_seconds,
        "tokens_per_second": history.tokens_per_second,
    }
    na.merge(metrics, evaluate_embedding(kv, ground_truth_files(args.corpus)))
    if args.subwords:
        metrics["oov_neighbours"] = oov_neighbours(kv, params, cfg)
    config = {"model": name, **vars(args), "model_config": vars(cfg)}
    write_run(out, words, kv.vectors, params, vocab, metrics, history, config, title=name)

    head = [
        f"{name}: {len(words)} words x {args.dim}",
        f"{history.train_seconds:.0f}s",
        f"{history.tokens_per_second:,.0f} tok/s",
    ]
    print(summary_line(head, metrics, out))


if __name__ == "__main__":
    run_cli(main)
