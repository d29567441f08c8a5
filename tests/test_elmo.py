"""ELMo: both LMs and the shared layers grad-checked in float64, the scalar mix, the layers."""

import numpy as np
import pytest

from minilm.errors import MinilmError
from minilm.gradcheck import check_layer, check_loss
from minilm.layers.mix import scalar_mix_backward, scalar_mix_forward
from minilm.models import elmo

TOL = 1e-7  # float64 central differences: a correct backward scores ~1e-9


def tiny(N, T, layers=2, V=7, seed=0):
    cfg = elmo.Config(V, dim=3, layers=layers, dtype="float64")
    rng = np.random.default_rng(seed)
    params = elmo.init_params(cfg, rng)
    for k in params:  # larger than the init: far from linear
        params[k] = rng.standard_normal(params[k].shape) * 0.5
    ids = rng.integers(0, V, size=(N, T))
    ids[0, 0] = ids[-1, -1] = 2  # a repeated word: its embedding row gets both gradients
    return params, {"inputs": ids}


@pytest.mark.parametrize("N,T,layers", [(1, 2, 1), (2, 4, 2), (1, 5, 2), (3, 3, 1)])
def test_gradients(N, T, layers):
    params, batch = tiny(N, T, layers)
    errors = check_loss(elmo.loss_and_grads, params, batch)
    assert set(errors) == set(params)
    for name, err in errors.items():
        assert err < TOL, (name, err)


def test_loss_starts_near_ln_v_and_directions_are_separate():
    V = 50
    params = elmo.init_params(elmo.Config(V, dim=8), np.random.default_rng(1))
    ids = np.random.default_rng(2).integers(0, V, size=(4, 6))
    loss, grads = elmo.loss_and_grads(params, {"inputs": ids})
    assert abs(loss - np.log(V)) < 0.02 * np.log(V)
    assert any(k.startswith("bwd1/") for k in grads) and any(k.startswith("fwd2/") for k in grads)


def test_forward_layer_does_not_see_the_future_backward_does_not_see_the_past():
    params, batch = tiny(1, 6)
    ids = batch["inputs"]
    changed = ids.copy()
    changed[0, 3] = (ids[0, 3] + 1) % 7
    a, b = elmo.contextual_layers(params, ids), elmo.contextual_layers(params, changed)
    D = 3
    for layer in (1, 2):
        fwd_diff = np.abs(a[layer, 0, :, :D] - b[layer, 0, :, :D]).max(axis=-1)
        bwd_diff = np.abs(a[layer, 0, :, D:] - b[layer, 0, :, D:]).max(axis=-1)
        assert np.all(fwd_diff[:3] == 0) and np.all(fwd_diff[3:] > 0)
        assert np.all(bwd_diff[4:] == 0) and np.all(bwd_diff[:4] > 0)
    assert a.shape == (3, 1, 6, 2 * D)
    np.testing.assert_array_equal(a[0, ..., :D], a[0, ..., D:])  # layer 0 = [x; x]


def test_overfits_one_batch():
    from minilm.optim import Adam

    params = elmo.init_params(elmo.Config(12, dim=16, layers=1), np.random.default_rng(3))
    batch = {"inputs": np.random.default_rng(4).integers(0, 12, size=(2, 8))}
    opt, first = Adam(lr=0.03), elmo.loss_and_grads(params, batch)[0]
    for _ in range(200):
        opt.step(params, elmo.loss_and_grads(params, batch)[1])
    assert elmo.loss_and_grads(params, batch)[0] < 0.2 * first


@pytest.mark.parametrize("shape", [(3, 2, 4, 5), (1, 1, 1, 2), (2, 1, 3)])
def test_scalar_mix_gradients(shape):
    rng = np.random.default_rng(5)
    args = [rng.standard_normal(shape), rng.standard_normal(shape[0]), np.array([1.3])]
    errors = check_layer(
        scalar_mix_forward, scalar_mix_backward, args, names=["layers", "w", "gamma"]
    )
    for name, err in errors.items():
        assert err < TOL, (name, err)


def test_scalar_mix_with_zero_weights_is_the_average():
    layers = np.random.default_rng(6).standard_normal((3, 2, 4))
    out, _ = scalar_mix_forward(layers, np.zeros(3), np.array([1.0]))
    np.testing.assert_allclose(out, layers.mean(axis=0), rtol=1e-13)
    with pytest.raises(MinilmError, match="needs w"):
        scalar_mix_forward(layers, np.zeros(2), np.array([1.0]))


