"""minilm/models/skipgram.py's loss equals a plain dense oracle kept here, piece by piece.

The oracle (`dense_reference`) is the loss as first written: every window gathered, K noise
words per example, dense gradients. The model trains with distinct words, runs of rows sharing
noise words, windowed views and gradients as rows; this file shows it computes the same.
"""

from __future__ import annotations

import numpy as np
import pytest

from minilm.errors import MinilmError
from minilm.gradcheck import check_loss, densify
from minilm.layers.core import sigmoid
from minilm.layers.hsoftmax import hsoftmax_backward, hsoftmax_forward
from minilm.models import skipgram as sg
from tests.test_skipgram import WORDS, _add_ngrams, _cbow_batch, _params, _skipgram_batch

GRAD_TOL = 1e-7  # float64 central differences, as in tests/test_skipgram.py


def dense_reference(
    params: dict[str, np.ndarray], batch: dict[str, np.ndarray], cbow_update: str = "exact"
) -> tuple[float, dict[str, np.ndarray]]:
    """The oracle: the summed loss of a batch and its dense gradients, written the plain way
    (every example's window gathered, its K noise words of its own: no distinct words, no
    runs of rows, no windowed views), independently of minilm/models/skipgram.py.

    Forward, N examples (skip-gram pairs or CBOW windows), K noise words each:
      (1) input vectors   e = W_in[x] (+ Σ_g Z[g] with subwords)            (N, C, D)
                          x (N, C): skip-gram C = 1, the context word; CBOW the window
                          context[n : n + 2W + 1] of the stretch, mask m (N, C) its words
      (2) hidden vector   h_n = Σ_c m_nc e_nc / |C_n|                        (N, D)
      (3) scores          s_nk = u_{t_nk} . h_n,  t_n = [centre, noise_1..K]  (N, K+1)
      (4) loss            L = Σ_n softplus(-s_n0) + w Σ_n Σ_k [t_nk != centre] softplus(s_nk)
      (3') hierarchical softmax (word2vec.c -hs 1; params "W_node", batch "hs_points",
           "hs_codes", "hs_lengths": the centre's Huffman path, minilm/layers/hsoftmax.py)
                          L += Σ_n -log p(centre_n | h_n),  its dh added to (3)'s
    Steps (3)-(4) run when params has "W_out" (K > 0), (3') when it has "W_node"; with both
    the losses and their dh add, as in word2vec.c.
    Backward mirrors it: dL/ds = -σ(-s) for the centre, w σ(s) for noise (softplus' = σ);
    dh = Σ_k ds_k u_k, du_k = ds_k h; de = m dh / |C| ("exact") or m dh ("word2vec", CBOW:
    word2vec.c's update, not a gradient; see the module docstring). Repeated rows are summed
    with np.add.at (never `dW[ids] += g`, which keeps one of the repeats).
    """
    if cbow_update not in ("exact", "word2vec"):
        raise MinilmError(f"cbow_update must be 'exact' or 'word2vec', got {cbow_update!r}")
    W_in, N = params["W_in"], batch["center"].size

    # (1) input words x (N, C) at positions pos of batch["context"], and their mask m
    cbow = "context_mask" in batch
    if cbow:
        m = batch["context_mask"]  # (N, C), C = 2W + 1
        C = m.shape[1]
        if batch["context"].shape != (N + C - 1,):
            raise MinilmError(
                f"a CBOW batch is a stretch of text: context (N + 2W,) = ({N + C - 1},), "
                f"got {batch['context'].shape}"
            )
        pos = np.arange(N)[:, None] + np.arange(C)  # (N, C) the window of example n
    else:
        m, pos = np.ones((N, 1), dtype=bool), np.arange(N)[:, None]  # (N, 1) the context word
    x = batch["context"][pos]  # (N, C)
    e = W_in[x]  # (N, C, D)
    if "W_ngram" in params:  # fastText: a word is its own row plus its n-grams' rows
        g_ids, g_mask = batch["ngrams"][pos], batch["ngram_mask"][pos]  # (N, C, G)
        e = e + (params["W_ngram"][g_ids] * g_mask[..., None]).sum(axis=2)
    # (2) h = the mean of the window's input vectors
    count = m.sum(axis=1, keepdims=True)  # (N, 1)
    if np.any(count == 0):
        raise MinilmError("a CBOW example has no valid context word; drop such examples")
    weight = m / count  # (N, C)
    h = (weight[..., None] * e).sum(axis=1)  # (N, D)
    loss, dh, grads = 0.0, np.zeros_like(h), {"W_in": np.zeros_like(W_in)}  # dh (N, D)
    if "W_out" in params:  # (3)-(4) negative sampling, and its backward
        loss, dh, grads["W_out"] = _dense_negative_sampling(params["W_out"], h, batch)
    if "W_node" in params:  # (3') hierarchical softmax along the centre's Huffman path
        hs_loss, cache = hsoftmax_forward(
            h,
            params["W_node"],
            batch["hs_points"],
            batch["hs_codes"],
            batch["hs_lengths"],
            max_score=sg.MAX_EXP,  # word2vec.c skips a decision with |score| >= 6
        )
        dh_hs, (node_ids, node_rows) = hsoftmax_backward(cache)
        loss, dh = loss + hs_loss, dh + dh_hs  # both on: the losses add, as in word2vec.c
        grads["W_node"] = np.zeros_like(params["W_node"])
        grads["W_node"][node_ids] = node_rows  # ids are distinct: already summed
    # backward (2): h = Σ_c weight_c e_c; word2vec.c gives each context word the whole dh
    slot = m.astype(h.dtype) if cbow and cbow_update == "word2vec" else weight  # (N, C)
    de = slot[..., None] * dh[:, None, :]  # (N, C, D)
    # backward (1): e = W_in[x] (+ Σ Z[g])
    np.add.at(grads["W_in"], x, de)
    if "W_ngram" in params:
        grads["W_ngram"] = np.zeros_like(params["W_ngram"])
        np.add.at(grads["W_ngram"], g_ids, de[:, :, None, :] * g_mask[..., None])
    return loss, grads


