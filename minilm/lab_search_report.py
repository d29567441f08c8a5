"""The report's sections 9 (search) and 10 (transfer), in markdown, from metrics.json's "search"
(minilm/lab_search.py) and "transfer" (minilm/lab_transfer.py). Every sentence about a figure
is computed from the numbers the figure draws (tests/test_lab_search_report.py)."""

from __future__ import annotations

from pathlib import Path

from minilm import na
from minilm.lab_search_rows import matryoshka_curves

CLOSE = 0.02  # differences below this are called a tie

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


def _figure(figures: dict, key: str, title: str) -> list[str]:
    return [f"![{title}]({Path(figures[key]).name})", ""] if key in figures else []


def _listing(values: list) -> str:
    return ", ".join(str(v) for v in values)


def matryoshka_sentences(rows: dict) -> str:
    """Figure 9a in words: each model at its smallest prefix against its full width, and at
    which prefixes the Matryoshka twin is ahead of, level with or behind the plain model."""
    curves = matryoshka_curves(rows)
    if len(curves) < 2:
        return ""
    mat, plain = curves["Matryoshka"], curves["plain, truncated"]
    key = "retrieval_ndcg10"
    dims = sorted(m for m in set(mat) & set(plain) if None not in (mat[m][key], plain[m][key]))
    if not dims:  # n/a scores (minilm/na.py): nothing to compare
        return ""
    small, full = dims[0], dims[-1]
    text = (
        f"Figure 9a: the contrastive model and its Matryoshka twin (the same masked-LM start, the "
        f"loss summed over the prefixes {_listing(sorted(mat))}), each cut to its first m "
        f"dimensions. Retrieval nDCG@10 at {small} of {full} dimensions: Matryoshka "
        f"{mat[small][key]:.2f} (full width {mat[full][key]:.2f}), plain truncated "
        f"{plain[small][key]:.2f} (full width {plain[full][key]:.2f})."
    )
    diff = {m: mat[m][key] - plain[m][key] for m in dims}
    groups = (
        ("ahead", [m for m in dims if diff[m] >= CLOSE]),
        (f"within {CLOSE}", [m for m in dims if abs(diff[m]) < CLOSE]),
        ("behind", [m for m in dims if diff[m] <= -CLOSE]),
    )
    parts = [f"{what} at m = {_listing(ms)}" for what, ms in groups if ms]
    return text + " The Matryoshka model is " + "; ".join(parts) + " on retrieval."


def hybrid_sentence(hybrid: dict) -> str:
    """Which of BM25, dense and their fusion is best for each kind of query (figure 9b)."""
    names = {"bm25": "BM25", "dense": "dense", "hybrid": "the fusion"}
    best: dict[str, list[str]] = {}
    for kind, r in hybrid.items():
        if any(r[k] is None for k in names):  # n/a (minilm/na.py): no winner to name
            continue
        top = max(names, key=lambda k: r[k])
        tied = [names[k] for k in names if r[top] - r[k] < CLOSE]
        best.setdefault(" and ".join(tied), []).append(kind)
    return (
        "Best nDCG@10 (ties within "
        + f"{CLOSE}): "
        + "; ".join(f"{who} for {', '.join(kinds)}" for who, kinds in best.items())
        + "."
    )


