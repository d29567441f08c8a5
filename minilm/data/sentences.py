"""Sentences as padded batches, and the model-token view of a corpus (word or BPE tokens).

Used by the transformer's training and evaluation (scripts/train_transformer.py,
minilm/contextual.py); nothing here knows about a model.

    pad_sentences   chosen sentences of a TokenStream as (ids (N, T), pad_mask (N, T))
    iter_padded     every sentence of a stream, length-sorted batch by batch
    PairBatches     paraphrase pairs for the contrastive (Sentence-BERT) loss: a BatchSource
    DropoutSeeds    wraps a BatchSource so each batch carries a dropout seed [seed, epoch, step]
    Tokens          how the corpus's words map to model tokens (one each, or BPE pieces)
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass

import numpy as np

from minilm.data.bpe import BPE
from minilm.data.corpus import Corpus, TokenStream
from minilm.errors import MinilmError


def pad_sentences(
    stream: TokenStream, which: np.ndarray, pad_id: int, max_len: int
) -> tuple[np.ndarray, np.ndarray]:
    """Sentences `which` of a stream as a padded batch: (ids (N, T), pad_mask (N, T)).

    Sentences longer than max_len are cut to their first max_len tokens; T is the longest
    (cut) length. Built with one gather, no loop over sentences.
    """
    which = np.asarray(which, dtype=np.int64)
    begin = stream.offsets[which]
    length = np.minimum(stream.offsets[which + 1] - begin, max_len)  # (N,)
    T = max(1, int(length.max(initial=0)))
    t = np.arange(T)
    real = t[None, :] < length[:, None]  # (N, T)
    ids = np.where(real, stream.ids[np.where(real, begin[:, None] + t, 0)], pad_id)
    return ids, ~real


def iter_padded(
    stream: TokenStream, batch_size: int, pad_id: int, max_len: int
) -> Iterator[tuple[np.ndarray, np.ndarray, np.ndarray]]:
    """All sentences of a stream in order, batch by batch: (sentence indices, ids, pad_mask).

    Sentences are sorted by length within the whole stream first, so a batch carries little
    padding; the indices say which sentences a batch holds.
    """
    order = np.argsort(stream.lengths, kind="stable")
    for start in range(0, order.size, batch_size):
        which = order[start : start + batch_size]
        yield (which, *pad_sentences(stream, which, pad_id, max_len))


class PairBatches:
    """Batches of paraphrase pairs for minilm/models/contrastive.py (a BatchSource).

    a, b: TokenStreams with one sentence per pair (sentence i of a pairs with sentence i of b).
    Each epoch the pairs are shuffled; a batch stacks its a's over its b's, padded together:
    {"inputs" (2N, T), "pad_mask" (2N, T), "n_tokens"}. The last, smaller batch is dropped,
    because the loss needs negatives and a batch of one pair has none.
    """

    def __init__(
        self, a: TokenStream, b: TokenStream, batch_size: int, seed: int, pad_id: int, max_len: int
    ):
        if a.n_sentences != b.n_sentences:
            raise MinilmError(f"{a.n_sentences} sentences pair with {b.n_sentences}; need equal")
        if batch_size < 2 or a.n_sentences < batch_size:
            raise MinilmError(
                f"contrastive batches need 2 <= batch size <= pairs ({a.n_sentences}); "
                f"got {batch_size}: lower --contrastive-batch-size or add pairs"
            )
        self.n_pairs, self.batch_size, self.seed = a.n_sentences, batch_size, seed
        self.pad_id, self.max_len = pad_id, max_len
        # one stream: pair i is sentence i (its a) and sentence n_pairs + i (its b)
        self.both = TokenStream(
            np.concatenate([a.ids, b.ids]), np.concatenate([a.offsets, b.offsets[1:] + a.n_tokens])
        )
        self.steps_per_epoch = a.n_sentences // batch_size

    def epoch(self, epoch: int) -> Iterator[dict]:
        order = np.random.default_rng([self.seed, epoch]).permutation(self.n_pairs)
        for step in range(self.steps_per_epoch):
            which = order[step * self.batch_size : (step + 1) * self.batch_size]
            rows = np.concatenate([which, which + self.n_pairs])  # a's, then their b's
            ids, pad_mask = pad_sentences(self.both, rows, self.pad_id, self.max_len)
            yield {"inputs": ids, "pad_mask": pad_mask, "n_tokens": int((~pad_mask).sum())}


class DropoutSeeds:
    """Wrap a BatchSource so every batch carries `dropout_seed` = [seed, epoch, step].

    The dropout masks of a step then depend only on the run's seed and the step's position,
    never on how many random numbers were drawn before - a resumed run draws the same masks.
    """

    def __init__(self, source, seed: int):
        self.source, self.seed = source, seed
        self.steps_per_epoch = source.steps_per_epoch

    def epoch(self, epoch: int) -> Iterator[dict]:
        for step, batch in enumerate(self.source.epoch(epoch)):
            yield {**batch, "dropout_seed": np.array([self.seed, epoch, step], dtype=np.int64)}


@dataclass
class Tokens:
    """Model tokens and how each word id of the corpus vocabulary maps to them.

    Word w becomes tokens ids[offsets[w]:offsets[w + 1]] (one token for word-level).
    """

    names: list[str]  # token id -> display string (vectors.txt rows)
    ids: np.ndarray  # flat token ids of every word
    offsets: np.ndarray  # (V_words + 1,)
    pad: int
    mask: int
    n_specials: int  # ids < n_specials are never real text (not a random MLM replacement)

    def stream(self, words: TokenStream) -> tuple[TokenStream, np.ndarray, np.ndarray]:
        """Word stream -> (token stream, first token position of each word, tokens per word)."""
        per_word = np.diff(self.offsets)[words.ids]  # (n_words,)
        ends = np.cumsum(per_word)
        first = ends - per_word  # position of each word's first token in the token stream
        inside = np.arange(int(ends[-1]) if ends.size else 0) - np.repeat(first, per_word)
        ids = self.ids[np.repeat(self.offsets[words.ids], per_word) + inside]
        offsets = np.concatenate([[0], ends])[words.offsets]
        return TokenStream(ids, offsets), first, per_word


def word_tokens(corpus: Corpus) -> Tokens:
    """One token per vocabulary word (its id); the vocabulary needs <pad> and <mask>."""
    vocab = corpus.vocab
    V = len(vocab)
    return Tokens(
        vocab.itos, np.arange(V), np.arange(V + 1), vocab.pad, vocab.mask, vocab.n_specials
    )


def bpe_tokens(corpus: Corpus, merges: int) -> tuple[Tokens, BPE]:
    """BPE learned on the training words; token ids: <pad>, <mask>, then the BPE pieces."""
    vocab = corpus.vocab
    specials: Sequence[str] = vocab.itos[: vocab.n_specials]
    words = {w: int(c) for w, c in zip(vocab.itos, vocab.counts, strict=True) if w not in specials}
    bpe = BPE.learn(words, merges)
    shift = 2
    pieces = [[0] if w in specials else bpe.encode_word(w) for w in vocab.itos]  # specials: <unk>
    ids = np.array([p + shift for word in pieces for p in word], dtype=np.int64)
    offsets = np.concatenate([[0], np.cumsum([len(p) for p in pieces])])
    names = ["<pad>", "<mask>"] + bpe.pieces
    return Tokens(names, ids, offsets, pad=0, mask=1, n_specials=shift + 2), bpe
