"""Train Elman's (1990) simple recurrent network as a language model, with Elman's analysis.

--cell lstm|gru swaps Elman's tanh recurrence for an LSTM or a GRU (minilm/layers/recurrent.py);
--hidden is the size of h_t whatever the cell (the LSTM has 4x, the GRU 3x the recurrent weights).

    python scripts/train_srn.py --out runs/srn                           # bundled world corpus
    python scripts/train_srn.py --corpus corpus/elman --out runs/elman --onehot
    python scripts/train_srn.py --corpus /data/real_text --out runs/real --epochs 1

Real vocabularies: above FULL_SOFTMAX_UP_TO words (--output auto) the output layer is Mikolov's
class-factored softmax (minilm/layers/class_softmax.py), the RNNLM's own speed-up: ~sqrt(V)
classes of equal unigram mass, an exact distribution at ~2 sqrt(V) scores per word instead of
V, so perplexities stay exact. --max-vocab caps the vocabulary (the rest becomes <unk>).

Real-text recipe (docs/04-srn-bptt.md, "Real text"): beats Kneser-Ney 5-gram in < 10 minutes
on one core. Dropout on the non-recurrent connections (--dropout, Zaremba et al. 2014) and
tied input/output embeddings (--tie, W_hy = C^T, needs --dim == --hidden):

    python scripts/train_srn.py --corpus /data/real_text --out runs/srn_real --threads 1 \
        --dim 256 --hidden 256 --tie --dropout 0.35 --batch-size 64 --bptt 32 --epochs 5

On the 1.18M-word real_text corpus (V = 30000, 173 classes): test perplexity 157.6 (valid
177.1) against Kneser-Ney 5-gram 159.3 and trigram 174.7 (re-run 2026-12-06; a run
before the recurrent cells' refactor printed 156.8); 334 CPU-seconds alone on a 2-core
machine at load ~1.

Writes into --out every file of README.md, where vectors.txt holds each word's *mean hidden
state* over all its occurrences (Elman's analysis), plus input_vectors.txt (the input
embedding, or the rows of W_xh with --onehot) and dendrogram.png: average-linkage clustering of
the mean hidden states by cosine distance, like Elman's Figure 7. metrics.json holds valid/test
perplexity, the Kneser-Ney trigram and 5-gram test perplexities on the same targets, and
category_purity / coarse_category_purity when the corpus folder has a categories.tsv.
"""

from __future__ import annotations

import argparse
import functools
import time
from pathlib import Path

import numpy as np

from minilm import na
from minilm.cli.args import add_vocab_args
from minilm.cluster import linkage
from minilm.data.batchers import StreamBatches
from minilm.data.corpus import Corpus, TokenStream, load_corpus
from minilm.data.sentences import DropoutSeeds
from minilm.data.vocab import Vocab
from minilm.errors import ArgumentParser, MinilmError, finite_float, run_cli, seed_arg
from minilm.evaluate import category_purity, category_r_precision, perplexity, read_categories
from minilm.io import add_out_args, claim_out_dir, write_text
from minilm.layers.class_softmax import output_bounds
from minilm.layers.recurrent import CELLS
from minilm.models import srn
from minilm.models.ngram import kneser_ney_baselines, next_word_pairs, target_counts
from minilm.optim import Adam
from minilm.plots import plot_dendrogram
from minilm.runs import write_run
from minilm.threads import add_threads_arg, apply_threads
from minilm.train import History, TrainConfig, run_identity, train
from minilm.vectors import KeyedVectors

SPECIALS = ("<unk>", "<bos>", "</s>")  # </s> ends every sentence; <bos> is the n-gram padding
MAX_DENDROGRAM_WORDS = 60
SUMMARY_KEYS = ("valid_perplexity", "test_perplexity", "kn3_test_perplexity", "kn5_test_perplexity")


