"""The lab's eight figures, drawn from a finished run (see `minilm.lab`).

1. clusters side by side (PCA and t-SNE, Procrustes-aligned, trustworthiness per map)
2. Elman's dendrogram of the SRN's mean hidden states on corpus/elman
3. similarity heatmaps of one word list
4. analogy accuracy per section, both protocols
5. anisotropy per model and per transformer layer, before and after mean-centring
6. bias: projection on he - she against the planted skew
7. static vs contextual: a polysemous word's occurrences coloured by sense, and its one point
8. training curves, and the language models' perplexities against Kneser-Ney

`draw_all` draws what the run's models and ground truth allow and returns (figures, notes):
a note says which figure was skipped and why. Figures reuse `minilm.plots` where it fits.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np

from minilm import evaluate as ev
from minilm import plots
from minilm.cluster import linkage
from minilm.errors import MinilmError
from minilm.project import pca, procrustes, trustworthiness, tsne
from minilm.vectors import KeyedVectors

HEATMAP_WORDS = ("king", "queen", "man", "woman", "dog", "cat", "horse", "bread", "cheese",
                 "milk", "car", "bus", "red", "blue", "france", "paris")  # fmt: skip
TRUST_K = 5


def _grid(n: int, ncols: int, w: float, h: float):
    ncols = max(1, min(ncols, n))
    nrows = int(np.ceil(n / ncols))
    fig, axes = plt.subplots(nrows, ncols, figsize=(w * ncols, h * nrows), squeeze=False)
    for ax in axes.flat[n:]:
        ax.axis("off")
    return fig, axes.flat


# ---- 1. clusters side by side ----------------------------------------------------------------
def shared_categorised_words(sets, categories: Path) -> tuple[list[str], list[str]]:
    """The words of categories.tsv that every table knows, with their categories."""
    words, cats = ev.read_categories(categories)
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
            Y = tsne(X, perplexity=min(15.0, (len(X) - 1) / 3), seed=seed,
                     n_iter=400 if quick else 1000)  # fmt: skip
        if maps:
            Y = procrustes(maps[0][1], Y)[0]
        maps.append((vs.label, Y, trustworthiness(X, Y, TRUST_K)))
    return maps


# ---- 2. Elman's dendrogram -------------------------------------------------------------------
def plot_elman(kv: KeyedVectors, categories: Path, path: Path, m: dict) -> Path:
    """Average-linkage clustering (cosine) of the SRN's mean hidden states of Elman's words;
    fills m with the lab's own category_purity / coarse_category_purity of those vectors."""
    words, fine = ev.read_categories(categories, column=1)
    keep = [(w, c) for w, c in zip(words, fine, strict=True) if w in kv]
    words, fine = [w for w, _ in keep], [c for _, c in keep]
    m["category_purity"] = ev.category_purity(kv, categories, level="fine")
    try:
        m["coarse_category_purity"] = ev.category_purity(kv, categories, level="coarse")
    except MinilmError:
        pass
    Z = linkage(kv.vectors[kv.indices(words)].astype(np.float64), "average", "cosine")
    coarse = m.get("coarse_category_purity")
    subtitle = f"purity fine {m['category_purity']:.2f}" + (
        f", noun/verb {coarse:.2f}" if coarse is not None else "")  # fmt: skip
    return plots.plot_dendrogram(
        Z, words, path,
        title=f"Elman (1990) Fig. 7 redone: SRN mean hidden states\n({subtitle})",
        xlabel="cosine distance (average linkage)", label_categories=fine,
    )  # fmt: skip


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
    fig, axes = _grid(len(sets), 3, 4.4, 4.2)
    im = None
    for ax, vs in zip(axes, sets, strict=False):
        u = vs.kv.unit[vs.kv.indices(words)]
        im = plots.heatmap(ax, u @ u.T, words, words, vs.label, annotate=False)
    fig.suptitle("Cosine similarity of one word list (raw cosines: see figure 5 for the "
                 "common direction)", fontsize=12)  # fmt: skip
    fig.tight_layout(rect=(0, 0, 0.92, 0.97))
    cax = fig.add_axes((0.93, 0.3, 0.015, 0.4))
    fig.colorbar(im, cax=cax, label="cosine")
    return plots.save_figure(fig, path)


