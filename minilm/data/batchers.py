"""Batchers: turn a `TokenStream` into the batches each model trains on.

Every batcher is a `BatchSource` for `minilm.train.train`: it has `steps_per_epoch` and
`epoch(e)`, an iterator of batch dicts. All randomness of epoch e comes from
`np.random.default_rng([seed, e])`, so an epoch is reproducible on its own (a resumed run skips
to its step and sees the very same batches). Work is done with whole-array operations: there is
no Python loop over tokens or pairs, only over batches and over the few window offsets.

    NgramBatches    NPLM       (n-1)-word contexts -> next word
    StreamBatches   SRN        N contiguous streams in windows of T (hidden state carried)
    MLMBatches      BERT-ish   padded sentences, 15% of tokens masked 80/10/10
word2vec's and fastText's batchers are in minilm/data/word2vec_batches.py.

Shape legend: N batch, T time, B pairs, K negatives, V vocabulary.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence

import numpy as np

from minilm.data.corpus import TokenStream
from minilm.errors import MinilmError


def epoch_rng(seed: int, epoch: int) -> np.random.Generator:
    """The generator of one epoch: default_rng([seed, epoch])."""
    return np.random.default_rng([seed, epoch])


def check_positive(name: str, value: int, flag: str) -> None:
    """A clear error naming the flag to fix unless value is an integer >= 1."""
    if not isinstance(value, int | np.integer) or value < 1:
        raise MinilmError(f"{name} must be a positive integer, got {value!r}; fix {flag}")


class NgramBatches:
    """(n-1)-word contexts and the word that follows, for an n-gram neural model (NPLM).

    Each sentence w_1..w_L becomes L targets (L+1 with `eos_id`: the end of the sentence is a
    word to predict too), each with the `context` words before it; positions before the
    sentence start are `pad_id` (pass the <bos> id). Contexts never reach into the previous
    sentence. Built with array ops: every sentence is laid out with `context` pad slots before
    it in one flat array, and the context of the target at flat position p is `padded[p-n+1:p]`.

    Batch: {"context": (N, n-1) int64, "target": (N,) int64, "n_tokens": N}. The examples are
    shuffled every epoch (`shuffle=False` keeps text order, e.g. for evaluation); the last
    batch may be smaller.
    """

    def __init__(
        self,
        stream: TokenStream,
        context: int,
        batch_size: int,
        seed: int,
        pad_id: int,
        eos_id: int | None = None,
        shuffle: bool = True,
    ):
        check_positive("context", context, "--context / n-1")
        check_positive("batch_size", batch_size, "--batch-size")
        self.context, self.batch_size, self.seed, self.shuffle = context, batch_size, seed, shuffle
        if stream.n_tokens == 0:
            raise MinilmError("no tokens to make n-gram examples from; give a non-empty corpus")
        lengths = stream.lengths
        S, n_ctx, extra = stream.n_sentences, context, int(eos_id is not None)
        # sentence s starts at flat position offsets[s] + (s+1)*n_ctx + s*extra in `padded`
        starts = stream.offsets[:-1] + (np.arange(S) + 1) * n_ctx + np.arange(S) * extra
        tokens_at = np.repeat(starts - stream.offsets[:-1], lengths) + np.arange(stream.n_tokens)
        self.padded = np.full(stream.n_tokens + S * (n_ctx + extra), pad_id, dtype=np.int64)
        self.padded[tokens_at] = stream.ids
        targets_at = tokens_at
        if eos_id is not None:
            eos_at = starts + lengths  # right after each sentence's last word
            self.padded[eos_at] = eos_id
            targets_at = np.sort(np.concatenate([tokens_at, eos_at]))
        self.targets_at = targets_at  # (M,) flat positions of the words to predict
        self.n_examples = int(targets_at.size)
        self.steps_per_epoch = -(-self.n_examples // batch_size)
        self._window = np.arange(-n_ctx, 0)  # offsets of the context relative to the target

    def epoch(self, epoch: int) -> Iterator[dict]:
        order = self.targets_at
        if self.shuffle:
            order = order[epoch_rng(self.seed, epoch).permutation(self.n_examples)]
        for start in range(0, self.n_examples, self.batch_size):
            at = order[start : start + self.batch_size]  # (N,)
            yield {
                "context": self.padded[at[:, None] + self._window],  # (N, n-1)
                "target": self.padded[at],  # (N,)
                "n_tokens": int(at.size),
            }


class StreamBatches:
    """N contiguous streams cut into windows of T, for a recurrent model with carried state.

    The sentences are concatenated (with `eos_id` after each one if given), then cut into N
    equal streams laid side by side; batch k holds the k-th window of T tokens of every stream,
    so row i of batch k+1 continues row i of batch k and the hidden state can be carried over.
    `targets` are `inputs` shifted by one token. Not shuffled; each epoch starts the cut at a
    random offset in [0, T) (drawn from the epoch's rng) so epochs see different window borders.
    The remainder that does not fill a window is not used that epoch.

    Batch: {"inputs": (N, T), "targets": (N, T), "n_tokens": N*T, "reset": True on the first
    batch of an epoch (the state must be zeroed: the streams jumped)}.
    """

    def __init__(
        self,
        stream: TokenStream,
        batch_size: int,
        T: int,
        seed: int,
        eos_id: int | None = None,
    ):
        check_positive("batch_size", batch_size, "--batch-size")
        check_positive("T", T, "--bptt")
        self.batch_size, self.T, self.seed = batch_size, T, seed
        if eos_id is None:
            self.data = stream.ids
        else:
            # insert eos after every sentence: np.insert puts it before each later offset
            self.data = np.insert(stream.ids, stream.offsets[1:], eos_id)
        L = self.data.size
        # T-1 tokens held back for the random start, 1 for the last target
        self.stream_len = (L - T) // batch_size
        self.steps_per_epoch = max(self.stream_len // T, 0)
        if self.steps_per_epoch == 0:
            raise MinilmError(
                f"the corpus has {L} tokens, fewer than one batch of windows needs "
                f"((batch_size+1)*T = {(batch_size + 1) * T}); lower --batch-size or --bptt"
            )

    def epoch(self, epoch: int) -> Iterator[dict]:
        N, T, S = self.batch_size, self.T, self.stream_len
        start = int(epoch_rng(self.seed, epoch).integers(0, T))
        rows = start + np.arange(N)[:, None] * S  # (N, 1) first token of each stream
        for k in range(self.steps_per_epoch):
            at = rows + k * T + np.arange(T)  # (N, T)
            yield {
                "inputs": self.data[at],
                "targets": self.data[at + 1],
                "n_tokens": N * T,
                "reset": k == 0,
            }


class MLMBatches:
    """Masked-language-model batches: whole sentences, padded, with 15% of tokens to predict.

    Sentences longer than `max_len` are cut into pieces of at most `max_len`. Each epoch the
    sentences are shuffled and grouped `batch_size` at a time, padded to the longest in the batch.
    Selection: each real token is selected with probability `rate` (0.15); a sentence with none
    selected gets one chosen uniformly, so every sentence has something to predict. A token in a
    sentence of length L is therefore selected with probability rate + (1-rate)^L / L.
    A selected token is replaced by <mask> with probability 0.8, by a random word (uniform over
    the ids < vocab_size that are not in `special_ids`) with 0.1, and kept with 0.1 (Devlin et al.
    2019) - so the model cannot learn that only <mask> positions matter.

    Batch: {"inputs": (N, T), "targets": (N, T) the original ids (pad_id at padding),
    "pad_mask": (N, T) bool True = padding, "loss_mask": (N, T) bool True = a selected token,
    "n_tokens": real tokens in the batch}.
    """

    def __init__(
        self,
        stream: TokenStream,
        batch_size: int,
        seed: int,
        pad_id: int,
        mask_id: int,
        vocab_size: int,
        max_len: int,
        special_ids: Sequence[int] = (),
        rate: float = 0.15,
    ):
        check_positive("batch_size", batch_size, "--batch-size")
        check_positive("max_len", max_len, "--max-len")
        if not 0 < rate <= 1:
            raise MinilmError(f"mask rate must be in (0, 1], got {rate}")
        if stream.n_tokens == 0:
            raise MinilmError("no tokens to make masked-language-model batches from")
        self.batch_size, self.seed, self.rate = batch_size, seed, rate
        self.pad_id, self.mask_id, self.max_len = pad_id, mask_id, max_len
        self.ids = stream.ids
        # pieces: every sentence start, plus every max_len-th token inside a sentence
        position = np.arange(stream.n_tokens) - np.repeat(stream.offsets[:-1], stream.lengths)
        starts = np.flatnonzero(position % max_len == 0)
        self.offsets = np.append(starts, stream.n_tokens)  # (P+1,)
        self.n_pieces = starts.size
        self.replacements = np.setdiff1d(np.arange(vocab_size), np.asarray(special_ids, dtype=int))
        if self.replacements.size == 0:
            raise MinilmError("no ordinary word to use as a random replacement in MLM masking")
        self.steps_per_epoch = -(-self.n_pieces // batch_size)

    def epoch(self, epoch: int) -> Iterator[dict]:
        rng = epoch_rng(self.seed, epoch)
        order = rng.permutation(self.n_pieces)
        for start in range(0, self.n_pieces, self.batch_size):
            yield self._batch(order[start : start + self.batch_size], rng)

    def _batch(self, pieces: np.ndarray, rng: np.random.Generator) -> dict:
        begin, length = self.offsets[pieces], self.offsets[pieces + 1] - self.offsets[pieces]
        N, T = pieces.size, int(length.max())
        t = np.arange(T)
        real = t[None, :] < length[:, None]  # (N, T)
        at = np.where(real, begin[:, None] + t[None, :], 0)
        targets = np.where(real, self.ids[at], self.pad_id)  # (N, T)

        # (1) select ~rate of the real tokens; at least one per sentence
        selected = real & (rng.random((N, T)) < self.rate)
        empty = ~selected.any(axis=1)
        forced = (rng.random(N) * length).astype(np.int64)  # uniform position in each row
        selected[np.flatnonzero(empty), forced[empty]] = True

        # (2) 80% <mask>, 10% random word, 10% unchanged
        u = rng.random((N, T))
        random_words = self.replacements[rng.integers(0, self.replacements.size, size=(N, T))]
        inputs = targets.copy()
        inputs = np.where(selected & (u < 0.8), self.mask_id, inputs)
        inputs = np.where(selected & (u >= 0.8) & (u < 0.9), random_words, inputs)
        return {
            "inputs": inputs,
            "targets": targets,
            "pad_mask": ~real,
            "loss_mask": selected,
            "n_tokens": int(length.sum()),
        }
