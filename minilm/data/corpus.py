"""Load a corpus into token-id streams: the one function every training script starts with.

    corpus = load_corpus("corpus/world", min_count=2, specials=("<unk>", "</s>"))
    corpus.vocab                 # built on train only
    corpus.splits["train"].ids   # (n_tokens,) int64, every sentence one after another
    corpus.splits["train"].offsets  # (S+1,) sentence s is ids[offsets[s]:offsets[s+1]]

Streaming: the training file is read once, a block of lines at a time (one regex call per
block). Each new word gets a provisional id in order of first appearance, so only the
provisional ids (int64) and the table of distinct words are held - never the text. Then the
counts are `bincount(provisional ids)`, the vocabulary is built from them, and one array lookup
`remap[provisional]` turns the provisional ids into final ids. This is the classic counting
pass + encoding pass, with the second pass done on integers instead of re-reading the text.

Words of valid/test missing from the vocabulary become <unk> when the vocabulary has it and
are dropped otherwise; either way they are counted in `Corpus.oov`. Lines without any token
are skipped, so every sentence has at least one token.
"""

from __future__ import annotations

import itertools
import os
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from minilm.data.text import LINE_BREAK, read_lines, resolve_corpus, tokenize_lines
from minilm.data.vocab import UNK, Vocab
from minilm.errors import MinilmError

_BLOCK_LINES = 2048  # lines tokenized per regex call; their tokens are then held as int64


@dataclass
class TokenStream:
    """Sentences of token ids, stored flat: sentence s is `ids[offsets[s]:offsets[s + 1]]`."""

    ids: np.ndarray  # (n_tokens,) int64
    offsets: np.ndarray  # (S + 1,) int64, offsets[0] = 0, offsets[-1] = n_tokens

    def __post_init__(self) -> None:
        self.ids = np.asarray(self.ids, dtype=np.int64)
        self.offsets = np.asarray(self.offsets, dtype=np.int64)
        if self.ids.ndim != 1 or self.offsets.ndim != 1 or self.offsets.size < 1:
            raise ValueError("TokenStream needs flat ids and at least one offset")
        if self.offsets[0] != 0 or self.offsets[-1] != self.ids.size:
            raise ValueError("offsets must start at 0 and end at len(ids)")
        if np.any(np.diff(self.offsets) < 0):
            raise ValueError("offsets must be non-decreasing")

    @classmethod
    def from_sentences(cls, sentences: Sequence[Sequence[int]]) -> TokenStream:
        """Build from a list of id lists (handy in tests and small examples)."""
        lengths = np.array([len(s) for s in sentences], dtype=np.int64)
        offsets = np.concatenate([[0], np.cumsum(lengths)])
        ids = np.concatenate([np.asarray(s, dtype=np.int64) for s in sentences] + [np.zeros(0)])
        return cls(ids.astype(np.int64), offsets)

    @property
    def n_tokens(self) -> int:
        return int(self.ids.size)

    @property
    def n_sentences(self) -> int:
        return int(self.offsets.size - 1)

    @property
    def lengths(self) -> np.ndarray:
        """(S,) tokens per sentence."""
        return np.diff(self.offsets)

    def sentence(self, s: int) -> np.ndarray:
        return self.ids[self.offsets[s] : self.offsets[s + 1]]

    def sentence_index(self) -> np.ndarray:
        """(n_tokens,) the sentence each token belongs to."""
        return np.repeat(np.arange(self.n_sentences, dtype=np.int64), self.lengths)


@dataclass
class Corpus:
    vocab: Vocab
    splits: dict[str, TokenStream]
    paths: dict[str, Path] = field(default_factory=dict)
    oov: dict[str, int] = field(default_factory=dict)  # tokens not in the vocabulary, per split

    @property
    def train(self) -> TokenStream:
        return self.splits["train"]


