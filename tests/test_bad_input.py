"""Bad input through the real scripts (issue 9): every case is one line on stderr starting
"error:", exit status 2, no traceback, and nothing already in --out destroyed.

Cases already covered elsewhere are not repeated: non-numbers in a vectors file and unknown
query words (test_vector_scripts.py), the readers' own messages (test_text.py, test_vectors.py).
"""

from __future__ import annotations

import json
import shutil
import signal

import numpy as np
import pytest
from conftest import (
    assert_one_line_error,
    model_command,
    run_script,
    run_until,
    snapshot,
)

from minilm.io import RUN_MARKER
from minilm.runs import OUTPUTS

# One epoch, small dims: each case fails (or finishes) in a second or two.
TRAIN = {
    "skipgram": "train_skipgram.py --min-count 1 --dim 8 --epochs 1".split(),
    "nplm": "train_nplm.py --dim 8 --hidden 16 --epochs 1".split(),
    "srn": "train_srn.py --dim 8 --hidden 16 --epochs 1 --batch-size 4 --bptt 8".split(),
    "transformer": (
        "train_transformer.py --dim 16 --heads 2 --ffn 32 --layers 1 --epochs 1 --batch-size 16"
    ).split(),
    "gpt": (
        "train_gpt.py --dim 16 --heads 2 --ffn 32 --layers 1 --epochs 1 --batch-size 4 --max-len 8"
    ).split(),
    "glove": "train_baselines.py --method glove --min-count 1 --dim 8 --epochs 1".split(),
    "ppmi": "train_baselines.py --method ppmi --min-count 1 --dim 8".split(),
    "lsa": "train_baselines.py --method lsa --min-count 1 --dim 8".split(),
    "tfidf": "train_baselines.py --method tfidf --min-count 1".split(),
}
CHECKPOINTED = ["skipgram", "nplm", "srn", "transformer", "gpt", "glove"]


@pytest.fixture
def out(tmp_path):
    """An output folder holding an earlier run's files: a failed run must leave them as they are."""
    folder = tmp_path / "out"
    (folder / "projector").mkdir(parents=True)
    (folder / "vectors.txt").write_text("1 2\nold 0.5 0.25\n")
    (folder / "metrics.json").write_text('{"analogy_accuracy": 0.5}\n')
    (folder / "projector" / "metadata.tsv").write_text("old\n")
    (folder / "notes.txt").write_text("my notes\n")
    (folder / RUN_MARKER).write_text('{"status": "complete", "writer": "train_skipgram.py"}\n')
    return folder


def train(model: str, corpus, out, *extra):
    return run_script(*TRAIN[model], "--corpus", corpus, "--out", out, *extra)


# ------------------------------------------------------------------------------ corpora

BAD_CORPORA = {
    "missing": (None, "no such file"),
    "empty": (b"", "empty"),
    "binary": (bytes(range(256)) * 8, "binary"),
    "not-utf8": ("the caf\u00e9 is open\n".encode("latin-1"), "UTF-8"),
}


# Every kind through one script; one kind through each of the others (they share the reader).
UNREADABLE = [("skipgram", kind) for kind in BAD_CORPORA] + [
    ("nplm", "binary"),
    ("srn", "not-utf8"),
    ("transformer", "empty"),
    ("glove", "missing"),
    ("tfidf", "binary"),
]


@pytest.mark.parametrize("model, kind", UNREADABLE)
def test_unreadable_corpus(model, kind, tmp_path, out):
    content, fragment = BAD_CORPORA[kind]
    corpus = tmp_path / "corpus.txt"
    if content is not None:
        corpus.write_bytes(content)
    before = snapshot(out)
    assert_one_line_error(train(model, corpus, out), "corpus.txt", fragment)
    assert snapshot(out) == before


def test_folder_without_train_txt(tmp_path, out):
    (tmp_path / "folder").mkdir()
    (tmp_path / "folder" / "valid.txt").write_text("a b c\n")
    assert_one_line_error(train("skipgram", tmp_path / "folder", out), "train.txt")


# Too short to hold one window / one pair / one batch. A model that pads its contexts (NPLM,
# the transformer, tf-idf) may legitimately train on it; every other one must refuse it. An
# error raised after training started may follow progress lines, so only the last line counts,
# and it must say what to do ("what is wrong; how to fix").
MUST_REFUSE_TINY = {"skipgram", "srn", "glove", "ppmi", "lsa"}