def parse_args() -> argparse.Namespace:
    ap = ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument(
        "--corpus", help="text file or folder with train/valid/test.txt (default: world)"
    )
    add_out_args(ap)
    ap.add_argument("--seed", type=seed_arg, default=0)
    ap.add_argument("--epochs", type=int, default=3)
    ap.add_argument("--dim", type=int, default=64, help="D: input embedding size (not --onehot)")
    ap.add_argument("--hidden", type=int, default=128, help="H: hidden (context) units")
    ap.add_argument("--onehot", action="store_true", help="one-hot input, as in Elman (1990)")
    ap.add_argument(
        "--cell",
        choices=sorted(CELLS),
        default="elman",
        help="the recurrence: Elman's tanh cell, LSTM or GRU (minilm/layers/recurrent.py)",
    )
    ap.add_argument(
        "--dropout",
        type=finite_float,
        default=0.0,
        help="on x_t and the output's h_t (not h_t-1 -> h_t)",
    )
    ap.add_argument("--tie", action="store_true", help="tie the output weights: W_hy = C^T")
    ap.add_argument("--bptt", type=int, default=16, help="T: steps per truncated-BPTT window")
    ap.add_argument("--batch-size", type=int, default=32, help="N: parallel streams")
    ap.add_argument(
        "--lr", type=finite_float, default=5e-3, help="Adam learning rate (decayed linearly)"
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
    for name in ("epochs", "dim", "hidden", "bptt", "batch_size", "min_count", "max_vocab"):
        if getattr(args, name) < 1:
            flag = "--" + name.replace("_", "-")
            raise MinilmError(f"{flag} must be >= 1, got {getattr(args, name)}")
    if not args.lr > 0:
        raise MinilmError(f"--lr must be > 0, got {args.lr}")
    if not 0 <= args.dropout < 1:
        raise MinilmError(f"--dropout must be in [0, 1), got {args.dropout}")
    if args.tie and (args.onehot or args.dim != args.hidden):
        raise MinilmError(
            f"--tie needs --dim == --hidden and no --onehot, got --dim {args.dim} "
            f"--hidden {args.hidden}{' --onehot' if args.onehot else ''}"
        )
    if args.sample < 0 or args.classes < 0:
        raise MinilmError("--sample and --classes must be >= 0")
    return args


def categories_file(paths: dict[str, Path]) -> Path | None:
    """The ground-truth categories.tsv beside the training text, if the corpus has one."""
    path = paths["train"].parent / "categories.tsv"
    return path if path.is_file() else None


def main() -> None:
    args = parse_args()
    apply_threads(args.threads)
    out = claim_out_dir(args.out, "train_srn.py", args.force)
    corpus = load_corpus(args.corpus, args.min_count, args.max_vocab, specials=SPECIALS)
    train_split, V = corpus.splits["train"], len(corpus.vocab)
    counts = target_counts(train_split.ids, train_split.offsets, corpus.vocab.eos, V)
    bounds = output_bounds(args.output, counts, args.classes)
    output = "class" if bounds else "full"
    cfg = srn.Config(
        V, args.dim, args.hidden, args.onehot, output, bounds, args.tie, cell=args.cell
    )
    params = srn.init_params(cfg, np.random.default_rng(args.seed))
    params, history, metrics = fit(args, out, corpus, params, bounds)
    metrics |= held_out_metrics(corpus, params, bounds, args.cell)
    means, elman_metrics = elman_analysis(corpus, params, out, args.cell)
    metrics |= elman_metrics
    if args.sample:
        write_samples(args, corpus.vocab, params, bounds, out)
    config = {"model": "srn", **vars(args), "class_bounds": list(bounds)}
    vocab = corpus.vocab
    write_run(out, vocab.itos, means, params, vocab, metrics, history, config, title="SRN")
    print_summary(history, metrics, out)


def split_perplexity(
    stream: TokenStream, eos: int, params: dict, bounds: tuple, cell: str = "elman"
) -> float:
    """Perplexity of the model over every target of one split, read as one long sequence."""
    inputs, targets = next_word_pairs(stream.ids, stream.offsets, eos)
    nll = srn.nll_sum(params, inputs, targets, bounds=bounds, cell=cell)
    return perplexity(nll, targets.size)


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
        desc="srn",
    )


def fit(
    args: argparse.Namespace, out: Path, corpus: Corpus, params: dict, bounds: tuple
) -> tuple[dict, History, dict]:
    """Train with progress; return the parameters of the best valid epoch, history, metrics."""
    splits, eos = corpus.splits, corpus.vocab.eos
    # The carried hidden state and the best parameters so far: checkpointed by the loop.
    state: dict[str, np.ndarray] = {"best_valid": np.array(np.inf)}

    def on_epoch_end(epoch: int, params: dict) -> dict:
        if "valid" not in splits:
            return {}
        ppl = split_perplexity(splits["valid"], eos, params, bounds, args.cell)
        if ppl < state["best_valid"]:
            state["best_valid"] = np.array(ppl)
            state.update({f"best/{k}": v.copy() for k, v in params.items()})
        return {"valid_perplexity": ppl}

    batches = StreamBatches(splits["train"], args.batch_size, args.bptt, args.seed, eos_id=eos)
    if args.dropout > 0:  # each batch carries its dropout seed: resume draws the same masks
        batches = DropoutSeeds(batches, args.seed)
    cpu_start = time.process_time()
    loss_fn = functools.partial(
        srn.loss_and_grads, state=state, bounds=bounds, dropout=args.dropout, cell=args.cell
    )
    history = train(
        loss_fn,
        params,
        batches,
        Adam(lr=args.lr),
        loop_config(args, out),
        state=state,
        on_epoch_end=on_epoch_end,
    )
    train_cpu_seconds = time.process_time() - cpu_start  # includes the epoch-end evaluations
    if any(k.startswith("best/") for k in state):  # keep the epoch with the best valid perplexity
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


def held_out_metrics(corpus: Corpus, params: dict, bounds: tuple, cell: str = "elman") -> dict:
    """Test perplexity and the Kneser-Ney baselines on the same targets (if there is a test)."""
    splits, vocab = corpus.splits, corpus.vocab
    if "test" not in splits:
        return {}
    ppl = split_perplexity(splits["test"], vocab.eos, params, bounds, cell)
    found = {"test_perplexity": ppl}
    return found | kneser_ney_baselines(
        (splits["train"].ids, splits["train"].offsets),
        (splits["test"].ids, splits["test"].offsets),
        len(vocab),
        vocab.bos,
        vocab.eos,
        found["test_perplexity"],
    )


