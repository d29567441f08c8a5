"""The lab trains every model through the model file a learner reads: with a model's
`loss_and_grads` patched (in every Python process of the test, through the `sitecustomize`
hook of tests/test_what_trains_transformers.py) to raise a marked error, the lab's run of that
model stops on its first step with the mark, and the lab says so on that model's line. A lab
that trained through a copy of the algorithm would train it to the end instead."""

import pytest
from test_what_trains_transformers import MARK, ROOT, _env, _run

# lab model -> the module of minilm/models/ whose loss_and_grads its program trains through
LAB_MODELS = [
    ("glove", "glove"),
    ("nplm", "nplm"),
    ("srn", "srn"),
    ("srn-elman", "srn"),
    ("srn-lstm", "srn"),  # the SRN program with --cell lstm (an optional model)
    ("srn-gru", "srn"),
    ("skipgram", "skipgram"),
    ("cbow", "skipgram"),
    ("fasttext", "skipgram"),
    ("transformer", "masked_lm"),
    ("elmo", "elmo"),
]


@pytest.mark.slow  # a quick lab per model: ~5-15 s each
@pytest.mark.parametrize(("model", "module"), LAB_MODELS)
def test_the_lab_trains_each_model_through_its_model_file(tmp_path, model, module):
    out = tmp_path / "lab"
    args = [str(ROOT / "scripts" / "lab.py"), "--out", str(out), "--quick", "--threads", "1"]
    result = _run([*args, "--models", model], _env(tmp_path, module))
    # the only model refused to train: the lab names it and why, and exits 2
    assert result.returncode == 2, result.stderr[-2000:]
    assert f"skipped: {model}: {MARK}: {module}" in result.stderr, result.stderr[-2000:]


def test_an_unpatched_model_trains_in_the_lab(tmp_path):
    """The check can tell: patching another model's file leaves this one training."""
    out = tmp_path / "lab"
    args = [str(ROOT / "scripts" / "lab.py"), "--out", str(out), "--quick", "--threads", "1"]
    result = _run([*args, "--models", "cbow"], _env(tmp_path, "nplm"))
    assert result.returncode == 0, result.stderr[-2000:]
    assert MARK not in result.stderr


@pytest.mark.slow  # a quick lab of one model: ~10 s
def test_the_labs_lstm_srn_trains_the_lstm_cell(tmp_path):
    """srn-lstm is the SRN model file with the LSTM cell: its saved recurrent weights have the
    LSTM's four gates (W_hh (H, 4H)), where Elman's cell has one (H, H)."""
    import json

    import numpy as np

    out = tmp_path / "lab"
    args = [str(ROOT / "scripts" / "lab.py"), "--out", str(out), "--quick", "--threads", "1"]
    result = _run([*args, "--models", "srn-lstm"], _env(tmp_path, "glove"))
    assert result.returncode == 0, result.stderr[-2000:]
    with np.load(out / "srn-lstm" / "model.npz", allow_pickle=False) as arrays:
        H, four_H = arrays["p/W_hh"].shape
        config = json.loads(str(arrays["config"]))
    assert four_H == 4 * H and config["cell"] == "lstm"
    models = json.loads((out / "metrics.json").read_text())["models"]
    assert models["srn-lstm"]["test_perplexity"] > 1
