"""The lab's eight figures, drawn from data the lab gathered (`FigureInputs`; see minilm/lab.py).

1. clusters side by side (PCA and t-SNE, Procrustes-aligned, trustworthiness per map)
2. Elman's dendrogram of the SRN's mean hidden states on corpus/elman
3. similarity heatmaps of one word list
4. analogy accuracy per section, both protocols
5. anisotropy per model and per layer of the contextual models, before and after mean-centring
6. bias: projection on the gendered noun pairs' direction (and he - she) against the
   planted skew
7. static vs contextual: a polysemous word's occurrences on its sense axis, and its one point
8. training curves, and the language models' perplexities against Kneser-Ney

`draw_all` draws what the inputs allow and returns the figures, a note per skipped figure (and
why), and the trustworthiness of each map. Nothing here trains, loads or runs a model, and
nothing imports the lab back. Figures reuse `minilm.plots` where it fits.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np

from minilm import lab_sense_figure, plots
from minilm.cluster import cut_tree, linkage
from minilm.lab_models import VectorSet
from minilm.project import pca, procrustes, trustworthiness, tsne
from minilm.vectors import KeyedVectors

HEATMAP_WORDS = (
    "king queen man woman dog cat horse bread cheese milk car bus red blue egypt cairo"
).split()
TRUST_K = 5


@dataclass
class ElmanInputs:
    """Figure 2: the SRN's mean hidden states on corpus/elman and Elman's categories."""

    kv: KeyedVectors
    words: list[str]  # the categorised words the SRN knows
    categories: list[str]  # their fine categories (categories.tsv column 1)
    metrics: dict  # the srn-elman section: category_purity, coarse_category_purity


@dataclass
class FigureInputs:
    """Everything the figures show, gathered by the lab: tables, numbers, curves. No figure
    trains, loads or runs a model; a figure whose input is missing is skipped with a note."""

    sets: list[VectorSet]  # the tables compared (figures 1, 3-6)
    models: dict  # metrics["models"]: every number a figure prints
    seed: int = 0
    quick: bool = False
    categories: tuple[list[str], list[str]] | None = None  # categories.tsv (figure 1)
    has_analogies: bool = False  # analogies.txt was scored (figure 4)
    elman: ElmanInputs | None = None  # figure 2
    # figure 7: model -> {word -> WordOccurrences}, every contextual model (transformer, ELMo)
    contextual: dict = field(default_factory=dict)
    occurrences: dict = field(default_factory=dict)  # the explorer's: the first model's
    contextual_model: str | None = None  # the explorer's: that model's name
    curves: list[tuple[str, np.ndarray]] = field(default_factory=list)  # figure 8
    perplexities: dict[str, float] = field(default_factory=dict)  # figure 8: label -> test ppl
    notes: list[str] = field(default_factory=list)  # why the lab left an input out


@dataclass
class Drawn:
    """What `draw_all` drew: {key: png}, notes on skipped figures, trustworthiness per map."""

    figures: dict[str, Path] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    trust: dict[str, dict[str, float]] = field(default_factory=dict)  # table -> {method: T}
    maps: dict[str, tuple] = field(default_factory=dict)  # method -> (words, cats, maps)


# ---- 1. clusters side by side ----------------------------------------------------------------
def shared_categorised_words(
    sets: Sequence[VectorSet], categories: tuple[list[str], list[str]]
) -> tuple[list[str], list[str]]:
    """The categorised words that every table knows, with their categories."""
    words, cats = categories
    keep = [(w, c) for w, c in zip(words, cats, strict=True) if all(w in s.kv for s in sets)]
    return [w for w, _ in keep], [c for _, c in keep]


def cluster_maps(sets, words: list[str], method: str, seed: int, quick: bool) -> list[tuple]:
    """[(label, Y (N, 2), trustworthiness)] per table; every map rotated/reflected onto the first
    (orthogonal Procrustes, distances kept) so the same region means the same thing."""
    maps = []
    for vs in sets:
        X = vs.kv.unit[vs.kv.indices(words)].astype(np.float64)  # (N, D) cosine geometry
        if method == "pca":
            Y = pca(X, 2)
        else:
            Y = tsne(
                X, perplexity=min(15.0, (len(X) - 1) / 3), seed=seed, n_iter=400 if quick else 1000
            )
        if maps:
            Y = procrustes(maps[0][1], Y)[0]
        maps.append((vs.label, Y, trustworthiness(X, Y, TRUST_K)))
    return maps


# ---- 2. Elman's dendrogram -------------------------------------------------------------------
def elman_tree(kv: KeyedVectors, words: Sequence[str]) -> np.ndarray:
    """Figure 2's tree: average-linkage clustering (cosine) of the words' vectors; Z (n-1, 4)."""
    return linkage(kv.vectors[kv.indices(list(words))].astype(np.float64), "average", "cosine")


def elman_top_split(
    kv: KeyedVectors, words: Sequence[str], fine: Sequence[str], coarse: Sequence[str]
) -> dict:
    """What figure 2's top merge joins: {"dendrogram_top_split": [group, group]}, each group
    {"words", "fine": {category: count}, "coarse": {noun/verb: count}}, read from the tree
    itself (`cut_tree` at two clusters), not from a neighbour score."""
    labels = cut_tree(elman_tree(kv, words), 2)
    groups = []
    for g in (0, 1):
        idx = np.flatnonzero(labels == g)
        groups.append(
            {
                "words": [words[i] for i in idx],
                "fine": dict(Counter(fine[i] for i in idx)),
                "coarse": dict(Counter(coarse[i] for i in idx)),
            }
        )
    return {"dendrogram_top_split": groups}


def plot_elman(elman: ElmanInputs, path: Path) -> Path:
    """Average-linkage clustering (cosine) of the SRN's mean hidden states of Elman's words."""
    kv, m = elman.kv, elman.metrics
    Z = elman_tree(kv, elman.words)
    subtitle = f"purity fine {_pct(m.get('category_purity'))}"
    if m.get("coarse_category_purity") is not None:
        subtitle += f", noun/verb {m['coarse_category_purity']:.2f}"
    return plots.plot_dendrogram(
        Z,
        elman.words,
        path,
        title=f"Elman (1990) Fig. 7 redone: SRN mean hidden states\n({subtitle})",
        xlabel="cosine distance (average linkage)",
        label_categories=elman.categories,
    )


# ---- 3. similarity heatmaps ------------------------------------------------------------------
def heatmap_words(sets, n: int = 16) -> list[str]:
    """HEATMAP_WORDS that every table knows; else the most frequent shared plain words."""
    words = [w for w in HEATMAP_WORDS if all(w in s.kv for s in sets)]
    if len(words) >= 6:
        return words
    first = sets[0].kv.words
    return [w for w in first if w.isalpha() and all(w in s.kv for s in sets)][:n]


def plot_similarity(sets, words: list[str], path: Path) -> Path:
    """One cosine heatmap per table, same words in the same order, one shared colour bar.
    Cells carry no numbers: 9 x 256 texts would be unreadable (and slow to draw)."""
    fig, axes = plots.grid(len(sets), 3, 4.4, 4.2)
    im = None
    for ax, vs in zip(axes, sets, strict=False):
        u = vs.kv.unit[vs.kv.indices(words)]
        im = plots.heatmap(ax, u @ u.T, words, words, vs.label, annotate=False)
    fig.suptitle(
        "Cosine similarity of one word list (raw cosines: see figure 5 for the common direction)",
        fontsize=12,
    )
    fig.tight_layout(rect=(0, 0, 0.92, 0.97))
    cax = fig.add_axes((0.93, 0.3, 0.015, 0.4))
    fig.colorbar(im, cax=cax, label="cosine")
    return plots.save_figure(fig, path)


# ---- 4. analogies ----------------------------------------------------------------------------
def plot_analogies(sets, metrics: dict, path: Path) -> Path:
    fig, axes = plots.grid(len(sets), 3, 5.0, 3.6)
    for ax, vs in zip(axes, sets, strict=False):
        sections = metrics[vs.name].get("analogy_sections", {})
        names = list(sections)
        x = np.arange(len(names))
        ex = [sections[n]["accuracy_excluded"] or 0.0 for n in names]
        un = [sections[n]["accuracy_no_exclusion"] or 0.0 for n in names]
        ax.bar(x - 0.2, ex, 0.4, label="query words excluded", color="tab:blue")
        ax.bar(x + 0.2, un, 0.4, label="not excluded", color="tab:orange")
        ax.set_xticks(x)
        ax.set_xticklabels(
            [n.replace("gram-", "") for n in names], rotation=45, ha="right", fontsize=7
        )
        ax.set_ylim(0, 1)
        ax.set_ylabel("accuracy")
        m = metrics[vs.name]
        ax.set_title(
            f"{vs.label}: overall {_pct(m.get('analogy_accuracy'))} / "
            f"{_pct(m.get('analogy_accuracy_no_exclusion'))}",
            fontsize=9,
        )
        ax.grid(axis="y", alpha=0.3)
    handles = [plt.Rectangle((0, 0), 1, 1, color=c) for c in ("tab:blue", "tab:orange")]
    fig.legend(
        handles,
        ["query words excluded (word2vec convention)", "not excluded"],
        loc="lower center",
        ncol=2,
        fontsize=9,
    )
    fig.suptitle("Analogy accuracy per section (3CosAdd): excluded / not excluded", fontsize=12)
    fig.tight_layout(rect=(0, 0.04, 1, 0.97))
    return plots.save_figure(fig, path)


def _pct(v: float | None) -> str:
    return "n/a" if v is None else f"{v:.2f}"


# ---- 5. anisotropy ---------------------------------------------------------------------------
# Ethayarajh (2019), "How Contextual are Contextualized Word Representations?": in GPT-2's last
# layer two random words have a mean cosine of almost 1. Drawn as a dotted line for scale.
ETHAYARAJH_GPT2_TOP = 0.99


def _cosine_range(values: Sequence[float]) -> tuple[float, float]:
    """The y-range of a mean-cosine axis: its whole scale, up to 1, so that 0.03 -> 0.08 looks
    as small as it is (never auto-scaled to the data)."""
    low = min([0.0, *(float(v) for v in values if v is not None)])
    return min(-0.1, low - 0.05), 1.05


def _nan_for_none(values: Sequence[float | None]) -> list[float]:
    return [np.nan if v is None else v for v in values]


def plot_anisotropy(sets, metrics: dict, layers: dict[str, tuple], path: Path) -> Path:
    """Left: mean random-pair cosine per table, raw and mean-centred. Right: per layer of each
    contextual model (embeddings -> transformer block / ELMo's LSTM layer), when one ran."""
    ncols = 2 if layers else 1
    fig, axes = plt.subplots(1, ncols, figsize=(7 + 4.5 * (ncols - 1), 4.2), squeeze=False)
    ax = axes[0, 0]
    x = np.arange(len(sets))
    raw = [metrics[s.name].get("anisotropy") for s in sets]  # None: n/a, an empty bar
    cen = [metrics[s.name].get("anisotropy_centred") for s in sets]
    ax.bar(x - 0.2, _nan_for_none(raw), 0.4, label="raw", color="tab:red")
    ax.bar(x + 0.2, _nan_for_none(cen), 0.4, label="mean-centred", color="tab:gray")
    ax.axhline(0, color="0.3", lw=0.8)
    ax.set_ylim(*_cosine_range(raw + cen))
    ax.set_xticks(x)
    ax.set_xticklabels([s.label for s in sets], rotation=35, ha="right", fontsize=8)
    ax.set_ylabel("mean cosine of random word pairs")
    ax.set_title("Anisotropy per model (0 = isotropic, 1 = one direction)")
    ax.legend(fontsize=8)
    ax.grid(axis="y", alpha=0.3)
    if layers:
        ax = axes[0, 1]
        colors = plots.category_colors(list(layers))
        for name, (raw_l, cen_l) in layers.items():
            xs = np.arange(len(raw_l))
            ax.plot(xs, raw_l, "o-", color=colors[name], label=f"{name}: raw")
            ax.plot(xs, cen_l, "s--", color=colors[name], alpha=0.6, label=f"{name}: mean-centred")
        deepest = max(len(raw_l) for raw_l, _ in layers.values())
        ax.set_xticks(np.arange(deepest))
        ax.set_xticklabels(["emb"] + [f"layer {i}" for i in range(1, deepest)])
        ax.axhline(0, color="0.3", lw=0.8)
        ax.axhline(
            ETHAYARAJH_GPT2_TOP,
            color="tab:purple",
            ls=":",
            lw=1.2,
            label="GPT-2's last layer, for contrast (Ethayarajh 2019): near 1",
        )
        ax.set_ylim(*_cosine_range([v for pair in layers.values() for c in pair for v in c]))
        ax.set_xlabel("layer")
        ax.set_ylabel("mean cosine of random token pairs")
        ax.set_title("Contextual models: anisotropy per layer (Ethayarajh 2019)")
        ax.legend(fontsize=8)
        ax.grid(alpha=0.3)
    fig.tight_layout()
    return plots.save_figure(fig, path)


# ---- 6. bias ---------------------------------------------------------------------------------
def _bias_title(label: str, b: dict) -> str:
    title = f"{label}: r = {_pct(b.get('pearson'))}"
    if b.get("weat_d") is not None:
        title += f", WEAT d = {b['weat_d']:.2f} (p = {b['weat_p']:.3f})"
    if b.get("pearson_he_she") is not None:
        title += f"\nhe - she: r = {b['pearson_he_she']:.2f}"
    return title


def plot_bias(sets, metrics: dict, path: Path) -> Path:
    """Per table: each occupation's cosine with the first principal component of the gendered
    noun pairs (purple, with a fitted line) and with he - she (grey rings, the contrast) against
    its planted he-share. Why the nouns and not he - she: docs/bias-findings.md."""
    with_bias = [s for s in sets if metrics[s.name].get("bias")]
    fig, axes = plots.grid(len(with_bias), 3, 4.2, 3.8)
    for ax, vs in zip(axes, with_bias, strict=False):
        b = metrics[vs.name]["bias"]
        x, y = np.array(b["skews"]), np.array(b["projections"])
        if b.get("projections_he_she") is not None:
            ax.scatter(
                x,
                b["projections_he_she"],
                s=18,
                facecolor="none",
                edgecolor="0.6",
                label="he - she (contrast)",
            )
        ax.scatter(x, y, s=18, color="tab:purple", label="gendered noun pairs")
        if len(x) >= 2 and np.ptp(x) > 0:
            slope, icpt = np.polyfit(x, y, 1)
            xs = np.array([x.min(), x.max()])
            ax.plot(xs, slope * xs + icpt, color="tab:purple", lw=1, alpha=0.6)
        # Name the two ends of the planted scale; the rest are dots.
        for i in {int(np.argmin(x)), int(np.argmax(x))}:
            ax.annotate(
                b["words"][i], (x[i], y[i]), xytext=(3, 3), textcoords="offset points", fontsize=7
            )
        ax.axhline(0, color="0.7", lw=0.8)
        ax.set_title(_bias_title(vs.label, b), fontsize=8)
        ax.set_xlabel("planted he-share (bias.tsv)", fontsize=8)
        ax.set_ylabel("cos(occupation, PC1 of the gendered noun pairs)", fontsize=7)
        ax.legend(fontsize=6, loc="upper left")
        ax.grid(alpha=0.3)
    fig.suptitle(
        "Occupations on the gendered nouns' direction (Bolukbasi 2016 PCA) vs the "
        "planted skew; grey: he - she",
        fontsize=11,
    )
    fig.text(0.5, 0.005, BIAS_FOOTNOTE, ha="center", va="bottom", fontsize=7, wrap=True)
    fig.tight_layout(rect=(0, 0.05, 1, 0.96))
    return plots.save_figure(fig, path)


BIAS_FOOTNOTE = (
    "r: the linear trend of the purple dots, over every occupation, on ONE direction (the pairs' "
    "first principal component). WEAT d: are the occupations planted above 0.5 closer, on "
    "average, to the male nouns themselves than those below 0.5? No common direction, no "
    "linear trend.\nThey disagree when the pairs do not share one direction (each noun still "
    "carries the skew, their first component does not: high d, r near 0), or when the trend "
    "lies within the two halves rather than between them (high r, small d)."
)


# ---- 8. training curves and perplexities -----------------------------------------------------
def plot_training(curves: Sequence[tuple[str, np.ndarray]], path: Path) -> Path:
    fig, axes = plots.grid(len(curves), 4, 3.6, 2.9)
    for ax, (label, losses) in zip(axes, curves, strict=False):
        if len(losses):
            steps = np.arange(1, len(losses) + 1)
            weight = min(0.98, 1 - 5 / max(len(losses), 5))
            ax.plot(steps, losses, color="tab:blue", alpha=0.25, lw=0.7)
            ax.plot(steps, plots.smooth(losses, weight), color="tab:blue", lw=1.8)
            ax.set_xlabel("step", fontsize=8)
            ax.set_ylabel("training loss", fontsize=8)
        else:
            ax.text(
                0.5,
                0.5,
                "closed form (SVD):\nno training curve",
                ha="center",
                va="center",
                transform=ax.transAxes,
                fontsize=9,
            )
            ax.set_xticks([])
            ax.set_yticks([])
        ax.set_title(label, fontsize=9)
        ax.tick_params(labelsize=7)
        ax.grid(alpha=0.3)
    fig.suptitle(
        "Training curves (each model's own loss; faint = per step, bold = smoothed)", fontsize=11
    )
    fig.tight_layout(rect=(0, 0, 1, 0.95))
    return plots.save_figure(fig, path)


def plot_perplexities(rows: dict[str, float], path: Path) -> Path:
    """Horizontal bars (long names stay readable), neural models first, Kneser-Ney after."""
    names = list(rows)
    values = np.array([rows[n] for n in names])
    fig, ax = plt.subplots(figsize=(7, 0.55 * len(names) + 1.4))
    y = np.arange(len(names))
    colors = ["tab:gray" if n.startswith("Kneser") else "tab:blue" for n in names]
    bars = ax.barh(y, values, color=colors)
    ax.bar_label(bars, [f"{v:.1f}" for v in values], padding=3, fontsize=8)
    ax.set_yticks(y)
    ax.set_yticklabels(names)
    ax.invert_yaxis()
    ax.set_xlim(0, values.max() * 1.15)
    ax.set_xlabel("test perplexity (lower is better)")
    ax.set_title("Neural language models vs Kneser-Ney on the same test split")
    ax.grid(axis="x", alpha=0.3)
    ax.spines[["top", "right"]].set_visible(False)
    fig.tight_layout()
    return plots.save_figure(fig, path)


# ---- all of them -----------------------------------------------------------------------------
def _draw_clusters(out: Path, inp: FigureInputs, drawn: Drawn) -> None:
    """Figure 1: PCA and t-SNE maps; records each map's trustworthiness in `drawn.trust`."""
    if inp.categories is None:
        drawn.notes.append("Figure 1 skipped: the corpus has no categories.tsv.")
        return
    words, cats = shared_categorised_words(inp.sets, inp.categories)
    if len(words) < 4 * TRUST_K:
        drawn.notes.append(f"Figure 1 skipped: only {len(words)} categorised words in every model.")
        return
    for method, label in (("pca", "PCA (sign-fixed)"), ("tsne", "t-SNE")):
        maps = cluster_maps(inp.sets, words, method, inp.seed, inp.quick)
        drawn.maps[method] = (words, cats, maps)  # for the explorer page (minilm.explore)
        for vs, (_, _, trust) in zip(inp.sets, maps, strict=True):
            drawn.trust.setdefault(vs.name, {})[method] = trust
        title = f"{len(words)} words of categories.tsv, {label}, aligned by Procrustes"
        path = out / f"fig1_clusters_{method}.png"
        drawn.figures[f"clusters_{method}"] = plots.plot_maps(
            maps, words, cats, path, title, ncols=3, n_labels=10
        )


def _contextual_layers(inp: FigureInputs) -> dict[str, tuple]:
    """Figure 5's right panel: {label: (raw per layer, centred per layer)} of contextual models."""
    layers = {}
    for s in inp.sets:
        m = inp.models[s.name]
        if "layer_anisotropy_centred" in m:
            label = s.label.replace(" (static)", "")
            layers[label] = (m["layer_anisotropy"], m["layer_anisotropy_centred"])
    return layers


def _draw_tables(out: Path, inp: FigureInputs, drawn: Drawn) -> None:
    """Figures 3-7: the ones drawn from the vector tables (there is at least one)."""
    sets, models = inp.sets, inp.models
    words = heatmap_words(sets)
    if len(words) >= 2:
        drawn.figures["similarity"] = plot_similarity(sets, words, out / "fig3_similarity.png")
    else:
        drawn.notes.append("Figure 3 skipped: fewer than two plain words known to every model.")
    if inp.has_analogies:
        drawn.figures["analogies"] = plot_analogies(sets, models, out / "fig4_analogies.png")
    else:
        drawn.notes.append("Figure 4 skipped: the corpus has no analogies.txt.")
    layers = _contextual_layers(inp)
    drawn.figures["anisotropy"] = plot_anisotropy(sets, models, layers, out / "fig5_anisotropy.png")
    if any(models[s.name].get("bias") for s in sets):
        drawn.figures["bias"] = plot_bias(sets, models, out / "fig6_bias.png")
    else:
        drawn.notes.append(
            "Figure 6 skipped: no bias.tsv, or no model knows a gendered noun pair "
            "and three of its occupations."
        )
    if inp.contextual:
        panels = [
            (models[name], occ, next((s.kv for s in sets if s.name == name), None))
            for name, occ in inp.contextual.items()
        ]
        path = out / "fig7_static_vs_contextual.png"
        drawn.figures["contextual"] = lab_sense_figure.plot_static_contextual(panels, path)
    else:
        drawn.notes.append(
            "Figure 7 skipped: needs a contextual model (transformer, ELMo) and the corpus' "
            "senses.tsv."
        )


def draw_all(out: Path, inp: FigureInputs) -> Drawn:
    """Draw every figure the inputs allow into `out`, with a note for each one skipped."""
    drawn = Drawn(notes=list(inp.notes))
    if inp.sets:
        _draw_clusters(out, inp, drawn)
    if inp.elman is not None:
        drawn.figures["elman"] = plot_elman(inp.elman, out / "fig2_elman_dendrogram.png")
    if inp.sets:
        _draw_tables(out, inp, drawn)
    else:
        drawn.notes.append("Figures 1, 3-7 skipped: no model finished.")
    if inp.curves:
        drawn.figures["training"] = plot_training(inp.curves, out / "fig8_training_curves.png")
    if inp.perplexities:
        path = out / "fig8_perplexity.png"
        drawn.figures["perplexity"] = plot_perplexities(inp.perplexities, path)
    else:
        drawn.notes.append("Perplexity figure skipped: no language model with a test split ran.")
    return drawn
