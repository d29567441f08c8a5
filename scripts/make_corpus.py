"""Generate a bundled corpus with its ground truth.

    python scripts/make_corpus.py world --out corpus/world
    python scripts/make_corpus.py elman --out corpus/elman

With the defaults the output is byte-identical to the committed corpus/world and corpus/elman.
--out follows the output-folder contract (minilm/io.py): a folder holding files minilm did not
write (say, your own train.txt) is refused unless --force.
"""

from __future__ import annotations

import time

from minilm.data import elman, world
from minilm.errors import ArgumentParser, MinilmError, run_cli, seed_arg
from minilm.io import add_out_args, claim_out_dir
from minilm.limits import check_memory

BYTES_PER_SENTENCE = 2048  # generating holds ~1.5 KB a sentence (world, measured) until written
DEFAULTS = {
    "world": (world.DEFAULT_SENTENCES, world.DEFAULT_SEED),
    "elman": (elman.DEFAULT_SENTENCES, elman.DEFAULT_SEED),
}


def main() -> None:
    parser = ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("kind", choices=sorted(DEFAULTS), help="which corpus to generate")
    add_out_args(parser, help="output folder (created if missing)")
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
    if n < 1:
        raise MinilmError(f"--sentences must be >= 1, got {n}")
    check_memory(n * BYTES_PER_SENTENCE, f"--sentences {n}", "lower --sentences")
    out = claim_out_dir(args.out, "make_corpus.py", args.force)
    start = time.perf_counter()
    if args.kind == "world":
        corpus = world.write_world(out, n, seed)
        tokens = sum(len(s.split()) for lines in corpus.splits.values() for s in lines)
    else:
        tokens = sum(len(s) for s in elman.write_elman(out, n, seed))
    seconds = time.perf_counter() - start
    print(f"{args.kind}: {n} sentences, {tokens} tokens in {seconds:.1f} s -> {args.out}")


if __name__ == "__main__":
    run_cli(main)
