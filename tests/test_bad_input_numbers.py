"""Bad input, issue 26: numbers that must not come out silently wrong - a diverging run (inf as
well as NaN) is one error line and exit 2 with the last good checkpoint kept, and every figure
computed on nothing is "n/a (why)" in print and null plus a `why_na` reason in JSON.
"""

from __future__ import annotations

import json

import numpy as np
import pytest
from conftest import MODELS, ROOT, run_script, snapshot

from minilm import na
from minilm.errors import MinilmError
from minilm.evaluate import anisotropy, retrieval_recall_at_1
from minilm.io import RUN_MARKER
from minilm.mteb_metrics import ndcg_at_k, probe_accuracy, recall_at_k, v_measure
from minilm.na import NotMeasurable
from minilm.runs import write_run

LR_FLAG = {"skipgram": "--alpha", "cbow": "--alpha", "fasttext": "--alpha"}
DIVERGING = {
    **MODELS,
    "gpt": (
        "train_gpt.py",
        "--dim 16 --heads 2 --ffn 32 --layers 1 --epochs 1 --max-len 8".split(),
    ),
    "elmo": ("train_elmo.py", "--dim 8 --layers 1 --epochs 1 --bptt 8".split()),
}


# ------------------------------------------------------------------ a diverging run
@pytest.mark.parametrize("model", list(DIVERGING))
def test_a_diverging_run_is_one_error_line_and_keeps_the_good_checkpoint(model, world, tmp_path):
    """--lr 1e9: without the guard nplm, srn, elmo and glove finished with exit 0 (valid
    perplexity inf, or finite vectors of 1e9 from a loss of 1e33). Now: exit 2, one line, the
    folder marked failed, and the earlier run's checkpoint left as it was."""
    script, options = DIVERGING[model]
    out = tmp_path / "run"
    good = run_script(script, *options, "--corpus", world, "--out", out, "--epochs", 1)
    assert good.returncode == 0, good.stderr
    checkpoint = snapshot(out)["checkpoint.npz"]
    flag = LR_FLAG.get(model, "--lr")
    bad = run_script(script, *options, "--corpus", world, "--out", out, "--epochs", 1, flag, 1e9)
    # stderr: the note of what this run cleared (minilm.train), then the one error line
    assert bad.returncode == 2 and "Traceback" not in bad.stderr, bad.stderr
    errors = [line for line in bad.stderr.splitlines() if line.startswith("error:")]
    assert errors == bad.stderr.splitlines()[-1:], bad.stderr
    assert "diverged" in errors[0] and f"lower {flag}" in errors[0], errors
    assert (out / "checkpoint.npz").read_bytes() == checkpoint
    marker = json.loads((out / RUN_MARKER).read_text())
    assert marker["status"] == "failed" and "diverged" in marker["error"]
    assert not (out / "metrics.json").exists()


# ------------------------------------------------------------------ figures computed on nothing
@pytest.fixture
def three_words(tmp_path):
    """Vectors of 3 words, none of them in the world's analogies or similarity pairs."""
    (tmp_path / "v.txt").write_text("3 2\nthe 1 0\ncat 0 1\ndog 1 1\n")
    return tmp_path / "v.txt"


def test_evaluate_prints_na_with_the_reason_never_nan(three_words):
    world = ROOT / "corpus" / "world"
    args = ["--analogies", world / "analogies.txt", "--similarity", world / "similarity.tsv"]
    printed = run_script("evaluate.py", three_words, *args)
    assert printed.returncode == 0, printed.stderr
    assert "nan" not in printed.stdout.lower().replace("n/a", "")
    assert "headline accuracy (excluding query words): n/a (none of its 1982 questions" in (
        printed.stdout
    )
    assert "Spearman n/a (0 of 300 pairs in the vocabulary; a correlation needs 2)" in (
        printed.stdout
    )
    found = json.loads(run_script("evaluate.py", three_words, *args, "--json").stdout)
    analogies, similarity = found["analogies"], found["similarity"]
    assert analogies["accuracy"] is None and "questions" in analogies["why_na"]["accuracy"]
    assert similarity["spearman"] is None and "pairs" in similarity["why_na"]["spearman"]


def test_a_constant_column_has_no_correlation(three_words, tmp_path):
    (tmp_path / "same.tsv").write_text("the\tcat\t1\nthe\tdog\t1\ncat\tdog\t1\n")
    printed = run_script("evaluate.py", three_words, "--similarity", tmp_path / "same.tsv")
    assert "Spearman n/a (the scores of the 3 pairs in the vocabulary are all equal" in (
        printed.stdout
    ), printed.stdout


