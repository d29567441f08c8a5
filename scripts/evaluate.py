#!/usr/bin/env python
"""Evaluate any word vectors (ours or anyone's word2vec / GloVe / .npz file) with one protocol.

    python scripts/evaluate.py runs/skipgram/vectors.txt        # the truth of the run's corpus
    python scripts/evaluate.py vectors.bin --corpus /data/wiki  # the truth files beside a corpus
    python scripts/evaluate.py GoogleNews-vectors-negative300.bin --analogies questions-words.txt

Only the ground truth you name is scored: the files given with --analogies / --similarity /
--categories; else those beside --corpus (categories.tsv, analogies.txt, similarity.tsv); else,
for a run folder of ours, those beside the corpus it was trained on (read from its model.npz).
Anything else is an error, never a silent fall-back to the bundled world. Words missing from the
vocabulary are counted and reported for every file.

Analogies are scored with the query words excluded (word2vec's convention) AND not excluded;
--no-exclude makes the second the headline figure.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

from minilm import na
from minilm.encoders import KINDS, load_encoder
from minilm.errors import ArgumentParser, MinilmError, positive_int, run_cli
from minilm.evaluate import category_purity_details, evaluate_analogies, evaluate_similarity
from minilm.mteb import COLUMNS, build_tasks, run_mteb
from minilm.na import NotMeasurable
from minilm.truth import BUNDLED_WORLD, Truth, read_categories
from minilm.vectors import KeyedVectors

FLAGS = {  # flag -> the file's name beside a corpus
    "analogies": "analogies.txt",
    "similarity": "similarity.tsv",
    "categories": "categories.tsv",
}


def parse_args() -> argparse.Namespace:
    ap = ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("vectors", help="word2vec text/binary, GloVe text, .npz or projector folder")
    ap.add_argument("--analogies", help="questions-words.txt format")
    ap.add_argument("--similarity", help="word1<TAB>word2<TAB>score")
    ap.add_argument("--categories", help="word<TAB>category")
    ap.add_argument("--corpus", help="score on the truth files beside this corpus (file or folder)")
    ap.add_argument(
        "--column",
        type=positive_int,
        default=1,
        help="category column (default 1, the first after the word)",
    )
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
    ap.add_argument(
        "--mteb",
        choices=KINDS,
        metavar="ENCODER",
        help="also the small MTEB with this sentence encoder: "
        f"{', '.join(KINDS)} (docs/13-search-mteb.md)",
    )
    return ap.parse_args()


def run_corpus(vectors: str) -> Path | None:
    """The corpus a run of ours was trained on (its model.npz's config), else None."""
    path = Path(vectors)
    npz = (path if path.is_dir() else path.parent) / "model.npz"
    if not npz.is_file():
        return None
    with np.load(npz, allow_pickle=False) as arrays:
        if "config" not in arrays.files:
            return None
        config = json.loads(str(arrays["config"]))
    if not isinstance(config, dict) or "corpus" not in config:
        return None
    return Path(config["corpus"] or BUNDLED_WORLD)  # no --corpus: the scripts' default, world


def truth_files(args: argparse.Namespace) -> tuple[dict[str, Path], str]:
    """({file name: path}, where they came from): given files, --corpus, or the run's corpus."""
    given = {FLAGS[k]: Path(getattr(args, k)) for k in FLAGS if getattr(args, k)}
    if given:
        if args.corpus:
            raise MinilmError("give evaluation files or --corpus, not both")
        return given, "given"
    corpus = Path(args.corpus) if args.corpus else run_corpus(args.vectors)
    if corpus is None:
        raise MinilmError(
            f"{args.vectors}: no ground truth to score against; give "
            "--analogies/--similarity/--categories files or --corpus FOLDER"
        )
    truth = Truth.beside(corpus)
    files = {n: truth.files[n] for n in FLAGS.values() if n in truth.files}
    if not files:
        raise MinilmError(
            f"{truth.folder} has no {', '.join(FLAGS.values())}; "
            "give the files with --analogies/--similarity/--categories"
        )
    source = "beside --corpus" if args.corpus else "beside the run's training corpus"
    return files, f"{source} {truth.folder}"


def categories_or_none(kv: KeyedVectors, path: Path, column: int) -> dict:
    """category_purity_details, or purity None (with the reason) when too few words are known."""
    read_categories(path, column)  # a malformed file is bad input, not a missing figure
    try:
        return category_purity_details(kv, path, column=column)
    except NotMeasurable as err:
        return na.mark(
            {"column": column, "k": None, "n_words": None, "n_oov": None}, "purity", str(err)
        )


def evaluate(kv: KeyedVectors, files: dict[str, Path], args: argparse.Namespace) -> dict:
    out: dict = {}
    if (path := files.get("analogies.txt")) is not None:
        out["analogies"] = evaluate_analogies(
            kv,
            path,
            exclude_query=not args.no_exclude,
            oov_wrong=args.oov_wrong,
            method=args.method,
        )
    if (path := files.get("similarity.tsv")) is not None:
        out["similarity"] = evaluate_similarity(kv, path)
    if (path := files.get("categories.tsv")) is not None:
        out["categories"] = categories_or_none(kv, path, args.column)
    return out


def _fmt(x: float | None) -> str:
    return "n/a" if x is None else f"{x:.3f}"


def analogy_row(name: str, d: dict, with_ranks: bool = True) -> str:
    if d["accuracy_excluded"] is None:  # nothing scored: one n/a with the reason
        return f"  {name[:28]:28s} {d['n_evaluated']:5d} {na.show_key(d, 'accuracy_excluded')}"
    row = (
        f"  {name[:28]:28s} {d['n_evaluated']:5d} {_fmt(d['accuracy_excluded']):>9s}"
        f" {_fmt(d['accuracy_no_exclusion']):>9s}"
    )
    if with_ranks:
        row += f" {_fmt(d['query_word_share']):>11s} {_fmt(d['median_rank']):>9s}"
    return row


def print_analogies(a: dict, path: Path, args: argparse.Namespace) -> None:
    unknown = "wrong" if args.oov_wrong else "skipped"
    print(
        f"\nanalogies ({path}, {a['method']}): {a['n_evaluated']} of {a['n_questions']} "
        f"questions scored, {a['n_oov']} with unknown words ({unknown})"
    )
    print(
        f"  {'section':28s} {'n':>5s} {'excluded':>9s} {'not excl.':>9s} "
        f"{'query top-1':>11s} {'med. rank':>9s}"
    )
    for s in a["sections"]:
        print(analogy_row(s["name"], s))
    for kind in ("semantic", "syntactic"):
        print(analogy_row(kind, a[kind], with_ranks=False))
    print(analogy_row("overall", a))
    print(
        f"  headline accuracy ({'not ' if args.no_exclude else ''}excluding query words): "
        f"{na.show_key(a, 'accuracy')}"
    )


def print_report(kv, out: dict, files: dict[str, Path], source: str, args) -> None:
    print(f"{args.vectors}: {len(kv)} words x {kv.dim} dimensions; ground truth {source}")
    if "analogies" in out:
        print_analogies(out["analogies"], files["analogies.txt"], args)
    if "similarity" in out:
        s = out["similarity"]
        unknown = f", e.g. {', '.join(s['oov_examples'][:3])}" if s["oov_examples"] else ""
        print(
            f"\nsimilarity ({files['similarity.tsv']}): Spearman {na.show_key(s, 'spearman')}, "
            f"Pearson {na.show_key(s, 'pearson')} on {s['n_used']} of {s['n_pairs']} pairs "
            f"({s['n_oov']} with unknown words{unknown})"
        )
    if "categories" in out:
        c = out["categories"]
        print(
            f"\ncategory purity ({files['categories.tsv']}, column {c['column']}, k={c['k']}): "
            + (
                f"{_fmt(c['purity'])} over {c['n_words']} words ({c['n_oov']} unknown)"
                if c["purity"] is not None
                else na.show_key(c, "purity")
            )
        )


def mteb_row(args: argparse.Namespace) -> dict:
    """The small MTEB's scores of the vectors' encoder on the truth beside the corpus."""
    corpus = Path(args.corpus) if args.corpus else run_corpus(args.vectors)
    if corpus is None:
        raise MinilmError("--mteb needs --corpus FOLDER (paraphrases.tsv, categories.tsv)")
    source = Path(args.vectors)
    if source.is_file() and (source.parent / "model.npz").exists():
        source = source.parent  # a run's vectors: its vocabulary's counts, its transformer
    tasks = build_tasks(Truth.beside(corpus).folder, np.random.default_rng(0))
    encoder = load_encoder(source, args.mteb).fit(tasks.a + tasks.b)
    return {"encoder": encoder.kind} | run_mteb(encoder.encode, tasks)


def main() -> None:
    args = parse_args()
    kv = KeyedVectors.load(args.vectors)
    files, source = truth_files(args)
    out = {
        "vectors": str(args.vectors),
        "vocab_size": len(kv),
        "dim": kv.dim,
        "truth": {n: str(p) for n, p in files.items()},
        "truth_source": source,
    }
    out |= evaluate(kv, files, args)
    if args.mteb:
        out["mteb"] = mteb_row(args)
    if args.json:
        print(json.dumps(out, indent=2))
    else:
        print_report(kv, out, files, source, args)
        if "mteb" in out:
            row = out["mteb"]
            print(
                f"\nsmall MTEB ({row['encoder']}): "
                + ", ".join(f"{k} {na.show_key(row, k)}" for k in COLUMNS)
            )


if __name__ == "__main__":
    run_cli(main)
