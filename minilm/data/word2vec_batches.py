"""word2vec's and fastText's batchers: subsampled text as (centre, context) pairs or as
stretches of text for CBOW, with noise words (docs/05-word2vec.md).

    SkipgramPairs   skip-gram  subsampled (centre, context) pairs
    CbowWindows     CBOW       subsampled text in stretches, each word's window masked
    NegativeSampler            unigram^0.75 noise words (Walker's alias method)
    SubwordBatches  fastText   a word2vec source's batches + the context words' n-gram ids
    HuffmanBatches  --hs       a word2vec source's batches + the centre words' Huffman paths

Each is a `BatchSource` for `minilm.train.train`, as in minilm/data/batchers.py: all randomness
of epoch e comes from `epoch_rng(seed, e)`, and the work is done with whole-array operations.
Shape legend: N batch, K negatives, S shared noise words, G groups, W window, V vocabulary.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterator, Sequence

import numpy as np

from minilm.data.batchers import check_positive, epoch_rng
from minilm.data.corpus import TokenStream
from minilm.data.huffman import HuffmanTree
from minilm.errors import MinilmError
from minilm.limits import check_memory


def keep_probability(counts: np.ndarray, sample: float) -> np.ndarray:
    """word2vec.c's subsampling: P(keep w) = (sqrt(f/t) + 1) * t/f, clipped to 1.

    f = count(w) / total is the word's frequency and t = `sample` the threshold.

    (Mikolov et al. 2013 wrote P(discard) = 1 - sqrt(t/f); the code keeps a little more.)
    t is 1e-3 .. 1e-5 typically; `sample <= 0` keeps everything, as does a count of 0.
    """
    counts = np.asarray(counts, dtype=np.float64)
    if sample <= 0 or counts.sum() == 0:
        return np.ones_like(counts)
    f = counts / counts.sum()
    with np.errstate(divide="ignore", invalid="ignore"):
        p = (np.sqrt(f / sample) + 1.0) * sample / f
    return np.where(f > 0, np.minimum(p, 1.0), 1.0)


class NegativeSampler:
    """Noise words drawn from the unigram distribution raised to `power` (0.75 in word2vec).

    P(w) = c(w)^power / sum_v c(v)^power. Sampling uses Walker's alias method (Vose's
    construction): n equal columns, column k holds word k with probability prob[k] and its
    alias word otherwise, so a draw is one uniform column and one coin - exact, and about twice
    as fast as inverting the cumulative sum with `searchsorted` (word2vec.c uses a 1e8-entry
    table, which rounds the probabilities). One uniform draw gives both the column and the
    coin. Only words with a positive count get a
    column, so a word with count 0 (the specials, or any word you zero out) is never drawn.
    """

    def __init__(
        self, counts: np.ndarray, power: float = 0.75, rng: np.random.Generator | None = None
    ):
        counts = np.asarray(counts)
        self.support = np.flatnonzero(counts > 0)  # (n,) the words that can be drawn
        if self.support.size == 0:
            raise MinilmError("no word has a positive count; the noise distribution is empty")
        weights = counts[self.support].astype(np.float64) ** power
        self.probs = np.zeros(counts.size)  # (V,)
        self.probs[self.support] = weights / weights.sum()
        self.prob, self.alias = _alias_table(weights / weights.sum())
        self.rng = rng

    def sample(
        self, shape: int | Sequence[int], rng: np.random.Generator | None = None
    ) -> np.ndarray:
        """Draw word ids of `shape` (int64), with `rng` or else the generator given at construction.

        `sample(rng, shape)` is accepted too.
        """
        if isinstance(shape, np.random.Generator):
            shape, rng = rng, shape
        rng = rng if rng is not None else self.rng
        if rng is None:
            raise ValueError("NegativeSampler.sample needs an rng (here or at construction)")
        u = rng.random(shape) * self.prob.size  # one uniform: its integer part is the column,
        column = u.astype(np.int64)  # its fraction the coin (~39 of its 53 bits are left for it)
        word = self.alias[column]
        np.copyto(word, column, where=u - column < self.prob[column])
        return self.support[word]


def _alias_table(p: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Vose's alias table for probabilities p (n,): (prob (n,), alias (n,)).

    Scale p by n so the average column is 1; repeatedly fill a short column (n*p < 1) up to
    1 with mass from a tall column, which becomes its alias. A loop over words, run once.
    """
    n = p.size
    scaled = (p * n).tolist()
    prob, alias = np.ones(n), np.arange(n)
    small = [k for k in range(n) if scaled[k] < 1.0]
    large = [k for k in range(n) if scaled[k] >= 1.0]
    while small and large:
        short, tall = small.pop(), large.pop()
        prob[short], alias[short] = scaled[short], tall
        scaled[tall] -= 1.0 - scaled[short]
        (small if scaled[tall] < 1.0 else large).append(tall)
    return prob, alias  # columns left over are full (1.0) up to rounding