@pytest.mark.parametrize("model", list(TRAIN))
def test_corpus_shorter_than_one_window(model, tmp_path, out):
    corpus = tmp_path / "one.txt"
    corpus.write_text("hello\n")
    result = train(model, corpus, out, "--checkpoint-every", "0")
    assert "Traceback" not in result.stderr
    if result.returncode == 0 and model not in MUST_REFUSE_TINY:
        assert (out / "vectors.txt").read_text() != "1 2\nold 0.5 0.25\n"  # a new run folder
        assert (out / "notes.txt").read_text() == "my notes\n"
        return
    assert result.returncode == 2, result.stderr
    last = result.stderr.rstrip().splitlines()[-1]
    assert last.startswith("error: ") and "; " in last, result.stderr
    assert [line for line in result.stderr.splitlines() if line.startswith("error")] == [last]
    assert (out / "vectors.txt").read_text() == "1 2\nold 0.5 0.25\n"


@pytest.mark.parametrize("model", ["skipgram", "nplm", "srn", "transformer", "glove"])
def test_every_word_below_min_count(model, tmp_path, out):
    corpus = tmp_path / "rare.txt"
    corpus.write_text(" ".join(f"w{i}" for i in range(100)) + "\n")
    before = snapshot(out)
    assert_one_line_error(train(model, corpus, out, "--min-count", "5"), "min")
    assert snapshot(out) == before


# ------------------------------------------------------------------------------ options

OUT_OF_RANGE = [
    ("skipgram", ["--dim", "-1"], "--dim"),
    ("skipgram", ["--window", "0"], "--window"),
    ("skipgram", ["--alpha", "0"], "--alpha"),
    ("skipgram", ["--epochs", "0"], "--epochs"),
    ("skipgram", ["--negative", "0"], "--negative"),
    ("skipgram", ["--subwords", "6-3"], "--subwords"),
    ("skipgram", ["--seed", "-1"], "--seed"),
    ("nplm", ["--dim", "-1"], "--dim"),
    ("nplm", ["--context", "0"], "--context"),
    ("nplm", ["--lr", "0"], "--lr"),
    ("srn", ["--hidden", "-4"], "--hidden"),
    ("srn", ["--bptt", "0"], "--bptt"),
    ("srn", ["--lr", "-1"], "--lr"),
    ("transformer", ["--dim", "-16"], "--dim"),
    ("transformer", ["--heads", "3"], "--heads"),
    ("transformer", ["--dropout", "1.5"], "--dropout"),
    ("transformer", ["--lr", "0"], "--lr"),
    ("transformer", ["--also-matryoshka", "8,32"], "--also-matryoshka"),  # > --dim 16
    ("transformer", ["--also-matryoshka", "8,4"], "--matryoshka"),  # not increasing
    ("gpt", ["--heads", "3"], "--heads"),
    ("gpt", ["--eval-stride", "65"], "--eval-stride"),
    ("glove", ["--window", "0"], "--window"),
    ("glove", ["--lr", "0"], "--lr"),
    ("ppmi", ["--window", "0"], "--window"),
    ("lsa", ["--dim", "100000"], "--dim"),
]


@pytest.mark.parametrize(
    "model, options, fragment", OUT_OF_RANGE, ids=[f"{m}{''.join(o)}" for m, o, _ in OUT_OF_RANGE]
)
def test_out_of_range_option(model, options, fragment, world, out):
    before = snapshot(out)
    assert_one_line_error(train(model, world, out, *options), fragment)
    assert snapshot(out) == before


@pytest.mark.parametrize("model", ["skipgram", "nplm", "srn", "transformer", "ppmi"])
def test_out_under_a_regular_file(model, world, tmp_path):
    blocker = tmp_path / "a-file"
    blocker.write_text("precious\n")
    assert_one_line_error(train(model, world, blocker / "run"), "a-file")
    assert blocker.read_text() == "precious\n"


def test_lab_out_under_a_regular_file_and_missing_corpus(tmp_path):
    blocker = tmp_path / "a-file"
    blocker.write_text("precious\n")
    assert_one_line_error(run_script("lab.py", "--out", blocker / "lab", "--quick"), "a-file")
    missing = run_script("lab.py", "--out", tmp_path / "lab", "--corpus", tmp_path / "no.txt")
    assert_one_line_error(missing, "no.txt")
    assert blocker.read_text() == "precious\n"


def test_lab_binary_corpus_is_bad_input_not_a_model_failure(tmp_path):
    """An unreadable corpus is the user's input, found before any model runs: exit 2."""
    corpus = tmp_path / "corpus.txt"
    corpus.write_bytes(bytes(range(256)) * 8)
    result = run_script("lab.py", "--out", tmp_path / "lab", "--corpus", corpus, "--models", "ppmi")
    assert_one_line_error(result, "corpus.txt")


