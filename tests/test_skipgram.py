"""The word2vec reference (models/skipgram.py): word2vec.c's step, gradients, init, hashing, script.

The loss is also tested equal to a plain dense oracle in tests/test_skipgram_oracle.py.
"""

from __future__ import annotations

import json
import math
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from minilm.errors import MinilmError
from minilm.gradcheck import check_loss, densify
from minilm.models import skipgram as sg

REPO = Path(__file__).resolve().parents[1]
GRAD_TOL = 1e-7  # float64 central differences on a smooth loss score ~1e-9; a wrong sign ~1


def _params(cfg: sg.Config, seed: int = 0) -> dict[str, np.ndarray]:
    """float64 parameters with a *non-zero* W_out so that every gradient path is exercised."""
    rng = np.random.default_rng(seed)
    params = sg.init_params(cfg, rng)
    return {k: rng.standard_normal(v.shape) * 0.5 for k, v in params.items()}


def _skipgram_batch(rng, V: int, N: int, K: int) -> dict[str, np.ndarray]:
    batch = {
        "context": rng.integers(0, V, N),
        "center": rng.integers(0, V, N),
        "negatives": rng.integers(0, V, (N, K)),
    }
    # the classic scatter bug: word 1 is the positive of pair 0, three negatives of pair 1 and
    # the context of pair 2. Pair 0 also draws its own centre as noise: word2vec.c skips that.
    batch["center"][:2] = [1, 2]
    batch["negatives"][0, :2] = 1
    batch["negatives"][1, :3] = 1
    batch["context"][2] = 1
    return batch


def _cbow_batch(rng, V: int, N: int, W: int, K: int) -> dict[str, np.ndarray]:
    """A stretch of N + 2W words; example n is centred on word n + W (CbowWindows' layout)."""
    context = rng.integers(0, V, N + 2 * W)
    context[W] = 1  # centre 0 is word 1, which is also twice in its own window
    context[W - 1] = context[W + 1] = 1
    mask = rng.random((N, 2 * W + 1)) < 0.7
    mask[:, W] = False  # never the centre itself
    mask[0, [W - 1, W + 1]] = True
    mask[1] = False
    mask[1, W + 1] = True  # a window cut short by a sentence boundary: one real word
    mask[np.flatnonzero(~mask.any(axis=1)), W - 1] = True
    negatives = rng.integers(0, V, (N, K))
    negatives[0, :2] = 1  # pair 0 draws its own centre as noise: word2vec.c skips that
    return {
        "context": context,
        "context_mask": mask,
        "center": context[W : W + N],
        "negatives": negatives,
    }


def _add_ngrams(batch: dict, words: list[str], cfg: sg.Config) -> dict:
    ids, mask = sg.ngram_buckets(words, cfg.minn, cfg.maxn, cfg.buckets)
    return {**batch, "ngrams": ids[batch["context"]], "ngram_mask": mask[batch["context"]]}


WORDS = ["the", "cat", "cats", "dog", "dogs", "a", "catalogue"]


def test_skipgram_gradients_with_repeated_ids():
    cfg = sg.Config(vocab_size=7, dim=4, dtype="float64")
    batch = _skipgram_batch(np.random.default_rng(1), V=7, N=5, K=4)
    errors = check_loss(sg.loss_and_grads, _params(cfg), batch)
    assert max(errors.values()) < GRAD_TOL, errors


def test_cbow_gradients_with_padding_and_repeats():
    cfg = sg.Config(vocab_size=7, dim=4, cbow=True, dtype="float64")
    batch = _cbow_batch(np.random.default_rng(2), V=7, N=4, W=2, K=3)
    errors = check_loss(sg.loss_and_grads, _params(cfg), batch)
    assert max(errors.values()) < GRAD_TOL, errors


