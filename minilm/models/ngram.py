"""Interpolated modified Kneser-Ney: the count-based n-gram model the neural models must beat.

Chen & Goodman (1999), "An empirical study of smoothing techniques for language modeling",
section 3 ("modified Kneser-Ney", interpolated form). For an n-gram model and a history h of
n-1 words, with h' the history without its first word:

    P_k(w | h) = max(c_k(h w) - D_k(c_k(h w)), 0) / c_k(h .)  +  gamma_k(h) * P_{k-1}(w | h')
    gamma_k(h) = (D_k1 N1(h .) + D_k2 N2(h .) + D_k3+ N3+(h .)) / c_k(h .)
    P_0(w)     = 1 / V                      (uniform: every word has mass in every context)

and P_k(w | h) = P_{k-1}(w | h') when the history was never seen (c_k(h .) = 0).

    symbol        meaning
    c_n(h w)      raw count of the n-gram at the highest order n
    c_k(h w)      k < n: continuation count N1+(. h w), the number of distinct words seen
                  before "h w" -- how many contexts a word completes, not how often it occurs.
                  n-grams starting with <bos> cannot be extended to the left, so they keep
                  their raw count (the convention of KenLM and SRILM).
    N_r(h .)      number of distinct words w with c_k(h w) = r (N3+ : r >= 3)
    D_k1,2,3+     three discounts per order, from the count-of-counts n_r of that order:
                  Y = n1 / (n1 + 2 n2),  D1 = 1 - 2Y n2/n1,  D2 = 2 - 3Y n3/n2,
                  D3+ = 3 - 4Y n4/n3

Sentences are handled exactly as in the neural models' batchers (NgramBatches, StreamBatches):
every token of a sentence is a target, and so is the end of the sentence when an `eos_id` is
given (</s> appended to every sentence); a target's history is the previous n-1 tokens of the
same sentence, padded with <bos> at the start. Same targets, same vocabulary: the perplexities
of the n-gram and the neural models can be compared directly.

Counting is vectorised. A token sequence s of length L gets an integer id through a table of
every length-L window seen in training: id_L(s) = position of key(s) in the sorted unique keys,
key(s) = id_{L-1}(s[:-1]) * V + s[-1]. Keys stay far below 2^63 (ids < windows, times V), even
for a 5-gram over a large vocabulary where the naive V^5 encoding would overflow. Lookups are
`np.searchsorted`; a sequence never seen in training gets id -1.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from minilm.errors import MinilmError

MIN_DISCOUNT = 0.05  # keeps gamma(h) > 0 so lower orders (and unseen words) always keep mass


@dataclass
class KneserNey:
    """A fitted model. Arrays are indexed by the window ids described in the module docstring.

    order       n (2..5)
    vocab_size  V: probabilities cover ids 0..V-1
    bos_id      the id that pads histories at sentence starts
    eos_id      the end-of-sentence id appended to every sentence as a target (None: none)
    tables      tables[L] = sorted unique keys of every length-L window (tables[0] unused)
    counts      counts[k][i] = c_k of the k-gram with window id i (0 if never a k-gram event)
    totals      totals[k][j] = c_k(h .) for the history with (k-1)-window id j
    gammas      gammas[k][j] = gamma_k(h) for that history
    discounts   (n + 1, 4): discounts[k, r] = D_k for count r (r = 1, 2, 3+; column 0 is 0)
    """

    order: int
    vocab_size: int
    bos_id: int
    eos_id: int | None
    tables: list[np.ndarray]
    counts: list[np.ndarray]
    totals: list[np.ndarray]
    gammas: list[np.ndarray]
    discounts: np.ndarray

    # ---- queries ---------------------------------------------------------------------------
    def window_ids(self, seqs: np.ndarray) -> np.ndarray:
        """Ids of the token sequences seqs (Q, L) in the length-L table; -1 where unseen."""
        return _lookup(self.tables, seqs, self.vocab_size)

    def prob(self, contexts: np.ndarray, targets: np.ndarray) -> np.ndarray:
        """P(target | context) for contexts (Q, n-1) int and targets (Q,) int -> (Q,) float64.

        Runs the recursion bottom-up: start from the uniform P_0 and, for k = 1..n, mix in the
        order-k counts wherever the k-1 most recent context words were seen as a history.
        """
        n, V = self.order, self.vocab_size
        targets = np.asarray(targets, dtype=np.int64).reshape(-1)
        contexts = np.asarray(contexts, dtype=np.int64).reshape(len(targets), n - 1)
        if contexts.shape[0] != targets.shape[0]:
            raise MinilmError("contexts and targets differ in length; pass one context per target")
        seqs = np.concatenate([contexts, targets[:, None]], axis=1)  # (Q, n)
        p = np.full(targets.shape[0], 1.0 / V)  # P_0
        for k in range(1, n + 1):
            if k == 1:  # the empty history: always "seen"
                hist = np.zeros(targets.shape[0], dtype=np.int64)
            else:
                hist = self.window_ids(seqs[:, n - k : n - 1])
            event = self.window_ids(seqs[:, n - k :])
            seen = hist >= 0
            if not seen.any():
                continue
            h = hist[seen]
            total = self.totals[k][h]
            ok = total > 0
            c = np.where(event[seen] >= 0, self.counts[k][np.maximum(event[seen], 0)], 0)
            D = self.discounts[k][np.minimum(c, 3)]
            mixed = np.maximum(c - D, 0.0) / np.where(ok, total, 1) + self.gammas[k][h] * p[seen]
            p[seen] = np.where(ok, mixed, p[seen])
        return p

    def distribution(self, context: np.ndarray) -> np.ndarray:
        """The full next-word distribution (V,) after one context of n-1 ids."""
        context = np.asarray(context, dtype=np.int64).reshape(1, self.order - 1)
        V = self.vocab_size
        return self.prob(np.repeat(context, V, axis=0), np.arange(V))

    def log_likelihood(self, ids: np.ndarray, offsets: np.ndarray) -> tuple[float, int]:
        """Sum of ln P over every token of a stream (ids, sentence offsets), and the count."""
        ids, offsets = with_eos(ids, offsets, self.eos_id)
        windows = ngram_windows(ids, offsets, self.order, self.bos_id)  # (M, n)
        p = self.prob(windows[:, :-1], windows[:, -1])
        return float(np.sum(np.log(p))), int(p.shape[0])

    def perplexity(self, ids: np.ndarray, offsets: np.ndarray) -> float:
        """exp(-mean ln P(w_i | history)) over every target of a stream (ids, sentence offsets)."""
        total, count = self.log_likelihood(ids, offsets)
        if count == 0:
            raise MinilmError("cannot compute perplexity of an empty stream; check the split")
        return float(np.exp(-total / count))

    def sample(
        self, rng: np.random.Generator, n_tokens: int, stop_id: int | None = None
    ) -> np.ndarray:
        """Generate up to n_tokens ids from a sentence start; stop after stop_id (e.g. <eos>)."""
        context = np.full(self.order - 1, self.bos_id, dtype=np.int64)
        out = []
        for _ in range(n_tokens):  # generation is sequential by nature; one draw per step
            w = int(rng.choice(self.vocab_size, p=self.distribution(context)))
            out.append(w)
            if w == stop_id:
                break
            context = np.append(context[1:], w)
        return np.asarray(out, dtype=np.int64)


def with_eos(
    ids: np.ndarray, offsets: np.ndarray, eos_id: int | None
) -> tuple[np.ndarray, np.ndarray]:
    """Append eos_id to every sentence: (ids, offsets) -> (ids', offsets'); no-op for None."""
    if eos_id is None:
        return np.asarray(ids, dtype=np.int64), np.asarray(offsets, dtype=np.int64)
    offsets = np.asarray(offsets, dtype=np.int64)
    ids = np.insert(np.asarray(ids, dtype=np.int64), offsets[1:], eos_id)  # before each next start
    return ids, offsets + np.arange(offsets.size)


def next_word_pairs(
    ids: np.ndarray, offsets: np.ndarray, eos_id: int
) -> tuple[np.ndarray, np.ndarray]:
    """(inputs, targets) of a next-word model over a whole split, read as one long sequence.

    Every word and every eos_id is a target, exactly the targets of Kneser-Ney with eos (so
    perplexities compare); each input is the previous token, the first preceded by eos_id as
    every later sentence is.
    """
    targets, _ = with_eos(ids, offsets, eos_id)
    return np.concatenate([[eos_id], targets[:-1]]), targets


def target_counts(ids: np.ndarray, offsets: np.ndarray, eos_id: int, V: int) -> np.ndarray:
    """(V,) how often each id is a next-word target: every word, and eos_id once per sentence."""
    counts = np.bincount(np.asarray(ids, dtype=np.int64), minlength=V)
    counts[eos_id] += len(offsets) - 1
    return counts


def ngram_windows(ids: np.ndarray, offsets: np.ndarray, n: int, bos_id: int) -> np.ndarray:
    """One row per token: its n-1 predecessors in the same sentence (<bos>-padded), then itself.

    ids (M,) int, offsets (S+1,) sentence boundaries -> (M, n) int64; row i = [w_{i-n+1} .. w_i].
    """
    ids = np.asarray(ids, dtype=np.int64)
    offsets = np.asarray(offsets, dtype=np.int64)
    M = ids.shape[0]
    sentence = np.searchsorted(offsets, np.arange(M), side="right") - 1  # (M,)
    start = offsets[sentence]  # (M,) position of each token's sentence start
    pos = np.arange(M)[:, None] + np.arange(-(n - 1), 1)[None, :]  # (M, n)
    inside = pos >= start[:, None]
    return np.where(inside, ids[np.clip(pos, 0, max(M - 1, 0))], bos_id)


def fit_kneser_ney(
    ids: np.ndarray,
    offsets: np.ndarray,
    vocab_size: int,
    order: int,
    bos_id: int,
    eos_id: int | None = None,
) -> KneserNey:
    """Count a training stream (ids, sentence offsets) and return the fitted model."""
    ids = _checked_ids(ids, vocab_size, order, bos_id, eos_id)
    ids, offsets = with_eos(ids, offsets, eos_id)
    n, V = order, vocab_size
    rows = ngram_windows(ids, offsets, n, bos_id)  # (M, n): each target with its history
    tables = _window_tables(rows, V)
    # Per order k: the k-gram event of every row (its last k tokens).
    events = [None] + [_lookup(tables, rows[:, n - k :], V) for k in range(1, n + 1)]
    counts = [np.zeros(0)]  # index 0 unused: orders run 1..n
    totals = [np.zeros(0)]
    gammas = [np.zeros(0)]
    discounts = np.zeros((n + 1, 4))
    for k in range(1, n + 1):
        dense, D, total, gamma = _order_statistics(rows, tables, events, k, V, bos_id)
        counts.append(dense)
        discounts[k, 1:] = D
        totals.append(total)
        gammas.append(gamma)
    return KneserNey(n, V, bos_id, eos_id, tables, counts, totals, gammas, discounts)


def _checked_ids(
    ids: np.ndarray, vocab_size: int, order: int, bos_id: int, eos_id: int | None
) -> np.ndarray:
    """The training ids as int64, after checking the order and that every id is in range."""
    if not 1 <= order <= 5:
        raise MinilmError(f"Kneser-Ney order must be in 1..5, got {order}")
    ids = np.asarray(ids, dtype=np.int64)
    if ids.size == 0:
        raise MinilmError("cannot fit a Kneser-Ney model on an empty training stream")
    specials = [bos_id] + ([] if eos_id is None else [eos_id])
    if ids.min() < 0 or ids.max() >= vocab_size or not all(0 <= s < vocab_size for s in specials):
        raise MinilmError("token ids out of range for the vocabulary; encode with the same vocab")
    return ids


def _window_tables(rows: np.ndarray, V: int) -> list[np.ndarray]:
    """Window tables: the sorted unique keys of every contiguous length-L piece of every row
    (M, n), L = 1..n; tables[0] is unused."""
    n = rows.shape[1]
    tables: list[np.ndarray] = [np.zeros(1, dtype=np.int64)]
    for L in range(1, n + 1):
        keys = []
        for j in range(n - L + 1):
            prefix = _lookup(tables, rows[:, j : j + L - 1], V) if L > 1 else 0
            keys.append(prefix * V + rows[:, j + L - 1])
        tables.append(np.unique(np.concatenate(keys)))
    return tables


def _order_statistics(
    rows: np.ndarray, tables: list[np.ndarray], events: list, k: int, V: int, bos_id: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """For order k: the counts (raw at k = n, continuation below) per k-window id, the three
    discounts, and per history its total count and the mass gamma(h) it passes down."""
    n = rows.shape[1]
    types, first_row, raw = np.unique(events[k], return_index=True, return_counts=True)
    if k == n:
        c = raw
    else:
        # continuation count: distinct (k+1)-gram types whose last k words are this k-gram
        _, up_rows = np.unique(events[k + 1], return_index=True)
        suffix = events[k][up_rows]
        cont = np.bincount(np.searchsorted(types, suffix), minlength=types.size)
        starts_with_bos = rows[first_row, n - k] == bos_id
        c = np.where(starts_with_bos, raw, cont)
    dense = np.zeros(tables[k].size, dtype=np.int64)
    dense[types] = c

    D = _discounts(c)
    if k == 1:
        hist = np.zeros(types.size, dtype=np.int64)
        n_hist = 1
    else:
        hist = _lookup(tables, rows[first_row, n - k : n - 1], V)
        n_hist = tables[k - 1].size
    total = np.bincount(hist, weights=c, minlength=n_hist)
    # gamma(h) c(h .) = D1 N1(h .) + D2 N2(h .) + D3+ N3+(h .): each type adds its discount
    mass = np.bincount(hist, weights=D[np.minimum(c, 3) - 1], minlength=n_hist)
    gamma = np.divide(mass, total, out=np.zeros_like(mass), where=total > 0)
    return dense, D, total, gamma


def _discounts(c: np.ndarray) -> np.ndarray:
    """D1, D2, D3+ from the count-of-counts of one order (Chen & Goodman 1999, eq. 26).

    On a tiny corpus some n_r is 0 and the formula is undefined or leaves the range (0, r];
    we then clip into [MIN_DISCOUNT, r] so every seen history still passes mass down.
    """
    n_r = np.bincount(c, minlength=5)[1:5].astype(np.float64)  # n1..n4
    n1, n2, n3, n4 = n_r
    Y = n1 / (n1 + 2 * n2) if n1 + 2 * n2 > 0 else 0.5
    raw = [
        1 - 2 * Y * n2 / n1 if n1 > 0 else 0.5,
        2 - 3 * Y * n3 / n2 if n2 > 0 else 1.0,
        3 - 4 * Y * n4 / n3 if n3 > 0 else 1.5,
    ]
    return np.array([np.clip(d, MIN_DISCOUNT, r) for r, d in enumerate(raw, start=1)])


def _lookup(tables: list[np.ndarray], seqs: np.ndarray, V: int) -> np.ndarray:
    """Window ids of seqs (Q, L) by walking the tables one token at a time; -1 if unseen."""
    seqs = np.asarray(seqs, dtype=np.int64)
    Q, L = seqs.shape
    ids = np.zeros(Q, dtype=np.int64)
    found = np.ones(Q, dtype=bool)
    for j in range(L):
        table = tables[j + 1]
        key = np.where(found, ids, 0) * V + seqs[:, j]
        pos = np.searchsorted(table, key)
        hit = pos < table.size
        hit[hit] = table[pos[hit]] == key[hit]
        found &= hit
        ids = pos
    return np.where(found, ids, -1)


def kneser_ney_baselines(
    train: tuple[np.ndarray, np.ndarray],
    test: tuple[np.ndarray, np.ndarray],
    vocab_size: int,
    bos_id: int,
    eos_id: int,
    test_perplexity: float,
    orders: tuple[int, ...] = (3, 5),
) -> dict[str, float]:
    """metrics.json's baseline figures: KN-n test perplexity and a neural model's ratio to it.

    train and test are streams (ids, sentence offsets) over the same vocabulary.
    """
    metrics = {}
    for n in orders:
        kn = fit_kneser_ney(*train, vocab_size, n, bos_id, eos_id)
        metrics[f"kn{n}_test_perplexity"] = kn.perplexity(*test)
        metrics[f"test_perplexity_ratio_to_kn{n}"] = (
            test_perplexity / metrics[f"kn{n}_test_perplexity"]
        )
    return metrics
