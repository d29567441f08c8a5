"""Fuzzing the ground-truth readers (minilm/truth.py) and the run-folder marker reader
(minilm/io.py) with hypothesis, issue 26: whatever the bytes, a one-line MinilmError or a
valid result - and no NaN or inf ever comes back as a score or a share."""

from __future__ import annotations

import math

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from minilm import truth
from minilm.errors import MinilmError
from minilm.io import RUN_MARKER, check_complete

FUZZ = settings(
    max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
TOKENS = st.sampled_from(
    [
        "king",
        "queen",
        "man",
        "woman",
        "\t",
        " ",
        "\n",
        ": sec\n",
        "nan",
        "inf",
        "-inf",
        "1e400",
        "3.5",
        "-2",
        "#",
        "0x1",
        "",
        "\u00e9",
        "\x00",
    ]
)
near_valid = st.lists(TOKENS, max_size=40).map("".join).map(str.encode)
NUMBER = st.sampled_from(["nan", "inf", "-inf", "1e400", "0.5", "3", "-1", "", "x"])
rows = st.lists(
    st.tuples(
        st.sampled_from(["king", "nurse", ""]), st.sampled_from(["queen", "x"]), NUMBER, NUMBER
    ),
    min_size=1,
    max_size=5,
)
tsv = rows.map(lambda rs: "".join("\t".join(r) + "\n" for r in rs).encode())
raw = st.one_of(near_valid, tsv, st.binary(max_size=200))
READERS = [
    truth.read_analogies,
    truth.read_similarity,
    truth.read_categories,
    truth.read_bias,
    truth.read_senses,
    truth.read_paraphrases,
]


def finite_numbers(result) -> bool:
    """Every float anywhere in a reader's result is finite."""
    if isinstance(result, float):
        return math.isfinite(result)
    if isinstance(result, np.ndarray) and np.issubdtype(result.dtype, np.floating):
        return bool(np.isfinite(result).all())
    if isinstance(result, list | tuple):
        return all(finite_numbers(x) for x in result)
    if hasattr(result, "__dict__"):
        return finite_numbers(list(vars(result).values()))
    return True


@FUZZ
@given(raw, st.sampled_from(range(len(READERS))))
def test_truth_readers_on_arbitrary_bytes(tmp_path, data, which):
    path = tmp_path / "truth.tsv"
    path.write_bytes(data)
    try:
        result = READERS[which](path)
    except MinilmError as err:
        assert "\n" not in str(err)
    else:
        if READERS[which] in (truth.read_similarity, truth.read_bias):
            assert finite_numbers(result), result


@FUZZ
@given(
    st.one_of(
        st.binary(max_size=120),
        st.sampled_from(
            [
                b"{}",
                b"[]",
                b'{"status": 3}',
                b'{"status": "running", "pid": -1}',
                b'{"status": "complete"}',
                b"null",
            ]
        ),
    )
)
def test_marker_reader_on_arbitrary_bytes(tmp_path, data):
    (tmp_path / RUN_MARKER).write_bytes(data)
    (tmp_path / "vectors.txt").write_text("1 1\na 1\n")
    try:
        check_complete(tmp_path / "vectors.txt")
    except MinilmError as err:
        assert "\n" not in str(err)


def lines(row):
    return st.lists(row, min_size=1, max_size=4).map(
        lambda rs: "".join("\t".join(r) + "\n" for r in rs).encode()
    )


SCORED = [
    (truth.read_similarity, lines(st.tuples(st.just("king"), st.just("queen"), NUMBER))),
    (truth.read_bias, lines(st.tuples(st.just("nurse"), NUMBER, st.sampled_from(["0.5", "x"])))),
]


@FUZZ
@given(st.sampled_from(range(len(SCORED))).flatmap(lambda i: st.tuples(st.just(i), SCORED[i][1])))
def test_scored_files_never_return_a_non_finite_number(tmp_path, case):
    which, data = case
    path = tmp_path / "scores.tsv"
    path.write_bytes(data)
    try:
        result = SCORED[which][0](path)
    except MinilmError as err:
        assert "\n" not in str(err) and "line" in str(err)
    else:
        assert finite_numbers(result), result
