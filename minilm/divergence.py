"""The training loop's divergence guard (minilm/train.py): a run that blew up stops with one line.

Three signs, each a `MinilmError` naming the step or epoch and the flag to lower:
- a step's loss is NaN or inf;
- a step's loss is finite but over EXPLODED times the first step's (or 1, if larger): no
  model that learns grows its loss a millionfold - GloVe at --lr 1e9 reaches 1e33, still finite,
  and NPLM/SRN 1e10, with vectors of 1e9 that would otherwise be written as a result;
- an epoch's evaluation (`on_epoch_end`) is not finite: a valid perplexity of inf when every
  training loss was finite. Checked before the end-of-run checkpoint, so it is not overwritten.
"""

from __future__ import annotations

import math

import numpy as np

from minilm.errors import MinilmError

EXPLODED = 1e6


def check_loss(loss: float, first: float, where: str, advice: str) -> None:
    """Refuse a non-finite or exploded loss; `where` says 'at step N (epoch E)'."""
    if math.isfinite(loss) and loss <= EXPLODED * max(abs(first), 1.0):
        return
    grown = f", over {EXPLODED:.0e} times the first step's" if math.isfinite(loss) else ""
    raise MinilmError(f"loss is {loss:.4g} {where}{grown}: training diverged; {advice}")


def check_figures(figures: dict, where: str, advice: str) -> None:
    """Refuse an epoch whose evaluated figures (numbers) are not all finite."""
    bad = [f"{k} is {v}" for k, v in figures.items() if _is_number(v) and not math.isfinite(v)]
    if bad:
        raise MinilmError(f"{'; '.join(bad)} {where}: training diverged; {advice}")


def _is_number(v: object) -> bool:
    return isinstance(v, float | int | np.number) and not isinstance(v, bool)
