"""What the explorer page (`minilm.explore`) shows, gathered from a lab run or from vector files.

- `lab_page_data`: in the lab itself (`minilm.lab`), from what it already computed - the vector
  tables, metrics.json, figure 1's maps and figure 7's occurrences - so the page costs the lab
  no second t-SNE and no second transformer pass.
- `gather`: for `scripts/explore.py RUN_OR_VECTORS...`: lab run folders (every model, the maps
  recomputed with the lab's own seed and settings, so they match its figures), single run
  folders, and word2vec / GloVe / .npz files, each limited to its first `top` words (word2vec
  files are in frequency order, so these are the most frequent).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from minilm.errors import MinilmError
from minilm.explore import (
    PageData,
    Table,
    analogy_rows,
    contextual_payload,
    map_payload,
    report_tables,
    table_from_vectors,
)
from minilm.lab_contextual import contextual_occurrences
from minilm.lab_figures import TRUST_K, cluster_maps, shared_categorised_words
from minilm.lab_models import ALL_MODELS, VectorSet
from minilm.lab_sense_figure import sense_frame
from minilm.truth import Truth, read_categories
from minilm.vectors import KeyedVectors

METHODS = ("pca", "tsne")
LAB_VECTOR_BUDGET = 4_000_000  # bytes of base64 vectors in the lab's page (world: ~2.4 MB)
DEFAULT_MAP_WORDS = 300  # words on the maps when no categories file says which


def budget_words(dims: Sequence[int], budget: int = LAB_VECTOR_BUDGET) -> int:
    """How many words of every table fit `budget` bytes of base64 int16 vectors and scales."""
    return max(1, int(budget / (sum(2 * d + 4 for d in dims) * 4 / 3)))


# ---- from the lab's own data ----------------------------------------------------------------
def sense_words(occurrences: dict, model_metrics: dict) -> dict[str, dict]:
    """Figure 7's data per polysemous word: the drawn occurrences on the sense axis, their
    senses, the static point (the mean of the train occurrences), the share on the right side."""
    from minilm.directions import project_on_sense_axis

    acc = model_metrics.get("sense_accuracy") or {}
    static = model_metrics.get("static_sense_accuracy") or {}
    out = {}
    for word, occ in occurrences.items():
        frame, Y, side = sense_frame(occ)
        star = project_on_sense_axis(np.asarray(occ.fit).mean(axis=0)[None], frame)[0]
        senses = list(frame.senses)
        out[word] = {
            "senses": senses,
            "sense": [senses.index(s) for s in occ.senses],
            "xy": [round(float(v), 4) for v in np.asarray(Y, dtype=np.float64).ravel()],
            "star": [round(float(v), 4) for v in star[:2]],
            "side": round(side, 4),
            "split": occ.split,
            "representation": occ.representation,
            "accuracy": acc.get(word),
            "static_accuracy": static.get(word),
        }
    return out


def lab_page_data(
    sets: Sequence[VectorSet],
    metrics: dict,
    maps: dict,
    occurrences: dict,
    contextual_model: str | None,
    analogies: Path | None,
    report_md: str,
    title: str,
) -> PageData:
    """The lab's page. `maps`: {method: (words, categories, [(label, Y, trust)])} as figure 1
    drew them; `occurrences`: figure 7's {word: WordOccurrences}."""
    models = metrics["models"]
    top = budget_words([vs.kv.dim for vs in sets])
    tables = []
    for vs in sets:
        t = table_from_vectors(vs.name, vs.label, vs.kv.words, vs.kv.unit, top)
        t.trust = {
            m: models[vs.name][f"trustworthiness_{m}"]
            for m in METHODS
            if models[vs.name].get(f"trustworthiness_{m}") is not None
        }
        tables.append(t)
    data = PageData(title, tables, report=report_tables(report_md))
    names = [vs.name for vs in sets]
    for method, (words, cats, drawn) in maps.items():
        data.maps[method] = map_payload(words, cats, drawn, names)
    if occurrences and contextual_model is not None:
        label = models[contextual_model].get("label", contextual_model).replace(" (static)", "")
        words = sense_words(occurrences, models[contextual_model])
        data.contextual = contextual_payload(label, words)
    if analogies is not None:
        data.analogies = analogy_rows(analogies, _known_by_all(tables))
    if top < max(len(vs.kv) for vs in sets):
        data.notes.append(
            f"The page holds the {top} most frequent words of each table "
            f"(of up to {max(len(vs.kv) for vs in sets)}), to stay small."
        )
    return data


def _known_by_all(tables: Sequence[Table]) -> set[str]:
    known = set(tables[0].words)
    for t in tables[1:]:
        known &= set(t.words)
    return known


def write_lab_page(
    out: Path, sets: Sequence[VectorSet], metrics: dict, inputs, drawn, truth: Truth, report_md: str
) -> Path | None:
    """The lab's `OUT/explore.html` from its FigureInputs and Drawn figures (None: no table)."""
    if not sets:
        return None
    from minilm.explore import write_page

    data = lab_page_data(
        sets,
        metrics,
        drawn.maps,
        inputs.occurrences,
        inputs.contextual_model,
        truth.get("analogies.txt"),
        report_md,
        f"minilm lab: {out.name}",
    )
    return write_page(out / "explore.html", data)


# ---- from folders and files -------------------------------------------------------------------
def _lab_metrics(folder: Path) -> dict | None:
    path = folder / "metrics.json"
    if not path.is_file():
        return None
    data = json.loads(path.read_text(encoding="utf-8"))
    return data if isinstance(data, dict) and "lab" in data and "models" in data else None


