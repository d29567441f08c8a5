"""One HTML page to explore every model of a run: maps, neighbours, analogies, senses, tables.

`explore.html` opens from disk with a double click: no server, no network, nothing fetched (its
Content-Security-Policy forbids it). The page is plain HTML, CSS and JavaScript written for this
project (`minilm/explore_assets/`), with the run's data inlined as JSON:

- per table, the unit vectors u_i = v_i / ||v_i|| of its first N words (word2vec files are in
  frequency order, so the top N by frequency), stored as 16-bit integers with one scale per row:
  u_i ~ s_i q_i,  s_i = max_j |u_ij| / 32767,  q_i = round(u_i / s_i).  Each component is off by
  at most s_i / 2, so a cosine computed in the page differs from `minilm.vectors`' by at most
      |s_a s_b q_a.q_b - u_a.u_b| <= (s_b ||u_a||_1 + s_a ||u_b||_1) / 2 + D s_a s_b / 4,
  (`cosine_error_bound`), a few 1e-5 for D = 100: finer than float16 (2 bytes too, relative
  error 2^-11 per component) because a row's scale follows its largest component;
- the 2-D maps (PCA and t-SNE, Procrustes-aligned) with their trustworthiness, as the lab drew
  figure 1 (`minilm.lab_figures.cluster_maps`);
- a contextual model's occurrences of each polysemous word on its sense axis (figure 7);
- the analogy questions of the corpus (suggestions, and the expected answer of a typed query);
- the tables of the lab's report.md.

The page computes neighbours and analogies itself (3CosAdd, query words excluded and kept, as
`KeyedVectors.most_similar`). Size grows linearly: about (2 sum_t D_t + 4 T) * 4/3 bytes a word
for T tables (base64), plus the words and maps; `page_size_estimate` states it. Nothing here
trains a model; `minilm.explore_sources` gathers the data from a lab run or vector files.
"""

from __future__ import annotations

import base64
import html
import json
import os
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from minilm.errors import MinilmError
from minilm.io import write_text
from minilm.truth import read_analogies

ASSETS = Path(__file__).resolve().parent / "explore_assets"
QMAX = 32767  # int16 range used symmetrically, so -q is always representable
MAX_ANALOGIES = 3000  # questions kept for the page (all whose words the tables know, in order)
SCRIPTS = ("explore_core.js", "explore_map.js", "explore_ui.js", "explore_init.js")
_PLACEHOLDER = re.compile(r"/\*CSS\*/|/\*JS\*/|__TITLE__|__DATA__")
MAP_DIGITS = 4  # decimals of the map coordinates (the maps are in arbitrary units)


@dataclass
class Table:
    """One vector table on the page: its name (metrics.json key), label and vectors."""

    name: str
    label: str
    words: list[str]
    unit: np.ndarray  # (N, D) unit rows, as KeyedVectors.unit computes them
    trust: dict[str, float] = field(default_factory=dict)  # method -> trustworthiness


@dataclass
class PageData:
    """Everything a page shows; each part but the tables is optional."""

    title: str
    tables: list[Table]
    maps: dict[str, dict] = field(default_factory=dict)  # method -> map_payload(...)
    contextual: dict | None = None  # contextual_payload(...)
    analogies: list[tuple[str, str, str, str, str]] = field(default_factory=list)  # sec,a,b,c,d
    report: list[dict] = field(default_factory=list)  # report_tables(...)
    notes: list[str] = field(default_factory=list)


