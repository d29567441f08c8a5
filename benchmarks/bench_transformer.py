"""One masked-LM training step of the tiny transformer, NumPy vs PyTorch CPU (issue 6).

Reference size, float32: V=5000, D=128, 4 heads, 2 layers, FFN 512, sequences of 64, batch 32,
learned positions, dropout 0.1, tied output projection over the ~15% masked positions only,
AdamW. Sentence lengths are drawn from 32..64, so the key-padding mask does real work.

Each thread count runs in its own subprocess with OMP/OPENBLAS/MKL_NUM_THREADS set before
NumPy is imported (BLAS reads them once, at load time). A step (forward + backward + AdamW) is
timed `--steps` times after `--warmup` untimed steps; the median is reported. PyTorch, when
importable, runs the same architecture in the same subprocess (its own autograd, fused
scaled_dot_product_attention, tanh-GELU), so both see the same machine state; the ratio is
NumPy time / PyTorch time (below 1.0: NumPy is faster). Other processes on the machine make
timings noisy: run it on an idle machine for figures you want to quote.

Fresh memory is a hidden cost. A NumPy step holds ~70 MB of activations and temporaries at its
peak; glibc's malloc by default hands most of it back to the kernel when the step frees it, so
the next step page-faults it in again, 4 KB at a time: ~11,000 faults, 25-35 ms of a 95-105 ms
step on our 2-core VM. Training (minilm.train.train) therefore calls
`minilm.train.keep_freed_memory()` first, and so does this benchmark's subprocess (PyTorch runs
in the same process, under the same malloc settings; its own caching allocator does not need
them). `--glibc-default` leaves malloc alone to show the difference. Column "faults": the NumPy
step's minor page faults.

    python benchmarks/bench_transformer.py              # 1 and 2 threads, table + ratios
    python benchmarks/bench_transformer.py --glibc-default  # malloc returns freed memory
    python benchmarks/bench_transformer.py --profile    # where the NumPy step's time goes
"""

from __future__ import annotations

import argparse
import cProfile
import functools
import json
import os
import pstats
import resource
import subprocess
import sys
import time

from minilm.errors import ArgumentParser, run_cli

SIZE = dict(V=5000, dim=128, heads=4, layers=2, ffn=512, T=64, batch=32, dropout=0.1)