def lab_vector_sets(folder: Path, metrics: dict) -> list[VectorSet]:
    """The lab folder's tables on its corpus, in the lab's model order (contextual after)."""
    order = {name: i for i, name in enumerate(ALL_MODELS)}
    models = metrics["models"]
    sets = []
    for name in sorted(models, key=lambda n: (order.get(n, len(order)), n)):
        spec = ALL_MODELS.get(name)
        if (spec is not None and spec.corpus != "lab") or models[name].get("of_model"):
            continue
        for file, key in (("vectors.txt", name), ("contextual_vectors.txt", f"{name}-ctx")):
            if (folder / name / file).is_file() and key in models:
                kv = KeyedVectors.load(folder / name / file)
                sets.append(VectorSet(key, models[key].get("label", key), name, kv))
    return sets


def _lab_maps(sets, categories, seed: int, quick: bool) -> dict:
    words, cats = shared_categorised_words(sets, categories)
    if len(words) < 4 * TRUST_K:
        return {}
    return {m: (words, cats, cluster_maps(sets, words, m, seed, quick)) for m in METHODS}


def lab_folder_data(folder: Path, metrics: dict, top: int | None) -> PageData:
    """A lab run folder's page: its tables, maps, senses, analogies and report tables."""
    lab = metrics["lab"]
    sets = lab_vector_sets(folder, metrics)
    if not sets:
        raise MinilmError(f"{folder}: no model of this lab run left vectors to show")
    truth = Truth.beside(lab["corpus"]) if lab.get("corpus") else Truth(folder)
    maps, occurrences, ctx_model = {}, {}, None
    if (cats := truth.get("categories.tsv")) is not None:
        maps = _lab_maps(sets, read_categories(cats), lab.get("seed", 0), lab.get("quick", False))
    ctx = next((vs.model for vs in sets if vs.name.endswith("-ctx")), None)
    if ctx is not None and truth.get("senses.tsv") is not None:
        occurrences, ctx_model = contextual_occurrences(folder / ctx, truth), ctx
    report = folder / "report.md"
    md = report.read_text(encoding="utf-8") if report.is_file() else ""
    data = lab_page_data(
        sets,
        metrics,
        maps,
        occurrences,
        ctx_model,
        truth.get("analogies.txt"),
        md,
        f"minilm lab: {folder.name}",
    )
    if top is not None:
        for t in data.tables:
            t.words, t.unit = t.words[:top], t.unit[:top]
    if not truth.files:
        data.notes.append(
            f"No ground truth found beside {lab.get('corpus')}: no categories, "
            "senses or analogy questions on this page."
        )
    return data


def _tables_of(path: Path, top: int | None) -> list[Table]:
    """A run folder (vectors.txt, and contextual_vectors.txt) or a vectors file."""
    if path.is_dir():
        files = [
            (path.name, path / "vectors.txt"),
            (f"{path.name}-ctx", path / "contextual_vectors.txt"),
        ]
        files = [(n, f) for n, f in files if f.is_file()]
        if not files:
            raise MinilmError(f"{path}: no vectors.txt inside; give a run folder or a file")
    elif path.is_file():
        files = [(path.parent.name if path.stem == "vectors" else path.stem, path)]
    else:
        raise MinilmError(f"{path}: no such file or folder")
    out = []
    for name, f in files:
        kv = KeyedVectors.load(f)
        out.append(table_from_vectors(name, name, kv.words, kv.unit, top))
    return out


def _unique_names(tables: list[Table]) -> None:
    seen: dict[str, int] = {}
    for t in tables:
        seen[t.name] = seen.get(t.name, 0) + 1
        if seen[t.name] > 1:
            t.name = t.label = f"{t.name}-{seen[t.name]}"


def plain_maps(tables: Sequence[Table], categories: Path | None, map_words: int, seed: int) -> dict:
    """PCA and t-SNE maps of words every table holds: the categorised ones (coloured) when a
    categories file is given, else the `map_words` most frequent."""
    sets = [VectorSet(t.name, t.label, t.name, KeyedVectors(t.words, t.unit)) for t in tables]
    if categories is not None:
        return _lab_maps(sets, read_categories(categories), seed, False)
    known = set.intersection(*(set(t.words) for t in tables))
    words = [w for w in tables[0].words if w in known][:map_words]
    if len(words) < 4 * TRUST_K:
        return {}
    maps = {"pca": (words, None, cluster_maps(sets, words, "pca", seed, False))}
    if len(words) <= 2000:  # exact t-SNE is O(N^2) a step
        maps["tsne"] = (words, None, cluster_maps(sets, words, "tsne", seed, False))
    return maps


def gather(
    paths: Sequence[str | Path],
    top: int | None,
    categories: Path | None = None,
    analogies: Path | None = None,
    map_words: int = DEFAULT_MAP_WORDS,
    seed: int = 0,
) -> PageData:
    """A page for any mix of lab run folders, run folders and vector files."""
    pages, tables = [], []
    for p in map(Path, paths):
        metrics = _lab_metrics(p) if p.is_dir() else None
        if metrics is not None and not (p / "vectors.txt").is_file():
            pages.append(lab_folder_data(p, metrics, top))
        else:
            tables += _tables_of(p, top)
    if len(pages) == 1 and not tables:
        return pages[0]
    tables = [t for page in pages for t in page.tables] + tables
    _unique_names(tables)
    names = ", ".join(t.label for t in tables)
    data = PageData(f"minilm explorer: {names}"[:120], tables)
    for method, (words, cats, drawn) in plain_maps(tables, categories, map_words, seed).items():
        data.maps[method] = map_payload(words, cats, drawn, [t.name for t in tables])
    if analogies is not None:
        data.analogies = analogy_rows(analogies, _known_by_all(tables))
    return data
