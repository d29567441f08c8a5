"""The one shared training loop: every model trains through `train()`.

A model brings two things (README.md): `loss_and_grads(params, batch) -> (loss, grads)` and a
`BatchSource` of batches. The loop is, at heart,

    for epoch in range(cfg.epochs):
        for batch in batches.epoch(epoch):
            loss, grads = loss_and_grads(params, batch)        # forward + backward
            clip_global_norm(grads, cfg.clip)                  # optional
            optimizer.step(params, grads, lr=schedule(step))   # in place
        on_epoch_end(epoch, params)                            # e.g. valid perplexity

and around it: a progress bar (smoothed loss, tokens/s, ETA), probes that print nearest
neighbours now and then, checkpoints, resume, a divergence guard and Ctrl-C handling.

Checkpoints. `OUT/checkpoint.npz` is written atomically (temp file + rename) every
`checkpoint_every` steps, at the end, when `stop_after` is reached and on Ctrl-C. It holds

    model, optimizer        names (strings): resume refuses another model's checkpoint
    p/<name>                every parameter
    opt/<key>               the optimiser's state_dict ("opt/step", "opt/m/W", ...)
    s/<key>                 the `state` dict the loss function carries (e.g. an RNN's hidden state)
    epoch, step             data position: the next batch is batch `step` of epoch `epoch`
    global_step, steps_per_epoch, seed, blas_threads (a resume with another count is warned)
    history/losses, history/metrics (JSON), history/train_seconds, history/tokens

Batch sources are deterministic given their own seed and the epoch number, so the data
position is all the "RNG state" the data needs: resume replays epoch `epoch` and skips its first
`step` batches. With the same seed, an interrupted and resumed run is bit-identical to an
uninterrupted one.

Outputs. Once its inputs are checked and before its first step, a run with an output folder
removes what an earlier run left there (minilm.runs.start_run: temporary files of a killed
write, and the earlier vectors/model/metrics), so that a run killed half-way never sits beside
another run's finished-looking outputs. checkpoint.npz is kept until this run writes its own.

Divergence (minilm/divergence.py). A NaN/inf loss, or one a millionfold the first step's, stops
the run with a one-line `MinilmError` naming the step and suggesting a lower learning rate; so
does a non-finite figure of `on_epoch_end` (a valid perplexity of inf), before the end-of-run
checkpoint. A checkpoint is only ever written with finite parameters, so the last good one
stays loadable.

Memory. `train()` first calls `keep_freed_memory()` (minilm/fast/memory.py): glibc then keeps
the tens of MB a step frees for the next step, instead of returning them to the kernel and
faulting them in again. Speed only: the bytes are the same without it.

Ctrl-C. The first SIGINT is noted and acted on between two steps (never in the middle of an
update): the loop writes a checkpoint and raises `Interrupted`, a `MinilmError` whose one-line
message says how to resume. A second Ctrl-C interrupts at once.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import math
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

import numpy as np
from tqdm import tqdm

from minilm.divergence import check_figures, check_loss
from minilm.errors import EXIT_INTERRUPTED, MinilmError
from minilm.fast.memory import keep_freed_memory
from minilm.io import load_npz, save_npz
from minilm.optim import Optimizer, clip_if_above, constant, linear_decay, warmup_cosine
from minilm.progress import DeferSigint, Progress
from minilm.runs import start_run
from minilm.threads import get_num_threads

CHECKPOINT = "checkpoint.npz"
SCHEDULES = ("constant", "linear", "cosine")

Batch = dict[str, np.ndarray]
LossAndGrads = Callable[[dict[str, np.ndarray], Batch], tuple[float, dict]]


class Interrupted(MinilmError):
    """Training stopped by Ctrl-C after writing a checkpoint; the message says how to resume."""

    exit_code = EXIT_INTERRUPTED


class BatchSource(Protocol):
    """What the loop iterates: `steps_per_epoch` batches per epoch, reproducible per epoch.

    `epoch(e)` must yield the same batches every time it is called with the same `e` (derive
    the epoch's generator from the source's seed and `e`), so that resume can skip to a step.
    A batch is a dict of arrays; an optional int `"n_tokens"` counts tokens for tokens/s.
    """

    steps_per_epoch: int

    def epoch(self, epoch: int) -> Iterator[Batch]: ...


@dataclass
class TrainConfig:
    epochs: int = 1  # passes over the batch source
    lr: float = 1e-3  # learning rate (the peak of the schedule)
    schedule: str = "constant"  # "constant" | "linear" (to lr_floor, word2vec) | "cosine" (warmup)
    lr_floor: float = 0.0  # lowest lr of "linear" and "cosine", reached at the last step
    warmup: int = 0  # steps of linear warmup before the cosine ("cosine" only)
    clip: float = 0.0  # max global gradient norm; 0 = no clipping
    seed: int = 0  # the run's seed; recorded in checkpoints, a resume must use the same one
    log_every: int = 20  # steps between progress-bar postfix updates
    checkpoint_every: int = 0  # steps between checkpoints; 0 = only at the end
    out_dir: str | Path | None = None  # checkpoint folder (OUT/checkpoint.npz); None = none
    resume: bool = False  # continue from OUT/checkpoint.npz
    desc: str = "train"  # progress-bar label
    model: str = ""  # model name stored in the checkpoint ("" = use desc)
    lr_flag: str = "--lr"  # the script's flag for the learning rate, named in divergence errors
    probe_every: int = 0  # steps between probe prints; 0 = at the end of each epoch
    stop_after: int = 0  # stop (with a checkpoint) after this many global steps; 0 = run all.
    # The schedule still spans all epochs, so a later resume continues the same run.
    identity: dict = field(default_factory=dict)  # run_identity(args): flags + corpus fingerprint


# Flags that do not shape the result (where and how it runs), and the few a resume may change.
# Flags that do not change what a run computes: where it writes, how it is resumed or paused
# (--stop-after ends a session at a checkpoint; the resumed run is bit-identical), its threads
# (same bytes: README, Threads) and the corpus path (its content is fingerprinted instead).
NOT_SHAPING = ("out", "force", "resume", "threads", "checkpoint_every", "stop_after", "corpus")
MAY_CHANGE = ("epochs",)


def run_identity(args: object) -> dict:
    """What makes a run this run: every flag that shapes the result (an argparse Namespace or a
    dict) and the SHA-1 of the corpus files, recorded in checkpoints; `--resume` refuses a
    checkpoint whose identity differs, except in MAY_CHANGE."""
    flags = dict(vars(args)) if hasattr(args, "__dict__") else dict(args)  # type: ignore[arg-type]
    identity = {k: v for k, v in flags.items() if k not in NOT_SHAPING}
    identity = json.loads(json.dumps(identity, sort_keys=True, default=str))
    corpus = flags.get("corpus")
    if corpus:
        identity["corpus_sha1"] = _fingerprint(Path(corpus))
    return identity


def _fingerprint(path: Path) -> str:
    files = [path] if path.is_file() else sorted(p for p in path.glob("*.txt*") if p.is_file())
    digest = hashlib.sha1()
    for f in files:
        digest.update(f.name.encode())
        with open(f, "rb") as stream:
            while chunk := stream.read(1 << 20):
                digest.update(chunk)
    return digest.hexdigest()


@dataclass
class History:
    losses: np.ndarray  # (steps,) float64: the training loss of every step, all sessions
    epoch_metrics: list[dict[str, float]] = field(default_factory=list)  # on_epoch_end + "epoch"
    train_seconds: float = 0.0  # time in batching, forward/backward and updates (no eval/ckpt)
    tokens: int = 0  # sum of the batches' "n_tokens"
    tokens_per_second: float = 0.0  # tokens / train_seconds (0 if batches carry no "n_tokens")
    steps_per_epoch: int = 0
    completed: bool = True  # False when `stop_after` ended the run before the last epoch


def train(
    loss_and_grads: LossAndGrads,
    params: dict[str, np.ndarray],
    batches: BatchSource,
    optimizer: Optimizer,
    cfg: TrainConfig,
    *,
    state: dict[str, np.ndarray] | None = None,
    on_epoch_end: Callable[[int, dict[str, np.ndarray]], dict[str, float]] | None = None,
    probe: Callable[[dict[str, np.ndarray]], str] | None = None,
) -> History:
    """Train `params` in place and return the History of the run.

    `state` is the same dict object that `loss_and_grads` reads and writes between steps (an
    SRN's hidden state, say): the loop saves it in checkpoints and refills it in place on resume.
    `on_epoch_end(epoch, params)` returns metrics logged per epoch; `probe(params)` returns text
    printed every `cfg.probe_every` steps (or each epoch end).
    """
    _check_config(cfg)
    keep_freed_memory()
    state = {} if state is None else state
    loop = _Loop(loss_and_grads, params, optimizer, cfg, _steps_per_epoch(batches), state)
    epoch0, skip = loop.begin()
    try:
        with DeferSigint() as sigint:
            for epoch in range(epoch0, cfg.epochs):
                step = skip if epoch == epoch0 else 0
                first = len(loop.losses) - step  # this epoch's first loss (on resume: earlier)
                tick = time.perf_counter()
                for batch in itertools.islice(batches.epoch(epoch), step, None):
                    loop.step(batch, epoch, tick)
                    step += 1
                    if loop.after_step(epoch, step, sigint, probe):
                        return loop.history(completed=False)  # stop_after reached
                    tick = time.perf_counter()  # probes and checkpoints are not training time
                loop.end_epoch(epoch, first, sigint, on_epoch_end, probe)
            loop.save(cfg.epochs, 0)
    finally:
        loop.progress.close()
    return loop.history(completed=True)


def _steps_per_epoch(batches: BatchSource) -> int:
    steps = int(batches.steps_per_epoch)
    if steps <= 0:
        raise MinilmError(
            "no training batches: the corpus is shorter than one batch; "
            "use a bigger corpus or a smaller batch size / window"
        )
    return steps


class _Loop:
    """The state of one training session and the pieces of `train()`'s loop body."""

    def __init__(self, loss_and_grads, params, optimizer, cfg, steps_per_epoch, state) -> None:
        self.loss_and_grads = loss_and_grads
        self.params, self.optimizer, self.cfg = params, optimizer, cfg
        self.total = cfg.epochs * steps_per_epoch
        self.ckpt = _Checkpointer(cfg, steps_per_epoch, params, optimizer, state)
        # What earlier sessions of this run already recorded (replaced on resume).
        self.run = History(losses=np.zeros(0), steps_per_epoch=steps_per_epoch)
        self.losses: list[float] = []
        self.gstep = 0

    def begin(self) -> tuple[int, int]:
        """Load the checkpoint on resume, open the progress bar, clear the output folder.

        Returns where to start: (epoch, batch of that epoch).
        """
        epoch0, skip = 0, 0
        if self.cfg.resume:
            epoch0, skip, self.gstep, self.run = self.ckpt.load()
            self.losses = self.run.losses.tolist()
            if (need := epoch0 + (skip > 0)) > self.cfg.epochs:  # else labelled --epochs N
                done = f"{epoch0} epochs" + (f" and {skip} steps" if skip else "")
                raise MinilmError(
                    f"{self.ckpt.path} holds {done} of training, more than --epochs "
                    f"{self.cfg.epochs}; resume with --epochs {need} or more, or drop --resume"
                )
        self.progress = Progress(self.cfg, self.total, self.gstep)
        out_dir = self.cfg.out_dir
        if out_dir is not None:  # inputs are checked: from here on this run replaces any other
            removed = start_run(out_dir)
            if removed:
                self.progress.write(
                    f"{out_dir}: removed the earlier run's {', '.join(p.name for p in removed)}; "
                    "this run writes its own when it finishes"
                )
        return epoch0, skip

    def lr_at(self, step: int) -> float:
        cfg = self.cfg
        if cfg.schedule == "linear":
            return linear_decay(step, self.total, cfg.lr, cfg.lr_floor)
        if cfg.schedule == "cosine":
            return warmup_cosine(step, self.total, cfg.lr, cfg.warmup, cfg.lr_floor)
        return constant(step, cfg.lr)

    def step(self, batch: Batch, epoch: int, tick: float) -> None:
        """One update: forward + backward, divergence guard, clip, optimiser step, bookkeeping."""
        cfg = self.cfg
        with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
            # an overflow is reported by the guard below as one line, not as NumPy warnings
            loss, grads = self.loss_and_grads(self.params, batch)
        loss = float(loss)
        first = self.losses[0] if self.losses else loss
        check_loss(loss, first, f"at step {self.gstep + 1} (epoch {epoch + 1})", self.advice())
        if cfg.clip > 0:  # clip_global_norm's result, cheaper on the steps it leaves alone
            clip_if_above(grads, cfg.clip)
        lr = self.lr_at(self.gstep)
        with np.errstate(over="ignore", invalid="ignore"):  # params checked at each checkpoint
            self.optimizer.step(self.params, grads, lr=lr)
        self.losses.append(loss)
        self.gstep += 1
        self.run.tokens += int(batch.get("n_tokens", 0))
        self.run.train_seconds += time.perf_counter() - tick
        self.progress.step(self.gstep, loss, lr, self.run)

    def after_step(self, epoch: int, step: int, sigint: DeferSigint, probe) -> bool:
        """Probe, checkpoint, Ctrl-C; True when `stop_after` ends the session here."""
        cfg, gstep = self.cfg, self.gstep
        if probe is not None and cfg.probe_every and gstep % cfg.probe_every == 0:
            self.progress.write(probe(self.params))
        stop = cfg.stop_after > 0 and gstep == cfg.stop_after and gstep < self.total
        due = cfg.checkpoint_every > 0 and gstep % cfg.checkpoint_every == 0
        if due or stop or sigint.requested:
            self.save(epoch, step)
        if sigint.requested:
            raise self.interrupted()
        if stop:
            self.progress.write(f"stopped after step {gstep} (stop_after)")
        return stop

    def end_epoch(self, epoch: int, first: int, sigint: DeferSigint, on_epoch_end, probe) -> None:
        """Evaluate, log the epoch line, probe; Ctrl-C during all that stops at the boundary."""
        metrics = dict(on_epoch_end(epoch, self.params)) if on_epoch_end else {}
        losses = self.losses
        mean_loss = float(np.mean(losses[first:])) if len(losses) > first else math.nan
        check_figures(metrics, f"after epoch {epoch + 1}", self.advice())
        self.run.epoch_metrics.append({"epoch": epoch + 1, **metrics})
        self.progress.write(_epoch_line(epoch, self.cfg.epochs, mean_loss, metrics))
        if probe is not None and not self.cfg.probe_every:
            self.progress.write(probe(self.params))
        if sigint.requested:  # Ctrl-C during the evaluation: stop at the epoch boundary
            self.save(epoch + 1, 0)
            raise self.interrupted()

    def advice(self) -> str:
        return f"try a lower {self.cfg.lr_flag} (now {self.cfg.lr:g}){self.ckpt.kept()}"

    def history(self, completed: bool) -> History:
        run = self.run
        run.losses = np.asarray(self.losses, dtype=np.float64)
        run.tokens_per_second = run.tokens / run.train_seconds if run.train_seconds > 0 else 0.0
        run.completed = completed
        return run

    def save(self, epoch: int, step: int) -> None:
        self.ckpt.save(epoch, step, self.gstep, self.history(completed=False))

    def interrupted(self) -> Interrupted:
        where = (
            f"checkpoint saved in {self.ckpt.path}; run the same command with --resume to continue"
            if self.ckpt.path
            else "no checkpoint written (no --out given)"
        )
        return Interrupted(f"interrupted after step {self.gstep}; {where}")


def _epoch_line(epoch: int, epochs: int, mean_loss: float, metrics: dict[str, float]) -> str:
    parts = [f"epoch {epoch + 1}/{epochs}", f"loss {mean_loss:.4f}"]
    parts += [f"{k} {v:.4g}" if isinstance(v, float) else f"{k} {v}" for k, v in metrics.items()]
    return "  ".join(parts)


def _check_config(cfg: TrainConfig) -> None:
    checks = [
        (cfg.epochs >= 1, f"epochs must be >= 1, got {cfg.epochs}"),
        (cfg.lr > 0, f"{cfg.lr_flag} must be > 0, got {cfg.lr}"),
        (cfg.schedule in SCHEDULES, f"schedule must be one of {SCHEDULES}, got {cfg.schedule!r}"),
        (cfg.lr_floor >= 0, f"lr floor must be >= 0, got {cfg.lr_floor}"),
        (cfg.warmup >= 0, f"warmup must be >= 0, got {cfg.warmup}"),
        (cfg.clip >= 0, f"clip must be >= 0 (0 = off), got {cfg.clip}"),
        (cfg.log_every >= 1, f"log_every must be >= 1, got {cfg.log_every}"),
        (cfg.checkpoint_every >= 0, f"--checkpoint-every must be >= 0, got {cfg.checkpoint_every}"),
        (cfg.probe_every >= 0, f"probe_every must be >= 0, got {cfg.probe_every}"),
        (cfg.stop_after >= 0, f"stop_after must be >= 0, got {cfg.stop_after}"),
    ]
    for ok, message in checks:
        if not ok:
            raise MinilmError(message)


class _Checkpointer:
    """Writes and reads OUT/checkpoint.npz (layout in the module docstring)."""

    def __init__(self, cfg, steps_per_epoch, params, optimizer, state) -> None:
        self.path = Path(cfg.out_dir) / CHECKPOINT if cfg.out_dir is not None else None
        self.model = cfg.model or cfg.desc
        self.seed = int(cfg.seed)
        self.lr_flag = cfg.lr_flag
        self.identity = cfg.identity
        self.steps_per_epoch = steps_per_epoch
        self.params, self.optimizer, self.state = params, optimizer, state
        self.last_step: int | None = None  # global step of the checkpoint on disk, if any

    def kept(self) -> str:
        if self.last_step is None:
            return ""
        return f"; the last good checkpoint (step {self.last_step}) is kept in {self.path}"

    def save(self, epoch: int, step: int, global_step: int, run: History) -> None:
        if self.path is None:
            return
        for name, p in self.params.items():
            if not np.all(np.isfinite(p)):
                raise MinilmError(
                    f"parameter {name} became NaN/inf by step {global_step}: training diverged; "
                    f"try a lower {self.lr_flag}{self.kept()}"
                )
        arrays = {
            "model": np.array(self.model),
            "optimizer": np.array(type(self.optimizer).__name__),
            "epoch": np.array(epoch, dtype=np.int64),
            "step": np.array(step, dtype=np.int64),
            "global_step": np.array(global_step, dtype=np.int64),
            "steps_per_epoch": np.array(self.steps_per_epoch, dtype=np.int64),
            "seed": np.array(self.seed, dtype=np.int64),
            "identity": np.array(json.dumps(self.identity, sort_keys=True)),
            "blas_threads": np.array(get_num_threads() or 0, dtype=np.int64),  # 0: unknown
            "history/losses": np.asarray(run.losses, dtype=np.float64),
            "history/metrics": np.array(json.dumps(run.epoch_metrics)),
            "history/train_seconds": np.array(run.train_seconds, dtype=np.float64),
            "history/tokens": np.array(run.tokens, dtype=np.int64),
        }
        arrays |= {f"p/{k}": v for k, v in self.params.items()}
        arrays |= {f"opt/{k}": v for k, v in self.optimizer.state_dict().items()}
        for k, v in self.state.items():
            v = np.asarray(v)
            if v.dtype == object:
                raise MinilmError(f"state['{k}'] is not a numeric array; it cannot be checkpointed")
            arrays[f"s/{k}"] = v
        save_npz(self.path, arrays)
        self.last_step = global_step

    def check_identity(self, ck: dict) -> None:
        """Refuse a checkpoint of another run: other flags or another corpus (docs: DESIGN)."""
        if not self.identity or "identity" not in ck:
            return  # a library run without flags, or a checkpoint older than identities
        try:
            saved = json.loads(str(ck["identity"]))
        except json.JSONDecodeError:
            raise MinilmError(f"{self.path}: unreadable run identity; drop --resume") from None
        diff = _identity_differences(saved, self.identity)
        if diff:
            raise MinilmError(
                f"{self.path} is the checkpoint of another run ({'; '.join(diff[:6])}); resume "
                "with the same flags and corpus (only --epochs may change), or drop --resume"
            )

    def load(self) -> tuple[int, int, int, History]:
        """Restore params, optimiser and state in place; return (epoch, step, global_step, run)."""
        if self.path is None:
            raise MinilmError("--resume needs --out: the folder that holds checkpoint.npz")
        if not self.path.exists():
            raise MinilmError(
                f"--resume: no checkpoint at {self.path}; run without --resume to start afresh"
            )
        ck = load_npz(self.path)
        if "model" not in ck or "global_step" not in ck:
            raise MinilmError(f"{self.path} is not a minilm checkpoint; remove it or drop --resume")
        if str(ck["model"]) != self.model:
            raise MinilmError(
                f"{self.path} is a checkpoint of model '{ck['model']}', not '{self.model}'; "
                "use another --out or drop --resume"
            )
        self.check_identity(ck)
        saved = {k[2:]: v for k, v in ck.items() if k.startswith("p/")}
        expected = {k: (v.shape, v.dtype) for k, v in self.params.items()}
        found = {k: (v.shape, v.dtype) for k, v in saved.items()}
        if found != expected:
            raise MinilmError(
                f"{self.path} holds parameters {_shapes(found)}, this run has {_shapes(expected)} "
                "(different --dim, vocabulary or options?); use another --out or drop --resume"
            )
        for name, value, want in [
            ("optimizer", str(ck["optimizer"]), type(self.optimizer).__name__),
            ("steps per epoch", int(ck["steps_per_epoch"]), self.steps_per_epoch),
            ("seed", int(ck["seed"]), self.seed),
        ]:
            if value != want:
                raise MinilmError(
                    f"{self.path} was written with {name} {value}, this run has {want}; "
                    "resume with the same corpus and options, or drop --resume"
                )
        for k, p in self.params.items():
            p[...] = saved[k]  # in place: closures holding these arrays see the restored values
        self.optimizer.load_state_dict({k[4:]: v for k, v in ck.items() if k.startswith("opt/")})
        self.state.clear()
        self.state.update({k[2:]: v for k, v in ck.items() if k.startswith("s/")})
        self.last_step = int(ck["global_step"])
        saved_threads, threads = int(ck.get("blas_threads", 0)), get_num_threads() or 0
        if saved_threads and threads and saved_threads != threads:
            tqdm.write(
                f"warning: {self.path} was written with {saved_threads} BLAS threads, this run "
                f"uses {threads}: the result will not be bit-identical to an uninterrupted run "
                f"(pass --threads {saved_threads})",
                file=sys.stderr,
            )
        run = History(
            losses=ck["history/losses"],
            epoch_metrics=json.loads(str(ck["history/metrics"])),
            train_seconds=float(ck["history/train_seconds"]),
            tokens=int(ck["history/tokens"]),
            steps_per_epoch=self.steps_per_epoch,
        )
        return int(ck["epoch"]), int(ck["step"]), self.last_step, run


def _identity_differences(saved: dict, now: dict) -> list[str]:
    keys = sorted((set(saved) | set(now)) - set(MAY_CHANGE))
    missing = "(not set)"
    return [
        f"{'--' + k.replace('_', '-') if k != 'corpus_sha1' else 'the corpus'} "
        f"{saved.get(k, missing)} -> {now.get(k, missing)}"
        for k in keys
        if saved.get(k, missing) != now.get(k, missing)
    ]


def _shapes(shapes: dict) -> str:
    return ", ".join(f"{k} {tuple(s)} {d}" for k, (s, d) in sorted(shapes.items()))
