"""Elman's SRN: backprop through time over a window with a carried state, and the analysis."""

import numpy as np
import pytest

from minilm.errors import MinilmError
from minilm.gradcheck import check_loss, densify
from minilm.layers.class_softmax import class_log_probs
from minilm.models import srn
from minilm.optim import Adam

GRAD_TOL = 1e-6  # float64 central differences through T steps of tanh + softmax: ~1e-9


def tiny(onehot, N=3, T=5, V=9, seed=0):
    cfg = srn.Config(vocab_size=V, dim=4, hidden=6, onehot=onehot, dtype="float64")
    rng = np.random.default_rng(seed)
    params = srn.init_params(cfg, rng)
    for k in params:  # larger than the init, so the recurrence is far from linear
        params[k] = rng.standard_normal(params[k].shape) * 0.5
    inputs = rng.integers(0, V, size=(N, T))
    inputs[0, :2] = 3  # a word repeated in time: its row gets both contributions
    batch = {"inputs": inputs, "targets": rng.integers(0, V, size=(N, T))}
    return params, batch, rng


def carried(params, batch, state):
    """A loss function reading a fixed carried state (check_loss calls it many times)."""
    return lambda p, b: srn.loss_and_grads(p, b, {"h": state["h"].copy()})


@pytest.mark.parametrize("onehot", [False, True])
@pytest.mark.parametrize("N,T", [(3, 5), (1, 4), (2, 1)])
def test_full_model_gradients_with_a_carried_state(onehot, N, T):
    params, batch, rng = tiny(onehot, N=N, T=T)
    # a previous window sets the state that this window starts from
    state = {}
    previous = {k: rng.integers(0, 9, size=(N, T)) for k in ("inputs", "targets")}
    srn.loss_and_grads(params, previous, state)
    assert np.abs(state["h"]).max() > 0.1  # a real, non-zero h_0
    errors = check_loss(carried(params, batch, state), params, batch)
    expected = {"W_xh", "W_hh", "b_h", "W_hy", "b_y"} | (set() if onehot else {"C"})
    assert set(errors) == expected
    for name, err in errors.items():
        assert err < GRAD_TOL, (name, err)


def test_two_windows_with_a_carried_state_equal_one_long_window():
    params, batch, _ = tiny(False, N=2, T=6)
    # forward: two windows of 3 with the state carried = one window of 6
    whole = srn.hidden_forward(params, batch["inputs"], None)[0]
    state = {}
    halves = [{k: v[:, s : s + 3] for k, v in batch.items()} for s in (0, 3)]
    losses = [srn.loss_and_grads(params, half, state)[0] for half in halves]
    np.testing.assert_allclose(state["h"], whole[:, -1], rtol=1e-12)
    full_loss = srn.loss_and_grads(params, batch)[0]
    np.testing.assert_allclose(np.mean(losses), full_loss, rtol=1e-12)


def test_loss_at_init_is_ln_v():
    V = 400
    cfg = srn.Config(vocab_size=V, dim=16, hidden=32)
    rng = np.random.default_rng(1)
    params = srn.init_params(cfg, rng)
    batch = {k: rng.integers(0, V, size=(8, 10)) for k in ("inputs", "targets")}
    loss, grads = srn.loss_and_grads(params, batch)
    assert abs(loss - np.log(V)) < 0.01 * np.log(V)  # within 1% of ln V
    assert grads["W_hy"].dtype == np.float32


@pytest.mark.parametrize("onehot", [False, True])
def test_overfits_one_small_batch(onehot):
    V = 20
    cfg = srn.Config(vocab_size=V, dim=8, hidden=32, onehot=onehot)
    rng = np.random.default_rng(2)
    params = srn.init_params(cfg, rng)
    batch = {k: rng.integers(0, V, size=(4, 8)) for k in ("inputs", "targets")}
    opt = Adam(lr=0.02)
    first = srn.loss_and_grads(params, batch)[0]
    for _ in range(300):
        loss, grads = srn.loss_and_grads(params, batch)
        opt.step(params, grads)
    assert first > 2.8 and loss < 0.05  # from ln 20 = 3.0 to almost 0


def test_stream_nll_matches_the_training_loss():
    params, batch, _ = tiny(True, N=1, T=12)
    loss, _ = srn.loss_and_grads(params, batch)
    nll = srn.nll_sum(params, batch["inputs"][0], batch["targets"][0], n_streams=1, T=5)
    np.testing.assert_allclose(nll / 12, loss, rtol=1e-12)  # windows of 5 carry the state


