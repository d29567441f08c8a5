"""Bengio's NPLM: the hand-written backward through every term, into the shared table C."""

import numpy as np
import pytest

from minilm.errors import MinilmError
from minilm.gradcheck import check_loss, densify
from minilm.models import nplm
from minilm.optim import Adam

GRAD_TOL = 1e-6  # float64 central differences through softmax and tanh: ~1e-9 when correct


def tiny(direct, seed=0, V=11, N=6):
    cfg = nplm.Config(vocab_size=V, context=3, dim=4, hidden=5, direct=direct, dtype="float64")
    rng = np.random.default_rng(seed)
    params = nplm.init_params(cfg, rng)
    for k in params:  # larger than the init so every term matters in the check
        params[k] = rng.standard_normal(params[k].shape) * 0.5
    context = rng.integers(0, V, size=(N, 3))
    context[0] = [2, 2, 2]  # a word repeated inside one context ...
    context[-1, 0] = 2  # ... and across rows: C's gradient must sum them all
    batch = {"context": context, "target": rng.integers(0, V, size=N)}
    return cfg, params, batch


@pytest.mark.parametrize("direct", [False, True])
def test_full_model_gradients(direct):
    _, params, batch = tiny(direct)
    errors = check_loss(nplm.loss_and_grads, params, batch)
    assert set(errors) == ({"C", "H", "d", "U", "b", "W"} if direct else {"C", "H", "d", "U", "b"})
    for name, err in errors.items():
        assert err < GRAD_TOL, (name, err)


def test_batch_of_one():
    _, params, batch = tiny(True, N=1)
    assert max(check_loss(nplm.loss_and_grads, params, batch).values()) < GRAD_TOL


def test_c_gradient_is_sparse_over_the_words_used():
    _, params, batch = tiny(False)
    _, grads = nplm.loss_and_grads(params, batch)
    rows, values = grads["C"]
    np.testing.assert_array_equal(rows, np.unique(batch["context"]))
    assert values.shape == (rows.size, params["C"].shape[1])
    dense = densify(grads["C"], params["C"].shape)
    unused = np.setdiff1d(np.arange(params["C"].shape[0]), rows)
    assert np.all(dense[unused] == 0)


def test_loss_at_init_is_ln_v():
    V = 500
    cfg = nplm.Config(vocab_size=V, context=4, dim=16, hidden=32, direct=True)
    rng = np.random.default_rng(1)
    params = nplm.init_params(cfg, rng)
    batch = {"context": rng.integers(0, V, size=(64, 4)), "target": rng.integers(0, V, size=64)}
    loss, grads = nplm.loss_and_grads(params, batch)
    assert abs(loss - np.log(V)) < 0.01 * np.log(V)  # within 1% of ln V
    assert params["C"].dtype == np.float32 and grads["U"].dtype == np.float32


@pytest.mark.parametrize("direct", [False, True])
def test_overfits_one_small_batch(direct):
    V = 30
    cfg = nplm.Config(vocab_size=V, context=3, dim=8, hidden=32, direct=direct)
    rng = np.random.default_rng(2)
    params = nplm.init_params(cfg, rng)
    batch = {"context": rng.integers(0, V, size=(16, 3)), "target": rng.integers(0, V, size=16)}
    opt = Adam(lr=0.01)
    first = nplm.loss_and_grads(params, batch)[0]
    for _ in range(300):
        loss, grads = nplm.loss_and_grads(params, batch)
        opt.step(params, grads)
    assert first > 3.0 and loss < 0.05  # memorised: from ln 30 = 3.4 to almost 0


def test_log_probs_normalised_and_nll_matches_loss():
    _, params, batch = tiny(True)
    lp = nplm.log_probs(params, batch["context"])
    np.testing.assert_allclose(np.exp(lp).sum(axis=1), 1.0, rtol=1e-12)
    loss, _ = nplm.loss_and_grads(params, batch)
    nll = nplm.nll_sum(params, batch["context"], batch["target"], chunk=4)  # chunks split rows
    np.testing.assert_allclose(nll / batch["target"].size, loss, rtol=1e-12)


def test_sampling_seeded():
    _, params, _ = tiny(False)
    a = nplm.sample(params, np.random.default_rng(3), np.zeros(3, dtype=int), 20)
    b = nplm.sample(params, np.random.default_rng(3), np.zeros(3, dtype=int), 20)
    np.testing.assert_array_equal(a, b)
    assert a.shape == (20,) and a.max() < 11


def test_bad_config_is_a_clear_error():
    with pytest.raises(MinilmError, match="dim"):
        nplm.Config(vocab_size=10, dim=0)


def write_tiny_corpus(folder, seed=0):
    """A small three-split corpus with shared structure, so perplexities are meaningful."""
    rng = np.random.default_rng(seed)
    subjects, verbs, objects = ["cat", "dog", "man", "girl"], ["eats", "sees"], ["fish", "cake"]
    for split, n in (("train", 300), ("valid", 30), ("test", 30)):
        lines = [
            f"the {rng.choice(subjects)} {rng.choice(verbs)} the {rng.choice(objects)}"
            for _ in range(n)
        ]
        (folder / f"{split}.txt").write_text("\n".join(lines) + "\n", encoding="utf-8")
    return folder


