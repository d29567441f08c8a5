"""Generate a bundled corpus with its ground truth.

    python scripts/make_corpus.py world --out corpus/world
    python scripts/make_corpus.py elman --out corpus/elman

With the defaults the output is byte-identical to the committed corpus/world and corpus/elman.
"""

from __future__ import annotations

import time

from minilm.data import elman, world
from minilm.errors import ArgumentParser, run_cli, seed_arg

DEFAULTS = {
    "world": (world.DEFAULT_SENTENCES, world.DEFAULT_SEED),
    "elman": (elman.DEFAULT_SENTENCES, elman.DEFAULT_SEED),
}


def main() -> None:
    parser = ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("kind", choices=sorted(DEFAULTS), help="which corpus to generate")
    parser.add_argument("--out", required=True, help="output folder (created if missing)")
    parser.add_argument(
        "--sentences",
        type=int,
        default=None,
        help="number of sentences (default: world 75000 over all splits, elman 10000)",
    )
    parser.add_argument(
        "--seed", type=seed_arg, default=None, help="random seed (default: world 1, elman 1990)"
    )
    args = parser.parse_args()
    n_default, seed_default = DEFAULTS[args.kind]
    n = n_default if args.sentences is None else args.sentences
    seed = seed_default if args.seed is None else args.seed
    start = time.perf_counter()
    if args.kind == "world":
        corpus = world.write_world(args.out, n, seed)
        tokens = sum(len(s.split()) for lines in corpus.splits.values() for s in lines)
    else:
        tokens = sum(len(s) for s in elman.write_elman(args.out, n, seed))
    seconds = time.perf_counter() - start
    print(f"{args.kind}: {n} sentences, {tokens} tokens in {seconds:.1f} s -> {args.out}")


if __name__ == "__main__":
    run_cli(main)
