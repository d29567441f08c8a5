"""Train the tiny transformer as a causal (GPT-style) next-word LM; exact held-out perplexity.

    python scripts/train_gpt.py --out runs/gpt                                 # world corpus
    python scripts/train_gpt.py --corpus /data/real_text --out runs/gpt-real --epochs 5

The network of scripts/train_transformer.py with the causal mask (Radford et al. 2018; the
model is minilm/models/causal_lm.py, docs/07-transformer-mlm.md): position t attends to
positions <= t only and predicts the word after it, so its perplexity is a true next-word
perplexity, comparable with Kneser-Ney's (a masked LM's pseudo-perplexity is not). Training
reads the split as one stream (</s> after every sentence) cut into windows of --max-len tokens,
every position a target. Held-out scoring slides windows of --max-len tokens by --eval-stride
(default max-len / 2) and scores each target exactly once, with the targets of Kneser-Ney with
</s> (minilm/models/ngram.py next_word_pairs).

Real vocabularies: above FULL_SOFTMAX_UP_TO words (--output auto) the head is the
class-factored softmax (minilm/layers/class_softmax.py), tied to the embeddings and exact.

The defaults are the real-text recipe's model (D=128, F=512, 2 layers, 4 heads, windows of 64,
32 windows per batch, peak lr 2e-3) with one epoch, so the world corpus runs in about a minute.
On real_text (1.18M training words, vocabulary 30,000 in 131 word classes) `--epochs 5` gives
test perplexity 125.2 (valid 142.2) against Kneser-Ney 5-gram's 159.3 on the same targets, in
383 CPU-s of training + 18 of evaluation on one thread (8:45 wall on the shared 2-core machine).

Writes into --out the run folder of README.md: vectors.txt/.bin (the input embeddings E),
projector/, model.npz, loss.png and metrics.json with valid/test perplexity, the Kneser-Ney
trigram and 5-gram test perplexities on the same targets, tokens_per_second, train_cpu_seconds
and eval_cpu_seconds (all threads: honest on a shared machine).
"""

from __future__ import annotations

import argparse
import functools
import time
from dataclasses import asdict
from pathlib import Path

import numpy as np

from minilm.cli.args import add_vocab_args
from minilm.data.batchers import StreamBatches
from minilm.data.corpus import Corpus, load_corpus
from minilm.data.sentences import DropoutSeeds
from minilm.errors import ArgumentParser, MinilmError, finite_float, run_cli, seed_arg
from minilm.evaluate import perplexity
from minilm.io import add_out_args, claim_out_dir
from minilm.layers.class_softmax import output_bounds
from minilm.models import causal_lm, encoder
from minilm.models.ngram import kneser_ney_baselines, next_word_pairs, target_counts
from minilm.optim import AdamW
from minilm.runs import write_run
from minilm.threads import add_threads_arg, apply_threads
from minilm.train import History, TrainConfig, run_identity, train
from minilm.vectors import KeyedVectors

SPECIALS = ("<unk>", "<bos>", "</s>")  # </s> ends every sentence; <bos> is the n-gram padding
PROBES = ("king", "dog", "bread", "red", "city", "money")
POSITIVE = (
    "epochs",
    "dim",
    "layers",
    "heads",
    "ffn",
    "max_len",
    "batch_size",
    "min_count",
    "max_vocab",
)


def parse_args() -> argparse.Namespace:
    ap = ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--corpus", help="file, or folder with train/valid/test.txt (default: world)")
    add_out_args(ap)
    ap.add_argument("--seed", type=seed_arg, default=0)
    ap.add_argument("--epochs", type=int, default=1, help="passes over train (real text: 5)")
    ap.add_argument("--dim", type=int, default=128, help="D: model width")
    ap.add_argument("--layers", type=int, default=2, help="L: transformer blocks")
    ap.add_argument("--heads", type=int, default=4, help="h: attention heads (divides --dim)")
    ap.add_argument("--ffn", type=int, default=512, help="F: feed-forward width")
    ap.add_argument("--max-len", type=int, default=64, help="T: tokens per window")
    ap.add_argument("--batch-size", type=int, default=32, help="N: windows per batch")
    ap.add_argument("--lr", type=finite_float, default=2e-3, help="peak AdamW learning rate")
    ap.add_argument("--warmup", type=int, default=200, help="warmup steps before the cosine decay")
    ap.add_argument("--weight-decay", type=finite_float, default=0.01)
    ap.add_argument(
        "--clip", type=finite_float, default=1.0, help="max global gradient norm (0 = off)"
    )
    ap.add_argument("--dropout", type=finite_float, default=0.1)
    add_vocab_args(ap)
    ap.add_argument("--eval-stride", type=int, default=0, help="held-out window step (0 = T/2)")
    ap.add_argument("--checkpoint-every", type=int, default=0, help="steps (0 = end only)")
    ap.add_argument("--stop-after", type=int, default=0, help="stop after N steps (resumable)")
    ap.add_argument("--resume", action="store_true", help="continue from OUT/checkpoint.npz")
    # 1: one real_text epoch took 73 s of training (73 CPU-s) on 1 thread but 175-238 s (227-276
    # CPU-s) on 2, load 2-2.7; both counts give the same bytes run after run.
    add_threads_arg(ap, default=1)
    args = ap.parse_args()
    for name in POSITIVE:
        if getattr(args, name) < 1:
            flag = "--" + name.replace("_", "-")
            raise MinilmError(f"{flag} must be >= 1, got {getattr(args, name)}")
    if not args.lr > 0:
        raise MinilmError(f"--lr must be > 0, got {args.lr}")
    if min(args.warmup, args.weight_decay, args.clip, args.classes, args.stop_after) < 0:
        raise MinilmError("--warmup, --weight-decay, --clip, --classes, --stop-after must be >= 0")
    if not 0 <= args.eval_stride <= args.max_len:
        raise MinilmError(f"--eval-stride must be in [0, --max-len], got {args.eval_stride}")
    return args