# ---- 4. analogies ----------------------------------------------------------------------------
def plot_analogies(sets, metrics: dict, path: Path) -> Path:
    fig, axes = _grid(len(sets), 3, 5.0, 3.6)
    for ax, vs in zip(axes, sets, strict=False):
        sections = metrics[vs.name].get("analogy_sections", {})
        names = list(sections)
        x = np.arange(len(names))
        ex = [sections[n]["excluded"] or 0.0 for n in names]
        un = [sections[n]["no_exclusion"] or 0.0 for n in names]
        ax.bar(x - 0.2, ex, 0.4, label="query words excluded", color="tab:blue")
        ax.bar(x + 0.2, un, 0.4, label="not excluded", color="tab:orange")
        ax.set_xticks(x)
        ax.set_xticklabels([n.replace("gram-", "") for n in names], rotation=45, ha="right",
                           fontsize=7)  # fmt: skip
        ax.set_ylim(0, 1)
        ax.set_ylabel("accuracy")
        m = metrics[vs.name]
        ax.set_title(f"{vs.label}: overall {_pct(m.get('analogy_accuracy'))} / "
                     f"{_pct(m.get('analogy_accuracy_no_exclusion'))}", fontsize=9)  # fmt: skip
        ax.grid(axis="y", alpha=0.3)
    handles = [plt.Rectangle((0, 0), 1, 1, color=c) for c in ("tab:blue", "tab:orange")]
    fig.legend(handles, ["query words excluded (word2vec convention)", "not excluded"],
               loc="lower center", ncol=2, fontsize=9)  # fmt: skip
    fig.suptitle("Analogy accuracy per section (3CosAdd): excluded / not excluded", fontsize=12)
    fig.tight_layout(rect=(0, 0.04, 1, 0.97))
    return plots.save_figure(fig, path)


def _pct(v: float | None) -> str:
    return "n/a" if v is None else f"{v:.2f}"


# ---- 5. anisotropy ---------------------------------------------------------------------------
def plot_anisotropy(sets, metrics: dict, layers: dict[str, tuple], path: Path) -> Path:
    """Left: mean random-pair cosine per table, raw and mean-centred. Right: per transformer
    layer (embeddings -> last block), when a transformer ran."""
    ncols = 2 if layers else 1
    fig, axes = plt.subplots(1, ncols, figsize=(7 + 4.5 * (ncols - 1), 4.2), squeeze=False)
    ax = axes[0, 0]
    x = np.arange(len(sets))
    raw = [metrics[s.name]["anisotropy"] for s in sets]
    cen = [metrics[s.name]["anisotropy_centred"] for s in sets]
    ax.bar(x - 0.2, raw, 0.4, label="raw", color="tab:red")
    ax.bar(x + 0.2, cen, 0.4, label="mean-centred", color="tab:gray")
    ax.axhline(0, color="0.3", lw=0.8)
    ax.set_xticks(x)
    ax.set_xticklabels([s.label for s in sets], rotation=35, ha="right", fontsize=8)
    ax.set_ylabel("mean cosine of random word pairs")
    ax.set_title("Anisotropy per model (0 = isotropic)")
    ax.legend(fontsize=8)
    ax.grid(axis="y", alpha=0.3)
    if layers:
        ax = axes[0, 1]
        for name, (raw_l, cen_l) in layers.items():
            xs = np.arange(len(raw_l))
            ax.plot(xs, raw_l, "o-", color="tab:red", label=f"{name}: raw")
            ax.plot(xs, cen_l, "s--", color="tab:gray", label=f"{name}: mean-centred")
            ax.set_xticks(xs)
            ax.set_xticklabels(["emb"] + [f"block {i}" for i in range(1, len(xs))])
        ax.axhline(0, color="0.3", lw=0.8)
        ax.set_xlabel("layer")
        ax.set_ylabel("mean cosine of random token pairs")
        ax.set_title("Transformer: anisotropy per layer (Ethayarajh 2019)")
        ax.legend(fontsize=8)
        ax.grid(alpha=0.3)
    fig.tight_layout()
    return plots.save_figure(fig, path)


# ---- 6. bias ---------------------------------------------------------------------------------
def plot_bias(sets, metrics: dict, path: Path) -> Path:
    with_bias = [s for s in sets if metrics[s.name].get("bias")]
    fig, axes = _grid(len(with_bias), 3, 4.2, 3.6)
    for ax, vs in zip(axes, with_bias, strict=False):
        b = metrics[vs.name]["bias"]
        x, y = np.array(b["skews"]), np.array(b["projections"])
        ax.scatter(x, y, s=18, color="tab:purple")
        if len(x) >= 2 and np.ptp(x) > 0:
            slope, icpt = np.polyfit(x, y, 1)
            xs = np.array([x.min(), x.max()])
            ax.plot(xs, slope * xs + icpt, color="0.4", lw=1)
        # Name the two ends of the planted scale; the rest are dots.
        for i in {int(np.argmin(x)), int(np.argmax(x))}:
            ax.annotate(b["words"][i], (x[i], y[i]), xytext=(3, 3), textcoords="offset points",
                        fontsize=7)  # fmt: skip
        ax.axhline(0, color="0.7", lw=0.8)
        r = b.get("pearson")
        ax.set_title(f"{vs.label}: r = {_pct(r)}", fontsize=9)
        ax.set_xlabel("planted he-share (bias.tsv)", fontsize=8)
        ax.set_ylabel("cos(occupation, he - she)", fontsize=8)
        ax.grid(alpha=0.3)
    fig.suptitle("Occupations on the he - she direction vs the planted skew (Bolukbasi 2016)",
                 fontsize=12)  # fmt: skip
    fig.tight_layout(rect=(0, 0, 1, 0.96))
    return plots.save_figure(fig, path)


