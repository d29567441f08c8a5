"""The causal (GPT-style, next-word) transformer: its backward against finite differences, the
mask really hiding the future, exact held-out scoring in sliding windows, and the script."""

import functools
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from minilm.errors import MinilmError
from minilm.gradcheck import check_loss
from minilm.models import causal_lm, encoder
from minilm.models.ngram import next_word_pairs

# float64 central differences through LayerNorm, softmax attention and GELU: a correct backward
# scores ~1e-8 .. 1e-10 here; a missing term (e.g. a future key's gradient) scores ~1e-2 .. 1.
GRAD_TOL = 1e-6
SCRIPT = Path(__file__).resolve().parents[1] / "scripts" / "train_gpt.py"


def tiny(seed=0, N=3, T=5, V=9, layers=2, dropout=0.2, output="full", max_len=6):
    """A small float64 causal model with random (not init-scale) weights and a stream batch."""
    bounds = (0, 1, 3, 4, V) if output == "class" else ()  # 4 classes, two of one word
    cfg = encoder.Config(
        vocab_size=V,
        max_len=max_len,
        dim=8,
        n_layers=layers,
        n_heads=2,
        ffn=12,
        dropout=dropout,
        output=output,
        class_bounds=bounds,
        causal=True,
        dtype="float64",
    )
    rng = np.random.default_rng(seed)
    params = encoder.init_params(cfg, rng)
    for k in params:  # larger than the init so every term of every block matters
        params[k] = rng.standard_normal(params[k].shape) * 0.5
    stream = rng.integers(0, V, size=N * T + 1)
    stream[:3] = 3  # a word repeated: E's lookup and output gradients must sum every row
    inputs, targets = stream[:-1].reshape(N, T), stream[1:].reshape(N, T)
    masks = encoder.draw_dropout_masks(cfg, (N, T), rng) if dropout else None
    return cfg, params, {"inputs": inputs, "targets": targets}, masks


def assert_gradients_ok(cfg, params, batch, masks):
    loss_fn = functools.partial(causal_lm.loss_and_grads, cfg=cfg, masks=masks)
    errors = check_loss(loss_fn, params, batch)
    assert set(errors) == set(params)
    worst = max(errors, key=errors.get)
    assert errors[worst] < GRAD_TOL, (worst, errors[worst])


@pytest.mark.parametrize(
    "N,T,layers,dropout,output",
    [
        (3, 5, 2, 0.2, "full"),  # dropout on every site
        (2, 4, 1, 0.0, "class"),  # class-factored head
        (1, 5, 1, 0.0, "full"),  # batch 1
        (1, 1, 1, 0.2, "full"),  # T = 1 and batch 1
        (2, 1, 2, 0.0, "class"),  # T = 1
    ],
)
def test_causal_loss_gradients(N, T, layers, dropout, output):
    cfg, params, batch, masks = tiny(
        seed=N + T, N=N, T=T, layers=layers, dropout=dropout, output=output
    )
    assert_gradients_ok(cfg, params, batch, masks)


def test_causal_loss_is_the_mean_next_word_nll_of_causal_log_probs():
    cfg, params, batch, _ = tiny(seed=1, dropout=0.0, output="class")
    loss, _ = causal_lm.loss_and_grads(params, batch, cfg)
    lp = causal_lm.log_probs(params, cfg, batch["inputs"])  # (N, T, V)
    np.testing.assert_allclose(np.exp(lp).sum(axis=-1), 1.0, rtol=1e-12)  # a distribution
    n, t = np.indices(batch["targets"].shape)
    np.testing.assert_allclose(loss, -lp[n, t, batch["targets"]].mean(), rtol=1e-12)


def test_loss_at_init_is_ln_v():
    V = 50
    cfg = encoder.Config(vocab_size=V, dim=16, n_heads=2, ffn=32, dropout=0.0, causal=True)
    params = encoder.init_params(cfg, np.random.default_rng(0))
    ids = np.random.default_rng(1).integers(0, V, size=(4, 9))
    loss, _ = causal_lm.loss_and_grads(params, {"inputs": ids[:, :-1], "targets": ids[:, 1:]}, cfg)
    assert abs(loss - np.log(V)) < 0.1


