"""Train Bengio et al.'s (2003) neural probabilistic language model and compare with Kneser-Ney.

    python scripts/train_nplm.py --out runs/nplm                 # bundled world corpus
    python scripts/train_nplm.py --corpus my.txt --out runs/mine --direct --sample 5
    python scripts/train_nplm.py --corpus /data/real_text --out runs/real --epochs 1

Real vocabularies: above FULL_SOFTMAX_UP_TO words (--output auto) the output layer is Mikolov's
class-factored softmax (minilm/layers/class_softmax.py): ~sqrt(V) classes of equal unigram
mass, an exact distribution at ~2 sqrt(V) scores per word instead of V, so perplexities stay
exact. --max-vocab caps the vocabulary (the rest becomes <unk>, for the baselines too).

Real-text recipe (docs/03-nplm.md, "Real text"): beats Kneser-Ney 5-gram in < 10 minutes on
one core, with 6 words of context, dropout (--dropout) and the output weights tied to the word
features (--tie, U = C^T, needs --dim == --hidden):

    python scripts/train_nplm.py --corpus /data/real_text --out runs/nplm_real --threads 1 \
        --context 6 --dim 128 --hidden 128 --tie --dropout 0.25 --batch-size 512 --lr 4e-3 \
        --epochs 5

On the 1.18M-word real_text corpus (V = 30000, 173 classes): test perplexity 157.7 (valid
179.7) against Kneser-Ney 5-gram 159.3 and trigram 174.7; 446 CPU-seconds, 7.4 min wall on a
2-core machine shared with other jobs (load ~1).

Writes vectors.txt/.bin (the word feature table C), projector/, model.npz, metrics.json and
loss.png into --out (README.md). metrics.json holds valid/test perplexity and the Kneser-Ney
trigram and 5-gram test perplexities on the same split, vocabulary and targets.
"""

from __future__ import annotations

import argparse
import functools
import time
from pathlib import Path

import numpy as np

from minilm import na
from minilm.cli.args import add_vocab_args
from minilm.data.batchers import NgramBatches
from minilm.data.corpus import Corpus, TokenStream, load_corpus
from minilm.data.sentences import DropoutSeeds
from minilm.data.vocab import Vocab
from minilm.errors import ArgumentParser, MinilmError, finite_float, run_cli, seed_arg
from minilm.evaluate import category_purity, perplexity
from minilm.io import add_out_args, claim_out_dir, write_text
from minilm.layers.class_softmax import output_bounds
from minilm.models import nplm
from minilm.models.ngram import kneser_ney_baselines, target_counts
from minilm.optim import Adam
from minilm.runs import write_run
from minilm.threads import add_threads_arg, apply_threads
from minilm.train import History, TrainConfig, run_identity, train
from minilm.vectors import KeyedVectors

SPECIALS = ("<unk>", "<bos>", "</s>")  # <bos> pads contexts, </s> ends every sentence
PROBES = ("king", "dog", "bread", "red", "france", "three")
SUMMARY_KEYS = ("valid_perplexity", "test_perplexity", "kn3_test_perplexity", "kn5_test_perplexity")


