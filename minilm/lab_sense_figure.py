"""Figure 7 of the lab: static against contextual vectors of the polysemous words, each
occurrence on the axis between its word's two sense centroids, a row per contextual model
(minilm/lab_figures.py draws it; `sense_frame` is also what the explorer page plots,
minilm/explore_sources.py)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from minilm import plots
from minilm.directions import SenseAxes, project_on_sense_axis, sense_axis, sense_axis_labels
from minilm.vectors import KeyedVectors


# ---- 7. static vs contextual -----------------------------------------------------------------
def sense_frame(occ) -> tuple[SenseAxes, np.ndarray, float]:
    """(frame fitted on the train occurrences, (n, 2) drawn occurrences in it, the share of the
    drawn occurrences on their own sense's side of x = 0). With cosine centroids x = 0 is the
    nearest-centroid boundary, so that share is the sense accuracy of the run's metrics."""
    frame = sense_axis(occ.fit, occ.fit_senses, metric="cosine")
    Y = project_on_sense_axis(occ.vectors, frame)  # (n, 2)
    right = np.array(occ.senses) == frame.senses[1]
    return frame, Y, float(np.mean((Y[:, 0] > 0) == right))


def _static_point(vector: np.ndarray, occurrences: np.ndarray, frame: SenseAxes) -> np.ndarray:
    """(2,) a static vector in the sense frame, rescaled to the occurrences' mean length.
    ELMo's contextual vectors are [forward; backward], twice its embedding's width: there its
    static vector is its layer 0, [x; x] (minilm/models/elmo.py)."""
    v = np.asarray(vector, dtype=np.float64)
    if 2 * v.size == np.shape(occurrences)[1]:
        v = np.concatenate([v, v])
    length = np.linalg.norm(np.asarray(occurrences, dtype=np.float64), axis=1).mean()
    return project_on_sense_axis((v * length / max(np.linalg.norm(v), 1e-12))[None], frame)[0]


def _draw_occurrences(ax, occ, frame: SenseAxes, Y: np.ndarray) -> None:
    """The occurrences of one word in its sense frame, one colour per sense."""
    colors = plots.category_colors(list(frame.senses))
    sense_arr = np.array(occ.senses)
    for s in frame.senses:
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
            label=f"'{s}': {len(m)} {occ.split} occurrences, {len(points)} distinct",
        )


def plot_static_contextual(
    panels: list[tuple[dict, dict, KeyedVectors | None]], path: Path
) -> Path:
    """One row per contextual model (transformer, ELMo), one panel per polysemous word: its
    drawn occurrences' vectors (held-out when there are enough) on the axis that separates its
    senses - the difference of the two sense centroids (by cosine) of its train occurrences -
    against the largest remaining variance, coloured by sense (dot area = how many occurrences
    share a vector). x = 0 (dashed) is the nearest-centroid boundary the sense accuracy counts.
    The star is the one point a static table has: the model's own static vector of the word,
    its token embedding row (the run's vectors.txt), where the contextual states start; scaled
    to the occurrences' mean length (by cosine, the side of x = 0 it falls on does not depend
    on its length). panels: (the model's metrics section, {word: occurrences}, static table)."""
    ncols = max(len(occ) for _, occ, _ in panels)
    fig, axes = plots.grid(len(panels) * ncols, ncols, 5.0, 4.2)
    axes = list(axes)
    for row, (model_metrics, occurrences, static_kv) in enumerate(panels):
        here = axes[row * ncols : (row + 1) * ncols]
        for ax, (word, occ) in zip(here, occurrences.items(), strict=False):
            _draw_word(ax, word, occ, model_metrics, static_kv)
        for ax in here[len(occurrences) :]:
            ax.axis("off")
    fig.suptitle(
        "Static vs contextual: each occurrence on the axis between its word's two sense centroids",
        fontsize=12,
    )
    fig.tight_layout(rect=(0, 0, 1, 0.95))
    return plots.save_figure(fig, path)


def _draw_word(ax, word: str, occ, model_metrics: dict, static_kv: KeyedVectors | None) -> None:
    """One panel of figure 7: one word's occurrences of one model, its star, its accuracy."""
    acc = model_metrics.get("sense_accuracy") or {}
    static = model_metrics.get("static_sense_accuracy") or {}
    frame, Y, side = sense_frame(occ)
    _draw_occurrences(ax, occ, frame, Y)
    if static_kv is not None and word in static_kv:
        star = _static_point(static_kv[word], occ.vectors, frame)
        star_side = frame.senses[int(star[0] > 0)]
        ax.scatter(
            star[0],
            star[1],
            marker="*",
            s=260,
            color="black",
            edgecolor="white",
            label=f"its static vector (embedding row): '{star_side}' side",
        )
    ax.axvline(0, color="0.3", ls="--", lw=1)
    label = str(model_metrics.get("label", "")).replace(" (static)", "")
    title = (
        f"{label}: '{word}' ({occ.representation}): {side:.2f} of the {occ.split} "
        "occurrences on their sense's side"
    )
    if word in acc:
        title += f"\nsense accuracy (test) contextual {acc[word]:.2f}"
        if word in static:
            title += f", static {static[word]:.2f}"
    ax.set_title(title, fontsize=8)
    xlabel, ylabel = sense_axis_labels(frame)
    ax.set_xlabel(xlabel + " (cosine)", fontsize=7)
    ax.set_ylabel(ylabel, fontsize=7)
    ax.legend(fontsize=6, loc="best")
    ax.grid(alpha=0.3)
