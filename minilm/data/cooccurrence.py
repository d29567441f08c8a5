"""Batches of co-occurrence cells, for models fitted to a co-occurrence matrix (GloVe).

A sparse co-occurrence matrix X (minilm.models.count.cooccurrence) is three parallel arrays:
rows i, columns j and counts x = X_ij > 0, one entry per non-zero cell. `CooccurrenceCells`
visits every cell once per epoch, in a fresh random order, `batch_size` cells at a time.

Progress unit. A GloVe epoch is one pass over the non-zero cells, which summarise the whole
corpus, so each batch carries "n_tokens" = its share of the corpus's tokens (the epoch's batches
add up to exactly `n_tokens`). The shared loop's "tok/s" then reads as corpus tokens per second,
comparable with word2vec's; the cells per second are tok/s * nnz / n_tokens.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np

from minilm.errors import MinilmError


class CooccurrenceCells:
    """The non-zero cells (i, j, x) of X in a fresh random order each epoch.

    Batch: {"i": (N,) int64, "j": (N,) int64, "x": (N,) float X_ij > 0, "n_tokens": int}; the
    last batch of an epoch may be smaller. Epoch e's order comes from
    np.random.default_rng([seed, e]): the same every time it is asked for, so the shared loop
    can resume mid-epoch.
    """

    def __init__(
        self,
        i: np.ndarray,
        j: np.ndarray,
        x: np.ndarray,
        batch_size: int,
        seed: int,
        n_tokens: int = 0,
        dtype: str = "float32",
    ):
        if batch_size < 1:
            raise MinilmError(f"--batch-size must be >= 1, got {batch_size}")
        self.i, self.j = np.asarray(i, dtype=np.int64), np.asarray(j, dtype=np.int64)
        self.x = np.asarray(x).astype(dtype)
        if not self.i.shape == self.j.shape == self.x.shape or self.x.ndim != 1:
            raise MinilmError("co-occurrence cells need three parallel 1-d arrays i, j, x")
        if self.x.size == 0:
            raise MinilmError("the co-occurrence matrix is empty; use a longer corpus")
        if not np.all(self.x > 0):
            raise MinilmError("co-occurrence cells must hold counts > 0 (log X_ij is fitted)")
        self.batch_size, self.seed = batch_size, seed
        self.steps_per_epoch = -(-self.x.size // batch_size)  # ceil
        # tokens credited to batch b: floor((b + 1) T / S) - floor(b T / S), summing to T
        edges = np.arange(self.steps_per_epoch + 1, dtype=np.int64) * int(n_tokens)
        self.tokens = np.diff(edges // self.steps_per_epoch)  # (steps_per_epoch,)

    @property
    def nnz(self) -> int:
        return int(self.x.size)

    def epoch(self, epoch: int) -> Iterator[dict[str, np.ndarray]]:
        order = np.random.default_rng([self.seed, epoch]).permutation(self.x.size)
        for b, start in enumerate(range(0, self.x.size, self.batch_size)):
            take = order[start : start + self.batch_size]
            n_tokens = int(self.tokens[b])
            yield {"i": self.i[take], "j": self.j[take], "x": self.x[take], "n_tokens": n_tokens}
