"""Reading text and loading corpora: tokenizer rules, compressed files, every bad input."""

import bz2
import gzip
import itertools
import subprocess
import sys
import time
import tracemalloc

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from minilm.data import text
from minilm.data.corpus import TokenStream, load_corpus
from minilm.data.text import LINE_BREAK, read_lines, resolve_corpus, tokenize, tokenize_lines
from minilm.errors import MinilmError

# ---------------------------------------------------------------------------- tokenizer


@pytest.mark.parametrize(
    "line, tokens",
    [
        ("The cat sat.", ["the", "cat", "sat"]),
        ("Hello, world!  (again)", ["hello", "world", "again"]),
        ("don't stop, it's the king's", ["don't", "stop", "it's", "the", "king's"]),
        ("Don\u2019t", ["don't"]),  # typographic apostrophe unified
        ("a well-known fact -- yes - no", ["a", "well-known", "fact", "yes", "no"]),
        ("in 1990 it cost 3.50 or 1,000.5", ["in", "1990", "it", "cost", "3.50", "or", "1,000.5"]),
        ("the end. 42.", ["the", "end", "42"]),  # a trailing period is not part of a number
        ("mp3 b2b", ["mp3", "b2b"]),
        ("snake_case & co", ["snake", "case", "co"]),
        ("ÉCOLE Naïve STRASSE", ["école", "naïve", "strasse"]),
        ("e\u0301te\u0301", ["été"]),  # combining accents composed by NFC
        ("<unk> </s>", ["unk", "s"]),  # specials cannot be produced from text
        ("   \t ", []),
        ("", []),
    ],
)
def test_tokenizer_rules(line, tokens):
    assert tokenize(line) == tokens


@settings(max_examples=300, deadline=None)
@given(st.text())
def test_tokenizer_on_arbitrary_unicode(line):
    tokens = tokenize(line)
    for tok in tokens:
        assert tok and not any(ch.isspace() for ch in tok)
        assert "<" not in tok and ">" not in tok
    # tokenizing its own output is the identity: tokens are already normalised
    assert tokenize(" ".join(tokens)) == tokens


@settings(max_examples=200, deadline=None)
@given(st.lists(st.text().map(lambda t: t.replace("\n", " ")), max_size=6))
def test_tokenize_lines_equals_line_by_line(lines):
    expected = [tok for line in lines for tok in [*tokenize(line), LINE_BREAK]]
    assert tokenize_lines(lines) == expected


# ---------------------------------------------------------------------------- resolve_corpus


def test_resolve_file_folder_and_compressed(tmp_path):
    f = tmp_path / "one.txt"
    f.write_text("a b\n")
    assert resolve_corpus(f) == {"train": f}
    folder = tmp_path / "c"
    folder.mkdir()
    (folder / "train.txt.gz").write_bytes(gzip.compress(b"a b\n"))
    (folder / "test.txt").write_text("a\n")
    assert resolve_corpus(folder) == {"train": folder / "train.txt.gz", "test": folder / "test.txt"}


def test_resolve_errors(tmp_path, monkeypatch):
    with pytest.raises(MinilmError, match="no such file or folder"):
        resolve_corpus(tmp_path / "missing")
    with pytest.raises(MinilmError, match="no train.txt"):
        resolve_corpus(tmp_path)
    monkeypatch.setattr(text, "bundled_corpus", lambda: tmp_path / "nowhere")
    with pytest.raises(MinilmError, match="make_corpus.py world"):
        resolve_corpus(None)


def test_bundled_corpus_is_beside_the_package():
    assert text.bundled_corpus().parts[-2:] == ("corpus", "world")
    assert (text.bundled_corpus().parents[1] / "minilm" / "data" / "text.py").is_file()


# ---------------------------------------------------------------------------- read_lines


def test_gz_and_bz2_read_like_plain(tmp_path):
    raw = "first line\r\nsecond, ünïcode\n\nlast without newline".encode()
    (tmp_path / "a.txt").write_bytes(raw)
    (tmp_path / "a.txt.gz").write_bytes(gzip.compress(raw))
    (tmp_path / "a.txt.bz2").write_bytes(bz2.compress(raw))
    expected = ["first line", "second, ünïcode", "", "last without newline"]
    for name in ("a.txt", "a.txt.gz", "a.txt.bz2"):
        assert list(read_lines(tmp_path / name)) == expected


def test_byte_order_mark_is_skipped(tmp_path):
    (tmp_path / "bom.txt").write_bytes(b"\xef\xbb\xbfhello\n")
    assert list(read_lines(tmp_path / "bom.txt")) == ["hello"]


