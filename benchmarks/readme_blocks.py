"""Measured blocks: figures a benchmark writes into a markdown page, so that no page types them.

A page holds a named block between two markers,

    <!-- measured: NAME begin (written by benchmarks/SCRIPT; do not edit) -->
    ...
    <!-- measured: NAME end -->

and the benchmark that measures the figures replaces what lies between them (the file written
atomically). bench_real_text.py --readme writes the README's real-text word2vec tables,
speed_table.py --readme the table in benchmarks/README.md; tests/test_measured_blocks.py checks
that the blocks are there and that their figures agree with one another. (docs_experiments.py
writes the docs pages' blocks, one per experiment section, in the same marker style.)
"""

from __future__ import annotations

import re
from pathlib import Path

from minilm.errors import MinilmError
from minilm.io import write_text


def markers(name: str, writer: str) -> tuple[str, str]:
    """The begin and end lines of block `name`, written by `writer` (a path under benchmarks/)."""
    begin = f"<!-- measured: {name} begin (written by {writer}; do not edit) -->"
    return begin, f"<!-- measured: {name} end -->"


def _pattern(name: str) -> re.Pattern:
    name = re.escape(name)
    return re.compile(
        rf"<!-- measured: {name} begin [^\n]*-->\n(.*?)<!-- measured: {name} end -->", re.S
    )


def read_block(text: str, name: str) -> str | None:
    """What lies between block `name`'s markers in `text`, or None if it has no such block."""
    found = _pattern(name).search(text)
    return found.group(1) if found else None


def replace_block(page: Path, name: str, body: str, writer: str) -> None:
    """Put `body` between block `name`'s markers in `page` (which must hold them), atomically."""
    try:
        text = page.read_text(encoding="utf-8")
    except OSError as e:
        raise MinilmError(f"cannot read {page}: {e.strerror or e}") from None
    begin, end = markers(name, writer)
    if read_block(text, name) is None:
        raise MinilmError(f"{page} has no measured block {name!r}: add the lines {begin} and {end}")
    block = f"{begin}\n{body.rstrip()}\n{end}"
    write_text(page, _pattern(name).sub(lambda _: block, text, count=1))
