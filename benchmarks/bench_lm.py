"""One training step (forward + backward + Adam) of the NPLM and the SRN, NumPy vs PyTorch CPU.

Reference sizes (issue 4), float32:
    NPLM  V=10000, n-1=4, m=64, h=256, batch 256, direct connections W
    SRN   V=10000, embedding 64, hidden 256, batch 32, T=32

Each thread count runs in its own subprocess with OMP/OPENBLAS/MKL_NUM_THREADS set before
NumPy is imported (BLAS reads them once, at load time). A step is timed `--steps` times after
`--warmup` untimed steps; the median is reported. PyTorch, when importable, runs the same
architecture in the same subprocess, so both see the same machine state; the ratio is
NumPy time / PyTorch time (below 1.0: NumPy is faster). The subprocess first calls
minilm.train.keep_freed_memory(), as training does, so freed temporaries are reused rather
than page-faulted in again every step (see benchmarks/bench_transformer.py).

    python benchmarks/bench_lm.py                  # 1 and 2 threads, table + ratios
    python benchmarks/bench_lm.py --profile nplm   # where the NumPy step's time goes
"""

from __future__ import annotations

import argparse
import cProfile
import json
import os
import pstats
import subprocess
import sys
import time

NPLM = dict(V=10000, context=4, dim=64, hidden=256, batch=256)
SRN = dict(V=10000, dim=64, hidden=256, batch=32, T=32)


def numpy_steps(model: str, seed: int = 0):
    """Return a zero-argument function doing one full NumPy training step."""
    import numpy as np

    from minilm.models import nplm, srn
    from minilm.optim import Adam

    rng = np.random.default_rng(seed)
    if model == "nplm":
        s = NPLM
        cfg = nplm.Config(s["V"], s["context"], s["dim"], s["hidden"], direct=True)
        params = nplm.init_params(cfg, rng)
        batch = {
            "context": rng.integers(0, s["V"], size=(s["batch"], s["context"])),
            "target": rng.integers(0, s["V"], size=s["batch"]),
        }
        opt = Adam(lr=1e-3)

        def step():
            _, grads = nplm.loss_and_grads(params, batch)
            opt.step(params, grads)

    else:
        s = SRN
        cfg = srn.Config(s["V"], s["dim"], s["hidden"])
        params = srn.init_params(cfg, rng)
        batch = {
            k: rng.integers(0, s["V"], size=(s["batch"], s["T"])) for k in ("inputs", "targets")
        }
        opt = Adam(lr=1e-3)
        state: dict = {}

        def step():
            _, grads = srn.loss_and_grads(params, batch, state)
            opt.step(params, grads)

    return step


def torch_steps(model: str, seed: int = 0):
    """The same architecture and step in PyTorch (dense embedding gradient, torch's Adam)."""
    import torch
    from torch import nn

    torch.manual_seed(seed)
    g = torch.Generator().manual_seed(seed)
    if model == "nplm":
        s = NPLM
        V, n1, m, h, N = s["V"], s["context"], s["dim"], s["hidden"], s["batch"]

        class NPLMTorch(nn.Module):
            def __init__(self):
                super().__init__()
                self.C = nn.Embedding(V, m)
                self.H = nn.Linear(n1 * m, h)
                self.U = nn.Linear(h, V)
                self.W = nn.Linear(n1 * m, V, bias=False)

            def forward(self, ctx):
                x = self.C(ctx).reshape(ctx.shape[0], -1)
                return self.U(torch.tanh(self.H(x))) + self.W(x)

        net = NPLMTorch()
        ctx = torch.randint(0, V, (N, n1), generator=g)
        tgt = torch.randint(0, V, (N,), generator=g)
        opt = torch.optim.Adam(net.parameters(), lr=1e-3)

        def step():
            opt.zero_grad(set_to_none=True)
            nn.functional.cross_entropy(net(ctx), tgt).backward()
            opt.step()

    else:
        s = SRN
        V, D, H, N, T = s["V"], s["dim"], s["hidden"], s["batch"], s["T"]
        emb, rnn, out = nn.Embedding(V, D), nn.RNN(D, H, batch_first=True), nn.Linear(H, V)
        params = [*emb.parameters(), *rnn.parameters(), *out.parameters()]
        inputs = torch.randint(0, V, (N, T), generator=g)
        targets = torch.randint(0, V, (N, T), generator=g)
        opt = torch.optim.Adam(params, lr=1e-3)
        state = {"h": torch.zeros(1, N, H)}

        def step():
            opt.zero_grad(set_to_none=True)
            hs, h_last = rnn(emb(inputs), state["h"])
            state["h"] = h_last.detach()  # truncated BPTT: carried, gradient cut
            loss = nn.functional.cross_entropy(out(hs).reshape(N * T, V), targets.reshape(-1))
            loss.backward()
            opt.step()

    return step


