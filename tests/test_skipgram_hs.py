"""word2vec with hierarchical softmax (`--hs`): skip-gram and CBOW, alone and with negative
sampling; the model against the dense oracle, the batch wrapper and the training script."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from minilm.data.corpus import TokenStream
from minilm.data.huffman import huffman_tree
from minilm.data.word2vec_batches import (
    CbowWindows,
    HuffmanBatches,
    SkipgramPairs,
    SubwordBatches,
)
from minilm.errors import MinilmError
from minilm.gradcheck import check_loss, densify
from minilm.layers.primitives import kernels
from minilm.models import skipgram as sg
from tests.conftest import assert_one_line_error, run_script
from tests.test_skipgram import GRAD_TOL, WORDS, _add_ngrams, _cbow_batch, _skipgram_batch
from tests.test_skipgram_oracle import dense_reference

COUNTS = np.array([30, 12, 9, 5, 3, 2, 1])  # 7 words: paths of 2 to 4 nodes, sorted like a Vocab
TREE = huffman_tree(COUNTS)


def _with_paths(batch: dict) -> dict:
    points, codes, lengths = TREE.paths(batch["center"])
    return {**batch, "hs_points": points, "hs_codes": codes, "hs_lengths": lengths}


def _setup(kind: str, negative: bool, seed: int, N: int = 5, K: int = 3):
    """float64 params (every table non-zero, so every path is exercised) and a batch with
    repeated ids; without negative sampling the batch has no noise words at all."""
    cbow = kind.startswith("cbow")
    sub = kind.endswith("subwords")
    cfg = sg.Config(
        vocab_size=7,
        dim=4,
        cbow=cbow,
        negative=negative,
        hs=True,
        buckets=5 if sub else 0,
        minn=2,
        maxn=4,
        dtype="float64",
    )
    rng = np.random.default_rng(seed)
    params = {k: rng.standard_normal(v.shape) * 0.5 for k, v in sg.init_params(cfg, rng).items()}
    batch = _cbow_batch(rng, 7, N, 2, K) if cbow else _skipgram_batch(rng, 7, N, K)
    if sub:
        batch = _add_ngrams(batch, WORDS, cfg)
    if not negative:
        del batch["negatives"]
    return params, _with_paths(batch)


@pytest.mark.parametrize("negative", [False, True], ids=["hs", "hs+ns"])
@pytest.mark.parametrize("kind", ["skipgram", "cbow", "skipgram-subwords"])
def test_hs_gradients(kind, negative):
    params, batch = _setup(kind, negative, seed=1)
    assert ("W_out" in params) == negative and params["W_node"].shape == (6, 4)
    errors = check_loss(sg.loss_and_grads, params, batch)  # also: keys equal params'
    assert max(errors.values()) < GRAD_TOL, errors


@pytest.mark.parametrize("negative", [False, True], ids=["hs", "hs+ns"])
@pytest.mark.parametrize("kind", ["skipgram", "cbow", "skipgram-subwords"])
@pytest.mark.parametrize("update", ["exact", "word2vec"])
def test_model_equals_the_oracle_with_hs(kind, negative, update):
    params, batch = _setup(kind, negative, seed=2, N=12, K=4)
    loss, grads = sg.loss_and_grads(params, batch, cbow_update=update)
    ref_loss, ref_grads = dense_reference(params, batch, cbow_update=update)
    assert loss == pytest.approx(ref_loss, rel=1e-12)
    assert set(grads) == set(ref_grads) == set(params)
    for name, (rows, values) in grads.items():
        dense = densify((rows, values), params[name].shape)
        assert np.allclose(dense, ref_grads[name], rtol=1e-10, atol=1e-12), name


def test_hs_adds_to_negative_sampling():
    """Both on: the loss and every gradient are the sums of the two alone (as word2vec.c)."""
    params, batch = _setup("cbow", True, seed=3)
    ns_only = {k: v for k, v in params.items() if k != "W_node"}
    hs_only = {k: v for k, v in params.items() if k != "W_out"}
    both, g = sg.loss_and_grads(params, batch)
    ns, g_ns = sg.loss_and_grads(ns_only, batch)
    hs, g_hs = sg.loss_and_grads(hs_only, batch)
    assert both == pytest.approx(ns + hs, rel=1e-12)
    g, g_ns, g_hs = (
        {k: densify(v, params[k].shape) for k, v in x.items()} for x in (g, g_ns, g_hs)
    )
    assert np.allclose(g["W_in"], g_ns["W_in"] + g_hs["W_in"])
    assert np.array_equal(g["W_out"], g_ns["W_out"]) and np.array_equal(g["W_node"], g_hs["W_node"])


@pytest.mark.parametrize("kind", ["skipgram", "cbow"])
def test_initial_hs_loss_is_path_length_ln2(kind):
    """W_node = 0 (word2vec.c's syn1): every decision is 1/2, a centre costs lengths ln 2."""
    cfg = sg.Config(vocab_size=7, dim=4, cbow=kind == "cbow", negative=False, hs=True)
    params = sg.init_params(cfg, np.random.default_rng(0))
    assert set(params) == {"W_in", "W_node"} and not params["W_node"].any()
    rng = np.random.default_rng(4)
    batch = _cbow_batch(rng, 7, 6, 2, 1) if kind == "cbow" else _skipgram_batch(rng, 7, 6, 1)
    del batch["negatives"]
    batch = _with_paths(batch)
    loss, grads = sg.loss_and_grads(params, batch)
    assert loss == pytest.approx(batch["hs_lengths"].sum() * math.log(2), rel=1e-6)
    assert grads["W_node"][1].dtype == np.float32  # float32 training stays float32


def test_batch_of_one_pair_with_hs():
    cfg = sg.Config(vocab_size=7, dim=3, negative=False, hs=True, dtype="float64")
    rng = np.random.default_rng(5)
    params = {k: rng.standard_normal(v.shape) for k, v in sg.init_params(cfg, rng).items()}
    batch = _with_paths({"context": np.array([6]), "center": np.array([6])})  # longest path
    errors = check_loss(sg.loss_and_grads, params, batch)
    assert max(errors.values()) < GRAD_TOL, errors


def _word2vec_c_hs_moves(params: dict, batch: dict, alpha: float) -> dict[str, np.ndarray]:
    """word2vec.c's hierarchical-softmax step for every pair of a skip-gram batch, written
    plainly, each pair at the same (unchanged) parameters: the summed moves of each table.

    For a pair (context o, centre c): h = syn0[o]; for each node of c's path, f = h . syn1[p];
    a decision with |f| >= MAX_EXP (6) is skipped; g = (1 - code - σ(f)) alpha;
    neu1e += g syn1[p]; syn1[p] += g h. Then syn0[o] += neu1e.
    """
    W_in, W_node = params["W_in"], params["W_node"]
    moves = {"W_in": np.zeros_like(W_in), "W_node": np.zeros_like(W_node)}
    for n, o in enumerate(batch["context"]):  # hs_points[n]: the path of centre c_n
        h, neu1e = W_in[o], np.zeros(W_in.shape[1])
        for d in range(batch["hs_lengths"][n]):
            point, code = batch["hs_points"][n, d], batch["hs_codes"][n, d]
            f = float(h @ W_node[point])
            if abs(f) >= 6:
                continue
            g = (1 - code - 1 / (1 + math.exp(-f))) * alpha
            neu1e += g * W_node[point]
            moves["W_node"][point] += g * h
        moves["W_in"][o] += neu1e
    return moves


@pytest.mark.parametrize("fast", [False, True], ids=["plain", "fast"])
def test_hs_step_is_word2vec_c_with_its_max_exp_skip(fast):
    """A batch's SGD step is the sum of word2vec.c's per-pair HS steps, including its skip of
    decisions with |f| >= 6 (not clipped, not an exact-gradient update: a confidently wrong
    decision is left alone). Scores are spread over [-15, 15] so both kinds occur; many pairs
    share the root and the upper nodes (the fast primitive's matrix-product path)."""
    V, D, N, alpha = 7, 4, 300, 0.025
    rng = np.random.default_rng(6)
    cfg = sg.Config(vocab_size=V, dim=D, negative=False, hs=True, dtype="float64")
    params = {k: rng.standard_normal(v.shape) * 2.0 for k, v in sg.init_params(cfg, rng).items()}
    batch = _with_paths({"context": rng.integers(0, V, N), "center": rng.integers(0, V, N)})
    scores = np.einsum(
        "nd,nld->nl", params["W_in"][batch["context"]], params["W_node"][batch["hs_points"]]
    )
    real = np.arange(scores.shape[1]) < batch["hs_lengths"][:, None]
    skipped = (np.abs(scores) >= 6) & real
    assert skipped.any() and (~skipped & real).any()
    with kernels(fast=fast):
        _, grads = sg.loss_and_grads(params, batch)
    moves = _word2vec_c_hs_moves(params, batch, alpha)
    for name in ("W_in", "W_node"):
        ours = -alpha * densify(grads[name], params[name].shape)
        assert np.allclose(ours, moves[name], rtol=1e-10, atol=1e-13), name


def test_init_needs_an_output_layer():
    with pytest.raises(MinilmError, match="negative sampling or hierarchical softmax"):
        sg.init_params(sg.Config(vocab_size=5, negative=False), np.random.default_rng(0))


@pytest.mark.parametrize("source", ["skipgram", "cbow", "subwords"])
def test_huffman_batches_add_the_centres_paths(source):
    rng = np.random.default_rng(6)
    stream = TokenStream(rng.integers(0, 7, 400), np.arange(0, 401, 20))
    args = (stream, COUNTS, 3, 0.0, 32, 7)
    base = CbowWindows(*args, negative=2) if source == "cbow" else SkipgramPairs(*args)
    if source == "subwords":
        ids, mask = sg.ngram_buckets(WORDS, 2, 3, 11)
        base = SubwordBatches(base, ids, mask)
    wrapped = HuffmanBatches(base, TREE)
    assert wrapped.steps_per_epoch == base.steps_per_epoch
    n = 0
    for plain, batch in zip(base.epoch(1), wrapped.epoch(1), strict=True):
        points, codes, lengths = TREE.paths(plain["center"])
        assert np.array_equal(batch["hs_points"], points)
        assert np.array_equal(batch["hs_codes"], codes)
        assert np.array_equal(batch["hs_lengths"], lengths)
        assert all(np.array_equal(batch[k], v) for k, v in plain.items())  # the rest as it was
        # spot check against the tree's rows: the path of each centre, root first
        c = plain["center"][0]
        assert batch["hs_points"][0, 0] == 5 and np.array_equal(
            batch["hs_codes"][0, : lengths[0]], TREE.codes[c, : TREE.lengths[c]]
        )
        n += 1
    assert n == base.steps_per_epoch


def test_script_negative_zero_needs_hs(tmp_path, world):
    out = tmp_path / "r"
    result = run_script("train_skipgram.py", "--corpus", world, "--out", out, "--negative", "0")
    assert_one_line_error(result, "--negative", "--hs")


@pytest.mark.parametrize("extra", [["--negative", "0"], ["--cbow"]], ids=["sg-hs", "cbow-hs+ns"])
def test_script_hs_run_writes_vectors(tmp_path, extra):
    sentences = [
        "the king rules the land",
        "the queen rules the land",
        "a man walks to the town",
        "a woman walks to the town",
    ] * 30
    corpus = tmp_path / "tiny.txt"
    corpus.write_text("\n".join(sentences) + "\n", encoding="utf-8")
    out = tmp_path / "run"
    options = ["--epochs", "1", "--dim", "8", "--min-count", "1", "--hs", *extra]
    result = run_script("train_skipgram.py", "--corpus", corpus, "--out", out, *options)
    assert result.returncode == 0, result.stderr
    header = (out / "vectors.txt").read_text().splitlines()[0].split()
    V = int(header[0])
    assert int(header[1]) == 8 and V == len(set(" ".join(sentences).split()))
    with np.load(out / "model.npz", allow_pickle=False) as model:
        assert model["p/W_node"].shape == (V - 1, 8) and np.isfinite(model["p/W_node"]).all()
        assert np.abs(model["p/W_node"]).sum() > 0  # it trained
        assert ("p/W_out" in model.files) == ("--cbow" in extra)
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["train_tokens"] > 0
