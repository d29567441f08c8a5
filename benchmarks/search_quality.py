"""Quantised search and hybrid retrieval for any run, on the bundled world (docs/14).

    python benchmarks/search_quality.py runs/lab/transformer --encoder contrastive
    python benchmarks/search_quality.py runs/lab/skipgram --encoder sif

Prints a table, then the same as one line of JSON: "quantised" is the recall@10 of int8,
binary and binary + float rescoring of the top 50 against exact float32 search (the valid
sentences as queries over the distinct test sentences; minilm/quantize.py:quantised_recall),
with the bytes a vector;
"hybrid" is nDCG@10 of BM25, the dense encoder and their reciprocal-rank fusion per kind of
query (minilm/lab_search.py:hybrid_table). The same functions give the lab's section 9.
"""

from __future__ import annotations

import json

import numpy as np

from minilm.encoders import KINDS, load_encoder
from minilm.errors import ArgumentParser, run_cli
from minilm.lab_search import hybrid_table, quant_recall
from minilm.mteb import build_tasks
from minilm.threads import apply_threads
from minilm.truth import BUNDLED_WORLD


def main() -> None:
    ap = ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("run", help="run folder (model.npz) or a word2vec-format vectors file")
    ap.add_argument("--encoder", choices=KINDS, default="auto")
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    apply_threads(1)
    tasks = build_tasks(BUNDLED_WORLD, np.random.default_rng(args.seed))
    encoder = load_encoder(args.run, args.encoder).fit(tasks.a + tasks.b)
    out = {
        "encoder": encoder.kind,
        "quantised": quant_recall(encoder, BUNDLED_WORLD),
        "hybrid": hybrid_table(encoder, tasks),
    }
    q = out["quantised"]
    print(
        f"{args.run} ({encoder.kind}), {q['n_docs']} sentences: recall@10 against float32 "
        f"int8 {q['int8_recall']:.3f}, binary {q['binary_recall']:.3f}, binary + rescoring "
        f"{q['binary_rescored_recall']:.3f}; bytes a vector {q['float32_bytes']} / "
        f"{q['int8_bytes']} / {q['binary_bytes']}"
    )
    print(f"{'nDCG@10':34s} {'n':>4s} {'BM25':>6s} {'dense':>6s} {'RRF':>6s}")
    for kind, r in out["hybrid"].items():
        scores = " ".join(f"{r[k]:6.3f}" for k in ("bm25", "dense", "hybrid"))
        print(f"{kind:34s} {r['n_queries']:4d} {scores}")
    print(json.dumps(out))  # the same, one line


if __name__ == "__main__":
    run_cli(main)
