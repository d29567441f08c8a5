"""The lab's report says what its figures show (issue 22 item 6): the Elman sentence is read
from figure 2's tree, figure 7's star is the model's own static vector, figure 5's axis shows
the cosine's whole scale, and the bias paragraph says when r and WEAT disagree."""

from __future__ import annotations

import numpy as np

from minilm.directions import sense_axis
from minilm.lab_figures import _cosine_range, elman_top_split
from minilm.lab_report import bias_disagreements, top_split_sentence
from minilm.lab_sense_figure import _static_point
from minilm.vectors import KeyedVectors


def _tree_vectors(rng, groups: list[int]) -> np.ndarray:
    """Tight clusters around orthogonal directions, one per group id."""
    return np.stack([np.eye(8)[g] * 5 + rng.normal(0, 0.05, 8) for g in groups])


def test_top_split_follows_the_tree_not_the_labels():
    rng = np.random.default_rng(0)
    words = ["man", "dog", "rock", "cookie", "see", "eat"]
    fine = ["HUM", "ANIM", "INANIM", "FOOD", "TRAN", "EAT"]
    coarse = ["noun", "noun", "noun", "noun", "verb", "verb"]
    # animates far from everything else; inanimates near the verbs: the top split is animacy
    X = _tree_vectors(rng, [0, 0, 1, 1, 1, 1])
    X[2:] += rng.normal(0, 0.05, (4, 8))
    split = elman_top_split(KeyedVectors(words, X), words, fine, coarse)["dendrogram_top_split"]
    groups = sorted(sorted(g["words"]) for g in split)
    assert groups == [["cookie", "eat", "rock", "see"], ["dog", "man"]]
    sentence = top_split_sentence(split)
    assert "is not nouns versus verbs" in sentence and "2 words, all nouns" in sentence


def test_a_noun_verb_top_split_is_said_as_elmans():
    rng = np.random.default_rng(1)
    words, coarse = ["man", "rock", "see", "eat"], ["noun", "noun", "verb", "verb"]
    X = _tree_vectors(rng, [0, 0, 1, 1])
    split = elman_top_split(KeyedVectors(words, X), words, ["A", "B", "C", "D"], coarse)
    sentence = top_split_sentence(split["dendrogram_top_split"])
    assert "the first split is nouns versus verbs, as in Elman's Figure 7" in sentence


def test_static_star_is_the_words_own_vector_on_its_side():
    rng = np.random.default_rng(2)
    fit = np.concatenate(
        [rng.normal(0, 0.1, (20, 4)) + [3, 0, 0, 0], rng.normal(0, 0.1, (20, 4)) + [0, 3, 0, 0]]
    )
    frame = sense_axis(fit, ["river"] * 20 + ["money"] * 20, metric="cosine")
    money_side = 1.0 if frame.senses[1] == "money" else -1.0
    occurrences = fit * 10.0  # the star is rescaled to their mean length
    star = _static_point(np.array([0.0, 0.01, 0.0, 0.0]), occurrences, frame)
    assert np.sign(star[0]) == money_side
    assert np.linalg.norm(star) > 1.0  # the tiny vector was scaled up to the occurrences


def test_anisotropy_axis_spans_the_whole_cosine_scale():
    low, high = _cosine_range([0.03, 0.085, -0.01])
    assert high >= 1.0 and low <= -0.1
    assert _cosine_range([-0.4])[0] < -0.4


def test_bias_disagreement_is_explained_both_ways():
    weat = [
        ("LSA", {"pearson": -0.01, "weat_d": 1.55, "weat_p": 0.003, "pc1_share": 0.2}),
        ("X", {"pearson": 0.8, "weat_d": 0.3, "weat_p": 0.4}),
        ("skip-gram", {"pearson": 0.97, "weat_d": 1.7, "weat_p": 0.003}),
    ]
    text = bias_disagreements(weat)
    assert "disagree for LSA" in text and "skip-gram" not in text
    assert "For X (r = 0.80, p = 0.400) r finds a trend" in text
