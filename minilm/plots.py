"""Figures: dendrograms, training curves, 2-D maps, heatmaps, bar charts - PNG, written atomically.

Every `plot_*` function takes its data and an output path, draws one figure with titles, axis
labels and legends, saves it with `save_figure` (temp file + rename) and returns the path.
`scatter_map` draws into a given Axes so the lab can lay out grids of maps.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # files only, no display needed

import matplotlib.pyplot as plt  # noqa: E402  (the backend must be chosen first)
import numpy as np  # noqa: E402

from minilm.cluster import leaves_order  # noqa: E402
from minilm.io import atomic_open  # noqa: E402

DPI = 120


def save_figure(fig: plt.Figure, path: str | os.PathLike, dpi: int = DPI) -> Path:
    """Save `fig` as PNG to a temporary file beside `path`, rename it over `path`, close it."""
    path = Path(path)
    try:
        with atomic_open(path, "wb") as f:
            fig.savefig(f, format="png", dpi=dpi, bbox_inches="tight")
    finally:
        plt.close(fig)
    return path


_PALETTES = ("tab10", "Dark2", "Set1", "tab20b")  # distinct colours first, then more
_MARKERS = "os^D"  # one marker shape per palette, so categories 11+ differ in shape too


def category_styles(categories: Sequence[str]) -> dict[str, tuple[tuple, str]]:
    """A stable (colour, marker) per category: sorted names take tab10's colours with circles,
    then Dark2's with squares, Set1's with triangles, ..."""
    styles = {}
    names = sorted(set(categories))
    slots = [(plt.get_cmap(p), m) for p, m in zip(_PALETTES, _MARKERS, strict=True)]
    i = 0
    for cmap, marker in slots:
        for j in range(cmap.N):
            if i == len(names):
                return styles
            color = cmap(j)
            if cmap.name == "Set1" and j == 5:
                continue  # Set1's yellow is unreadable on white
            styles[names[i]] = (color, marker)
            i += 1
    for name in names[i:]:  # more categories than colours: reuse, in grey
        styles[name] = ((0.5, 0.5, 0.5, 1.0), "x")
    return styles


def category_colors(categories: Sequence[str]) -> dict[str, tuple]:
    """A stable colour per category (see `category_styles`)."""
    return {c: color for c, (color, _) in category_styles(categories).items()}


def _darker(color: tuple, factor: float = 0.8) -> tuple:
    """The same hue, darker: light colours stay legible as text."""
    return tuple(factor * c for c in color[:3]) + (1.0,)


# ---- training curve ----------------------------------------------------------------------
def grid(n: int, ncols: int, w: float, h: float):
    """A figure of n panels, ncols a row, each w x h inches; the unused panels hidden."""
    ncols = max(1, min(ncols, n))
    nrows = int(np.ceil(n / ncols))
    fig, axes = plt.subplots(nrows, ncols, figsize=(w * ncols, h * nrows), squeeze=False)
    for ax in axes.flat[n:]:
        ax.axis("off")
    return fig, axes.flat


def smooth(values: np.ndarray, weight: float = 0.98) -> np.ndarray:
    """Bias-corrected exponential moving average: s_t = w s_{t-1} + (1 - w) x_t, / (1 - w^t)."""
    values = np.asarray(values, dtype=np.float64)
    out = np.empty_like(values)
    s = 0.0
    for t, v in enumerate(values, start=1):  # one pass over logged steps, not a hot path
        s = weight * s + (1 - weight) * v
        out[t - 1] = s / (1 - weight**t)
    return out


def plot_loss(
    losses: Sequence[float],
    path: str | os.PathLike,
    title: str = "training loss",
    ylabel: str = "loss (nats per prediction)",
    extra: dict[str, tuple[Sequence[float], Sequence[float]]] | None = None,
) -> Path:
    """Raw per-step loss (faint) and its smoothed curve; `extra` adds named (steps, values)
    series (e.g. validation loss per epoch) as markers."""
    losses = np.asarray(losses, dtype=np.float64)
    fig, ax = plt.subplots(figsize=(7, 4))
    if len(losses):
        steps = np.arange(1, len(losses) + 1)
        weight = min(0.98, 1 - 5 / max(len(losses), 5))  # light smoothing for short runs
        ax.plot(steps, losses, color="tab:blue", alpha=0.25, lw=0.8, label="per step")
        ax.plot(steps, smooth(losses, weight), color="tab:blue", lw=2, label="smoothed")
        for name, (x, y) in (extra or {}).items():
            ax.plot(x, y, "o-", lw=1.5, label=name)
        ax.legend(loc="upper right")
    else:
        ax.text(
            0.5,
            0.5,
            "no training steps\n(closed-form model)",
            ha="center",
            va="center",
            transform=ax.transAxes,
            fontsize=12,
        )
    ax.set_title(title)
    ax.set_xlabel("step")
    ax.set_ylabel(ylabel)
    ax.grid(alpha=0.3)
    return save_figure(fig, path)


# ---- dendrogram --------------------------------------------------------------------------
def dendrogram_coordinates(Z: np.ndarray) -> tuple[list[int], list[tuple]]:
    """Leaf order and, per merge, the U-shape (x of left, x of right, child heights, height).

    Leaves sit at positions 0..n-1 in `leaves_order`; a merge sits at its children's mean.
    """
    n = Z.shape[0] + 1
    order = leaves_order(Z)
    pos = np.empty(2 * n - 1)
    height = np.zeros(2 * n - 1)
    pos[order] = np.arange(n)
    links = []
    for t, (a, b, dist, _) in enumerate(Z):
        a, b = int(a), int(b)
        pos[n + t] = (pos[a] + pos[b]) / 2
        height[n + t] = dist
        links.append((pos[a], pos[b], height[a], height[b], dist))
    return order, links


def plot_dendrogram(
    Z: np.ndarray,
    labels: Sequence[str],
    path: str | os.PathLike,
    title: str = "hierarchical clustering",
    xlabel: str = "cosine distance",
    label_categories: Sequence[str] | None = None,
) -> Path:
    """A horizontal dendrogram (leaves down the left, labels readable), like Elman's Figure 7.

    `label_categories` (one per leaf) colours the labels and adds a legend."""
    n = len(labels)
    order, links = dendrogram_coordinates(Z)
    fontsize = 10 if n <= 40 else 8 if n <= 80 else 6
    fig, ax = plt.subplots(figsize=(7, max(3.0, 0.2 * n * fontsize / 8 + 1)))
    for xa, xb, ha, hb, h in links:
        ax.plot([ha, h, h, hb], [xa, xa, xb, xb], color="0.25", lw=1)
    ax.set_yticks(np.arange(n))
    ax.set_yticklabels([labels[i] for i in order], fontsize=fontsize)
    ax.set_ylim(-0.8, n - 0.2)
    ax.invert_yaxis()  # first leaf at the top, reading downwards
    ax.invert_xaxis()  # root on the left, leaves (and labels) on the right
    ax.yaxis.tick_right()
    if label_categories is not None:
        colors = category_colors(label_categories)
        for tick, i in zip(ax.get_yticklabels(), order, strict=True):
            tick.set_color(_darker(colors[label_categories[i]]))
        handles = [plt.Line2D([], [], color=_darker(c), lw=6) for c in colors.values()]
        ax.legend(
            handles,
            list(colors),
            loc="upper center",
            bbox_to_anchor=(0.5, -0.08),
            ncol=min(3, len(colors)),
            fontsize=8,
            title="category",
            frameon=False,
        )
    ax.set_xlabel(xlabel)
    ax.set_title(title)
    ax.spines[["top", "left"]].set_visible(False)
    ax.grid(axis="x", alpha=0.3)
    return save_figure(fig, path)


# ---- 2-D maps ----------------------------------------------------------------------------
def pick_labels(Y: np.ndarray, candidates: Sequence[int], max_labels: int, min_gap: float) -> list:
    """Greedy: keep candidates in order whose point is at least `min_gap` (as a fraction of the
    map's extent) from every point already labelled - so label texts do not pile up."""
    span = np.ptp(Y, axis=0)
    span = np.where(span > 0, span, 1)
    Yn = (Y - Y.min(axis=0)) / span  # (N, 2) in [0, 1]
    chosen: list[int] = []
    for i in candidates:
        if len(chosen) >= max_labels:
            break
        if not chosen or np.min(np.linalg.norm(Yn[chosen] - Yn[i], axis=1)) >= min_gap:
            chosen.append(int(i))
    return chosen


def scatter_map(
    ax: plt.Axes,
    Y: np.ndarray,
    words: Sequence[str],
    categories: Sequence[str],
    title: str = "",
    trust: float | None = None,
    n_labels: int = 12,
    styles: dict | None = None,
    label_words: Sequence[str] | None = None,
) -> None:
    """Points coloured (and shaped) by category; a few labelled (`label_words`, else the ones
    nearest each category's centre, spread out); the title carries trustworthiness T(5)."""
    Y = np.asarray(Y)
    categories = list(categories)
    styles = styles or category_styles(categories)
    cats = np.array(categories)
    for c, (color, marker) in styles.items():
        m = cats == c
        if m.any():
            ax.scatter(
                Y[m, 0], Y[m, 1], s=16, color=color, marker=marker, label=c, alpha=0.85, lw=0
            )
    if label_words is not None:
        wanted = set(label_words)
        candidates = [i for i, w in enumerate(words) if w in wanted]
    else:
        # Round-robin over categories, most central point first, so every category gets names.
        per_cat = []
        for c in styles:
            idx = np.flatnonzero(cats == c)
            if len(idx):
                d = np.linalg.norm(Y[idx] - Y[idx].mean(axis=0), axis=1)
                per_cat.append(idx[np.argsort(d, kind="stable")].tolist())
        candidates = [
            lst[r] for r in range(max(map(len, per_cat))) for lst in per_cat if r < len(lst)
        ]
    for i in pick_labels(Y, candidates, n_labels, min_gap=0.08):
        ax.annotate(
            words[i], Y[i], xytext=(3, 3), textcoords="offset points", fontsize=7, color="0.1"
        )
    full = title if trust is None else f"{title}\ntrustworthiness T(5) = {trust:.2f}"
    ax.set_title(full, fontsize=9)
    ax.set_xticks([])
    ax.set_yticks([])


def plot_maps(
    maps: Sequence[tuple[str, np.ndarray, float | None]],
    words: Sequence[str],
    categories: Sequence[str],
    path: str | os.PathLike,
    title: str = "",
    ncols: int = 3,
    n_labels: int = 10,
) -> Path:
    """A grid of `scatter_map`s, one per (name, Y, trust), same words and colours in each, with
    one shared legend."""
    ncols = max(1, min(ncols, len(maps)))
    styles = category_styles(categories)
    nrows = int(np.ceil(len(maps) / ncols))
    fig, axes = plt.subplots(nrows, ncols, figsize=(4 * ncols, 3.8 * nrows), squeeze=False)
    for ax, (name, Y, trust) in zip(axes.flat, maps, strict=False):
        scatter_map(ax, Y, words, categories, name, trust, n_labels=n_labels, styles=styles)
    for ax in axes.flat[len(maps) :]:
        ax.axis("off")
    if title:
        fig.suptitle(title, fontsize=12)
    fig.tight_layout()
    # The shared legend goes below the grid; bbox_inches="tight" makes room for it.
    handles = [
        plt.Line2D([], [], marker=m, ls="", color=c, markersize=7) for c, m in styles.values()
    ]
    fig.legend(
        handles,
        list(styles),
        loc="upper center",
        bbox_to_anchor=(0.5, 0.0),
        ncol=min(len(styles), 6),
        fontsize=9,
        title="true category",
        frameon=False,
    )
    return save_figure(fig, path)


# ---- heatmap and bars --------------------------------------------------------------------
def heatmap(
    ax: plt.Axes,
    M: np.ndarray,
    row_labels: Sequence[str],
    col_labels: Sequence[str],
    title: str = "",
    vmin: float = -1.0,
    vmax: float = 1.0,
    cmap: str = "RdBu_r",
    annotate: bool | None = None,
) -> plt.cm.ScalarMappable:
    """Matrix as coloured cells with labelled rows and columns; values written in the cells
    when the matrix is small enough to read them (annotate=None decides)."""
    M = np.asarray(M)
    im = ax.imshow(M, vmin=vmin, vmax=vmax, cmap=cmap)
    ax.set_xticks(np.arange(len(col_labels)))
    ax.set_xticklabels(col_labels, rotation=60, ha="right", fontsize=8)
    ax.set_yticks(np.arange(len(row_labels)))
    ax.set_yticklabels(row_labels, fontsize=8)
    if annotate is None:
        annotate = M.size <= 150
    if annotate:
        mid = (vmin + vmax) / 2
        half = (vmax - vmin) / 2
        for (r, c), v in np.ndenumerate(M):
            ax.text(
                c,
                r,
                f"{v:.2f}",
                ha="center",
                va="center",
                fontsize=6,
                color="white" if abs(v - mid) > 0.6 * half else "black",
            )
    ax.set_title(title, fontsize=10)
    return im


def plot_heatmaps(
    mats: Sequence[tuple[str, np.ndarray]],
    labels: Sequence[str],
    path: str | os.PathLike,
    title: str = "cosine similarity",
    ncols: int = 3,
) -> Path:
    """A grid of square similarity heatmaps over one word list, one colour bar."""
    ncols = max(1, min(ncols, len(mats)))
    nrows = int(np.ceil(len(mats) / ncols))
    size = max(3.5, 0.28 * len(labels) + 1.5)
    fig, axes = plt.subplots(nrows, ncols, figsize=(size * ncols, size * nrows), squeeze=False)
    im = None
    for ax, (name, M) in zip(axes.flat, mats, strict=False):
        im = heatmap(ax, M, labels, labels, name)
    for ax in axes.flat[len(mats) :]:
        ax.axis("off")
    if im is not None:
        fig.colorbar(im, ax=axes.ravel().tolist(), shrink=0.6, label="cosine")
    fig.suptitle(title)
    return save_figure(fig, path)


def plot_bars(
    groups: Sequence[str],
    series: dict[str, Sequence[float]],
    path: str | os.PathLike,
    title: str = "",
    ylabel: str = "",
    ylim: tuple[float, float] | None = None,
    value_labels: bool = True,
) -> Path:
    """Grouped bars: one group per entry of `groups`, one bar per series (with a legend).
    None / NaN values are left empty and marked 'n/a'."""
    n_series = len(series)
    width = 0.8 / max(n_series, 1)
    x = np.arange(len(groups))
    fig, ax = plt.subplots(figsize=(max(6, 0.9 * len(groups) * max(1, n_series / 2) + 2), 4))
    for s, (name, values) in enumerate(series.items()):
        vals = np.array([np.nan if v is None else v for v in values], dtype=np.float64)
        xs = x - 0.4 + width * (s + 0.5)
        bars = ax.bar(xs, np.nan_to_num(vals), width, label=name)
        if value_labels:
            texts = ["n/a" if np.isnan(v) else f"{v:.2f}" for v in vals]
            ax.bar_label(bars, texts, fontsize=7, padding=1)
    ax.set_xticks(x)
    ax.set_xticklabels(
        groups, rotation=30 if len(groups) > 4 else 0, ha="right" if len(groups) > 4 else "center"
    )
    ax.set_ylabel(ylabel)
    ax.set_title(title)
    if ylim is not None:
        ax.set_ylim(*ylim)
    if n_series > 1:
        ax.legend(fontsize=8)
    ax.grid(axis="y", alpha=0.3)
    ax.spines[["top", "right"]].set_visible(False)
    return save_figure(fig, path)
