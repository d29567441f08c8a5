"""A trained NPLM or SRN, Kneser-Ney 5-gram, and their linear mixture, token by token.

Bengio et al. (2003), section 4, report the NPLM alone and mixed with a trigram:
P(w | h) = lam P_net(w | h) + (1 - lam) P_KN(w | h). Both models predict exactly the same
targets (every word and every </s>, histories within the sentence), so the mixture is a proper
distribution and its perplexity is exact; lam is chosen on valid (grid of 0.05), reported on
test. The run folder's config gives the corpus options (min count, vocabulary cap).

    python benchmarks/lm_interpolation.py runs/nplm-real runs/srn-real --corpus /data/real_text
"""

from __future__ import annotations

import argparse
import json

import numpy as np

from minilm.data.corpus import load_corpus
from minilm.errors import ArgumentParser, MinilmError, positive_int, run_cli
from minilm.models import nplm, srn
from minilm.models.ngram import fit_kneser_ney, ngram_windows, with_eos
from minilm.runs import load_run

SPECIALS = ("<unk>", "<bos>", "</s>")


def model_nll(run, stream, bos: int, eos: int) -> np.ndarray:
    """-ln P_net of every target of a stream (words and </s>), in the stream's order."""
    bounds = run.config.get("class_bounds") or None
    ids, offsets = with_eos(stream.ids, stream.offsets, eos)
    if run.config["model"] == "nplm":
        n1 = int(run.config["context"])
        windows = ngram_windows(ids, offsets, n1 + 1, bos)  # (M, n)
        return nplm.token_nll(run.params, windows[:, :-1], windows[:, -1], bounds=bounds)
    inputs = np.concatenate([[eos], ids[:-1]])  # as scripts/train_srn.py next_word_pairs
    cell = run.config.get("cell", "elman")  # runs from before --cell are Elman's
    return srn.token_nll(run.params, inputs, ids, bounds=bounds, cell=cell)


def check_run(folder: str, run, corpus) -> None:
    """A language-model run of this corpus, with valid and test splits: else one-line error."""
    model = run.config.get("model")
    if model not in ("nplm", "srn"):
        raise MinilmError(
            f"{folder} is a {model or 'unknown'} run; give run folders of train_nplm.py or "
            "train_srn.py"
        )
    missing = [s for s in ("valid", "test") if s not in corpus.splits]
    if missing:
        raise MinilmError(f"--corpus has no {' or '.join(missing)} split; give a corpus folder")
    if run.vocab is not None and len(run.vocab) != len(corpus.vocab):
        raise MinilmError(
            f"{folder} has a vocabulary of {len(run.vocab)} words, --corpus gives "
            f"{len(corpus.vocab)}: give the corpus the run was trained on"
        )


def mixture_perplexity(p_net: np.ndarray, p_kn: np.ndarray, lam: float) -> float:
    """exp(-mean ln(lam p_net + (1 - lam) p_kn)) over the targets."""
    return float(np.exp(-np.mean(np.log(lam * p_net + (1 - lam) * p_kn))))


def main() -> None:
    ap = ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("runs", nargs="+", help="run folders of train_nplm.py / train_srn.py")
    ap.add_argument("--corpus", required=True, help="the corpus the runs were trained on")
    ap.add_argument("--order", type=positive_int, default=5, help="Kneser-Ney order")
    args = ap.parse_args()
    results = {}
    for folder in args.runs:
        run = load_run(folder)
        cfg = run.config
        if "min_count" not in cfg:
            raise MinilmError(f"{folder}: its config has no min_count; not a train_nplm/srn run")
        corpus = load_corpus(args.corpus, cfg["min_count"], cfg.get("max_vocab"), SPECIALS)
        check_run(folder, run, corpus)
        vocab, splits = corpus.vocab, corpus.splits
        V, bos, eos = len(vocab), vocab.bos, vocab.eos
        train = splits["train"]
        kn = fit_kneser_ney(train.ids, train.offsets, V, args.order, bos, eos)
        p = {}
        for split in ("valid", "test"):
            ids, offsets = with_eos(splits[split].ids, splits[split].offsets, eos)
            windows = ngram_windows(ids, offsets, args.order, bos)
            p_kn = kn.prob(windows[:, :-1], windows[:, -1])
            p_net = np.exp(-model_nll(run, splits[split], bos, eos))
            p[split] = (p_net, p_kn)
        grid = np.linspace(0, 1, 21)
        lam = float(grid[np.argmin([mixture_perplexity(*p["valid"], g) for g in grid])])
        results[folder] = {
            "model": cfg["model"],
            "vocab_size": V,
            f"kn{args.order}_test_perplexity": mixture_perplexity(*p["test"], 0.0),
            "test_perplexity": mixture_perplexity(*p["test"], 1.0),
            "mixture_weight": lam,
            "mixture_test_perplexity": mixture_perplexity(*p["test"], lam),
        }
        print(json.dumps({folder: results[folder]}), flush=True)


if __name__ == "__main__":
    run_cli(main)
