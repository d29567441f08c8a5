"""benchmarks/second_corpus.py: its R and dictd readers on small files written here, its split by
whole documents, and the one-line error when a Debian package is missing."""

from __future__ import annotations

import gzip
import importlib.util
import struct
import zlib
from pathlib import Path

import pytest

from minilm.errors import MinilmError

ROOT = Path(__file__).resolve().parent.parent
_spec = importlib.util.spec_from_file_location(
    "second_corpus", ROOT / "benchmarks" / "second_corpus.py"
)
second = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(second)


def _int(v: int) -> bytes:
    return struct.pack(">i", v)


def _string(text: str) -> bytes:
    data = text.encode()
    return _int(9 | (1 << 15)) + _int(len(data)) + data  # CHARSXP, UTF-8 flag


def _strings(*texts: str) -> bytes:
    return _int(16) + _int(len(texts)) + b"".join(_string(t) for t in texts)


def _xdr(body: bytes) -> bytes:
    """R's serialisation version 3 header, then `body`."""
    return b"X\n" + _int(3) + _int(0x040202) + _int(0x030500) + _int(5) + b"UTF-8" + body


def _named_list(names: list[str], values: list[bytes]) -> bytes:
    """A VECSXP with a names attribute; the symbol "names" is written once (a later one would
    be a reference)."""
    head = _int(19 | (1 << 9)) + _int(len(values)) + b"".join(values)
    symbol = _int(1) + _string("names")
    attrs = _int(2 | (1 << 10)) + symbol + _strings(*names) + _int(254)
    return head + attrs


def _ints(*values: int) -> bytes:
    return _int(13) + _int(len(values)) + b"".join(_int(v) for v in values)


def write_austen(folder: Path, novels: dict[str, list[str]]) -> None:
    """janeaustenr's layout: Rdata.rdx (gzip) indexes zlib blobs in Rdata.rdb."""
    blobs, offsets, offset = [], [], 0
    for lines in novels.values():
        raw = _xdr(_strings(*lines))
        blob = struct.pack(">I", len(raw)) + zlib.compress(raw)
        blobs.append(blob)
        offsets.append(_ints(offset, len(blob)))
        offset += len(blob)
    variables = _named_list(list(novels), offsets)
    index = _xdr(_named_list(["variables"], [variables]))
    folder.mkdir(parents=True)
    (folder / "Rdata.rdx").write_bytes(gzip.compress(index))
    (folder / "Rdata.rdb").write_bytes(b"".join(blobs))


def _b64(n: int) -> str:
    digits = ""
    while True:
        digits = second._B64[n % 64] + digits
        n //= 64
        if n == 0:
            return digits


def write_dictd(folder: Path, name: str, entries: dict[str, str]) -> None:
    text, index = "", []
    for headword, body in {"00-database-info": "header\n", **entries}.items():
        entry = f"{headword}\n{body}"
        index.append(f"{headword}\t{_b64(len(text))}\t{_b64(len(entry))}")
        text += entry
    index.append(index[-1].replace(list(entries)[-1], "alias", 1))  # a second headword
    folder.mkdir(parents=True, exist_ok=True)
    (folder / f"{name}.dict.dz").write_bytes(gzip.compress(text.encode()))
    (folder / f"{name}.index").write_text("\n".join(index) + "\n")


def test_reads_austen_chapters(tmp_path, monkeypatch):
    lines = ["EMMA", "", "CHAPTER I", "Emma Woodhouse was handsome", "and clever.", "CHAPTER II"]
    lines += ["VOLUME II", "Mr. Weston was a native of Highbury."]
    write_austen(tmp_path / "a", {"emma": lines, "persuasion": ["Chapter 1", "Sir Walter read."]})
    monkeypatch.setattr(second, "AUSTEN", tmp_path / "a")
    documents = list(second.austen_documents())
    assert documents == [
        "EMMA",
        "Emma Woodhouse was handsome\nand clever.",
        "Mr. Weston was a native of Highbury.",
        "Sir Walter read.",
    ]
    assert second.sentences(documents[1]) == ["Emma Woodhouse was handsome and clever."]


def test_reads_dictd_entries_once(tmp_path, monkeypatch):
    write_dictd(tmp_path, "devil", {"ABSURDITY": "A belief. Of {ACADEME} fame.\n", "B": "Be.\n"})
    monkeypatch.setattr(second, "DICTD", tmp_path)
    assert list(second.dictd_documents("devil")) == ["A belief. Of {ACADEME} fame.\n", "Be.\n"]
    assert second.sentences("A belief is held. Of {ACADEME} fame it is.") == [
        "A belief is held.",
        "Of ACADEME fame it is.",
    ]


def test_builds_split_by_documents(tmp_path, monkeypatch):
    chapters = [line for i in range(40) for line in (f"CHAPTER {i + 1}", f"Words of chapter {i}.")]
    write_austen(tmp_path / "a", {"emma": chapters})
    write_dictd(tmp_path / "d", "devil", {"A": "An a is a letter.\n"})
    write_dictd(tmp_path / "d", "jargon", {"B": "A b is a letter too.\n"})
    monkeypatch.setattr(second, "AUSTEN", tmp_path / "a")
    monkeypatch.setattr(second, "DICTD", tmp_path / "d")
    words = second.build(tmp_path / "out")
    valid = (tmp_path / "out" / "valid.txt").read_text().splitlines()
    # documents 0, 20 and 40 (the first dictionary entry); the next one of each to test
    assert valid == ["Words of chapter 0.", "Words of chapter 20.", "An a is a letter."]
    assert (tmp_path / "out" / "test.txt").read_text().splitlines()[0] == "Words of chapter 1."
    assert words == {"train": 4 * 36, "valid": 4 + 4 + 5, "test": 4 + 4 + 6}
    assert "Austen" in (tmp_path / "out" / "SOURCES.txt").read_text()


def test_missing_package_is_one_line(tmp_path, monkeypatch):
    monkeypatch.setattr(second, "AUSTEN", tmp_path / "nowhere")
    with pytest.raises(MinilmError, match="apt-get install r-cran-janeaustenr"):
        second.build(tmp_path / "out")
    assert not (tmp_path / "out").exists()