def test_mean_hidden_states_average_every_occurrence():
    params, batch, _ = tiny(False, N=1, T=10)
    ids = batch["inputs"][0]
    means, counts = srn.mean_hidden_states(params, ids, 9, n_streams=1)
    hs = srn.hidden_forward(params, ids[None])[0][0]  # (T, H)
    for w in np.unique(ids):
        np.testing.assert_allclose(means[w], hs[ids == w].mean(axis=0), rtol=1e-12)
    assert counts.sum() == 10
    np.testing.assert_array_equal(means[np.setdiff1d(np.arange(9), ids)], 0.0)


def test_sampling_seeded():
    params, _, _ = tiny(True)
    a = srn.sample(params, np.random.default_rng(3), 0, 15)
    b = srn.sample(params, np.random.default_rng(3), 0, 15)
    np.testing.assert_array_equal(a, b)
    assert a.shape == (15,)


@pytest.mark.slow  # a subprocess that imports matplotlib and trains
def test_script_writes_every_output_and_elman_analysis(tmp_path):
    import json
    import subprocess
    import sys
    from pathlib import Path

    rng = np.random.default_rng(0)
    groups = {  # six of each, so all 5 nearest neighbours can share the category
        "noun": ["cat", "dog", "man", "girl", "boy", "cow"],
        "verb": ["eats", "sees", "likes", "sleeps", "runs", "sings"],
    }
    for split, n in (("train", 400), ("valid", 40), ("test", 40)):
        lines = [f"{rng.choice(groups['noun'])} {rng.choice(groups['verb'])}" for _ in range(n)]
        (tmp_path / f"{split}.txt").write_text("\n".join(lines) + "\n", encoding="utf-8")
    cats = "".join(f"{w}\t{g.upper()}\t{g}\n" for g, ws in groups.items() for w in ws)
    (tmp_path / "categories.tsv").write_text(cats, encoding="utf-8")
    out = tmp_path / "run"
    script = Path(__file__).resolve().parent.parent / "scripts" / "train_srn.py"
    cmd = [sys.executable, str(script), "--corpus", str(tmp_path), "--out", str(out)]
    cmd += ["--epochs", "4", "--hidden", "16", "--bptt", "4", "--batch-size", "4", "--onehot"]
    cmd += ["--sample", "2"]
    result = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    files = ("vectors.txt", "vectors.bin", "input_vectors.txt", "dendrogram.png")
    for name in (*files, "model.npz", "metrics.json", "loss.png"):
        assert (out / name).is_file(), name
    metrics = json.loads((out / "metrics.json").read_text())
    perplexities = ("valid_perplexity", "test_perplexity", "kn3_test_perplexity")
    for key in (*perplexities, "kn5_test_perplexity", "category_purity", "coarse_category_purity"):
        assert key in metrics, key
    assert metrics["category_purity_ceiling"] == 1.0
    assert metrics["coarse_category_purity"] == 1.0  # nouns and verbs never share a position


def test_reset_batch_starts_from_zero_state():
    params, batch, _ = tiny(False, N=2, T=3)
    fresh = srn.loss_and_grads(params, batch)[0]
    state = {"h": np.ones((2, 6))}
    carried_loss = srn.loss_and_grads(params, batch, dict(state))[0]
    reset_loss = srn.loss_and_grads(params, {**batch, "reset": True}, dict(state))[0]
    assert reset_loss == fresh != carried_loss


def test_interrupted_and_resumed_training_is_bit_identical(tmp_path):
    """The carried hidden state rides in the loop's checkpointed `state`: a run stopped
    mid-epoch and resumed ends with exactly the parameters of an uninterrupted run."""
    from minilm.data.batchers import StreamBatches
    from minilm.data.corpus import TokenStream
    from minilm.train import TrainConfig, train

    rng = np.random.default_rng(0)
    stream = TokenStream(rng.integers(1, 9, size=600), np.arange(0, 601, 6))

    def run(out, **kw):
        params = srn.init_params(
            srn.Config(vocab_size=9, dim=4, hidden=8), np.random.default_rng(1)
        )
        state = {}
        cfg = TrainConfig(epochs=2, lr=0.01, seed=0, out_dir=out, desc="srn", **kw)
        batches = StreamBatches(stream, batch_size=4, T=5, seed=0, eos_id=0)
        loss = lambda p, b: srn.loss_and_grads(p, b, state)  # noqa: E731
        train(loss, params, batches, Adam(lr=0.01), cfg, state=state)
        return params

    whole = run(tmp_path / "a")
    run(tmp_path / "b", stop_after=37)  # inside the second epoch (34 steps per epoch)
    resumed = run(tmp_path / "b", resume=True)
    for k in whole:
        np.testing.assert_array_equal(whole[k], resumed[k])


