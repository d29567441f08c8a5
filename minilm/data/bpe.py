"""Byte-pair encoding: words split into frequent pieces (Sennrich, Haddow & Birch 2016).

Learning. Every word of the training vocabulary starts as its characters plus an end-of-word
symbol </w>, weighted by the word's count:  "lower" (x5) -> l o w e r </w>.
Repeat `num_merges` times: count every adjacent symbol pair over all words (weighted), merge
the most frequent pair (a, b) into the new symbol ab everywhere. The list of merges, in order,
is the model. Ties are broken by the smaller pair of symbol ids, so learning is deterministic.
Counting from scratch each time costs O(corpus) per merge; here the pair counts are kept up to
date incrementally - only the words containing the merged pair are touched - and a heap with
lazily discarded stale entries gives the most frequent pair.

Encoding a word applies the learned merges in the order they were learned: while some adjacent
pair has been learned, merge (every occurrence of) the earliest one. "unbelievable" may become
un believ able</w>: frequent words stay whole, rare ones fall into known pieces.

Symbols have integer ids: 0 = <unk>, 1 = </w>, then the alphabet (the characters of the training
words, sorted), then one id per merge. A piece that ends in </w> ends a word, so decoding needs
no spaces: `decode(encode(text)) == " ".join(text.split())` exactly, for any text whose
characters are all in the alphabet. A character outside the alphabet becomes <unk> (id 0), is
never merged, and decodes as U+FFFD (the replacement character).
"""

from __future__ import annotations

import heapq
import json
import os
from collections.abc import Iterable, Mapping

import numpy as np

from minilm.errors import MinilmError
from minilm.io import write_json

UNK_PIECE, END = "<unk>", "</w>"
UNK_ID, END_ID = 0, 1
REPLACEMENT = "\ufffd"
_NEVER = float("inf")


