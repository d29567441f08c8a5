"""Extra rows of the lab's MTEB table: Matryoshka prefixes and binary search with rescoring.

matryoshka_rows   the transformer's two sentence models (minilm/encoders.py): the plain
                  contrastive one and its Matryoshka twin (`--also-matryoshka`, trained from
                  the same masked-LM model on the same batches), each cut to its first m
                  dimensions for every m the twin was trained on (then normalised by
                  run_mteb). The plain model was never asked to put anything first: this
                  is what Kusupati et al. (2022) compare (docs/14-matryoshka-quantisation-
                  hybrid.md).
rescored_row      retrieval only: the Hamming top RESCORE of the sign codes, reordered by
                  the float dot product (minilm/quantize.py:binary_search). The other tasks
                  would read the float vectors anyway, so they stay empty.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

from minilm.encoders import load_encoder
from minilm.lab_runner import ModelRun
from minilm.mteb import Tasks, run_mteb
from minilm.mteb_metrics import ndcg_at_k, recall_at_k
from minilm.quantize import binary_encode, binary_search
from minilm.runs import load_run
from minilm.search import unit_rows

RESCORE = 50  # Hamming candidates reread in float, as in quantize.quantised_recall


def cached(encode: Callable[[Sequence[str]], np.ndarray]) -> Callable[[Sequence[str]], np.ndarray]:
    """encode() that runs the encoder once per list of sentences (the prefixes share it)."""
    memo: dict[tuple[str, ...], np.ndarray] = {}

    def encode_once(sentences: Sequence[str]) -> np.ndarray:
        key = tuple(sentences)
        if key not in memo:
            memo[key] = encode(sentences)
        return memo[key]

    return encode_once


def prefix_encoder(encode, m: int):
    """encode() of the first m dimensions only."""
    return lambda sentences: encode(sentences)[:, :m]


def matryoshka_rows(runs: Sequence[ModelRun], tasks: Tasks, seed: int) -> dict[str, dict]:
    """{row: scores + label + dims + model} for the first transformer run with a twin."""
    for run in runs:
        if not (run.ok and (run.out / "sentence_model_matryoshka.npz").exists()):
            continue
        dims = [int(m) for m in load_run(run.out).config.get("also_matryoshka") or ()]
        name, label = run.spec.name, run.spec.label
        models = {
            key: (what, cached(load_encoder(run.out, key).encode))
            for key, what in (("contrastive", "plain, truncated"), ("matryoshka", "Matryoshka"))
        }
        full = int(models["matryoshka"][1](tasks.a[:1]).shape[1])
        rows = {}
        for m in dims:
            for key, (what, encode) in models.items():
                if key == "contrastive" and m == full:
                    continue  # the plain model's full row is the table's contrastive row
                rows[f"{name}-{key}@{m}"] = run_mteb(prefix_encoder(encode, m), tasks, seed) | {
                    "label": f"{label} + contrastive, {what}, first {m} of {full} dims",
                    "dims": m,
                    "full_dims": full,
                    "model": key,
                    "plain_row": f"{name}-contrastive",
                }
        return rows
    return {}


def rescored_row(encode, tasks: Tasks, candidates: int = RESCORE) -> dict[str, float]:
    """Retrieval nDCG@10 / recall@10 of binary search with float rescoring of `candidates`."""
    index = unit_rows(encode(tasks.a + tasks.b))
    queries = unit_rows(encode(tasks.queries))
    ranked = binary_search(binary_encode(index), index, queries, 10, candidates)
    return {
        "retrieval_ndcg10": ndcg_at_k(ranked, tasks.relevant, 10),
        "retrieval_recall10": recall_at_k(ranked, tasks.relevant, 10),
    }


def matryoshka_curves(rows: dict) -> dict[str, dict[int, dict]]:
    """{"plain, truncated" | "Matryoshka": {m: row}} from the table's rows (full widths added)."""
    curves: dict[str, dict[int, dict]] = {"plain, truncated": {}, "Matryoshka": {}}
    for row in rows.values():
        if "dims" not in row:
            continue
        key = "Matryoshka" if row["model"] == "matryoshka" else "plain, truncated"
        curves[key][row["dims"]] = row
        full, plain_full = row["full_dims"], row["plain_row"]
        if full not in curves["plain, truncated"] and plain_full in rows:
            curves["plain, truncated"][full] = rows[plain_full]
    return {k: dict(sorted(v.items())) for k, v in curves.items() if v}
