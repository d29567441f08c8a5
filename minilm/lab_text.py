"""Small formatters the lab report's paragraphs share: a table cell, models ranked by a metric.

A number in the report is always read from the run's metrics (minilm/lab_report.py).
"""

from __future__ import annotations


def fmt(v: object, digits: int = 2, why: str | None = None) -> str:
    """A number for a table cell; 'n/a (why)' for a missing one (minilm/na.py)."""
    if v is None:
        return f"n/a ({why})" if why else "n/a"
    if isinstance(v, int) and not isinstance(v, bool):
        return str(v)
    if isinstance(v, float):
        return f"{v:.{digits}f}"
    return str(v)


def model_rows(models: dict) -> list[tuple[str, dict]]:
    return [(name, m) for name, m in models.items() if name != "srn-elman"]


def ranked(models: dict, key: str, names: list[str] | None = None) -> list[tuple[str, float]]:
    """(label, value) of every table with a value for `key`, best first."""
    pairs = [
        (m.get("label", n), m[key])
        for n, m in models.items()
        if (names is None or n in names) and isinstance(m.get(key), int | float)
    ]
    return sorted(pairs, key=lambda p: -p[1])


def listing(pairs: list[tuple[str, float]], digits: int = 2) -> str:
    return ", ".join(f"{label} {v:.{digits}f}" for label, v in pairs) or "none measured"