class BPE:
    """A learned byte-pair encoding: `alphabet` (characters) and `merges` (pairs of symbol ids)."""

    def __init__(self, alphabet: Iterable[str], merges: Iterable[tuple[int, int]]):
        self.alphabet = list(alphabet)
        self.merges = [(int(a), int(b)) for a, b in merges]
        self.char_id = {c: i + 2 for i, c in enumerate(self.alphabet)}
        if len(self.char_id) != len(self.alphabet) or any(len(c) != 1 for c in self.alphabet):
            raise MinilmError(
                "BPE alphabet must be distinct single characters; is the file intact?"
            )
        self.pieces = [UNK_PIECE, END] + self.alphabet  # id -> display string
        self.text = ["", ""] + self.alphabet  # id -> characters it stands for
        self.ends_word = [False, True] + [False] * len(self.alphabet)
        self.rank: dict[tuple[int, int], int] = {}  # (a, b) -> merge number
        for k, (a, b) in enumerate(self.merges):
            n = len(self.pieces)
            if not (0 < a < n and 0 < b < n) or self.ends_word[a]:
                raise MinilmError(f"BPE merge {k} ({a}, {b}) is invalid; is the file intact?")
            self.pieces.append(self.pieces[a] + self.pieces[b])
            self.text.append(self.text[a] + self.text[b])
            self.ends_word.append(self.ends_word[b])
            self.rank[(a, b)] = k
        self.first_merge_id = 2 + len(self.alphabet)
        self._cache: dict[str, list[int]] = {}

    def __len__(self) -> int:
        return len(self.pieces)

    def __repr__(self) -> str:
        return f"BPE({len(self.alphabet)} characters, {len(self.merges)} merges)"

    # ------------------------------------------------------------------ learning

    @classmethod
    def learn(cls, word_counts: Mapping[str, int], num_merges: int, min_frequency: int = 2) -> BPE:
        """Learn up to `num_merges` merges; stop early when no pair occurs `min_frequency` times.

        `word_counts`: word -> count, e.g. `dict(zip(vocab.itos, vocab.counts))` without the
        specials, or a `Counter` of tokens. Words must not contain whitespace.
        """
        if num_merges < 0:
            raise MinilmError(f"num_merges must be >= 0, got {num_merges}; fix --merges")
        items = [(w, int(c)) for w, c in word_counts.items() if w and c > 0]
        if not items:
            raise MinilmError("no words to learn BPE merges from; give a non-empty corpus")
        alphabet = sorted({ch for w, _ in items for ch in w})
        char_id = {c: i + 2 for i, c in enumerate(alphabet)}
        words = [[char_id[ch] for ch in w] + [END_ID] for w, _ in items]
        freq = [c for _, c in items]

        pair_count: dict[tuple[int, int], int] = {}
        where: dict[tuple[int, int], set[int]] = {}  # pair -> indices of words containing it
        for i, symbols in enumerate(words):
            for pair in zip(symbols, symbols[1:], strict=False):
                pair_count[pair] = pair_count.get(pair, 0) + freq[i]
                where.setdefault(pair, set()).add(i)
        heap = [(-c, pair) for pair, c in pair_count.items()]
        heapq.heapify(heap)

        merges: list[tuple[int, int]] = []
        next_id = 2 + len(alphabet)
        while len(merges) < num_merges and heap:
            neg, pair = heapq.heappop(heap)
            if pair_count.get(pair, 0) != -neg:
                continue  # stale: this pair's count changed after the entry was pushed
            if -neg < min_frequency:
                break
            merges.append(pair)
            touched: set[tuple[int, int]] = set()
            for i in where.pop(pair):
                old = words[i]
                for p in zip(old, old[1:], strict=False):  # take the word's pairs out ...
                    pair_count[p] -= freq[i]
                    where.get(p, set()).discard(i)
                    touched.add(p)
                words[i] = new = _merge(old, pair, next_id)
                for p in zip(new, new[1:], strict=False):  # ... and put the merged word's back
                    pair_count[p] = pair_count.get(p, 0) + freq[i]
                    where.setdefault(p, set()).add(i)
                    touched.add(p)
            for p in touched:
                if pair_count.get(p, 0) > 0:
                    heapq.heappush(heap, (-pair_count[p], p))
                else:
                    pair_count.pop(p, None)
            next_id += 1
        return cls(alphabet, merges)

    # ------------------------------------------------------------------ encoding

    def encode_word(self, word: str) -> list[int]:
        """One word (no whitespace) -> symbol ids, the last one ending the word."""
        cached = self._cache.get(word)
        if cached is not None:
            return cached
        symbols = [self.char_id.get(ch, UNK_ID) for ch in word] + [END_ID]
        while len(symbols) > 1:
            ranks = [self.rank.get(p, _NEVER) for p in zip(symbols, symbols[1:], strict=False)]
            best = min(ranks)
            if best == _NEVER:
                break
            k = ranks.index(best)
            symbols = _merge(symbols, (symbols[k], symbols[k + 1]), self.first_merge_id + best)
        self._cache[word] = symbols
        return symbols

    def segment(self, word: str) -> list[str]:
        """A word's pieces for display: "unbelievable" -> ["un", "believ", "able</w>"]."""
        return [self.pieces[i] for i in self.encode_word(word)]

    def encode(self, text: str) -> np.ndarray:
        """Text (split on whitespace) -> ids, int64."""
        ids = [i for word in text.split() for i in self.encode_word(word)]
        return np.array(ids, dtype=np.int64)

    def decode(self, ids: Iterable[int]) -> str:
        """Ids -> text, words joined by single spaces; <unk> decodes as U+FFFD."""
        parts = []
        for i in np.asarray(ids, dtype=np.int64).ravel().tolist():
            if not 0 <= i < len(self.pieces):
                raise MinilmError(f"BPE id {i} is outside the vocabulary of {len(self.pieces)}")
            parts.append(REPLACEMENT if i == UNK_ID else self.text[i])
            if self.ends_word[i]:
                parts.append(" ")
        return "".join(parts).rstrip(" ")

    # ------------------------------------------------------------------ files

    def save(self, path: str | os.PathLike) -> None:
        """JSON: the alphabet and the merges (atomic write)."""
        doc = {
            "format": "minilm-bpe",
            "version": 1,
            "alphabet": self.alphabet,
            "merges": [list(m) for m in self.merges],
        }
        write_json(path, doc)

    @classmethod
    def load(cls, path: str | os.PathLike) -> BPE:
        try:
            with open(path, encoding="utf-8") as f:
                data = json.load(f)
        except FileNotFoundError:
            raise MinilmError(f"{path}: no such file") from None
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as err:
            raise MinilmError(f"{path}: not a readable BPE file ({err})") from None
        if not isinstance(data, dict) or data.get("format") != "minilm-bpe":
            raise MinilmError(f'{path}: not a minilm BPE file (no "format": "minilm-bpe")')
        try:
            return cls(data["alphabet"], [tuple(m) for m in data["merges"]])
        except (KeyError, TypeError, ValueError) as err:
            raise MinilmError(f"{path}: malformed BPE file ({err!r})") from None


def _merge(symbols: list[int], pair: tuple[int, int], new_id: int) -> list[int]:
    """Replace every occurrence of `pair`, left to right without overlap, by `new_id`."""
    a, b = pair
    out, i, n = [], 0, len(symbols)
    while i < n:
        if i + 1 < n and symbols[i] == a and symbols[i + 1] == b:
            out.append(new_id)
            i += 2
        else:
            out.append(symbols[i])
            i += 1
    return out
