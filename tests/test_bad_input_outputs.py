"""Bad input, issue 26: the output-folder contract, allocations sized by input, NaN at the
boundaries - through the real scripts, as a user runs them: one line "error: ...", exit 2,
no traceback, nothing of the user's destroyed.

The folder contract lives in minilm/io.py (claim_out_dir, check_complete); the memory guard
in minilm/limits.py.
"""

from __future__ import annotations

import json
import resource
import subprocess
import sys

import numpy as np
import pytest
from conftest import ROOT, SCRIPTS, assert_one_line_error, run_script, snapshot

from minilm.io import RUN_MARKER

SMALL = {
    "train_skipgram.py": "--min-count 1 --dim 8 --epochs 1".split(),
    "train_nplm.py": "--dim 8 --hidden 16 --epochs 1".split(),
    "train_srn.py": "--dim 8 --hidden 16 --epochs 1 --batch-size 4 --bptt 8".split(),
    "train_transformer.py": "--dim 16 --heads 2 --ffn 32 --layers 1 --epochs 1".split(),
    "train_gpt.py": "--dim 16 --heads 2 --ffn 32 --layers 1 --epochs 1 --max-len 8".split(),
    "train_baselines.py": "--method ppmi --min-count 1 --dim 8".split(),
}


def run_in(cwd, script: str, *args: object, preexec=None):
    return subprocess.run(
        [sys.executable, str(SCRIPTS / script), *map(str, args)],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=cwd,
        preexec_fn=preexec,
    )


# ------------------------------------------------------------------ --out names a folder
EMPTY_OUT = [(s, [*o, "--corpus", "{world}"]) for s, o in SMALL.items()] + [
    ("lab.py", ["--quick"]),
    ("make_corpus.py", ["world", "--sentences", "300"]),
    ("compare_embeddings.py", ["--methods", "ppmi"]),
]


@pytest.mark.parametrize("script, args", EMPTY_OUT, ids=[s for s, _ in EMPTY_OUT])
def test_empty_out_is_refused_and_the_current_folder_untouched(script, args, world, tmp_path):
    (tmp_path / "metrics.json").write_text('{"mine": 1}\n')
    (tmp_path / "report.md").write_text("my report\n")
    before = snapshot(tmp_path)
    args = [a.replace("{world}", str(world)) for a in args]
    result = run_in(tmp_path, script, *args, "--out", "")
    assert_one_line_error(result, "--out", "empty")
    assert snapshot(tmp_path) == before


@pytest.mark.parametrize("script", list(SMALL))
def test_a_folder_of_the_users_files_is_refused_without_force(script, world, tmp_path):
    out = tmp_path / "mine"
    out.mkdir()
    (out / "metrics.json").write_text('{"mine": 1}\n')
    before = snapshot(out)
    result = run_script(script, *SMALL[script], "--corpus", world, "--out", out)
    assert_one_line_error(result, "metrics.json", "--force")
    assert snapshot(out) == before


def test_force_writes_into_the_users_folder_and_keeps_other_files(world, tmp_path):
    out = tmp_path / "mine"
    out.mkdir()
    (out / "notes.txt").write_text("keep me\n")
    script = "train_baselines.py"
    result = run_script(script, *SMALL[script], "--corpus", world, "--out", out, "--force")
    assert result.returncode == 0, result.stderr
    assert (out / "notes.txt").read_text() == "keep me\n"
    assert json.loads((out / RUN_MARKER).read_text())["status"] == "complete"
    again = run_script(script, *SMALL[script], "--corpus", world, "--out", out)
    assert again.returncode == 0, again.stderr  # now the project's folder: no --force needed


def test_make_corpus_does_not_overwrite_a_train_txt(tmp_path):
    out = tmp_path / "corpus"
    out.mkdir()
    (out / "train.txt").write_text("my own corpus\n")
    result = run_script("make_corpus.py", "world", "--sentences", 300, "--out", out)
    assert_one_line_error(result, "train.txt", "--force")
    assert (out / "train.txt").read_text() == "my own corpus\n"
    forced = run_script("make_corpus.py", "world", "--sentences", 300, "--out", out, "--force")
    assert forced.returncode == 0, forced.stderr
    assert (out / "train.txt").read_text() != "my own corpus\n"


@pytest.mark.parametrize("sentences", ["1000000000000", "0"])
def test_make_corpus_sentences_bounded(sentences, tmp_path):
    out = tmp_path / "c"
    result = run_script("make_corpus.py", "world", "--sentences", sentences, "--out", out)
    assert_one_line_error(result, "--sentences")
    assert not (tmp_path / "c").exists()


