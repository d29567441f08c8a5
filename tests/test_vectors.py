"""KeyedVectors: all formats round-trip, hand-written files read, bad files name the line."""

import struct

import numpy as np
import pytest

from minilm.errors import MinilmError
from minilm.vectors import KeyedVectors

WORDS = ["the", "king", "queen", "man", "woman", "café"]


def _table(dtype=np.float32):
    rng = np.random.default_rng(0)
    return KeyedVectors(WORDS, rng.standard_normal((len(WORDS), 4)).astype(dtype))


def _same(a: KeyedVectors, b: KeyedVectors):
    assert a.words == b.words
    np.testing.assert_array_equal(a.vectors, b.vectors)  # exact: %.9g round-trips float32


@pytest.mark.parametrize("fmt", ["txt", "bin", "npz", "projector"])
def test_round_trip_every_format(tmp_path, fmt):
    kv = _table()
    if fmt == "txt":
        kv.save_text(tmp_path / "v.txt")
        back = KeyedVectors.load(tmp_path / "v.txt")
    elif fmt == "bin":
        kv.save_binary(tmp_path / "v.bin")
        back = KeyedVectors.load(tmp_path / "v.bin")
    elif fmt == "npz":
        kv.save_npz(tmp_path / "v.npz")
        back = KeyedVectors.load(tmp_path / "v.npz")
    else:
        kv.save_projector(tmp_path / "proj")
        back = KeyedVectors.load(tmp_path / "proj")
    _same(kv, back)
    assert not list(tmp_path.rglob("*.tmp"))  # atomic writes leave no temp files


def test_hand_written_word2vec_text_with_trailing_spaces(tmp_path):
    # word2vec.c writes a space after every value, including the last.
    p = tmp_path / "w2v.txt"
    p.write_text("2 3\nking 1.0 0.5 -2 \nqueen 0.25 1e-1 3 \n", encoding="utf-8")
    kv = KeyedVectors.load(p)
    assert kv.words == ["king", "queen"]
    np.testing.assert_array_equal(kv["queen"], np.array([0.25, 0.1, 3], dtype=np.float32))


def test_hand_written_glove_without_header(tmp_path):
    p = tmp_path / "glove.txt"
    p.write_text("the 0.1 0.2\n, -1 2\n3 4 5\n", encoding="utf-8")  # a word that is a number
    kv = KeyedVectors.load(p)
    assert kv.words == ["the", ",", "3"]
    np.testing.assert_allclose(kv.vectors, [[0.1, 0.2], [-1, 2], [4, 5]], rtol=1e-7)


@pytest.mark.parametrize("newline", [b"\n", b""])
def test_hand_written_binary_with_and_without_newline(tmp_path, newline):
    body = b"2 2\n"
    body += b"king " + struct.pack("<2f", 1.0, -2.5) + newline
    body += "reïne ".encode() + struct.pack("<2f", 0.5, 4.0) + newline
    p = tmp_path / "v.bin"
    p.write_bytes(body)
    kv = KeyedVectors.load(p)
    assert kv.words == ["king", "reïne"]
    np.testing.assert_array_equal(kv.vectors, [[1.0, -2.5], [0.5, 4.0]])


def test_binary_written_matches_word2vec_layout(tmp_path):
    kv = KeyedVectors(["a", "bb"], np.array([[1.0, 2.0], [3.0, 4.0]], dtype=np.float32))
    kv.save_binary(tmp_path / "v.bin")
    expected = b"2 2\na " + struct.pack("<2f", 1, 2) + b"\nbb " + struct.pack("<2f", 3, 4) + b"\n"
    assert (tmp_path / "v.bin").read_bytes() == expected


def test_text_written_matches_word2vec_layout(tmp_path):
    kv = KeyedVectors(["a", "bb"], np.array([[1.0, 0.5], [-3.0, 4.25]], dtype=np.float32))
    kv.save_text(tmp_path / "v.txt")
    assert (tmp_path / "v.txt").read_text() == "2 2\na 1 0.5\nbb -3 4.25\n"


