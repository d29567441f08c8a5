"""The report's search section (markdown) from metrics.json's "search" (minilm/lab_search.py)."""

from __future__ import annotations

from minilm import na

HEAD = (
    ("sts", "STS ρ"),
    ("retrieval_ndcg10", "retrieval nDCG@10"),
    ("retrieval_recall10", "recall@10"),
    ("pairs_ap", "pairs AP"),
    ("cluster_words", "words V"),
    ("cluster_sentences", "sentences V"),
    ("probe_words", "probe words"),
    ("probe_sentences", "probe sentences"),
)


def _f(v: object, why: str | None = None) -> str:
    return na.show(v, why, digits=2)


def mteb_table(rows: dict) -> str:
    lines = ["| encoder | " + " | ".join(h for _, h in HEAD) + " |", "|" + "---|" * (len(HEAD) + 1)]
    for name, row in rows.items():
        cells = [row.get("label", name)] + [_f(row.get(k), na.reason(row, k)) for k, _ in HEAD]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def quant_lines(quant: dict) -> list[str]:
    out = []
    for name, q in quant.items():
        if not q:
            continue
        out.append(
            f"Quantised search with {name} over the {q['n_docs']} distinct test sentences "
            f"(valid sentences as queries): recall@10 against float32 is {q['int8_recall']:.3f} "
            f"for int8 ({q['int8_bytes']} bytes a vector instead of {q['float32_bytes']}), "
            f"{q['binary_recall']:.3f} for binary ({q['binary_bytes']} bytes) and "
            f"{q['binary_rescored_recall']:.3f} for binary with the top 50 rescored in float."
        )
    return out


def hybrid_table(hybrid: dict) -> str:
    lines = ["| queries | n | BM25 | dense | hybrid (RRF) |", "|---|---|---|---|---|"]
    for kind, r in hybrid.items():
        cells = [kind, str(r["n_queries"])] + [_f(r[k]) for k in ("bm25", "dense", "hybrid")]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def search_markdown(section: dict) -> str:
    """## Search and the small MTEB: the table, quantised recall, the hybrid table."""
    lines = ["## 9. Search and the small MTEB", ""]
    if "skipped" in section:
        return "\n".join(lines + [f"Skipped: {section['skipped']}."])
    lines += [
        "Every model as a sentence encoder (static tables pooled by SIF, skip-gram also by "
        "the plain mean; the transformer's mean pool, before and after contrastive tuning), "
        "scored on six tasks whose truth is the world's (docs/13-search-mteb.md): graded STS "
        "and paraphrase pairs from the held-out paraphrases, retrieval of the sentences "
        "stating a fact, k-means V-measure and a cross-validated linear probe on words and "
        "sentences. The two best rows are repeated with int8 and binary vectors.",
        "",
        mteb_table(section["rows"]),
        "",
    ]
    lines += quant_lines(section.get("quantised_recall", {}))
    lines += [
        "",
        f"Sparse, dense ({section['hybrid_encoder']}) and both fused by reciprocal rank, "
        "nDCG@10 per kind of query (docs/13-search-mteb.md):",
        "",
        hybrid_table(section["hybrid"]),
        "",
        f"This section took {section['seconds']:.0f} s.",
    ]
    return "\n".join(lines)
