"""scripts/evaluate.py, neighbors.py and analogy.py as a user runs them (subprocess)."""

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from minilm.vectors import KeyedVectors

SCRIPTS = Path(__file__).resolve().parent.parent / "scripts"


def _run(script, *args):
    return subprocess.run(
        [sys.executable, str(SCRIPTS / script), *map(str, args)],
        capture_output=True,
        text=True,
        timeout=60,
    )


@pytest.fixture
def vectors(tmp_path):
    words = ["man", "woman", "king", "queen", "apple"]
    vecs = np.array([[1.0, 0.0], [0.0, 1.0], [1.0, 0.3], [0.3, 1.0], [-1.0, -1.0]])
    path = tmp_path / "v.txt"
    KeyedVectors(words, vecs).save_text(path)
    return path


def test_analogy_shows_query_words_without_exclusion(vectors):
    excluded = _run("analogy.py", vectors, "king", "-", "man", "+", "woman", "--topn", "3")
    assert excluded.returncode == 0, excluded.stderr
    first = excluded.stdout.splitlines()[2].split()
    assert first[0] == "1" and first[2] == "queen"
    kept = _run("analogy.py", vectors, "king", "-", "man", "+", "woman", "--no-exclude")
    assert "woman  <- query word" in kept.stdout.splitlines()[2]


def test_neighbors(vectors):
    r = _run("neighbors.py", vectors, "king", "--topn", "2")
    assert r.returncode == 0, r.stderr
    assert r.stdout.splitlines()[1].split()[1] == "man"


def test_evaluate_json(vectors, tmp_path):
    q = tmp_path / "q.txt"
    q.write_text(": family\nman woman king queen\n")
    sim = tmp_path / "s.tsv"
    sim.write_text("man\twoman\t1\nking\tqueen\t3\nman\tking\t9\n")
    cats = tmp_path / "c.tsv"
    cats.write_text("man\tp\nwoman\tp\nking\tp\nqueen\tp\napple\tf\n")
    args = ["--analogies", q, "--similarity", sim, "--categories", cats]
    r = _run("evaluate.py", vectors, *args, "--json")
    assert r.returncode == 0, r.stderr
    out = json.loads(r.stdout)
    assert out["analogies"]["accuracy_excluded"] == 1.0
    assert out["analogies"]["accuracy_no_exclusion"] == 0.0
    assert out["similarity"]["n_used"] == 3
    text = _run("evaluate.py", vectors, *args)
    assert text.returncode == 0 and "category purity" in text.stdout


@pytest.mark.parametrize(
    "script, extra",
    [("analogy.py", ["king", "-", "prince", "+", "woman"]), ("neighbors.py", ["prince"])],
)
def test_unknown_word_is_one_line_exit_2(vectors, script, extra):
    r = _run(script, vectors, *extra)
    assert r.returncode == 2
    assert r.stderr.count("\n") == 1 and "prince" in r.stderr and "Traceback" not in r.stderr


@pytest.mark.parametrize("script", ["evaluate.py", "neighbors.py", "analogy.py"])
def test_malformed_file_is_one_line_exit_2(tmp_path, script):
    bad = tmp_path / "bad.txt"
    bad.write_text("2 3\nking 1 2 3\nqueen 1 two 3\n")
    r = _run(script, bad, *([] if script == "evaluate.py" else ["king"]))
    assert r.returncode == 2
    assert r.stderr.startswith("error: ") and r.stderr.count("\n") == 1
    assert "line 3" in r.stderr


def test_neighbors_interactive_on_one_vectors_file(tmp_path):
    path = tmp_path / "v.txt"
    path.write_text("3 2\nking 1 0\nqueen 0.9 0.1\ndog 0 1\n")
    result = subprocess.run(
        [sys.executable, str(SCRIPTS / "neighbors.py"), "--interactive", str(path), "--topn", "1"],
        input="king\n\n",
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stderr
    assert "queen" in result.stdout.split("'king'")[1]
