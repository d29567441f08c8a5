"""The report's sections 9 and 10 say what figures 9a, 9b and 10 draw (issue 24 item 7): each
sentence is computed from the numbers the figure plots, and turns when the numbers turn."""

from __future__ import annotations

import numpy as np
import pytest

from minilm.lab_search_report import (
    hybrid_sentence,
    matryoshka_sentences,
    search_markdown,
    transfer_sentences,
)
from minilm.lab_search_rows import matryoshka_curves, rescored_row
from minilm.lab_transfer import TaggingData, transfer_curves, unseen_share
from minilm.mteb import Tasks
from minilm.truth import BUNDLED_WORLD
from minilm.vectors import KeyedVectors


def _rows(mat: dict[int, float], plain: dict[int, float], full: int = 32) -> dict:
    rows = {"t-contrastive": {"retrieval_ndcg10": plain[full], "label": "plain"}}
    for m, v in mat.items():
        common = {"dims": m, "full_dims": full, "plain_row": "t-contrastive"}
        rows[f"t-matryoshka@{m}"] = {"retrieval_ndcg10": v, "model": "matryoshka", **common}
        if m != full:
            rows[f"t-contrastive@{m}"] = {
                "retrieval_ndcg10": plain[m],
                "model": "contrastive",
                **common,
            }
    return rows


def test_matryoshka_curves_take_the_plain_full_row():
    curves = matryoshka_curves(_rows({8: 0.5, 32: 0.7}, {8: 0.2, 32: 0.75}))
    assert sorted(curves["plain, truncated"]) == [8, 32]
    assert curves["plain, truncated"][32]["retrieval_ndcg10"] == 0.75


def test_matryoshka_sentence_follows_the_numbers_both_ways():
    ahead = matryoshka_sentences(_rows({8: 0.5, 16: 0.6, 32: 0.7}, {8: 0.2, 16: 0.59, 32: 0.75}))
    assert "Matryoshka 0.50 (full width 0.70), plain truncated 0.20 (full width 0.75)" in ahead
    assert "ahead at m = 8; within 0.02 at m = 16; behind at m = 32" in ahead
    behind = matryoshka_sentences(_rows({8: 0.1, 32: 0.7}, {8: 0.3, 32: 0.7}))
    assert "behind at m = 8" in behind and "ahead" not in behind
    assert matryoshka_sentences({"x": {"sts": 0.5}}) == ""
    assert matryoshka_sentences(_rows({8: None, 32: None}, {8: 0.2, 32: 0.7})) == ""  # n/a


def test_hybrid_sentence_names_the_winner_of_each_kind():
    hybrid = {
        "names": {"bm25": 0.9, "dense": 0.3, "hybrid": 0.7},
        "paraphrase": {"bm25": 0.5, "dense": 0.99, "hybrid": 0.98},
    }
    text = hybrid_sentence(hybrid)
    assert "BM25 for names" in text and "dense and the fusion for paraphrase" in text


def test_transfer_sentence_follows_the_numbers():
    section = {
        "curves": {
            "random init": {"20": 0.2, "50": 0.4, "1000": 0.99},
            "skip-gram frozen": {"20": 0.4, "50": 0.41, "1000": 0.99},
            "skip-gram fine-tuned": {"20": 0.3, "50": 0.5, "1000": 0.90},
        },
        "tables": ["skip-gram"],
        "n_test": 100,
        "n_tags": 21,
        "unseen_test_share": {"20": 0.9, "50": 0.7, "1000": 0.0},
    }
    text = transfer_sentences(section)
    assert "beats random init by 0.02 or more at n = 20, 50" in text
    assert "is within 0.02 of it at n = 1000" in text
    assert "skip-gram frozen 0.40 against random 0.20" in text
    assert "ahead at n = 20, 1000; behind at n = 50" in text
    assert "90% at n = 20" in text
    section["curves"]["random init"]["20"] = 0.6  # now random wins at 20
    assert "is behind it by 0.02 or more at n = 20" in transfer_sentences(section)


def test_search_markdown_embeds_the_figures_it_has():
    section = {
        "rows": _rows({8: 0.5, 32: 0.7}, {8: 0.2, 32: 0.75}),
        "hybrid_encoder": "t-contrastive",
        "hybrid": {"names": {"n_queries": 3, "bm25": 0.9, "dense": 0.3, "hybrid": 0.7}},
        "quantised_recall": {},
        "seconds": 1.0,
    }
    text = search_markdown(section, {"matryoshka": "out/fig9a_matryoshka.png"})
    assert "](fig9a_matryoshka.png)" in text and "fig9b" not in text
    assert "Figure 9a" in text


def _tiny_tasks(rng) -> tuple[Tasks, dict]:
    words = [f"w{i}" for i in range(12)]
    X = {w: rng.standard_normal(16) for w in words}
    a = [f"{words[i]} {words[i + 1]}" for i in range(0, 10, 2)]
    b = [f"{words[i + 1]} {words[i]}" for i in range(0, 10, 2)]
    F = len(a)
    tasks = Tasks(
        a,
        b,
        [],
        np.zeros((0, 2)),
        np.zeros(0),
        np.zeros(0),
        np.zeros(0, int),
        a,
        [{i, F + i} for i in range(F)],
        [],
        [],
        [],
        [],
    )  # only a, b, queries (= a) and relevant matter to retrieval
    return tasks, X


def test_rescoring_every_candidate_is_exact_float_search():
    rng = np.random.default_rng(0)
    tasks, X = _tiny_tasks(rng)

    def encode(sentences):
        return np.stack([sum(X[w] for w in s.split()) for s in sentences])

    everything = rescored_row(encode, tasks, candidates=len(tasks.a) * 2)
    assert everything["retrieval_recall10"] == pytest.approx(1.0)  # a word pair, both orders


def test_tagging_windows_and_the_unseen_share():
    data = TaggingData(BUNDLED_WORLD, 200, 300)
    X, Y = data.train
    assert X.shape == (200, 5) and Y.shape == (200,)
    assert all(data.tag_of[data.words[w]] == data.tags[y] for w, y in zip(X[:, 2], Y, strict=True))
    share = unseen_share(data)
    assert share["20"] > share["200"] >= share["1000"]


def test_a_table_that_knows_the_tags_beats_random_with_few_windows():
    data = TaggingData(BUNDLED_WORLD, 50, 500)
    rng = np.random.default_rng(0)
    centres = rng.standard_normal((len(data.tags), 8)) * 3
    words = list(data.tag_of)
    kv = KeyedVectors(
        words,
        np.stack([centres[data.tags.index(data.tag_of[w])] for w in words])
        + rng.normal(0, 0.1, (len(words), 8)),
    )
    curves = transfer_curves({"oracle": kv}, data, [50], steps=100)
    assert curves["oracle frozen"][50] > curves["random init"][50] + 0.1, curves
