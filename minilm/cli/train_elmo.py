"""Train ELMo (Peters et al. 2018): a bidirectional LSTM LM whose states are contextual vectors.

    python -m minilm.cli.train_elmo --out runs/elmo                     # bundled world corpus
    python scripts/train_elmo.py --corpus /work/real_text --out runs/elmo_real --max-vocab 10000

The model is minilm/models/elmo.py: forward and backward LSTM language models sharing the word
embedding and the softmax, trained on windows of --bptt words of the training stream (carried
state is not used: each window starts from zeros in both directions). Writes into --out every
file of README.md (vectors.txt holds the embedding C, ELMo's layer 0); metrics.json holds the
valid/test perplexity (both directions' targets), the KN-5 test perplexity of the forward
direction, and - as for the transformer (minilm/contextual.py) - the anisotropy of every layer
(layer_anisotropy) and, when the corpus has senses.tsv, the nearest-sense-centroid accuracy per
polysemous word of every layer, of the layers' average and of ELMo's scalar mix, its weights
(sense_mix_weights) learned on the train occurrences of those words - the downstream task
(contextual.learn_mix). contextual_vectors.txt holds each word's mean mixed vector over the
train split, as the transformer's holds its mean last-layer vector.
"""

from __future__ import annotations

import argparse
from dataclasses import asdict

import numpy as np

from minilm import contextual, na
from minilm.data.batchers import StreamBatches
from minilm.data.corpus import Corpus, load_corpus
from minilm.data.sentences import word_tokens
from minilm.errors import ArgumentParser, MinilmError, run_cli, seed_arg
from minilm.evaluate import perplexity
from minilm.io import add_out_args, claim_out_dir
from minilm.models import elmo
from minilm.models.ngram import kneser_ney_baselines
from minilm.optim import Adam
from minilm.runs import write_run
from minilm.threads import add_threads_arg, apply_threads
from minilm.train import TrainConfig, train
from minilm.truth import read_senses
from minilm.vectors import KeyedVectors

SPECIALS = ("<unk>", "<pad>", "<mask>", "<bos>", "</s>")  # <pad>: sentences read padded


def parse_args() -> argparse.Namespace:
    ap = ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument(
        "--corpus", help="text file or folder with train/valid/test.txt (default: world)"
    )
    add_out_args(ap)
    ap.add_argument("--seed", type=seed_arg, default=0)
    ap.add_argument("--epochs", type=int, default=2)
    ap.add_argument("--dim", type=int, default=64, help="D: embedding = LSTM hidden size")
    ap.add_argument("--layers", type=int, default=2, help="L: LSTM layers per direction")
    ap.add_argument("--bptt", type=int, default=20, help="T: words per training window")
    ap.add_argument("--batch-size", type=int, default=32, help="N: windows per batch")
    ap.add_argument("--lr", type=float, default=5e-3, help="Adam learning rate (decayed linearly)")
    ap.add_argument("--min-count", type=int, default=1, help="rarer words become <unk>")
    ap.add_argument("--max-vocab", type=int, default=30000, help="keep the most frequent words")
    add_threads_arg(ap, default=1)
    args = ap.parse_args()
    for name in ("epochs", "dim", "layers", "batch_size", "min_count", "max_vocab"):
        if getattr(args, name) < 1:
            raise MinilmError(f"--{name.replace('_', '-')} must be >= 1, got {getattr(args, name)}")
    if args.bptt < 2:
        raise MinilmError(
            f"--bptt must be >= 2 (a window needs a next and a previous word), got {args.bptt}"
        )
    if not args.lr > 0:
        raise MinilmError(f"--lr must be > 0, got {args.lr}")
    return args


def split_perplexity(params: dict, corpus: Corpus, split: str, T: int) -> float:
    """Perplexity over both directions' targets of one split read as a stream of windows."""
    stream = corpus.splits[split]
    ids = np.insert(stream.ids, stream.offsets[1:], corpus.vocab.eos)
    total, count = elmo.nll_sum(params, ids, T)
    return perplexity(total, count)


