"""Capstone: Bengio's NPLM built only from the learner's own layers, against Kneser-Ney.

    python -m minilm.exercises capstone nplm            # ~2-3 minutes on one core
    python -m minilm.exercises capstone nplm --quick    # a few seconds (tests)

The model of docs/03-nplm.md (minilm/models/nplm.py, without the direct connections), written
as four layers in numbered steps with the backward mirroring them:

    (1) x = embedding(context, C)        (N, n-1, m) -> (N, (n-1) m)
    (2) a = tanh(affine(x, H, d))        (N, h)
    (3) y = affine(a, U, b)              (N, V)
    (4) loss, dy = softmax_cross_entropy(y, target)

Each layer is the learner's own function when its exercise is passed in the workspace
(`.progress.json`) and its file still passes `check` (re-run here), else the library's
reference; the report says which. It trains with Adam
on the bundled world corpus and reports valid perplexity beside Kneser-Ney 3- and 5-gram
(minilm/models/ngram.py) on the same targets (every word and </s>).
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

from minilm.data.batchers import NgramBatches
from minilm.data.corpus import load_corpus
from minilm.errors import MinilmError
from minilm.exercises import grader, progress, sandbox
from minilm.models.ngram import fit_kneser_ney
from minilm.optim import Adam
from minilm.threads import apply_threads

SPECIALS = ("<unk>", "<bos>", "</s>")
LAYERS = ("embedding", "affine", "tanh", "softmax_cross_entropy")
FULL = {
    "context": 4,
    "dim": 32,
    "hidden": 128,
    "batch": 256,
    "epochs": 2,
    "lr": 3e-3,
    "max_steps": None,
}
QUICK = {**FULL, "dim": 8, "hidden": 16, "epochs": 1, "max_steps": 150}


def layers(workspace: Path) -> tuple[dict[str, Callable], list[str]]:
    """The functions of the four layers (learner's where passed) and one line per layer."""
    functions, said = {}, []
    for name in LAYERS:
        ex = grader.get(name)
        path = workspace / f"{name}.py"
        if progress.passed(workspace, name) and path.is_file():
            if sandbox.check_file(ex, path, grader.new_seed(), quiet=True).passed:
                functions.update(grader.load_learner(path, ex))
                said.append(f"{name:22s} yours ({path})")
                continue
            functions.update(grader.reference(ex))
            said.append(f"{name:22s} reference (yours passed once but fails `check` now)")
        else:
            functions.update(grader.reference(ex))
            said.append(f"{name:22s} reference (not passed in {workspace})")
    return functions, said


def init(V: int, cfg: dict, rng: np.random.Generator) -> dict[str, np.ndarray]:
    n1, m, h = cfg["context"], cfg["dim"], cfg["hidden"]
    return {
        "C": 0.1 * rng.standard_normal((V, m)),
        "H": rng.standard_normal((n1 * m, h)) / np.sqrt(n1 * m),
        "d": np.zeros(h),
        "U": 0.1 * rng.standard_normal((h, V)) / np.sqrt(h),
        "b": np.zeros(V),
    }


def loss_and_grads(f: dict, params: dict, batch: dict) -> tuple[float, dict]:
    """The four layers forward in numbered steps, their backwards in reverse."""
    ctx, target = batch["context"], batch["target"]
    N = ctx.shape[0]
    e, e_cache = f["embedding_forward"](ctx, params["C"])  # (1) (N, n-1, m)
    x = e.reshape(N, -1)  # (N, (n-1) m)
    pre, pre_cache = f["affine_forward"](x, params["H"], params["d"])  # (2) (N, h)
    a, a_cache = f["tanh_forward"](pre)
    y, y_cache = f["affine_forward"](a, params["U"], params["b"])  # (3) (N, V)
    loss, dy = f["softmax_cross_entropy"](y, target)  # (4)
    # backward (3) -> (1)
    da, dU, db = f["affine_backward"](dy, y_cache)
    dpre = f["tanh_backward"](da, a_cache)
    dx, dH, dd = f["affine_backward"](dpre, pre_cache)
    dC = f["embedding_backward"](dx.reshape(e.shape), e_cache)
    return float(loss), {"C": dC, "H": dH, "d": dd, "U": dU, "b": db}


def perplexity(f: dict, params: dict, source: NgramBatches) -> float:
    total = 0.0
    for batch in source.epoch(0):
        logits = _logits(f, params, batch["context"])
        loss, _ = f["softmax_cross_entropy"](logits, batch["target"])
        total += float(loss) * batch["target"].shape[0]
    return float(np.exp(total / source.n_examples))


def _logits(f: dict, params: dict, ctx: np.ndarray) -> np.ndarray:
    e, _ = f["embedding_forward"](ctx, params["C"])
    pre, _ = f["affine_forward"](e.reshape(ctx.shape[0], -1), params["H"], params["d"])
    a, _ = f["tanh_forward"](pre)
    return f["affine_forward"](a, params["U"], params["b"])[0]


def train(f: dict, corpus, cfg: dict, seed: int = 0) -> tuple[dict, list[float]]:
    vocab, V = corpus.vocab, len(corpus.vocab)
    source = NgramBatches(
        corpus.splits["train"], cfg["context"], cfg["batch"], seed, vocab.bos, eos_id=vocab.eos
    )
    params = init(V, cfg, np.random.default_rng(seed))
    opt = Adam(cfg["lr"])
    steps = cfg["epochs"] * source.steps_per_epoch
    if cfg["max_steps"]:
        steps = min(steps, cfg["max_steps"])
    losses, t = [], 0
    for epoch in range(cfg["epochs"]):
        for batch in source.epoch(epoch):
            if t >= steps:
                return params, losses
            loss, grads = loss_and_grads(f, params, batch)
            opt.step(params, grads, lr=cfg["lr"] * (1 - t / steps))  # linear decay to 0
            losses.append(loss)
            t += 1
    return params, losses


def run(workspace: Path, quick: bool) -> list[str]:
    """Train, evaluate, compare; the report's lines."""
    cfg = QUICK if quick else FULL
    start = time.perf_counter()
    f, said = layers(workspace)
    corpus = load_corpus(None, specials=SPECIALS)
    vocab, V = corpus.vocab, len(corpus.vocab)
    params, losses = train(f, corpus, cfg)
    valid = corpus.splits["valid"]
    source = NgramBatches(
        valid, cfg["context"], 1024, 0, vocab.bos, eos_id=vocab.eos, shuffle=False
    )
    ppl = perplexity(f, params, source)
    train_split = corpus.splits["train"]
    kn = {
        n: fit_kneser_ney(
            train_split.ids, train_split.offsets, V, n, vocab.bos, vocab.eos
        ).perplexity(valid.ids, valid.offsets)
        for n in (3, 5)
    }
    seconds = time.perf_counter() - start
    verdict = "beats" if ppl < kn[3] else "does not beat"
    return [
        "capstone nplm: Bengio's NPLM from these layers:",
        *(f"  {s}" for s in said),
        f"  {len(losses)} Adam steps, context {cfg['context']}, dim {cfg['dim']}, hidden "
        f"{cfg['hidden']}; first loss {losses[0]:.3f} (ln V = {np.log(V):.3f}), last "
        f"{losses[-1]:.3f}",
        f"valid perplexity {ppl:.3f}   Kneser-Ney 3-gram {kn[3]:.3f}   5-gram {kn[5]:.3f}",
        f"your NPLM {verdict} KN-3 ({seconds:.0f} s{', --quick' if quick else ''})",
    ]


def main(args: argparse.Namespace) -> None:
    if args.name != "nplm":
        raise MinilmError(f"no capstone {args.name!r}; the capstone is `capstone nplm`")
    apply_threads(args.threads)
    print("\n".join(run(args.workspace, args.quick)))
