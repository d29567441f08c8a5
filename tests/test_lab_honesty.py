"""The lab's report says what its figures show (issue 22 item 6): the Elman sentence is read
from figure 2's tree, figure 7's star is the model's own static vector, figure 5's axis shows
the cosine's whole scale, and the bias paragraph says when r and WEAT disagree."""

from __future__ import annotations

import numpy as np

from minilm.directions import sense_axis
from minilm.lab_figures import _cosine_range, elman_top_split
from minilm.lab_report import p_contextual, p_training, top_split_sentence
from minilm.lab_report_bias import bias_disagreements
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


def _contextual_metrics(tf: dict, elmo: dict) -> dict:
    static = {"bank": 0.5, "bat": 0.6}
    return {
        "lab": {},
        "models": {
            "transformer": {
                "label": "transformer (static)",
                "sense_accuracy": tf,
                "static_sense_accuracy": static,
                "sense_representation": "layer 1",
            },
            "elmo": {
                "label": "ELMo (static)",
                "sense_accuracy": elmo,
                "test_perplexity": 5.6,
                "kn5_test_perplexity": 5.2,
                "sense_representation": "learned mix",
                "sense_mix_weights": [0.25, 0.75],
            },
        },
    }


def test_the_sense_paragraph_compares_the_contextual_models_by_their_numbers():
    text = p_contextual(_contextual_metrics({"bank": 1.0, "bat": 0.9}, {"bank": 0.96, "bat": 0.8}))
    assert (
        "transformer separates the senses better than ELMo on this run (0.95 against 0.88)" in text
    )
    assert "ELMo (learned mix) bank 0.96, bat 0.80" in text and "0.25, 0.75" in text
    assert "by ELMo on this run: bat" in text and "by transformer on this run: bat" in text
    flipped = p_contextual(
        _contextual_metrics({"bank": 0.7, "bat": 0.9}, {"bank": 1.0, "bat": 1.0})
    )
    assert (
        "ELMo separates the senses better than transformer on this run (1.00 against 0.80)"
        in flipped
    )
    assert "by ELMo" not in flipped


def test_the_perplexity_paragraph_says_elmo_counts_both_directions():
    text = p_training(_contextual_metrics({"bank": 1.0}, {"bank": 1.0}))
    assert "ELMo test perplexity (both directions' words" in text
    assert "5.6 vs Kneser–Ney trigram n/a and 5-gram 5.2 — it does not beat" in text


def test_elmo_star_is_its_layer_0():
    """ELMo's contextual vectors are [forward; backward]: its static vector x is drawn as its
    layer 0, [x; x], in the frame of the twice-as-wide occurrences."""
    rng = np.random.default_rng(3)
    fit = rng.normal(0, 1, (40, 8))
    frame = sense_axis(fit, ["a", "b"] * 20, metric="cosine")
    x = rng.normal(0, 1, 4)
    star = _static_point(x, fit, frame)
    assert np.allclose(star, _static_point(np.concatenate([x, x]), fit, frame))
