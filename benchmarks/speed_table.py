"""One speed table: minilm against what a user would pick instead, measured side by side in one run.

Issue 27, item 3. Rows:
- word2vec on real text (benchmarks/bench_real_text.py's own run_minilm / run_gensim, the
  same hyperparameters and token lists): skip-gram and CBOW with negative sampling against
  gensim `workers=1`, and the hierarchical softmax against gensim `hs=1` once
  bench_real_text.py has `--hs`. Ratio: minilm's tokens per CPU-second / gensim's (goal >= 0.8,
  HS >= 0.5).
- one language-model training step (forward + backward + Adam) at the README's real-text
  recipe sizes, V = 30000, one thread (benchmarks/bench_lm.py RECIPE): the SRN with the
  class-factored output against torch nn.RNN / nn.LSTM with a full softmax and with
  nn.AdaptiveLogSoftmaxWithLoss; the NPLM likewise; the transformer's masked-LM step against
  the same PyTorch block (benchmarks/bench_transformer.py). Ratio: NumPy CPU-ms per step /
  torch's (goal <= 1.0).

Each group runs in its own subprocess with OMP/OPENBLAS/MKL_NUM_THREADS=1 set before NumPy is
imported (torch.set_num_threads(1) too). Times are CPU time (time.process_time) on both sides,
so other jobs on the machine inflate them less than wall time; within an LM group the steps
are timed in interleaved rounds (NumPy, torch variant 1, ...), median per step. For the NumPy
side, "top op" is the function with the largest own time under cProfile (a few extra steps, or
a short profiled word2vec run on the first 100k tokens) and "% peak" is the step's matmul
FLOPs (counted analytically: forward x 3 for the two backward products) over its CPU time,
against a float32 sgemm (2048^3, one thread) measured in the same run.

    python benchmarks/speed_table.py --corpus /work/real_text --out runs/speed.md
    python benchmarks/speed_table.py --quick       # smoke run: 100k tokens, 1 epoch, 3 steps
    python benchmarks/speed_table.py --corpus /work/real_text --readme benchmarks/README.md

torch and gensim are optional (pip install -e '.[bench]'): a row whose tool is missing says
"skipped: not installed". `--readme` writes the table, with the load it was measured under,
into benchmarks/README.md's measured block. Exit 1 (after printing the table) if a group's
subprocess failed.
"""

from __future__ import annotations

import argparse
import cProfile
import datetime
import json
import os
import pstats
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
QUICK_TOKENS = 100_000  # --quick trains word2vec on this many tokens; also the profiled run
GROUPS = ("peak", "sg", "cbow", "hs", "srn", "nplm", "transformer")


# ---------------------------------------------------------------- inside a worker subprocess


