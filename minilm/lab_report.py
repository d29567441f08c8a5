"""OUT/report.md of a lab run: every figure, a metrics table, and a paragraph per figure.

Every number in the report is read from the run's metrics (the dict written as metrics.json);
none is typed in. Where a result goes against the story the paragraph tells, a sentence says
so plainly - a run that contradicts the textbook is still a result.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from minilm import na
from minilm.lab_report_bias import p_bias
from minilm.lab_search_report import search_markdown, transfer_markdown
from minilm.lab_text import fmt, listing, model_rows, ranked

# The metrics table's number columns: (metrics key, decimals).
TABLE_COLUMNS = (
    ("category_purity", 2),
    ("analogy_accuracy", 2),
    ("analogy_accuracy_no_exclusion", 2),
    ("similarity_spearman", 2),
    ("test_perplexity", 1),
    ("train_seconds", 1),
    ("peak_memory_mib", 0),
)


def metrics_table(models: dict) -> str:
    head = (
        "| model | category purity | analogy (query excluded) | analogy (not excluded) | "
        "similarity ρ | test perplexity | train s | peak memory MiB |"
    )
    lines = [head, "|" + "---|" * 8]
    for name, m in model_rows(models):
        if m.get("status") == "failed":
            what = "skipped" if m.get("skipped") else "FAILED"  # skipped: refused this corpus
            lines.append(
                f"| {m.get('label', name)} | **{what}**: {m.get('error', '')} |" + " |" * 6
            )
            continue
        cells = [m.get("label", name)]
        cells += [fmt(m.get(key), digits, na.reason(m, key)) for key, digits in TABLE_COLUMNS]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def _plain_na(lab: dict) -> str:
    """What an 'n/a' without a reason in the table means, and which truth files are absent."""
    absent = [f for f in TRUTH_COLUMNS if f not in lab.get("truth_files", TRUTH_COLUMNS)]
    text = (
        "An n/a without a reason: the figure does not apply "
        "(perplexity: not a language model, or no test split)"
    )
    if absent:
        text += f", or its ground truth is not beside the corpus (absent: {', '.join(absent)})"
    return text + "."


TRUTH_COLUMNS = ("categories.tsv", "analogies.txt", "similarity.tsv")


# ---- one paragraph per figure ----------------------------------------------------------------
def p_clusters(M: dict) -> str:
    models, lab = M["models"], M["lab"]
    purity = ranked(models, "category_purity", [n for n, _ in model_rows(models)])
    if not purity:
        return "No category purity was measured (no categories.tsv)."
    chance = lab.get("category_purity_chance")
    text = (
        "Harris (1954) and Firth (1957) — *you shall know a word by the company it keeps* — "
        "predict that words used alike end up with vectors alike. Category purity (the share of "
        "a word's 5 nearest neighbours by cosine, among the categorised words, that share its "
        f"true category; chance ≈ {fmt(chance)}) is highest for {purity[0][0]} "
        f"({purity[0][1]:.2f}) and lowest for {purity[-1][0]} ({purity[-1][1]:.2f}). "
    )
    for method, name in (("pca", "PCA"), ("tsne", "t-SNE")):
        t = [
            m[f"trustworthiness_{method}"]
            for m in models.values()
            if isinstance(m.get(f"trustworthiness_{method}"), float)
        ]
        if t:
            text += f"Mean trustworthiness T(5) of the {name} maps: {sum(t) / len(t):.2f}. "
    text += (
        "A 2-D map distorts (T = 1 would mean no false neighbours): judge the clusters by "
        "the purity, not by the picture. "
    )
    if chance is not None:
        weak = [label for label, v in purity if v < 2 * chance]
        if weak:
            text += (
                f"Contrary to the distributional story, {', '.join(weak)} barely beat "
                f"chance here (purity below twice chance, {2 * chance:.2f})."
            )
    return text


def p_elman(M: dict) -> str:
    m = M["models"].get("srn-elman")
    if not m or m.get("status") != "ok":
        return "The SRN was not trained on the Elman corpus in this run."
    coarse, fine = m.get("coarse_category_purity"), m.get("category_purity")
    text = (
        "Elman (1990) trained a simple recurrent network only to predict the next word, then "
        "clustered its mean hidden state per word: nouns and verbs, and within them animates, "
        "foods and breakables, came apart without ever being named. Here, on "
        f"{m.get('corpus', 'corpus/elman')} ({fmt(m.get('train_tokens'))} training tokens), "
        f"the mean hidden states reach noun/verb purity {fmt(coarse)} and fine-category purity "
        f"{fmt(fine)} (the best any vectors can score with 5 neighbours on categories of 1-4 "
        f"words is {fmt(m.get('category_purity_ceiling'))}; with as many neighbours as a word "
        f"has category mates, R-precision, they score {fmt(m.get('category_r_precision'))}). "
    )
    text += (
        "(The SRN row of the metrics table is a second SRN, trained on the lab's corpus "
        "like every other model.) "
    )
    return text + top_split_sentence(m.get("dendrogram_top_split"))


def _group(g: dict) -> str:
    """'10 words, all nouns (NOUN-HUM 4, NOUN-ANIM 4, NOUN-AGRESS 2)'."""
    coarse = g["coarse"]
    kinds = (
        f"all {next(iter(coarse))}s"
        if len(coarse) == 1
        else " and ".join(f"{n} {c}s" for c, n in sorted(coarse.items()))
    )
    fine = ", ".join(f"{c} {n}" for c, n in sorted(g["fine"].items(), key=lambda p: -p[1]))
    return f"{len(g['words'])} words, {kinds} ({fine})"


def top_split_sentence(split: list[dict] | None) -> str:
    """Figure 2's top merge, read from the tree (lab_figures.elman_top_split), in words."""
    if not split:
        return ""
    a, b = split
    text = f"The tree's top merge joins {_group(a)} with {_group(b)}: "
    if all(len(g["coarse"]) == 1 for g in split) and a["coarse"].keys() != b["coarse"].keys():
        return text + "the first split is nouns versus verbs, as in Elman's Figure 7."
    return text + (
        "the first split is not nouns versus verbs, as it was in Elman's Figure 7; "
        "the noun/verb purity above counts neighbours, and a word's nearest "
        "neighbours can share its class while the tree's top split does not follow it."
    )


