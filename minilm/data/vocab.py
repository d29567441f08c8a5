"""The vocabulary: a word <-> id table with counts.

Ids are assigned deterministically: the specials first, in the order given, then the words
sorted by (-count, word) - most frequent first, ties alphabetical - so the same corpus always
gives the same ids, and "the first k ids" means "the k most frequent words".

`counts[i]` is how often word i occurs in the text the vocabulary was built from. Specials
count 0, except <unk>, which counts every token it stands for (words cut by `min_count` or
`max_vocab`), so `counts == np.bincount(encoded_train_ids)`.

Special tokens recognised (present only if passed in `specials`):
    <unk> unknown word      <pad> padding         <bos> (or <s>) beginning of sentence
    </s> (or <eos>) end of sentence               <mask> masked-language-model mask
The tokenizer never produces "<", so these cannot collide with real words.
"""

from __future__ import annotations

import os
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence

import numpy as np

from minilm.errors import MinilmError
from minilm.io import load_npz, save_npz

UNK, PAD, BOS, EOS, MASK = "<unk>", "<pad>", "<bos>", "</s>", "<mask>"
_ALIASES = {
    "unk": (UNK,),
    "pad": (PAD,),
    "bos": (BOS, "<s>"),
    "eos": (EOS, "<eos>"),
    "mask": (MASK,),
}


class Vocab:
    """A word <-> id table. `itos` (id -> word), `stoi` (word -> id), `counts` (int64)."""

    def __init__(self, itos: Sequence[str], counts: Sequence[int] | np.ndarray, n_specials: int):
        self.itos = list(itos)
        self.stoi = {w: i for i, w in enumerate(self.itos)}
        self.counts = np.asarray(counts, dtype=np.int64)
        self.n_specials = int(n_specials)
        if len(self.stoi) != len(self.itos):
            raise MinilmError("vocabulary has duplicate words; build it with Vocab.build")
        if self.counts.shape != (len(self.itos),):
            raise MinilmError(
                f"vocabulary has {len(self.itos)} words but {self.counts.size} counts"
            )

    @classmethod
    def build(
        cls,
        counter_or_tokens: Mapping[str, int] | Iterable[str],
        min_count: int = 1,
        max_vocab: int | None = None,
        specials: Sequence[str] = (UNK,),
    ) -> Vocab:
        """Build from word counts (a Counter / dict) or from an iterable of tokens.

        Keeps words with count >= `min_count`; `max_vocab` caps the total size, specials
        included, keeping the most frequent words.
        """
        if min_count < 1:
            raise MinilmError(f"min_count must be >= 1, got {min_count}; use --min-count 1 or more")
        specials = list(dict.fromkeys(specials))
        if max_vocab is not None and max_vocab <= len(specials):
            raise MinilmError(
                f"max_vocab={max_vocab} leaves no room for words after {len(specials)} specials; "
                "raise --max-vocab"
            )
        if not isinstance(counter_or_tokens, Mapping):
            counter_or_tokens = Counter(counter_or_tokens)
        counts = {w: int(c) for w, c in counter_or_tokens.items() if w not in specials and c > 0}
        if not counts:
            raise MinilmError("the text has no tokens; give a corpus with words in it")
        ranked = sorted(counts.items(), key=lambda wc: (-wc[1], wc[0]))
        kept = [(w, c) for w, c in ranked if c >= min_count]
        if not kept:
            top_word, top_count = ranked[0]
            raise MinilmError(
                f"every word occurs fewer than min_count={min_count} times (the most frequent, "
                f"{top_word!r}, occurs {top_count}); lower --min-count to {top_count} or less"
            )
        if max_vocab is not None:
            kept = kept[: max_vocab - len(specials)]
        special_counts = [0] * len(specials)
        if UNK in specials:
            special_counts[specials.index(UNK)] = sum(counts.values()) - sum(c for _, c in kept)
        itos = specials + [w for w, _ in kept]
        return cls(itos, special_counts + [c for _, c in kept], n_specials=len(specials))

    def __len__(self) -> int:
        return len(self.itos)

    def __contains__(self, word: str) -> bool:
        return word in self.stoi

    def __repr__(self) -> str:
        return f"Vocab({len(self)} words, {self.n_specials} specials, {self.counts.sum()} tokens)"

    def _special(self, name: str) -> int | None:
        for token in _ALIASES[name]:
            if token in self.stoi:
                return self.stoi[token]
        return None

    @property
    def unk(self) -> int | None:
        return self._special("unk")

    @property
    def pad(self) -> int | None:
        return self._special("pad")

    @property
    def bos(self) -> int | None:
        return self._special("bos")

    @property
    def eos(self) -> int | None:
        return self._special("eos")

    @property
    def mask(self) -> int | None:
        return self._special("mask")

    @property
    def special_ids(self) -> np.ndarray:
        """Ids of the specials (never a real word): (n_specials,) int64."""
        return np.arange(self.n_specials, dtype=np.int64)

    def encode(self, tokens: Iterable[str]) -> np.ndarray:
        """Tokens -> ids (int64). Unknown words become <unk>, or are dropped without <unk>."""
        unk = self.unk
        get = self.stoi.get
        if unk is None:
            ids = [i for i in map(get, tokens) if i is not None]
        else:
            ids = [get(t, unk) for t in tokens]
        return np.array(ids, dtype=np.int64)

    def decode(self, ids: Iterable[int]) -> list[str]:
        """Ids -> words."""
        itos = self.itos
        return [itos[i] for i in np.asarray(ids, dtype=np.int64).ravel()]

    def to_arrays(self, prefix: str = "vocab/") -> dict[str, np.ndarray]:
        """The vocabulary as plain arrays (words as a numpy unicode array: no pickle needed)."""
        return {
            f"{prefix}words": np.array(self.itos, dtype=np.str_),
            f"{prefix}counts": self.counts.copy(),
            f"{prefix}n_specials": np.array(self.n_specials, dtype=np.int64),
        }

    @classmethod
    def from_arrays(cls, arrays: Mapping[str, np.ndarray], prefix: str = "vocab/") -> Vocab:
        try:
            words = arrays[f"{prefix}words"]
            counts = arrays[f"{prefix}counts"]
            n_specials = int(arrays[f"{prefix}n_specials"])
        except KeyError as err:
            raise MinilmError(
                f"no vocabulary in these arrays (missing {err}); is it a minilm file?"
            ) from None
        return cls([str(w) for w in words], counts, n_specials)

    def save(self, path: str | os.PathLike) -> None:
        """Write an .npz (atomic, loadable with allow_pickle=False)."""
        save_npz(path, self.to_arrays())

    @classmethod
    def load(cls, path: str | os.PathLike) -> Vocab:
        return cls.from_arrays(load_npz(path))
