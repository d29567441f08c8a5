"""Interpolated modified Kneser-Ney: a proper distribution everywhere, and the textbook numbers.

The vectorised model is compared with a plain-Python reference written straight from
Chen & Goodman (1999) with dictionaries, on a small random corpus.
"""

from collections import Counter, defaultdict

import numpy as np
import pytest

from minilm.errors import MinilmError
from minilm.models.ngram import _discounts, fit_kneser_ney, ngram_windows

V, BOS = 12, 1
SUM_TOL = 1e-12  # float64 sums of V probabilities: only rounding error allowed


def random_corpus(seed=0, sentences=200):
    rng = np.random.default_rng(seed)
    lengths = rng.integers(1, 8, size=sentences)
    offsets = np.concatenate([[0], np.cumsum(lengths)])
    ids = rng.integers(2, V, size=offsets[-1])
    ids[ids == 7] = 3  # word 7 never occurs: an in-vocabulary word unseen in training
    return ids, offsets


def reference_kn(ids, offsets, n):
    """Dictionary implementation of interpolated modified KN; returns prob(context, w)."""
    rows = [tuple(r) for r in ngram_windows(ids, offsets, n, BOS)]
    raw = [Counter() for _ in range(n + 1)]
    for r in rows:
        for k in range(1, n + 1):
            raw[k][r[n - k :]] += 1
    counts = [None] * (n + 1)
    counts[n] = raw[n]
    for k in range(1, n):
        left = defaultdict(set)
        for g in raw[k + 1]:
            left[g[1:]].add(g[0])
        counts[k] = Counter({g: (raw[k][g] if g[0] == BOS else len(left[g])) for g in raw[k]})
    D, total, nr = {}, {}, {}
    for k in range(1, n + 1):
        D[k] = _discounts(np.array(list(counts[k].values())))
        total[k], nr[k] = Counter(), defaultdict(lambda: np.zeros(3))
        for g, c in counts[k].items():
            total[k][g[:-1]] += c
            nr[k][g[:-1]][min(c, 3) - 1] += 1

    def prob(context, w):
        p = 1.0 / V
        for k in range(1, n + 1):
            h = tuple(context[len(context) - (k - 1) :]) if k > 1 else ()
            if total[k][h] == 0:
                continue
            c = counts[k][h + (w,)]
            d = D[k][min(c, 3) - 1] if c > 0 else 0.0
            gamma = float(D[k] @ nr[k][h]) / total[k][h]
            p = max(c - d, 0) / total[k][h] + gamma * p
        return p

    return prob


@pytest.mark.parametrize("n", [2, 3, 4, 5])
def test_distribution_sums_to_one_in_seen_and_unseen_contexts(n):
    ids, offsets = random_corpus()
    model = fit_kneser_ney(ids, offsets, V, n, BOS)
    rng = np.random.default_rng(1)
    contexts = [
        np.full(n - 1, BOS),  # sentence start: seen
        ngram_windows(ids, offsets, n, BOS)[10, :-1],  # a training history: seen
        np.full(n - 1, 7),  # made of a word never seen in training
        rng.integers(0, V, size=n - 1),  # random: unseen at the higher orders
    ]
    for context in contexts:
        p = model.distribution(context)
        assert abs(p.sum() - 1.0) < SUM_TOL
        assert p.min() > 0  # every in-vocabulary word has mass, even word 7 and <bos>


@pytest.mark.parametrize("n", [2, 3, 5])
def test_matches_dictionary_reference(n):
    ids, offsets = random_corpus(seed=2, sentences=120)
    model = fit_kneser_ney(ids, offsets, V, n, BOS)
    ref = reference_kn(ids, offsets, n)
    rng = np.random.default_rng(3)
    contexts = np.concatenate(
        [ngram_windows(ids, offsets, n, BOS)[:40, :-1], rng.integers(0, V, size=(40, n - 1))]
    )
    targets = rng.integers(0, V, size=contexts.shape[0])
    got = model.prob(contexts, targets)
    want = np.array([ref(list(c), int(w)) for c, w in zip(contexts, targets, strict=True)])
    np.testing.assert_allclose(got, want, rtol=1e-12)  # same arithmetic, float64


