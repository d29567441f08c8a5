"""Tiny vector tables and an explorer page built from them, for tests/test_explore*.py.

Three tables (D = 8, 12, 16) over 64 words in 4 planted categories, each saved as word2vec
text and read back (float32, as any user's file). In every table queen = king - man + woman
(+ a little noise), so the analogy has a clear answer, and the probe words are chosen so that
their top-10 cosines are further apart than the page's rounding can move them.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from minilm import explore
from minilm.explore_sources import gather
from minilm.vectors import KeyedVectors

CATEGORIES = ("royalty", "animal", "food", "tool")
ROYAL = ["king", "queen", "man", "woman", "prince", "princess", "boy", "girl"]
DIMS = (8, 12, 16)
N_PER = 16
REPORT = """# minilm lab report

## Metrics

| model | category purity | note |
|---|---|---|
| **toy-a** | 0.91 | `planted` |
| toy-b | 0.85 | x |
"""


@dataclass
class TinyPage:
    page: Path
    files: list[Path]
    tables: dict[str, KeyedVectors]  # name -> the table as minilm reads its file
    data: explore.PageData
    probes: list[str]  # words whose top-11 cosines are > 2 bounds apart in every table


def words_and_categories() -> tuple[list[str], list[str]]:
    words, cats = list(ROYAL), ["royalty"] * len(ROYAL)
    for c in CATEGORIES:
        n = N_PER - (len(ROYAL) if c == "royalty" else 0)
        words += [f"{c}{i}" for i in range(n)]
        cats += [c] * n
    return words, cats


def make_vectors(D: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    words, cats = words_and_categories()
    centres = {c: rng.normal(size=D) * 1.5 for c in CATEGORIES}
    V = np.stack([centres[c] + rng.normal(size=D) for c in cats])
    i = {w: k for k, w in enumerate(words)}
    V[i["queen"]] = V[i["king"]] - V[i["man"]] + V[i["woman"]] + 0.05 * rng.normal(size=D)
    return V.astype(np.float32)


def separated(kv: KeyedVectors, word: str, margin: float) -> bool:
    """True when the word's 11 best cosines (itself left out) differ pairwise by > margin."""
    top = [c for _, c in kv.nearest(word, 11)]
    return bool(np.all(-np.diff(top) > margin))


def build(folder: Path) -> TinyPage:
    folder.mkdir(parents=True, exist_ok=True)
    words, cats = words_and_categories()
    files, tables = [], {}
    for k, D in enumerate(DIMS):
        path = folder / f"toy{'abc'[k]}.txt"
        KeyedVectors(words, make_vectors(D, seed=10 + k)).save_text(path)
        files.append(path)
        tables[path.stem] = KeyedVectors.load(path)
    (folder / "categories.tsv").write_text(
        "".join(f"{w}\t{c}\n" for w, c in zip(words, cats, strict=True))
    )
    (folder / "analogies.txt").write_text(
        ": royal\nman king woman queen\nboy prince girl princess\n"
    )
    data = gather(files, None, folder / "categories.tsv", folder / "analogies.txt")
    data.report = explore.report_tables(REPORT)
    data.contextual = explore.contextual_payload(
        "toy",
        {
            "king": {
                "senses": ["ruler", "chess"],
                "sense": [0, 0, 1, 1],
                "xy": [-1, 0, -0.5, 0.2, 1, 0, 0.7, -0.1],
                "star": [0.1, 0.0],
                "side": 1.0,
                "split": "test",
                "representation": "last layer",
                "accuracy": 1.0,
                "static_accuracy": 0.5,
            }
        },
    )
    page = explore.write_page(folder / "page.html", data)
    margin = 2 * max(t["bound"] for t in map(explore.table_payload, data.tables)) + 1e-5
    probes = [w for w in words if all(separated(kv, w, margin) for kv in tables.values())]
    return TinyPage(page, files, tables, data, probes)
