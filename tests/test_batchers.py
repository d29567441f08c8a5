"""Batchers: exact agreement with slow references, distributions checked statistically.

Statistical tests compare a count with its expectation and allow 5 standard deviations
(a false alarm about once in 3.5 million runs); the seeds are fixed, so a run is reproducible.
"""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from minilm.data.batchers import MLMBatches, NgramBatches, StreamBatches
from minilm.data.corpus import TokenStream
from minilm.data.word2vec_batches import (
    CbowWindows,
    NegativeSampler,
    SkipgramPairs,
    keep_probability,
)
from minilm.errors import MinilmError

SENTENCES = [[5, 6, 7, 8], [9], [10, 11, 5, 6, 12], [7, 7]]
PAD, EOS = 1, 2


def _random_stream(rng, n_sentences, V, low=1, high=12, first_id=0):
    lengths = rng.integers(low, high + 1, size=n_sentences)
    ids = rng.integers(first_id, V, size=lengths.sum())
    return TokenStream(ids, np.concatenate([[0], np.cumsum(lengths)]))


def _close(observed, expected, variance, sigmas=5.0):
    return abs(observed - expected) <= sigmas * np.sqrt(variance) + 1e-9


# ---------------------------------------------------------------------------- n-grams


def _ngram_reference(sentences, n_ctx, eos):
    out = []
    for s in sentences:
        seq = [PAD] * n_ctx + list(s) + ([eos] if eos is not None else [])
        out += [(tuple(seq[t - n_ctx : t]), seq[t]) for t in range(n_ctx, len(seq))]
    return out


@pytest.mark.parametrize("n_ctx", [1, 2, 4])
@pytest.mark.parametrize("eos", [None, EOS])
def test_ngram_matches_reference_in_order(n_ctx, eos):
    stream = TokenStream.from_sentences(SENTENCES)
    nb = NgramBatches(stream, n_ctx, batch_size=3, seed=0, pad_id=PAD, eos_id=eos, shuffle=False)
    got = [
        (tuple(c), int(t))
        for b in nb.epoch(0)
        for c, t in zip(b["context"].tolist(), b["target"], strict=True)
    ]
    assert got == _ngram_reference(SENTENCES, n_ctx, eos)
    assert nb.steps_per_epoch == len(list(nb.epoch(0)))


def test_ngram_shuffle_is_a_seeded_permutation_per_epoch():
    stream = _random_stream(np.random.default_rng(0), 50, 30, first_id=3)
    nb = NgramBatches(stream, 3, batch_size=16, seed=7, pad_id=PAD, eos_id=EOS)

    def examples(e):
        return [
            (tuple(c), t)
            for b in nb.epoch(e)
            for c, t in zip(b["context"].tolist(), b["target"].tolist(), strict=True)
        ]

    assert examples(0) == examples(0)  # deterministic
    assert examples(0) != examples(1)  # reshuffled
    assert sorted(examples(1)) == sorted(_ngram_reference(_sentences(stream), 3, EOS))
    assert sum(b["n_tokens"] for b in nb.epoch(0)) == stream.n_tokens + stream.n_sentences


def _sentences(stream):
    return [stream.sentence(s).tolist() for s in range(stream.n_sentences)]


# ---------------------------------------------------------------------------- streams


def test_stream_windows_are_contiguous_and_shifted():
    stream = _random_stream(np.random.default_rng(1), 40, 50, first_id=3)
    data = np.insert(stream.ids, stream.offsets[1:], EOS)
    N, T = 4, 5
    sb = StreamBatches(stream, N, T, seed=3, eos_id=EOS)
    assert sb.data.size == stream.n_tokens + stream.n_sentences
    assert np.array_equal(sb.data, data)
    for e in (0, 1):
        batches = list(sb.epoch(e))
        assert len(batches) == sb.steps_per_epoch
        assert [b["reset"] for b in batches] == [True] + [False] * (len(batches) - 1)
        start = np.flatnonzero(data == batches[0]["inputs"][0, 0])  # where row 0 begins
        assert start.size >= 1
        for k, b in enumerate(batches):
            assert b["inputs"].shape == b["targets"].shape == (N, T) and b["n_tokens"] == N * T
            # targets are inputs shifted by one in the data
            for i in range(N):
                at = np.flatnonzero(
                    [np.array_equal(data[p : p + T], b["inputs"][i]) for p in range(data.size - T)]
                )
                assert any(np.array_equal(data[p + 1 : p + T + 1], b["targets"][i]) for p in at)
            if k:
                # row i of batch k continues row i of batch k-1
                assert np.array_equal(b["inputs"][:, 0], batches[k - 1]["targets"][:, -1])
    assert not np.array_equal(list(sb.epoch(0))[0]["inputs"], list(sb.epoch(0))[1]["inputs"])