def p_similarity(M: dict) -> str:
    models = M["models"]
    rho = ranked(models, "similarity_spearman")
    if not rho:
        return "Similarity was not scored (no similarity.tsv); the heatmaps still show cosines."
    text = (
        "The same company, pair by pair: each heatmap is the cosine of every pair of one word "
        "list. Against the graded pairs of similarity.tsv, Spearman's ρ between cosine and "
        f"grade is: {listing(rho)}. "
    )
    negative = [label for label, v in rho if v < 0]
    if negative:
        text += f"{', '.join(negative)} rank the pairs against the graded truth (ρ < 0)."
    return text


def p_analogies(M: dict) -> str:
    models = M["models"]
    ex = ranked(models, "analogy_accuracy")
    if not ex:
        return "Analogies were not scored (no analogies.txt)."
    un = ranked(models, "analogy_accuracy_no_exclusion")
    share = ranked(models, "analogy_query_word_share")
    text = (
        "Mikolov et al. (2013) made b − a + c ≈ d famous. With the query words excluded from the "
        f"answers (word2vec's convention) accuracy is {listing(ex)}. Allowed to answer with a "
        f"query word, the same vectors score {listing(un)}; the share of unexcluded top answers "
        f"that are a query word is {listing(share)}. Levy & Goldberg (2014) and Linzen (2016) "
        "showed how much of the famous result the exclusion carries. "
    )
    sg = models.get("skipgram", {}).get("analogy_accuracy")
    pp = models.get("ppmi", {}).get("analogy_accuracy")
    if sg is not None and pp is not None:
        text += (
            f"Levy, Goldberg & Dagan (2015) found count-based PPMI-SVD within reach of SGNS: "
            f"here PPMI-SVD {pp:.2f} vs skip-gram {sg:.2f}. "
        )
        if pp > sg:
            text += (
                "PPMI-SVD beats SGNS on this run — against the usual story that prediction "
                "beats counting (Baroni et al. 2014)."
            )
        elif sg - pp > 0.1:
            text += f"SGNS leads by {sg - pp:.2f}, more than 'within reach'."
    return text


