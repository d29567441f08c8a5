"""Elman, LSTM and GRU language models at equal CPU time, against KN-5 and PyTorch's nn.LSTM.

    python benchmarks/bench_rnn_cells.py --corpus /work/real_text --budget 120 --out runs/bench_rnn
    python benchmarks/bench_rnn_cells.py ... --models elman lstm   # some of them (one per process)
    python benchmarks/bench_rnn_cells.py --out runs/bench_rnn --table   # gather the results

Every neural model is minilm/models/srn.py with the same embedding and hidden size (D = H,
tied output weights, class-factored softmax) and one cell swapped (--cell of
scripts/train_srn.py); it trains with Adam on one thread until its CPU time (process time, so
other jobs on the machine do not count) reaches --budget seconds, then its test perplexity is
measured over every target of the test split. torch's nn.LSTM (optional: skipped without torch)
gets the same embedding, hidden size, tied output, data, batches and budget, with a full softmax
(exact too). KN-5 (minilm/models/ngram.py) is scored on the same targets; it has no budget.
Results go to OUT/<model>.json; --table prints the table in markdown.

Measured (--budget 90, H = 128, --max-vocab 10000, N = 32, T = 32, lr 3e-3; the five models run
as five one-thread processes side by side on a 2-core machine at load ~12; CPU time is each
process's own):

    model        test ppl   steps   tokens seen
    elman          117.2     2832     2.90M
    lstm            96.1     1870     1.91M
    gru             96.8     2034     2.08M
    torch_lstm     240.9      379     0.39M    (full softmax over V: ~5x fewer steps)
    kn5            100.4        -     16 CPU-s to fit
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np

from minilm.data.batchers import StreamBatches
from minilm.data.corpus import load_corpus
from minilm.errors import ArgumentParser, run_cli
from minilm.evaluate import perplexity
from minilm.io import ensure_dir, write_text
from minilm.layers.class_softmax import output_bounds
from minilm.models import srn
from minilm.models.ngram import kneser_ney_baselines, next_word_pairs, target_counts
from minilm.optim import Adam, clip_global_norm
from minilm.threads import apply_threads

SPECIALS = ("<unk>", "<bos>", "</s>")
MODELS = ("elman", "lstm", "gru", "torch_lstm", "kn5")


def parse_args() -> argparse.Namespace:
    ap = ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--corpus", default="/work/real_text")
    ap.add_argument("--out", required=True)
    ap.add_argument("--models", nargs="+", choices=MODELS, default=list(MODELS))
    ap.add_argument("--budget", type=float, default=120, help="training CPU-seconds per model")
    ap.add_argument("--hidden", type=int, default=128, help="D = H")
    ap.add_argument("--max-vocab", type=int, default=10000)
    ap.add_argument("--batch-size", type=int, default=32)
    ap.add_argument("--bptt", type=int, default=32)
    ap.add_argument("--lr", type=float, default=3e-3)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--table", action="store_true", help="print the gathered results and stop")
    return ap.parse_args()


def train_minilm(args, corpus, cell: str) -> dict:
    """The SRN with `cell`, trained for --budget CPU-seconds; its test perplexity."""
    train = corpus.splits["train"]
    V, eos = len(corpus.vocab), corpus.vocab.eos
    bounds = output_bounds("class", target_counts(train.ids, train.offsets, eos, V))
    H = args.hidden
    cfg = srn.Config(V, H, H, output="class", class_bounds=bounds, tie=True, cell=cell)
    params = srn.init_params(cfg, np.random.default_rng(args.seed))
    opt, state = Adam(lr=args.lr), {}
    batches = StreamBatches(train, args.batch_size, args.bptt, args.seed, eos_id=eos)
    start, steps, epoch = time.process_time(), 0, 0
    while time.process_time() - start < args.budget:
        for batch in batches.epoch(epoch):
            _, grads = srn.loss_and_grads(params, batch, state, bounds, cell=cell)
            clip_global_norm(grads, 5.0)
            opt.step(params, grads)
            steps += 1
            if time.process_time() - start >= args.budget:
                break
        epoch += 1
    cpu = time.process_time() - start
    test = corpus.splits["test"]
    inputs, targets = next_word_pairs(test.ids, test.offsets, eos)
    nll = srn.nll_sum(params, inputs, targets, bounds=bounds, cell=cell)
    return {
        "test_perplexity": perplexity(nll, targets.size),
        "train_cpu_seconds": cpu,
        "steps": steps,
        "tokens": steps * args.batch_size * args.bptt,
    }


def train_torch(args, corpus) -> dict:
    """nn.LSTM of the same size, data and budget (full softmax, tied), one thread."""
    import torch

    torch.set_num_threads(1)
    torch.manual_seed(args.seed)
    train, V, eos = corpus.splits["train"], len(corpus.vocab), corpus.vocab.eos
    H = args.hidden
    emb = torch.nn.Embedding(V, H)
    lstm = torch.nn.LSTM(H, H, batch_first=True)
    bias = torch.nn.Parameter(torch.zeros(V))
    params = [*emb.parameters(), *lstm.parameters(), bias]
    opt = torch.optim.Adam(params, lr=args.lr)
    batches = StreamBatches(train, args.batch_size, args.bptt, args.seed, eos_id=eos)
    state, start, steps, epoch = None, time.process_time(), 0, 0
    while time.process_time() - start < args.budget:
        for batch in batches.epoch(epoch):
            x = torch.from_numpy(batch["inputs"])
            y = torch.from_numpy(batch["targets"])
            if batch["reset"]:
                state = None
            hs, state = lstm(emb(x), state)
            state = tuple(s.detach() for s in state)  # truncated BPTT: carry, do not backprop
            logits = hs.reshape(-1, H) @ emb.weight.T + bias
            loss = torch.nn.functional.cross_entropy(logits, y.reshape(-1))
            opt.zero_grad()
            loss.backward()
            torch.nn.utils.clip_grad_norm_(params, 5.0)
            opt.step()
            steps += 1
            if time.process_time() - start >= args.budget:
                break
        epoch += 1
    cpu = time.process_time() - start
    test = corpus.splits["test"]
    inputs, targets = next_word_pairs(test.ids, test.offsets, eos)
    nll = _torch_nll(emb, lstm, bias, inputs, targets, H)
    return {
        "test_perplexity": perplexity(nll, targets.size),
        "train_cpu_seconds": cpu,
        "steps": steps,
        "tokens": steps * args.batch_size * args.bptt,
    }


def _torch_nll(emb, lstm, bias, inputs, targets, H, n_streams=64, T=64) -> float:
    """Sum of -ln P over the sequence, in streams and windows as srn.token_nll reads it."""
    import torch

    L = inputs.size
    length = -(-L // n_streams)
    pos = np.arange(n_streams * length).reshape(n_streams, length)
    valid = pos < L
    ids, tg = inputs[np.minimum(pos, L - 1)], targets[np.minimum(pos, L - 1)]
    total, state = 0.0, None
    with torch.no_grad():
        for s in range(0, length, T):
            hs, state = lstm(emb(torch.from_numpy(ids[:, s : s + T])), state)
            lp = torch.log_softmax(hs @ emb.weight.T + bias, dim=-1)
            nll = -lp.gather(-1, torch.from_numpy(tg[:, s : s + T])[..., None])[..., 0]
            total += float(nll.numpy()[valid[:, s : s + T]].astype(np.float64).sum())
    return total


def kn5(corpus) -> dict:
    splits, vocab = corpus.splits, corpus.vocab
    start = time.process_time()
    found = kneser_ney_baselines(
        (splits["train"].ids, splits["train"].offsets),
        (splits["test"].ids, splits["test"].offsets),
        len(vocab),
        vocab.bos,
        vocab.eos,
        1.0,
        orders=(5,),
    )
    return {
        "test_perplexity": found["kn5_test_perplexity"],
        "train_cpu_seconds": time.process_time() - start,
    }


def table(out: Path) -> str:
    rows = [
        "| model | test perplexity | training CPU-s | steps | tokens seen |",
        "|---|---|---|---|---|",
    ]
    for name in MODELS:
        path = out / f"{name}.json"
        if path.exists():
            r = json.loads(path.read_text())
            rows.append(
                f"| {name} | {r['test_perplexity']:.1f} | {r['train_cpu_seconds']:.0f} | "
                f"{r.get('steps', '-')} | {r.get('tokens', '-')} |"
            )
    return "\n".join(rows)


def main() -> None:
    args = parse_args()
    out = ensure_dir(args.out)
    if args.table:
        print(table(out))
        return
    apply_threads(1)
    corpus = load_corpus(args.corpus, 1, args.max_vocab, specials=SPECIALS)
    for name in args.models:
        if name == "kn5":
            result = kn5(corpus)
        elif name == "torch_lstm":
            try:
                result = train_torch(args, corpus)
            except ImportError:
                print("torch_lstm: torch is not installed, skipped")
                continue
        else:
            result = train_minilm(args, corpus, name)
        result |= {"budget": args.budget, "hidden": args.hidden, "max_vocab": args.max_vocab}
        write_text(out / f"{name}.json", json.dumps(result, indent=1) + "\n")
        print(name, json.dumps(result))


if __name__ == "__main__":
    run_cli(main)
