#!/usr/bin/env python
"""Nearest neighbours by cosine: the quickest look at what a model has learned.

python scripts/neighbors.py runs/skipgram/vectors.txt king paris walked
python scripts/neighbors.py runs/lab king                  (every model of a lab run side by side)
python scripts/neighbors.py --interactive runs/lab         (type words, see them side by side)
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from pathlib import Path

import numpy as np

from minilm.errors import ArgumentParser, MinilmError, positive_int, run_cli
from minilm.lab import interactive_neighbors, load_run_tables, neighbours_table
from minilm.models.skipgram import oov_vector
from minilm.runs import load_run


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
