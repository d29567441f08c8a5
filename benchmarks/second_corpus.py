"""Build a second real-English corpus, from other public-domain texts than `real_text.py`'s.

It exists to check the language-model recipes on text they were never tuned on (issue 27): no
flag of any recipe was chosen by looking at it. Sources, all public domain, read from Debian
packages already installed (no network):
- Jane Austen's six novels, from `r-cran-janeaustenr` (its lazy-load data; R itself is not
  run): one chapter a document;
- Ambrose Bierce's *The Devil's Dictionary* (`dict-devil`) and the Jargon File (`dict-jargon`),
  from their dictd files: one entry a document.
`apt-get install r-cran-janeaustenr dict-devil dict-jargon`. About 0.98M words in all (minilm's
tokeniser). Nothing of these texts is shipped with minilm: the corpus is built into `--out`.

Layout as `real_text.py`'s: `train.txt`, `valid.txt`, `test.txt`, one sentence a line, split
by whole documents (every 20th document to valid, the next to test), and `SOURCES.txt`.

Run:  python benchmarks/second_corpus.py --out runs/second_text
"""

from __future__ import annotations

import gzip
import re
import struct
import zlib
from collections.abc import Iterator
from pathlib import Path

from minilm.data.documents import sentences as document_sentences
from minilm.data.documents import write_splits
from minilm.errors import ArgumentParser, MinilmError, run_cli
from minilm.io import claim_out_dir

AUSTEN = Path("/usr/lib/R/site-library/janeaustenr/data")
DICTD = Path("/usr/share/dictd")
PACKAGES = "apt-get install r-cran-janeaustenr dict-devil dict-jargon"

_CHAPTER = re.compile(r"^\s*(CHAPTER|Chapter)\s+[0-9IVXLC]+\b")
_HEADING = re.compile(r"^\s*(VOLUME|Volume)\s+[0-9IVXLC]+\s*$")
_B64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"


def sentences(document: str) -> list[str]:
    """A document's sentences (minilm/data/documents.py), dictd's {cross-ref} braces dropped."""
    return document_sentences(document.replace("{", "").replace("}", ""))


class _RReader:
    """Just enough of R's XDR serialisation to read character vectors and named lists."""

    def __init__(self, data: bytes):
        if data[:2] != b"X\n":
            raise MinilmError("janeaustenr's data is not in R's XDR format")
        self.data, self.pos, self.symbols = data, 2, []
        version = self.int()
        self.pos += 8  # writer's and minimal reader's R versions
        if version == 3:
            n = self.int()  # the native encoding's name follows
            self.pos += n

    def int(self) -> int:
        (value,) = struct.unpack_from(">i", self.data, self.pos)
        self.pos += 4
        return value

    def item(self):
        flags = self.int()
        kind, has_attr, has_tag = flags & 0xFF, flags & (1 << 9), flags & (1 << 10)
        if kind in (242, 254):  # empty environment, NULL
            return None
        if kind == 255:  # a symbol read before
            return self.symbols[(flags >> 8) - 1]
        if kind == 1:  # symbol: its name
            self.symbols.append(self.item())
            return self.symbols[-1]
        if kind == 9:  # one string
            n = self.int()
            text = None if n == -1 else self.data[self.pos : self.pos + n].decode("utf-8")
            self.pos += max(n, 0)
            return text
        if kind == 2:  # pairlist (attributes)
            if has_attr:
                self.item()
            tag = self.item() if has_tag else None
            head, rest = (tag, self.item()), self.item()
            return [head, *(rest or [])]
        if kind in (10, 13, 16, 19):  # logical, integer, character vector, list
            n = self.int()
            if kind in (10, 13):
                values = list(struct.unpack_from(f">{n}i", self.data, self.pos))
                self.pos += 4 * n
            else:
                values = [self.item() for _ in range(n)]
            names = dict(self.item() or []).get("names") if has_attr else None
            return dict(zip(names, values, strict=True)) if names else values
        raise MinilmError(f"janeaustenr's data holds an R object of type {kind} minilm cannot read")


def austen_documents() -> Iterator[str]:
    """Jane Austen's novels, one chapter a document, from janeaustenr's lazy-load database."""
    index = _RReader(gzip.decompress((AUSTEN / "Rdata.rdx").read_bytes())).item()
    database = (AUSTEN / "Rdata.rdb").read_bytes()
    for _name, (offset, length) in sorted(index["variables"].items()):
        blob = database[offset + 4 : offset + length]  # 4 bytes: the uncompressed length
        lines = _RReader(zlib.decompress(blob)).item()
        chapter: list[str] = []
        for line in lines:
            if _CHAPTER.match(line or ""):
                if chapter:
                    yield "\n".join(chapter)
                chapter = []
            elif line and not _HEADING.match(line):
                chapter.append(line)
        if chapter:
            yield "\n".join(chapter)


def _b64(text: str) -> int:
    value = 0
    for char in text:
        value = value * 64 + _B64.index(char)
    return value


def dictd_documents(name: str) -> Iterator[str]:
    """A dictd dictionary's entries in index order, one a document (headword line dropped)."""
    text = gzip.decompress((DICTD / f"{name}.dict.dz").read_bytes())
    seen = set()
    for line in (DICTD / f"{name}.index").read_text(encoding="utf-8").splitlines():
        headword, offset, length = line.rsplit("\t", 2)
        start = _b64(offset)
        if headword.startswith("00") or start in seen:
            continue  # the database's own header entries; a second headword of one entry
        seen.add(start)
        entry = text[start : start + _b64(length)].decode("utf-8", "replace")
        yield entry.split("\n", 1)[1] if "\n" in entry else ""


def check_sources() -> None:
    needed = [AUSTEN / "Rdata.rdx", AUSTEN / "Rdata.rdb"]
    needed += [DICTD / f"{n}.{ext}" for n in ("devil", "jargon") for ext in ("dict.dz", "index")]
    missing = [str(path) for path in needed if not path.is_file()]
    if missing:
        raise MinilmError(f"{missing[0]} is missing: {PACKAGES}")


def build(out: Path) -> dict[str, int]:
    """Write the corpus into `out`; return the number of words per split."""
    check_sources()
    sources = [
        ("Jane Austen's novels (r-cran-janeaustenr)", austen_documents()),
        ("The Devil's Dictionary (dict-devil)", dictd_documents("devil")),
        ("the Jargon File (dict-jargon)", dictd_documents("jargon")),
    ]
    out.mkdir(parents=True, exist_ok=True)
    words = write_splits(out, sources, [], sentences)
    (out / "SOURCES.txt").write_text(
        "built by benchmarks/second_corpus.py from: " + ", ".join(n for n, _ in sources) + "\n",
        encoding="utf-8",
    )
    return words


def main() -> None:
    ap = ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", type=Path, default=Path("runs/second_text"), help="corpus folder")
    ap.add_argument("--force", action="store_true", help="write into a folder minilm did not write")
    args = ap.parse_args()
    words = build(claim_out_dir(args.out, "second_corpus.py", args.force))
    print(f"{args.out}: " + ", ".join(f"{split} {n:,} words" for split, n in words.items()))


if __name__ == "__main__":
    run_cli(main)