def _dense_negative_sampling(
    W_out: np.ndarray, h: np.ndarray, batch: dict[str, np.ndarray]
) -> tuple[float, np.ndarray, np.ndarray]:
    """Steps (3)-(4) of `loss_and_grads` and their backward: (loss, dh (N, D), dW_out (V, D))."""
    center, negatives = batch["center"], batch["negatives"]  # (N,), (N, K)
    N, K = negatives.shape
    # (3) scores of the centre (column 0) and of the noise words
    t = np.concatenate([center[:, None], negatives], axis=1)  # (N, K+1)
    u = W_out[t]  # (N, K+1, D)
    s = np.einsum("nkd,nd->nk", u, h)  # (N, K+1)
    # (4) logistic loss: softplus(-s) for the centre, w softplus(s) for the counted noise
    w = np.full((N, K + 1), batch.get("noise_weight", 1.0), dtype=s.dtype)
    w[:, 0] = 1.0
    w[:, 1:] *= negatives != center[:, None]  # word2vec.c skips noise equal to the centre
    sign = np.where(np.arange(K + 1) == 0, -1.0, 1.0)  # (K+1,) label 1 -> -s, label 0 -> s
    loss = float((w * np.logaddexp(0.0, sign * s)).sum(dtype=np.float64))

    # backward (4): d softplus(sign s)/ds = sign σ(sign s)
    ds = (w * sign * sigmoid(sign * s)).astype(h.dtype)  # (N, K+1)
    # backward (3): s = u . h
    dh = np.einsum("nk,nkd->nd", ds, u)  # (N, D)
    dW_out = np.zeros_like(W_out)
    np.add.at(dW_out, t, ds[..., None] * h[:, None, :])  # rows repeat: summed
    return loss, dh, dW_out


def _batch(kind: str, rng: np.random.Generator, N: int, K: int) -> tuple[sg.Config, dict]:
    """A float64 config and a batch with many repeated ids (7 words) for each kind of model."""
    cbow = kind.startswith("cbow")
    if kind.endswith("subwords"):
        cfg = sg.Config(vocab_size=7, dim=4, cbow=cbow, buckets=5, minn=2, maxn=4, dtype="float64")
    else:
        cfg = sg.Config(vocab_size=7, dim=4, cbow=cbow, dtype="float64")
    batch = _cbow_batch(rng, 7, N, 2, K) if cbow else _skipgram_batch(rng, 7, N, K)
    if kind.endswith("subwords"):
        batch = _add_ngrams(batch, WORDS, cfg)
    return cfg, batch


def _assert_same(params: dict, batch: dict, reference_batch: dict, update: str) -> None:
    loss, grads = sg.loss_and_grads(params, batch, cbow_update=update)
    ref_loss, ref_grads = dense_reference(params, reference_batch, cbow_update=update)
    assert loss == pytest.approx(ref_loss, rel=1e-12)
    assert set(grads) == set(ref_grads)
    for name, (rows, values) in grads.items():
        assert len(rows) == len(values), name
        assert np.allclose(
            densify((rows, values), params[name].shape), ref_grads[name], rtol=1e-10, atol=1e-12
        ), name


KINDS = ["skipgram", "cbow", "skipgram-subwords", "cbow-subwords"]