def analogy_examples(M: dict) -> str:
    rows = [
        (m.get("label", n), m["analogy_example"])
        for n, m in M["models"].items()
        if m.get("analogy_example")
    ]
    if not rows:
        return ""
    q = rows[0][1]
    lines = [
        f"Top 5 for **{q['query']}** (expected: *{q['expected']}*):",
        "",
        "| model | query words excluded | not excluded |",
        "|---|---|---|",
    ]
    for label, ex in rows:
        cells = [
            ", ".join(f"{w} ({c:.2f})" for w, c in ex[key]) for key in ("excluded", "no_exclusion")
        ]
        lines.append(f"| {label} | {cells[0]} | {cells[1]} |")
    return "\n".join(lines)


def p_anisotropy(M: dict) -> str:
    models = M["models"]
    raw = ranked(models, "anisotropy")
    cen = ranked(models, "anisotropy_centred")
    text = (
        "Ethayarajh (2019) found that contextual vectors are anisotropic — two random words "
        "have a high cosine — and more so in deeper layers. Mean cosine of random word pairs: "
        f"{listing(raw)}; after subtracting the mean vector: {listing(cen)}. Figure 5 draws "
        "them on the cosine's whole scale (0 to 1), with the near-1 of GPT-2's last layer "
        "(Ethayarajh 2019) as a dotted line for contrast. "
    )
    for name, m in models.items():
        layers = m.get("layer_anisotropy")
        if isinstance(layers, list) and len(layers) >= 2:
            text += (
                f"The {_model_label(m, name)} per layer: "
                + " → ".join(fmt(v) for v in layers)
                + " (embeddings to last layer). "
            )
            if layers[-1] < 0.5:
                text += (
                    "That is far from the near-1 cosines Ethayarajh measured in GPT-2's "
                    "upper layers: this small model's contextual vectors stay nearly "
                    "isotropic. "
                )
            if layers[-1] <= layers[0]:
                text += (
                    "Here anisotropy does not grow with depth, unlike Ethayarajh's BERT and "
                    "GPT-2: a small model trained briefly is far from those. "
                )
    return text


def p_contextual(M: dict) -> str:
    models = M["models"]
    found = [
        (n, m | {"label": _model_label(m, n)}) for n, m in models.items() if m.get("sense_accuracy")
    ]
    if not found:
        return "Sense accuracy was not measured (no contextual model ran, or no senses.tsv)."
    static = found[0][1].get("static_sense_accuracy") or {}
    words = sorted(found[0][1]["sense_accuracy"])
    text = (
        "A static table holds one vector per word type, so 'bank' by the river and 'bank' with "
        "the money share one point: the best it can do is always answer the majority sense ("
        + ", ".join(f"{w} {fmt(static.get(w))}" for w in words)
        + "). Nearest-sense-centroid accuracy of each test occurrence's contextual vector, per "
        "model (figure 7, a row each): "
    )
    rows = []
    for name, m in found:
        acc = m["sense_accuracy"]
        rows.append(
            f"{m.get('label', name)} ({m.get('sense_representation') or 'last layer'}) "
            + ", ".join(f"{w} {acc[w]:.2f}" for w in sorted(acc))
        )
    text += "; ".join(rows) + ". "
    for name, m in found:
        if m.get("sense_mix_weights"):
            text += (
                f"{m.get('label', name)}'s mix weights, learned on the train occurrences "
                "(embedding first): " + ", ".join(fmt(v) for v in m["sense_mix_weights"]) + ". "
            )
    if len(found) >= 2:
        means = [(m.get("label", n), _mean(m["sense_accuracy"])) for n, m in found]
        best, worst = max(means, key=lambda p: p[1]), min(means, key=lambda p: p[1])
        if best[1] > worst[1]:
            text += (
                f"Averaged over the words, {best[0]} separates the senses better than "
                f"{worst[0]} on this run ({best[1]:.2f} against {worst[1]:.2f}). "
            )
        else:
            text += f"Averaged over the words, both reach {best[1]:.2f}. "
    for name, m in found:
        low = [w for w, a in sorted(m["sense_accuracy"].items()) if a < 0.95]
        if low:
            text += (
                f"Senses not separated (accuracy below 0.95) by {m.get('label', name)} "
                f"on this run: {', '.join(low)}. "
            )
    return text


def _model_label(m: dict, name: str) -> str:
    return str(m.get("label", name)).replace(" (static)", "")


def _mean(values: dict) -> float:
    return sum(values.values()) / max(len(values), 1)


