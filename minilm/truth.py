"""Ground-truth files: one reader per format, used by every script, the lab and the tests.

A corpus folder may hold its answers beside train.txt (the bundled world does; see its README):

    categories.tsv   word<TAB>category[<TAB>more levels...]           read_categories
    analogies.txt    word2vec's questions-words.txt: `: section`, then `a b c d` lines
                     meaning a : b :: c : d (the answer d is searched as b - a + c)  read_analogies
    similarity.tsv   word1<TAB>word2<TAB>score (whitespace also accepted)           read_similarity
    bias.tsv         occupation<TAB>measured he-share<TAB>planted he-share[...]      read_bias
    senses.tsv       split<TAB>line (1-based)<TAB>token (0-based)<TAB>word<TAB>sense read_senses
    paraphrases.tsv  split<TAB>sentence_a<TAB>sentence_b                            read_paraphrases

In every file blank lines and `#` lines are comments. A malformed line is bad input: a
`MinilmError` naming the file and the line. `Truth.beside(corpus)` finds the files of a corpus.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import NamedTuple

import numpy as np

from minilm.errors import MinilmError

TRUTH_FILES = (
    "categories.tsv",
    "analogies.txt",
    "similarity.tsv",
    "bias.tsv",
    "senses.tsv",
    "paraphrases.tsv",
)
BUNDLED_WORLD = Path(__file__).resolve().parent.parent / "corpus" / "world"

Analogy = tuple[str, str, str, str]


class SenseRow(NamedTuple):
    """One annotated occurrence of a polysemous word (a row of senses.tsv)."""

    split: str  # train / valid / test
    line: int  # 1-based line of that split's text file
    index: int  # 0-based token index in the space-split line
    word: str
    sense: str


class ParaphraseRow(NamedTuple):
    """Two sentences stating the same fact (a row of paraphrases.tsv)."""

    split: str  # train / heldout
    a: str
    b: str


@dataclass
class Truth:
    """The ground-truth files found in one folder (absent ones are left out)."""

    folder: Path
    files: dict[str, Path] = field(default_factory=dict)

    @classmethod
    def find(cls, folder: str | os.PathLike) -> Truth:
        folder = Path(folder)
        return cls(folder, {n: folder / n for n in TRUTH_FILES if (folder / n).is_file()})

    @classmethod
    def beside(cls, corpus: str | os.PathLike) -> Truth:
        """The files of a corpus folder, or beside a corpus file (train.txt given directly)."""
        corpus = Path(corpus)
        return cls.find(corpus if corpus.is_dir() else corpus.parent)

    def get(self, name: str) -> Path | None:
        return self.files.get(name)


# ---- reading ------------------------------------------------------------------------------
def _rows(path: str | os.PathLike) -> list[tuple[int, str]]:
    """(1-based line number, line) of every line that is neither blank nor a `#` comment."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise MinilmError(f"{path}: no such file") from None
    except IsADirectoryError:
        raise MinilmError(f"{path}: is a folder, not a ground-truth file") from None
    except UnicodeDecodeError as err:
        raise MinilmError(f"{path}: not UTF-8 text (byte {err.start})") from None
    return [
        (n, line)
        for n, line in enumerate(text.splitlines(), start=1)
        if line.strip() and not line.lstrip().startswith("#")
    ]


def _fields(line: str) -> list[str]:
    """Tab-separated fields, or whitespace-separated when the line has no tab."""
    return [p.strip() for p in (line.split("\t") if "\t" in line else line.split())]


def read_analogies(path: str | os.PathLike) -> list[tuple[str, list[Analogy]]]:
    """[(section name, [(a, b, c, d), ...]), ...] in file order; words lower-cased."""
    sections: list[tuple[str, list]] = []
    for n, line in _rows(path):
        line = line.strip()
        if line.startswith(":"):
            sections.append((line[1:].strip() or f"section-{len(sections) + 1}", []))
            continue
        parts = line.lower().split()
        if len(parts) != 4:
            raise MinilmError(f"{path} line {n}: expected 4 words 'a b c d', got {line[:80]!r}")
        if not sections:
            sections.append(("questions", []))
        sections[-1][1].append(tuple(parts))
    if not any(qs for _, qs in sections):
        raise MinilmError(f"{path}: no analogy questions found (expected ': section' + 'a b c d')")
    return [(name, qs) for name, qs in sections if qs]