# ------------------------------------------------------------------ readers and unfinished runs
@pytest.mark.parametrize("status", ["running", "failed"])
@pytest.mark.parametrize("script", ["evaluate.py", "neighbors.py", "analogy.py"])
def test_readers_refuse_an_unfinished_run(status, script, tmp_path):
    out = tmp_path / "run"
    out.mkdir()
    (out / "vectors.txt").write_text("2 2\nking 1 0\nqueen 0 1\n")
    marker = {"status": status, "writer": "train_skipgram.py", "pid": 0, "error": "boom"}
    (out / RUN_MARKER).write_text(json.dumps(marker))
    extra = [] if script == "evaluate.py" else ["king"]
    result = run_script(script, out / "vectors.txt", *extra)
    assert_one_line_error(result, "incomplete", "train_skipgram.py")


def test_a_refused_run_leaves_the_marker_as_it_was(world, tmp_path):
    """Bad input found after the folder was claimed: the earlier run still reads as complete."""
    out = tmp_path / "run"
    first = run_script(
        "train_baselines.py", *SMALL["train_baselines.py"], "--corpus", world, "--out", out
    )
    assert first.returncode == 0, first.stderr
    before = snapshot(out)
    bad = run_script(
        "train_baselines.py",
        *SMALL["train_baselines.py"],
        "--corpus",
        tmp_path / "missing.txt",
        "--out",
        out,
    )
    assert_one_line_error(bad, "missing.txt")
    assert snapshot(out) == before
    assert run_script("neighbors.py", out / "vectors.txt", "king").returncode == 0


def test_a_run_that_fails_after_clearing_is_marked_failed(world, tmp_path):
    out = tmp_path / "run"
    script = "train_skipgram.py"
    result = run_script(script, *SMALL[script], "--corpus", world, "--out", out, "--alpha", "1e30")
    assert result.returncode == 2 and "Traceback" not in result.stderr, result.stderr
    marker = json.loads((out / RUN_MARKER).read_text())
    assert marker["status"] == "failed" and "diverged" in marker["error"]
    assert_one_line_error(run_script("evaluate.py", out), "incomplete", "diverged")


# ------------------------------------------------------------------ files that size an allocation
def test_bin_header_claiming_1e11_rows(tmp_path):
    path = tmp_path / "huge.bin"
    path.write_bytes(b"100000000000 300\nking " + np.zeros(300, "<f4").tobytes())
    assert_one_line_error(run_script("evaluate.py", path), "huge.bin", "truncated")


def test_npz_vectors_with_nan_refused(tmp_path):
    path = tmp_path / "v.npz"
    vectors = np.eye(3, dtype=np.float32)
    vectors[1, 2] = np.nan
    np.savez(path, words=np.array(["a", "b", "c"]), vectors=vectors)
    assert_one_line_error(run_script("evaluate.py", path), "row 2", "non-finite", "'b'")


# ------------------------------------------------------------------ each trainer, memory-limited
LIMIT = 1536 * 2**20  # address space: imports and a small run fit; hostile sizes do not
G = "1000000000"
HOSTILE = [
    ("train_skipgram.py", ["--window", G]),
    ("train_skipgram.py", ["--cbow", "--window", G]),
    ("train_skipgram.py", ["--shared-negatives", G]),
    ("train_skipgram.py", ["--shared-negatives", "0", "--negative", G]),
    ("train_skipgram.py", ["--dim", G]),
    ("train_skipgram.py", ["--subwords", "3-6", "--buckets", G]),
    ("train_nplm.py", ["--hidden", G]),
    ("train_nplm.py", ["--context", G]),
    ("train_srn.py", ["--hidden", G]),
    ("train_srn.py", ["--bptt", G]),
    ("train_transformer.py", ["--max-len", G]),
    ("train_transformer.py", ["--ffn", G]),
    ("train_gpt.py", ["--max-len", G]),
    ("train_baselines.py", ["--window", G]),
    ("train_baselines.py", ["--method", "glove", "--window", G]),
    ("train_baselines.py", ["--method", "glove", "--dim", G]),
]


def _limit_memory() -> None:
    resource.setrlimit(resource.RLIMIT_AS, (LIMIT, LIMIT))


@pytest.mark.slow
@pytest.mark.parametrize("script, flags", HOSTILE, ids=[f"{s}{' '.join(f)}" for s, f in HOSTILE])
def test_hostile_sizes_under_a_memory_limit(script, flags, world, tmp_path):
    """Refused in one line (with the bytes it would need) or bounded and finished - never
    killed, never a traceback."""
    out = tmp_path / "out"
    result = run_in(
        ROOT,
        script,
        *SMALL[script],
        *flags,
        "--corpus",
        world,
        "--out",
        out,
        "--threads",
        "1",
        preexec=_limit_memory,
    )
    assert result.returncode in (0, 2), result.stderr
    assert "Traceback" not in result.stderr, result.stderr
    if result.returncode == 2:
        last = result.stderr.strip().splitlines()[-1]
        assert last.startswith("error: ") and ("memory" in last or "--" in last), last


