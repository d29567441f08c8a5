"""Tiny transformer encoder: the hand-written backward through every block, the tied embedding,
the contrastive loss, and the properties a learner relies on (loss at init, overfitting,
padding invariance of the contextual vectors)."""

import functools

import numpy as np
import pytest

from minilm import contextual, evaluate
from minilm.data import sentences
from minilm.data.corpus import TokenStream
from minilm.errors import MinilmError
from minilm.gradcheck import check_loss, numerical_gradient, rel_error
from minilm.layers import losses
from minilm.layers.losses import softmax_cross_entropy
from minilm.models import contrastive, encoder, masked_lm
from minilm.optim import AdamW

# float64 central differences through LayerNorm, softmax attention and GELU: a correct backward
# scores ~1e-8 .. 1e-10 here; a missing term scores ~1e-2 .. 1.
GRAD_TOL = 1e-6
PAD = 0


def tiny(seed=0, N=3, T=5, V=9, layers=2, positions="learned", dropout=0.2, output="full"):
    """A small float64 model with random (not init-scale) weights, padding, masking, dropout."""
    bounds = (0, 1, 3, 4, V) if output == "class" else ()  # 4 classes, two of one word
    cfg = encoder.Config(
        vocab_size=V,
        max_len=6,
        dim=8,
        n_layers=layers,
        n_heads=2,
        ffn=12,
        dropout=dropout,
        positions=positions,
        output=output,
        class_bounds=bounds,
        dtype="float64",
    )
    rng = np.random.default_rng(seed)
    params = encoder.init_params(cfg, rng)
    for k in params:  # larger than the init so every term of every block matters
        params[k] = rng.standard_normal(params[k].shape) * 0.5
    lengths = np.array([T, max(1, T - 2), max(1, T - 3)])[:N]
    pad_mask = np.arange(T)[None, :] >= lengths[:, None]  # (N, T) rows of different lengths
    targets = np.where(pad_mask, PAD, rng.integers(1, V, size=(N, T)))
    targets[0, :2] = 3  # a word repeated: E's lookup gradient must sum both rows
    loss_mask = ~pad_mask & (rng.random((N, T)) < 0.5)
    loss_mask[np.arange(N), 0] = True  # every row predicts something
    inputs = np.where(loss_mask, V - 1, targets)  # V-1 plays <mask>
    batch = {"inputs": inputs, "targets": targets, "pad_mask": pad_mask, "loss_mask": loss_mask}
    masks = encoder.draw_dropout_masks(cfg, (N, T), rng) if dropout else None
    return cfg, params, batch, masks


def mlm(cfg, masks):
    return functools.partial(masked_lm.loss_and_grads, cfg=cfg, masks=masks)


def assert_gradients_ok(loss_fn, params, batch):
    errors = check_loss(loss_fn, params, batch)
    assert set(errors) == set(params)
    worst = max(errors, key=errors.get)
    assert errors[worst] < GRAD_TOL, (worst, errors[worst])


def test_parameter_names():
    cfg, params, _, _ = tiny()
    assert {"tok_emb", "pos_emb", "ln_f.gamma", "ln_f.beta", "out_bias"} <= set(params)
    assert params["blocks.1.attn.W_qkv"].shape == (8, 24)
    assert params["blocks.0.ffn.W_1"].shape == (8, 12)
    assert "pos_emb" not in encoder.init_params(
        encoder.Config(vocab_size=5, positions="sinusoidal"), np.random.default_rng(0)
    )


def test_full_model_gradients_with_padding_masking_and_dropout():
    cfg, params, batch, masks = tiny()
    assert batch["pad_mask"].any() and masks is not None
    assert not masks["emb"].all()  # some units really are dropped
    assert_gradients_ok(mlm(cfg, masks), params, batch)


def test_gradients_sinusoidal_one_layer():
    cfg, params, batch, masks = tiny(seed=1, layers=1, positions="sinusoidal")
    assert_gradients_ok(mlm(cfg, masks), params, batch)