def parse_args() -> argparse.Namespace:
    ap = ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument(
        "--corpus", help="text file or folder with train/valid/test.txt (default: world)"
    )
    add_out_args(ap)
    ap.add_argument("--seed", type=seed_arg, default=0)
    ap.add_argument("--epochs", type=int, default=3)
    ap.add_argument("--dim", type=int, default=64, help="m: word feature vector size")
    ap.add_argument("--hidden", type=int, default=128, help="h: tanh hidden units")
    ap.add_argument("--context", type=int, default=4, help="n-1: context words (n-gram order n)")
    ap.add_argument("--direct", action="store_true", help="add direct connections W (x -> y)")
    ap.add_argument(
        "--dropout", type=finite_float, default=0.0, help="on the embeddings and hidden layer"
    )
    ap.add_argument("--tie", action="store_true", help="tie the output weights: U = C^T")
    ap.add_argument("--batch-size", type=int, default=256)
    ap.add_argument(
        "--lr", type=finite_float, default=3e-3, help="Adam learning rate (decayed linearly)"
    )
    ap.add_argument(
        "--clip", type=finite_float, default=5.0, help="max global gradient norm (0 = off)"
    )
    add_vocab_args(ap)
    ap.add_argument("--sample", type=int, default=0, metavar="N", help="generate N sentences")
    ap.add_argument("--checkpoint-every", type=int, default=0, help="steps (0 = end only)")
    ap.add_argument("--resume", action="store_true", help="continue from OUT/checkpoint.npz")
    add_threads_arg(ap, default=1)
    args = ap.parse_args()
    for name in ("epochs", "dim", "hidden", "context", "batch_size", "min_count", "max_vocab"):
        if getattr(args, name) < 1:
            flag = "--" + name.replace("_", "-")
            raise MinilmError(f"{flag} must be >= 1, got {getattr(args, name)}")
    if not args.lr > 0:
        raise MinilmError(f"--lr must be > 0, got {args.lr}")
    if not 0 <= args.dropout < 1:
        raise MinilmError(f"--dropout must be in [0, 1), got {args.dropout}")
    if args.tie and args.dim != args.hidden:
        raise MinilmError(f"--tie needs --dim == --hidden, got {args.dim} and {args.hidden}")
    if args.sample < 0 or args.classes < 0:
        raise MinilmError("--sample and --classes must be >= 0")
    return args


def main() -> None:
    args = parse_args()
    apply_threads(args.threads)
    out = claim_out_dir(args.out, "train_nplm.py", args.force)
    corpus = load_corpus(args.corpus, args.min_count, args.max_vocab, specials=SPECIALS)
    train_split, V = corpus.splits["train"], len(corpus.vocab)
    counts = target_counts(train_split.ids, train_split.offsets, corpus.vocab.eos, V)
    bounds = output_bounds(args.output, counts, args.classes)
    output = "class" if bounds else "full"
    cfg = nplm.Config(V, args.context, args.dim, args.hidden, args.direct, output, bounds, args.tie)
    params = nplm.init_params(cfg, np.random.default_rng(args.seed))
    params, history, metrics = fit(args, out, corpus, params, bounds)
    metrics |= evaluate(args, corpus, params, bounds)
    if args.sample:
        write_samples(args, corpus.vocab, params, bounds, out)
    config = {"model": "nplm", **vars(args), "class_bounds": list(bounds)}
    itos = corpus.vocab.itos
    write_run(out, itos, params["C"], params, corpus.vocab, metrics, history, config, title="NPLM")
    print_summary(history, metrics, out)


def examples(
    args: argparse.Namespace, stream: TokenStream, vocab: Vocab, shuffle: bool
) -> NgramBatches:
    """(context, target) batches over one split, <bos>-padded, </s> a target."""
    return NgramBatches(
        stream,
        args.context,
        args.batch_size,
        args.seed,
        vocab.bos,
        eos_id=vocab.eos,
        shuffle=shuffle,
    )


def split_perplexity(
    args: argparse.Namespace, stream: TokenStream, vocab: Vocab, params: dict, bounds: tuple
) -> float:
    """Perplexity of the model over every target of one split."""
    source = examples(args, stream, vocab, shuffle=False)
    nll = sum(
        nplm.nll_sum(params, b["context"], b["target"], bounds=bounds) for b in source.epoch(0)
    )
    return perplexity(nll, source.n_examples)