def test_changing_token_t_plus_1_leaves_outputs_up_to_t_unchanged():
    cfg, params, batch, _ = tiny(seed=2, T=6, dropout=0.0)
    ids = batch["inputs"]
    before = causal_lm.log_probs(params, cfg, ids)
    for t in range(ids.shape[1] - 1):
        changed = ids.copy()
        changed[:, t + 1] = (changed[:, t + 1] + 1) % cfg.vocab_size
        after = causal_lm.log_probs(params, cfg, changed)
        np.testing.assert_array_equal(after[:, : t + 1], before[:, : t + 1])
        assert np.abs(after[:, t + 1] - before[:, t + 1]).max() > 1e-6  # position t+1 did move
    # the masked LM (no causal mask) does look ahead: the same change moves position 0
    bidirectional = encoder.Config(**{**vars(cfg), "causal": False})
    h0 = encoder.encode(params, bidirectional, ids, np.zeros(ids.shape, bool))[-1]
    changed = ids.copy()
    changed[:, 1] = (changed[:, 1] + 1) % cfg.vocab_size
    h1 = encoder.encode(params, bidirectional, changed, np.zeros(ids.shape, bool))[-1]
    assert np.abs(h1[:, 0] - h0[:, 0]).max() > 1e-6


@pytest.mark.parametrize(
    "n,max_len,stride", [(1, 4, 2), (4, 4, 1), (5, 4, 4), (17, 4, 3), (20, 8, 4), (9, 16, 8)]
)
def test_eval_windows_score_each_target_once_with_enough_context(n, max_len, stride):
    windows = causal_lm.eval_windows(n, max_len, stride)
    T = min(max_len, n)
    start, first = windows.T
    assert start[0] == 0 and first[0] == 0  # the first window scores all its positions
    assert start[-1] + T == n  # the last window ends at the last target
    scored = np.concatenate([np.arange(f, s + T) for s, f in windows])
    np.testing.assert_array_equal(scored, np.arange(n))  # every target exactly once, in order
    later = scored >= T  # a target after the first window sees >= T - stride earlier tokens
    ctx = scored - np.repeat(start, [s + T - f for s, f in windows])
    assert np.all(ctx[later] >= T - stride) and np.all(ctx < T)


def test_eval_windows_bad_arguments():
    for n, max_len, stride in [(0, 4, 2), (5, 4, 0), (5, 4, 5)]:
        with pytest.raises(MinilmError):
            causal_lm.eval_windows(n, max_len, stride)


def _split(rng, V, lengths):
    ids = rng.integers(3, V, size=sum(lengths))
    return ids, np.concatenate([[0], np.cumsum(lengths)])


def test_causal_nll_equals_the_full_context_computation_when_the_split_fits_one_window():
    cfg, params, _, _ = tiny(seed=3, max_len=12, output="class", dropout=0.0)
    ids, offsets = _split(np.random.default_rng(4), cfg.vocab_size, [3, 4, 2])
    eos = 2
    inputs, targets = next_word_pairs(ids, offsets, eos)
    nll = causal_lm.nll(params, cfg, inputs, targets, stride=5)
    assert nll.shape == (ids.size + 3,) == targets.shape  # every word and one </s> per sentence
    lp = causal_lm.log_probs(params, cfg, inputs[None])[0]  # (n, V), all in one window
    np.testing.assert_allclose(nll, -lp[np.arange(targets.size), targets], rtol=1e-12)


def test_causal_nll_in_windows_scores_each_target_with_its_window_context():
    cfg, params, _, _ = tiny(seed=5, max_len=6, dropout=0.0)
    ids, offsets = _split(np.random.default_rng(6), cfg.vocab_size, [5, 7, 4, 6])
    eos, stride = 2, 2
    inputs, targets = next_word_pairs(ids, offsets, eos)
    nll = causal_lm.nll(params, cfg, inputs, targets, stride=stride, batch_size=3)
    expected = np.full(targets.size, np.nan)
    for start, first in causal_lm.eval_windows(targets.size, cfg.max_len, stride):
        window = inputs[None, start : start + cfg.max_len]
        lp = causal_lm.log_probs(params, cfg, window)[0]  # one window at a time
        for t in range(first, start + cfg.max_len):
            assert np.isnan(expected[t])  # scored once
            expected[t] = -lp[t - start, targets[t]]
    np.testing.assert_allclose(nll, expected, rtol=1e-12)


