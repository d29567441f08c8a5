"""The training loop's progress display and its Ctrl-C guard (used by minilm/train.py).

`Progress` shows a tqdm bar on a terminal - smoothed loss, tokens/s, learning rate - and
elsewhere (CI logs, the lab's child runs, files) a plain status line with an ETA every 10 s.
`DeferSigint` turns the first Ctrl-C into a flag the loop checks between steps, so a checkpoint
is never written half-way through an update.
"""

from __future__ import annotations

import signal
import sys
import threading
import time
from typing import Any

from tqdm import tqdm


class Progress:
    """A tqdm bar on a terminal; elsewhere (CI logs, files) a plain status line every 10 s."""

    LINE_SECONDS = 10.0

    def __init__(self, cfg: Any, total: int, initial: int) -> None:
        self.cfg, self.total, self.initial = cfg, total, initial
        self.tty = sys.stderr.isatty()
        self.bar = tqdm(
            total=total,
            initial=initial,
            desc=cfg.desc,
            unit="step",
            file=sys.stderr,
            dynamic_ncols=True,
            disable=not self.tty,
        )
        self.ema, self.n = 0.0, 0  # exponential moving average of the loss, steps this session
        self.start = self.last_line = time.perf_counter()

    def step(self, gstep: int, loss: float, lr: float, run: Any) -> None:
        """One step done: `run` (train.History) holds the tokens and seconds so far."""
        # Bias-corrected EMA (as in Adam): without the correction it starts near 0.
        self.n += 1
        self.ema = 0.98 * self.ema + 0.02 * loss
        smoothed = self.ema / (1.0 - 0.98**self.n)
        self.bar.update(1)
        if gstep % self.cfg.log_every and gstep != self.total:
            return
        tok_s = run.tokens / run.train_seconds if run.train_seconds > 0 else 0.0
        if self.tty:
            postfix = {"loss": f"{smoothed:.4f}", "tok/s": f"{tok_s:,.0f}", "lr": f"{lr:.3g}"}
            self.bar.set_postfix(postfix, refresh=False)
            return
        now = time.perf_counter()
        if now - self.last_line >= self.LINE_SECONDS:
            self.last_line = now
            per_step = (now - self.start) / self.n
            eta = (self.total - gstep) * per_step
            self.write(
                f"{self.cfg.desc} step {gstep}/{self.total}  loss {smoothed:.4f}  "
                f"{tok_s:,.0f} tok/s  lr {lr:.3g}  eta {eta:.0f}s"
            )

    def write(self, text: str) -> None:
        tqdm.write(text, file=sys.stderr)

    def close(self) -> None:
        self.bar.close()


class DeferSigint:
    """Turn the first Ctrl-C into a flag that the loop checks between steps.

    An update interrupted half-way would leave some parameters stepped and others not, and a
    checkpoint of that would not resume bit-identically. A second Ctrl-C raises at once.
    Signal handlers can only be installed from the main thread; elsewhere Ctrl-C is left alone.
    """

    def __enter__(self) -> DeferSigint:
        self.requested = False
        self.installed = threading.current_thread() is threading.main_thread()
        if self.installed:
            self.previous = signal.signal(signal.SIGINT, self._handle)
        return self

    def _handle(self, signum, frame) -> None:
        if self.requested:
            raise KeyboardInterrupt
        self.requested = True
        tqdm.write(
            "Ctrl-C: saving a checkpoint after this step (press again to abort)", file=sys.stderr
        )

    def __exit__(self, *exc) -> None:
        if self.installed:
            signal.signal(signal.SIGINT, self.previous)
