"""Bad input, issue 26, the last round: scripts/search.py's index folder under the output-folder
contract, benchmarks/real_text.py without its sources, and the hostile inputs tried by hand
(each one here failed before its fix: a traceback, a wrong flag named, or a file lost).
"""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys

import pytest
from conftest import ROOT, assert_one_line_error, run_script, snapshot

from minilm.errors import MinilmError
from minilm.io import RUN_MARKER
from minilm.truth import read_categories


@pytest.fixture
def tiny(tmp_path):
    """A 3-word vectors file and two sentences, in tmp_path."""
    (tmp_path / "v.txt").write_text("3 2\nthe 1 0\ncat 0 1\ndog 1 1\n")
    (tmp_path / "sents.txt").write_text("the cat\nthe dog\n")
    return tmp_path


def index(tiny, out, *extra):
    return run_script(
        "search.py", "index", tiny / "v.txt", tiny / "sents.txt", "--out", out, *extra
    )


# ------------------------------------------------------------------ search.py index --out
def test_search_index_empty_out_refused(tiny):
    before = snapshot(tiny)
    assert_one_line_error(index(tiny, ""), "--out", "empty")
    assert snapshot(tiny) == before


def test_search_index_refuses_the_users_folder_unless_force(tiny):
    mine = tiny / "mine"
    mine.mkdir()
    (mine / "notes.txt").write_text("keep me\n")
    assert_one_line_error(index(tiny, mine), "notes.txt", "--force")
    assert snapshot(mine) == {"notes.txt": b"keep me\n"}
    assert index(tiny, mine, "--force").returncode == 0
    assert (mine / "notes.txt").read_text() == "keep me\n" and (mine / "index.npy").is_file()


def test_search_index_is_marked_and_a_refused_rerun_changes_nothing(tiny):
    out = tiny / "idx"
    assert index(tiny, out).returncode == 0
    assert json.loads((out / RUN_MARKER).read_text())["status"] == "complete"
    before = snapshot(out)
    bad = run_script("search.py", "index", tiny / "v.txt", tiny / "nope.txt", "--out", out)
    assert_one_line_error(bad, "nope.txt", "SENTENCES")  # not "--corpus": search has none
    assert snapshot(out) == before
    assert not list(out.glob("*.tmp")) and not list(out.glob(".*.tmp"))


def test_search_query_refuses_an_unfinished_index(tiny):
    out = tiny / "idx"
    assert index(tiny, out).returncode == 0
    marker = json.loads((out / RUN_MARKER).read_text()) | {"status": "running", "pid": 999999999}
    (out / RUN_MARKER).write_text(json.dumps(marker))
    assert_one_line_error(run_script("search.py", "query", out, "the cat"), "incomplete")


# ------------------------------------------------------------------ benchmarks/real_text.py
def _real_text():
    spec = importlib.util.spec_from_file_location("real_text", ROOT / "benchmarks/real_text.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _no_tmp_left(folder):
    return not [p for p in folder.rglob("*") if p.name.endswith(".tmp")]


def test_real_text_without_sources_is_one_line_and_leaves_no_tmp(tmp_path, monkeypatch):
    real_text = _real_text()
    monkeypatch.setattr(real_text, "gensim_test_data", lambda: tmp_path / "no-gensim-data")
    with pytest.raises(MinilmError) as err:
        real_text.build(tmp_path / "out")
    assert "\n" not in str(err.value) and "lacks" in str(err.value)
    assert _no_tmp_left(tmp_path)


def test_real_text_with_a_broken_source_is_one_line_and_leaves_no_tmp(tmp_path, monkeypatch):
    """Every source file present but the Wikipedia dump breaks off after one article (a
    truncated bzip2 raises OSError/EOFError): before, a traceback from inside the split writer."""
    real_text = _real_text()
    data = tmp_path / "data"
    data.mkdir()
    for name in real_text.SOURCE_FILES:
        (data / name).write_text("not what it should be\n")

    def truncated(_data):
        yield "One article. It has three sentences here. And this is the last one."
        raise EOFError("Compressed file ended before the end-of-stream marker was reached")

    monkeypatch.setattr(real_text, "gensim_test_data", lambda: data)
    monkeypatch.setattr(real_text, "wikipedia_documents", truncated)
    monkeypatch.setattr(real_text, "bible_documents", lambda: iter(()))
    out = tmp_path / "out"
    with pytest.raises(MinilmError) as err:
        real_text.build(out)
    assert "\n" not in str(err.value) and real_text.ENWIKI in str(err.value)
    assert _no_tmp_left(tmp_path) and not (out / "train.txt").exists()


# ------------------------------------------------------------------ found by hand, round 3
BENCHMARKS = sorted(  # the scripts; a helper module (readme_blocks.py) has no __main__ to run
    p.name for p in (ROOT / "benchmarks").glob("*.py") if "__main__" in p.read_text()
)


@pytest.mark.parametrize("script", BENCHMARKS)
def test_a_benchmark_given_a_bad_flag_says_one_line(script):
    """Before: argparse's usage block (several lines) from 13 of the 15 benchmarks."""
    result = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / script), "--no-such-flag"],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=ROOT,
    )
    line = assert_one_line_error(result)
    assert "--no-such-flag" in line or "required" in line, line