def test_read_lines_streams(tmp_path):
    """Lines before a bad one are yielded: the file is read lazily, not all at once."""
    (tmp_path / "late.txt").write_bytes(b"one\ntwo\n\xff\xfe bad\n")
    assert list(itertools.islice(read_lines(tmp_path / "late.txt"), 2)) == ["one", "two"]


@pytest.mark.parametrize(
    "name, content, message",
    [
        ("empty.txt", b"", "empty"),
        ("blank.txt", b"\n  \n\t\n", "empty"),
        ("binary.bin", b"text\n\x00\x01\x02\x89PNG\n", "line 2 contains NUL bytes"),
        ("latin1.txt", "ok\nfine\ncaf\u00e9\n".encode("latin-1"), "line 3 is not valid UTF-8"),
        ("broken.txt.gz", b"this is not gzip data", "cannot read the file"),
        ("cut.txt.gz", gzip.compress(b"hello world\n" * 100)[:30], "cannot read the file"),
        ("broken.txt.bz2", b"BZh9 not bzip2", "cannot read the file"),
    ],
)
def test_bad_files(tmp_path, name, content, message):
    (tmp_path / name).write_bytes(content)
    with pytest.raises(MinilmError, match=message) as err:
        list(read_lines(tmp_path / name))
    assert "\n" not in str(err.value) and name in str(err.value)


def test_missing_file_and_folder_given_as_file(tmp_path):
    with pytest.raises(MinilmError, match="no such file"):
        list(read_lines(tmp_path / "nope.txt"))
    with pytest.raises(MinilmError, match="is a folder"):
        list(read_lines(tmp_path))


# ---------------------------------------------------------------------------- load_corpus


def _folder(tmp_path, **splits):
    for name, content in splits.items():
        (tmp_path / f"{name}.txt").write_text(content, encoding="utf-8")
    return tmp_path


def test_load_corpus_streams_splits_and_counts_oov(tmp_path):
    folder = _folder(
        tmp_path,
        train="The cat sat.\n\n!!!\nthe dog sat, the cat ran\n",
        valid="the zebra sat\n",
        test="a gnu\ncat\n",
    )
    corpus = load_corpus(folder, specials=("<unk>", "</s>"))
    v = corpus.vocab
    assert v.itos == ["<unk>", "</s>", "the", "cat", "sat", "dog", "ran"]
    train = corpus.train
    # blank and punctuation-only lines are not sentences
    assert [v.decode(train.sentence(s)) for s in range(train.n_sentences)] == [
        ["the", "cat", "sat"],
        ["the", "dog", "sat", "the", "cat", "ran"],
    ]
    assert np.array_equal(np.bincount(train.ids, minlength=len(v)), v.counts)
    assert v.decode(corpus.splits["valid"].ids) == ["the", "<unk>", "sat"]
    assert corpus.oov == {"train": 0, "valid": 1, "test": 2}
    assert corpus.splits["test"].n_sentences == 2


def test_load_corpus_without_unk_drops_unknown_words(tmp_path):
    folder = _folder(tmp_path, train="a a b\na c\n", valid="z z\nb z a\n")
    corpus = load_corpus(folder, min_count=2, specials=())
    assert corpus.vocab.itos == ["a"]
    assert corpus.oov == {"train": 2, "valid": 4}
    # "a b" -> "a"; "a c" -> "a"; in valid the all-unknown line disappears
    assert corpus.train.lengths.tolist() == [2, 1]
    assert corpus.splits["valid"].lengths.tolist() == [1]


def test_load_corpus_min_count_cuts_to_unk(tmp_path):
    corpus = load_corpus(_folder(tmp_path, train="a a b c\n"), min_count=2)
    assert corpus.vocab.itos == ["<unk>", "a"]
    assert corpus.vocab.decode(corpus.train.ids) == ["a", "a", "<unk>", "<unk>"]
    assert corpus.vocab.counts.tolist() == [2, 2]


@pytest.mark.parametrize(
    "train, kwargs, message",
    [
        ("a b c\nb c\n", {"min_count": 5}, "fewer than min_count=5.*--min-count"),
        ("... !!! ,,,\n", {}, "no words"),
    ],
)
def test_load_corpus_bad_input(tmp_path, train, kwargs, message):
    with pytest.raises(MinilmError, match=message):
        load_corpus(_folder(tmp_path, train=train), **kwargs)


def test_valid_split_without_known_words_is_an_error(tmp_path):
    with pytest.raises(MinilmError, match="valid.txt: no known words"):
        load_corpus(_folder(tmp_path, train="a b\n", valid="c d\n"), specials=())


