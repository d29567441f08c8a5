"""The small MTEB: its scores on cases with known answers, the probe's gradient, the tasks."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from minilm.errors import MinilmError
from minilm.gradcheck import check_loss
from minilm.mteb import build_tasks, parse_fact, run_mteb
from minilm.mteb_metrics import (
    average_precision,
    kmeans,
    ndcg_at_k,
    probe_accuracy,
    probe_loss_and_grads,
    recall_at_k,
    v_measure,
)
from minilm.truth import BUNDLED_WORLD
from minilm.vectors import KeyedVectors

SCRIPTS = Path(__file__).resolve().parent.parent / "scripts"


def test_ndcg_and_recall():
    ranked = np.array([[5, 1, 2], [0, 1, 2]])
    relevant = [{5}, {2, 9}]
    assert ndcg_at_k(ranked[:1], relevant[:1], 3) == 1.0
    expected = (1 / np.log2(4)) / (1 + 1 / np.log2(3))  # one of two relevant, at rank 3
    np.testing.assert_allclose(ndcg_at_k(ranked[1:], relevant[1:], 3), expected)
    assert recall_at_k(ranked, relevant, 3) == pytest.approx((1 + 0.5) / 2)
    assert recall_at_k(ranked, relevant, 1) == pytest.approx(0.5)


def test_average_precision():
    assert average_precision(np.array([3, 2, 1, 0]), np.array([1, 1, 0, 0])) == 1.0
    np.testing.assert_allclose(
        average_precision(np.array([3, 2, 1]), np.array([0, 1, 1])), (1 / 2 + 2 / 3) / 2
    )
    with pytest.raises(MinilmError):
        average_precision(np.zeros(2), np.zeros(2))


def test_v_measure_is_one_for_the_same_partition_and_low_for_a_random_one():
    labels = np.repeat(["a", "b", "c"], 30)
    assert v_measure(labels, np.repeat([2, 0, 1], 30)) == pytest.approx(1.0)
    rng = np.random.default_rng(0)
    assert v_measure(labels, rng.integers(0, 3, 90)) < 0.1
    assert v_measure(labels, np.zeros(90)) == 0.0  # one cluster: complete but not homogeneous


def test_kmeans_finds_separated_blobs():
    rng = np.random.default_rng(1)
    centres = np.array([[0, 0], [10, 0], [0, 10]])
    X = np.repeat(centres, 20, axis=0) + rng.normal(size=(60, 2))
    assert v_measure(np.repeat([0, 1, 2], 20), kmeans(X, 3, rng)) == pytest.approx(1.0)


@pytest.mark.parametrize("N", [1, 7])
def test_probe_gradient(N):
    rng = np.random.default_rng(N)
    params = {"W": rng.normal(size=(4, 3)), "b": rng.normal(size=3)}
    batch = {"x": rng.normal(size=(N, 4)), "y": rng.integers(0, 3, N)}
    errors = check_loss(probe_loss_and_grads, params, batch)
    assert max(errors.values()) < 1e-7, errors


def test_probe_accuracy_separable_and_chance():
    rng = np.random.default_rng(2)
    y = np.repeat(["u", "v"], 40)
    X = rng.normal(size=(80, 5))
    X[:40, 0] += 6
    assert probe_accuracy(X, y, rng) == 1.0
    assert probe_accuracy(rng.normal(size=(80, 5)), y, rng) < 0.8


def test_parse_fact_reads_both_templates():
    f = parse_fact("the niece ate the purple bread .", "the bread that the niece ate was purple .")
    assert f.slots() == ("niece", "ate", "purple", "bread")
    f = parse_fact(
        "the black drill was found by the son .", "the son found the drill , which was black ."
    )
    assert f.slots() == ("son", "found", "black", "drill")
    assert parse_fact("the cat sleeps .", "the cat is asleep .") is None


def test_mteb_on_the_world_one_hot_words_beat_random_vectors():
    tasks = build_tasks(BUNDLED_WORLD, np.random.default_rng(0))
    assert len(tasks.a) == 500 and set(tasks.sts_grades) == {0, 1, 2, 3, 4}
    assert all(len(r) >= 2 for r in tasks.relevant)  # both sides of a pair answer its query
    words = sorted({w for s in tasks.a + tasks.b + tasks.queries for w in s.split()})
    words += [w for w in tasks.words if w not in words]
    index = {w: i for i, w in enumerate(words)}
    rng = np.random.default_rng(3)

    def bag(sentences, table):
        return np.array([sum(table[index[w]] for w in s.split()) for s in sentences])

    onehot = run_mteb(lambda s: bag(s, np.eye(len(words))), tasks)
    noise = run_mteb(lambda s: rng.normal(size=(len(s), 16)), tasks)
    assert onehot["retrieval_ndcg10"] > 0.8 > 0.2 > noise["retrieval_ndcg10"]
    assert onehot["sts"] > 0.5 and abs(noise["sts"]) < 0.2
    assert onehot["pairs_ap"] > noise["pairs_ap"]


def test_search_script_index_and_query(tmp_path):
    words = ["dog", "cat", "eats", "bread", "tehran", "iran", "lies", "in", "the"]
    rng = np.random.default_rng(4)
    vectors = tmp_path / "v.txt"
    KeyedVectors(words, rng.normal(size=(len(words), 6))).save_text(vectors)
    text = tmp_path / "s.txt"
    text.write_text("the dog eats the bread\ntehran lies in iran\nthe cat eats\n")

    def run(*args, stdin=None):
        cmd = [sys.executable, str(SCRIPTS / "search.py"), *map(str, args)]
        return subprocess.run(cmd, capture_output=True, text=True, timeout=60, input=stdin)

    for encoder in ("mean", "sif"):
        built = run("index", vectors, text, "--out", tmp_path / encoder, "--encoder", encoder)
        assert built.returncode == 0, built.stderr
        got = run("query", tmp_path / encoder, "-k", "1", stdin="tehran lies in iran\n")
        assert got.returncode == 0, got.stderr
        assert got.stdout.splitlines()[1].endswith("tehran lies in iran")
    bad = run("query", tmp_path / "nothing", "x")
    assert bad.returncode == 2 and bad.stderr.startswith("error:")
    bad = run("index", vectors, text, "--out", tmp_path / "t", "--encoder", "transformer")
    assert bad.returncode == 2 and "run folder" in bad.stderr


def test_transformer_run_encodes_like_its_model(tmp_path):
    from dataclasses import asdict

    from minilm.data.vocab import Vocab
    from minilm.encoders import encoder_from_meta, load_encoder
    from minilm.io import save_npz
    from minilm.models.contrastive import sentence_vectors
    from minilm.models.encoder import Config, init_params
    from minilm.runs import write_run

    words = ["<unk>", "<pad>", "<mask>", "the", "dog", "eats", "bread"]
    vocab = Vocab(words, [0, 0, 0, 9, 3, 2, 1], n_specials=3)
    cfg = Config(len(words), max_len=8, dim=8, n_layers=1, n_heads=2, ffn=16)
    params = init_params(cfg, np.random.default_rng(0))
    config = {"model": "transformer", "tokenizer": "word", "model_config": asdict(cfg)}
    write_run(tmp_path, words, params["tok_emb"], params, vocab, {}, None, config)
    enc = load_encoder(tmp_path)  # auto: no sentence_model.npz -> the masked-LM mean pool
    assert enc.kind == "transformer"
    got = enc.encode(["the dog eats bread", "", "the cat"])  # cat is <unk>
    ids = np.array([[3, 4, 5, 6]])
    np.testing.assert_allclose(
        got[0], sentence_vectors(params, cfg, ids, np.zeros((1, 4), bool))[0], rtol=1e-5
    )
    assert not got[1].any()  # an empty sentence is a zero row
    np.testing.assert_allclose(
        got[2],
        sentence_vectors(params, cfg, np.array([[3, 0]]), np.zeros((1, 2), bool))[0],
        rtol=1e-5,
    )
    tuned = {k: v * 1.5 for k, v in params.items()}
    save_npz(tmp_path / "sentence_model.npz", {f"p/{k}": v for k, v in tuned.items()})
    ctr = load_encoder(tmp_path)
    assert ctr.kind == "contrastive" and not np.allclose(
        ctr.encode(["the dog"]), enc.encode(["the dog"])
    )
    again = encoder_from_meta(ctr.meta)
    np.testing.assert_array_equal(again.encode(["the dog"]), ctr.encode(["the dog"]))
    sif = load_encoder(tmp_path, "sif").fit(["the dog eats bread", "the bread"])
    back = encoder_from_meta(sif.meta)
    np.testing.assert_allclose(back.encode(["dog eats"]), sif.encode(["dog eats"]))


def test_evaluate_script_mteb_row_for_any_vectors(tmp_path):
    words = sorted(
        {
            w
            for line in (BUNDLED_WORLD / "categories.tsv").read_text().splitlines()
            for w in line.split("\t")[:1]
        }
        | {"the", ".", "was", "by", "that"}
    )
    path = tmp_path / "v.txt"
    KeyedVectors(words, np.random.default_rng(5).normal(size=(len(words), 8))).save_text(path)
    cmd = [
        sys.executable,
        str(SCRIPTS / "evaluate.py"),
        str(path),
        "--corpus",
        str(BUNDLED_WORLD),
        "--mteb",
        "mean",
        "--json",
    ]
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    import json

    row = json.loads(out.stdout)["mteb"]
    assert row["encoder"] == "mean" and 0 <= row["retrieval_ndcg10"] <= 1