def fit(
    args: argparse.Namespace, out: Path, corpus: Corpus, params: dict, bounds: tuple
) -> tuple[dict, History, dict]:
    """Train with progress; return the parameters of the best valid epoch, history, metrics."""
    splits, vocab = corpus.splits, corpus.vocab
    # The best parameters so far live in the loop's `state`, so checkpoints keep them too.
    state: dict[str, np.ndarray] = {"best_valid": np.array(np.inf)}

    def on_epoch_end(epoch: int, params: dict) -> dict:
        if "valid" not in splits:
            return {}
        ppl = split_perplexity(args, splits["valid"], vocab, params, bounds)
        if ppl < state["best_valid"]:
            state["best_valid"] = np.array(ppl)
            state.update({f"best/{k}": v.copy() for k, v in params.items()})
        return {"valid_perplexity": ppl}

    def probe(params: dict) -> str:
        kv = KeyedVectors(vocab.itos, params["C"])
        lines = [f"  {w}: " + " ".join(n for n, _ in kv.nearest(w, 5)) for w in PROBES if w in kv]
        return "\n".join(lines)

    batches = examples(args, splits["train"], vocab, shuffle=True)
    if args.dropout > 0:  # each batch carries its dropout seed: resume draws the same masks
        batches = DropoutSeeds(batches, args.seed)
    cpu_start = time.process_time()
    history = train(
        functools.partial(nplm.loss_and_grads, bounds=bounds, dropout=args.dropout),
        params,
        batches,
        Adam(lr=args.lr),
        loop_config(args, out),
        state=state,
        on_epoch_end=on_epoch_end,
        probe=probe,
    )
    train_cpu_seconds = time.process_time() - cpu_start  # includes the epoch-end evaluations
    if "best/C" in state:  # keep the epoch with the best valid perplexity
        params.update({k: state[f"best/{k}"] for k in params})
    metrics = {
        "train_tokens": int(splits["train"].n_tokens),
        "output": "class" if bounds else "full",
        "n_classes": max(len(bounds) - 1, 0),
        "train_cpu_seconds": train_cpu_seconds,  # all threads: honest on a shared machine
        "seed": args.seed,
    }
    if "valid" in splits:
        metrics["valid_perplexity"] = float(state["best_valid"])
    return params, history, metrics


def loop_config(args: argparse.Namespace, out: Path) -> TrainConfig:
    """The training loop's settings from the flags."""
    return TrainConfig(
        epochs=args.epochs,
        lr=args.lr,
        schedule="linear",  # decay to 5% of --lr: the last epoch settles into a minimum
        lr_floor=0.05 * args.lr,
        clip=args.clip,
        seed=args.seed,
        checkpoint_every=args.checkpoint_every,
        out_dir=out,
        resume=args.resume,
        identity=run_identity(args),
        desc="nplm",
    )


def evaluate(args: argparse.Namespace, corpus: Corpus, params: dict, bounds: tuple) -> dict:
    """Test perplexity, the Kneser-Ney baselines and category purity, where the corpus has them."""
    splits, vocab = corpus.splits, corpus.vocab
    found: dict = {}
    if "test" in splits:
        t0 = time.perf_counter()
        found["test_perplexity"] = split_perplexity(args, splits["test"], vocab, params, bounds)
        found |= kneser_ney_baselines(
            (splits["train"].ids, splits["train"].offsets),
            (splits["test"].ids, splits["test"].offsets),
            len(vocab),
            vocab.bos,
            vocab.eos,
            found["test_perplexity"],
        )
        found["eval_seconds"] = time.perf_counter() - t0
    categories = corpus.paths["train"].parent / "categories.tsv"  # ground truth, if bundled
    if categories.is_file():
        kv = KeyedVectors(vocab.itos, params["C"])
        na.measure(found, "category_purity", lambda: category_purity(kv, categories))
    return found


def write_samples(
    args: argparse.Namespace, vocab: Vocab, params: dict, bounds: tuple, out: Path
) -> None:
    """Generate --sample sentences from <bos> contexts into samples.txt and print them."""
    rng = np.random.default_rng(args.seed)
    start = np.full(args.context, vocab.bos)
    eos = vocab.eos
    draws = [nplm.sample(params, rng, start, 40, eos, bounds) for _ in range(args.sample)]
    sentences = [" ".join(vocab.itos[i] for i in ids if i != eos) for ids in draws]
    write_text(out / "samples.txt", "\n".join(sentences) + "\n")
    print("\n".join(sentences))


def print_summary(history: History, metrics: dict, out: Path) -> None:
    """One line: training time and the perplexities found."""
    summary = [f"nplm: {history.train_seconds:.0f}s"]
    for key in SUMMARY_KEYS:
        if key in metrics:
            summary.append(f"{key.replace('_perplexity', '')} ppl {metrics[key]:.3f}")
    print("  ".join(summary) + f"  -> {out}")


if __name__ == "__main__":
    run_cli(main)