def test_stream_rows_cover_disjoint_stretches():
    stream = TokenStream(np.arange(100), np.array([0, 100]))  # ids = positions
    sb = StreamBatches(stream, batch_size=3, T=4, seed=0)
    inputs = np.concatenate([b["inputs"] for b in sb.epoch(0)], axis=1)  # (N, steps*T)
    assert np.all(np.diff(inputs, axis=1) == 1)  # each row is one contiguous stretch
    assert np.all(inputs[1:, 0] - inputs[:-1, 0] == sb.stream_len)  # side by side, no overlap
    assert inputs[:, -1].max() + 1 <= 99  # the last target stays inside the data


def test_stream_shorter_than_one_window_is_an_error():
    stream = TokenStream.from_sentences([[3, 4, 5, 6]])
    with pytest.raises(MinilmError, match="fewer than one batch of windows.*--bptt"):
        StreamBatches(stream, batch_size=2, T=3, seed=0)


# ---------------------------------------------------------------------------- subsampling


def test_keep_probability_formula():
    counts = np.array([0, 1000, 100, 10, 1])
    t = 1e-3
    p = keep_probability(counts, t)
    f = counts[1:] / counts.sum()
    assert np.allclose(p[1:], np.minimum((np.sqrt(f / t) + 1) * t / f, 1.0))
    assert p[0] == 1.0 and p[1] < 0.1 and p[-1] == 1.0
    assert np.all(keep_probability(counts, 0) == 1.0)


def test_subsampling_keep_rate_matches_formula():
    counts = np.array([0, 60_000, 20_000, 5_000, 1_000, 200])
    ids = np.repeat(np.arange(len(counts)), counts)
    np.random.default_rng(0).shuffle(ids)
    stream = TokenStream(ids, np.arange(0, ids.size + 1, 10))
    sp = SkipgramPairs(stream, counts, window=2, sample=1e-2, batch_size=100, seed=0)
    kept, _ = sp.subsample(np.random.default_rng(5))
    p = keep_probability(counts, 1e-2)
    observed = np.bincount(kept, minlength=len(counts))
    for w in range(1, len(counts)):
        n = counts[w]
        assert _close(observed[w], n * p[w], n * p[w] * (1 - p[w])), (w, observed[w], n * p[w])


# ---------------------------------------------------------------------------- skip-gram pairs


def _kept_and_radii(stream, counts, sample, unk, window, rng):
    """The reference draws, token by token, in the order the batcher makes them."""
    p = keep_probability(counts, sample)
    u = rng.random(stream.n_tokens)
    sentence = stream.sentence_index()
    kept = [
        (int(w), int(s))
        for w, s, r in zip(stream.ids, sentence, u, strict=True)
        if r < p[w] and w != unk
    ]
    return kept, rng.integers(1, window + 1, size=len(kept))


def _skipgram_reference(stream, counts, sample, unk, window, rng):
    kept, radius = _kept_and_radii(stream, counts, sample, unk, window, rng)
    pairs = []
    for i, (w, s) in enumerate(kept):
        for j in range(max(0, i - radius[i]), min(len(kept), i + radius[i] + 1)):
            if j != i and kept[j][1] == s:
                pairs.append((w, kept[j][0]))
    return sorted(pairs)


def _cbow_reference(stream, counts, sample, unk, window, rng):
    """(centre, ((offset, word), ...)) per example, a token at a time: lone words dropped."""
    p = keep_probability(counts, sample)
    u = rng.random(stream.n_tokens)
    rows = zip(stream.ids, stream.sentence_index(), u, strict=True)
    kept = [(int(w), int(s)) for w, s, r in rows if r < p[w] and w != unk]
    sizes = {}
    for _, s in kept:
        sizes[s] = sizes.get(s, 0) + 1
    kept = [(w, s) for w, s in kept if sizes[s] > 1]
    radius = rng.integers(1, window + 1, size=len(kept))
    out = []
    for i, (w, s) in enumerate(kept):
        lo, hi = max(0, i - radius[i]), min(len(kept), i + radius[i] + 1)
        bag = tuple((j - i, kept[j][0]) for j in range(lo, hi) if j != i and kept[j][1] == s)
        out.append((w, bag))
    return sorted(out)