@pytest.mark.parametrize("update", ["exact", "word2vec"])
@pytest.mark.parametrize("kind", KINDS)
def test_per_pair_noise_equals_reference(kind, update):
    cfg, batch = _batch(kind, np.random.default_rng(5), N=12, K=4)
    _assert_same(_params(cfg), batch, batch, update)


def _per_pair(batch: dict, params: dict) -> dict:
    """The shared-noise batch written out for the reference: each example gets its group's S
    noise words at weight K/S. Group of an example = the group of its row of H: CBOW one row
    per example, skip-gram one row per distinct context word (sorted), rows cut in G runs."""
    negatives = np.atleast_2d(batch["negatives"])  # (G, S)
    G, N = len(negatives), len(batch["center"])
    if "context_mask" in batch:
        row = np.arange(N)
    else:
        row = np.unique(batch["context"], return_inverse=True)[1].reshape(-1)
    size = -(-(row.max() + 1) // G)  # rows per group
    return {**batch, "negatives": negatives[row // size]}


@pytest.mark.parametrize("groups", [1, 2, 3])  # 3 groups of 2 rows leave one padded row
@pytest.mark.parametrize("kind", KINDS)
def test_shared_noise_equals_reference(kind, groups):
    cfg, batch = _batch(kind, np.random.default_rng(6), N=5, K=3)
    # word 1 (a centre and a context word) is drawn twice in group 0
    negatives = np.array([[1, 4, 1, 0, 6], [2, 2, 5, 1, 3], [0, 3, 6, 6, 1]])[:groups]
    shared = {**batch, "negatives": negatives, "noise_weight": 3 / 5}
    params = _params(cfg)
    for update in ("exact", "word2vec"):
        _assert_same(params, shared, _per_pair(shared, params), update)
    errors = check_loss(sg.loss_and_grads, params, shared)  # and it is a gradient
    assert max(errors.values()) < GRAD_TOL, errors


def test_shared_noise_one_group_as_a_vector():
    cfg = sg.Config(vocab_size=3, dim=2, dtype="float64")
    batch = {
        "context": np.array([2]),
        "center": np.array([0]),
        "negatives": np.array([0, 1]),
        "noise_weight": 2.5,
    }
    _assert_same(_params(cfg), batch, {**batch, "negatives": np.array([[0, 1]])}, "exact")


def test_shared_noise_is_unbiased():
    # E over the draws of the shared estimator = K E_z[softplus(u_z . h)] per pair (z != centre),
    # which is also what K noise words of one's own give: check the mean of 4000 draws, 5 sigma
    cfg = sg.Config(vocab_size=6, dim=3, dtype="float64")
    params, rng = _params(cfg), np.random.default_rng(6)
    K, S = 5, 3
    p = np.array([0.3, 0.25, 0.2, 0.1, 0.1, 0.05])
    batch = {"context": np.array([0, 1, 2, 2]), "center": np.array([1, 1, 3, 5])}
    h, U = params["W_in"][batch["context"]], params["W_out"]
    exact = np.logaddexp(0, -np.einsum("nd,nd->n", U[batch["center"]], h)).sum()
    noise_terms = np.logaddexp(0, h @ U.T) * (np.arange(6) != batch["center"][:, None])  # (N, V)
    exact += K * (noise_terms @ p).sum()
    draws = [
        sg.loss_and_grads(
            params, {**batch, "negatives": rng.choice(6, S, p=p), "noise_weight": K / S}
        )[0]
        for _ in range(4000)
    ]
    assert abs(np.mean(draws) - exact) < 5 * np.std(draws) / np.sqrt(len(draws))


def test_cbow_stretch_layout_is_checked():
    cfg, batch = _batch("cbow", np.random.default_rng(2), N=4, K=3)
    with pytest.raises(MinilmError, match="stretch of text"):
        sg.loss_and_grads(_params(cfg), {**batch, "context": batch["context"][:-1]})


def test_float32_stays_float32():
    # no silent float64 upcast in the training dtype (it would double the memory traffic)
    params = sg.init_params(sg.Config(vocab_size=20, dim=8), np.random.default_rng(0))
    params["W_out"] += 0.1
    rng = np.random.default_rng(8)
    for b in (_skipgram_batch(rng, 20, 16, 3), _cbow_batch(rng, 20, 16, 2, 3)):
        for mode in ("exact", "word2vec"):
            _, grads = sg.loss_and_grads(params, b, cbow_update=mode)
            assert all(g.dtype == np.float32 for _, g in grads.values()), mode
            _, grads = sg.loss_and_grads(
                params,
                {**b, "negatives": b["negatives"][:2], "noise_weight": 1.5},
                cbow_update=mode,
            )
            assert all(g.dtype == np.float32 for _, g in grads.values()), mode