def test_purity_of_one_known_word_is_na(three_words, tmp_path):
    (tmp_path / "cats.tsv").write_text("cat\tanimal\nzebra\tanimal\nking\tperson\n")
    result = run_script("evaluate.py", three_words, "--categories", tmp_path / "cats.tsv", "--json")
    categories = json.loads(result.stdout)["categories"]
    assert categories["purity"] is None
    assert categories["why_na"]["purity"].startswith("cats.tsv: 1 of its 3 words")


@pytest.fixture(scope="module")
def odd_truth(tmp_path_factory):
    """The small world corpus beside truth files whose words it does not know."""
    folder = tmp_path_factory.mktemp("odd")
    lines = (ROOT / "corpus" / "world" / "train.txt").read_text().splitlines()
    for split, part in (("train", lines[:2000]), ("valid", lines[2000:2200])):
        (folder / f"{split}.txt").write_text("\n".join(part) + "\n")
    (folder / "test.txt").write_text("\n".join(lines[2200:2400]) + "\n")
    (folder / "categories.tsv").write_text("zzz\tx\nyyy\tx\nking\tperson\n")
    (folder / "analogies.txt").write_text(": s\nzz yy xx ww\n")
    (folder / "similarity.tsv").write_text("zz\tyy\t1\nking\tqueen\t3\n")
    return folder


@pytest.mark.parametrize("model", ["srn", "skipgram", "nplm"])
def test_a_trainer_reports_na_figures_and_finishes(model, odd_truth, tmp_path):
    """Before: the SRN and NPLM ended after training with an error (purity of 1 known word),
    the lab's Elman purity likewise; skip-gram wrote null with no reason."""
    script, options = MODELS[model]
    out = tmp_path / "run"
    result = run_script(script, *options, "--epochs", 1, "--corpus", odd_truth, "--out", out)
    assert result.returncode == 0, result.stderr
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["category_purity"] is None
    assert "1 of its 3 words in the vocabulary" in metrics["why_na"]["category_purity"]
    if model == "skipgram":
        assert metrics["analogy_accuracy"] is None and metrics["similarity_spearman"] is None
        assert {"analogy_accuracy", "similarity_spearman"} <= set(metrics["why_na"])
        assert "similarity_spearman n/a (1 of 2 pairs" in result.stdout


def test_empty_inputs_of_the_mteb_scores_are_not_measurable():
    with pytest.raises(NotMeasurable):
        ndcg_at_k(np.zeros((0, 10), dtype=int), [], 10)
    with pytest.raises(NotMeasurable):
        recall_at_k(np.zeros((1, 10), dtype=int), [set()], 10)
    with pytest.raises(NotMeasurable):
        v_measure(np.array([]), np.array([]))
    with pytest.raises(NotMeasurable):
        probe_accuracy(np.ones((3, 2)), np.array(["a", "b", "a"]), np.random.default_rng(0))
    with pytest.raises(NotMeasurable):
        retrieval_recall_at_1(np.zeros((0, 2)), np.zeros((0, 2)))
    # a query without a relevant document is left out, not scored 0
    ranked = np.array([[0, 1], [1, 0]])
    assert ndcg_at_k(ranked, [{0}, set()], 2) == 1.0


def test_run_mteb_with_a_constant_encoder_reports_why(tmp_path):
    from minilm.mteb import build_tasks, run_mteb

    tasks = build_tasks(ROOT / "corpus" / "world", np.random.default_rng(0))
    row = run_mteb(lambda sentences: np.ones((len(sentences), 4)), tasks)
    assert row["sts"] is None and "all equal" in row["why_na"]["sts"]
    assert all(row[k] is not None for k in ("retrieval_ndcg10", "pairs_ap"))


def test_lab_report_and_anisotropy_say_why():
    from minilm.lab_report import metrics_table

    aniso = anisotropy(np.ones((1, 3)), np.random.default_rng(0))
    assert aniso["mean_cosine"] is None and "1 vector" in aniso["why_na"]["mean_cosine"]
    m = na.mark({"label": "tiny"}, "similarity_spearman", "1 of 2 pairs in the vocabulary")
    assert "n/a (1 of 2 pairs in the vocabulary)" in metrics_table({"tiny": m})


def test_write_run_refuses_an_inf_perplexity_and_explains_other_nan(tmp_path):
    words, vectors = ["a", "b"], np.eye(2, dtype=np.float32)
    with pytest.raises(MinilmError, match="test_perplexity is inf.*diverged"):
        write_run(tmp_path / "r", words, vectors, {}, None, {"test_perplexity": float("inf")})
    assert not (tmp_path / "r" / "metrics.json").exists()
    write_run(tmp_path / "r", words, vectors, {}, None, {"x": {"y": float("nan")}})
    metrics = json.loads((tmp_path / "r" / "metrics.json").read_text())
    assert metrics["x"] == {"y": None, "why_na": {"y": "computed as nan"}}
