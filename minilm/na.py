"""Figures computed on nothing: null plus the reason, never 0.0 or NaN (README.md, "Honest").

A metric that has nothing to be computed on - analogy accuracy with no question in the
vocabulary, a correlation of fewer than two pairs or of a constant column, a purity with fewer
than two labelled words, recall@k with no query - is None in the dict that carries it, and that
dict's `why_na` entry says why:

    {"similarity_spearman": None,
     "why_na": {"similarity_spearman": "1 of 3 pairs in the vocabulary; a correlation needs 2"}}

Printed, it reads `n/a (1 of 3 pairs in the vocabulary; ...)` (`show`). metrics.json files keep
the same shape, so a reader (the lab report, the explorer page) shows the reason too.
"""

from __future__ import annotations

import math
from collections.abc import Callable

from minilm.errors import MinilmError

WHY_NA = "why_na"


def mark(figures: dict, key: str, reason: str) -> dict:
    """Set figures[key] = None and record why; return `figures`."""
    figures[key] = None
    figures.setdefault(WHY_NA, {})[key] = reason
    return figures


def reason(figures: dict, key: str) -> str | None:
    """Why figures[key] is None, if recorded."""
    why = figures.get(WHY_NA)
    return why.get(key) if isinstance(why, dict) else None


def show(value: object, why: str | None = None, digits: int = 3) -> str:
    """A number as text; None as 'n/a (why)' (or plain 'n/a' when no reason is known)."""
    if value is None:
        return f"n/a ({why})" if why else "n/a"
    if isinstance(value, float):
        return f"{value:.{digits}f}" if math.isfinite(value) else f"n/a ({value})"
    return str(value)


def show_key(figures: dict, key: str, digits: int = 3) -> str:
    """show(figures[key]) with the reason recorded in figures."""
    return show(figures.get(key), reason(figures, key), digits)


def correlation_reason(n_used: int, n_total: int | None = None, what: str = "pairs") -> str:
    """Why a correlation of n_used pairs came out undefined."""
    if n_used < 2:
        of = f" of {n_total}" if n_total is not None else ""
        return f"{n_used}{of} {what} usable; a correlation needs 2"
    return f"constant scores over the {n_used} {what}: correlation undefined"


def _nonfinite(v: object) -> float | None:
    """v as a float when it is a NaN/inf float (or NumPy float scalar), else None."""
    if isinstance(v, float) or (hasattr(v, "dtype") and getattr(v, "ndim", 1) == 0):
        f = float(v) if getattr(v, "dtype", None) is None or v.dtype.kind == "f" else 0.0
        return None if math.isfinite(f) else f
    return None


def nonfinite_to_none(obj: object, found: dict | None = None, path: str = "") -> object:
    """JSON has no NaN/inf: a copy of obj with them written as null, recursively (tuples
    become lists). In a dict, each gets a `why_na` reason ("computed as inf"); `found`
    collects every one (dotted path -> value)."""
    found = {} if found is None else found
    if isinstance(obj, dict):
        out, why = {}, {}
        for k, v in obj.items():
            if (bad := _nonfinite(v)) is not None:
                found[f"{path}{k}"] = bad
                out[k], why[k] = None, f"computed as {bad}"
            else:
                out[k] = nonfinite_to_none(v, found, f"{path}{k}.")
        if why:
            out[WHY_NA] = {**(out.get(WHY_NA) or {}), **why}
        return out
    if isinstance(obj, list | tuple):
        return [
            None if _nonfinite(v) is not None else nonfinite_to_none(v, found, f"{path}{i}.")
            for i, v in enumerate(obj)
        ]
    return obj


class NotMeasurable(MinilmError):
    """A figure has nothing to be computed on (too few words known, ...): the caller reports it
    as n/a with this message as the reason; other MinilmErrors stay errors (bad input)."""


def measure(figures: dict, key: str, compute: Callable[[], object], why_none: str = "") -> dict:
    """figures[key] = compute(), or None with the reason when it is NotMeasurable (or returns
    None: `why_none` says why). Returns `figures`."""
    try:
        value = compute()
    except NotMeasurable as err:
        return mark(figures, key, str(err))
    if value is None:
        return mark(figures, key, why_none or "nothing to measure")
    figures[key] = value
    return figures


def merge(into: dict, figures: dict) -> dict:
    """into |= figures, the two `why_na` entries merged (not the second replacing the first)."""
    why = {**(into.get(WHY_NA) or {}), **(figures.get(WHY_NA) or {})}
    into |= figures
    if why:
        into[WHY_NA] = why
    return into