def test_gradients_single_token_single_sentence():
    cfg, params, batch, masks = tiny(seed=2, N=1, T=1, layers=1)  # T = 1 and N = 1
    assert batch["loss_mask"].sum() == 1
    assert_gradients_ok(mlm(cfg, masks), params, batch)


def test_gradients_without_dropout():
    cfg, params, batch, _ = tiny(seed=3, layers=1, dropout=0.0)
    assert_gradients_ok(mlm(cfg, None), params, batch)


def test_tied_embedding_gets_both_contributions():
    """E is looked up at the bottom and projected onto at the top; grads["tok_emb"] must be the
    sum of both paths, each checked on its own with E split into two independent copies."""
    cfg, params, batch, masks = tiny(seed=4)
    _, grads = masked_lm.loss_and_grads(params, batch, cfg, masks)
    E = params["tok_emb"]
    E_in, E_out = E.copy(), E.copy()

    def split_loss():  # the same model, with the lookup reading E_in and the output E_out
        h, _, _ = encoder.encoder_forward(
            {**params, "tok_emb": E_in}, cfg, batch["inputs"], batch["pad_mask"], masks
        )
        logits = h[batch["loss_mask"]] @ E_out.T + params["out_bias"]
        return softmax_cross_entropy(logits, batch["targets"][batch["loss_mask"]])[0]

    d_lookup = numerical_gradient(split_loss, E_in)
    d_output = numerical_gradient(split_loss, E_out)
    assert np.abs(d_lookup).max() > 1e-3 and np.abs(d_output).max() > 1e-3  # both paths matter
    assert rel_error(grads["tok_emb"], d_lookup + d_output) < GRAD_TOL
    assert rel_error(grads["tok_emb"], d_output) > 1e-2  # dropping either path is caught
    assert rel_error(grads["tok_emb"], d_lookup) > 1e-2


@pytest.mark.parametrize("symmetric", [True, False])
@pytest.mark.parametrize("temperature", [0.05, 1.0])
def test_info_nce_gradients(symmetric, temperature):
    rng = np.random.default_rng(5)
    a, b = rng.standard_normal((2, 4, 6))
    loss, da, db = losses.info_nce(a, b, temperature, symmetric)
    assert np.isfinite(loss)
    num_a = numerical_gradient(lambda: losses.info_nce(a, b, temperature, symmetric)[0], a)
    num_b = numerical_gradient(lambda: losses.info_nce(a, b, temperature, symmetric)[0], b)
    assert rel_error(da, num_a) < GRAD_TOL  # tolerance: float64 central differences
    assert rel_error(db, num_b) < GRAD_TOL


def test_info_nce_values():
    rng = np.random.default_rng(6)
    a = rng.standard_normal((5, 8))
    # identical pairs with well-separated rows: each positive wins, loss near 0
    assert losses.info_nce(a, 3 * a, 0.05)[0] < 1e-3  # cosine ignores the scale
    # all pairs equally similar: loss = ln N in both directions
    same = np.ones((5, 8))
    assert abs(losses.info_nce(same, same, 0.05)[0] - np.log(5)) < 1e-9
    # one direction differs from the symmetric loss in general
    b = rng.standard_normal((5, 8))
    assert losses.info_nce(a, b, 0.5, True)[0] != losses.info_nce(a, b, 0.5, False)[0]


def test_contrastive_model_gradients():
    cfg, params, _, _ = tiny(seed=7, layers=1)
    rng = np.random.default_rng(7)
    pad_mask = np.array([[0, 0, 0, 1], [0, 0, 1, 1], [0, 0, 0, 0], [0, 1, 1, 1]], dtype=bool)
    inputs = np.where(pad_mask, PAD, rng.integers(1, 9, size=(4, 4)))
    batch = {"inputs": inputs, "pad_mask": pad_mask}
    masks = encoder.draw_dropout_masks(cfg, (4, 4), rng)
    loss_fn = functools.partial(contrastive.loss_and_grads, cfg=cfg, temperature=0.1, masks=masks)
    errors = check_loss(loss_fn, params, batch)
    errors.pop("out_bias")  # unused by this loss: its gradient is exactly 0, numerically too
    assert max(errors.values()) < GRAD_TOL, errors