# ------------------------------------------------------------------ resume adopts only its own run
@pytest.mark.parametrize(
    "change, fragment",
    [(["--lr", "0.01"], "--lr 0.003 -> 0.01"), (["--dropout", "0.2"], "--dropout 0.0 -> 0.2")],
)
def test_resume_with_other_flags_is_refused(change, fragment, world, tmp_path):
    out = tmp_path / "run"
    script = "train_nplm.py"
    first = run_script(script, *SMALL[script], "--corpus", world, "--out", out)
    assert first.returncode == 0, first.stderr
    before = snapshot(out)
    again = run_script(script, *SMALL[script], "--corpus", world, "--out", out, "--resume", *change)
    assert_one_line_error(again, "another run", fragment)
    assert snapshot(out) == before
    more = run_script(
        script, *SMALL[script], "--corpus", world, "--out", out, "--resume", "--epochs", "2"
    )  # the one flag a resume may change
    assert more.returncode == 0, more.stderr


def test_resume_on_another_corpus_is_refused(world, tmp_path):
    out, other = tmp_path / "run", tmp_path / "other.txt"
    other.write_text((world / "train.txt").read_text()[::-1])
    script = "train_skipgram.py"
    first = run_script(script, *SMALL[script], "--corpus", other, "--out", out)
    assert first.returncode == 0, first.stderr
    (out / "checkpoint.npz").rename(tmp_path / "ck.npz")
    second = run_script(script, *SMALL[script], "--corpus", world, "--out", out)
    assert second.returncode == 0, second.stderr
    (tmp_path / "ck.npz").replace(out / "checkpoint.npz")  # the other corpus's checkpoint
    again = run_script(script, *SMALL[script], "--corpus", world, "--out", out, "--resume")
    assert_one_line_error(again, "another run")


# ------------------------------------------------------------------ NaN and odd words at the edges
@pytest.mark.parametrize("expression", [["king", "-", ""], [""], ["king", " "]])
def test_analogy_with_an_empty_word(expression, tmp_path):
    path = tmp_path / "v.txt"
    path.write_text("2 2\nking 1 0\nqueen 0 1\n")
    assert_one_line_error(run_script("analogy.py", path, *expression), "empty word")


@pytest.mark.parametrize("score", ["nan", "inf", "-inf"])
def test_similarity_score_not_finite_names_the_line(score, tmp_path):
    vectors, truth = tmp_path / "v.txt", tmp_path / "s.tsv"
    vectors.write_text("2 2\nking 1 0\nqueen 0 1\n")
    truth.write_text(f"king\tqueen\t3\nqueen\tking\t{score}\n")
    result = run_script("evaluate.py", vectors, "--similarity", truth)
    assert_one_line_error(result, "s.tsv line 2", "finite")


NON_FINITE_FLAGS = [
    ("train_gpt.py", "--weight-decay", "nan"),
    ("train_transformer.py", "--weight-decay", "inf"),
    ("train_nplm.py", "--clip", "nan"),
    ("train_srn.py", "--dropout", "nan"),
    ("train_skipgram.py", "--sample", "nan"),
    ("train_baselines.py", "--shift", "inf"),
]


@pytest.mark.parametrize("script, flag, value", NON_FINITE_FLAGS)
def test_non_finite_flag_refused(script, flag, value, world, tmp_path):
    result = run_script(script, *SMALL[script], flag, value, "--corpus", world, "--out", tmp_path)
    assert_one_line_error(result, flag, "finite")


def test_lm_interpolation_on_a_word2vec_run(world, tmp_path):
    out = tmp_path / "sg"
    script = "train_skipgram.py"
    assert run_script(script, *SMALL[script], "--corpus", world, "--out", out).returncode == 0
    bench = [sys.executable, str(ROOT / "benchmarks" / "lm_interpolation.py")]
    result = subprocess.run(
        [*bench, str(out), "--corpus", str(world)], capture_output=True, text=True, timeout=300
    )
    assert_one_line_error(result, "skipgram run", "train_nplm.py")


# ------------------------------------------------------------------ the lab on a corpus too small
def test_lab_skips_what_cannot_train_and_reports_the_rest(tmp_path):
    corpus = tmp_path / "tiny.txt"
    corpus.write_text("the king\n")
    out = tmp_path / "lab"
    result = run_script(
        "lab.py", "--out", out, "--corpus", corpus, "--models", "ppmi,nplm", "--threads", "1"
    )
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr
    skipped = [ln for ln in result.stderr.splitlines() if ln.startswith("skipped: ppmi")]
    assert len(skipped) == 1 and "--models" in skipped[0], result.stderr
    assert sum("min_count" in ln for ln in result.stderr.splitlines()) == 1  # said once
    assert "warning: 1 of 2 models skipped" in result.stderr
    assert (out / "report.md").is_file()


def test_lab_exits_2_when_nothing_can_train(tmp_path):
    corpus = tmp_path / "tiny.txt"
    corpus.write_text("the king\n")
    result = run_script(
        "lab.py",
        "--out",
        tmp_path / "lab",
        "--corpus",
        corpus,
        "--models",
        "ppmi,srn",
        "--threads",
        "1",
    )
    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr
    assert result.stderr.strip().splitlines()[-1].startswith("error: ")