@pytest.mark.slow  # a subprocess that imports matplotlib and trains
def test_script_writes_every_output(tmp_path):
    import json
    import subprocess
    import sys
    from pathlib import Path

    corpus = write_tiny_corpus(tmp_path)
    out = tmp_path / "run"
    script = Path(__file__).resolve().parent.parent / "scripts" / "train_nplm.py"
    cmd = [sys.executable, str(script), "--corpus", str(corpus), "--out", str(out)]
    cmd += ["--epochs", "3", "--dim", "8", "--hidden", "16", "--direct", "--sample", "2"]
    cmd += ["--batch-size", "32", "--lr", "0.01"]
    result = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    for name in ("vectors.txt", "vectors.bin", "model.npz", "metrics.json", "loss.png"):
        assert (out / name).is_file(), name
    assert (out / "projector" / "vectors.tsv").is_file()
    metrics = json.loads((out / "metrics.json").read_text())
    perplexities = ("valid_perplexity", "test_perplexity", "kn3_test_perplexity")
    run = ("train_seconds", "tokens_per_second", "vocab_size", "train_tokens", "seed")
    for key in (*perplexities, "kn5_test_perplexity", *run):
        assert key in metrics, key
    # "the S V the O </s>", 4 x 2 x 2 choices: the best possible perplexity is 16^(1/6) = 1.59
    assert metrics["test_perplexity"] < 2.0 and metrics["vocab_size"] == 3 + 9
    header = (out / "vectors.txt").read_text().splitlines()[0]
    assert header == f"{metrics['vocab_size']} 8"


@pytest.mark.slow  # a subprocess that imports matplotlib and trains
def test_script_bad_option_is_one_line_error(tmp_path):
    import subprocess
    import sys
    from pathlib import Path

    script = Path(__file__).resolve().parent.parent / "scripts" / "train_nplm.py"
    cmd = [sys.executable, str(script), "--out", str(tmp_path / "x"), "--dim", "0"]
    result = subprocess.run(cmd, capture_output=True, text=True, timeout=60)
    assert result.returncode == 2
    assert result.stderr.strip().startswith("error:") and "Traceback" not in result.stderr


def tiny_class(seed=0, V=11, N=6):
    """An NPLM with a class-factored output: 4 classes, one of them a single word."""
    bounds = (0, 3, 4, 8, 11)
    cfg = nplm.Config(V, 3, 4, 5, output="class", class_bounds=bounds, dtype="float64")
    rng = np.random.default_rng(seed)
    params = nplm.init_params(cfg, rng)
    for k in params:
        params[k] = rng.standard_normal(params[k].shape) * 0.5
    context = rng.integers(0, V, size=(N, 3))
    context[0] = [2, 2, 2]
    target = rng.integers(0, V, size=N)
    target[:2] = 3  # the one-word class, twice
    return cfg, params, {"context": context, "target": target}


@pytest.mark.parametrize("N", [1, 6])
def test_class_output_gradients(N):
    cfg, params, batch = tiny_class(N=N)
    errors = check_loss(lambda p, b: nplm.loss_and_grads(p, b, cfg.class_bounds), params, batch)
    assert set(errors) == {"C", "H", "d", "U", "b", "U_c", "b_c"}
    assert max(errors.values()) < GRAD_TOL, errors


def test_class_output_is_a_normalised_distribution_and_nll_matches_loss():
    cfg, params, batch = tiny_class()
    lp = nplm.log_probs(params, batch["context"], cfg.class_bounds)
    np.testing.assert_allclose(np.exp(lp).sum(axis=1), 1.0, atol=1e-13)
    nll = nplm.nll_sum(params, batch["context"], batch["target"], chunk=4, bounds=cfg.class_bounds)
    expected = -lp[np.arange(6), batch["target"]].sum()
    assert nll == pytest.approx(expected, rel=1e-12)
    loss, _ = nplm.loss_and_grads(params, batch, cfg.class_bounds)
    assert loss == pytest.approx(expected / 6, rel=1e-12)


def test_class_output_overfits_one_small_batch():
    V = 30
    bounds = (0, 5, 12, 20, 30)
    cfg = nplm.Config(V, context=3, dim=8, hidden=32, output="class", class_bounds=bounds)
    rng = np.random.default_rng(2)
    params = nplm.init_params(cfg, rng)
    batch = {"context": rng.integers(0, V, size=(16, 3)), "target": rng.integers(0, V, size=16)}
    opt = Adam(lr=0.01)
    first = nplm.loss_and_grads(params, batch, bounds)[0]
    for _ in range(300):
        loss, grads = nplm.loss_and_grads(params, batch, bounds)
        opt.step(params, grads)
    assert first > 3.0 and loss < 0.05


