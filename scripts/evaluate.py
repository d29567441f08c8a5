#!/usr/bin/env python
"""Evaluate any word vectors (ours or anyone's word2vec / GloVe / .npz file) with one protocol.

    python scripts/evaluate.py runs/skipgram/vectors.txt
    python scripts/evaluate.py GoogleNews-vectors-negative300.bin --analogies questions-words.txt

Analogies are scored with the query words excluded (word2vec's convention) AND not excluded;
--no-exclude makes the second the headline figure. Defaults: the bundled world corpus's
analogies.txt, similarity.tsv and categories.tsv.
"""

from __future__ import annotations

import argparse
import json

from minilm.errors import ArgumentParser, MinilmError, run_cli
from minilm.evaluate import (
    bundled_world_file,
    category_purity_details,
    evaluate_analogies,
    evaluate_similarity,
)
from minilm.vectors import KeyedVectors


def _fmt(x: float | None) -> str:
    return "n/a" if x is None else f"{x:.3f}"


def main() -> None:
    ap = ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("vectors", help="word2vec text/binary, GloVe text, .npz or projector folder")
    ap.add_argument("--analogies", help="questions-words.txt format (default: world's)")
    ap.add_argument("--similarity", help="word1<TAB>word2<TAB>score (default: world's)")
    ap.add_argument("--categories", help="word<TAB>category (default: world's)")
    ap.add_argument("--column", type=int, default=1, help="category column (default 1)")
    ap.add_argument("--method", choices=["3cosadd", "3cosmul"], default="3cosadd")
    ap.add_argument(
        "--no-exclude",
        action="store_true",
        help="headline accuracy without excluding the query words",
    )
    ap.add_argument(
        "--oov-wrong",
        action="store_true",
        help="count questions with unknown words as wrong (default: skip them)",
    )
    ap.add_argument("--json", action="store_true", help="print all figures as JSON")
    args = ap.parse_args()

    kv = KeyedVectors.load(args.vectors)
    analogies = args.analogies or bundled_world_file("analogies.txt")
    similarity = args.similarity or bundled_world_file("similarity.tsv")
    categories = args.categories or bundled_world_file("categories.tsv")
    if not (analogies or similarity or categories):
        raise MinilmError("no evaluation file given and no bundled corpus/world found")
    out: dict = {"vectors": str(args.vectors), "vocab_size": len(kv), "dim": kv.dim}
    if analogies:
        out["analogies"] = evaluate_analogies(
            kv,
            analogies,
            exclude_query=not args.no_exclude,
            oov_wrong=args.oov_wrong,
            method=args.method,
        )
    if similarity:
        out["similarity"] = evaluate_similarity(kv, similarity)
    if categories:
        out["categories"] = category_purity_details(kv, categories, column=args.column)

    if args.json:
        print(json.dumps(out, indent=2))
        return
    print(f"{args.vectors}: {len(kv)} words x {kv.dim} dimensions")
    if analogies:
        a = out["analogies"]
        print(
            f"\nanalogies ({analogies}, {a['method']}): {a['n_evaluated']} questions, "
            f"{a['n_oov']} with unknown words ({'wrong' if args.oov_wrong else 'skipped'})"
        )
        print(
            f"  {'section':28s} {'n':>5s} {'excluded':>9s} {'not excl.':>9s} "
            f"{'query top-1':>11s} {'med. rank':>9s}"
        )
        for s in a["sections"]:
            print(
                f"  {s['name'][:28]:28s} {s['n_evaluated']:5d} {_fmt(s['accuracy_excluded']):>9s}"
                f" {_fmt(s['accuracy_no_exclusion']):>9s} {_fmt(s['query_word_share']):>11s}"
                f" {_fmt(s['median_rank']):>9s}"
            )
        for kind in ("semantic", "syntactic"):
            k = a[kind]
            print(
                f"  {kind:28s} {k['n_evaluated']:5d} {_fmt(k['accuracy_excluded']):>9s}"
                f" {_fmt(k['accuracy_no_exclusion']):>9s}"
            )
        print(
            f"  {'overall':28s} {a['n_evaluated']:5d} {_fmt(a['accuracy_excluded']):>9s}"
            f" {_fmt(a['accuracy_no_exclusion']):>9s} {_fmt(a['query_word_share']):>11s}"
            f" {_fmt(a['median_rank']):>9s}"
        )
        print(
            f"  headline accuracy ({'not ' if args.no_exclude else ''}excluding query words): "
            f"{_fmt(a['accuracy'])}"
        )
    if similarity:
        s = out["similarity"]
        print(
            f"\nsimilarity ({similarity}): Spearman {_fmt(s['spearman'])}, "
            f"Pearson {_fmt(s['pearson'])} on {s['n_used']} of {s['n_pairs']} pairs"
        )
    if categories:
        c = out["categories"]
        print(
            f"\ncategory purity ({categories}, column {c['column']}, k={c['k']}): "
            f"{_fmt(c['purity'])} over {c['n_words']} words ({c['n_oov']} unknown)"
        )


if __name__ == "__main__":
    run_cli(main)