@pytest.mark.parametrize("cbow", [False, True])
def test_subword_gradients(cbow):
    # 5 buckets for dozens of n-grams: collisions make bucket rows repeat within one word too
    cfg = sg.Config(vocab_size=7, dim=3, cbow=cbow, buckets=5, minn=2, maxn=4, dtype="float64")
    rng = np.random.default_rng(3)
    batch = _cbow_batch(rng, 7, 4, 1, 3) if cbow else _skipgram_batch(rng, 7, 4, 3)
    batch = _add_ngrams(batch, WORDS, cfg)
    errors = check_loss(sg.loss_and_grads, _params(cfg), batch)
    assert set(errors) == {"W_in", "W_out", "W_ngram"}
    assert max(errors.values()) < GRAD_TOL, errors


def test_batch_of_one_pair():
    cfg = sg.Config(vocab_size=3, dim=2, dtype="float64")
    batch = {"context": np.array([2]), "center": np.array([0]), "negatives": np.array([[0, 0]])}
    errors = check_loss(sg.loss_and_grads, _params(cfg), batch)
    assert max(errors.values()) < GRAD_TOL, errors


@pytest.mark.parametrize("weighted", [False, True])
def test_cbow_batch_of_one_window(weighted):
    # one centre, window 1 either side, both neighbours the same word (and noise once)
    cfg = sg.Config(vocab_size=3, dim=2, cbow=True, dtype="float64")
    batch = {
        "context": np.array([2, 0, 2]),
        "center": np.array([0]),
        "negatives": np.array([[2, 1]]),
        "context_mask": np.array([[True, False, True]]),
    }
    if weighted:
        batch["noise_weight"] = 2.5
    errors = check_loss(sg.loss_and_grads, _params(cfg), batch)
    assert max(errors.values()) < GRAD_TOL, errors


def test_cbow_stretch_layout_is_checked():
    cfg = sg.Config(vocab_size=7, dim=4, cbow=True, dtype="float64")
    batch = _cbow_batch(np.random.default_rng(2), V=7, N=4, W=2, K=3)
    with pytest.raises(MinilmError, match="stretch of text"):
        sg.loss_and_grads(_params(cfg), {**batch, "context": batch["context"][:-1]})


@pytest.mark.parametrize("cbow", [False, True])
def test_initial_loss_is_k_plus_one_ln2_per_pair(cbow):
    # W_out = 0 at init, so every score is 0 and each of the K+1 logistic terms costs ln 2
    cfg = sg.Config(vocab_size=20, dim=8, cbow=cbow, dtype="float64")
    params = sg.init_params(cfg, np.random.default_rng(0))
    rng = np.random.default_rng(4)
    N, K = 32, 5
    batch = _cbow_batch(rng, 20, N, 2, K) if cbow else _skipgram_batch(rng, 20, N, K)
    batch["center"] = rng.integers(0, 10, N)
    batch["negatives"] = rng.integers(10, 20, (N, K))  # no noise word equals its centre
    loss, grads = sg.loss_and_grads(params, batch)
    assert loss / N == pytest.approx((K + 1) * math.log(2), rel=1e-12)
    # the input table gets no gradient until W_out has moved
    assert np.all(grads["W_in"][1] == 0)
    # a noise word equal to its centre is skipped (word2vec.c): one ln 2 fewer per such draw
    batch["negatives"][:3, :2] = batch["center"][:3, None]
    loss, _ = sg.loss_and_grads(params, batch)
    assert loss == pytest.approx((N * (K + 1) - 6) * math.log(2), rel=1e-12)
    # S = 8 noise words at weight K / S (shared noise): the same initial loss per pair
    batch["negatives"] = rng.integers(10, 20, (N, 8))
    loss, _ = sg.loss_and_grads(params, {**batch, "noise_weight": K / 8})
    assert loss / N == pytest.approx((K + 1) * math.log(2), rel=1e-12)


def _examples(batch: dict):
    """Each example of a batch as word2vec.c sees it: (input words, centre, noise words)."""
    N = len(batch["center"])
    if "context_mask" in batch:
        C = batch["context_mask"].shape[1]
        inputs = [batch["context"][n : n + C][batch["context_mask"][n]] for n in range(N)]
    else:
        inputs = [batch["context"][n : n + 1] for n in range(N)]
    return [(inputs[n], batch["center"][n], batch["negatives"][n]) for n in range(N)]