def test_causal_functions_refuse_a_bidirectional_config():
    cfg, params, batch, _ = tiny(dropout=0.0)
    mlm_cfg = encoder.Config(**{**vars(cfg), "causal": False})
    with pytest.raises(MinilmError, match="causal"):
        causal_lm.loss_and_grads(params, batch, mlm_cfg)
    with pytest.raises(MinilmError, match="causal"):
        causal_lm.nll(params, mlm_cfg, np.arange(2, 7), np.arange(3, 8))


# ---------------------------------------------------------------------------------------------
# scripts/train_gpt.py
# ---------------------------------------------------------------------------------------------

TINY = [
    "--epochs",
    "2",
    "--dim",
    "16",
    "--heads",
    "2",
    "--ffn",
    "32",
    "--layers",
    "1",
    "--max-len",
    "8",
    "--batch-size",
    "8",
    "--warmup",
    "5",
    "--threads",
    "1",
]


def _corpus(tmp_path):
    from minilm.data import world

    corpus = tmp_path / "world"
    corpus.mkdir()
    w = world.generate_world(600)
    for split, lines in w.splits.items():
        (corpus / f"{split}.txt").write_text("\n".join(lines) + "\n")
    return corpus


def _run(corpus, out, *extra):
    cmd = [sys.executable, str(SCRIPT), "--corpus", str(corpus), "--out", str(out), *TINY]
    return subprocess.run([*cmd, *extra], capture_output=True, text=True)


@pytest.mark.slow
def test_script_end_to_end_deterministic_and_resumable(tmp_path):
    corpus = _corpus(tmp_path)
    result = _run(corpus, tmp_path / "a")
    assert result.returncode == 0, result.stderr
    out = tmp_path / "a"
    for name in ("vectors.txt", "vectors.bin", "model.npz", "metrics.json", "loss.png"):
        assert (out / name).exists(), name
    m = json.loads((out / "metrics.json").read_text())
    for key in (
        "valid_perplexity",
        "test_perplexity",
        "kn3_test_perplexity",
        "kn5_test_perplexity",
        "tokens_per_second",
        "train_cpu_seconds",
    ):
        assert key in m, key
    assert 1 < m["test_perplexity"] < m["vocab_size"]  # learned something, an exact perplexity
    assert "-> " + str(out) in result.stdout

    # same seed and threads: the same bytes (model.npz's config names its own --out: skipped)
    assert _run(corpus, tmp_path / "b").returncode == 0
    assert (out / "vectors.bin").read_bytes() == (tmp_path / "b" / "vectors.bin").read_bytes()
    a, b = np.load(out / "model.npz"), np.load(tmp_path / "b" / "model.npz")
    for key in a.files:
        if key != "config":
            assert a[key].tobytes() == b[key].tobytes(), key
    m_b = json.loads((tmp_path / "b" / "metrics.json").read_text())
    assert m_b["test_perplexity"] == m["test_perplexity"]

    # stop after one epoch's worth of steps, resume: the same model as the straight run
    steps = json.loads((out / "metrics.json").read_text())["steps_per_epoch"]
    half = _run(corpus, tmp_path / "c", "--stop-after", str(steps))
    assert half.returncode == 0, half.stderr
    resumed = _run(corpus, tmp_path / "c", "--resume")
    assert resumed.returncode == 0, resumed.stderr
    c = np.load(tmp_path / "c" / "model.npz")
    for key in a.files:
        if key.startswith("p/"):
            np.testing.assert_array_equal(a[key], c[key], err_msg=key)


def test_script_bad_input_is_one_line(tmp_path):
    for extra in (["--heads", "3"], ["--epochs", "0"], ["--corpus", str(tmp_path / "missing")]):
        cmd = [sys.executable, str(SCRIPT), "--out", str(tmp_path / "x"), *extra]
        result = subprocess.run(cmd, capture_output=True, text=True)
        assert result.returncode != 0
        assert "Traceback" not in result.stderr
        assert len(result.stderr.strip().splitlines()) == 1, result.stderr
