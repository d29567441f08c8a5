#!/usr/bin/env python
"""Semantic search with any run: encode a file of sentences once, then ask it questions.

python scripts/search.py index runs/lab/transformer corpus/world/test.txt --out runs/idx-tf
python scripts/search.py index runs/lab/skipgram corpus/world/test.txt --out runs/idx-sgns
python scripts/search.py query runs/idx-tf "the dog eats the bread" -k 5
echo "the capital of iran" | python scripts/search.py query runs/idx-sgns   (one query a line)

`index` encodes each line of SENTENCES with RUN (a run folder or a word2vec-format vectors
file; --encoder: auto picks the contrastive model when the run has sentence_model.npz, else the
transformer's mean pool, and SIF for static vectors; see minilm/encoders.py) and writes
OUT/index.npy (unit float32 rows), OUT/sentences.txt and OUT/index.json (how it was encoded);
OUT follows the trainers' output-folder contract (an empty --out or a folder of files minilm
did not write is refused unless --force; `query` refuses an index whose writing did not end).
`query` encodes each query the same way and prints the k nearest sentences with their cosines
(exact search in NumPy, minilm/search.py). docs/13-search-mteb.md says how fast, and what the
encoders are worth on the world's ground truth.
"""

from __future__ import annotations

import sys
import time

from minilm.data.text import read_lines
from minilm.encoders import KINDS, encoder_from_meta, load_encoder
from minilm.errors import ArgumentParser, MinilmError, positive_int, run_cli
from minilm.io import add_out_args, claim_out_dir
from minilm.search import SentenceIndex, unit_rows


def parse_args():
    ap = ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = ap.add_subparsers(dest="command", required=True)
    ix = sub.add_parser("index", help="encode a file of sentences (one a line) into an index")
    ix.add_argument("run", help="run folder (model.npz) or a word2vec-format vectors file")
    ix.add_argument("sentences", help="text file, one sentence a line (.gz/.bz2 fine)")
    add_out_args(ix, help="index folder to write (the output-folder contract: minilm/io.py)")
    ix.add_argument("--encoder", choices=KINDS, default="auto")
    q = sub.add_parser("query", help="the nearest sentences of each query")
    q.add_argument("index", help="index folder written by `index`")
    q.add_argument("queries", nargs="*", help="query sentences (none: read one a line from stdin)")
    q.add_argument("-k", type=positive_int, default=5, help="sentences per query")
    return ap.parse_args()


def build(args) -> None:
    t0 = time.perf_counter()
    out = claim_out_dir(args.out, "search.py", args.force)  # refused before anything is read
    lines = read_lines(args.sentences, flag="SENTENCES")
    sentences = [s for s in (line.strip() for line in lines) if s]
    if not sentences:
        raise MinilmError(f"{args.sentences}: no sentences")
    encoder = load_encoder(args.run, args.encoder).fit(sentences)
    vectors = unit_rows(encoder.encode(sentences))
    SentenceIndex(vectors, sentences, encoder.meta).save(out)
    seconds = time.perf_counter() - t0
    print(
        f"indexed {len(sentences)} sentences with {encoder.kind} ({vectors.shape[1]} dims) "
        f"in {seconds:.1f}s -> {out}"
    )


def answer(args) -> None:
    index = SentenceIndex.load(args.index)
    encoder = encoder_from_meta(index.meta)
    queries = args.queries or [line.strip() for line in sys.stdin if line.strip()]
    if not queries:
        raise MinilmError("no query: give queries as arguments or one a line on stdin")
    results = index.search(encoder.encode(queries), args.k)
    for query, hits in zip(queries, results, strict=True):
        print(f"> {query}")
        for sentence, cosine in hits:
            print(f"  {cosine:6.3f}  {sentence}")


def main() -> None:
    args = parse_args()
    build(args) if args.command == "index" else answer(args)


if __name__ == "__main__":
    run_cli(main)
