"""A real-text corpus from whole documents: one sentence a line, train/valid/test split by document.

benchmarks/real_text.py and benchmarks/second_corpus.py build their corpora with it (README,
"Real text"): every 20th document goes to valid and the next to test, so a language model's
held-out perplexity is measured on articles, chapters or entries it never saw in part.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Iterable
from pathlib import Path

VALID_EVERY = 20  # document i goes to valid when i % 20 == 0, to test when i % 20 == 1
SPLITS = ("train", "valid", "test")

# a sentence ends at . ! or ? followed by space and a capital letter or a quote
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[\"'A-Z])")


def sentences(document: str) -> list[str]:
    """A document's sentences of 3 words or more, whitespace inside a sentence collapsed."""
    text = " ".join(document.split())
    return [s for s in _SENTENCE_END.split(text) if len(s.split()) >= 3]


def write_splits(
    out: Path,
    sources: Iterable[tuple[str, Iterable[str]]],
    used: list[str],
    split_sentences: Callable[[str], list[str]] = sentences,
) -> dict[str, int]:
    """Write OUT/{train,valid,test}.txt from (name, documents) sources; the words per split.

    Each name is appended to `used` as its source starts, so a caller can say which source
    failed. The files appear only complete (written as *.tmp, renamed at the end); on any
    error the *.tmp files are removed and the error goes on."""
    words = dict.fromkeys(SPLITS, 0)
    handles = {split: open(out / f"{split}.txt.tmp", "w", encoding="utf-8") for split in SPLITS}
    try:
        doc_index = 0
        for name, documents in sources:
            used.append(name)
            for document in documents:
                split = {0: "valid", 1: "test"}.get(doc_index % VALID_EVERY, "train")
                for sentence in split_sentences(document):
                    handles[split].write(sentence + "\n")
                    words[split] += len(sentence.split())
                doc_index += 1
    except BaseException:
        for split, handle in handles.items():  # no empty or half *.tmp left behind
            handle.close()
            (out / f"{split}.txt.tmp").unlink(missing_ok=True)
        raise
    for handle in handles.values():
        handle.close()
    for split in SPLITS:
        os.replace(out / f"{split}.txt.tmp", out / f"{split}.txt")
    return words