def main() -> None:
    args = parse_args()
    apply_threads(args.threads)
    out = claim_out_dir(args.out, "train_gpt.py", args.force)
    corpus = load_corpus(args.corpus, args.min_count, args.max_vocab, specials=SPECIALS)
    train_split, vocab = corpus.splits["train"], corpus.vocab
    counts = target_counts(train_split.ids, train_split.offsets, vocab.eos, len(vocab))
    bounds = output_bounds(args.output, counts, args.classes)
    cfg = encoder.Config(
        len(vocab),
        args.max_len,
        args.dim,
        args.layers,
        args.heads,
        args.ffn,
        args.dropout,
        output="class" if bounds else "full",
        class_bounds=bounds,
        causal=True,
    )
    params = encoder.init_params(cfg, np.random.default_rng(args.seed))
    cpu_start = time.process_time()  # CPU seconds of all threads: honest on a shared machine
    history = fit(args, cfg, params, corpus, out)
    if not history.completed:  # --stop-after: the checkpoint is written, nothing else
        print(f"gpt: stopped after {len(history.losses)} steps; continue with --resume")
        return
    metrics: dict = {
        "train_tokens": int(train_split.n_tokens),
        "train_cpu_seconds": time.process_time() - cpu_start,
        "steps_per_epoch": history.steps_per_epoch,
        "output": cfg.output,
        "n_classes": max(len(bounds) - 1, 0),
        "n_parameters": int(sum(p.size for p in params.values())),
        "seed": args.seed,
    }
    cpu_start = time.process_time()
    metrics |= held_out_metrics(args, cfg, params, corpus)
    metrics["eval_cpu_seconds"] = time.process_time() - cpu_start  # includes Kneser-Ney's fits
    config = {"model": "gpt", **vars(args), "model_config": asdict(cfg)}
    write_run(
        out, vocab.itos, params["tok_emb"], params, vocab, metrics, history, config, title="GPT"
    )
    print(summary(history, metrics, out))


def fit(args: argparse.Namespace, cfg: encoder.Config, params: dict, corpus: Corpus, out: Path):
    """Train params in place on --max-len windows of the train stream; returns the History."""
    split, eos, N, T = corpus.splits["train"], corpus.vocab.eos, args.batch_size, args.max_len
    n = split.n_tokens + len(split.offsets) - 1  # the stream with </s> after every sentence
    if (n - T) // N < T:  # StreamBatches needs N streams of T tokens, T more for its random cut
        raise MinilmError(
            f"the training text has {n} tokens with </s>, fewer than one batch of windows needs "
            f"((batch_size + 1) * max_len = {(N + 1) * T}); lower --batch-size or --max-len"
        )
    windows = StreamBatches(split, N, T, args.seed, eos)
    batches = DropoutSeeds(windows, args.seed)  # dropout masks from (seed, epoch, step)

    def probe(params: dict) -> str:
        kv = KeyedVectors(corpus.vocab.itos, params["tok_emb"])
        return "\n".join(
            f"  {w}: " + " ".join(n for n, _ in kv.nearest(w, 5)) for w in PROBES if w in kv
        )

    loop = TrainConfig(
        epochs=args.epochs,
        lr=args.lr,
        schedule="cosine",
        warmup=args.warmup,
        lr_floor=args.lr * 0.05,
        clip=args.clip,
        seed=args.seed,
        out_dir=out,
        checkpoint_every=args.checkpoint_every,
        resume=args.resume,
        identity=run_identity(args),
        desc="gpt",
        stop_after=args.stop_after,
    )
    optimizer = AdamW(lr=args.lr, weight_decay=args.weight_decay)
    loss_fn = functools.partial(causal_lm.loss_and_grads, cfg=cfg)
    return train(loss_fn, params, batches, optimizer, loop, probe=probe)


def held_out_metrics(args: argparse.Namespace, cfg: encoder.Config, params: dict, corpus: Corpus):
    """Valid and test perplexity (each target once), and Kneser-Ney on the test targets."""
    splits, vocab = corpus.splits, corpus.vocab
    found = {}
    for name in ("valid", "test"):
        if name in splits:
            inputs, targets = next_word_pairs(splits[name].ids, splits[name].offsets, vocab.eos)
            nll = causal_lm.nll(params, cfg, inputs, targets, args.eval_stride, args.batch_size)
            found[f"{name}_perplexity"] = perplexity(float(nll.sum()), nll.size)
    if "test" in splits:
        found |= kneser_ney_baselines(
            (splits["train"].ids, splits["train"].offsets),
            (splits["test"].ids, splits["test"].offsets),
            len(vocab),
            vocab.bos,
            vocab.eos,
            found["test_perplexity"],
        )
    return found


def summary(history: History, metrics: dict, out: Path) -> str:
    """One line: training time and CPU, the perplexities and Kneser-Ney's."""
    line = [f"gpt: {history.train_seconds:.0f}s ({metrics['train_cpu_seconds']:.0f} CPU-s)"]
    for key in (
        "valid_perplexity",
        "test_perplexity",
        "kn3_test_perplexity",
        "kn5_test_perplexity",
    ):
        if key in metrics:
            line.append(f"{key.replace('_perplexity', '')} ppl {metrics[key]:.1f}")
    return "  ".join(line) + f"  -> {out}"


if __name__ == "__main__":
    run_cli(main)