def elman_analysis(
    corpus: Corpus, params: dict, out: Path, cell: str = "elman"
) -> tuple[np.ndarray, dict]:
    """The mean hidden state of every word over the training text (V, H), with its category
    scores; writes input_vectors.txt and dendrogram.png."""
    vocab = corpus.vocab
    train_split = corpus.splits["train"]
    inputs, _ = next_word_pairs(train_split.ids, train_split.offsets, vocab.eos)
    means, counts = srn.mean_hidden_states(params, inputs, len(vocab), cell=cell)
    KeyedVectors(vocab.itos, srn.input_vectors(params)).save_text(out / "input_vectors.txt")
    categories = categories_file(corpus.paths)
    found: dict = {}
    labels: dict[str, str] = {}
    if categories is not None:
        hidden_kv = KeyedVectors(vocab.itos, means)
        found = category_metrics(hidden_kv, categories)
        words, cats = read_categories(categories)
        labels = dict(zip(words, cats, strict=True))
    plot_elman_dendrogram(vocab.itos, means, counts, labels, out / "dendrogram.png")
    return means, found


def category_metrics(kv: KeyedVectors, categories: Path) -> dict:
    """Category purity (fine, coarse if the file has it, k = 1), its ceiling, R-precision."""
    found = na.measure({}, "category_purity", lambda: category_purity(kv, categories, level="fine"))
    if found["category_purity"] is None:
        return found  # too few of its words are known: n/a, with why (minilm/na.py)
    try:
        found["coarse_category_purity"] = category_purity(kv, categories, level="coarse")
    except MinilmError:
        pass  # this categories file has a single level
    words, cats = read_categories(categories)
    # With k = 5, a word of a category of size s can score at most min(s - 1, 5) / 5:
    # Elman's categories hold 1-4 words, so the reachable maximum is far below 1.
    found["category_purity_ceiling"] = purity_ceiling(cats, kv, words)
    found["category_purity_k1"] = category_purity(kv, categories, k=1, level="fine")
    # ... so also score each word on as many neighbours as it has mates (at most 5)
    found["category_r_precision"] = category_r_precision(kv, categories, level="fine")
    return found


def write_samples(
    args: argparse.Namespace, vocab: Vocab, params: dict, bounds: tuple, out: Path
) -> None:
    """Generate --sample sentences after </s> into samples.txt and print them."""
    rng = np.random.default_rng(args.seed)
    eos = vocab.eos
    draws = [srn.sample(params, rng, eos, 40, eos, bounds, args.cell) for _ in range(args.sample)]
    sentences = [" ".join(vocab.itos[i] for i in ids if i != eos) for ids in draws]
    write_text(out / "samples.txt", "\n".join(sentences) + "\n")
    print("\n".join(sentences))


def print_summary(history: History, metrics: dict, out: Path) -> None:
    """One line: training time, the perplexities and the category purities found."""
    summary = [f"srn: {history.train_seconds:.0f}s"]
    for key in SUMMARY_KEYS:
        if key in metrics:
            summary.append(f"{key.replace('_perplexity', '')} ppl {metrics[key]:.3f}")
    for key in ("category_purity", "coarse_category_purity"):
        if key in metrics:
            summary.append(f"{key} {na.show_key(metrics, key)}")
    print("  ".join(summary) + f"  -> {out}")


def purity_ceiling(cats: list[str], kv: KeyedVectors, words: list[str], k: int = 5) -> float:
    """The best category_purity any vectors could reach on these categories (k neighbours)."""
    present = [c for w, c in zip(words, cats, strict=True) if w in kv]
    sizes = {c: present.count(c) for c in set(present)}
    k = min(k, len(present) - 1)
    return float(np.mean([min(sizes[c] - 1, k) / k for c in present]))


def plot_elman_dendrogram(
    itos: list[str], means: np.ndarray, counts: np.ndarray, labels: dict[str, str], path: Path
) -> None:
    """Cluster the mean hidden states of the categorised words (else the most frequent ones)."""
    candidates = [i for i, w in enumerate(itos) if w in labels] if labels else []
    if not candidates:
        candidates = [i for i, w in enumerate(itos) if not w.startswith("<")]
    candidates = [i for i in candidates if counts[i] > 0]
    chosen = sorted(candidates, key=lambda i: -counts[i])[:MAX_DENDROGRAM_WORDS]
    if len(chosen) < 2:
        return
    Z = linkage(means[chosen], method="average", metric="cosine")
    words = [itos[i] for i in chosen]
    cats = [labels[w] for w in words] if labels else None
    plot_dendrogram(
        Z,
        words,
        path,
        title="SRN mean hidden states (average linkage)",
        label_categories=cats,
    )


if __name__ == "__main__":
    run_cli(main)