def read_similarity(path: str | os.PathLike) -> list[tuple[str, str, float]]:
    """[(word1, word2, score)] from `word1 word2 score` lines; words lower-cased."""
    pairs = []
    for n, line in _rows(path):
        parts = _fields(line)
        if len(parts) < 3:
            raise MinilmError(f"{path} line {n}: expected 'word1<TAB>word2<TAB>score'")
        try:
            score = float(parts[2])
        except ValueError:
            raise MinilmError(f"{path} line {n}: score {parts[2]!r} is not a number") from None
        if not math.isfinite(score):
            raise MinilmError(f"{path} line {n}: score {parts[2]!r} is not a finite number")
        pairs.append((parts[0].lower(), parts[1].lower(), score))
    if not pairs:
        raise MinilmError(f"{path}: no word pairs found")
    return pairs


def read_categories(path: str | os.PathLike, column: int = 1) -> tuple[list[str], list[str]]:
    """(words, categories) from `word<TAB>cat1<TAB>cat2...`; `column` picks the category field
    (1 = the first after the word; 0 would make each word its own category: refused)."""
    if column < 1:
        raise MinilmError(
            f"category column must be >= 1 (1 = the first after the word), got {column}"
        )
    words, cats = [], []
    for n, line in _rows(path):
        parts = _fields(line)
        if len(parts) <= column:
            raise MinilmError(
                f"{path} line {n}: no column {column} (has {len(parts)} fields); "
                "expected 'word<TAB>category'"
            )
        words.append(parts[0].lower())
        cats.append(parts[column])
    if not words:
        raise MinilmError(f"{path}: no categorised words found")
    return words, cats


def read_bias(path: str | os.PathLike) -> tuple[list[str], np.ndarray, np.ndarray]:
    """(words, measured he-share, planted he-share) from `occupation<TAB>measured<TAB>planted`
    lines (more columns ignored; a missing planted share is the measured one)."""
    words, measured, planted = [], [], []
    for n, line in _rows(path):
        parts = line.split("\t")
        try:
            measured.append(float(parts[1]))
            planted.append(float(parts[2]) if len(parts) > 2 else float(parts[1]))
        except (ValueError, IndexError):
            raise MinilmError(f"{path} line {n}: expected 'word<TAB>share<TAB>share'") from None
        if not (math.isfinite(measured[-1]) and math.isfinite(planted[-1])):
            raise MinilmError(f"{path} line {n}: a share is not a finite number")
        words.append(parts[0].strip().lower())
    return words, np.array(measured), np.array(planted)


def read_senses(path: str | os.PathLike) -> list[SenseRow]:
    """Every annotated occurrence of senses.tsv, in file order."""
    rows = []
    for n, line in _rows(path):
        parts = line.split("\t")
        try:
            split, ln, i, word, sense = parts
            rows.append(SenseRow(split, int(ln), int(i), word, sense))
        except ValueError:
            raise MinilmError(
                f"{path} line {n}: expected 'split<TAB>line<TAB>token<TAB>word<TAB>sense'"
            ) from None
    return rows


def read_paraphrases(path: str | os.PathLike) -> list[ParaphraseRow]:
    """Every sentence pair of paraphrases.tsv, in file order."""
    rows = []
    for n, line in _rows(path):
        parts = line.split("\t")
        if len(parts) != 3:
            raise MinilmError(f"{path} line {n}: expected 'split<TAB>sentence_a<TAB>sentence_b'")
        rows.append(ParaphraseRow(*parts))
    return rows