@pytest.mark.parametrize("cbow", [False, True])
def test_batch_is_the_sum_of_word2vec_c_steps(cbow):
    # -alpha * grads = the sum of sgns_step's moves, each example starting from the same
    # parameters (a batch evaluates all its examples there). Inside one example word2vec.c
    # reuses a noise row it has just moved; at alpha = 1e-7 that is a 1e-7 relative effect.
    cfg = sg.Config(vocab_size=6, dim=5, cbow=cbow, dtype="float64")
    rng = np.random.default_rng(7)
    batch = _cbow_batch(rng, 6, 30, 3, 5) if cbow else _skipgram_batch(rng, 6, 30, 5)
    params, alpha = _params(cfg), 1e-7
    loss, rows = sg.loss_and_grads(params, batch, cbow_update="word2vec")
    grads = {name: densify(g, params[name].shape) for name, g in rows.items()}
    moved = {name: np.zeros_like(p) for name, p in params.items()}
    losses = []
    for inputs, center, negatives in _examples(batch):
        W_in, W_out = params["W_in"].copy(), params["W_out"].copy()
        losses.append(sg.sgns_step(W_in, W_out, inputs, center, negatives, alpha))
        moved["W_in"] += W_in - params["W_in"]
        moved["W_out"] += W_out - params["W_out"]
    assert sum(losses) == pytest.approx(loss, rel=1e-6)
    for name in ("W_in", "W_out"):
        scale = np.abs(grads[name]).max()
        assert np.abs(moved[name] / -alpha - grads[name]).max() < 1e-5 * scale, name


def test_word2vec_c_steps_learn_a_pair():
    # repeated steps on one pair drive its loss down from (K+1) ln 2, as SGD should
    cfg = sg.Config(vocab_size=8, dim=6, dtype="float64")
    params = sg.init_params(cfg, np.random.default_rng(0))
    W_in, W_out = params["W_in"], params["W_out"]
    first = sg.sgns_step(W_in, W_out, np.array([2]), 5, np.array([1, 3, 5]), 0.5)
    assert first == pytest.approx(3 * math.log(2))  # the noise word 5 = the centre is skipped
    for _ in range(200):
        last = sg.sgns_step(W_in, W_out, np.array([2]), 5, np.array([1, 3, 5]), 0.5)
    assert last < 0.05


def test_init_matches_word2vec_c():
    cfg = sg.Config(vocab_size=500, dim=50)
    params = sg.init_params(cfg, np.random.default_rng(0))
    W_in = params["W_in"]
    assert W_in.dtype == np.float32 and np.all(params["W_out"] == 0)
    assert np.abs(W_in).max() <= 0.5 / 50
    # uniform on (-0.5/D, 0.5/D): variance (1/D)^2 / 12, within 3% for 25 000 draws
    assert W_in.var() == pytest.approx((1 / 50) ** 2 / 12, rel=0.03)


def test_cbow_update_is_validated():
    cfg = sg.Config(vocab_size=6, dim=5, cbow=True, dtype="float64")
    batch = _cbow_batch(np.random.default_rng(7), V=6, N=4, W=2, K=2)
    with pytest.raises(MinilmError, match="cbow_update"):
        sg.loss_and_grads(_params(cfg), batch, cbow_update="mean")


def test_overfits_a_tiny_batch():
    # plain SGD on the sparse rows; 8 pairs of 10 words with fixed negatives can be fit exactly
    cfg = sg.Config(vocab_size=10, dim=10, dtype="float64")
    params = sg.init_params(cfg, np.random.default_rng(0))
    rng = np.random.default_rng(6)
    batch = {
        "context": rng.integers(0, 5, 8),
        "center": rng.integers(0, 5, 8),
        "negatives": rng.integers(5, 10, (8, 3)),  # noise disjoint from the positives
    }
    first, _ = sg.loss_and_grads(params, batch)
    for _ in range(300):
        loss, grads = sg.loss_and_grads(params, batch)
        for name, (ids, rows) in grads.items():  # rows of repeated ids: each one added
            np.add.at(params[name], ids, -0.5 * rows)
    assert first / 8 == pytest.approx(4 * math.log(2))
    assert loss / 8 < 0.05, loss / 8