def test_loss_at_init_is_ln_v():
    V = 500
    cfg = encoder.Config(vocab_size=V, dim=32, n_heads=4, ffn=64, dropout=0.0)
    rng = np.random.default_rng(8)
    params = encoder.init_params(cfg, rng)
    ids = rng.integers(1, V, size=(16, 12))
    loss_mask = rng.random((16, 12)) < 0.15
    pad_mask = np.zeros_like(ids, dtype=bool)
    batch = {"inputs": ids, "targets": ids, "pad_mask": pad_mask, "loss_mask": loss_mask}
    loss, grads = masked_lm.loss_and_grads(params, batch, cfg)
    assert abs(loss - np.log(V)) < 0.02 * np.log(V)  # within 2% of ln V
    assert grads["blocks.0.attn.W_qkv"].dtype == np.float32  # dtype follows the params


def test_overfits_one_tiny_batch():
    cfg, params, batch, _ = tiny(seed=9, dropout=0.0)
    params = encoder.init_params(cfg, np.random.default_rng(9))
    opt = AdamW(lr=5e-3, weight_decay=0.0)
    first = None
    for _ in range(300):
        loss, grads = masked_lm.loss_and_grads(params, batch, cfg)
        first = loss if first is None else first
        opt.step(params, grads)
    assert first > 1.5 and loss < 0.05, (first, loss)


def test_dropout_needs_a_seed_or_masks_and_seeds_are_deterministic():
    cfg, params, batch, _ = tiny(seed=10)
    with pytest.raises(MinilmError, match="dropout_seed"):
        masked_lm.loss_and_grads(params, batch, cfg)
    seeded = {**batch, "dropout_seed": np.array([1, 0, 3])}
    l1, _ = masked_lm.loss_and_grads(params, seeded, cfg)
    l2, _ = masked_lm.loss_and_grads(params, seeded, cfg)
    l3, _ = masked_lm.loss_and_grads(params, {**seeded, "dropout_seed": np.array([1, 0, 4])}, cfg)
    assert l1 == l2 and l1 != l3


def test_encode_shapes_and_padding_invariance():
    cfg, params, batch, _ = tiny(seed=11, N=3, T=5)
    ids, pad_mask = batch["inputs"], batch["pad_mask"]
    states = encoder.encode(params, cfg, ids, pad_mask)
    assert len(states) == cfg.n_layers + 1
    assert all(s.shape == (3, 5, 8) for s in states)
    # one more padded column changes nothing at the valid positions, in any layer
    ids2 = np.concatenate([ids, np.full((3, 1), PAD)], axis=1)
    pad2 = np.concatenate([pad_mask, np.ones((3, 1), dtype=bool)], axis=1)
    states2 = encoder.encode(params, cfg, ids2, pad2)
    valid = ~pad_mask
    for s, s2 in zip(states, states2, strict=True):
        np.testing.assert_allclose(s2[:, :5][valid], s[valid], rtol=0, atol=1e-12)
    # what sits in the padded slots does not matter either
    ids3 = np.where(pad_mask, 5, ids)
    np.testing.assert_allclose(
        encoder.encode(params, cfg, ids3, pad_mask)[-1][valid],
        states[-1][valid],
        rtol=0,
        atol=1e-12,
    )
    # a sentence alone equals the same sentence inside a padded batch
    n = int(valid[2].sum())
    alone = encoder.encode(params, cfg, ids[2:3, :n], pad_mask[2:3, :n])[-1]
    np.testing.assert_allclose(alone[0], states[-1][2, :n], rtol=0, atol=1e-12)
    vecs = contrastive.sentence_vectors(params, cfg, ids, pad_mask)
    np.testing.assert_allclose(vecs[2], alone[0].mean(axis=0), rtol=0, atol=1e-12)


def test_too_long_sequences_are_refused():
    cfg, params, _, _ = tiny()
    with pytest.raises(MinilmError, match="max_len"):
        encoder.encode(params, cfg, np.ones((1, 7), dtype=np.int64), np.zeros((1, 7), dtype=bool))


