"""Reading word-vector files for minilm/vectors.py `KeyedVectors.load`: word2vec's text and
binary formats (with or without the "V D" header line) and the embedding projector's TSV rows.

Every reader refuses bad input with one line naming the file and the place: UTF-16 files,
text that is not UTF-8 (unless asked to replace or ignore), duplicate words, rows of the wrong
width, and fields that are not numbers.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np

from minilm.errors import MinilmError


def parse_header(line: bytes) -> tuple[int, int] | None:
    """`V D` as two positive integers, or None when the first line is not a header."""
    parts = line.split()
    if len(parts) != 2:
        return None
    try:
        v, d = int(parts[0]), int(parts[1])
    except ValueError:
        return None
    if v <= 0 or d <= 0:
        raise MinilmError(f"header line 1: '{line.decode(errors='replace')}' needs V > 0 and D > 0")
    return v, d


def looks_like_text(body: bytes, encoding: str = "utf-8") -> bool:
    """Text if the body decodes without control bytes other than newline, CR and tab.

    Binary float32 data almost always holds NUL or invalid UTF-8 bytes somewhere."""
    try:
        text = body.decode(encoding)
    except UnicodeDecodeError:
        return False
    return not any(ord(ch) < 32 and ch not in "\n\r\t" for ch in set(text))


def strip_utf8_bom(data: bytes) -> bytes:
    """Windows editors start UTF-8 files with a byte-order mark; it is not part of the text."""
    return data[3:] if data.startswith(b"\xef\xbb\xbf") else data


def refuse_utf16(path: Path, data: bytes) -> None:
    """UTF-16/32 text (a byte-order mark, or NUL in every other byte of the start) is a file in
    the wrong encoding, not a broken binary file: say so."""
    head = data[:200]

    def all_nul(*offsets: int, step: int) -> bool:
        return len(head) >= 8 and all(not any(head[o::step]) for o in offsets)

    if head.startswith((b"\xff\xfe\x00\x00", b"\x00\x00\xfe\xff")) or (
        all_nul(1, 2, 3, step=4) or all_nul(0, 1, 2, step=4)
    ):
        encoding = "UTF-32"
    elif head.startswith((b"\xff\xfe", b"\xfe\xff")) or all_nul(1, step=2) or all_nul(0, step=2):
        encoding = "UTF-16"
    else:
        return
    raise MinilmError(
        f"{path} is {encoding} text; save it as UTF-8 "
        f"(e.g. iconv -f {encoding} -t UTF-8 {path.name} > vectors-utf8.txt)"
    )


def decode(path: Path, data: bytes, errors: str) -> str:
    data = strip_utf8_bom(data)
    try:
        return data.decode("utf-8", errors=errors)
    except UnicodeDecodeError as err:
        refuse_utf16(path, data)
        line_no = data[: err.start].count(b"\n") + 1
        line_start = data.rfind(b"\n", 0, err.start) + 1
        line_end = data.find(b"\n", err.start)
        line = data[line_start : line_end if line_end >= 0 else len(data)]
        where = f"{path} line {line_no}, column {err.start - line_start + 1}"
        byte = data[err.start]
        if looks_like_text(line, encoding="latin-1"):
            raise MinilmError(
                f"{where}: byte 0x{byte:02x} is not UTF-8; the file looks Latin-1 or "
                f"Windows-1252 encoded ({line.decode('latin-1')[:40]!r}): save it as UTF-8 "
                f"(e.g. iconv -f latin1 -t UTF-8 {path.name} > vectors-utf8.txt)"
            ) from None
        raise MinilmError(
            f"{where}: byte 0x{byte:02x} is not UTF-8 text; is it a binary file with a "
            "broken header?"
        ) from None


def first_duplicate(words: Sequence[str]) -> tuple[str, int, int]:
    """(word, its first row, the row that repeats it) of the first repeated word."""
    seen: dict[str, int] = {}
    for i, w in enumerate(words):
        first = seen.setdefault(w, i)
        if first != i:
            return w, first, i
    raise ValueError("no repeated word")


def refuse_duplicates(path: Path, words: Sequence[str], unit: str, first_unit: int) -> None:
    """A file giving one word two vectors is refused, naming both lines (or records)."""
    if len(set(words)) == len(words):
        return
    word, first, again = first_duplicate(words)
    raise MinilmError(
        f"{path} {unit}s {first + first_unit} and {again + first_unit}: the word {word!r} "
        "appears twice; keep one of the two (a repeated row would show up as its neighbour "
        "and as an analogy answer)"
    )


def to_floats(path: Path, fields: list[list[str]], first_line: int, start: int) -> np.ndarray:
    """Convert fields[i][start:] to a float32 (V, D) matrix, naming the first bad line."""
    try:
        out = np.array([f[start:] for f in fields], dtype=np.float32)
    except ValueError:
        for n, f in enumerate(fields):
            try:
                np.array(f[start:], dtype=np.float32)
            except ValueError:
                raise MinilmError(
                    f"{path} line {first_line + n}: a value is not a number: {' '.join(f)[:80]!r}"
                ) from None
        raise
    bad = ~np.isfinite(out).all(axis=1)
    if bad.any():
        n = int(np.argmax(bad))
        raise MinilmError(f"{path} line {first_line + n}: non-finite value (nan or inf)")
    return out


def parse_text(
    path: Path, data: bytes, header: tuple[int, int] | None, unicode_errors: str
) -> tuple[list[str], np.ndarray]:
    """word2vec text (with header) or GloVe text (without): `word v1 ... vD` a line."""
    lines = decode(path, data, unicode_errors).split("\n")
    first_line = 1
    if header is not None:
        lines, first_line = lines[1:], 2
    while lines and not lines[-1].strip():
        lines.pop()
    # word2vec.c writes a space after the last value; GloVe writes none: strip, split on spaces.
    fields = [line.strip().split(" ") for line in lines]
    if not fields:
        raise MinilmError(f"{path}: no vectors in the file")
    dim = header[1] if header is not None else len(fields[0]) - 1
    if dim < 1:
        raise MinilmError(f"{path} line 1: a word with no values; expected 'word v1 ... vD'")
    for n, f in enumerate(fields):
        if len(f) != dim + 1 or not f[0]:
            raise MinilmError(
                f"{path} line {first_line + n}: {len(f) - 1} values, expected {dim} "
                f"('word v1 ... v{dim}')"
            )
        if any(c.isspace() for c in f[0]):
            raise MinilmError(f"{path} line {first_line + n}: the word {f[0]!r} holds whitespace")
    if header is not None and len(fields) != header[0]:
        raise MinilmError(f"{path}: header says {header[0]} words but the file has {len(fields)}")
    words = [f[0] for f in fields]
    refuse_duplicates(path, words, "line", first_line)
    return words, to_floats(path, fields, first_line, start=1)


def parse_binary(
    path: Path, body: bytes, header: tuple[int, int], unicode_errors: str
) -> tuple[list[str], np.ndarray]:
    """word2vec binary: V records of `word<space>` + D little-endian float32 (+ optional '\\n')."""
    n_words, dim = header
    width = 4 * dim
    starts = []  # byte offset of each vector; grown per record, never sized by the header
    words = []
    pos = 0
    for i in range(n_words):  # a loop over records, each one find(); the floats are read at once
        while pos < len(body) and body[pos : pos + 1] in (b"\n", b"\r"):
            pos += 1  # the newline word2vec.c writes after a vector (or none)
        space = body.find(b" ", pos, pos + 1000)
        if space < 0:
            what = "the file ends" if pos >= len(body) else "no space after the word"
            raise MinilmError(
                f"{path} record {i + 1} of {n_words}: {what}; truncated or not word2vec binary"
            )
        try:
            word = body[pos:space].decode("utf-8", errors=unicode_errors)
        except UnicodeDecodeError:
            raise MinilmError(f"{path} record {i + 1}: the word is not UTF-8") from None
        if not word or any(c.isspace() for c in word):
            raise MinilmError(f"{path} record {i + 1}: empty or broken word; not word2vec binary")
        if space + 1 + width > len(body):
            raise MinilmError(
                f"{path} record {i + 1} ({word!r}): the file ends inside the vector; truncated"
            )
        words.append(word)
        starts.append(space + 1)
        pos = space + 1 + width
    if body[pos:].strip():
        raise MinilmError(
            f"{path}: {len(body) - pos} bytes after the {n_words} records the header announced"
        )
    refuse_duplicates(path, words, "record", 1)
    raw = np.frombuffer(body, dtype=np.uint8)
    gather = np.array(starts, dtype=np.int64)[:, None] + np.arange(width)  # (V, 4D) bytes
    vectors = raw[gather].view("<f4").reshape(n_words, dim).astype(np.float32)
    bad = ~np.isfinite(vectors).all(axis=1)
    if bad.any():
        i = int(np.argmax(bad))
        raise MinilmError(f"{path} record {i + 1} ({words[i]!r}): non-finite value; corrupt file")
    return words, vectors


def refuse_non_finite(path: Path, vectors: np.ndarray, words: Sequence[str], unit: str) -> None:
    """A NaN or inf value is refused, naming its row (record) and word."""
    bad = ~np.isfinite(vectors).all(axis=1)
    if bad.any():
        i = int(np.argmax(bad))
        raise MinilmError(f"{path} {unit} {i + 1}: non-finite value (nan or inf) for {words[i]!r}")