def search_markdown(section: dict, figures: dict | None = None) -> str:
    """## Search and the small MTEB: the table, Matryoshka, quantised recall, the hybrid table."""
    figures = figures or {}
    lines = ["## 9. Search and the small MTEB", ""]
    if "skipped" in section:
        return "\n".join(lines + [f"Skipped: {section['skipped']}."])
    lines += [
        "Every model as a sentence encoder (static tables pooled by SIF, skip-gram also by "
        "the plain mean; the transformer's mean pool, before and after contrastive tuning), "
        "scored on six tasks whose truth is the world's (docs/13-search-mteb.md): graded STS "
        "and paraphrase pairs from the held-out paraphrases, retrieval of the sentences "
        "stating a fact, k-means V-measure and a cross-validated linear probe on words and "
        "sentences. The two best rows are repeated with int8 and binary vectors, and binary "
        "search with the top candidates rescored in float (retrieval only); the transformer's "
        "contrastive model and its Matryoshka twin are repeated at their first m dimensions "
        "(docs/14-matryoshka-quantisation-hybrid.md).",
        "",
        mteb_table(section["rows"]),
        "",
    ]
    lines += _figure(figures, "matryoshka", "9a. Matryoshka against plain truncation")
    sentence = matryoshka_sentences(section["rows"])
    lines += [sentence, ""] if sentence else []
    lines += _figure(figures, "quantisation", "9b. Quantised search and hybrid retrieval")
    lines += quant_lines(section.get("quantised_recall", {}))
    lines += [
        "",
        f"Sparse, dense ({section['hybrid_encoder']}) and both fused by reciprocal rank, "
        "nDCG@10 per kind of query (docs/14-matryoshka-quantisation-hybrid.md):",
        "",
        hybrid_table(section["hybrid"]),
        "",
        hybrid_sentence(section["hybrid"]),
        "",
        f"This section took {section['seconds']:.0f} s"
        + (f" ({section['cpu_seconds']:.0f} CPU-s)." if "cpu_seconds" in section else "."),
    ]
    return "\n".join(lines)


def transfer_sentences(section: dict) -> str:
    """Figure 10 in words: where the best pre-trained setup beats random init, where it stops
    mattering, frozen against fine-tuned, and how many test words no training window held."""
    curves = section["curves"]
    random = curves["random init"]
    sizes = sorted(random, key=int)
    others = [k for k in curves if k != "random init"]
    best = {n: max(others, key=lambda k: curves[k][n]) for n in sizes}
    gain = {n: curves[best[n]][n] - random[n] for n in sizes}
    groups = (
        (f"beats random init by {CLOSE} or more", [n for n in sizes if gain[n] >= CLOSE]),
        (f"is within {CLOSE} of it", [n for n in sizes if abs(gain[n]) < CLOSE]),
        (f"is behind it by {CLOSE} or more", [n for n in sizes if gain[n] <= -CLOSE]),
    )
    parts = [f"{what} at n = {_listing(ns)}" for what, ns in groups if ns]
    first = sizes[0]
    text = (
        f"Figure 10: Collobert & Weston's window tagger, {section['n_tags']} category tags, "
        f"tested on {section['n_test']} windows of test.txt. The best pre-trained setup "
        + "; ".join(parts)
        + f" (at n = {first}: {best[first]} {curves[best[first]][first]:.2f} against random "
        f"{random[first]:.2f})."
    )
    for table in section.get("tables", []):
        frozen, tuned = curves[f"{table} frozen"], curves[f"{table} fine-tuned"]
        ahead = [n for n in sizes if frozen[n] - tuned[n] >= CLOSE]
        behind = [n for n in sizes if tuned[n] - frozen[n] >= CLOSE]
        said = [f"ahead at n = {_listing(ahead)}"] if ahead else []
        said += [f"behind at n = {_listing(behind)}"] if behind else []
        text += (
            f" {table} frozen against fine-tuned: "
            + ("; ".join(said) or f"within {CLOSE} at every n")
            + "."
        )
    unseen = section.get("unseen_test_share", {})
    if unseen:
        text += (
            " Share of test words in no training window: "
            + ", ".join(f"{float(unseen[n]):.0%} at n = {n}" for n in sizes if n in unseen)
            + "."
        )
    return text


def transfer_markdown(section: dict, figures: dict | None = None) -> str:
    """## 10. Transfer: the figure and its sentences, or why it was skipped."""
    lines = ["## 10. Transfer: a window tagger on pre-trained vectors", ""]
    if "skipped" in section:
        return "\n".join(lines + [f"Skipped: {section['skipped']}."])
    lines += _figure(figures or {}, "transfer", "10. Transfer")
    lines += [
        transfer_sentences(section),
        "",
        f"This section took {section['cpu_seconds']:.0f} CPU-s (docs/12-transfer.md).",
    ]
    return "\n".join(lines)
