"""The lab's search section: the small MTEB for every model, quantised rows, BM25 and hybrid.

For every run on the lab's corpus, every way it gives a sentence a vector (minilm/encoders.py):
static tables by mean and SIF (ELMo's too: its embedding), the transformer's mean pool and its
contrastive tuning. Each is
scored on the six tasks of minilm/mteb.py; the best of them also as int8 and binary vectors
(minilm/quantize.py) and binary search with float rescoring; the transformer's contrastive
model and its Matryoshka twin at every nested prefix (minilm/lab_search_rows.py). The
recall@10 of quantised search against float32 is measured on a larger corpus (the test
split). BM25 (minilm/models/bm25.py) gets a retrieval row, and the hybrid table says, per
kind of query, where sparse, dense and their reciprocal-rank fusion win. docs/13-search-mteb.md
and docs/14-matryoshka-quantisation-hybrid.md explain each number.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from minilm.data.text import read_lines, tokenize
from minilm.data.world.lexicon import TRANSITIVE
from minilm.encoders import Encoder, load_encoder
from minilm.errors import MinilmError
from minilm.lab_runner import ModelRun
from minilm.lab_search_rows import RESCORE, matryoshka_rows, rescored_row
from minilm.models.bm25 import bm25_scores, build_bm25, rrf
from minilm.mteb import COLUMNS, Tasks, build_tasks, run_mteb
from minilm.mteb_metrics import ndcg_at_k
from minilm.quantize import (
    binary_decode,
    binary_encode,
    int8_decode,
    int8_encode,
    int8_scale,
    quantised_recall,
)
from minilm.search import top_k, unit_rows
from minilm.truth import Truth

QUANT_QUERIES = 200  # valid sentences searched in the test split for quantised recall@10
HYBRID_DEPTH = 100
MEAN_TOO = {
    "skipgram": ("mean", "sif")
}  # SIF against the plain mean once; SIF for the others  # each ranking's top-n fused by RRF
PRESENT = {forms[1]: forms[0] for forms in TRANSITIVE.values()}  # ate -> eats


def lab_encoders(runs: Sequence[ModelRun]) -> list[tuple[str, str, Encoder]]:
    """(row name, label, encoder) for every sentence encoder of the successful lab runs."""
    out = []
    for run in runs:
        if not run.ok or run.spec.corpus != "lab":
            continue
        name, label = run.spec.name, run.spec.label
        if run.spec.contextual and run.spec.program.endswith("train_transformer"):
            out.append(
                (f"{name}-mean", f"{label} (mean pool)", load_encoder(run.out, "transformer"))
            )
            if (run.out / "sentence_model.npz").exists():
                out.append(
                    (
                        f"{name}-contrastive",
                        f"{label} + contrastive",
                        load_encoder(run.out, "contrastive"),
                    )
                )
            continue
        for kind in MEAN_TOO.get(name, ("sif",)):
            out.append((f"{name}-{kind}", f"{label} ({kind})", load_encoder(run.out, kind)))
    return out


def quantised(encoder: Encoder, corpus: Sequence[str], kind: str):
    """encode() of the int8 (scale calibrated on `corpus`) or sign vectors, back as floats."""
    if kind == "int8":
        scale = int8_scale(unit_rows(encoder.encode(corpus)))
        return lambda s: int8_decode(int8_encode(unit_rows(encoder.encode(s)), scale), scale)
    dim = int(encoder.encode(list(corpus[:1])).shape[1])
    return lambda s: binary_decode(binary_encode(encoder.encode(s)), dim)


def mteb_rows(encoders, tasks: Tasks, seed: int) -> dict[str, dict]:
    """{row: scores + label + seconds}: every encoder, then int8/binary/binary+rescore of the
    best two (by the mean of their scores)."""
    rows = {}
    for name, label, enc in encoders:
        t0 = time.perf_counter()
        enc.fit(tasks.a + tasks.b)
        rows[name] = run_mteb(enc.encode, tasks, seed) | {"label": label}
        rows[name]["seconds"] = time.perf_counter() - t0
    ranked = sorted(rows, key=lambda n: -np.mean([rows[n][c] or 0 for c in COLUMNS]))
    by_name = {n: (label, enc) for n, label, enc in encoders}
    for name in ranked[:2]:
        label, enc = by_name[name]
        for kind in ("int8", "binary"):
            row = run_mteb(quantised(enc, tasks.a + tasks.b, kind), tasks, seed)
            rows[f"{name}-{kind}"] = row | {"label": f"{label}, {kind}", "quantised": kind}
        rows[f"{name}-binary-rescore"] = rescored_row(enc.encode, tasks) | {
            "label": f"{label}, binary + float rescoring of the top {RESCORE} (retrieval only)",
            "quantised": "binary+rescore",
        }
    return rows


def quant_recall(encoder: Encoder, folder: Path) -> dict | None:
    """recall@10 of int8 / binary / binary+rescore vs float32: valid queries in test."""
    if not ((folder / "test.txt").exists() and (folder / "valid.txt").exists()):
        return None
    docs = list(dict.fromkeys(read_lines(folder / "test.txt")))
    queries = list(read_lines(folder / "valid.txt"))[:QUANT_QUERIES]
    index = unit_rows(encoder.encode(docs))
    return quantised_recall(index, unit_rows(encoder.encode(queries)), 10) | {"n_docs": len(docs)}


def hybrid_queries(tasks: Tasks) -> dict[str, tuple[list[str], list[set[int]], list[str]]]:
    """Per kind of query: (queries, relevant ids, corpus). Corpus = both sides of every pair,
    except paraphrase, whose corpus is the b sides (the query is the a side)."""
    corpus = tasks.a + tasks.b
    F = len(tasks.facts)
    names, names_rel, tense, tense_rel = [], [], [], []
    for q, rel in zip(tasks.queries, tasks.relevant, strict=True):
        s, v, o = q.split()[1], q.split()[2], q.split()[4]
        names.append(f"{s} {o}")
        names_rel.append(rel)
        if v in PRESENT:
            tense.append(f"the {s} {PRESENT[v]} the {o} .")
            tense_rel.append(rel)
    return {
        "exact words (the S V the O)": (tasks.queries, tasks.relevant, corpus),
        "names only (S O)": (names, names_rel, corpus),
        "other verb form (the S Vs the O)": (tense, tense_rel, corpus),
        "paraphrase (a -> b)": (tasks.a, [{i} for i in range(F)], tasks.b),
    }


def _rank_bm25(queries: list[str], corpus: list[str], depth: int) -> np.ndarray:
    words: dict[str, int] = {}
    docs = [np.array([words.setdefault(w, len(words)) for w in tokenize(s)]) for s in corpus]
    index = build_bm25(docs, len(words))
    ranked = []
    for q in queries:
        ids = np.array([words.get(w, -1) for w in tokenize(q)], dtype=np.int64)
        ranked.append(np.argsort(-bm25_scores(index, ids), kind="stable")[:depth])
    return np.array(ranked)


def hybrid_table(encoder: Encoder, tasks: Tasks) -> dict[str, dict[str, float]]:
    """{kind of query: {bm25, dense, hybrid}} nDCG@10."""
    table = {}
    for kind, (queries, relevant, corpus) in hybrid_queries(tasks).items():
        if not queries:  # a corpus without the world's verbs has no other-verb-form queries
            continue
        sparse = _rank_bm25(queries, corpus, HYBRID_DEPTH)
        dense = top_k(
            unit_rows(encoder.encode(corpus)), unit_rows(encoder.encode(queries)), HYBRID_DEPTH
        )[0]
        fused = np.array(
            [
                np.argsort(-rrf([s, d], len(corpus)), kind="stable")[:10]
                for s, d in zip(sparse, dense, strict=True)
            ]
        )
        table[kind] = {
            "n_queries": len(queries),
            "bm25": ndcg_at_k(sparse, relevant),
            "dense": ndcg_at_k(dense, relevant),
            "hybrid": ndcg_at_k(fused, relevant),
        }
    return table


def search_section(runs: Sequence[ModelRun], truth: Truth, seed: int) -> dict:
    """metrics.json's "search" section, or {"skipped": why}."""
    paraphrases = truth.get("paraphrases.tsv")
    if paraphrases is None or truth.get("categories.tsv") is None:
        return {"skipped": "the corpus has no paraphrases.tsv and categories.tsv"}
    folder = paraphrases.parent
    t0, cpu0 = time.perf_counter(), time.process_time()
    try:
        tasks = build_tasks(folder, np.random.default_rng(seed))
    except MinilmError as err:  # e.g. a small generated world with too few held-out pairs
        return {"skipped": str(err)}
    encoders = lab_encoders(runs)
    if not encoders:
        return {"skipped": "no model ran"}
    rows = mteb_rows(encoders, tasks, seed)
    cpu = time.process_time()
    rows |= matryoshka_rows(runs, tasks, seed)
    matryoshka_cpu = time.process_time() - cpu
    rows["bm25"] = {"label": "BM25 (retrieval only)", **_bm25_row(tasks)}
    best = (
        next(n for n in rows if n.endswith("-contrastive"))
        if any(n.endswith("-contrastive") for n in rows)
        else encoders[0][0]
    )
    best_enc = {n: e for n, _, e in encoders}[best]
    section = {
        "rows": rows,
        "hybrid_encoder": best,
        "hybrid": hybrid_table(best_enc, tasks),
        "quantised_recall": {best: quant_recall(best_enc, folder)},
    }
    section["seconds"] = time.perf_counter() - t0
    section["cpu_seconds"] = time.process_time() - cpu0  # all threads of the lab's process
    section["matryoshka_cpu_seconds"] = matryoshka_cpu
    return section


def _bm25_row(tasks: Tasks) -> dict[str, float]:
    from minilm.mteb_metrics import recall_at_k

    ranked = _rank_bm25(tasks.queries, tasks.a + tasks.b, 10)
    return {
        "retrieval_ndcg10": ndcg_at_k(ranked, tasks.relevant),
        "retrieval_recall10": recall_at_k(ranked, tasks.relevant),
    }