def test_bench_search_negative_size_is_one_line():
    """Before: ValueError: negative dimensions are not allowed (a traceback)."""
    result = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / "bench_search.py"), "--n", "-3"],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=ROOT,
    )
    assert_one_line_error(result, "--n", ">= 1")


@pytest.mark.parametrize("column", ["0", "-1"])
def test_category_column_zero_is_refused(tiny, column):
    """Before: --column 0 read the word itself as its category: purity 0.000, exit 0."""
    (tiny / "cats.tsv").write_text("the\ta\ncat\tb\ndog\tb\n")
    result = run_script(
        "evaluate.py", tiny / "v.txt", "--categories", tiny / "cats.tsv", "--column", column
    )
    assert_one_line_error(result, "--column", ">= 1")
    with pytest.raises(MinilmError, match="column must be >= 1"):
        read_categories(tiny / "cats.tsv", 0)


def test_transformer_on_a_one_word_corpus_says_why_anisotropy_is_na(tmp_path):
    (tmp_path / "one.txt").write_text("hello\n")
    out = tmp_path / "run"
    result = run_script(
        "train_transformer.py",
        "--corpus",
        tmp_path / "one.txt",
        "--min-count",
        1,
        "--dim",
        8,
        "--heads",
        2,
        "--layers",
        1,
        "--epochs",
        1,
        "--out",
        out,
    )
    assert result.returncode == 0, result.stderr
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["anisotropy"] == [None, None]
    assert metrics["why_na"]["anisotropy"] == "1 vector; a pair needs 2"


def test_lab_on_a_corpus_without_paraphrases_trains_the_transformer(tmp_path):
    """Before: the transformer was skipped (--contrastive needs paraphrases.tsv) although its
    masked LM needs no pairs; a skipped model read **FAILED** in the table; n/a had no why."""
    corpus = tmp_path / "cdb.txt"
    corpus.write_text("cat dog bird\n" * 400)
    out = tmp_path / "lab"
    result = run_script(
        "lab.py", "--corpus", corpus, "--quick", "--models", "lsa,transformer", "--out", out
    )
    assert result.returncode == 0, result.stderr
    assert "skipped: lsa:" in result.stderr and "skipped: transformer" not in result.stderr
    report = (out / "report.md").read_text()
    assert "| LSA | **skipped**: --dim 16 exceeds the rank limit" in report
    assert "absent: categories.tsv, analogies.txt, similarity.tsv" in report
    assert not (out / "transformer" / "sentence_model.npz").exists()


def test_resume_with_fewer_epochs_than_the_checkpoint_holds_is_refused(world, tmp_path):
    """Before: exit 0 at once, the 2-epoch model labelled --epochs 1 and its checkpoint
    rewritten as if at epoch 1 (a later --resume --epochs 3 then trained 4)."""
    out = tmp_path / "run"
    options = ["--dim", 8, "--hidden", 8, "--corpus", world, "--out", out]
    assert run_script("train_nplm.py", *options, "--epochs", 2).returncode == 0
    before = snapshot(out)
    result = run_script("train_nplm.py", *options, "--epochs", 1, "--resume")
    assert_one_line_error(result, "holds 2 epochs", "--epochs 2 or more")
    assert snapshot(out) == before


def test_evaluate_reads_a_run_folder(world, tmp_path):
    """Before: `evaluate.py RUN` (as neighbors.py takes it) said 'RUN/vectors.tsv: no such
    file; a projector folder holds both TSV files'."""
    out = tmp_path / "run"
    options = ["--method", "ppmi", "--min-count", 1, "--dim", 8, "--corpus", world]
    assert run_script("train_baselines.py", *options, "--out", out).returncode == 0
    result = run_script("evaluate.py", out, "--json")
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["vocab_size"] > 0


def test_a_lab_and_a_single_run_do_not_share_a_folder_without_force(world, tmp_path):
    """Before: `lab.py --out RUN` into a finished train_baselines.py run replaced its
    metrics.json and left its model beside the lab's report; a trainer into a lab folder
    deleted the lab's metrics.json. One trainer after another stays a rerun."""
    out = tmp_path / "run"
    ppmi = ["--method", "ppmi", "--min-count", 1, "--dim", 8, "--corpus", world, "--out", out]
    assert run_script("train_baselines.py", *ppmi).returncode == 0
    before = snapshot(out)
    lab = run_script("lab.py", "--quick", "--models", "ppmi", "--corpus", world, "--out", out)
    assert_one_line_error(lab, "holds the output of train_baselines.py", "--force")
    assert snapshot(out) == before
    lab_out = tmp_path / "lab"
    lab_out.mkdir()
    (lab_out / "metrics.json").write_text('{"lab": {}}\n')
    (lab_out / RUN_MARKER).write_text('{"status": "complete", "writer": "lab.py"}\n')
    before = snapshot(lab_out)
    result = run_script("train_baselines.py", *ppmi[:-1], lab_out)
    assert_one_line_error(result, "holds the output of lab.py", "--force")
    assert snapshot(lab_out) == before