# ---- vectors: 16-bit integers with a scale per row ------------------------------------------
def quantise(unit: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(q (N, D) int16, s (N,) float32) with unit ~ s[:, None] * q and |error| <= s / 2."""
    unit = np.asarray(unit, dtype=np.float64)
    peak = np.abs(unit).max(axis=1) if unit.shape[1] else np.zeros(len(unit))
    s = (peak / QMAX).astype(np.float32)
    # float32 rounding may make s a hair small: bump it so that |u / s| <= QMAX holds exactly.
    small = (s > 0) & (peak / np.maximum(s.astype(np.float64), 1e-300) > QMAX)
    s[small] = np.nextafter(s[small], np.float32(np.inf))
    safe = np.where(s > 0, s.astype(np.float64), 1.0)
    q = np.rint(unit / safe[:, None]).clip(-QMAX, QMAX).astype(np.int16)
    return q, s


def dequantise(q: np.ndarray, s: np.ndarray) -> np.ndarray:
    """The page's vectors, s_i q_i, in float64 (what its JavaScript multiplies)."""
    return q.astype(np.float64) * s.astype(np.float64)[:, None]


def cosine_error_bound(unit: np.ndarray, s: np.ndarray, a: int, b: np.ndarray) -> np.ndarray:
    """Upper bound on |page cosine - u_a.u_b| for rows b (see the module docstring)."""
    l1 = np.abs(unit).sum(axis=1)
    D = unit.shape[1]
    s = s.astype(np.float64)
    return (s[b] * l1[a] + s[a] * l1[b]) / 2 + D * s[a] * s[b] / 4


def page_cosines(q: np.ndarray, s: np.ndarray, a: int) -> np.ndarray:
    """What the page computes for word a's neighbours: s_a s_b (q_a . q_b) for every b. The
    integer dot products are exact in float64 (|sum| < 2^53), as in JavaScript."""
    dots = q.astype(np.int64) @ q[a].astype(np.int64)  # (N,)
    s64 = s.astype(np.float64)
    return (s64[a] * s64) * dots.astype(np.float64)


def page_analogy_scores(
    q: np.ndarray, s: np.ndarray, pos: Sequence[int], neg: Sequence[int]
) -> np.ndarray:
    """What the page computes for 3CosAdd: cos(x, s_d q_d), x = sum_pos s q - sum_neg s q."""
    u = dequantise(q, s)
    x = u[list(pos)].sum(axis=0) - u[list(neg)].sum(axis=0)
    norm = float(np.linalg.norm(x)) or 1.0
    return (s.astype(np.float64) * (q.astype(np.float64) @ x)) / norm


def _b64(array: np.ndarray, dtype: str) -> str:
    return base64.b64encode(np.ascontiguousarray(array, dtype=dtype).tobytes()).decode("ascii")


def table_payload(table: Table) -> dict:
    """A table as the page reads it: words, little-endian int16 rows and float32 scales."""
    q, s = quantise(table.unit)
    bound = 0.0
    if len(table.words):
        l1 = np.abs(table.unit).sum(axis=1).max()
        bound = float(s.max()) * float(l1) + table.unit.shape[1] * float(s.max()) ** 2 / 4
    return {
        "name": table.name,
        "label": table.label,
        "dim": int(table.unit.shape[1]),
        "words": table.words,
        "q": _b64(q, "<i2"),
        "s": _b64(s, "<f4"),
        "trust": {k: round(float(v), 4) for k, v in table.trust.items()},
        "bound": bound,  # the largest cosine error of any pair of this table
    }


def table_from_vectors(
    name: str, label: str, words: Sequence[str], unit: np.ndarray, top: int | None = None
) -> Table:
    """A Table of the first `top` rows (None: all)."""
    n = len(words) if top is None else min(top, len(words))
    return Table(name, label, list(words[:n]), np.asarray(unit[:n]))


# ---- maps, senses, analogies, report tables --------------------------------------------------
def _rounded(Y: np.ndarray) -> list[float]:
    return [round(float(v), MAP_DIGITS) for v in np.asarray(Y, dtype=np.float64).ravel()]


def map_payload(
    words: Sequence[str],
    categories: Sequence[str] | None,
    maps: Sequence[tuple],
    names: Sequence[str],
) -> dict:
    """One method's maps: the words, their categories (or None) and per table (label, Y, trust)
    as `lab_figures.cluster_maps` returns them; `names` are the tables' names, in the same
    order."""
    panels = []
    for name, (label, Y, trust) in zip(names, maps, strict=True):
        panels.append(
            {
                "table": name,
                "label": label,
                "xy": _rounded(Y),
                "trust": None if trust is None else round(float(trust), 4),
            }
        )
    return {
        "words": list(words),
        "categories": None if categories is None else list(categories),
        "panels": panels,
    }


def contextual_payload(label: str, words: dict[str, dict]) -> dict:
    """The contextual model's occurrences: {word: {senses, sense (index per point), xy, star,
    side, split, representation, accuracy, static_accuracy}} (see `explore_sources`)."""
    return {"label": label, "words": words}


def analogy_rows(path: str | os.PathLike, known: set[str]) -> list[tuple[str, str, str, str, str]]:
    """(section, a, b, c, d) of the questions whose four words every table knows, in file order,
    at most MAX_ANALOGIES (a share of each section, so that every section is represented)."""
    sections = read_analogies(path)
    usable = [(name, [q for q in qs if all(w in known for w in q)]) for name, qs in sections]
    usable = [(name, qs) for name, qs in usable if qs]
    per = max(1, MAX_ANALOGIES // max(1, len(usable)))
    return [(name, *q) for name, qs in usable for q in qs[:per]]


_INLINE = re.compile(r"(\*\*|`|\*)")


def report_tables(markdown: str) -> list[dict]:
    """Every pipe table of a markdown report: [{title, header, rows}], the title being the last
    heading before it. Inline markup (`**`, backticks) is dropped; links are kept as text."""
    tables, title, block = [], "", []

    def flush() -> None:
        if len(block) >= 2 and set(block[1].replace("|", "").strip()) <= set("-: "):
            cells = [
                [_INLINE.sub("", c).strip() for c in row.strip().strip("|").split("|")]
                for row in block
            ]
            tables.append({"title": title, "header": cells[0], "rows": cells[2:]})
        block.clear()

    for line in markdown.splitlines():
        if line.lstrip().startswith("|"):
            block.append(line.strip())
            continue
        flush()
        if line.startswith("#"):
            title = line.lstrip("#").strip()
    flush()
    return tables


# ---- the page ----------------------------------------------------------------------------------
def payload(data: PageData) -> dict:
    if not data.tables:
        raise MinilmError("the explorer page needs at least one table of vectors")
    return {
        "title": data.title,
        "tables": [table_payload(t) for t in data.tables],
        "maps": data.maps,
        "contextual": data.contextual,
        "analogies": [list(a) for a in data.analogies],
        "report": data.report,
        "notes": data.notes,
    }


def _asset(name: str) -> str:
    return (ASSETS / name).read_text(encoding="utf-8")


def render(data: PageData) -> str:
    """The self-contained page: the template with the CSS, the scripts and the data inlined.
    JSON is safe inside <script> once '<' is escaped (no '</script>' can close it early)."""
    blob = json.dumps(payload(data), separators=(",", ":"), allow_nan=False)
    blob = blob.replace("<", "\\u003c")
    scripts = "\n".join(_asset(n) for n in SCRIPTS)
    values = {
        "/*CSS*/": _asset("explore.css"),
        "/*JS*/": scripts,
        "__TITLE__": html.escape(data.title),
        "__DATA__": blob,
    }
    # One pass: text put in (a title, a word) is never searched for another placeholder.
    return _PLACEHOLDER.sub(lambda m: values[m.group()], _asset("explore.html"))


def write_page(path: str | os.PathLike, data: PageData) -> Path:
    """Write the page atomically; returns its path."""
    path = Path(path)
    write_text(path, render(data))
    return path


def page_size_estimate(dims: Sequence[int], n_words: int, mean_word_bytes: float = 8.0) -> int:
    """Bytes of the vectors part of a page: per word and table 2 D bytes + a 4-byte scale,
    base64 (x 4/3), plus the word lists in JSON."""
    per_word = sum(2 * d + 4 for d in dims) * 4 / 3 + len(dims) * (mean_word_bytes + 3)
    return int(n_words * per_word)
