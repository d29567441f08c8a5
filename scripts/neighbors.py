#!/usr/bin/env python
"""Nearest neighbours by cosine: the quickest look at what a model has learned.

python scripts/neighbors.py runs/skipgram/vectors.txt king paris walked
python scripts/neighbors.py --interactive runs/lab     (every run folder side by side)
"""

from __future__ import annotations

import argparse
from pathlib import Path

from minilm.errors import ArgumentParser, MinilmError, positive_int, run_cli
from minilm.vectors import KeyedVectors


def _tables(path: Path) -> dict[str, KeyedVectors]:
    """One table for a vectors file; for a folder, every `*/vectors.txt` below it by run name."""
    if path.is_file():
        return {path.stem: KeyedVectors.load(path)}
    found = sorted(path.glob("vectors.txt")) + sorted(path.glob("*/vectors.txt"))
    if not found:
        raise MinilmError(f"{path}: no vectors.txt in it or in its sub-folders")
    return {(p.parent.name): KeyedVectors.load(p) for p in found}


def _show(tables: dict[str, KeyedVectors], word: str, topn: int) -> None:
    print(f"{word}:")
    for name, kv in tables.items():
        if word not in kv:
            print(f"  {name:>14s}  (not in vocabulary)")
            continue
        pairs = "  ".join(f"{w} {s:.2f}" for w, s in kv.nearest(word, topn))
        print(f"  {name:>14s}  {pairs}")


def main() -> None:
    ap = ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("vectors", type=Path, help="a vectors file, or a folder of run folders")
    ap.add_argument("words", nargs="*", help="query words")
    ap.add_argument("--topn", type=positive_int, default=10)
    ap.add_argument("--interactive", action="store_true", help="read words from the keyboard")
    args = ap.parse_args()
    if not args.vectors.exists():
        raise MinilmError(f"{args.vectors}: no such file or folder")
    tables = _tables(args.vectors)
    if not args.interactive:
        if not args.words:
            raise MinilmError("give at least one word (or --interactive)")
        if len(tables) == 1:  # a single table: an unknown word is an error, not a note
            kv = next(iter(tables.values()))
            for word in args.words:
                print(f"{word}:")
                for w, s in kv.nearest(word, args.topn):
                    print(f"  {s:7.4f}  {w}")
            return
        for word in args.words:
            _show(tables, word, args.topn)
        return
    print(f"{len(tables)} tables: {', '.join(tables)}. Type a word (empty line or Ctrl-D ends).")
    while True:
        try:
            word = input("> ").strip().lower()
        except EOFError:
            break
        if not word:
            break
        _show(tables, word, args.topn)


if __name__ == "__main__":
    run_cli(main)