@pytest.mark.parametrize(
    "content, message",
    [
        ("3 2\na 1 2\nb 3 4\n", "header says 3 words"),
        ("2 2\na 1 2\nb 3\n", "line 3: 1 values, expected 2"),
        ("2 2\na 1 2\nb 3 x\n", "line 3: a value is not a number"),
        ("a 1 2\nb 3 4 5\n", "line 2: 3 values, expected 2"),
        ("a 1 2\nb nan 4\n", "line 2: non-finite"),
        ("0 5\n", "needs V > 0"),
    ],
)
def test_malformed_text_names_the_line(tmp_path, content, message):
    p = tmp_path / "bad.txt"
    p.write_text(content, encoding="utf-8")
    with pytest.raises(MinilmError, match=message):
        KeyedVectors.load(p)


def test_truncated_binary_names_the_record(tmp_path):
    body = b"3 2\nking " + struct.pack("<2f", 1, 2) + b"\nqueen " + struct.pack("<2f", 3, 4)[:5]
    p = tmp_path / "cut.bin"
    p.write_bytes(body)
    with pytest.raises(MinilmError, match=r"record 2 \('queen'\).*truncated"):
        KeyedVectors.load(p)
    p.write_bytes(b"3 2\nking " + struct.pack("<2f", 1, 2) + b"\n")
    with pytest.raises(MinilmError, match="record 2 of 3: the file ends"):
        KeyedVectors.load(p)


def test_arbitrary_bytes_are_an_error_not_a_crash(tmp_path):
    rng = np.random.default_rng(1)
    p = tmp_path / "noise.bin"
    for header in (b"", b"5 3\n"):
        p.write_bytes(header + rng.integers(0, 256, 300, dtype=np.uint8).tobytes())
        with pytest.raises(MinilmError):
            KeyedVectors.load(p)


def test_missing_and_empty_files(tmp_path):
    with pytest.raises(MinilmError, match="no such file"):
        KeyedVectors.load(tmp_path / "nope.txt")
    (tmp_path / "empty.txt").write_text("")
    with pytest.raises(MinilmError, match="empty"):
        KeyedVectors.load(tmp_path / "empty.txt")


def test_unwritable_words_are_refused(tmp_path):
    kv = KeyedVectors(["new york"], np.ones((1, 2)))
    with pytest.raises(MinilmError, match="new york"):
        kv.save_text(tmp_path / "v.txt")


def _toy():
    """Hand-built 2-D table: king - man + woman points near queen, but woman (a query word) is
    nearer still, so only the excluding protocol answers queen."""
    words = ["man", "woman", "king", "queen", "apple"]
    vecs = np.array([[1.0, 0.0], [0.0, 1.0], [1.0, 0.3], [0.3, 1.0], [-1.0, -1.0]])
    return KeyedVectors(words, vecs)


def test_most_similar_with_and_without_exclusion():
    kv = _toy()
    # q = u_king - u_man + u_woman; cos(q, king) vs cos(q, queen) computed by hand below.
    u = kv.unit
    q = u[2] - u[0] + u[1]
    q /= np.linalg.norm(q)
    expect = {w: float(u[i] @ q) for i, w in enumerate(kv.words)}
    got = kv.most_similar(["king", "woman"], ["man"], topn=5, exclude_query=False)
    assert [w for w, _ in got][:2] == sorted(expect, key=expect.get, reverse=True)[:2]
    assert [w for w, _ in got][:2] == ["woman", "queen"]
    for w, s in got:
        assert s == pytest.approx(expect[w])
    excluded = kv.most_similar(["king", "woman"], ["man"], topn=2)
    assert excluded[0][0] == "queen"
    assert all(w not in {"king", "woman", "man"} for w, _ in excluded)


def test_3cosmul_matches_its_formula():
    kv = _toy()
    u = kv.unit
    cos = (u @ u.T + 1) / 2
    expect = cos[:, 2] * cos[:, 1] / (cos[:, 0] + 1e-3)  # king * woman / (man + eps)
    got = dict(
        kv.most_similar(["king", "woman"], ["man"], topn=5, exclude_query=False, method="3cosmul")
    )
    for i, w in enumerate(kv.words):
        assert got[w] == pytest.approx(expect[i])