BOUNDS = (0, 2, 3, 6, 9)  # 4 classes of the 9 words; class 1 is the single word 2


def tiny_class(onehot, N=3, T=5, V=9, seed=0):
    cfg = srn.Config(V, 4, 6, onehot, output="class", class_bounds=BOUNDS, dtype="float64")
    rng = np.random.default_rng(seed)
    params = srn.init_params(cfg, rng)
    for k in params:
        params[k] = rng.standard_normal(params[k].shape) * 0.5
    inputs = rng.integers(0, V, size=(N, T))
    targets = rng.integers(0, V, size=(N, T))
    targets[0, :2] = 2  # the one-word class, repeated
    return params, {"inputs": inputs, "targets": targets}, rng


@pytest.mark.parametrize("onehot", [False, True])
@pytest.mark.parametrize("N,T", [(3, 5), (1, 1)])
def test_class_output_gradients_with_a_carried_state(onehot, N, T):
    params, batch, rng = tiny_class(onehot, N=N, T=T)
    state = {}
    previous = {k: rng.integers(0, 9, size=(N, T)) for k in ("inputs", "targets")}
    srn.loss_and_grads(params, previous, state, BOUNDS)

    def loss_fn(p, b):
        return srn.loss_and_grads(p, b, {"h": state["h"].copy()}, BOUNDS)

    errors = check_loss(loss_fn, params, batch)
    assert {"W_hc", "b_c", "W_hy", "b_y"} <= set(errors)
    assert max(errors.values()) < GRAD_TOL, errors


def test_class_output_nll_is_exact_and_matches_the_loss():
    params, batch, _ = tiny_class(False, N=1, T=7)
    inputs, targets = batch["inputs"][0], batch["targets"][0]
    nll = srn.nll_sum(params, inputs, targets, n_streams=1, T=7, bounds=BOUNDS)
    loss, _ = srn.loss_and_grads(params, batch, None, BOUNDS)
    assert nll == pytest.approx(7 * loss, rel=1e-12)
    # the same sum from the whole factored distribution, which sums to 1
    hs = srn.hidden_forward(params, inputs[None])[0][0]  # (T, H)
    head = (params["W_hc"], params["b_c"], params["W_hy"], params["b_y"])
    lp = class_log_probs(hs, *head, np.array(BOUNDS))
    np.testing.assert_allclose(np.exp(lp).sum(axis=1), 1.0, atol=1e-13)
    assert nll == pytest.approx(-lp[np.arange(7), targets].sum(), rel=1e-12)


def test_class_output_overfits_one_small_batch():
    V = 30
    bounds = (0, 4, 10, 18, 30)
    cfg = srn.Config(V, dim=8, hidden=32, output="class", class_bounds=bounds)
    rng = np.random.default_rng(3)
    params = srn.init_params(cfg, rng)
    batch = {k: rng.integers(0, V, size=(4, 6)) for k in ("inputs", "targets")}
    opt = Adam(lr=0.01)
    first = srn.loss_and_grads(params, batch, None, bounds)[0]
    for _ in range(300):
        loss, grads = srn.loss_and_grads(params, batch, None, bounds)
        opt.step(params, grads)
    assert first > 3.0 and loss < 0.1


def tiny_regularised(output, tie, N, T, V=9, seed=0):
    """A float64 SRN with D = H = 5 (tying needs it), full or class output, and a batch."""
    bounds = BOUNDS if output == "class" else ()
    cfg = srn.Config(V, 5, 5, output=output, class_bounds=bounds, tie=tie, dtype="float64")
    rng = np.random.default_rng(seed)
    params = srn.init_params(cfg, rng)
    for k in params:
        params[k] = rng.standard_normal(params[k].shape) * 0.5
    inputs = rng.integers(0, V, size=(N, T))
    inputs[0, :] = 2  # one word read at every step, and it is a target too
    targets = rng.integers(0, V, size=(N, T))
    targets[-1, -1] = 2
    return cfg, params, {"inputs": inputs, "targets": targets}, rng