@pytest.mark.parametrize("window", [1, 2, 5])
@pytest.mark.parametrize("sample", [0.0, 0.05])
def test_skipgram_pairs_match_brute_force(window, sample):
    rng = np.random.default_rng(2)
    stream = _random_stream(rng, 30, 12, low=1, high=9)
    counts = np.bincount(stream.ids, minlength=12)
    sp = SkipgramPairs(stream, counts, window, sample, batch_size=7, seed=4, unk_id=0)
    for e in (0, 3):
        got = sorted(
            (int(c), int(x))
            for b in sp.epoch(e)
            for c, x in zip(b["center"], b["context"], strict=True)
        )
        ref = _skipgram_reference(stream, counts, sample, 0, window, np.random.default_rng([4, e]))
        assert got == ref
        assert all(c != 0 and x != 0 for c, x in got)  # <unk> removed


@pytest.mark.parametrize("window", [1, 3])
@pytest.mark.parametrize("sample", [0.0, 0.05])
def test_cbow_windows_match_brute_force(window, sample):
    rng = np.random.default_rng(3)
    stream = _random_stream(rng, 25, 10, low=1, high=8)
    counts = np.bincount(stream.ids, minlength=10)
    cw = CbowWindows(stream, counts, window, sample, batch_size=5, seed=1, unk_id=0)
    d = np.arange(-window, window + 1)
    for e in (0, 2):
        got = []
        for b in cw.epoch(e):
            N = b["center"].size
            assert b["context"].shape == (N + 2 * window,)
            assert np.array_equal(b["center"], b["context"][window : window + N])
            assert not b["context_mask"][:, window].any()  # never the centre itself
            for n in range(N):
                m = b["context_mask"][n]
                words = b["context"][n : n + 2 * window + 1][m]
                bag = tuple(zip(d[m].tolist(), words.tolist(), strict=True))
                got.append((int(b["center"][n]), bag))
        ref = _cbow_reference(stream, counts, sample, 0, window, np.random.default_rng([1, e]))
        assert sorted(got) == ref


