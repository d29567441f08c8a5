"""Reading text: where the corpus is, its lines (streamed), and the word tokenizer.

A corpus is a UTF-8 text file, one sentence (or document) a line, or a folder holding
`train.txt` and optionally `valid.txt` and `test.txt`. Any of these may be compressed
(`train.txt.gz`, `train.txt.bz2`); decompression is transparent. Nothing here holds a whole
file in memory: `read_lines` yields one line at a time.

Tokenizer rules (`tokenize`), applied to each line:
1. Unicode NFC normalisation (so "e" + combining accent and the precomposed letter agree),
   then lower-casing with `str.lower`; the typographic apostrophe ’ becomes '.
2. A token is either
   - a *number*: digits with internal "." or "," groups, kept whole: "3.14", "1,000", "1990";
   - a *word*: a run of letters/digits, with single internal apostrophes or hyphens:
     "don't", "well-known", "mp3", "king's".
3. Everything else - whitespace, punctuation, symbols, underscores - separates tokens and is
   dropped: "Hello, world!" -> ["hello", "world"]. Sentence ends are marked by the line
   structure (the vocabulary's </s>), not by a "." token.
A token never contains whitespace or "<", so no token can collide with a special such as <unk>.
`tokenize_lines` applies the same rules to a block of lines in one regex call (corpus loading).
Limitation: Python's `re` has no \\p{M}, so a combining mark that does not compose under NFC
splits a word (fine for English and most Latin scripts).
"""

from __future__ import annotations

import bz2
import gzip
import os
import re
import unicodedata
from collections.abc import Iterator, Sequence
from pathlib import Path

from minilm.errors import MinilmError

SPLITS = ("train", "valid", "test")
SUFFIXES = (".txt", ".txt.gz", ".txt.bz2")

# numbers first, so "3.14" is one token rather than "3" and "14"
_TOKEN_RE = re.compile(r"\d+(?:[.,]\d+)+|[^\W_]+(?:['\-][^\W_]+)*")
# the same, plus the line break as a token of its own (for many lines in one call)
_TOKEN_OR_BREAK_RE = re.compile(_TOKEN_RE.pattern + r"|\n")
LINE_BREAK = "\n"


def bundled_corpus() -> Path:
    """The folder of the default `world` corpus: <repo>/corpus/world, beside the package."""
    return Path(__file__).resolve().parents[2] / "corpus" / "world"


def resolve_corpus(path: str | os.PathLike | None = None) -> dict[str, Path]:
    """Map split names to files: a file -> {"train": file}; a folder -> the splits it holds.

    `None` means the bundled `corpus/world` folder. A folder must hold `train.txt` (or
    `train.txt.gz` / `train.txt.bz2`); `valid` and `test` are optional.
    """
    if path is None:
        folder = bundled_corpus()
        if not folder.is_dir():
            raise MinilmError(
                f"the bundled corpus is missing ({folder}); regenerate it with "
                f"`python scripts/make_corpus.py world --out {folder}` or pass --corpus FILE"
            )
        path = folder
    path = Path(path)
    if path.is_file():
        return {"train": path}
    if not path.exists():
        raise MinilmError(f"{path}: no such file or folder; check --corpus")
    if not path.is_dir():
        raise MinilmError(f"{path}: not a regular file or folder; pass a text file with --corpus")
    splits = {}
    for split in SPLITS:
        for suffix in SUFFIXES:
            candidate = path / f"{split}{suffix}"
            if candidate.is_file():
                splits[split] = candidate
                break
    if "train" not in splits:
        raise MinilmError(
            f"{path}: folder has no train.txt (or train.txt.gz/.bz2); "
            "put the training text there or pass a single file with --corpus"
        )
    return splits


def _open_binary(path: Path):
    if path.name.endswith(".gz"):
        return gzip.open(path, "rb")
    if path.name.endswith(".bz2"):
        return bz2.open(path, "rb")
    return open(path, "rb")


def read_lines(path: str | os.PathLike, flag: str = "--corpus") -> Iterator[str]:
    """Yield the lines of a UTF-8 text file (newline removed), one at a time.

    `.gz` and `.bz2` files are decompressed on the fly. A UTF-8 byte-order mark is skipped.
    Raises `MinilmError` for a missing file, a binary file (NUL bytes), invalid UTF-8 (naming
    the line) or a file without any non-blank line (raised once the file has been read).
    `flag` is the option (or argument) that named the file, for the messages.
    """
    path = Path(path)
    try:
        f = _open_binary(path)
    except FileNotFoundError:
        raise MinilmError(f"{path}: no such file; check {flag}") from None
    except IsADirectoryError:
        raise MinilmError(f"{path}: is a folder, not a text file; check {flag}") from None
    except PermissionError:
        raise MinilmError(f"{path}: permission denied; make the file readable") from None
    has_text = False
    with f:
        try:
            for number, raw in enumerate(f, start=1):
                if b"\0" in raw:
                    raise MinilmError(
                        f"{path}: line {number} contains NUL bytes, so this looks like a binary "
                        f"file; pass a UTF-8 text file with {flag}"
                    )
                try:
                    line = raw.decode("utf-8")
                except UnicodeDecodeError as err:
                    raise MinilmError(
                        f"{path}: line {number} is not valid UTF-8 (byte {err.start + 1} of the "
                        "line); convert the file, e.g. `iconv -f latin1 -t utf-8`"
                    ) from None
                if number == 1 and line.startswith("\ufeff"):
                    line = line[1:]
                line = line.rstrip("\r\n")
                if not has_text and line.strip():
                    has_text = True
                yield line
        except (OSError, EOFError) as err:
            # gzip.BadGzipFile and bz2's "Invalid data stream" are OSErrors; truncation is EOF
            raise MinilmError(
                f"{path}: cannot read the file ({err}); check it is intact "
                "(for .gz/.bz2: try gunzip -t / bzip2 -t)"
            ) from None
    if not has_text:
        raise MinilmError(f"{path}: the file is empty; give a text file with at least one sentence")


def tokenize(line: str) -> list[str]:
    """Split one line into lower-case tokens (rules in the module docstring).

    >>> tokenize("The King's 2 dogs, 3.5 kg - well-known!")
    ['the', "king's", '2', 'dogs', '3.5', 'kg', 'well-known']
    """
    if not line.isascii():
        line = unicodedata.normalize("NFC", line).replace("\u2019", "'")
    return _TOKEN_RE.findall(line.lower())


def tokenize_lines(lines: Sequence[str]) -> list[str]:
    """Tokens of many lines in one regex call, each line's tokens followed by `LINE_BREAK`.

    Equal to `[*tokenize(lines[0]), "\\n", *tokenize(lines[1]), "\\n", ...]`, but one C-level
    `findall` over the joined block instead of one Python call per line - the hot loop of
    corpus loading. The lines must not contain "\\n" themselves (`read_lines` strips it).
    """
    if not lines:
        return []
    block = "\n".join(lines) + "\n"
    if not block.isascii():
        block = unicodedata.normalize("NFC", block).replace("\u2019", "'")
    return _TOKEN_OR_BREAK_RE.findall(block.lower())
