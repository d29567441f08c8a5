#!/usr/bin/env python
"""One HTML page to explore word vectors: every model side by side, offline.

    python scripts/explore.py runs/lab --out explore.html          # a lab run: every model
    python scripts/explore.py runs/sgns runs/cbow/vectors.txt --out page.html
    python scripts/explore.py vectors.bin --top 20000 --analogies questions-words.txt --out p.html

The page opens from disk (double click; no server, no network): 2-D maps (PCA, t-SNE) with
hover, zoom and pan; click or type a word for its 10 nearest neighbours in every table; an
analogy box with the query words excluded and kept side by side; a contextual model's
occurrences of a polysemous word coloured by sense; the lab report's tables. `--top N` keeps the
N most frequent words of each table (word2vec files are written in frequency order). The lab
writes the same page as OUT/explore.html. What to try first: README, "Explore a run".
"""

from __future__ import annotations

import argparse
from pathlib import Path

from minilm.errors import ArgumentParser, MinilmError, positive_int, run_cli
from minilm.explore import write_page
from minilm.explore_sources import DEFAULT_MAP_WORDS, gather


def main() -> None:
    ap = ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument(
        "inputs",
        nargs="+",
        type=Path,
        help="lab run folders, run folders, or vector files (word2vec, GloVe, .npz)",
    )
    ap.add_argument("--out", type=Path, required=True, help="the page to write (.html)")
    ap.add_argument(
        "--top",
        type=positive_int,
        default=None,
        help="keep the N most frequent words of each table (default: all)",
    )
    ap.add_argument("--categories", type=Path, help="word<TAB>category: colours the maps")
    ap.add_argument("--analogies", type=Path, help="questions-words file: the analogy examples")
    ap.add_argument(
        "--map-words",
        type=positive_int,
        default=DEFAULT_MAP_WORDS,
        help="words on the maps when no categories are given (the most frequent)",
    )
    ap.add_argument("--seed", type=int, default=0, help="t-SNE's seed")
    args = ap.parse_args()
    if args.out.is_dir():
        raise MinilmError(f"--out {args.out} is a folder; give the page's file name")
    data = gather(args.inputs, args.top, args.categories, args.analogies, args.map_words, args.seed)
    path = write_page(args.out, data)
    n = max(len(t.words) for t in data.tables)
    size = path.stat().st_size / 1e6
    print(f"{len(data.tables)} tables, {n} words each: {path} ({size:.2f} MB)")


if __name__ == "__main__":
    run_cli(main)