def test_nearest_similarity_doesnt_match_and_oov():
    kv = _toy()
    assert kv.nearest("king", topn=1)[0][0] == "man"
    assert kv.similarity("man", "woman") == pytest.approx(0.0)
    assert kv.doesnt_match(["man", "king", "woman", "apple"]) == "apple"
    with pytest.raises(MinilmError, match="'prince'"):
        kv.nearest("prince")
    assert "king" in kv and "prince" not in kv


# --- a word given two vectors is refused (issue 15) ------------------------------------------


def test_duplicate_word_in_a_text_file_names_both_lines(tmp_path):
    path = tmp_path / "v.txt"
    path.write_text("3 2\nking 1 0\nqueen 0 1\nking 0.9 0.1\n")
    with pytest.raises(MinilmError, match=r"lines 2 and 4: the word 'king' appears twice"):
        KeyedVectors.load(path)
    path.write_text("king 1 0\nqueen 0 1\nking 0.9 0.1\n")  # GloVe: no header
    with pytest.raises(MinilmError, match=r"lines 1 and 3: the word 'king'"):
        KeyedVectors.load(path)


def test_duplicate_word_in_binary_projector_npz_and_memory(tmp_path):
    words, vectors = ["king", "queen", "king"], np.eye(3, dtype=np.float32)[:, :2]
    with pytest.raises(MinilmError, match=r"rows 1 and 3"):
        KeyedVectors(words, vectors)
    header = b"3 2\n"
    records = b"".join(
        w.encode() + b" " + v.astype("<f4").tobytes() + b"\n"
        for w, v in zip(words, vectors, strict=True)
    )
    (tmp_path / "v.bin").write_bytes(header + records)
    with pytest.raises(MinilmError, match=r"records 1 and 3: the word 'king'"):
        KeyedVectors.load(tmp_path / "v.bin")
    (tmp_path / "proj").mkdir()
    (tmp_path / "proj" / "vectors.tsv").write_text("1\t0\n0\t1\n1\t1\n")
    (tmp_path / "proj" / "metadata.tsv").write_text("king\nqueen\nking\n")
    with pytest.raises(MinilmError, match=r"metadata.tsv lines 1 and 3"):
        KeyedVectors.load(tmp_path / "proj")
    np.savez(tmp_path / "v.npz", words=np.array(words), vectors=vectors)
    with pytest.raises(MinilmError, match=r"rows 1 and 3"):
        KeyedVectors.load(tmp_path / "v.npz")


# --- encoding errors name the encoding (issue 15) --------------------------------------------

TEXT = "3 2\nking 1 0\ncafé 0.5 0.5\nqueen 0 1\n"


@pytest.mark.parametrize("encoding", ["utf-16", "utf-16-le", "utf-16-be", "utf-32"])
def test_utf16_file_is_named_utf16(tmp_path, encoding):
    path = tmp_path / "v.txt"
    path.write_bytes(TEXT.encode(encoding))
    name = "UTF-32" if "32" in encoding else "UTF-16"
    with pytest.raises(MinilmError, match=f"is {name} text") as err:
        KeyedVectors.load(path)
    assert f"iconv -f {name}" in str(err.value) and "binary" not in str(err.value)


@pytest.mark.parametrize("header", [True, False], ids=["word2vec", "glove"])
def test_a_latin1_line_is_named_with_its_line_and_encoding(tmp_path, header):
    text = TEXT if header else TEXT.split("\n", 1)[1]
    path = tmp_path / "v.txt"
    path.write_bytes(text.encode("latin-1"))
    line = 3 if header else 2
    with pytest.raises(MinilmError, match=f"line {line}, column 4: byte 0xe9 is not UTF-8") as err:
        KeyedVectors.load(path)
    assert "Latin-1" in str(err.value) and "caf" in str(err.value)


def test_utf8_with_a_byte_order_mark_loads(tmp_path):
    path = tmp_path / "v.txt"
    path.write_bytes(b"\xef\xbb\xbf" + TEXT.encode("utf-8"))
    kv = KeyedVectors.load(path)
    assert kv.words == ["king", "café", "queen"]