def test_one_word_corpus_through_every_batcher(tmp_path):
    """The smallest corpus: what works, works; what cannot, says so in one line."""
    from minilm.data.batchers import MLMBatches, NgramBatches, StreamBatches
    from minilm.data.word2vec_batches import SkipgramPairs

    corpus = load_corpus(_folder(tmp_path, train="Hello!\n"), specials=("<unk>", "<bos>", "</s>"))
    stream, v = corpus.train, corpus.vocab
    assert v.decode(stream.ids) == ["hello"] and stream.n_sentences == 1
    (batch,) = NgramBatches(stream, 3, 8, 0, v.bos, eos_id=v.eos).epoch(0)
    assert batch["context"].tolist() == [[1, 1, 1], [1, 1, 3]] and batch["target"].tolist() == [
        3,
        2,
    ]
    (batch,) = MLMBatches(stream, 8, 0, 0, 1, len(v), 16, v.special_ids).epoch(0)
    assert batch["loss_mask"].tolist() == [[True]]
    with pytest.raises(MinilmError, match="fewer than one batch of windows"):
        StreamBatches(stream, 1, 1, 0)
    with pytest.raises(MinilmError, match="no \\(centre, context\\) pairs"):
        SkipgramPairs(stream, v.counts, 5, 0, 8, 0, unk_id=v.unk)


def test_tokenstream_validates_offsets():
    with pytest.raises(ValueError):
        TokenStream(np.arange(3), np.array([0, 2]))
    s = TokenStream.from_sentences([[1, 2], [3]])
    assert s.offsets.tolist() == [0, 2, 3] and s.sentence_index().tolist() == [0, 0, 1]


def _generated_text(n_lines, rng, words):
    lengths = rng.integers(3, 15, size=n_lines)
    picks = rng.zipf(1.3, size=lengths.sum()) % len(words)
    return "\n".join(
        " ".join(words[i] for i in chunk) for chunk in np.split(picks, np.cumsum(lengths)[:-1])
    )


def test_multi_megabyte_file_holds_ids_not_text(tmp_path):
    """~6 MB of long words: the text is ~4x the size of its int64 ids, so holding it would show."""
    rng = np.random.default_rng(0)
    words = [f"word{i:04d}" + "x" * 26 for i in range(2000)]  # 34 characters each
    content = _generated_text(20_000, rng, words)
    path = tmp_path / "big.txt.gz"
    path.write_bytes(gzip.compress(content.encode(), compresslevel=1))
    n_bytes = len(content.encode())
    tracemalloc.start()
    start = time.perf_counter()
    corpus = load_corpus(path)
    seconds = time.perf_counter() - start
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    ids_bytes = corpus.train.ids.nbytes
    assert n_bytes > 5e6 and n_bytes > 4 * ids_bytes
    # peak: the ids twice (chunks + their concatenation) + the word table; below the text
    assert peak < 2.5 * ids_bytes + 2e6 < n_bytes, (peak, ids_bytes, n_bytes)
    # exact against a naive in-memory count
    naive = {}
    for tok in content.split():
        naive[tok] = naive.get(tok, 0) + 1
    v = corpus.vocab
    assert {w: int(c) for w, c in zip(v.itos[1:], v.counts[1:], strict=True)} == naive
    assert seconds < 10, seconds


@pytest.mark.slow
def test_100_megabyte_file_streams_in_bounded_memory(tmp_path):
    """A 100 MB file: the loader's peak memory is about twice the token ids, not the text."""
    rng = np.random.default_rng(1)
    words = [f"w{i}" for i in range(20_000)]
    block = (_generated_text(20_000, rng, words) + "\n").encode()  # ~1 MB
    path = tmp_path / "huge.txt"
    with open(path, "wb") as f:
        for _ in range(100 * 2**20 // len(block) + 1):
            f.write(block)
    n_bytes = path.stat().st_size
    code = (
        "import resource, sys\n"
        "from minilm.data.corpus import load_corpus\n"
        "before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss\n"
        "c = load_corpus(sys.argv[1])\n"
        "after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss\n"
        "print((after - before) * 1024, c.train.ids.nbytes, len(c.vocab))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code, str(path)], capture_output=True, text=True, check=True
    )
    extra, ids_bytes, vocab_size = map(int, out.stdout.split())
    assert n_bytes >= 100 * 2**20 and vocab_size <= 20_001
    # the ids themselves, one concatenation copy, the per-block buffers and the word table
    assert extra < 2.5 * ids_bytes + 64 * 2**20, (extra / 2**20, ids_bytes / 2**20)
