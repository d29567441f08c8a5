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


def _truth_folder(folder: Path, files: dict[str, str]) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "train.txt").write_text("man king woman queen apple\n")
    for name, text in files.items():
        (folder / name).write_text(text)
    return folder


def test_evaluate_without_ground_truth_is_an_error_not_the_world(vectors):
    """Vectors of unknown origin and no files named: one line, exit 2 - never the world's files."""
    r = _run("evaluate.py", vectors)
    assert r.returncode == 2 and r.stderr.count("\n") == 1
    assert "no ground truth" in r.stderr and "--corpus" in r.stderr


def test_evaluate_scores_only_the_files_given(vectors, tmp_path):
    sim = tmp_path / "s.tsv"
    sim.write_text("man\twoman\t1\nking\tqueen\t3\nman\tprince\t9\n")
    r = _run("evaluate.py", vectors, "--similarity", sim, "--json")
    assert r.returncode == 0, r.stderr
    out = json.loads(r.stdout)
    assert set(out["truth"]) == {"similarity.tsv"} and out["truth_source"] == "given"
    assert "analogies" not in out and "categories" not in out
    assert out["similarity"]["n_oov"] == 1 and out["similarity"]["oov_examples"] == ["man-prince"]
    text = _run("evaluate.py", vectors, "--similarity", sim).stdout
    assert "on 2 of 3 pairs (1 with unknown words, e.g. man-prince)" in text
    both = _run("evaluate.py", vectors, "--similarity", sim, "--corpus", tmp_path)
    assert both.returncode == 2 and "not both" in both.stderr


def test_evaluate_reads_the_truth_beside_corpus(vectors, tmp_path):
    corpus = _truth_folder(
        tmp_path / "mine", {"analogies.txt": ": s\nman king woman queen\nman king girl princess\n"}
    )
    r = _run("evaluate.py", vectors, "--corpus", corpus, "--json")
    assert r.returncode == 0, r.stderr
    out = json.loads(r.stdout)
    assert set(out["truth"]) == {"analogies.txt"} and str(corpus) in out["truth_source"]
    assert out["analogies"]["n_evaluated"] == 1 and out["analogies"]["n_oov"] == 1
    text = _run("evaluate.py", vectors, "--corpus", corpus / "train.txt").stdout
    assert "1 of 2 questions scored, 1 with unknown words (skipped)" in text
    empty = _run("evaluate.py", vectors, "--corpus", _truth_folder(tmp_path / "bare", {}))
    assert empty.returncode == 2 and "has no analogies.txt, similarity.tsv" in empty.stderr


def test_evaluate_a_run_folder_uses_the_corpus_it_was_trained_on(vectors, tmp_path):
    corpus = _truth_folder(tmp_path / "c", {"similarity.tsv": "king\tqueen\t5\nman\tapple\t1\n"})
    run = tmp_path / "run"
    run.mkdir()
    (run / "vectors.txt").write_bytes(vectors.read_bytes())
    np.savez(run / "model.npz", config=np.array(json.dumps({"corpus": str(corpus)})))
    out = json.loads(_run("evaluate.py", run / "vectors.txt", "--json").stdout)
    assert set(out["truth"]) == {"similarity.tsv"} and "training corpus" in out["truth_source"]
    assert out["similarity"]["n_used"] == 2
    # A run trained on the default corpus (no --corpus) is scored on the bundled world's files.
    np.savez(run / "model.npz", config=np.array(json.dumps({"corpus": None})))
    out = json.loads(_run("evaluate.py", run / "vectors.txt", "--json").stdout)
    assert set(out["truth"]) == {"analogies.txt", "similarity.tsv", "categories.tsv"}
    assert out["truth_source"].endswith(str(Path("corpus") / "world"))
    assert out["analogies"]["n_evaluated"] < out["analogies"]["n_questions"]  # 5 words known


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
