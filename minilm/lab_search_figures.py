"""The lab's figures 9a, 9b and 10: Matryoshka, quantisation and hybrid retrieval, transfer.

Each draws numbers metrics.json already holds (minilm/lab_search.py, minilm/lab_search_rows.py,
minilm/lab_transfer.py), so the report's sentences and the figures read the same figures
(docs/12-transfer.md, docs/14-matryoshka-quantisation-hybrid.md).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from minilm import plots
from minilm.lab_search_rows import matryoshka_curves
from minilm.plots import plt

MATRYOSHKA_KEYS = (
    ("retrieval_ndcg10", "retrieval nDCG@10"),
    ("pairs_ap", "paraphrase pairs AP"),
    ("sts", "STS Spearman"),
)
QUANT_KEYS = (
    ("int8_recall", "int8", "int8_bytes"),
    ("binary_recall", "binary", "binary_bytes"),
    ("binary_rescored_recall", "binary + rescore", "binary_bytes"),
)


def plot_matryoshka(curves: dict[str, dict[int, dict]], path: Path) -> Path:
    """Figure 9a: each task's score against the dimensions kept, Matryoshka and plain."""
    fig, axes = plt.subplots(1, len(MATRYOSHKA_KEYS), figsize=(4 * len(MATRYOSHKA_KEYS), 3.3))
    for ax, (key, title) in zip(axes, MATRYOSHKA_KEYS, strict=True):
        for label, curve in curves.items():
            dims = sorted(curve)
            style = "-" if label == "Matryoshka" else "--"
            ax.plot(dims, [curve[m][key] for m in dims], style, marker="o", label=label)
        ax.set_xscale("log", base=2)
        ticks = sorted({m for curve in curves.values() for m in curve})
        ax.set_xticks(ticks, [str(m) for m in ticks])
        ax.set_xlabel("dimensions kept (the first m)")
        ax.set_title(title)
        ax.grid(alpha=0.3)
    axes[0].legend(fontsize=8)
    fig.suptitle("The contrastive model cut to its first m dimensions", fontsize=10)
    fig.tight_layout()
    return plots.save_figure(fig, path)


def plot_quantisation_hybrid(quant: dict, hybrid: dict, path: Path) -> Path:
    """Figure 9b: recall@10 of quantised search against float32 (bytes a vector in the labels),
    and nDCG@10 of BM25, dense and their fusion per kind of query."""
    fig, (left, right) = plt.subplots(1, 2, figsize=(11, 3.8), width_ratios=(1, 1.6))
    names = [f"float32\n{quant['float32_bytes']} B"] + [
        f"{label}\n{quant[size]} B" for _, label, size in QUANT_KEYS
    ]
    values = [1.0] + [quant[key] for key, _, _ in QUANT_KEYS]
    bars = left.bar(names, values, color=["tab:gray"] + ["tab:blue"] * len(QUANT_KEYS))
    left.bar_label(bars, [f"{v:.2f}" for v in values], fontsize=8)
    left.set_ylim(0, 1.1)
    left.set_ylabel("recall@10 against float32")
    left.set_title(f"Quantised search, {quant['n_docs']} sentences", fontsize=9)
    kinds = list(hybrid)
    x = np.arange(len(kinds))
    for i, (key, label) in enumerate((("bm25", "BM25"), ("dense", "dense"), ("hybrid", "RRF"))):
        right.bar(x + (i - 1) * 0.27, [hybrid[k][key] for k in kinds], 0.27, label=label)
    right.set_xticks(x)
    right.set_xticklabels([k.replace(" (", "\n(") for k in kinds], fontsize=7)
    right.set_ylim(0, 1.1)
    right.set_ylabel("nDCG@10")
    right.set_title("Sparse, dense and fused, per kind of query", fontsize=9)
    right.legend(fontsize=8, ncols=3, loc="lower right")
    for ax in (left, right):
        ax.spines[["top", "right"]].set_visible(False)
    fig.tight_layout()
    return plots.save_figure(fig, path)


def plot_transfer(curves: dict[str, dict[str, float]], path: Path) -> Path:
    """Figure 10: window-tagger test accuracy against training windows, per table."""
    fig, ax = plt.subplots(figsize=(6, 4))
    for label, curve in curves.items():
        sizes = sorted(curve, key=int)
        style = "--" if "frozen" in label else (":" if "random" in label else "-")
        ax.plot([int(n) for n in sizes], [curve[n] for n in sizes], style, marker="o", label=label)
    ax.set_xscale("log")
    ax.set_xlabel("labelled training windows")
    ax.set_ylabel("test accuracy (category tag)")
    ax.set_title("Collobert & Weston's window tagger", fontsize=10)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    return plots.save_figure(fig, path)


def draw_search_figures(out: Path, metrics: dict) -> tuple[dict[str, Path], list[str]]:
    """({key: path}, notes) for figures 9a, 9b and 10 from metrics' "search" and "transfer"."""
    figures: dict[str, Path] = {}
    notes: list[str] = []
    search = metrics.get("search") or {}
    curves = matryoshka_curves(search.get("rows", {}))
    if len(curves) == 2:
        figures["matryoshka"] = plot_matryoshka(curves, out / "fig9a_matryoshka.png")
    else:
        notes.append("Figure 9a skipped: no transformer with a Matryoshka twin (--also-matryoshka)")
    quant = next(iter((search.get("quantised_recall") or {}).values()), None)
    if quant and search.get("hybrid"):
        path = out / "fig9b_quantisation_hybrid.png"
        figures["quantisation"] = plot_quantisation_hybrid(quant, search["hybrid"], path)
    else:
        notes.append("Figure 9b skipped: no quantised recall or hybrid table (see section 9).")
    transfer = metrics.get("transfer") or {}
    if transfer.get("curves"):
        figures["transfer"] = plot_transfer(transfer["curves"], out / "fig10_transfer.png")
    else:
        notes.append(f"Figure 10 skipped: {transfer.get('skipped', 'no transfer curves')}.")
    return figures, notes