def test_pad_sentences_and_pair_batches():
    stream = TokenStream.from_sentences([[1, 2, 3], [4], [5, 6]])
    ids, pad = sentences.pad_sentences(stream, np.array([1, 0]), pad_id=0, max_len=2)
    np.testing.assert_array_equal(ids, [[4, 0], [1, 2]])  # cut to max_len
    np.testing.assert_array_equal(pad, [[False, True], [False, False]])
    a = TokenStream.from_sentences([[1, 2], [3], [4, 5, 6], [7]])
    b = TokenStream.from_sentences([[11], [13, 13], [14], [17, 17, 17]])
    source = sentences.PairBatches(a, b, batch_size=2, seed=0, pad_id=0, max_len=8)
    batches = list(source.epoch(0))
    assert len(batches) == source.steps_per_epoch == 2
    seen = set()
    for batch in batches:
        x = batch["inputs"]
        assert x.shape[0] == 4
        for i in range(2):  # row i's partner is row i + 2: ids differ by exactly 10
            assert x[i + 2, 0] == x[i, 0] + 10
            seen.add(int(x[i, 0]))
    assert seen == {1, 3, 4, 7}
    np.testing.assert_array_equal(batches[0]["inputs"], next(source.epoch(0))["inputs"])
    wrapped = sentences.DropoutSeeds(source, seed=5)
    np.testing.assert_array_equal(list(wrapped.epoch(3))[1]["dropout_seed"], [5, 3, 1])


def test_retrieval_recall():
    rng = np.random.default_rng(12)
    a = rng.standard_normal((20, 16))
    assert evaluate.retrieval_recall_at_1(a, a + 0.01 * rng.standard_normal((20, 16))) == 1.0
    assert evaluate.retrieval_recall_at_1(a, np.roll(a, 1, axis=0)) == 0.0


@pytest.mark.slow
def test_script_end_to_end(tmp_path):
    """The script on a tiny generated world: every promised file and metric, both tokenizers."""
    import json
    import subprocess
    import sys
    from pathlib import Path

    from minilm.data import world

    corpus = tmp_path / "world"
    corpus.mkdir()
    w = world.generate_world(1500)
    for split, lines in w.splits.items():
        (corpus / f"{split}.txt").write_text("\n".join(lines) + "\n")
    (corpus / "senses.tsv").write_text(world.senses_tsv(w.senses))
    (corpus / "paraphrases.tsv").write_text(world.paraphrases_tsv(w.paraphrases))
    (corpus / "categories.tsv").write_text(world.categories_tsv())
    script = Path(__file__).resolve().parents[1] / "scripts" / "train_transformer.py"
    for extra in (["--contrastive", "--contrastive-batch-size", "8"], ["--tokenizer", "bpe"]):
        out = tmp_path / extra[-1]
        opts = ["--epochs", "1", "--dim", "16", "--ffn", "32", "--contrastive-epochs", "1"]
        cmd = [sys.executable, str(script), "--corpus", str(corpus), "--out", str(out), *opts]
        subprocess.run([*cmd, *extra], check=True, capture_output=True, text=True)
        files = ("vectors.txt", "vectors.bin", "contextual_vectors.txt", "model.npz")
        for name in (*files, "metrics.json", "loss.png", "projector/vectors.tsv"):
            assert (out / name).exists(), name
        m = json.loads((out / "metrics.json").read_text())
        keys = ("mlm_accuracy", "unigram_accuracy", "sense_accuracy", "anisotropy")
        keys += ("self_similarity", "retrieval_recall_at_1", "train_seconds")
        for key in (*keys, "vocab_size", "tokens_per_second"):
            assert key in m, key
        assert len(m["anisotropy"]) == 3  # embeddings + 2 blocks
        assert m["sense_representation"] in m["sense_selection"]["candidates"]
        assert m["sense_selection"]["split"] == "valid"  # chosen on valid, never on test
    assert (
        "after"
        in json.loads((tmp_path / "8" / "metrics.json").read_text())["retrieval_recall_at_1"]
    )
    assert (tmp_path / "8" / "sentence_model.npz").exists()