def test_discounts_follow_chen_goodman():
    c = np.array([1] * 50 + [2] * 20 + [3] * 10 + [4] * 5 + [9] * 3)
    Y = 50 / (50 + 2 * 20)
    want = [1 - 2 * Y * 20 / 50, 2 - 3 * Y * 10 / 20, 3 - 4 * Y * 5 / 10]
    np.testing.assert_allclose(_discounts(c), want, rtol=1e-12)


def test_perplexity_finite_on_unseen_ngrams_and_higher_order_fits_train_better():
    ids, offsets = random_corpus(seed=4)
    test_ids = np.full(12, 7)  # a sentence of a word never seen in training
    test_ids[::3] = 0
    train, test = (ids, offsets), (test_ids, np.array([0, 6, 12]))
    ppl = {n: fit_kneser_ney(ids, offsets, V, n, BOS).perplexity for n in (2, 3, 5)}
    for n in ppl:
        assert np.isfinite(ppl[n](*test))
    assert ppl[5](*train) < ppl[3](*train) < ppl[2](*train)  # more context memorises more


def test_windows_pad_with_bos_and_never_cross_sentences():
    ids = np.array([5, 6, 7, 8, 9])
    rows = ngram_windows(ids, np.array([0, 2, 5]), 3, BOS)
    expected = [[1, 1, 5], [1, 5, 6], [1, 1, 7], [1, 7, 8], [7, 8, 9]]
    np.testing.assert_array_equal(rows, expected)


def test_sampling_is_seeded_and_stops_at_the_stop_id():
    ids, offsets = random_corpus()
    model = fit_kneser_ney(ids, offsets, V, 3, BOS)
    a = model.sample(np.random.default_rng(5), 50)
    b = model.sample(np.random.default_rng(5), 50)
    np.testing.assert_array_equal(a, b)
    assert a.shape == (50,) and a.min() >= 0 and a.max() < V
    s = model.sample(np.random.default_rng(5), 500, stop_id=int(a[0]))
    assert s[-1] == a[0] and s.shape[0] < 500


def test_bad_input_is_a_clear_error():
    ids, offsets = random_corpus()
    with pytest.raises(MinilmError, match="order"):
        fit_kneser_ney(ids, offsets, V, 6, BOS)
    with pytest.raises(MinilmError, match="out of range"):
        fit_kneser_ney(ids, offsets, 5, 3, BOS)


def test_same_targets_and_contexts_as_the_neural_batchers():
    """Apples to apples: KN scores exactly the (context, target) pairs the NPLM trains on, and
    the SRN's stream holds the same targets in the same order."""
    from minilm.data.batchers import NgramBatches, StreamBatches
    from minilm.data.corpus import TokenStream
    from minilm.models.ngram import with_eos

    EOS = 0
    ids, offsets = random_corpus(sentences=30)
    stream = TokenStream(ids, offsets)
    aug_ids, aug_offsets = with_eos(ids, offsets, EOS)
    rows = ngram_windows(aug_ids, aug_offsets, 4, BOS)  # (M, 4)
    nb = NgramBatches(stream, 3, batch_size=10_000, seed=0, pad_id=BOS, eos_id=EOS, shuffle=False)
    batch = next(nb.epoch(0))
    np.testing.assert_array_equal(batch["context"], rows[:, :-1])
    np.testing.assert_array_equal(batch["target"], rows[:, -1])
    sb = StreamBatches(stream, batch_size=1, T=4, seed=0, eos_id=EOS)
    np.testing.assert_array_equal(sb.data, aug_ids)

    model = fit_kneser_ney(ids, offsets, V, 3, BOS, eos_id=EOS)
    _, count = model.log_likelihood(ids, offsets)
    assert count == ids.size + offsets.size - 1  # every word and every sentence end
    for context in ([BOS, BOS], [5, 6], [EOS, 7]):
        assert abs(model.distribution(np.array(context)).sum() - 1) < SUM_TOL