# ------------------------------------------------------------------------------ resume


@pytest.mark.parametrize("model", CHECKPOINTED)
def test_resume_without_a_checkpoint(model, world, out):
    before = snapshot(out)
    assert_one_line_error(train(model, world, out, "--resume"), "checkpoint", "--resume")
    assert snapshot(out) == before


@pytest.mark.parametrize(
    "content",
    [
        np.random.default_rng(0).integers(0, 256, 400, dtype=np.uint8).tobytes(),
        b"PK\x03\x04 a zip that was cut short",
    ],
    ids=["noise", "truncated-zip"],
)
def test_resume_from_a_corrupt_checkpoint(content, world, out):
    (out / "checkpoint.npz").write_bytes(content)
    before = snapshot(out)
    assert_one_line_error(train("nplm", world, out, "--resume"), "checkpoint.npz")
    assert snapshot(out) == before


def test_resume_from_an_npz_that_is_not_a_checkpoint(world, out):
    np.savez(out / "checkpoint.npz", weights=np.ones(3))
    before = snapshot(out)
    assert_one_line_error(train("srn", world, out, "--resume"), "not a minilm checkpoint")
    assert snapshot(out) == before


# ------------------------------------------------------------------------------ killed runs


def test_a_rerun_killed_in_a_finished_runs_folder_does_not_look_finished(
    world, reference_run, tmp_path
):
    """kill -9 leaves temp files and, in a finished run's folder, the old vectors.txt and
    metrics.json beside the new checkpoint: once training starts, a run clears both."""
    out = tmp_path / "out"
    shutil.copytree(reference_run("skipgram"), out)
    assert all((out / name).is_file() for name in OUTPUTS)
    old_checkpoint = (out / "checkpoint.npz").read_bytes()
    (out / ".checkpoint.npz.k1ll3d_9.tmp").write_bytes(b"left by an earlier kill -9")
    (out / "projector" / ".vectors.tsv.abcdefgh.tmp").write_bytes(b"and another")
    (out / "notes.txt").write_text("my notes\n")
    command = model_command("skipgram", world, out, 4, "--checkpoint-every", "2")
    killed = run_until("KILL", 0.5, *command)
    assert killed.returncode == -signal.SIGKILL, killed.stderr
    assert "removed the earlier run's" in killed.stderr
    assert [name for name in OUTPUTS if (out / name).exists()] == []
    assert not list(out.rglob("*.tmp"))
    assert (out / "checkpoint.npz").read_bytes() != old_checkpoint  # the new run's
    assert (out / "notes.txt").read_text() == "my notes\n"
    resumed = run_script(*command, "--resume")
    assert resumed.returncode == 0, resumed.stderr
    assert all((out / name).is_file() for name in OUTPUTS)


# ------------------------------------------------------------------------------ vectors files

BAD_VECTORS = {
    "header-count": ("3 2\nking 1 2\nqueen 3 4\n", "header says 3"),
    "short-row": ("2 3\nking 1 2 3\nqueen 1 2\n", "line 3"),
    "short-row-glove": ("king 1 2\nqueen 3\n", "line 2"),
    "word-only": ("king\n", "line 1"),
    "empty": ("", "empty"),
    "binary-garbage": (b"2 4\nking \x00\x01" + bytes(range(128, 256)), "vectors.txt"),
    "duplicate-word": ("3 2\nking 1 0\nqueen 0 1\nking 0.9 0.1\n", "'king' appears twice"),
    "utf-16": ("2 2\nking 1 0\nqueen 0 1\n".encode("utf-16"), "UTF-16"),
    "latin-1": ("2 2\nking 1 0\ncaf\u00e9 0 1\n".encode("latin-1"), "line 3, column 4"),
}
VECTOR_SCRIPTS = {"evaluate.py": [], "neighbors.py": ["king"], "analogy.py": ["king"]}


# Every kind through evaluate.py; two through neighbors.py and analogy.py (one reader).
MALFORMED = [("evaluate.py", kind) for kind in BAD_VECTORS] + [
    (script, kind)
    for script in ("neighbors.py", "analogy.py")
    for kind in ("header-count", "short-row", "duplicate-word")
]


@pytest.mark.parametrize("script, kind", MALFORMED)
def test_malformed_vectors_file(script, kind, tmp_path):
    content, fragment = BAD_VECTORS[kind]
    path = tmp_path / "vectors.txt"
    path.write_bytes(content if isinstance(content, bytes) else content.encode())
    result = run_script(script, path, *VECTOR_SCRIPTS[script])
    assert_one_line_error(result, "vectors.txt", fragment)


