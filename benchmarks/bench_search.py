"""How fast is exact search in NumPy at 100k sentences? And encoding them?

    python benchmarks/bench_search.py                                   # search only
    python benchmarks/bench_search.py --run runs/lab/transformer        # + encoding speed

Search: N unit float32 vectors of D dims (random: search time does not depend on the values),
one query at a time and 100 at once; int8 (asymmetric, float query) and binary (Hamming, then
the top 50 rescored in float). Encoding: sentences of the world's train split per second with
the run's encoder (minilm/encoders.py). One thread (--threads).
"""

from __future__ import annotations

import time

import numpy as np

from minilm.data.text import read_lines
from minilm.encoders import KINDS, load_encoder
from minilm.errors import ArgumentParser, positive_int, run_cli
from minilm.quantize import (
    binary_encode,
    binary_search,
    hamming_top_k,
    int8_decode,
    int8_encode,
    int8_scale,
)
from minilm.search import top_k, unit_rows
from minilm.threads import apply_threads
from minilm.truth import BUNDLED_WORLD


def best_of(f, repeat: int = 5) -> float:
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        f()
        times.append(time.perf_counter() - t0)
    return min(times)


def search_speed(n: int, dim: int, k: int = 10) -> None:
    rng = np.random.default_rng(0)
    index = unit_rows(rng.normal(size=(n, dim)))
    queries = unit_rows(rng.normal(size=(100, dim)))
    one = best_of(lambda: top_k(index, queries[:1], k))
    many = best_of(lambda: top_k(index, queries, k), 3)
    scale = int8_scale(index)
    codes8 = int8_encode(index, scale)
    int8 = best_of(lambda: top_k(int8_decode(codes8, scale), queries[:1], k), 3)
    bits = binary_encode(index)
    ham = best_of(lambda: hamming_top_k(bits, binary_encode(queries[:1]), k))
    rescored = best_of(lambda: binary_search(bits, index, queries[:1], k, 50))
    mb = index.nbytes / 2**20
    print(
        f"N={n} D={dim}: float32 {mb:.1f} MiB, int8 {codes8.nbytes / 2**20:.1f} MiB, "
        f"binary {bits.nbytes / 2**20:.2f} MiB"
    )
    print(
        f"  exact float32: {one * 1e3:.1f} ms for 1 query, {many * 1e3:.0f} ms for 100 "
        f"({many * 10:.2f} ms a query)"
    )
    print(
        f"  int8 decoded each query: {int8 * 1e3:.1f} ms; binary Hamming: {ham * 1e3:.1f} ms; "
        f"binary + rescore 50: {rescored * 1e3:.1f} ms"
    )


def encode_speed(run: str, kind: str, n: int) -> None:
    sentences = list(read_lines(BUNDLED_WORLD / "train.txt"))[:n]
    enc = load_encoder(run, kind).fit(sentences)
    seconds = best_of(lambda: enc.encode(sentences), 1)
    print(
        f"  encoding with {enc.kind}: {n / seconds:,.0f} sentences/s "
        f"(100k sentences in {1e5 / (n / seconds):.0f} s)"
    )


def main() -> None:
    ap = ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--n", type=positive_int, default=100_000)
    ap.add_argument("--dim", type=positive_int, default=128)
    ap.add_argument("--run", help="a run folder: also time its encoder")
    ap.add_argument("--encoder", choices=KINDS, default="auto")
    ap.add_argument("--encode-n", type=positive_int, default=5000)
    ap.add_argument("--threads", type=positive_int, default=1)
    args = ap.parse_args()
    apply_threads(args.threads)
    search_speed(args.n, args.dim)
    if args.run:
        encode_speed(args.run, args.encoder, args.encode_n)


if __name__ == "__main__":
    run_cli(main)
