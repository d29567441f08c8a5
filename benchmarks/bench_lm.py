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
    python benchmarks/bench_lm.py --class-output   # full vs class-factored softmax, V=30000

--class-output times the NumPy steps (1 BLAS thread: set OPENBLAS_NUM_THREADS=1) of the NPLM
and the SRN with the full softmax and with the class-factored output
(minilm/layers/class_softmax.py) at a real vocabulary: V=30000, sqrt(V) classes of equal mass
under Zipf-distributed targets. CPU time (time.process_time) per step, so a loaded machine
does not inflate it; tokens/s = targets per step / CPU seconds per step.
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
REAL_V = 30000  # --class-output: a real vocabulary (train_nplm/train_srn default --max-vocab)


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


def class_output_steps(model: str, output: str, seed: int = 0):
    """(one NumPy training step at V=REAL_V, targets per step) for the full or class output."""
    import numpy as np

    from minilm.layers.class_softmax import frequency_classes
    from minilm.models import nplm, srn
    from minilm.optim import Adam

    rng = np.random.default_rng(seed)
    V = REAL_V
    zipf = 1.0 / np.arange(1, V + 1)  # word i has probability ~ 1/(i+1): ids sorted by frequency
    zipf /= zipf.sum()
    bounds = tuple(frequency_classes(zipf * 1e9, round(np.sqrt(V))).tolist())
    if output == "full":
        bounds = ()
    kind = "class" if bounds else "full"
    opt = Adam(lr=1e-3)
    if model == "nplm":
        cfg = nplm.Config(V, 4, 64, 128, output=kind, class_bounds=bounds)
        params = nplm.init_params(cfg, rng)
        context, target = rng.choice(V, size=(256, 4), p=zipf), rng.choice(V, 256, p=zipf)
        batch = {"context": context, "target": target}

        def step():
            opt.step(params, nplm.loss_and_grads(params, batch, bounds)[1])

        return step, 256
    cfg = srn.Config(V, 64, 128, output=kind, class_bounds=bounds)
    params = srn.init_params(cfg, rng)
    batch = {k: rng.choice(V, size=(32, 16), p=zipf) for k in ("inputs", "targets")}
    state: dict = {}

    def step():
        opt.step(params, srn.loss_and_grads(params, batch, state, bounds)[1])

    return step, 32 * 16


def class_output_table(steps: int, warmup: int) -> list[dict]:
    """CPU seconds per step and tokens/s, full vs class output, NPLM and SRN at V=REAL_V."""
    rows = []
    for model in ("nplm", "srn"):
        for output in ("full", "class"):
            step, n_targets = class_output_steps(model, output)
            for _ in range(warmup):
                step()
            t0 = time.process_time()
            for _ in range(steps):
                step()
            cpu = (time.process_time() - t0) / steps
            rows.append(
                {
                    "model": model,
                    "output": output,
                    "cpu_ms": 1e3 * cpu,
                    "tokens_per_cpu_second": n_targets / cpu,
                }
            )
    return rows


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--steps", type=int, default=20, help="timed steps (median reported)")
    ap.add_argument("--warmup", type=int, default=3, help="untimed steps first")
    ap.add_argument("--threads", type=int, nargs="+", default=[1, 2])
    ap.add_argument("--profile", choices=["nplm", "srn"], help="cProfile the NumPy step")
    ap.add_argument("--class-output", action="store_true", help="full vs class-factored output")
    ap.add_argument("--json", help="also write the results to this file")
    ap.add_argument("--worker", type=int, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.worker is not None:
        print(json.dumps(worker(args.worker, args.steps, args.warmup)))
        return
    if args.profile:
        profile(args.profile, args.steps)
        return
    if args.class_output:
        rows = class_output_table(args.steps, args.warmup)
        print(f"V={REAL_V}, float32, forward + backward + Adam, CPU time per step")
        print(f"{'model':6} {'output':6} {'cpu ms':>8} {'tok/cpu-s':>10}")
        for r in rows:
            tok_s = r["tokens_per_cpu_second"]
            print(f"{r['model']:6} {r['output']:6} {r['cpu_ms']:8.1f} {tok_s:10.0f}")
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
