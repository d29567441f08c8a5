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

recipe_numpy_step / recipe_torch_step build one step at the README's real-text recipe sizes
(RECIPE, V=30000) for benchmarks/speed_table.py: the class-factored output against torch's
nn.RNN / nn.LSTM (or the NPLM's MLP) with a full softmax or nn.AdaptiveLogSoftmaxWithLoss.
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

from minilm.errors import ArgumentParser, run_cli

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


# One step at the README's real-text recipe sizes (V = 30000; no tying, no dropout on either
# side), for benchmarks/speed_table.py: the lab's class-factored output against what a PyTorch
# user would write instead - nn.RNN / nn.LSTM (or the NPLM's MLP) with a full softmax, or with
# torch.nn.AdaptiveLogSoftmaxWithLoss (Grave et al. 2017) at common cutoffs.
RECIPE = {
    "srn": dict(V=REAL_V, dim=256, hidden=256, batch=64, T=32),  # README: train_srn recipe
    "nplm": dict(V=REAL_V, context=6, dim=128, hidden=128, batch=512),  # README: train_nplm
}
ADAPTIVE_CUTOFFS = (2000, 10000)  # head: 2000 words; tails 8000 and 20000 (div_value 4)


def zipf_ids(shape, seed: int = 0):
    """Token ids with P(i) ~ 1/(i+1), i.e. sorted by frequency, as a real vocabulary is."""
    import numpy as np

    p = 1.0 / np.arange(1, REAL_V + 1)
    return np.random.default_rng(seed).choice(REAL_V, size=shape, p=p / p.sum())


def class_output_flops(H: int, targets, bounds) -> int:
    """Forward multiply-adds x 2 of a class output: every class score, then each target's class."""
    import numpy as np

    sizes = np.diff(bounds)
    cls = np.searchsorted(bounds, np.ravel(targets), side="right") - 1
    return 2 * H * (cls.size * sizes.size + int(sizes[cls].sum()))


def recipe_numpy_step(model: str, output: str = "class", cell: str = "elman"):
    """(one NumPy step at the RECIPE size, forward matmul FLOPs) for the class or full output."""
    import numpy as np

    from minilm.layers.class_softmax import frequency_classes
    from minilm.models import nplm, srn
    from minilm.optim import Adam

    s, rng, opt, V = RECIPE[model], np.random.default_rng(0), Adam(lr=1e-3), REAL_V
    zipf = 1e9 / np.arange(1, V + 1)
    bounds = frequency_classes(zipf, round(np.sqrt(V))) if output == "class" else None
    kw = dict(output=output, class_bounds=tuple(bounds.tolist()) if output == "class" else ())
    if model == "nplm":
        N, n1, m, h = s["batch"], s["context"], s["dim"], s["hidden"]
        params = nplm.init_params(nplm.Config(V, n1, m, h, **kw), rng)
        batch = {"context": zipf_ids((N, n1), 1), "target": zipf_ids(N, 2)}
        flops = 2 * N * n1 * m * h

        def step():
            opt.step(params, nplm.loss_and_grads(params, batch, bounds)[1])

    else:
        N, T, D, h = s["batch"], s["T"], s["dim"], s["hidden"]
        params = srn.init_params(srn.Config(V, D, h, cell=cell, **kw), rng)
        batch = {"inputs": zipf_ids((N, T), 1), "targets": zipf_ids((N, T), 2)}
        flops, state = 2 * N * T * (D + h) * h * (4 if cell == "lstm" else 1), {}

        def step():
            opt.step(params, srn.loss_and_grads(params, batch, state, bounds, cell=cell)[1])

    targets = batch["target" if model == "nplm" else "targets"]
    full = 2 * h * V * np.size(targets)
    return step, flops + (class_output_flops(h, targets, bounds) if bounds is not None else full)


def recipe_torch_step(model: str, cell: str = "rnn", output: str = "full"):
    """The same step in PyTorch: Adam, dense gradients, a full or an adaptive softmax."""
    import torch
    from torch import nn

    torch.manual_seed(0)
    s = RECIPE[model]
    h, V = s["hidden"], REAL_V
    if model == "nplm":
        emb, hidden = nn.Embedding(V, s["dim"]), nn.Linear(s["context"] * s["dim"], h)
        layers, ctx = [emb, hidden], torch.from_numpy(zipf_ids((s["batch"], s["context"]), 1))
        tgt = torch.from_numpy(zipf_ids(s["batch"], 2))

        def features():
            return torch.tanh(hidden(emb(ctx).reshape(ctx.shape[0], -1)))

    else:
        emb = nn.Embedding(V, s["dim"])
        rnn = (nn.RNN if cell == "rnn" else nn.LSTM)(s["dim"], h, batch_first=True)
        layers, state = [emb, rnn], {"h": None}
        inputs = torch.from_numpy(zipf_ids((s["batch"], s["T"]), 1))
        tgt = torch.from_numpy(zipf_ids((s["batch"], s["T"]), 2)).reshape(-1)

        def features():
            hs, last = rnn(emb(inputs), state["h"])
            # truncated BPTT: the state is carried, its gradient cut
            state["h"] = tuple(x.detach() for x in last) if cell == "lstm" else last.detach()
            return hs.reshape(-1, h)

    if output == "full":
        head = nn.Linear(h, V)

        def loss_of(z):
            return nn.functional.cross_entropy(head(z), tgt)

    else:
        head = nn.AdaptiveLogSoftmaxWithLoss(h, V, cutoffs=list(ADAPTIVE_CUTOFFS))

        def loss_of(z):
            return head(z, tgt).loss

    opt = torch.optim.Adam([p for m in (*layers, head) for p in m.parameters()], lr=1e-3)

    def step():
        opt.zero_grad(set_to_none=True)
        loss_of(features()).backward()
        opt.step()

    return step


def main() -> None:
    ap = ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
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
    run_cli(main)