def evaluate(args, cfg: elmo.Config, params: dict, corpus: Corpus, out) -> dict:
    """Perplexities, KN-5, anisotropy per layer and sense accuracy per word (contextual.py);
    writes contextual_vectors.txt (each word's mean mixed vector over the train split)."""
    splits, vocab = corpus.splits, corpus.vocab
    metrics: dict = {"train_tokens": int(splits["train"].n_tokens)}
    for split in ("valid", "test"):
        if split in splits:
            metrics[f"{split}_perplexity"] = split_perplexity(params, corpus, split, 64)
    tokens = word_tokens(corpus)
    split = "test" if "test" in splits else "train"
    if split == "test":
        metrics |= kneser_ney_baselines(
            (splits["train"].ids, splits["train"].offsets),
            (splits["test"].ids, splits["test"].offsets),
            len(vocab),
            vocab.unk,
            vocab.eos,
            metrics["test_perplexity"],
            orders=(5,),
        )
    found = contextual.layer_anisotropy(
        params, cfg, splits[split], tokens, args.seed, encode=elmo.encode
    )
    metrics["layer_anisotropy"] = found["anisotropy"]
    metrics["layer_anisotropy_centred"] = found["anisotropy_centred"]
    for key, why in (found.get(na.WHY_NA) or {}).items():  # fewer than 2 token vectors
        metrics.setdefault(na.WHY_NA, {})[f"layer_{key}"] = why
    senses = corpus.paths["train"].parent / "senses.tsv"
    if senses.exists():
        metrics |= contextual.sense_metrics(
            params, cfg, corpus, tokens, read_senses(senses), args.seed, elmo.encode, mix=True
        )
    mix = metrics.get("sense_mix_weights")
    means, counts = contextual.contextual_means(
        params, cfg, splits["train"], tokens, elmo.encode, None if mix is None else np.array(mix)
    )
    seen = np.flatnonzero(counts > 0)
    contextual_kv = KeyedVectors([tokens.names[i] for i in seen], means[seen].astype(np.float32))
    contextual_kv.save_text(out / "contextual_vectors.txt")
    return metrics


def main() -> None:
    args = parse_args()
    apply_threads(args.threads)
    out = claim_out_dir(args.out, "train_elmo.py", args.force)
    corpus = load_corpus(args.corpus, args.min_count, args.max_vocab, specials=SPECIALS)
    V = len(corpus.vocab)
    cfg = elmo.Config(V, args.dim, args.layers)
    params = elmo.init_params(cfg, np.random.default_rng(args.seed))
    batches = StreamBatches(
        corpus.splits["train"], args.batch_size, args.bptt, args.seed, eos_id=corpus.vocab.eos
    )
    loop = TrainConfig(
        epochs=args.epochs,
        lr=args.lr,
        schedule="linear",
        lr_floor=0.05 * args.lr,
        clip=5.0,
        seed=args.seed,
        out_dir=out,
        desc="elmo",
    )
    history = train(elmo.loss_and_grads, params, batches, Adam(lr=args.lr), loop)
    metrics = evaluate(args, cfg, params, corpus, out)
    metrics["train_seconds"] = history.train_seconds
    config = {"model": "elmo", **vars(args), "model_config": asdict(cfg)}
    vocab = corpus.vocab
    write_run(out, vocab.itos, params["C"], params, vocab, metrics, history, config, title="ELMo")
    summary = [f"elmo: {history.train_seconds:.0f}s"]
    for key in ("valid_perplexity", "test_perplexity", "kn5_test_perplexity"):
        if key in metrics:
            summary.append(f"{key.replace('_perplexity', '')} ppl {metrics[key]:.3f}")
    if "sense_accuracy_min" in metrics:
        summary.append(f"sense accuracy (worst word) {na.show_key(metrics, 'sense_accuracy_min')}")
    print("  ".join(summary) + f"  -> {out}")


if __name__ == "__main__":
    run_cli(main)