@pytest.mark.parametrize("output", ["full", "class"])
@pytest.mark.parametrize("tie", [False, True])
@pytest.mark.parametrize("N,T", [(3, 4), (1, 1)])
def test_dropout_and_tying_gradients_with_a_carried_state(output, tie, N, T):
    """Fixed keep-masks make dropout a fixed linear map: the backward is exact again."""
    cfg, params, batch, rng = tiny_regularised(output, tie, N, T)
    bounds = cfg.class_bounds or None
    state = {}
    srn.loss_and_grads(params, tiny_regularised(output, tie, N, T, seed=1)[2], state, bounds)
    masks = srn.dropout_masks((N, T, 5, 5), 0.4, rng)
    masks["x"][0, 0] = [True, False, True, False, True]  # something kept, something dropped
    masks["h"][0, 0] = [False, True, False, True, False]

    def loss_fn(p, b):
        return srn.loss_and_grads(p, b, {"h": state["h"].copy()}, bounds, 0.4, masks)

    errors = check_loss(loss_fn, params, batch)
    assert ("W_hy" in errors) != tie and "C" in errors
    assert max(errors.values()) < GRAD_TOL, errors


def test_tied_gradient_is_the_sum_of_the_input_and_output_gradients():
    cfg, params, batch, _ = tiny_regularised("class", True, 3, 4)
    untied = {**params, "W_hy": params["C"].T.copy()}  # the same numbers, two parameters
    loss, grads = srn.loss_and_grads(params, batch, None, cfg.class_bounds)
    loss2, grads2 = srn.loss_and_grads(untied, batch, None, cfg.class_bounds)
    assert loss == loss2
    both = densify(grads2["C"], params["C"].shape) + grads2["W_hy"].T
    np.testing.assert_allclose(grads["C"], both, rtol=1e-12, atol=1e-15)
    assert set(grads) == set(params) and "W_hy" not in params


def test_dropout_never_touches_the_recurrent_path():
    """Dropping only output-side units leaves every h_t (and the carried state) unchanged."""
    _, params, batch, rng = tiny_regularised("full", False, 3, 4)
    masks = srn.dropout_masks((3, 4, 5, 5), 0.5, rng)
    masks["x"][...] = True  # the input kept whole (and scaled by 1/(1-p) = 2, exactly) ...
    plain, dropped = {}, {}
    doubled = {**params, "C": 2 * params["C"]}  # ... which is the input of a doubled C
    loss = srn.loss_and_grads(doubled, batch, plain)[0]
    loss_dropped = srn.loss_and_grads(params, batch, dropped, None, 0.5, masks)[0]
    assert loss_dropped != loss
    np.testing.assert_array_equal(dropped["h"], plain["h"])


def test_dropout_masks_come_from_the_batch_seed():
    _, params, batch, _ = tiny_regularised("full", True, 3, 4)
    with pytest.raises(MinilmError, match="dropout_seed"):
        srn.loss_and_grads(params, batch, dropout=0.5)
    seeded = {**batch, "dropout_seed": np.array([0, 1, 2])}
    a = srn.loss_and_grads(params, seeded, dropout=0.5)[0]
    assert a == srn.loss_and_grads(params, seeded, dropout=0.5)[0]
    assert a != srn.loss_and_grads(params, batch)[0]
    other = {**batch, "dropout_seed": np.array([0, 1, 3])}
    assert a != srn.loss_and_grads(params, other, dropout=0.5)[0]


def test_dropout_masks_keep_one_minus_p():
    masks = srn.dropout_masks((64, 32, 20, 30), 0.3, np.random.default_rng(0))
    assert masks["x"].shape == (64, 32, 20) and masks["h"].shape == (64, 32, 30)
    # 40960 and 61440 Bernoulli(0.7) draws: standard errors ~0.0023 and ~0.0018
    assert abs(masks["x"].mean() - 0.7) < 0.01 and abs(masks["h"].mean() - 0.7) < 0.01


def test_tying_needs_an_embedding_of_the_hidden_size():
    with pytest.raises(MinilmError, match="dim == hidden"):
        srn.Config(9, dim=4, hidden=6, tie=True)
    with pytest.raises(MinilmError, match="dim == hidden"):
        srn.Config(9, dim=6, hidden=6, onehot=True, tie=True)


def test_tied_model_scores_with_c_transposed():
    cfg, params, batch, _ = tiny_regularised("class", True, 1, 6)
    inputs, targets = batch["inputs"][0], batch["targets"][0]
    nll = srn.nll_sum(params, inputs, targets, n_streams=1, T=6, bounds=cfg.class_bounds)
    loss, _ = srn.loss_and_grads(params, batch, None, cfg.class_bounds)
    assert nll == pytest.approx(6 * loss, rel=1e-12)
    drawn = srn.sample(params, np.random.default_rng(0), 2, 5, bounds=cfg.class_bounds)
    assert drawn.shape == (5,)


