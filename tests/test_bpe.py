"""Byte-pair encoding: agrees with a from-scratch learner, round trips, survives any text."""

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from minilm.data.bpe import BPE, END_ID, REPLACEMENT
from minilm.errors import MinilmError

SENNRICH = {"low": 5, "lower": 2, "newest": 6, "widest": 3}  # the paper's toy vocabulary


def _naive_learn(word_counts, num_merges, min_frequency=2):
    """Recount every pair from scratch each merge (the paper's algorithm, slow but obvious)."""
    alphabet = sorted({ch for w in word_counts for ch in w})
    ids = {c: i + 2 for i, c in enumerate(alphabet)}
    words = {w: [ids[ch] for ch in w] + [END_ID] for w in word_counts}
    merges = []
    for k in range(num_merges):
        counts = {}
        for w, symbols in words.items():
            for pair in zip(symbols, symbols[1:], strict=False):
                counts[pair] = counts.get(pair, 0) + word_counts[w]
        if not counts:
            break
        best = min(counts, key=lambda p: (-counts[p], p))  # most frequent, then smallest ids
        if counts[best] < min_frequency:
            break
        merges.append(best)
        new = 2 + len(alphabet) + k
        for w, symbols in words.items():
            out, i = [], 0
            while i < len(symbols):
                if tuple(symbols[i : i + 2]) == best:
                    out.append(new)
                    i += 2
                else:
                    out.append(symbols[i])
                    i += 1
            words[w] = out
    return merges, words


def test_sennrich_example():
    bpe = BPE.learn(SENNRICH, 10)
    learned = [bpe.pieces[bpe.first_merge_id + k] for k in range(len(bpe.merges))]
    # e s (9) first; then t </w> and es t tie at 9 and the smaller ids win
    assert learned[:4] == ["es", "t</w>", "est</w>", "lo"]
    assert "low</w>" in learned and "newest</w>" in learned
    assert bpe.segment("lowest") == ["low", "est</w>"]
    assert bpe.segment("newest") == ["newest</w>"]


words = st.text(alphabet="abcde", min_size=1, max_size=8)


@settings(max_examples=80, deadline=None)
@given(st.dictionaries(words, st.integers(1, 20), min_size=1, max_size=15), st.integers(0, 30))
def test_incremental_learner_matches_naive(word_counts, num_merges):
    bpe = BPE.learn(word_counts, num_merges)
    merges, final = _naive_learn(word_counts, num_merges)
    assert bpe.merges == merges
    # encoding a training word reproduces the segmentation reached during learning
    for w, symbols in final.items():
        assert bpe.encode_word(w) == symbols


def test_unbelievable_becomes_pieces():
    counts = {
        "believe": 30,
        "believable": 10,
        "unable": 20,
        "able": 40,
        "undo": 15,
        "unbeliever": 1,
    }
    bpe = BPE.learn(counts, 40)
    pieces = bpe.segment("unbelievable")  # never seen whole
    assert 1 < len(pieces) < len("unbelievable")
    assert "".join(pieces) == "unbelievable</w>"


@settings(max_examples=200, deadline=None)
@given(st.text(alphabet="abcxyz \t\n", max_size=60))
def test_round_trip_exact_on_alphabet(text):
    bpe = BPE.learn({"abc": 10, "cab": 5, "xyz": 3, "zz": 4, "a": 1}, 20)
    ids = bpe.encode(text)
    assert ids.dtype.kind == "i" and (ids.size == 0 or ids.min() >= 1)  # no <unk>
    assert bpe.decode(ids) == " ".join(text.split())


@settings(max_examples=300, deadline=None)
@given(
    st.text(max_size=40),
    st.dictionaries(st.text(min_size=1, max_size=6), st.integers(1, 9), min_size=1, max_size=8),
)
def test_arbitrary_unicode_never_crashes(text, training):
    """Learned from and applied to any Unicode: unknown characters become U+FFFD, nothing else."""
    training = {w: c for w, c in training.items() if w.split() == [w]}  # words have no spaces
    if not training:
        return
    bpe = BPE.learn(training, 15)
    expected = " ".join(
        "".join(ch if ch in bpe.char_id else REPLACEMENT for ch in word) for word in text.split()
    )
    assert bpe.decode(bpe.encode(text)) == expected


def test_save_load_round_trip(tmp_path):
    bpe = BPE.learn({"naïve": 3, "日本語": 4, "na\ud800": 2, '"q"': 2}, 10)
    bpe.save(tmp_path / "bpe.json")
    again = BPE.load(tmp_path / "bpe.json")
    assert again.alphabet == bpe.alphabet and again.merges == bpe.merges
    for word in ("naïve", "日本語", "ünknown"):
        assert again.segment(word) == bpe.segment(word)


@pytest.mark.parametrize(
    "content, message",
    [
        ("{not json", "not a readable BPE file"),
        ('{"format": "other"}', "not a minilm BPE file"),
        ('{"format": "minilm-bpe", "alphabet": ["a"]}', "malformed"),
        ('{"format": "minilm-bpe", "alphabet": ["a"], "merges": [[7, 1]]}', "merge 0"),
        ('{"format": "minilm-bpe", "alphabet": ["ab"], "merges": []}', "single characters"),
    ],
)
def test_load_errors(tmp_path, content, message):
    (tmp_path / "bad.json").write_text(content)
    with pytest.raises(MinilmError, match=message):
        BPE.load(tmp_path / "bad.json")
    with pytest.raises(MinilmError, match="no such file"):
        BPE.load(tmp_path / "none.json")


def test_learn_errors_and_early_stop():
    with pytest.raises(MinilmError, match="no words"):
        BPE.learn({}, 5)
    bpe = BPE.learn({"ab": 1, "cd": 1}, 100)  # every pair occurs once < min_frequency 2
    assert bpe.merges == []
    assert json.loads(json.dumps(bpe.merges)) == []
    with pytest.raises(MinilmError, match="outside the vocabulary"):
        bpe.decode([99])