def _span_shuffle(n: int, span: int | None, rng: np.random.Generator) -> np.ndarray:
    """An order of n items shuffled within consecutive spans of `span` (None: all n at once;
    0 or 1: the identity), so the order follows the text at the scale of spans."""
    if span is None:
        return rng.permutation(n)
    if span <= 1:
        return np.arange(n)
    whole = n - n % span
    order = np.empty(n, dtype=np.int64)  # (n,) each row of spans shuffled on its own, O(n)
    order[:whole] = rng.permuted(np.arange(whole).reshape(-1, span), axis=1).reshape(-1)
    order[whole:] = whole + rng.permutation(n - whole)
    return order


def _reaches(sentence: np.ndarray, radius: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """How far each kept word's window reaches to the left and to the right: its radius, cut
    short at its sentence's ends. sentence (M,) non-decreasing, radius (M,) -> (M,), (M,)."""
    starts = np.flatnonzero(np.diff(sentence, prepend=-1, append=-1))  # (S+1,) sentence borders
    sizes = np.diff(starts)  # kept words per sentence
    first = np.repeat(starts[:-1], sizes)  # (M,) its sentence's first word
    last = first + np.repeat(sizes, sizes) - 1  # (M,) and last word
    i = np.arange(sentence.size)
    return np.minimum(radius, i - first), np.minimum(radius, last - i)


class _Word2vecExamples(ABC):
    """What skip-gram's pairs and CBOW's windows share: subsampling, radii and noise words.

    For epoch e, with rng = default_rng([seed, e]):
    1. Subsample: token w is kept with `keep_probability(counts, sample)[w]`; <unk> tokens
       (`unk_id`) are removed. Removal happens *before* windowing, as in word2vec.c, so the
       window reaches further in text full of frequent words.
    2. Reduced window: every kept token draws a radius b uniform in 1..window (word2vec.c's
       `b = rand % window`, window - b); its context is the kept words within distance b in
       its sentence.
    3. Order: the examples in the text's order, shuffled within consecutive spans of
       `shuffle_span` examples (None: over the whole epoch; 0: not at all). word2vec.c and
       gensim read the text in order, and with a learning rate decaying over the run that
       order shapes the vectors: what is read last, at the smallest steps, weighs least on the
       way and most at the end. On a corpus of several sources in a row (wikipedia, news,
       bible) two gensim runs that differ only in their seed share their top-10 neighbours
       far more often (0.60 of them for frequent words) than a run on the same sentences
       shuffled does (0.44), and so does minilm: 0.44 with whole-epoch shuffling, 0.59 with
       spans of 65536 pairs (benchmarks/bench_real_text.py). Spans of a few tens of thousands
       of examples keep that order, yet keep a batch from holding the ~2W pairs of one token.
    4. Batches (the subclass's): exactly `steps_per_epoch` per epoch, of about `batch_size`
       examples (the count varies a little between epochs; steps_per_epoch comes from epoch 0).

    Noise words, with `negative=K > 0`: "negatives" (N, K), K of each example's own
    (unigram^power over `counts`, <unk> never drawn); a noise word may equal the centre -
    word2vec.c skips those, so mask `negatives == center` if you want the same. With
    `shared_negatives=S > 0`, "negatives" is (G, S): the batch's examples are cut into
    G = ceil(N / noise_group) groups (one group with noise_group=0) that share S noise words,
    and "noise_weight" = K / S is the weight of each (see minilm/models/skipgram.py).
    `n_tokens` is a batch's share of the epoch's text tokens (summing to the stream size), for
    tokens/s figures comparable with word2vec's words/s.
    """

    def __init__(
        self,
        stream: TokenStream,
        counts: np.ndarray,
        window: int,
        sample: float,
        batch_size: int,
        seed: int,
        *,
        unk_id: int | None = None,
        negative: int = 0,
        power: float = 0.75,
        shared_negatives: int = 0,
        noise_group: int = 0,
        shuffle_span: int | None = None,
    ):
        check_positive("window", window, "--window")
        check_positive("batch_size", batch_size, "--batch-size")
        non_negative = (
            ("negative", negative),
            ("shared_negatives", shared_negatives),
            ("noise_group", noise_group),
        )
        for name, value in non_negative:
            if value < 0:
                flag = "--" + name.replace("_", "-")
                raise MinilmError(f"{name} must be >= 0, got {value}; fix {flag}")
        self.stream, self.window, self.batch_size, self.seed = stream, window, batch_size, seed
        self.unk_id, self.negative = unk_id, negative
        self.shared_negatives, self.noise_group = shared_negatives, noise_group
        if shuffle_span is not None and shuffle_span < 0:
            raise MinilmError(f"shuffle_span must be >= 0, got {shuffle_span}; fix --shuffle-span")
        self.shuffle_span = shuffle_span
        counts = np.asarray(counts, dtype=np.int64)
        self.keep_prob = keep_probability(counts, sample)  # (V,)
        self.sentence = stream.sentence_index()  # (n_tokens,)
        # No window reaches past its sentence: arrays are sized by this reach, not by --window
        # (the radius is still drawn from 1..window, so the examples are the same).
        longest = int(np.max(stream.lengths)) if len(stream.lengths) else 1
        self.reach = max(1, min(window, longest - 1))
        check_memory(self._epoch_bytes(), f"--window {window} (reach {self.reach})", "lower it")
        if negative:
            noise_counts = counts.copy()
            if unk_id is not None:
                noise_counts[unk_id] = 0
            self.noise = NegativeSampler(noise_counts, power)
        n = self._examples(epoch_rng(seed, 0))[0].shape[0]
        if n == 0:
            raise MinilmError(
                f"no (centre, context) pairs: no sentence has two kept words within window "
                f"{window}; use a longer corpus, a larger --window or less subsampling (--sample)"
            )
        self.steps_per_epoch = max(1, n // batch_size)

    def subsample(self, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
        """Step 1: the tokens kept this epoch, and their sentences: (M,), (M,)."""
        ids = self.stream.ids
        keep = rng.random(ids.size) < self.keep_prob[ids]
        if self.unk_id is not None:
            keep &= ids != self.unk_id
        return ids[keep], self.sentence[keep]

    @abstractmethod
    def _epoch_bytes(self) -> float:
        """About the most memory one epoch's examples take (checked before any is built)."""

    @abstractmethod
    def _examples(self, rng: np.random.Generator) -> tuple[np.ndarray, ...]:
        """One epoch's examples in text order, as arrays whose first has one row per example."""

    def _borders(self, n: int) -> tuple[np.ndarray, np.ndarray]:
        """Batch k holds examples borders[k]:borders[k+1] and tokens[k+1] - tokens[k] tokens."""
        borders = np.linspace(0, n, self.steps_per_epoch + 1).round().astype(np.int64)
        tokens = np.round(borders / max(n, 1) * self.stream.n_tokens).astype(np.int64)
        return borders, tokens

    def _noise(self, batch: dict, rng: np.random.Generator) -> dict:
        N = batch["center"].size
        if self.negative and self.shared_negatives:
            groups = -(-N // self.noise_group) if self.noise_group else 1
            batch["negatives"] = self.noise.sample((groups, self.shared_negatives), rng)
            batch["noise_weight"] = self.negative / self.shared_negatives
        elif self.negative:
            batch["negatives"] = self.noise.sample((N, self.negative), rng)
        return batch


class SkipgramPairs(_Word2vecExamples):
    """word2vec's skip-gram examples: (centre, context) pairs, per epoch.

    Steps 1-2 as in _Word2vecExamples; then the token at i (the *centre*) pairs with each kept
    token within distance b_i of it in the same sentence (the *context*). The pairs come in
    word2vec.c's order - centre by centre through the text, each centre's contexts left to
    right - found as the True cells of one (M, 2W) mask, never by a loop over tokens - and
    are then shuffled (`shuffle_span`, see _Word2vecExamples) and split into batches.

    Which predicts which: word2vec.c's skip-gram feeds the *context* word's input vector
    (syn0[context]) to predict the *centre* word (syn1neg). The batch just names the roles.

    Batch: {"center": (B,), "context": (B,), "distance": (B,), "n_tokens": int} + noise words;
    "distance" is how many kept words apart the pair is (1..window), for a loss that weighs
    pairs by it (docs/change-it-and-see.md; word2vec.c's reduced window already uses a pair d
    apart with probability (window - d + 1) / window).
    """

    def _epoch_bytes(self) -> float:
        # the (M, 2R) mask, then ~56 bytes a pair (nonzero, gathers, shuffle), ~R+1 pairs a token
        M, R = self.stream.ids.size, self.reach
        return M * 2 * R + 56.0 * M * min(self.window + 1, 2 * R)

    def _examples(self, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """One epoch's (center, context, distance) pairs, in text order."""
        ids, sentence = self.subsample(rng)  # (M,), (M,)
        radius = rng.integers(1, self.window + 1, size=ids.size)  # (M,) uniform in 1..window
        left, right = _reaches(sentence, radius)  # (M,), (M,) both <= reach
        W = self.reach  # offsets past the longest sentence are never in a window
        offsets = np.concatenate([np.arange(-W, 0), np.arange(1, W + 1)])  # (2W,) left to right
        ok = np.concatenate([-offsets[:W] <= left[:, None], offsets[W:] <= right[:, None]], axis=1)
        i, k = np.nonzero(ok)  # (M, 2W) row-major: by centre, then by offset
        return ids[i], ids[i + offsets[k]], np.abs(offsets).astype(np.int16)[k]

    def epoch(self, epoch: int) -> Iterator[dict]:
        rng = epoch_rng(self.seed, epoch)
        center, context, distance = self._examples(rng)
        order = _span_shuffle(center.size, self.shuffle_span, rng)
        center, context, distance = center[order], context[order], distance[order]
        borders, tokens = self._borders(center.size)
        for k in range(self.steps_per_epoch):
            if borders[k] == borders[k + 1]:
                continue  # subsampling left fewer examples than batches this epoch
            rows = slice(borders[k], borders[k + 1])
            batch = {"center": center[rows], "context": context[rows]}
            batch["distance"] = distance[rows]  # unused by the loss: docs/change-it-and-see.md
            batch["n_tokens"] = int(tokens[k + 1] - tokens[k])
            yield self._noise(batch, rng)


class CbowWindows(_Word2vecExamples):
    """word2vec's CBOW examples: every kept word with its window, as stretches of text.

    Steps 1-2 as in _Word2vecExamples. A kept word whose sentence keeps no other word has no
    context and is dropped (it is in no one's window either). Every other word is the centre
    of one example, its window reaching left[i] words to the left and right[i] to the right:
    the radius, cut short at its sentence's ends.

    A batch is a stretch of consecutive examples, so it is the text itself that is batched:
    {"center": (N,), "context": (N + 2W,) the centres with W words on either side (id 0
    beyond the text's ends), "context_mask": (N, 2W + 1) bool, True where context[n + W + d]
    (d = -W..W) is in example n's window (never the centre, d = 0), "n_tokens": int} + noise
    words. Each word's vector is then read once per batch however many windows hold it
    (minilm.layers.primitives.windowed_sum). The batches are shuffled as `shuffle_span` says
    (rounded up to whole batches).
    """

    def _epoch_bytes(self) -> float:
        # the (R+1, R+1, 2R+1) masks, a batch's (N, 2R+1) mask, ~48 bytes a token for the epoch
        R, N = self.reach, self.batch_size
        return (R + 1) ** 2 * (2 * R + 1) + N * (2 * R + 1) + 48.0 * self.stream.ids.size

    def _examples(self, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """One epoch's (centre, left, right) in text order: (M,) ids and window reaches."""
        ids, sentence = self.subsample(rng)  # (M,), (M,)
        borders = np.flatnonzero(np.diff(sentence, prepend=-1, append=-1))  # (S+1,)
        sizes = np.diff(borders)  # kept words per sentence
        keep = np.repeat(sizes > 1, sizes)  # drop the lone words
        ids, sentence = ids[keep], sentence[keep]
        radius = rng.integers(1, self.window + 1, size=ids.size)  # (M,) uniform in 1..window
        return ids, *_reaches(sentence, radius)

    def epoch(self, epoch: int) -> Iterator[dict]:
        rng = epoch_rng(self.seed, epoch)
        ids, left, right = self._examples(rng)
        W = self.reach  # left, right <= reach: a wider mask would only add False columns
        text = np.concatenate([np.zeros(W, dtype=np.int64), ids, np.zeros(W, dtype=np.int64)])
        d, reach = np.arange(-W, W + 1), np.arange(W + 1)  # offsets from the centre, reaches
        # the mask of a window reaching l words to the left and r to the right, for every l, r
        masks = (d >= -reach[:, None, None]) & (d <= reach[:, None]) & (d != 0)  # (W+1, W+1, 2W+1)
        borders, tokens = self._borders(ids.size)
        span = self.shuffle_span
        span = span if span is None else -(-span // self.batch_size)  # in batches
        for k in _span_shuffle(self.steps_per_epoch, span, rng):
            a, b = borders[k], borders[k + 1]
            if a == b:
                continue  # subsampling left fewer examples than batches this epoch
            batch = {
                "center": ids[a:b],
                "context": text[a : b + 2 * W],
                "context_mask": masks[left[a:b], right[a:b]],
            }
            batch["n_tokens"] = int(tokens[k + 1] - tokens[k])
            yield self._noise(batch, rng)


class SubwordBatches:
    """A word2vec batch source whose batches also carry each context word's n-gram buckets.

    ngram_ids, ngram_mask (V, G): every vocabulary word's padded n-gram bucket ids and the mask
    of the real ones (skipgram.ngram_buckets, computed once); a batch gets "ngrams" and
    "ngram_mask" of shape context.shape + (G,) by one gather, so training never hashes.
    """

    def __init__(
        self,
        source: SkipgramPairs | CbowWindows,
        ngram_ids: np.ndarray,
        ngram_mask: np.ndarray,
    ):
        self.source, self.ngram_ids, self.ngram_mask = source, ngram_ids, ngram_mask
        self.steps_per_epoch = source.steps_per_epoch

    def epoch(self, epoch: int) -> Iterator[dict]:
        for batch in self.source.epoch(epoch):
            ctx = batch["context"]
            yield {**batch, "ngrams": self.ngram_ids[ctx], "ngram_mask": self.ngram_mask[ctx]}


class HuffmanBatches:
    """A word2vec batch source whose batches also carry the centre words' Huffman paths.

    For the hierarchical softmax (`--hs`, minilm/layers/hsoftmax.py): every batch gets
    "hs_points", "hs_codes" (N, L) and "hs_lengths" (N,) = tree.paths(batch["center"]), the
    path of the word to predict - the centre, for skip-gram (h = the context word's vector) and
    CBOW (h = the window's mean) alike, as in word2vec.c. L is the batch's longest path.
    Wraps SkipgramPairs, CbowWindows or SubwordBatches; tree = huffman_tree(vocab.counts).
    """

    def __init__(self, source: SkipgramPairs | CbowWindows | SubwordBatches, tree: HuffmanTree):
        self.source, self.tree = source, tree
        self.steps_per_epoch = source.steps_per_epoch

    def epoch(self, epoch: int) -> Iterator[dict]:
        for batch in self.source.epoch(epoch):
            points, codes, lengths = self.tree.paths(batch["center"])
            yield {**batch, "hs_points": points, "hs_codes": codes, "hs_lengths": lengths}