def test_class_output_config_errors():
    with pytest.raises(MinilmError):
        nplm.Config(10, output="class", class_bounds=(0, 5, 9))  # does not reach V
    with pytest.raises(MinilmError):
        nplm.Config(10, output="class", class_bounds=(0, 5, 10), direct=True)
    with pytest.raises(MinilmError):
        nplm.Config(10, output="sampled")


@pytest.mark.parametrize("output", ["full", "class"])
def test_dropout_gradients_with_fixed_masks(output):
    if output == "class":
        cfg, params, batch = tiny_class()
        bounds = cfg.class_bounds
    else:
        _, params, batch = tiny(True)
        bounds = None
    N = batch["context"].shape[0]
    masks = nplm.dropout_masks((N, 12, 5), 0.3, np.random.default_rng(4))
    assert masks["x"].mean() < 1 and masks["a"].mean() < 1  # something is dropped

    def loss_fn(p, b):
        return nplm.loss_and_grads(p, b, bounds, dropout=0.3, masks=masks)

    errors = check_loss(loss_fn, params, batch)
    assert max(errors.values()) < GRAD_TOL, errors


def test_dropout_masks_come_from_the_batch_seed():
    _, params, batch = tiny(False)
    with pytest.raises(MinilmError):
        nplm.loss_and_grads(params, batch, dropout=0.5)
    seeded = {**batch, "dropout_seed": np.array([0, 1, 2])}
    a = nplm.loss_and_grads(params, seeded, dropout=0.5)[0]
    assert a == nplm.loss_and_grads(params, seeded, dropout=0.5)[0]
    assert a != nplm.loss_and_grads(params, batch)[0]


def tiny_tied(output, direct=False, N=6, V=11, seed=0):
    """A float64 tied NPLM (m = h = 5, so U = C^T fits), full or class output, and a batch."""
    bounds = (0, 3, 4, 8, 11) if output == "class" else ()
    cfg = nplm.Config(V, 3, 5, 5, direct, output, bounds, tie=True, dtype="float64")
    rng = np.random.default_rng(seed)
    params = nplm.init_params(cfg, rng)
    for k in params:
        params[k] = rng.standard_normal(params[k].shape) * 0.5
    context = rng.integers(0, V, size=(N, 3))
    context[0] = [2, 2, 2]  # a word read three times in one context ...
    target = rng.integers(0, V, size=N)
    target[0] = 2  # ... and predicted there: its row of C gets input and output gradients
    return cfg, params, {"context": context, "target": target}


@pytest.mark.parametrize(
    "output, direct, N",
    [("full", False, 6), ("full", True, 6), ("class", False, 6), ("class", False, 1)],
)
@pytest.mark.parametrize("p_drop", [0.0, 0.3])
def test_tied_gradients(output, direct, N, p_drop):
    cfg, params, batch = tiny_tied(output, direct, N)
    assert "U" not in params
    masks = nplm.dropout_masks((N, 15, 5), p_drop, np.random.default_rng(4))

    def loss_fn(p, b):
        return nplm.loss_and_grads(p, b, cfg.class_bounds or None, p_drop, masks)

    errors = check_loss(loss_fn, params, batch)
    assert set(errors) == set(params)
    assert max(errors.values()) < GRAD_TOL, errors


def test_tied_gradient_is_the_sum_of_the_input_and_output_gradients():
    cfg, params, batch = tiny_tied("class")
    untied = {**params, "U": params["C"].T.copy()}  # the same numbers, two parameters
    loss, grads = nplm.loss_and_grads(params, batch, cfg.class_bounds)
    loss2, grads2 = nplm.loss_and_grads(untied, batch, cfg.class_bounds)
    assert loss == loss2
    both = densify(grads2["C"], params["C"].shape) + grads2["U"].T
    np.testing.assert_allclose(grads["C"], both, rtol=1e-12, atol=1e-15)
    nll = nplm.nll_sum(params, batch["context"], batch["target"], bounds=cfg.class_bounds)
    assert nll == pytest.approx(6 * loss, rel=1e-12)


def test_tying_needs_dim_equal_to_hidden():
    with pytest.raises(MinilmError, match="dim == hidden"):
        nplm.Config(10, dim=4, hidden=5, tie=True)


@pytest.mark.slow  # subprocesses
@pytest.mark.parametrize(
    "flags, fragment",
    [(["--tie", "--dim", "8", "--hidden", "16"], "--tie"), (["--dropout", "1"], "--dropout")],
)
def test_script_bad_regulariser_flags_are_one_line_errors(tmp_path, flags, fragment):
    import subprocess
    import sys
    from pathlib import Path

    script = Path(__file__).resolve().parent.parent / "scripts" / "train_nplm.py"
    cmd = [sys.executable, str(script), "--out", str(tmp_path / "x"), *flags]
    result = subprocess.run(cmd, capture_output=True, text=True, timeout=60)
    assert result.returncode == 2 and "Traceback" not in result.stderr, result.stderr
    (line,) = result.stderr.splitlines()
    assert line.startswith("error:") and fragment in line
