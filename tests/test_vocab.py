"""The vocabulary: deterministic order, specials, cuts, encode/decode, pickle-free save/load."""

from collections import Counter

import numpy as np
import pytest

from minilm.data.vocab import Vocab
from minilm.errors import MinilmError

TOKENS = "b a c a b a d e e e".split()  # a:3 e:3 b:2 c:1 d:1


def test_order_is_specials_then_minus_count_then_word():
    v = Vocab.build(TOKENS, specials=("<pad>", "<unk>"))
    assert v.itos == ["<pad>", "<unk>", "a", "e", "b", "c", "d"]
    assert v.counts.tolist() == [0, 0, 3, 3, 2, 1, 1]
    assert v.counts.dtype == np.int64
    assert v.stoi == {w: i for i, w in enumerate(v.itos)}
    # the same counts from a Counter, in another insertion order, give the same table
    assert Vocab.build(Counter(reversed(TOKENS)), specials=("<pad>", "<unk>")).itos == v.itos


def test_special_ids_and_aliases():
    v = Vocab.build(TOKENS, specials=("<unk>", "<pad>", "<bos>", "</s>", "<mask>"))
    assert (v.unk, v.pad, v.bos, v.eos, v.mask) == (0, 1, 2, 3, 4)
    assert v.special_ids.tolist() == [0, 1, 2, 3, 4]
    w = Vocab.build(TOKENS, specials=("<s>", "<eos>"))
    assert (w.unk, w.pad, w.bos, w.eos, w.mask) == (None, None, 0, 1, None)


def test_min_count_and_max_vocab_fold_into_unk():
    v = Vocab.build(TOKENS, min_count=2)
    assert v.itos == ["<unk>", "a", "e", "b"]
    assert v.counts.tolist() == [2, 3, 3, 2]  # <unk> stands for c and d
    v = Vocab.build(TOKENS, max_vocab=3)  # total size, specials included
    assert v.itos == ["<unk>", "a", "e"] and v.counts.tolist() == [4, 3, 3]
    assert v.counts.sum() == len(TOKENS)


def test_encode_decode_unknown_words():
    v = Vocab.build(TOKENS)
    ids = v.encode(["a", "zzz", "d"])
    assert ids.dtype == np.int64 and ids.tolist() == [1, 0, 5]
    assert v.decode(ids) == ["a", "<unk>", "d"]
    no_unk = Vocab.build(TOKENS, specials=())
    assert no_unk.decode(no_unk.encode(["a", "zzz", "d"])) == ["a", "d"]
    assert no_unk.encode([]).shape == (0,)


def test_save_load_without_pickle(tmp_path):
    v = Vocab.build(TOKENS + ["naïve", "日本"], specials=("<unk>", "</s>"))
    v.save(tmp_path / "vocab.npz")
    with np.load(tmp_path / "vocab.npz", allow_pickle=False) as data:
        assert data["vocab/words"].dtype.kind == "U"
    w = Vocab.load(tmp_path / "vocab.npz")
    assert w.itos == v.itos and np.array_equal(w.counts, v.counts)
    assert w.eos == v.eos and w.n_specials == 2


def test_load_errors(tmp_path):
    with pytest.raises(MinilmError, match="no such file"):
        Vocab.load(tmp_path / "none.npz")
    np.savez(tmp_path / "other.npz", x=np.zeros(2))
    with pytest.raises(MinilmError, match="no vocabulary"):
        Vocab.load(tmp_path / "other.npz")


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"min_count": 4}, r"every word occurs fewer than min_count=4.*'a', occurs 3.*--min-count"),
        ({"min_count": 0}, "min_count must be >= 1"),
        ({"max_vocab": 1}, "leaves no room"),
    ],
)
def test_build_errors(kwargs, message):
    with pytest.raises(MinilmError, match=message):
        Vocab.build(TOKENS, **kwargs)


def test_no_tokens_is_an_error():
    with pytest.raises(MinilmError, match="no tokens"):
        Vocab.build([])