# ---- 7. static vs contextual -----------------------------------------------------------------
def plot_static_contextual(
    occurrences: dict[str, tuple[np.ndarray, list[str]]],
    type_vectors: KeyedVectors | None,
    model_metrics: dict,
    path: Path,
) -> Path:
    """Per polysemous word: PCA of its occurrences' last-layer vectors coloured by sense (dot
    area = how many occurrences share that vector), and the word's one type-level vector (its
    mean over all training occurrences, the contextual_vectors.txt row) as a star."""
    fig, axes = _grid(len(occurrences), 2, 5.0, 4.0)
    acc = model_metrics.get("sense_accuracy") or {}
    static = model_metrics.get("static_sense_accuracy") or {}
    for ax, (word, (vecs, senses)) in zip(axes, occurrences.items(), strict=False):
        have_type = type_vectors is not None and word in type_vectors
        points = np.vstack([vecs, type_vectors[word][None]]) if have_type else vecs
        Y = pca(points.astype(np.float64), 2)
        names = sorted(set(senses))
        colors = plots.category_colors(names)
        sense_arr = np.array(senses)
        for s in names:
            m = np.flatnonzero(sense_arr == s)
            # Repeated sentences give identical vectors: one dot each, its area the count.
            points, counts = np.unique(np.round(Y[m], 6), axis=0, return_counts=True)
            ax.scatter(
                points[:, 0],
                points[:, 1],
                s=12 + 10 * counts,
                alpha=0.7,
                color=colors[s],
                edgecolor="white",
                label=f"sense '{s}': {len(m)} occurrences, {len(points)} distinct",
            )
        if have_type:
            ax.scatter(Y[-1, 0], Y[-1, 1], marker="*", s=260, color="black", edgecolor="white",
                       label="the one static point (type mean)")  # fmt: skip
        title = f"'{word}'"
        if word in acc:
            title += f": sense accuracy contextual {acc[word]:.2f}"
            if word in static:
                title += f", static {static[word]:.2f}"
        ax.set_title(title, fontsize=9)
        ax.set_xlabel("PC 1", fontsize=8)
        ax.set_ylabel("PC 2", fontsize=8)
        ax.legend(fontsize=7, loc="best")
        ax.grid(alpha=0.3)
    fig.suptitle("Static vs contextual: last-layer vectors of each occurrence, by sense",
                 fontsize=12)  # fmt: skip
    fig.tight_layout(rect=(0, 0, 1, 0.95))
    return plots.save_figure(fig, path)