def test_sense_centroid_accuracy_and_candidates():
    """The sense evaluation (minilm/contextual.py): a candidate whose vectors carry the sense
    scores 1, one that carries only a nuisance (e.g. position) scores chance; the layer mean is
    a candidate."""
    rng = np.random.default_rng(13)
    n, D = 200, 6
    sense = np.where(rng.random(n) < 0.5, "a", "b")
    nuisance = rng.standard_normal((n, 1))
    good = np.where(sense[:, None] == "a", 1.0, -1.0) * np.eye(D)[0] + 0.1 * rng.standard_normal(
        (n, D)
    )  # sense along axis 0
    bad = nuisance * np.eye(D)[1] + 5.0  # nothing about the sense
    v = np.stack([good, bad], axis=1)  # (n, K=2, D)
    acc = contextual.centroid_accuracy(v[:100], sense[:100], v[100:], sense[100:])
    assert acc[0] == 1.0 and abs(acc[1] - 0.5) < 0.2  # 100 test points: chance within 0.2
    names, cand = contextual.sense_candidates(rng.standard_normal((4, 3, D)))  # L = 2
    assert names == ["layer 0", "layer 1", "layer 2", "mean of layers"] and cand.shape == (4, 4, D)


def test_sentence_held_out_tells_recall_from_sense():
    """Vectors that only recall their sentence pass the plain centroid test when the test
    sentences were seen in training (each is part of its own sense's centroid), but fall to
    chance once their sentence is left out of the centroids; vectors that carry the sense don't."""
    rng = np.random.default_rng(5)
    n_sent, D = 40, 400  # 20 sentences per sense; random sentence vectors are ~orthogonal
    sentence_vec = rng.standard_normal((n_sent, D)) / np.sqrt(D)  # (S, D) unit-ish
    sentence_sense = np.array(["a", "b"] * (n_sent // 2))
    t_fit, t_test = np.repeat(np.arange(n_sent), 10), np.repeat(np.arange(n_sent), 2)
    texts = np.array([f"sentence {i}" for i in range(n_sent)])
    sense_dir = np.where(sentence_sense[:, None] == "a", 1.0, -1.0) * np.eye(D)[0]  # (S, D)
    for with_sense in (False, True):
        base = sentence_vec + (2.0 * sense_dir if with_sense else 0.0)
        v_fit = base[t_fit] + 0.01 * rng.standard_normal((t_fit.size, D))  # (n_fit, D)
        v_test = base[t_test] + 0.01 * rng.standard_normal((t_test.size, D))  # (n_test, D)
        s_fit, s_test = sentence_sense[t_fit], sentence_sense[t_test]
        plain = contextual.centroid_accuracy(v_fit[:, None], s_fit, v_test[:, None], s_test)[0]
        seen, held = contextual.sentence_held_out(
            v_fit, s_fit, texts[t_fit], v_test, s_test, texts[t_test]
        )
        assert seen == 1.0 and plain == 1.0
        if with_sense:
            assert held == 1.0
        else:  # 40 coin flips: chance is 0.5, and 0.8 is > 3.5 standard deviations above it
            assert held < 0.8, held
    unseen = contextual.sentence_held_out(
        v_fit, s_fit, texts[t_fit], v_test[:2], s_test[:2], np.array(["new", "new"])
    )
    assert unseen == (0.0, 1.0)  # nothing to leave out: all centroids, and the sense is there


@pytest.mark.parametrize("dropout", [0.0, 0.2])
def test_encoder_on_selected_rows_equals_the_full_encoder_at_those_rows(dropout):
    # The loss runs the last block's position-wise tail only on masked rows: it must not change
    # what those rows compute, with or without dropout.
    cfg, params, batch, masks = tiny(seed=4, dropout=dropout)
    rows = np.flatnonzero(batch["loss_mask"])
    full, _, _ = encoder.encoder_forward(params, cfg, batch["inputs"], batch["pad_mask"], masks)
    some, _, _ = encoder.encoder_forward(
        params, cfg, batch["inputs"], batch["pad_mask"], masks, rows
    )
    D = full.shape[-1]
    np.testing.assert_allclose(some.reshape(-1, D), full.reshape(-1, D)[rows], rtol=1e-12)


@pytest.mark.parametrize("N,T", [(3, 5), (1, 1)])
def test_class_output_gradients(N, T):
    cfg, params, batch, masks = tiny(seed=6, N=N, T=T, output="class")
    assert {"out_class.W", "out_class.b"} <= set(params)
    assert_gradients_ok(mlm(cfg, masks), params, batch)


def test_class_output_nll_is_exact_and_matches_the_loss():
    cfg, params, batch, _ = tiny(seed=7, output="class", dropout=0.0)
    loss, _ = masked_lm.loss_and_grads(params, batch, cfg)
    nll = masked_lm.nll(params, cfg, batch)
    assert nll.size == batch["loss_mask"].sum()
    assert loss == pytest.approx(nll.mean(), rel=1e-12)
    rows = np.flatnonzero(batch["loss_mask"])
    hm, _, _ = encoder.encoder_forward(params, cfg, batch["inputs"], batch["pad_mask"], rows=rows)
    lp = masked_lm.log_probs(params, cfg, hm)  # (M, V)
    np.testing.assert_allclose(np.exp(lp).sum(axis=1), 1.0, atol=1e-13)
    target = batch["targets"].reshape(-1)[rows]
    np.testing.assert_allclose(nll, -lp[np.arange(rows.size), target], rtol=1e-12)
    # the full head's nll is its cross-entropy too
    cfg, params, batch, _ = tiny(seed=7, dropout=0.0)
    loss, _ = masked_lm.loss_and_grads(params, batch, cfg)
    assert loss == pytest.approx(masked_lm.nll(params, cfg, batch).mean(), rel=1e-12)


def test_sublayer_pairs_gradients_and_backward_twice():
    """A block's two sublayer pairs alone, the rows kept between them (as the encoder's last
    block does for a masked LM), against central differences; each backward run twice."""
    cfg, params, batch, masks = tiny(seed=8)
    N, T = batch["inputs"].shape
    flat = {k: m.reshape(N * T, cfg.dim) for k, m in masks.items()}
    x = np.random.default_rng(9).standard_normal((N * T, cfg.dim))
    rows = np.array([0, 4, 7])
    dout = np.random.default_rng(10).standard_normal((rows.size, cfg.dim))
    p = "blocks.1."

    def forward():
        a, a_cache = encoder.attention_sublayer_forward(
            x, params, p, cfg, batch["pad_mask"], flat[p + "attn"]
        )
        out, f_cache = encoder.ffn_sublayer_forward(a[rows], params, p, cfg, flat[p + "ffn"][rows])
        return out, a_cache, f_cache

    def f():
        return float(np.sum(forward()[0] * dout))

    _, a_cache, f_cache = forward()
    da, f_grads = encoder.ffn_sublayer_backward(dout, f_cache)
    da2, _ = encoder.ffn_sublayer_backward(dout, f_cache)
    np.testing.assert_array_equal(da, da2)
    da_all = np.zeros((N * T, cfg.dim))
    da_all[rows] = da
    dx, a_grads = encoder.attention_sublayer_backward(da_all, a_cache)
    dx2, _ = encoder.attention_sublayer_backward(da_all, a_cache)
    np.testing.assert_array_equal(dx, dx2)
    assert rel_error(dx, numerical_gradient(f, x)) < GRAD_TOL
    grads = f_grads | a_grads
    for name in ("attn.W_qkv", "attn.b_o", "ffn.W_2", "ffn.b_1", "ln1.gamma", "ln2.beta"):
        assert rel_error(grads[p + name], numerical_gradient(f, params[p + name])) < GRAD_TOL, name


def test_contrastive_loss_with_a_class_head_gives_every_parameter_a_gradient():
    cfg, params, _, _ = tiny(seed=11, output="class", dropout=0.0)
    rng = np.random.default_rng(12)
    batch = {"inputs": rng.integers(1, 9, size=(4, 3)), "pad_mask": np.zeros((4, 3), bool)}
    _, grads = contrastive.loss_and_grads(params, batch, cfg)
    assert set(grads) == set(params)
    assert not np.any(grads["out_class.W"]) and not np.any(grads["out_class.b"])