@pytest.mark.parametrize("script", list(VECTOR_SCRIPTS))
def test_missing_vectors_file(script, tmp_path):
    result = run_script(script, tmp_path / "nope.txt", *VECTOR_SCRIPTS[script])
    assert_one_line_error(result, "nope.txt", "no such file")


def test_a_duplicate_word_cannot_answer_its_own_excluded_query(tmp_path):
    """With a second 'king' row, king - man + woman used to answer 'king' (query excluded)."""
    path = tmp_path / "v.txt"
    path.write_text("5 2\nking 1 0.2\nqueen 0.2 1\nman 1 0\nwoman 0 1\nking 0 1\n")
    result = run_script("analogy.py", path, "king", "-man", "+woman")
    assert_one_line_error(result, "lines 2 and 6", "'king' appears twice")


@pytest.mark.parametrize(
    "expression",
    [
        ["king", "-man", "+woman"],  # the README's form
        ["king", "-", "man", "+", "woman"],
        ["king", "-man", "woman"],
        ["+king", "-man", "+woman", "--topn", "1"],
        ["--topn", "1", "-man", "king", "+woman"],
        ["king", "-man", "+woman", "--method", "3cosmul"],
    ],
    ids=lambda e: " ".join(e),
)
def test_analogy_expression_forms(expression, vectors_file):
    result = run_script("analogy.py", vectors_file, *expression)
    assert result.returncode == 0, result.stderr
    first = result.stdout.splitlines()[2].split()
    assert first[0] == "1" and first[2] == "queen", result.stdout


@pytest.mark.parametrize("script, topn", [("neighbors.py", "0"), ("analogy.py", "-3")])
def test_topn_out_of_range(script, topn, vectors_file):
    result = run_script(script, vectors_file, "king", "--topn", topn)
    assert_one_line_error(result, "--topn")


@pytest.fixture
def vectors_file(tmp_path):
    path = tmp_path / "v.txt"
    path.write_text("4 2\nking 1 0.2\nqueen 0.2 1\nman 1 0\nwoman 0 1\n")
    return path


def test_evaluation_files_with_unknown_words_are_counted(vectors_file, tmp_path):
    analogies = tmp_path / "q.txt"
    analogies.write_text(": royal\nman king woman queen\nman king girl princess\n")
    similarity = tmp_path / "s.tsv"
    similarity.write_text("# comment\nking\tqueen\t5\nking\tprince\t4\nman\twoman\t3\n")
    categories = tmp_path / "c.tsv"
    categories.write_text("king\troyal\nqueen\troyal\nprince\troyal\nman\tperson\nwoman\tperson\n")
    result = run_script(
        "evaluate.py",
        vectors_file,
        "--analogies",
        analogies,
        "--similarity",
        similarity,
        "--categories",
        categories,
        "--json",
    )
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["analogies"]["n_evaluated"] == 1 and report["analogies"]["n_oov"] == 1
    assert report["similarity"]["n_pairs"] == 3 and report["similarity"]["n_used"] == 2
    assert report["similarity"]["n_oov"] == 1
    assert report["categories"]["n_oov"] == 1


BAD_EVAL_FILES = {
    "--analogies": [
        (": s\nman king woman queen\nman king woman\n", "line 3"),
        ("man king\n", "line 1"),
        (": a section without questions\n", "no analogy questions"),
    ],
    "--similarity": [
        ("king\tqueen\tfive\n", "line 1"),
        ("king\tqueen\t1\nman\twoman\n", "line 2"),
    ],
    "--categories": [("king\troyal\nqueen\n", "line 2")],
}
EVAL_CASES = [(flag, text, frag) for flag, cases in BAD_EVAL_FILES.items() for text, frag in cases]


@pytest.mark.parametrize("flag, text, fragment", EVAL_CASES)
def test_malformed_evaluation_file_names_the_line(flag, text, fragment, vectors_file, tmp_path):
    path = tmp_path / "eval.txt"
    path.write_text(text)
    result = run_script("evaluate.py", vectors_file, flag, path)
    assert_one_line_error(result, "eval.txt", fragment)


@pytest.mark.parametrize("flag", ["--similarity"])
def test_evaluation_file_not_utf8(flag, vectors_file, tmp_path):
    path = tmp_path / "eval.txt"
    path.write_bytes("caf\u00e9\tdrink\t1\n".encode("latin-1"))
    assert_one_line_error(run_script("evaluate.py", vectors_file, flag, path), "UTF-8")
