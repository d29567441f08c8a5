"""The real-vocabulary path of the language-model scripts: class-factored output end to end.

The world corpus is small (the full softmax is the default there), so --output class forces
the factored head; the run must write exact perplexities (finite, above 1, below V) and say
which output and how many classes it used. The layer itself: tests/test_class_softmax.py.
"""

import json

import numpy as np
import pytest
from conftest import run_script

from minilm.data.corpus import load_corpus
from minilm.layers.class_softmax import frequency_classes


@pytest.mark.parametrize(
    "script, opts",
    [
        ("train_nplm.py", ["--dim", "8", "--hidden", "16", "--batch-size", "64"]),
        ("train_srn.py", ["--dim", "8", "--hidden", "16", "--batch-size", "4", "--bptt", "8"]),
    ],
)
def test_language_model_scripts_with_a_class_output(world, tmp_path, script, opts):
    out = tmp_path / "run"
    common = ["--corpus", world, "--out", out, "--epochs", "1", "--output", "class"]
    result = run_script(script, *common, "--classes", "6", "--max-vocab", "120", *opts)
    assert result.returncode == 0, result.stderr
    m = json.loads((out / "metrics.json").read_text())
    assert m["output"] == "class" and 1 <= m["n_classes"] <= 6
    assert m["vocab_size"] == 120
    for key in ("valid_perplexity", "test_perplexity", "kn5_test_perplexity"):
        assert 1 < m[key] < 120, (key, m[key])


def test_transformer_script_with_a_class_head(world, tmp_path):
    out = tmp_path / "tf"
    opts = ["--dim", "16", "--heads", "2", "--ffn", "32", "--layers", "1", "--batch-size", "16"]
    opts += ["--warmup", "5", "--epochs", "1", "--output", "class", "--classes", "8"]
    result = run_script("train_transformer.py", "--corpus", world, "--out", out, *opts)
    assert result.returncode == 0, result.stderr
    m = json.loads((out / "metrics.json").read_text())
    assert m["output"] == "class" and 1 <= m["n_classes"] <= 8
    assert 1 < m["mlm_pseudo_perplexity"] < m["vocab_size"]


def test_frequency_classes_on_a_real_vocabulary(world):
    """Counts sorted by frequency (the vocabulary's order after the specials): classes of about
    equal mass, narrow for frequent words and wide for rare ones."""
    corpus = load_corpus(world, specials=("<unk>", "<bos>", "</s>"))
    counts = np.bincount(corpus.train.ids, minlength=len(corpus.vocab))
    bounds = frequency_classes(counts, 10)
    widths = np.diff(bounds)
    assert bounds[-1] == len(corpus.vocab) and widths.min() >= 1
    assert widths[-1] > widths[1]
