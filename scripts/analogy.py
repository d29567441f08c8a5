#!/usr/bin/env python
"""Vector arithmetic on words:  king - man + woman  ->  ranked answers with their scores.

    python scripts/analogy.py runs/skipgram/vectors.txt king - man + woman
    python scripts/analogy.py runs/skipgram/vectors.txt king -man +woman --no-exclude

By convention (word2vec, gensim) the query words are removed from the answers. --no-exclude
keeps them, and often shows that the nearest vector to king - man + woman is king itself: the
convention hides it (Levy & Goldberg 2014; Nissim et al. 2020).
"""

from __future__ import annotations

import argparse
import re
import sys

from minilm.errors import ArgumentParser, MinilmError, positive_int, run_cli
from minilm.vectors import KeyedVectors


def parse_expression(tokens: list[str]) -> tuple[list[str], list[str]]:
    """`king - man + woman` (or `king -man +woman`) -> positive [king, woman], negative [man].
    A word without a sign counts as +."""
    positive, negative, sign = [], [], +1
    for tok in tokens:
        if not tok.strip():
            raise MinilmError("the expression holds an empty word; e.g. king - man + woman")
        if tok in ("+", "-"):
            sign = 1 if tok == "+" else -1
            continue
        if tok[0] in "+-" and len(tok) > 1:
            sign, tok = (1 if tok[0] == "+" else -1), tok[1:]
        (positive if sign > 0 else negative).append(tok.lower())
        sign = +1
    if not positive:
        raise MinilmError(
            "the expression needs at least one word with a + sign, e.g. king - man + woman"
        )
    return positive, negative


def split_signs(argv: list[str]) -> list[str]:
    """argparse takes `-man` for an unknown option: pass it on as the two tokens `-` `man`.

    Only a minus glued to a letter is split (not -h, --options, or numbers such as --topn -3).
    """
    out: list[str] = []
    for tok in argv:
        if tok != "-h" and re.fullmatch(r"-[^\W\d_]\S*", tok):
            out += ["-", tok[1:]]
        else:
            out.append(tok)
    return out


def main() -> None:
    ap = ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("vectors", help="word2vec text/binary, GloVe text, .npz or projector folder")
    ap.add_argument("expression", nargs="+", help="e.g.  king - man + woman")
    ap.add_argument("--topn", type=positive_int, default=10)
    ap.add_argument("--no-exclude", action="store_true", help="keep the query words as answers")
    ap.add_argument("--method", choices=["3cosadd", "3cosmul"], default="3cosadd")
    args = ap.parse_args(split_signs(sys.argv[1:]))
    positive, negative = parse_expression(args.expression)
    kv = KeyedVectors.load(args.vectors)
    answers = kv.most_similar(
        positive, negative, topn=args.topn, exclude_query=not args.no_exclude, method=args.method
    )
    query = set(positive) | set(negative)
    label = "cosine" if args.method == "3cosadd" else "3CosMul"
    print(
        f"{' '.join(args.expression).lower()}"
        f"  ({args.method}, query words {'kept' if args.no_exclude else 'excluded'})"
    )
    print(f"  rank  {label:>7s}  word")
    for rank, (word, score) in enumerate(answers, start=1):
        mark = "  <- query word" if word in query else ""
        print(f"  {rank:4d}  {score:7.4f}  {word}{mark}")


if __name__ == "__main__":
    run_cli(main)