def _cpu_rounds(steps: dict, rounds: int, warmup: int) -> dict[str, float]:
    """Median CPU ms per step of each named step, timed in interleaved rounds."""
    times: dict[str, list[float]] = {name: [] for name in steps}
    for step in steps.values():
        for _ in range(warmup):
            step()
    for _ in range(rounds):
        for name, step in steps.items():
            t = time.process_time()
            step()
            times[name].append(1e3 * (time.process_time() - t))
    return {name: sorted(t)[len(t) // 2] for name, t in times.items()}


def _top_op(run, *args) -> dict:
    """The function with the largest own time while `run(*args)` runs, and its share."""
    prof = cProfile.Profile()
    prof.runcall(run, *args)
    stats = pstats.Stats(prof).stats  # (file, line, name) -> (cc, nc, tottime, cumtime, callers)
    total = sum(v[2] for v in stats.values())
    (file, _, name), top = max(stats.items(), key=lambda kv: kv[1][2])
    where = f"{Path(file).name}:{name}" if file != "~" else name
    return {"op": where, "share": top[2] / total if total else 0.0}


def _repeat(step, n: int):
    def run():
        for _ in range(n):
            step()

    return run


def _peak() -> dict:
    """float32 sgemm GFLOP/s on this thread: the best of a few 2048^3 products, CPU time."""
    import numpy as np

    n = 2048
    a, b = (np.random.default_rng(s).standard_normal((n, n), dtype=np.float32) for s in (0, 1))
    a @ b
    best = min(_timed(lambda: a @ b) for _ in range(5))
    return {"gflops": 2 * n**3 / best / 1e9}


def _timed(fn) -> float:
    t = time.process_time()
    fn()
    return time.process_time() - t


def _torch_or_none():
    try:
        import torch
    except ImportError:
        return None
    torch.set_num_threads(1)
    return torch


def _lm_group(group: str, rounds: int, warmup: int) -> dict:
    """NumPy and torch steps of one model, timed side by side; NumPy's top op and FLOPs."""
    sys.path.insert(0, str(HERE))
    import bench_lm
    import bench_transformer

    from minilm.train import keep_freed_memory

    keep_freed_memory()  # as training does (see bench_transformer.py)
    torch = _torch_or_none()
    numpy_steps, torch_steps = {}, {}
    if group == "transformer":
        numpy_steps["numpy"] = (bench_transformer.numpy_step(), _transformer_flops())
        if torch is not None:
            torch_steps["torch block"] = bench_transformer.torch_step()
    else:
        numpy_steps["numpy class"] = bench_lm.recipe_numpy_step(group)
        if group == "srn":
            numpy_steps["numpy lstm class"] = bench_lm.recipe_numpy_step(group, cell="lstm")
        cells = ("rnn", "lstm") if group == "srn" else ("rnn",)
        for cell in cells if torch is not None else ():
            for output in ("full", "adaptive"):
                name = f"{cell} {output}" if group == "srn" else output
                torch_steps[name] = bench_lm.recipe_torch_step(group, cell, output)
    steps = {k: v[0] for k, v in numpy_steps.items()} | torch_steps
    ms = _cpu_rounds(steps, rounds, warmup)
    result = {"torch": torch is not None, "ms": ms, "numpy": {}}
    for name, (step, flops) in numpy_steps.items():
        top = _top_op(_repeat(step, max(2, rounds // 3)))
        result["numpy"][name] = {"flops": 3 * flops, **top}
    return result


def _transformer_flops() -> int:
    """Forward matmul FLOPs of bench_transformer's step: projections, attention, tied output."""
    import bench_transformer

    s = bench_transformer.SIZE
    N, T, D, F, L = s["batch"], s["T"], s["dim"], s["ffn"], s["layers"]
    masked = int(bench_transformer.make_batch()["loss_mask"].sum())
    per_layer = 2 * N * T * D * (3 * D + D + 2 * F) + 4 * N * T * T * D  # qkv, o, ffn; QK^T, AV
    return L * per_layer + 2 * masked * D * s["V"]


def _head(corpus, n_tokens: int):
    """The corpus with its training split cut to the whole sentences in the first n_tokens."""
    import dataclasses

    import numpy as np

    from minilm.data.corpus import TokenStream

    train = corpus.train
    k = int(np.searchsorted(train.offsets, n_tokens, side="right")) - 1
    cut = TokenStream(train.ids[: train.offsets[k]], train.offsets[: k + 1])
    return dataclasses.replace(corpus, splits={**corpus.splits, "train": cut})


def _w2v_group(group: str, corpus_dir: str, quick: bool) -> dict:
    """minilm's and gensim's word2vec on the same token lists (bench_real_text's functions)."""
    import itertools

    import numpy as np

    sys.path.insert(0, str(HERE))
    import bench_real_text as brt

    from minilm.data.corpus import load_corpus

    try:
        import gensim  # noqa: F401
    except ImportError:
        return {"skipped": "gensim not installed"}
    sys.argv = ["bench_real_text.py", "--corpus", corpus_dir, "--models", group.replace("hs", "sg")]
    sys.argv += (["--hs"] if group == "hs" else []) + (["--epochs", "1"] if quick else [])
    args = brt.parse_args()  # its defaults are the table's: one parser, one protocol
    corpus = load_corpus(brt.real_text.ensure(args.corpus), min_count=args.min_count, specials=())
    if quick:
        corpus = _head(corpus, QUICK_TOKENS)
    stream, cbow = corpus.train, group == "cbow"
    as_words = np.array(corpus.vocab.itos, dtype=object)[stream.ids]
    sentences = [list(as_words[a:b]) for a, b in itertools.pairwise(stream.offsets)]
    mine = brt.run_minilm(corpus, args, cbow)
    theirs = brt.run_gensim(sentences, args, cbow, 0, shuffled=False)
    epochs, args.epochs = args.epochs, 1
    top = _top_op(brt.run_minilm, _head(corpus, QUICK_TOKENS), args, cbow)
    return {
        "minilm": mine["tok_s_cpu"],
        "gensim": theirs["tok_s_cpu"],
        "tokens": int(stream.n_tokens),
        "epochs": epochs,
        **top,
    }


def _versions() -> dict:
    import platform

    import numpy as np

    out = {"numpy": np.__version__, "python": platform.python_version()}
    for name in ("torch", "gensim"):
        try:
            out[name] = __import__(name).__version__
        except ImportError:
            out[name] = "not installed"
    return out


def worker(group: str, corpus: str, quick: bool) -> dict:
    """One group's measurements; runs in a subprocess whose BLAS threads are pinned to 1."""
    rounds, warmup = (3, 1) if quick else (10, 2)
    if group == "peak":
        return _peak() | _versions()
    if group in ("sg", "cbow", "hs"):
        return _w2v_group(group, corpus, quick)
    return _lm_group(group, rounds, warmup)


# ---------------------------------------------------------------- the parent: run, gather, print


def run_group(group: str, corpus: str, quick: bool) -> dict:
    """Run one group in a fresh interpreter with one BLAS thread; its JSON, or its error."""
    env = os.environ | {
        v: "1" for v in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")
    }
    cmd = [sys.executable, __file__, "--worker", group, "--corpus", corpus]
    cmd += ["--quick"] if quick else []
    print(f"speed_table: {group} ...", file=sys.stderr, flush=True)
    t = time.perf_counter()
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True)
    print(f"speed_table: {group} done in {time.perf_counter() - t:.0f} s", file=sys.stderr)
    if proc.returncode != 0:
        lines = proc.stderr.strip().splitlines() or [f"exit {proc.returncode}"]
        return {"error": lines[-1]}
    return json.loads(proc.stdout.strip().splitlines()[-1])


def has_hs_flag() -> bool:
    """Whether bench_real_text.py compares the hierarchical softmax (its --hs flag)."""
    cmd = [sys.executable, str(HERE / "bench_real_text.py"), "--help"]
    return "--hs" in subprocess.run(cmd, capture_output=True, text=True).stdout


W2V_ROWS = (  # group, minilm, what a user would pick instead, goal (speed ratio >= goal)
    ("sg", "skip-gram, negative sampling", "gensim `sg=1`", 0.8),
    ("cbow", "CBOW, negative sampling", "gensim `sg=0, cbow_mean=1`", 0.8),
    ("hs", "skip-gram, `--hs --negative 0`", "gensim `hs=1, negative=0`", 0.5),
)
LM_ROWS = (  # group, NumPy step, torch step, minilm, instead (goal: time ratio <= 1.0)
    ("srn", "numpy class", "rnn full", "SRN, class output", "`nn.RNN` + full softmax"),
    ("srn", "numpy class", "rnn adaptive", "SRN, class output", "`nn.RNN` + adaptive softmax"),
    ("srn", "numpy class", "lstm full", "SRN, class output", "`nn.LSTM` + full softmax"),
    ("srn", "numpy class", "lstm adaptive", "SRN, class output", "`nn.LSTM` + adaptive softmax"),
    (
        "srn",
        "numpy lstm class",
        "lstm adaptive",
        "SRN LSTM cell, class output",
        "`nn.LSTM` + adaptive softmax",
    ),
    ("nplm", "numpy class", "full", "NPLM, class output", "MLP + full softmax"),
    ("nplm", "numpy class", "adaptive", "NPLM, class output", "MLP + adaptive softmax"),
    ("transformer", "numpy", "torch block", "transformer MLM step", "the same PyTorch block"),
)


def _unmeasured(res: dict, tool: str) -> str | None:
    if "error" in res:
        return f"failed: {res['error']}"
    if "skipped" in res:
        return f"skipped: {res['skipped']}"
    if res.get("torch") is False and tool == "torch":
        return "skipped: torch not installed"
    return None


def w2v_row(spec: tuple, res: dict) -> dict:
    group, mine, theirs, goal = spec
    row = {"group": group, "minilm": mine, "instead": theirs + ", workers=1", "goal": f">= {goal}x"}
    if res.get("pending"):
        return row | {"status": "HS: pending (bench_real_text.py --hs)"}
    status = _unmeasured(res, "gensim")
    if status:
        return row | {"status": status}
    ratio = res["minilm"] / res["gensim"]
    row["minilm"] += f": {res['minilm'] / 1e3:,.0f}k tok/CPU-s"
    row["instead"] += f": {res['gensim'] / 1e3:,.0f}k"
    return row | {"ratio": ratio, "met": ratio >= goal, "top_op": _op(res), "peak": None}


def lm_row(spec: tuple, res: dict, peak_gflops: float | None) -> dict:
    group, np_name, torch_name, mine, theirs = spec
    row = {"group": group, "minilm": mine, "instead": theirs, "goal": "<= 1.0x"}
    status = _unmeasured(res, "torch")
    if "ms" in res and np_name in res["ms"]:
        np_ms, info = res["ms"][np_name], res["numpy"][np_name]
        row["minilm"] += f": {np_ms:,.0f} ms"
        row["top_op"] = _op(info)
        if peak_gflops:
            row["peak"] = info["flops"] / (np_ms / 1e3) / (peak_gflops * 1e9)
    if status:
        return row | {"status": status}
    t_ms = res["ms"][torch_name]
    row["instead"] += f": {t_ms:,.0f} ms"
    return row | {"ratio": np_ms / t_ms, "met": np_ms <= t_ms}


def _op(info: dict) -> str:
    """`file:function` or a builtin's dotted name, and its share of the profiled time."""
    import re

    name = info["op"]
    method = re.fullmatch(r"<method '(\w+)' of '([\w.]+)' objects>", name)
    builtin = re.fullmatch(r"<built-in method ([\w.]+)>", name)
    name = f"{method[2]}.{method[1]}" if method else builtin[1] if builtin else name
    return f"`{name}` ({100 * info['share']:.0f}%)"


def verdict(rows: list[dict]) -> str:
    """One sentence per outcome, read off the rows: how many meet their goal, which miss."""
    measured = [r for r in rows if "ratio" in r]
    missed = [r for r in measured if not r["met"]]
    text = f"{len(measured) - len(missed)} of {len(rows)} rows meet their goal"
    if len(measured) < len(rows):
        text += f" ({len(rows) - len(measured)} not measured)"
    if missed:
        names = [
            f"{r['minilm'].split(':')[0]} vs {r['instead'].split(':')[0]} at {r['ratio']:.2f}x "
            f"(goal {r['goal']})"
            for r in missed
        ]
        text += "; missed: " + "; ".join(names)
    return text + "."


def render(rows: list[dict], head: list[str]) -> str:
    lines = [*head, ""]
    lines.append(
        "| minilm | instead | ratio | goal | met | NumPy's top op (own time) | % sgemm peak |"
    )
    lines.append("|---|---|---|---|---|---|---|")
    for r in rows:
        if "ratio" in r:
            ratio, met = f"{r['ratio']:.2f}x", "yes" if r["met"] else "**no**"
        else:
            ratio, met = r["status"], "-"
        peak = f"{100 * r['peak']:.0f}%" if r.get("peak") is not None else "-"
        cells = (r["minilm"], r["instead"], ratio, r["goal"], met, r.get("top_op", "-"), peak)
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def header(results: dict, loads: tuple, args: argparse.Namespace) -> list[str]:
    """What was measured, on what, under which load."""
    sys.path.insert(0, str(HERE))
    import bench_lm
    import bench_transformer

    peak = results["peak"]
    w2v = next((r for g, r in results.items() if g in ("sg", "cbow") and "tokens" in r), None)
    corpus = f"{w2v['tokens']:,} tokens x {w2v['epochs']} epochs" if w2v else "not run"
    (a, b, c), (d, e, f) = loads
    when = datetime.datetime.now().strftime("%Y-%m-%d %H:%M")
    return [
        f"Measured {when}, {os.cpu_count()} cores, load average {a:.2f} {b:.2f} {c:.2f} "
        f"(1/5/15 min) at the start, {d:.2f} {e:.2f} {f:.2f} at the end; CPU time on both "
        "sides, one thread each.",
        f"numpy {peak.get('numpy')}, torch {peak.get('torch')}, gensim {peak.get('gensim')}, "
        f"python {peak.get('python')}; float32 sgemm (2048^3, one thread): "
        f"{peak.get('gflops', float('nan')):.1f} GFLOP/s.",
        f"word2vec on {args.corpus} ({corpus}, bench_real_text.py's defaults): ratio = minilm's "
        "tokens per CPU-second / gensim's.",
        f"LM step (forward + backward + Adam): SRN {bench_lm.RECIPE['srn']}, NPLM "
        f"{bench_lm.RECIPE['nplm']}, adaptive cutoffs {bench_lm.ADAPTIVE_CUTOFFS}, transformer "
        f"{bench_transformer.SIZE}; ratio = NumPy CPU-ms / torch CPU-ms per step "
        f"(median of {3 if args.quick else 10} interleaved rounds).",
    ]


def parse_args() -> argparse.Namespace:
    from minilm.errors import ArgumentParser  # one-line errors, as every script

    ap = ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument(
        "--corpus",
        default="runs/real_text",
        help="real-text corpus folder (built by benchmarks/real_text.py if missing)",
    )
    ap.add_argument("--quick", action="store_true", help="smoke run: 100k tokens, 1 epoch")
    ap.add_argument("--out", help="also write the markdown table to this file (atomically)")
    ap.add_argument("--json", action="store_true", help="print the results as JSON instead")
    ap.add_argument(
        "--readme",
        help="also write the table into this page's speed-table block (benchmarks/README.md)",
    )
    ap.add_argument("--worker", choices=GROUPS, help=argparse.SUPPRESS)
    return ap.parse_args()


def main() -> None:
    args = parse_args()
    if args.worker:
        print(json.dumps(worker(args.worker, args.corpus, args.quick)))
        return
    start = os.getloadavg()
    hs = has_hs_flag()
    results = {
        g: run_group(g, args.corpus, args.quick) if g != "hs" or hs else {"pending": True}
        for g in GROUPS
    }
    loads = (start, os.getloadavg())
    peak = results["peak"].get("gflops")
    rows = [w2v_row(spec, results[spec[0]]) for spec in W2V_ROWS]
    rows += [lm_row(spec, results[spec[0]], peak) for spec in LM_ROWS]
    head = header(results, loads, args)
    text = render(rows, head)
    if args.out:
        from minilm.io import write_text

        write_text(args.out, text)
    if args.readme:
        sys.path.insert(0, str(HERE))
        from readme_blocks import replace_block

        body = "\n".join(["```text", *head, "```", render(rows, []), verdict(rows)])
        replace_block(Path(args.readme), "speed-table", body, "benchmarks/speed_table.py --readme")
    if args.json:
        print(json.dumps({"header": head, "rows": rows, "results": results}, indent=1))
    else:
        print(text, end="")
    failed = [g for g, r in results.items() if "error" in r]
    if failed:
        print(f"error: {', '.join(failed)} failed (see the table)", file=sys.stderr)
        sys.exit(1)


if __name__ == "__main__":
    from minilm.errors import run_cli

    run_cli(main)