def make_batch(seed: int = 0) -> dict:
    import numpy as np

    rng = np.random.default_rng(seed)
    N, T, V = SIZE["batch"], SIZE["T"], SIZE["V"]
    lengths = rng.integers(T // 2, T + 1, size=N)
    pad_mask = np.arange(T)[None, :] >= lengths[:, None]  # (N, T)
    targets = np.where(pad_mask, 1, rng.integers(3, V, size=(N, T)))
    loss_mask = ~pad_mask & (rng.random((N, T)) < 0.15)
    inputs = np.where(loss_mask, 2, targets)  # id 2 plays <mask>
    return {
        "inputs": inputs,
        "targets": targets,
        "pad_mask": pad_mask,
        "loss_mask": loss_mask,
        "dropout_seed": np.array([0, 0, 0]),
    }


def numpy_step(seed: int = 0):
    """A zero-argument function doing one full NumPy training step."""
    import numpy as np

    from minilm.models import encoder, masked_lm
    from minilm.optim import AdamW

    s = SIZE
    cfg = encoder.Config(s["V"], s["T"], s["dim"], s["layers"], s["heads"], s["ffn"], s["dropout"])
    params = encoder.init_params(cfg, np.random.default_rng(seed))
    batch = make_batch(seed)
    opt = AdamW(lr=1e-4)
    loss_and_grads = functools.partial(masked_lm.loss_and_grads, cfg=cfg)

    def step():
        _, grads = loss_and_grads(params, batch)
        opt.step(params, grads)

    return step


def torch_step(seed: int = 0):
    """The same architecture and step in PyTorch (autograd), or None if torch is missing."""
    try:
        import torch
        import torch.nn.functional as F
    except ImportError:
        return None
    import numpy as np

    s = SIZE
    V, D, H, L, Fw, T = s["V"], s["dim"], s["heads"], s["layers"], s["ffn"], s["T"]
    torch.manual_seed(seed)

    def param(*shape, std=0.02):
        return torch.nn.Parameter(torch.randn(*shape) * std)

    def zeros(*shape):
        return torch.nn.Parameter(torch.zeros(*shape))

    def ones(*shape):
        return torch.nn.Parameter(torch.ones(*shape))

    P = {"E": param(V, D), "P": param(T, D), "lnf_g": ones(D), "lnf_b": zeros(D), "c": zeros(V)}
    for i in range(L):
        P |= {f"{i}.ln1_g": ones(D), f"{i}.ln1_b": zeros(D)}
        P |= {f"{i}.Wqkv": param(D, 3 * D), f"{i}.bqkv": zeros(3 * D)}
        P |= {f"{i}.Wo": param(D, D), f"{i}.bo": zeros(D)}
        P |= {f"{i}.ln2_g": ones(D), f"{i}.ln2_b": zeros(D)}
        P |= {f"{i}.W1": param(D, Fw), f"{i}.b1": zeros(Fw)}
        P |= {f"{i}.W2": param(Fw, D), f"{i}.b2": zeros(D)}
    opt = torch.optim.AdamW(P.values(), lr=1e-4, weight_decay=0.01)
    b = make_batch(seed)
    ids, targets = torch.from_numpy(b["inputs"]), torch.from_numpy(b["targets"])
    loss_mask = torch.from_numpy(b["loss_mask"])
    keep = torch.from_numpy(~b["pad_mask"])[:, None, None, :]  # (N, 1, 1, T) True = attend
    N, p = ids.shape[0], s["dropout"]
    del np

    def step():
        x = F.dropout(P["E"][ids] + P["P"][:T], p)
        for i in range(L):
            a = F.layer_norm(x, (D,), P[f"{i}.ln1_g"], P[f"{i}.ln1_b"])
            qkv = (a @ P[f"{i}.Wqkv"] + P[f"{i}.bqkv"]).view(N, T, 3, H, D // H)
            q, k, v = qkv.permute(2, 0, 3, 1, 4)
            ctx = F.scaled_dot_product_attention(q, k, v, attn_mask=keep)
            att = ctx.transpose(1, 2).reshape(N, T, D) @ P[f"{i}.Wo"] + P[f"{i}.bo"]
            x = x + F.dropout(att, p)
            f = F.layer_norm(x, (D,), P[f"{i}.ln2_g"], P[f"{i}.ln2_b"])
            y = F.gelu(f @ P[f"{i}.W1"] + P[f"{i}.b1"], approximate="tanh") @ P[f"{i}.W2"]
            x = x + F.dropout(y + P[f"{i}.b2"], p)
        h = F.layer_norm(x, (D,), P["lnf_g"], P["lnf_b"])
        logits = h[loss_mask] @ P["E"].T + P["c"]
        loss = F.cross_entropy(logits, targets[loss_mask])
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()

    return step


def median_ms(step, steps: int, warmup: int) -> tuple[float, int]:
    """Median wall time of a step in ms, and the median minor page faults of a step."""
    for _ in range(warmup):
        step()
    times, faults = [], []
    for _ in range(steps):
        f = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
        t = time.perf_counter()
        step()
        times.append(time.perf_counter() - t)
        faults.append(resource.getrusage(resource.RUSAGE_SELF).ru_minflt - f)
    times.sort()
    faults.sort()
    return 1000 * times[len(times) // 2], faults[len(faults) // 2]


def child(threads: int, steps: int, warmup: int, glibc_default: bool) -> None:
    """Runs inside a subprocess whose BLAS thread count was fixed by the environment."""
    if not glibc_default:
        from minilm.train import keep_freed_memory

        keep_freed_memory()  # as minilm.train.train() does
    numpy_ms, faults = median_ms(numpy_step(), steps, warmup)
    result = {"threads": threads, "numpy_ms": numpy_ms, "numpy_faults": faults}
    tstep = torch_step()
    if tstep is not None:
        import torch

        torch.set_num_threads(threads)
        result["torch_ms"] = median_ms(tstep, steps, warmup)[0]
        result["ratio"] = result["numpy_ms"] / result["torch_ms"]
    print(json.dumps(result))


def run_subprocess(threads: int, steps: int, warmup: int, glibc_default: bool) -> dict:
    env = dict(os.environ)
    for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        env[var] = str(threads)
    cmd = [sys.executable, __file__, "--child", str(threads)]
    cmd += ["--steps", str(steps), "--warmup", str(warmup)]
    cmd += ["--glibc-default"] if glibc_default else []
    out = subprocess.run(cmd, env=env, capture_output=True, text=True, check=True).stdout
    return json.loads(out.strip().splitlines()[-1])


def profile(steps: int) -> None:
    from minilm.train import keep_freed_memory

    keep_freed_memory()
    step = numpy_step()
    step()  # warm caches and the optimiser state
    prof = cProfile.Profile()
    prof.enable()
    for _ in range(steps):
        step()
    prof.disable()
    pstats.Stats(prof).sort_stats("tottime").print_stats(18)


def main() -> None:
    ap = ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--threads", type=int, nargs="+", default=[1, 2])
    ap.add_argument("--steps", type=int, default=20, help="timed steps (median reported)")
    ap.add_argument("--warmup", type=int, default=3)
    ap.add_argument("--profile", action="store_true", help="cProfile the NumPy step instead")
    ap.add_argument(
        "--glibc-default",
        action="store_true",
        help="leave malloc returning freed memory (training does not)",
    )
    ap.add_argument("--child", type=int, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child is not None:
        child(args.child, args.steps, args.warmup, args.glibc_default)
        return
    if args.profile:
        profile(args.steps)
        return
    malloc = "glibc's default malloc" if args.glibc_default else "freed memory kept, as in training"
    print(f"transformer MLM step, float32, {malloc}: {SIZE}")
    print(f"{'threads':>7} {'numpy ms':>9} {'torch ms':>9} {'ratio':>6} {'faults':>7}")
    for threads in args.threads:
        r = run_subprocess(threads, args.steps, args.warmup, args.glibc_default)
        torch_ms = f"{r['torch_ms']:9.1f}" if "torch_ms" in r else f"{'-':>9}"
        ratio = f"{r['ratio']:6.2f}" if "ratio" in r else f"{'-':>6}"
        print(f"{threads:>7} {r['numpy_ms']:9.1f} {torch_ms} {ratio} {r['numpy_faults']:>7}")


if __name__ == "__main__":
    run_cli(main)