def p_training(M: dict) -> str:
    models = M["models"]
    parts = []
    for name, m in models.items():
        ppl = m.get("test_perplexity")
        if ppl is None or name == "srn-elman":
            continue
        k3, k5 = m.get("kn3_test_perplexity"), m.get("kn5_test_perplexity")
        both = " (both directions' words, the next and the previous)" if name == "elmo" else ""
        parts.append(
            f"{_model_label(m, name)} test perplexity{both} {ppl:.1f} vs Kneser–Ney "
            f"trigram {fmt(k3, 1)} and 5-gram {fmt(k5, 1)}"
        )
        best_kn = min(v for v in (k3, k5) if v is not None) if (k3 or k5) else None
        if best_kn is not None and ppl <= best_kn:
            parts[-1] += f" — {ppl / best_kn:.2f} times the better n-gram's: the neural model wins"
        if best_kn is not None and ppl > best_kn:
            hint = " (a --quick run: one short epoch)" if M["lab"].get("quick") else ""
            parts[-1] += (
                f" — it does not beat Kneser–Ney on this run{hint}, contrary to "
                "Bengio et al.'s result"
            )
    text = (
        "Bengio et al. (2003) argued that a neural language model beats smoothed n-grams because "
        "its shared word features generalise to word combinations never seen in training — the "
        "world corpus' test split states only held-out subject-verb-object triples. "
    )
    return text + ("; ".join(parts) + "." if parts else "No language model ran on a test split.")


SECTIONS: list[tuple[str, str, list[str], Callable[[dict], str]]] = [
    ("1. Clusters side by side", "clusters", ["clusters_pca", "clusters_tsne"], p_clusters),
    ("2. Elman's dendrogram", "elman", ["elman"], p_elman),
    ("3. Similarity heatmaps", "similarity", ["similarity"], p_similarity),
    ("4. Analogies", "analogies", ["analogies"], p_analogies),
    ("5. Anisotropy", "anisotropy", ["anisotropy"], p_anisotropy),
    ("6. Bias", "bias", ["bias"], p_bias),
    ("7. Static vs contextual", "contextual", ["contextual"], p_contextual),
    ("8. Training curves and perplexity", "training", ["training", "perplexity"], p_training),
]


def render(metrics: dict, figures: dict[str, Path], notes: list[str]) -> str:
    """The whole report.md text."""
    lab = metrics["lab"]
    lines = [
        "# minilm lab report",
        "",
        f"Corpus: `{lab['corpus']}`{' (--quick)' if lab.get('quick') else ''}; seed "
        f"{lab['seed']}; models: {', '.join(lab['models'])}. Training "
        f"{fmt(lab['train_wall_seconds'], 0)} s wall ({fmt(lab.get('train_cpu_seconds'), 0)} s "
        f"CPU), evaluation and figures {fmt(lab.get('eval_seconds'), 0)} s; "
        f"largest peak memory of any process {fmt(lab['peak_memory_mib'], 0)} MiB.",
        "",
    ]
    if lab.get("failed"):
        lines += [
            "**Failed models:** "
            + "; ".join(f"{n}: {metrics['models'][n].get('error', '')}" for n in lab["failed"]),
            "",
        ]
    lines += [
        "## Metrics",
        "",
        metrics_table(metrics["models"]),
        "",
        "Purity, analogies, similarity: evaluated here with one protocol on the corpus' "
        "ground truth. Perplexity, train seconds: from each model's own run; peak memory: "
        "the child process' maximum resident set size. " + _plain_na(lab),
        "",
    ]
    for title, _, keys, paragraph in SECTIONS:
        lines += [f"## {title}", ""]
        for key in keys:
            if key in figures:
                lines += [f"![{title}]({Path(figures[key]).name})", ""]
        lines += [paragraph(metrics), ""]
        if title.startswith("4."):
            table = analogy_examples(metrics)
            if table:
                lines += [table, ""]
    if metrics.get("search"):
        lines += [search_markdown(metrics["search"], figures), ""]
    if metrics.get("transfer"):
        lines += [transfer_markdown(metrics["transfer"], figures), ""]
    if notes:
        lines += ["## Notes", ""] + [f"- {n}" for n in notes] + [""]
    commands = [(n, m["command"]) for n, m in metrics["models"].items() if m.get("command")]
    if commands:
        lines += ["## How each model was trained", "", "```"]
        lines += [f"python {c}" for _, c in commands] + ["```", ""]
    return "\n".join(lines)