def test_cbow_batches_cover_the_text_in_a_shuffled_order():
    rng = np.random.default_rng(6)
    stream = _random_stream(rng, 300, 40, low=1, high=12)
    counts = np.bincount(stream.ids, minlength=40)
    cw = CbowWindows(
        stream, counts, 4, 0, 64, seed=2, negative=3, shared_negatives=8, noise_group=20
    )
    batches = list(cw.epoch(0))
    assert len(batches) == cw.steps_per_epoch
    assert sum(b["n_tokens"] for b in batches) == stream.n_tokens
    lone = np.isin(stream.sentence_index(), np.flatnonzero(stream.lengths == 1))
    centres = np.concatenate([b["center"] for b in batches])
    assert np.array_equal(np.sort(centres), np.sort(stream.ids[~lone]))  # sample 0: all but lone
    assert not np.array_equal(centres, stream.ids[~lone])  # the batches come shuffled
    for b in batches:  # ceil(N / 20) groups of 8 noise words, weighted K / S
        assert b["negatives"].shape == (-(-b["center"].size // 20), 8)
        assert b["noise_weight"] == 3 / 8
    again = list(cw.epoch(0))
    assert all(np.array_equal(a[k], b[k]) for a, b in zip(batches, again, strict=True) for k in a)


def test_pairs_never_cross_sentences():
    # sentence s uses only ids 10*s .. 10*s+9, so a crossing pair would mix decades
    rng = np.random.default_rng(0)
    sentences = [list(10 * s + rng.integers(0, 10, size=rng.integers(1, 8))) for s in range(40)]
    stream = TokenStream.from_sentences(sentences)
    counts = np.bincount(stream.ids, minlength=400)
    sp = SkipgramPairs(stream, counts, window=6, sample=0, batch_size=32, seed=0)
    for b in sp.epoch(0):
        assert np.all(b["center"] // 10 == b["context"] // 10)


def test_skipgram_pairs_carry_their_distance():
    """One sentence of distinct words, no subsampling: a pair's distance is |centre - context|."""
    stream = TokenStream(np.arange(200), np.array([0, 200]))
    sp = SkipgramPairs(stream, np.ones(200, dtype=np.int64), 4, 0, batch_size=64, seed=0)
    for b in sp.epoch(0):
        assert np.array_equal(b["distance"], np.abs(b["center"] - b["context"]))
        assert 1 <= b["distance"].min() and b["distance"].max() <= 4


def test_window_radius_is_uniform():
    """One long sentence of distinct words: a centre's farthest context is its radius b."""
    n, W = 30_000, 5
    stream = TokenStream(np.arange(n), np.array([0, n]))
    sp = SkipgramPairs(stream, np.ones(n, dtype=np.int64), W, 0, batch_size=10_000, seed=0)
    center = np.concatenate([b["center"] for b in sp.epoch(0)])
    context = np.concatenate([b["context"] for b in sp.epoch(0)])
    radius = np.zeros(n, dtype=np.int64)
    np.maximum.at(radius, center, np.abs(center - context))
    interior = radius[W:-W]
    hist = np.bincount(interior, minlength=W + 1)[1:]
    expected = interior.size / W
    for b in range(W):
        assert _close(hist[b], expected, expected * (1 - 1 / W)), hist
    # and each pair distance d occurs with probability P(b >= d) = (W - d + 1) / W per side
    d = np.abs(center - context)
    assert d.min() >= 1 and d.max() == W


def test_skipgram_batches_steps_tokens_and_negatives():
    rng = np.random.default_rng(4)
    stream = _random_stream(rng, 200, 50, low=2, high=10)
    counts = np.bincount(stream.ids, minlength=50)
    sp = SkipgramPairs(stream, counts, 3, 1e-2, 64, seed=9, unk_id=0, negative=5)
    for e in (0, 1):
        batches = list(sp.epoch(e))
        assert len(batches) == sp.steps_per_epoch
        assert sum(b["n_tokens"] for b in batches) == stream.n_tokens
        for b in batches:
            assert b["negatives"].shape == (b["center"].size, 5)
            assert not np.any(b["negatives"] == 0)  # <unk> is never noise
    first = list(sp.epoch(1))
    again = list(sp.epoch(1))
    assert all(
        np.array_equal(a[k], b[k])
        for a, b in zip(first, again, strict=True)
        for k in a
        if k != "n_tokens"
    )


def test_shared_negatives_one_draw_per_batch():
    rng = np.random.default_rng(5)
    stream = _random_stream(rng, 200, 50, low=2, high=10)
    counts = np.bincount(stream.ids, minlength=50)
    kw = dict(unk_id=0, negative=5)
    shared = SkipgramPairs(stream, counts, 3, 1e-2, 64, seed=9, shared_negatives=16, **kw)
    per_pair = SkipgramPairs(stream, counts, 3, 1e-2, 64, seed=9, **kw)
    for a, b in zip(shared.epoch(0), per_pair.epoch(0), strict=True):
        assert a["negatives"].shape == (1, 16) and a["noise_weight"] == 5 / 16
        assert not np.any(a["negatives"] == 0)  # <unk> is never noise
        assert np.array_equal(a["center"], b["center"])  # the same pairs either way
    with pytest.raises(MinilmError, match="--shared-negatives"):
        SkipgramPairs(stream, counts, 3, 1e-2, 64, seed=9, shared_negatives=-1, **kw)
    with pytest.raises(MinilmError, match="--noise-group"):
        CbowWindows(stream, counts, 3, 1e-2, 64, seed=9, noise_group=-1, **kw)


def test_no_pairs_is_an_error():
    stream = TokenStream.from_sentences([[3], [4], [5]])  # one word a sentence
    for source in (SkipgramPairs, CbowWindows):
        with pytest.raises(MinilmError, match="no \\(centre, context\\) pairs"):
            source(stream, np.bincount(stream.ids), 5, 0, 8, seed=0)
    with pytest.raises(MinilmError, match="--window"):
        SkipgramPairs(stream, np.bincount(stream.ids), 0, 0, 8, seed=0)


# ---------------------------------------------------------------------------- noise


def test_negative_sampler_follows_unigram_power():
    counts = np.array([0, 1000, 100, 10, 1, 0, 5000])
    sampler = NegativeSampler(counts, power=0.75)
    n = 1_000_000
    draws = sampler.sample((1000, 1000), np.random.default_rng(0))
    assert draws.shape == (1000, 1000) and draws.dtype == np.int64
    observed = np.bincount(draws.ravel(), minlength=counts.size)
    p = counts**0.75 / (counts**0.75).sum()
    assert observed[0] == observed[5] == 0  # zero counts are never drawn
    for w in range(counts.size):
        assert _close(observed[w], n * p[w], n * p[w] * (1 - p[w])), (w, observed[w], n * p[w])


def test_alias_table_is_exact():
    """Column k gives word k with prob[k] and alias[k] otherwise: the mixture must equal P(w)."""
    counts = np.random.default_rng(0).integers(0, 1000, size=300)
    sampler = NegativeSampler(counts)
    n = sampler.prob.size
    implied = np.bincount(np.arange(n), weights=sampler.prob, minlength=n)
    implied += np.bincount(sampler.alias, weights=1 - sampler.prob, minlength=n)
    assert np.allclose(implied / n, sampler.probs[sampler.support], rtol=0, atol=1e-12)
    assert np.array_equal(sampler.support, np.flatnonzero(counts))


def test_negative_sampler_rng_sources():
    counts = np.array([3, 1, 2])
    a = NegativeSampler(counts, rng=np.random.default_rng(1)).sample(10)
    b = NegativeSampler(counts).sample(10, np.random.default_rng(1))
    c = NegativeSampler(counts).sample(np.random.default_rng(1), 10)  # (rng, shape) order too
    assert np.array_equal(a, b) and np.array_equal(a, c)
    with pytest.raises(MinilmError):
        NegativeSampler(np.zeros(3))


# ---------------------------------------------------------------------------- masked LM

SPECIALS = (0, 1, 2)  # pad, mask, unk in these tests
V = 500


def _mlm_epoch(stream, max_len=8, batch_size=64, seed=0, e=0):
    mb = MLMBatches(
        stream,
        batch_size,
        seed,
        pad_id=0,
        mask_id=1,
        vocab_size=V,
        max_len=max_len,
        special_ids=SPECIALS,
    )
    return mb, list(mb.epoch(e))


def test_mlm_batches_structure():
    stream = _random_stream(np.random.default_rng(0), 300, V, low=1, high=20, first_id=3)
    mb, batches = _mlm_epoch(stream)
    assert len(batches) == mb.steps_per_epoch
    pieces = []
    for b in batches:
        real = ~b["pad_mask"]
        assert np.all(b["inputs"][b["pad_mask"]] == 0) and np.all(b["targets"][b["pad_mask"]] == 0)
        assert np.all(real[:, 0]) and b["inputs"].shape[1] <= 8  # left-aligned, cut at max_len
        assert not np.any(b["loss_mask"] & b["pad_mask"])
        assert np.all(b["loss_mask"].any(axis=1))  # every sentence has a token to predict
        assert np.all(b["inputs"][~b["loss_mask"]] == b["targets"][~b["loss_mask"]])
        assert b["n_tokens"] == real.sum()
        pieces += [tuple(row[m].tolist()) for row, m in zip(b["targets"], real, strict=True)]
    # the pieces are the sentences cut every 8 tokens, each exactly once
    expected = []
    for s in _sentences(stream):
        expected += [tuple(s[i : i + 8]) for i in range(0, len(s), 8)]
    assert sorted(pieces) == sorted(expected)


def test_mlm_selection_rate_and_80_10_10():
    rate = 0.15
    stream = _random_stream(np.random.default_rng(1), 4000, V, low=1, high=30, first_id=3)
    mb, batches = _mlm_epoch(stream, max_len=16)
    lengths = np.diff(mb.offsets)
    # selection: Bernoulli(rate) per token, plus one forced pick in a piece with none
    expected = (lengths * rate + (1 - rate) ** lengths).sum()
    variance = (lengths * rate * (1 - rate) + (1 - rate) ** lengths).sum()
    selected = sum(int(b["loss_mask"].sum()) for b in batches)
    assert _close(selected, expected, variance), (selected, expected)

    inp = np.concatenate([b["inputs"][b["loss_mask"]] for b in batches])
    tgt = np.concatenate([b["targets"][b["loss_mask"]] for b in batches])
    n = inp.size
    R = V - len(SPECIALS)  # replacement words
    shares = {
        "mask": (np.sum(inp == 1), 0.8),
        "unchanged": (np.sum(inp == tgt), 0.1 + 0.1 / R),  # a random word may equal the original
        "random": (np.sum((inp != 1) & (inp != tgt)), 0.1 * (1 - 1 / R)),
    }
    for name, (count, p) in shares.items():
        assert _close(count, n * p, n * p * (1 - p)), (name, count, n * p)
    assert not np.any(np.isin(inp[inp != 1], SPECIALS))  # replacements are ordinary words


def test_mlm_is_deterministic_per_epoch():
    stream = _random_stream(np.random.default_rng(2), 50, V, first_id=3)
    _, a = _mlm_epoch(stream, e=3)
    _, b = _mlm_epoch(stream, e=3)
    _, c = _mlm_epoch(stream, e=4)
    assert all(np.array_equal(x["inputs"], y["inputs"]) for x, y in zip(a, b, strict=True))
    assert not all(
        x["inputs"].shape == y["inputs"].shape and np.array_equal(x["inputs"], y["inputs"])
        for x, y in zip(a, c, strict=True)
    )


# ---------------------------------------------------------------------------- tiny corpora


tiny_corpora = st.lists(st.lists(st.integers(3, 7), min_size=1, max_size=4), min_size=1, max_size=3)


@settings(max_examples=60, deadline=None)
@given(tiny_corpora, st.integers(1, 3), st.integers(1, 4), st.booleans())
def test_batchers_on_tiny_corpora(sentences, window, batch_size, cbow):
    """1 sentence, 1 word, ...: each batcher gives valid batches or a clean MinilmError."""
    stream = TokenStream.from_sentences(sentences)
    counts = np.bincount(stream.ids, minlength=8)
    n_tokens = stream.n_tokens

    nb = NgramBatches(stream, window, batch_size, 0, pad_id=PAD, eos_id=EOS)
    assert sum(b["target"].size for b in nb.epoch(0)) == n_tokens + len(sentences)

    try:
        sb = StreamBatches(stream, batch_size, window, 0, eos_id=EOS)
    except MinilmError:
        assert n_tokens + len(sentences) < (batch_size + 1) * window
    else:
        assert sum(1 for _ in sb.epoch(1)) == sb.steps_per_epoch >= 1

    try:
        source = CbowWindows if cbow else SkipgramPairs
        sp = source(stream, counts, window, 0, batch_size, 0, negative=2)
    except MinilmError:
        assert all(len(s) == 1 for s in sentences)
    else:
        for b in sp.epoch(1):
            assert b["center"].size == b["negatives"].shape[0] >= 1

    mb = MLMBatches(
        stream, batch_size, 0, pad_id=0, mask_id=1, vocab_size=8, max_len=3, special_ids=SPECIALS
    )
    for b in mb.epoch(0):
        assert np.all(b["loss_mask"].any(axis=1))


def test_skipgram_pairs_in_text_order():
    # shuffle_span=0: word2vec.c's loop order - centre by centre, each centre's contexts left
    # to right - over the same pairs as the shuffled epoch
    n = 200
    stream = TokenStream.from_sentences([list(range(0, 120)), list(range(120, n))])
    counts = np.ones(n, dtype=np.int64)
    kwargs = dict(window=4, sample=0, batch_size=64, seed=3)
    ordered = SkipgramPairs(stream, counts, shuffle_span=0, **kwargs)
    center = np.concatenate([b["center"] for b in ordered.epoch(1)])
    context = np.concatenate([b["context"] for b in ordered.epoch(1)])
    key = center * n + context  # ids are positions here: sorted = word2vec.c's order
    assert np.all(np.diff(key) > 0)
    shuffled = SkipgramPairs(stream, counts, **kwargs)
    pairs = np.concatenate([b["center"] * n + b["context"] for b in shuffled.epoch(1)])
    assert np.array_equal(np.sort(pairs), key) and not np.array_equal(pairs, key)

    # shuffle_span=50: shuffled, but no pair leaves its span of 50 in the text's order
    local = SkipgramPairs(stream, counts, shuffle_span=50, **kwargs)
    pairs = np.concatenate([b["center"] * n + b["context"] for b in local.epoch(1)])
    assert not np.array_equal(pairs, key)
    for a in range(0, key.size, 50):
        assert np.array_equal(np.sort(pairs[a : a + 50]), key[a : a + 50])


def test_cbow_batches_in_text_order():
    rng = np.random.default_rng(6)
    stream = _random_stream(rng, 300, 40, low=1, high=12)
    counts = np.bincount(stream.ids, minlength=40)
    cw = CbowWindows(stream, counts, 4, 0, 64, seed=2, shuffle_span=0)
    lone = np.isin(stream.sentence_index(), np.flatnonzero(stream.lengths == 1))
    centres = np.concatenate([b["center"] for b in cw.epoch(0)])
    assert np.array_equal(centres, stream.ids[~lone])
    with pytest.raises(MinilmError, match="shuffle"):
        CbowWindows(stream, counts, 4, 0, 64, seed=2, shuffle_span=-1)