@pytest.mark.slow  # subprocesses
@pytest.mark.parametrize(
    "flags, fragment",
    [
        (["--tie", "--dim", "8", "--hidden", "16"], "--tie"),
        (["--tie", "--dim", "16", "--hidden", "16", "--onehot"], "--onehot"),
        (["--dropout", "1"], "--dropout"),
        (["--dropout", "-0.1"], "--dropout"),
    ],
)
def test_script_bad_regulariser_flags_are_one_line_errors(tmp_path, flags, fragment):
    import subprocess
    import sys
    from pathlib import Path

    script = Path(__file__).resolve().parent.parent / "scripts" / "train_srn.py"
    cmd = [sys.executable, str(script), "--out", str(tmp_path / "x"), *flags]
    result = subprocess.run(cmd, capture_output=True, text=True, timeout=60)
    assert result.returncode == 2 and "Traceback" not in result.stderr, result.stderr
    (line,) = result.stderr.splitlines()
    assert line.startswith("error:") and fragment in line


def tiny_cell(cell, onehot, N, T, V=9, output="full", tie=False, seed=0):
    dim = 6 if tie else 4
    bounds = BOUNDS if output == "class" else ()
    cfg = srn.Config(V, dim, 6, onehot, output, bounds, tie, dtype="float64", cell=cell)
    rng = np.random.default_rng(seed)
    params = srn.init_params(cfg, rng)
    for k in params:
        params[k] = rng.standard_normal(params[k].shape) * 0.5
    inputs = rng.integers(0, V, size=(N, T))
    inputs[0, 0] = inputs[-1, -1] = 3  # a word repeated: its row gets both contributions
    return params, {"inputs": inputs, "targets": rng.integers(0, V, size=(N, T))}, rng


@pytest.mark.parametrize("cell", ["elman", "lstm", "gru"])
@pytest.mark.parametrize(
    "onehot,output,tie,N,T",
    [(False, "full", False, 3, 4), (True, "full", False, 1, 1), (False, "class", True, 2, 3)],
)
def test_every_cell_gradients_with_a_carried_state(cell, onehot, output, tie, N, T):
    """The whole model for each cell; the LSTM carries (h, c) from the previous window."""
    params, batch, rng = tiny_cell(cell, onehot, N, T, output=output, tie=tie)
    state = {}
    previous = {k: rng.integers(0, 9, size=(N, T)) for k in ("inputs", "targets")}
    srn.loss_and_grads(params, previous, state, BOUNDS, cell=cell)
    assert set(state) == ({"h", "c"} if cell == "lstm" else {"h"})
    assert all(np.abs(s).max() > 0.05 for s in state.values())  # a real carried state

    def loss(p, b):
        return srn.loss_and_grads(p, b, {k: v.copy() for k, v in state.items()}, BOUNDS, cell=cell)

    errors = check_loss(loss, params, batch)
    for name, err in errors.items():
        assert err < GRAD_TOL, (name, err)


@pytest.mark.parametrize("cell", ["lstm", "gru"])
def test_cell_stream_nll_matches_the_training_loss(cell):
    params, batch, _ = tiny_cell(cell, False, 1, 12)
    loss = srn.loss_and_grads(params, batch, cell=cell)[0]
    nll = srn.nll_sum(params, batch["inputs"][0], batch["targets"][0], 1, 5, cell=cell)
    np.testing.assert_allclose(nll / 12, loss, rtol=1e-12)  # windows of 5 carry (h, c)


@pytest.mark.parametrize("cell", ["lstm", "gru"])
def test_script_trains_another_cell_and_keeps_its_best_epoch(cell, tmp_path):
    import json
    import subprocess
    import sys
    from pathlib import Path

    out = tmp_path / cell
    script = Path(__file__).parents[1] / "scripts" / "train_srn.py"
    flags = "--dim 8 --hidden 12 --epochs 2 --batch-size 4 --bptt 8 --threads 1".split()
    result = subprocess.run(
        [sys.executable, str(script), "--out", str(out), "--cell", cell, *flags],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stderr
    metrics = json.loads((out / "metrics.json").read_text())
    G = {"lstm": 4, "gru": 3}[cell]
    arrays = np.load(out / "model.npz", allow_pickle=False)
    assert arrays["p/W_hh"].shape == (12, G * 12)  # H from --hidden, G gate blocks
    V = int((out / "vectors.txt").read_text().split()[0])
    assert metrics["valid_perplexity"] < V / 4  # far better than guessing among V words
