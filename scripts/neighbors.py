#!/usr/bin/env python
"""Nearest neighbours by cosine: the quickest look at what a model has learned.

python scripts/neighbors.py runs/skipgram/vectors.txt king cairo walked
python scripts/neighbors.py runs/lab king                  (every model of a lab run side by side)
python scripts/neighbors.py --interactive runs/lab         (type words, see them side by side)
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import IO

import numpy as np

from minilm.data.text import tokenize
from minilm.errors import ArgumentParser, MinilmError, positive_int, run_cli
from minilm.lab_models import ALL_MODELS
from minilm.models.skipgram import oov_vector
from minilm.runs import load_run
from minilm.vectors import KeyedVectors


# ---- every model of a lab run side by side -------------------------------------------------
def load_run_tables(run_dir: str | os.PathLike) -> list[tuple[str, KeyedVectors]]:
    """Every vector table of a lab run folder: (name, table) per OUT/<model>/vectors.txt, plus
    the contextual table where a run wrote one; in the lab's model order, others after.
    A single run folder (vectors.txt inside) or a vectors file gives its own table."""
    run_dir = Path(run_dir)
    if run_dir.is_file():  # one vectors file: a table of its own
        return [(run_dir.stem, KeyedVectors.load(run_dir))]
    if not run_dir.is_dir():
        raise MinilmError(f"{run_dir}: no such file or folder; give a vectors file or a run folder")
    order = {name: i for i, name in enumerate(ALL_MODELS)}
    if (run_dir / "vectors.txt").exists():
        return [(run_dir.name, KeyedVectors.load(run_dir / "vectors.txt"))]
    folders = [p for p in run_dir.iterdir() if (p / "vectors.txt").exists()]
    folders.sort(key=lambda p: (order.get(p.name, len(order)), p.name))
    tables = []
    for folder in folders:
        tables.append((folder.name, KeyedVectors.load(folder / "vectors.txt")))
        ctx = folder / "contextual_vectors.txt"
        if ctx.exists():
            tables.append((f"{folder.name}-ctx", KeyedVectors.load(ctx)))
    if not tables:
        raise MinilmError(f"{run_dir}: no <model>/vectors.txt inside; is it a lab run folder?")
    return tables


def neighbours_table(
    tables: Sequence[tuple[str, KeyedVectors]], word: str, topn: int = 8, per_row: int = 4
) -> str:
    """`word`'s nearest neighbours in every table, side by side (columns of `per_row` tables)."""
    width = 22
    blocks = []
    for s in range(0, len(tables), per_row):
        chunk = tables[s : s + per_row]
        columns = []
        for name, kv in chunk:
            if word in kv:
                cells = [f"{w} {c:.2f}" for w, c in kv.nearest(word, topn)]
            else:
                cells = ["(not in vocabulary)"]
            columns.append([name, "-" * min(width - 1, len(name))] + cells)
        height = max(len(c) for c in columns)
        lines = []
        for r in range(height):
            cells = [f"{(c[r] if r < len(c) else ''):<{width}}"[:width] for c in columns]
            lines.append("".join(cells).rstrip())
        blocks.append("\n".join(lines))
    return "\n\n".join(blocks)


def interactive_neighbors(
    run_dir: str | os.PathLike,
    input_fn: Callable[[str], str] = input,
    output: IO[str] | None = None,
    topn: int = 8,
) -> int:
    """Type a word, see its nearest neighbours in every model of a lab run side by side.

    Reads lines from `input_fn` until an empty line, `quit`, or end of input; several words on
    a line are looked up one after another. Returns the number of words looked up.
    """
    output = output or sys.stdout
    tables = load_run_tables(run_dir)
    print(f"{len(tables)} tables: {', '.join(n for n, _ in tables)}", file=output)
    print("type a word (empty line or 'quit' to stop)", file=output)
    looked_up = 0
    while True:
        try:
            line = input_fn("word> ")
        except EOFError:
            break
        words = tokenize(line)
        if not words or words == ["quit"]:
            break
        for word in words:
            print(f"\nnearest neighbours of {word!r} (cosine)", file=output)
            print(neighbours_table(tables, word, topn), file=output)
            looked_up += 1
        output.flush()
    return looked_up


# ---- one table ----------------------------------------------------------------------------


def subword_vector(path: Path) -> Callable[[str], np.ndarray] | None:
    """For a fastText run (--subwords): a vector for any word, seen or not, from its n-grams."""
    run_dir = path if path.is_dir() else path.parent
    if not (run_dir / "model.npz").exists():
        return None
    run = load_run(run_dir)
    if "W_ngram" not in run.params:
        return None
    cfg = run.config["model_config"]
    return lambda word: oov_vector(run.params, word, cfg["minn"], cfg["maxn"])


def main() -> None:
    ap = ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("vectors", type=Path, help="a vectors file, a run folder, or a lab run folder")
    ap.add_argument("words", nargs="*", help="query words")
    ap.add_argument("--topn", type=positive_int, default=10)
    ap.add_argument("--interactive", action="store_true", help="read words from the keyboard")
    args = ap.parse_args()
    if args.interactive:
        interactive_neighbors(args.vectors, topn=args.topn)
        return
    if not args.words:
        raise MinilmError("give at least one word (or --interactive)")
    tables = load_run_tables(args.vectors)
    if len(tables) == 1:  # a single table: an unknown word is an error, not a note
        kv, from_subwords = tables[0][1], subword_vector(args.vectors)
        for word in args.words:
            if word in kv or from_subwords is None:
                print(f"{word}:")
                neighbours = kv.nearest(word, args.topn)
            else:
                print(f"{word} (unseen: the sum of its character n-gram vectors):")
                neighbours = kv.similar_by_vector(from_subwords(word), args.topn)
            for w, s in neighbours:
                print(f"  {s:7.4f}  {w}")
        return
    for word in args.words:
        print(f"nearest neighbours of {word!r} (cosine)")
        print(neighbours_table(tables, word, args.topn) + "\n")


if __name__ == "__main__":
    run_cli(main)
