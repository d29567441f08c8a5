"""A run's output folder: every file README.md promises, written atomically, and read back.

    OUT/vectors.txt              word2vec text        OUT/vectors.bin   word2vec binary
    OUT/projector/vectors.tsv    + metadata.tsv       (TensorBoard Embedding Projector)
    OUT/model.npz                parameters "p/<name>", vocabulary "vocab/...", the exported
                                 table "words" + "vectors", "config" (JSON in a 0-d string array)
    OUT/metrics.json             the run's figures     OUT/loss.png      the training curve

Everything in model.npz is a plain array: `load_run` reads it with allow_pickle=False.

metrics.json is written last: a folder that holds it holds a finished run. A run that starts
training in a folder removes the earlier run's files first (`start_run`, called by
minilm.train), so a rerun killed half-way cannot leave the old files looking like its result.
The folder itself follows the output-folder contract of minilm.io (`claim_out_dir`: marked
"running" by the script before it reads its corpus, "complete" when it ends); `load_run`
refuses a folder whose run did not finish.
"""

from __future__ import annotations

import dataclasses
import json
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from minilm import na
from minilm.data.vocab import Vocab
from minilm.errors import MinilmError
from minilm.io import (
    check_complete,
    ensure_dir,
    load_npz,
    mark_complete,
    outputs_cleared,
    remove_stale_temps,
    save_npz,
    write_json,
)
from minilm.na import nonfinite_to_none
from minilm.vectors import KeyedVectors


def _config_dict(config: object) -> dict:
    if config is None:
        return {}
    if dataclasses.is_dataclass(config) and not isinstance(config, type):
        return dataclasses.asdict(config)
    if isinstance(config, dict):
        return dict(config)
    if hasattr(config, "__dict__"):  # an argparse.Namespace
        return dict(vars(config))
    raise MinilmError(f"config must be a dataclass, dict or Namespace, not {type(config).__name__}")


def _finite_metrics(metrics: dict) -> dict:
    """metrics with NaN/inf written as null plus the reason (minilm/na.py; JSON has no NaN).

    A non-finite perplexity is a diverged model, not a missing figure: refused, before anything
    is written."""
    found: dict = {}
    clean = nonfinite_to_none(dict(metrics), found=found)
    diverged = [f"{k} is {v}" for k, v in found.items() if "perplexity" in k]
    if diverged:
        raise MinilmError(
            f"{'; '.join(diverged)}: the model diverged (try a lower learning rate); "
            "no vectors or metrics written"
        )
    return clean


def _history_losses(history: object) -> np.ndarray:
    """Per-step losses from a train.History (attribute `losses`), a sequence, or None."""
    if history is None:
        return np.zeros(0)
    losses = getattr(history, "losses", history)
    return np.asarray(losses, dtype=np.float64).ravel()


OUTPUTS = (
    "vectors.txt",
    "vectors.bin",
    "projector/vectors.tsv",
    "projector/metadata.tsv",
    "model.npz",
    "loss.png",
    "metrics.json",
)


def start_run(out_dir: str | os.PathLike) -> list[Path]:
    """A run starts writing into `out_dir`: remove what a killed process left there (temporary
    files) and the outputs of an earlier run; return the outputs removed.

    Other files (notes, an earlier lab's logs, checkpoint.npz) are left alone.
    """
    out = Path(out_dir)
    remove_stale_temps(out)
    remove_stale_temps(out / "projector")
    removed = [out / name for name in OUTPUTS if (out / name).is_file()]
    for path in removed:
        path.unlink()
    outputs_cleared(out)
    return removed


def write_run(
    out_dir: str | os.PathLike,
    words: list[str],
    vectors: np.ndarray,
    params: dict[str, np.ndarray],
    vocab: Vocab | None,
    metrics: dict,
    history: object = None,
    config: object = None,
    title: str | None = None,
) -> Path:
    """Write a run folder (see module docstring) and return its path.

    `metrics` gains `vocab_size`, `seed`, `train_seconds` and `tokens_per_second` from the vocab,
    config and history when it does not hold them already. `title` heads loss.png.
    """
    metrics = _finite_metrics(metrics)
    out = ensure_dir(out_dir)
    start_run(out)  # runs that never called it (closed-form methods): no old file stays
    cfg = _config_dict(config)
    kv = KeyedVectors(words, vectors)
    kv.save_text(out / "vectors.txt")
    kv.save_binary(out / "vectors.bin")
    kv.save_projector(out / "projector")

    arrays = {f"p/{name}": np.asarray(value) for name, value in params.items()}
    if vocab is not None:
        arrays.update(vocab.to_arrays("vocab/"))
    arrays["words"] = np.array(kv.words, dtype=np.str_)
    arrays["vectors"] = kv.vectors
    arrays["config"] = np.array(json.dumps(cfg, sort_keys=True, default=str))
    save_npz(out / "model.npz", arrays)

    metrics = dict(metrics)
    if vocab is not None:
        metrics.setdefault("vocab_size", len(vocab))
    if "seed" in cfg:
        metrics.setdefault("seed", cfg["seed"])
    for name in ("train_seconds", "tokens_per_second"):
        if hasattr(history, name):
            metrics.setdefault(name, getattr(history, name))
    name = title or cfg.get("model") or out.name
    from minilm.plots import plot_loss  # here, not at the top: matplotlib takes ~0.5 s to import

    plot_loss(_history_losses(history), out / "loss.png", title=f"{name}: training loss")
    write_json(out / "metrics.json", metrics)
    mark_complete(out, str(cfg.get("model") or "minilm.runs"))
    return out


@dataclass
class Run:
    """A run folder read back: parameters, vocabulary, the exported table, the config, metrics."""

    params: dict[str, np.ndarray]
    vocab: Vocab | None
    vectors: KeyedVectors
    config: dict
    metrics: dict


def load_run(out_dir: str | os.PathLike) -> Run:
    """Read OUT/model.npz (no pickle) and OUT/metrics.json back."""
    out = Path(out_dir)
    check_complete(out)
    arrays = load_npz(out / "model.npz")
    for key in ("words", "vectors", "config"):
        if key not in arrays:
            raise MinilmError(f"{out}/model.npz has no {key!r}; not written by minilm.runs")
    params = {k[2:]: v for k, v in arrays.items() if k.startswith("p/")}
    vocab = Vocab.from_arrays(arrays) if "vocab/words" in arrays else None
    try:
        config = json.loads(str(arrays["config"]))
    except json.JSONDecodeError as err:
        raise MinilmError(f"{out}/model.npz: config is not JSON ({err})") from None
    metrics_path = out / "metrics.json"
    metrics = json.loads(metrics_path.read_text(encoding="utf-8")) if metrics_path.exists() else {}
    kv = KeyedVectors(arrays["words"].tolist(), arrays["vectors"])
    return Run(params, vocab, kv, config, metrics)


EMBEDDING_FIGURES = (
    "category_purity",
    "analogy_accuracy",
    "analogy_accuracy_no_exclusion",
    "similarity_spearman",
)


def summary_line(head: list[str], metrics: dict, out: str | os.PathLike) -> str:
    """A script's last line: what ran, its embedding figures, and where the files are."""
    parts = head + [f"{k} {na.show_key(metrics, k)}" for k in EMBEDDING_FIGURES if k in metrics]
    return "  ".join(parts) + f"  -> {out}"