def test_nll_sum_scores_every_pair_once():
    params, _ = tiny(1, 2)
    ids = np.random.default_rng(7).integers(0, 7, size=11)
    total, count = elmo.nll_sum(params, ids, T=4)
    assert count == 2 * 10
    whole, _ = elmo.loss_and_grads(params, {"inputs": ids[None]})
    one_window = elmo.nll_sum(params, ids, T=10)  # all 10 pairs in one window
    assert one_window[1] == count
    np.testing.assert_allclose(one_window[0] / count, whole, rtol=1e-12)
    assert abs(total - one_window[0]) > 1e-6  # windows of 4 lose context at their borders


def test_encode_reads_each_padded_sentence_from_its_own_end():
    """Padding after a sentence changes none of its words' vectors, in either direction."""
    params, _ = tiny(1, 2)
    cfg = elmo.Config(7, dim=3, layers=2, dtype="float64")
    ids = np.array([[1, 4, 2, 5, 0, 0], [3, 1, 4, 2, 6, 5]])
    pad = np.zeros_like(ids, dtype=bool)
    pad[0, 4:] = True
    padded = elmo.encode(params, cfg, ids, pad)
    alone = elmo.encode(params, cfg, ids[:1, :4], pad[:1, :4])
    layers = elmo.contextual_layers(params, ids[1:])
    for k in range(3):
        np.testing.assert_allclose(padded[k][0, :4], alone[k][0], rtol=1e-12, atol=1e-14)
        np.testing.assert_allclose(padded[k][1], layers[k, 0], rtol=1e-12, atol=1e-14)


def test_program_writes_a_run_with_perplexity_and_layers(tmp_path):
    import json
    import subprocess
    import sys

    corpus = tmp_path / "corpus"
    corpus.mkdir()
    rng = np.random.default_rng(8)
    words = "the cat dog sat ran on a mat log and".split()
    for split, n in (("train", 300), ("valid", 30), ("test", 30)):
        lines = [" ".join(rng.choice(words, size=rng.integers(3, 9))) for _ in range(n)]
        (corpus / f"{split}.txt").write_text("\n".join(lines) + "\n")
    out = tmp_path / "run"
    flags = "--epochs 1 --dim 8 --layers 2 --batch-size 8 --bptt 8 --threads 1".split()
    command = [sys.executable, "-m", "minilm.cli.train_elmo", "--corpus", str(corpus)]
    result = subprocess.run([*command, "--out", str(out), *flags], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    metrics = json.loads((out / "metrics.json").read_text())
    assert 1 < metrics["test_perplexity"] < 20  # 10 words + </s>, better than uniform-ish
    assert len(metrics["layer_anisotropy"]) == 3  # the token layer and 2 LSTM layers
    assert (out / "vectors.txt").exists()
    bad = subprocess.run(
        [*command, "--out", str(out), "--bptt", "1"], capture_output=True, text=True
    )
    assert bad.returncode == 2 and "Traceback" not in bad.stderr and "--bptt" in bad.stderr


def _mix_task(seed=7, n=12, L1=3, E=4):
    """Two words with two senses each; in layer 1 the senses are apart, elsewhere noise."""
    rng = np.random.default_rng(seed)
    words = np.array(["bank", "bat"] * (n // 2))
    senses = np.array([f"{w}-{i % 4 // 2}" for i, w in enumerate(words)])
    v = rng.standard_normal((n, L1, E))
    v[:, 1, 0] += np.where(np.char.endswith(senses, "1"), 3.0, -3.0)
    return v, words, senses


def test_learned_mix_gradients():
    from minilm.contextual import mix_loss_and_grads, unit

    v, words, senses = _mix_task()
    rng = np.random.default_rng(8)
    layers = unit(np.moveaxis(v, 1, 0))  # (L+1, n, E)
    word = (words == "bat").astype(np.int64)
    sense = np.char.endswith(senses, "1").astype(np.int64)
    batch = {
        "layers": layers,
        "centroids": rng.standard_normal((3, 2, 2, 4)),
        "word": word,
        "sense": sense,
    }
    params = {"w": rng.standard_normal(3), "g": np.array([0.7])}
    errors = check_loss(mix_loss_and_grads, params, batch)
    for name, err in errors.items():
        assert err < TOL, (name, err)


def test_learned_mix_weighs_the_layer_that_holds_the_senses():
    from minilm.contextual import learn_mix

    weights = learn_mix(*_mix_task())
    assert weights.shape == (3,) and abs(weights.sum() - 1) < 1e-12
    assert weights.argmax() == 1 and weights[1] > 0.5, weights
