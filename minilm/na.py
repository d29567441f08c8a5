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


def nonfinite_to_none(obj: object, path: str = "", found: dict | None = None) -> object:
    """JSON has no NaN/inf: write them as null, and note each in `found` (path -> value)."""
    found = {} if found is None else found
    if isinstance(obj, dict):
        return {k: nonfinite_to_none(v, f"{path}{k}.", found) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [nonfinite_to_none(v, f"{path}{i}.", found) for i, v in enumerate(obj)]
    if isinstance(obj, float) and not math.isfinite(obj):
        found[path.rstrip(".")] = obj
        return None
    if hasattr(obj, "dtype") and getattr(obj, "ndim", 1) == 0 and obj.dtype.kind == "f":
        return nonfinite_to_none(float(obj), path, found)
    return obj