def median_seconds(step, steps: int, warmup: int) -> float:
    for _ in range(warmup):
        step()
    times = []
    for _ in range(steps):
        t0 = time.perf_counter()
        step()
        times.append(time.perf_counter() - t0)
    times.sort()
    return times[len(times) // 2]


def worker(threads: int, steps: int, warmup: int) -> dict:
    """Runs inside a subprocess whose BLAS thread count was fixed by the environment."""
    from minilm.train import keep_freed_memory

    keep_freed_memory()  # as minilm.train.train() does
    result = {"threads": threads}
    try:
        import torch

        torch.set_num_threads(threads)
        have_torch = True
    except ImportError:
        have_torch = False
    for model in ("nplm", "srn"):
        result[f"{model}_numpy"] = median_seconds(numpy_steps(model), steps, warmup)
        if have_torch:
            result[f"{model}_torch"] = median_seconds(torch_steps(model), steps, warmup)
    return result


def run_subprocess(threads: int, steps: int, warmup: int) -> dict:
    env = dict(os.environ)
    for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        env[var] = str(threads)
    cmd = [sys.executable, __file__, "--worker", str(threads)]
    cmd += ["--steps", str(steps), "--warmup", str(warmup)]
    out = subprocess.run(cmd, env=env, check=True, capture_output=True, text=True).stdout
    return json.loads(out.strip().splitlines()[-1])


def profile(model: str, steps: int) -> None:
    step = numpy_steps(model)
    step()
    prof = cProfile.Profile()
    prof.enable()
    for _ in range(steps):
        step()
    prof.disable()
    pstats.Stats(prof).sort_stats("tottime").print_stats(15)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--steps", type=int, default=20, help="timed steps (median reported)")
    ap.add_argument("--warmup", type=int, default=3, help="untimed steps first")
    ap.add_argument("--threads", type=int, nargs="+", default=[1, 2])
    ap.add_argument("--profile", choices=["nplm", "srn"], help="cProfile the NumPy step")
    ap.add_argument("--json", help="also write the results to this file")
    ap.add_argument("--worker", type=int, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.worker is not None:
        print(json.dumps(worker(args.worker, args.steps, args.warmup)))
        return
    if args.profile:
        profile(args.profile, args.steps)
        return
    rows = [run_subprocess(t, args.steps, args.warmup) for t in args.threads]
    print(f"median of {args.steps} steps, float32, forward + backward + Adam")
    print(f"{'model':6} {'threads':>7} {'numpy ms':>9} {'torch ms':>9} {'numpy/torch':>11}")
    for r in rows:
        for model in ("nplm", "srn"):
            np_ms = 1e3 * r[f"{model}_numpy"]
            if f"{model}_torch" in r:
                t_ms = 1e3 * r[f"{model}_torch"]
                r[f"{model}_ratio"] = np_ms / t_ms
                print(f"{model:6} {r['threads']:>7} {np_ms:9.1f} {t_ms:9.1f} {np_ms / t_ms:11.2f}")
            else:
                print(f"{model:6} {r['threads']:>7} {np_ms:9.1f} {'-':>9} {'-':>11}")
    if args.json:
        from minilm.io import write_json

        write_json(args.json, {"nplm": NPLM, "srn": SRN, "results": rows})


if __name__ == "__main__":
    main()
