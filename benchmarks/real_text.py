"""Build a real-English corpus from texts already on this machine (no network), for benchmarks.

Sources, each used when it is installed (the corpus says which it used in `SOURCES.txt`):
- gensim's bundled test texts: the shortened English Wikipedia dump (206 articles, wiki markup
  stripped with gensim's own filter) and `lee_background.cor` (Australian news);
- the King James Bible (public domain), printed by Debian's `bible-kjv` package
  (`apt-get install bible-kjv`): one chapter a document.
Together about 1.3M words. Nothing of these texts is shipped with minilm: the corpus is built
where it is used, into `--out`.

Layout (minilm's `--corpus` folder): `train.txt`, `valid.txt`, `test.txt`, one sentence a line,
split by whole documents (every 20th document to valid, the next to test), so a language model's
held-out perplexity is measured on unseen articles and chapters. Beside them, gensim's
evaluation files in minilm's formats: `analogies.txt` (word2vec's questions-words),
`similarity.tsv` (WordSim-353) and `simlex.tsv` (SimLex-999).

Run:  pip install -e '.[bench]' && python benchmarks/real_text.py --out runs/real_text
"""

from __future__ import annotations

import bz2
import re
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

from minilm.data.documents import write_splits
from minilm.errors import ArgumentParser, MinilmError, run_cli
from minilm.io import claim_out_dir, write_bytes_atomic, write_text

ENWIKI = "enwiki-latest-pages-articles1.xml-p000000010p000030302-shortened.bz2"
_KJV_VERSE = re.compile(r"^([1-3]?[A-Za-z]+)(\d+):\d+\s+(.*)$")


def gensim_test_data() -> Path:
    try:
        import gensim
    except ImportError as err:
        raise MinilmError("gensim is not installed: pip install -e '.[bench]'") from err
    return Path(gensim.__file__).parent / "test" / "test_data"


def wikipedia_documents(data: Path) -> Iterator[str]:
    from gensim.corpora.wikicorpus import extract_pages, filter_wiki

    with bz2.open(data / ENWIKI) as f:
        for _title, text, _pageid in extract_pages(f):
            plain = filter_wiki(text)
            if not plain.lstrip().upper().startswith("#REDIRECT"):
                # filter_wiki leaves section headings as "== Title ==" lines: drop them
                yield " ".join(
                    line for line in plain.splitlines() if not line.strip().startswith("=")
                )


def news_documents(data: Path) -> Iterator[str]:
    with open(data / "lee_background.cor", encoding="utf-8") as f:
        yield from (line for line in f if line.strip())


def bible_documents() -> Iterator[str]:
    """One chapter a document, from `bible -f` (Debian's bible-kjv); nothing if not installed."""
    if shutil.which("bible") is None:
        return
    out = subprocess.run(
        ["bible", "-f", "gen1:1-rev22:21"], capture_output=True, text=True, check=True
    ).stdout
    chapter, verses = None, []
    for line in out.splitlines():
        match = _KJV_VERSE.match(line)
        if not match:
            continue
        book_chapter = match.group(1) + match.group(2)
        if book_chapter != chapter and verses:
            yield " ".join(verses)
            verses = []
        chapter = book_chapter
        verses.append(match.group(3))
    if verses:
        yield " ".join(verses)


def write_truth_files(data: Path, out: Path) -> None:
    copies = (("questions-words.txt", "analogies.txt"), ("wordsim353.tsv", "similarity.tsv"))
    for source, target in (*copies, ("simlex999.txt", "simlex.tsv")):
        # already word1<TAB>word2<TAB>score with "#" comment lines; atomic, as every output
        write_bytes_atomic(out / target, (data / source).read_bytes())


SOURCE_FILES = (
    ENWIKI,
    "lee_background.cor",
    "questions-words.txt",
    "wordsim353.tsv",
    "simlex999.txt",
)


SOURCE_OF = {"wikipedia": ENWIKI, "news": "lee_background.cor", "kjv-bible": "bible -f (bible-kjv)"}


def build(out: Path) -> dict[str, int]:
    """Write the corpus into `out`; return the number of words per split."""
    data = gensim_test_data()
    missing = [name for name in SOURCE_FILES if not (data / name).is_file()]
    if missing:
        raise MinilmError(
            f"{data} lacks {', '.join(missing)}: this gensim has no test data; reinstall it "
            "with pip install -e '.[bench]'"
        )
    out.mkdir(parents=True, exist_ok=True)
    sources = [("wikipedia", wikipedia_documents(data)), ("news", news_documents(data))]
    bible = list(bible_documents())
    if bible:
        sources.append(("kjv-bible", iter(bible)))
    else:
        print("note: Debian's bible-kjv is not installed: the corpus has no book", file=sys.stderr)
    used: list[str] = []
    try:
        words = write_splits(out, sources, used)
    except (OSError, EOFError, ValueError, subprocess.SubprocessError) as err:
        source = SOURCE_OF.get(used[-1], used[-1]) if used else "a source"
        raise MinilmError(
            f"{source} could not be read ({type(err).__name__}: {err}); reinstall it "
            "(pip install -e '.[bench]' for gensim's test data)"
        ) from None
    write_truth_files(data, out)
    write_text(
        out / "SOURCES.txt", "built by benchmarks/real_text.py from: " + ", ".join(used) + "\n"
    )
    return words


def ensure(out: Path) -> Path:
    """Build the corpus into `out` unless it is already there; return `out`."""
    if not (out / "train.txt").is_file():
        build(out)
    return out


def main() -> None:
    ap = ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", type=Path, default=Path("runs/real_text"), help="corpus folder")
    ap.add_argument("--force", action="store_true", help="write into a folder minilm did not write")
    args = ap.parse_args()
    words = build(claim_out_dir(args.out, "real_text.py", args.force))
    print(f"{args.out}: " + ", ".join(f"{split} {n:,} words" for split, n in words.items()))


if __name__ == "__main__":
    run_cli(main)