# ---- 8. training curves and perplexities -----------------------------------------------------
def plot_training(curves: Sequence[tuple[str, np.ndarray]], path: Path) -> Path:
    fig, axes = _grid(len(curves), 4, 3.6, 2.9)
    for ax, (label, losses) in zip(axes, curves, strict=False):
        if len(losses):
            steps = np.arange(1, len(losses) + 1)
            weight = min(0.98, 1 - 5 / max(len(losses), 5))
            ax.plot(steps, losses, color="tab:blue", alpha=0.25, lw=0.7)
            ax.plot(steps, plots.smooth(losses, weight), color="tab:blue", lw=1.8)
            ax.set_xlabel("step", fontsize=8)
            ax.set_ylabel("training loss", fontsize=8)
        else:
            ax.text(0.5, 0.5, "closed form (SVD):\nno training curve", ha="center",
                    va="center", transform=ax.transAxes, fontsize=9)  # fmt: skip
            ax.set_xticks([])
            ax.set_yticks([])
        ax.set_title(label, fontsize=9)
        ax.tick_params(labelsize=7)
        ax.grid(alpha=0.3)
    fig.suptitle("Training curves (each model's own loss; faint = per step, bold = smoothed)",
                 fontsize=11)  # fmt: skip
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
def draw_all(out: Path, runs, sets, truth, metrics: dict, elman_dir: Path, seed: int, quick: bool):
    """Draw every figure the run allows into `out`; returns ({key: path}, [notes])."""
    from minilm.lab import contextual_occurrences, training_losses

    models = metrics["models"]
    figures: dict[str, Path] = {}
    notes: list[str] = []
    by_name = {r.spec.name: r for r in runs}

    # 1
    cats_path = truth.get("categories.tsv")
    if not sets:
        notes.append("Figures 1, 3-7 skipped: no model finished.")
    elif cats_path is None:
        notes.append("Figure 1 skipped: the corpus has no categories.tsv.")
    else:
        words, cats = shared_categorised_words(sets, cats_path)
        if len(words) < 4 * TRUST_K:
            notes.append(f"Figure 1 skipped: only {len(words)} categorised words in every model.")
        else:
            for method, label in (("pca", "PCA (sign-fixed)"), ("tsne", "t-SNE")):
                maps = cluster_maps(sets, words, method, seed, quick)
                for vs, (_, _, trust) in zip(sets, maps, strict=True):
                    models[vs.name][f"trustworthiness_{method}"] = trust
                figures[f"clusters_{method}"] = plots.plot_maps(
                    maps, words, cats, out / f"fig1_clusters_{method}.png",
                    f"{len(words)} words of categories.tsv, {label}, aligned by Procrustes",
                    ncols=3, n_labels=10,
                )  # fmt: skip
    # 2
    elman_run = by_name.get("srn-elman")
    elman_cats = Path(elman_dir) / "categories.tsv"
    if elman_run is None or not elman_run.ok:
        notes.append("Figure 2 skipped: the srn-elman model did not run.")
    elif not elman_cats.exists():
        notes.append(f"Figure 2 skipped: {elman_cats} is missing.")
    else:
        kv = KeyedVectors.load(elman_run.out / "vectors.txt")
        figures["elman"] = plot_elman(kv, elman_cats, out / "fig2_elman_dendrogram.png",
                                      models["srn-elman"])  # fmt: skip
    if sets:
        # 3
        words = heatmap_words(sets)
        if len(words) >= 2:
            figures["similarity"] = plot_similarity(sets, words, out / "fig3_similarity.png")
        # 4
        if truth.get("analogies.txt") is not None:
            figures["analogies"] = plot_analogies(sets, models, out / "fig4_analogies.png")
        else:
            notes.append("Figure 4 skipped: the corpus has no analogies.txt.")
        # 5
        layers = {
            s.label.replace(" (static)", ""): (
                models[s.name]["layer_anisotropy"],
                models[s.name]["layer_anisotropy_centred"],
            )
            for s in sets
            if "layer_anisotropy_centred" in models[s.name]
        }
        figures["anisotropy"] = plot_anisotropy(sets, models, layers, out / "fig5_anisotropy.png")
        # 6
        if any(models[s.name].get("bias") for s in sets):
            figures["bias"] = plot_bias(sets, models, out / "fig6_bias.png")
        else:
            notes.append("Figure 6 skipped: no bias.tsv, or no model knows both 'he' and 'she'.")
        # 7
        ctx_runs = [r for r in runs if r.ok and r.spec.contextual]
        occ = contextual_occurrences(ctx_runs[0].out, truth) if ctx_runs else {}
        if occ:
            run = ctx_runs[0]
            ctx_path = run.out / "contextual_vectors.txt"
            type_kv = KeyedVectors.load(ctx_path) if ctx_path.exists() else None
            figures["contextual"] = plot_static_contextual(
                occ, type_kv, models[run.spec.name], out / "fig7_static_vs_contextual.png"
            )
        else:
            notes.append("Figure 7 skipped: needs the transformer and the corpus' senses.tsv.")
    # 8
    curves = [(r.spec.label, training_losses(r)) for r in runs if r.ok]
    if curves:
        figures["training"] = plot_training(curves, out / "fig8_training_curves.png")
    ppl, kn = {}, {}
    for r in runs:
        m = models.get(r.spec.name, {})
        if r.ok and r.spec.language_model and m.get("test_perplexity") is not None:
            ppl[r.spec.label] = m["test_perplexity"]
            for n in (3, 5):
                if m.get(f"kn{n}_test_perplexity") is not None:
                    kn.setdefault(f"Kneser-Ney {n}-gram", m[f"kn{n}_test_perplexity"])
    ppl |= kn
    if ppl:
        figures["perplexity"] = plot_perplexities(ppl, out / "fig8_perplexity.png")
    else:
        notes.append("Perplexity figure skipped: no language model with a test split ran.")
    return figures, notes
