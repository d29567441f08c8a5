"""Fuzzing the readers of user files with hypothesis (issue 9): whatever the bytes, the outcome
is a clean MinilmError or a valid result - never another exception.

Not repeated here: the tokenizer and BPE on arbitrary Unicode (test_text.py, test_bpe.py) and
the batchers on tiny corpora (test_batchers.py).
"""

from __future__ import annotations

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from minilm.data.corpus import load_corpus
from minilm.errors import MinilmError
from minilm.io import load_npz
from minilm.vectors import KeyedVectors

# tmp_path is shared by the examples of one test: every example overwrites the same file.
FUZZ = settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)

# Starts that steer the reader into each of its branches: word2vec header (then text or
# binary), zip (.npz), .npy magic, GloVe text.
PREFIXES = st.sampled_from([b"", b"2 3\n", b"1 1\n", b"PK\x03\x04", b"\x93NUMPY", b"king "])
arbitrary_bytes = st.builds(lambda p, b: p + b, PREFIXES, st.binary(max_size=300))


def assert_valid_table(kv: KeyedVectors) -> None:
    V, D = kv.vectors.shape
    assert V == len(kv.words) >= 1 and D >= 1
    # A repeated word is refused (its extra row would leak into neighbours and analogies).
    assert len(set(kv.words)) == len(kv.words)
    assert all(w and not any(c.isspace() for c in w) for w in kv.words)
    assert np.issubdtype(kv.vectors.dtype, np.floating)


@FUZZ
@given(arbitrary_bytes, st.sampled_from(["v.txt", "v.bin", "v.vec", "v.npz"]))
def test_vectors_reader_on_arbitrary_bytes(tmp_path, data, name):
    path = tmp_path / name
    path.write_bytes(data)
    try:
        kv = KeyedVectors.load(path)
    except MinilmError as err:
        assert "\n" not in str(err)
    else:
        assert_valid_table(kv)


@FUZZ
@given(st.binary(max_size=200), st.binary(max_size=200))
def test_projector_reader_on_arbitrary_bytes(tmp_path, vectors, metadata):
    (tmp_path / "vectors.tsv").write_bytes(vectors)
    (tmp_path / "metadata.tsv").write_bytes(metadata)
    try:
        kv = KeyedVectors.load(tmp_path)
    except MinilmError as err:
        assert "\n" not in str(err)
    else:
        assert_valid_table(kv)


# Nearly valid word2vec text: the right shape most of the time, odd tokens now and then.
numbers = st.one_of(
    st.floats(allow_nan=False, allow_infinity=False, width=32).map(repr),
    st.sampled_from(["nan", "inf", "-inf", "1e400", "0x10", "1,5", "", "--1", "1e", "\u0661"]),
)
words = st.text(st.characters(codec="utf-8", exclude_categories=("Cs",)), min_size=1, max_size=6)
rows = st.lists(st.tuples(words, st.lists(numbers, min_size=0, max_size=4)), max_size=6)


@FUZZ
@given(st.integers(-1, 7), st.integers(-1, 4), rows, st.booleans())
def test_vectors_reader_on_near_valid_text(tmp_path, V, D, table, header):
    lines = [f"{V} {D}"] if header else []
    lines += [" ".join([w, *values]) for w, values in table]
    path = tmp_path / "v.txt"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    try:
        kv = KeyedVectors.load(path)
    except MinilmError as err:
        assert "\n" not in str(err)
    else:
        assert_valid_table(kv)
        assert np.all(np.isfinite(kv.vectors))  # "nan"/"inf"/"1e400" never slip through


printable_word = st.text(
    st.characters(codec="utf-8", exclude_categories=("Cs", "Cc", "Zs", "Zl", "Zp")),
    min_size=1,
    max_size=8,
).filter(lambda w: not any(c.isspace() for c in w))


@FUZZ
@given(
    st.lists(printable_word, min_size=1, max_size=6, unique=True),
    st.integers(1, 4),
    st.integers(0, 2**32 - 1),
)
def test_written_tables_read_back(tmp_path, table_words, D, seed):
    """Whatever words save_text/save_binary accept, load returns exactly (binary) or to the
    printed precision (text)."""
    vectors = np.random.default_rng(seed).standard_normal((len(table_words), D), np.float32)
    kv = KeyedVectors(table_words, vectors)
    for name, save in (("v.bin", kv.save_binary), ("v.txt", kv.save_text)):
        path = tmp_path / name
        try:
            save(path)
        except MinilmError:
            continue  # a word the format cannot hold is refused, not written corrupt
        back = KeyedVectors.load(path)
        assert back.words == table_words
        if name == "v.bin":
            assert np.array_equal(back.vectors, vectors)
        else:
            np.testing.assert_allclose(back.vectors, vectors, rtol=1e-5, atol=1e-6)


@FUZZ
@given(
    st.builds(
        lambda p, b: p + b,
        st.sampled_from([b"", b"PK\x03\x04", b"PK\x05\x06"]),
        st.binary(max_size=200),
    )
)
def test_npz_reader_on_arbitrary_bytes(tmp_path, data):
    """Checkpoints, model.npz and vocabularies are read by load_npz: never an unhandled error."""
    path = tmp_path / "checkpoint.npz"
    path.write_bytes(data)
    try:
        arrays = load_npz(path)
    except MinilmError as err:
        assert "\n" not in str(err)
    else:
        assert all(a.dtype != object for a in arrays.values())


@FUZZ
@given(st.binary(max_size=300), st.integers(1, 3))
def test_corpus_loader_on_arbitrary_bytes(tmp_path, data, min_count):
    path = tmp_path / "corpus.txt"
    path.write_bytes(data)
    try:
        corpus = load_corpus(path, min_count=min_count)
    except MinilmError as err:
        assert "\n" not in str(err)
    else:
        stream = corpus.splits["train"]
        assert stream.ids.size >= 1 and stream.offsets[-1] == stream.ids.size
        assert 0 <= stream.ids.min() and stream.ids.max() < len(corpus.vocab)