def _read_ids(
    path: Path, lookup: Callable[[list[str]], Iterable[int]], line_break: int
) -> tuple[list[np.ndarray], np.ndarray]:
    """Stream a file a block of lines at a time; return (id chunks, sentence lengths), int64.

    `lookup` maps a block's tokens to ids, the line-break token to `line_break`; the breaks
    give the sentence lengths with array ops, and lines without tokens disappear.
    """
    id_chunks, length_chunks = [], []
    lines = read_lines(path)
    while block := list(itertools.islice(lines, _BLOCK_LINES)):
        ids = np.fromiter(lookup(tokenize_lines(block)), dtype=np.int64)
        is_break = ids == line_break
        breaks = np.flatnonzero(is_break)  # one per line, the last token of the block
        lengths = np.diff(breaks, prepend=-1) - 1  # tokens between consecutive breaks
        id_chunks.append(ids[~is_break])
        length_chunks.append(lengths[lengths > 0])
    return id_chunks, np.concatenate(length_chunks)


def _gather(chunks: list[np.ndarray], remap: np.ndarray | None = None) -> np.ndarray:
    """Concatenate the chunks (mapped through `remap`), freeing each one once it is copied.

    `np.concatenate` would hold every chunk and the result at once: twice the ids in memory.
    """
    out = np.empty(sum(c.size for c in chunks), dtype=np.int64)
    at = 0
    chunks.reverse()
    while chunks:
        chunk = chunks.pop()
        out[at : at + chunk.size] = chunk if remap is None else remap[chunk]
        at += chunk.size
    return out


def _resolve_unknown(
    ids: np.ndarray, lengths: np.ndarray, unk: int | None
) -> tuple[TokenStream, int]:
    """Ids of -1 (unknown) -> <unk>, or drop them (and sentences left empty). Returns the count."""
    known = ids >= 0
    n_unknown = int(ids.size - np.count_nonzero(known))
    if unk is not None:
        ids[~known] = unk  # in place: a large corpus has no room for a second copy
    elif n_unknown:
        starts = np.cumsum(lengths) - lengths
        lengths = np.add.reduceat(known, starts, dtype=np.int64) if ids.size else lengths
        ids = ids[known]
        lengths = lengths[lengths > 0]
    offsets = np.concatenate([[0], np.cumsum(lengths)]).astype(np.int64)
    return TokenStream(ids, offsets), n_unknown


def load_corpus(
    path: str | os.PathLike | None = None,
    min_count: int = 1,
    max_vocab: int | None = None,
    specials: Sequence[str] = (UNK,),
) -> Corpus:
    """Read a corpus file or folder (None: the bundled world corpus) into id streams."""
    paths = resolve_corpus(path)

    # (1) train: provisional ids in order of first appearance. A defaultdict whose default is
    # its own length numbers each new word as it is first looked up - all inside C, via map.
    # Id 0 is the line break, so the words are 1, 2, ...
    table: defaultdict[str, int] = defaultdict()
    table.default_factory = table.__len__
    table[LINE_BREAK] = 0
    chunks, lengths = _read_ids(
        paths["train"], lambda tokens: map(table.__getitem__, tokens), line_break=0
    )
    words = list(table)[1:]
    if not words:
        raise MinilmError(f"{paths['train']}: no words in the text; give a corpus with words in it")

    # (2) counts -> vocabulary -> one vectorised remap of every token
    counts = np.zeros(len(words) + 1, dtype=np.int64)
    for chunk in chunks:
        counts += np.bincount(chunk, minlength=counts.size)
    vocab = Vocab.build(
        dict(zip(words, counts[1:].tolist(), strict=True)), min_count, max_vocab, specials
    )
    remap = np.array([-1] + [vocab.stoi.get(w, -1) for w in words], dtype=np.int64)
    splits, oov = {}, {}
    splits["train"], oov["train"] = _resolve_unknown(_gather(chunks, remap), lengths, vocab.unk)
    if splits["train"].n_tokens == 0:
        raise MinilmError(f"{paths['train']}: no tokens left after building the vocabulary")

    # (3) valid/test with the training vocabulary
    known = {**vocab.stoi, LINE_BREAK: -2}  # unknown words -> -1, line breaks -> -2
    for split in ("valid", "test"):
        if split not in paths:
            continue
        chunks, lengths = _read_ids(
            paths[split], lambda tokens: map(known.get, tokens, itertools.repeat(-1)), -2
        )
        splits[split], oov[split] = _resolve_unknown(_gather(chunks), lengths, vocab.unk)
        if splits[split].n_tokens == 0:
            raise MinilmError(
                f"{paths[split]}: no known words in the text; check it matches the training text"
            )
    return Corpus(vocab=vocab, splits=splits, paths=paths, oov=oov)