def test_fnv1a_matches_reference_values():
    # published FNV-1a 32-bit test vectors
    assert sg.fnv1a_32("") == 0x811C9DC5
    assert sg.fnv1a_32("a") == 0xE40C292C
    assert sg.fnv1a_32("foobar") == 0xBF9CF968
    # a non-ASCII byte enters sign-extended as in fastText (int8_t cast): "é" = C3 A9
    h = 0x811C9DC5
    for b in (0xC3, 0xA9):
        h = ((h ^ (0xFFFFFF00 | b)) * 0x01000193) & 0xFFFFFFFF
    assert sg.fnv1a_32("é") == h


def test_char_ngrams():
    assert sg.char_ngrams("where", 3, 3) == ["<wh", "whe", "her", "ere", "re>"]
    assert sg.char_ngrams("a", 3, 6) == ["<a>"]
    assert "<where>" in sg.char_ngrams("where", 3, 7)


def test_subword_vectors_for_known_and_unseen_words():
    cfg = sg.Config(vocab_size=len(WORDS), dim=4, buckets=50, dtype="float64")
    params = _params(cfg)
    ids, mask = sg.ngram_buckets(WORDS, cfg.minn, cfg.maxn, cfg.buckets)
    vectors = sg.input_vectors(params, ids, mask)
    # a known word = its own row + the n-grams an unseen word of that spelling would get
    for i, w in enumerate(WORDS):
        oov = sg.oov_vector(params, w, cfg.minn, cfg.maxn)
        assert np.allclose(vectors[i], params["W_in"][i] + oov)
    # a misspelling shares n-grams, hence is closer to the word than an unrelated spelling
    cos = lambda a, b: a @ b / np.linalg.norm(a) / np.linalg.norm(b)  # noqa: E731
    typo = sg.oov_vector(params, "catalogeu", cfg.minn, cfg.maxn)
    other = sg.oov_vector(params, "xyzzyq", cfg.minn, cfg.maxn)
    target = sg.oov_vector(params, "catalogue", cfg.minn, cfg.maxn)
    assert cos(typo, target) > cos(other, target)


def test_script_end_to_end(tmp_path):
    sentences = [
        "the king rules the land",
        "the queen rules the land",
        "a man walks to the town",
        "a woman walks to the town",
    ] * 30
    corpus = tmp_path / "tiny.txt"
    corpus.write_text("\n".join(sentences) + "\n", encoding="utf-8")
    out = tmp_path / "run"
    cmd = [
        sys.executable,
        str(REPO / "scripts" / "train_skipgram.py"),
        *("--corpus", str(corpus), "--out", str(out)),
        *"--epochs 1 --dim 8 --min-count 1 --seed 3 --subwords 3-4 --buckets 100".split(),
    ]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    for name in ("vectors.txt", "vectors.bin", "model.npz", "metrics.json", "loss.png"):
        assert (out / name).is_file(), name
    assert (out / "projector" / "vectors.tsv").is_file()
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["seed"] == 3 and metrics["train_tokens"] > 0
    header = (out / "vectors.txt").read_text().splitlines()[0].split()
    assert int(header[1]) == 8
    assert str(out) in proc.stdout.strip().splitlines()[-1]  # the one-line summary names --out
    # fastText's promise: neighbors.py answers for a word never seen, from its n-grams
    neighbors = str(REPO / "scripts" / "neighbors.py")
    look = [sys.executable, neighbors, str(out), "kingg", "--topn", "3"]
    proc = subprocess.run(look, capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert "unseen" in proc.stdout and len(proc.stdout.splitlines()) == 4


def test_training_defaults_take_the_values_given():
    # the script's flags default to None: those stay at the defaults, the given ones win
    cbow, sg_defaults = sg.training_defaults(True), sg.training_defaults(False)
    assert cbow["alpha"] == 0.05 and sg_defaults["alpha"] == 0.025  # word2vec.c's
    assert cbow["shuffle_span"] == 0 and sg_defaults["shuffle_span"] > 0
    given = {"batch_size": 64, "noise_group": None, "epochs": 3}
    got = sg.training_defaults(False, given)
    assert got == {**sg_defaults, "batch_size": 64}
