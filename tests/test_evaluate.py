"""Evaluation on hand-built tables whose answers are known, and against brute-force references."""

import numpy as np
import pytest

from minilm.errors import MinilmError
from minilm.evaluate import (
    BIAS_KEYS,
    anisotropy,
    bias_correlation,
    category_purity,
    category_purity_details,
    category_r_precision,
    evaluate_analogies,
    evaluate_bias,
    evaluate_similarity,
    evaluate_vectors,
    perplexity,
    rankdata,
    section_kind,
    spearman,
)
from minilm.vectors import KeyedVectors

# A 3-D table: a gender plane (x, y) and an animal axis (z).
TABLE = {
    "man": (1.0, 0.0, 0.0),
    "woman": (0.0, 1.0, 0.0),
    "king": (1.0, 0.3, 0.0),
    "queen": (0.3, 1.0, 0.0),
    "apple": (-1.0, -1.0, 0.0),
    "cat": (0.0, 0.0, 1.0),
    "cats": (0.0, 0.2, 1.0),
    "dog": (0.2, 0.0, 1.0),
    "dogs": (0.2, 0.2, 1.0),
}
QUESTIONS = """: family
man woman king queen
king queen man apple
man woman prince princess
: gram-plural
cat cats dog dogs
"""


@pytest.fixture
def kv():
    return KeyedVectors(list(TABLE), np.array(list(TABLE.values())))


def test_analogies_known_answers_both_protocols(kv, tmp_path):
    path = tmp_path / "q.txt"
    path.write_text(QUESTIONS)
    r = evaluate_analogies(kv, path)
    # Q1: woman - man + king is nearest to woman itself (a query word); excluded -> queen.
    # Q2: queen - king + man is nearest to queen (query) and never to apple: wrong both ways.
    # Q3: cats - cat + dog = dogs exactly: right both ways. Q4 is out of vocabulary.
    assert (r["n_questions"], r["n_evaluated"], r["n_oov"]) == (4, 3, 1)
    assert r["accuracy_excluded"] == pytest.approx(2 / 3)
    assert r["accuracy_no_exclusion"] == pytest.approx(1 / 3)
    assert r["accuracy"] == r["accuracy_excluded"]
    assert r["query_word_share"] == pytest.approx(2 / 3)
    assert r["query_word_share_by_role"] == {"a": 0.0, "b": pytest.approx(2 / 3), "c": 0.0}
    fam, gram = r["sections"]
    assert (fam["name"], fam["kind"], gram["kind"]) == ("family", "semantic", "syntactic")
    assert fam["accuracy_excluded"] == 0.5 and fam["accuracy_no_exclusion"] == 0.0
    assert gram["accuracy_excluded"] == 1.0 and gram["accuracy_no_exclusion"] == 1.0
    assert r["semantic"]["n_oov"] == 1 and r["syntactic"]["accuracy_excluded"] == 1.0
    # apple is the last of the 6 non-query candidates for Q2: ranks 1, 6, 1.
    assert r["mean_rank"] == pytest.approx(8 / 3) and r["median_rank"] == 1.0
    no_ex = evaluate_analogies(kv, path, exclude_query=False, oov_wrong=True)
    assert no_ex["accuracy"] == pytest.approx(1 / 4)
    assert no_ex["accuracy_excluded"] == pytest.approx(2 / 4)


def _brute_force(kv, questions, method):
    """Loop over questions and candidates with kv.similarity: slow, obviously right."""
    right_ex = right_un = 0
    for a, b, c, d in questions:
        scores = {}
        for w in kv.words:
            ca, cb, cc = kv.similarity(w, a), kv.similarity(w, b), kv.similarity(w, c)
            if method == "3cosadd":
                scores[w] = cb - ca + cc
            else:
                scores[w] = ((cb + 1) / 2) * ((cc + 1) / 2) / ((ca + 1) / 2 + 1e-3)
        best = max(kv.words, key=lambda w: scores[w])
        best_ex = max((w for w in kv.words if w not in (a, b, c)), key=lambda w: scores[w])
        right_un += best == d
        right_ex += best_ex == d
    return right_ex / len(questions), right_un / len(questions)


@pytest.mark.parametrize("method", ["3cosadd", "3cosmul"])
def test_analogies_match_brute_force_on_random_table(tmp_path, method):
    rng = np.random.default_rng(3)
    words = [f"w{i}" for i in range(30)]
    base = rng.standard_normal((30, 8))
    base[20:] = base[:10] + base[10:20] - base[0]  # plant some answers: w(20+i) ~ wi + w(10+i) - w0
    kv = KeyedVectors(words, base + 0.1 * rng.standard_normal((30, 8)))
    questions = [("w0", f"w{i}", f"w{10 + i}", f"w{20 + i}") for i in range(1, 10)]
    questions += [tuple(rng.choice(words, 4, replace=False)) for _ in range(10)]
    path = tmp_path / "q.txt"
    path.write_text(": s\n" + "\n".join(" ".join(q) for q in questions) + "\n")
    r = evaluate_analogies(kv, path, method=method)
    ex, un = _brute_force(kv, questions, method)
    assert r["accuracy_excluded"] == pytest.approx(ex)
    assert r["accuracy_no_exclusion"] == pytest.approx(un)
    if method == "3cosadd":  # 3CosMul is drawn to any word far from w0: all planted ones are
        assert r["accuracy_excluded"] > 0.4  # the planted answers are found


def test_analogy_file_errors(kv, tmp_path):
    path = tmp_path / "bad.txt"
    path.write_text(": s\nman woman king\n")
    with pytest.raises(MinilmError, match="line 2"):
        evaluate_analogies(kv, path)
    with pytest.raises(MinilmError, match="no such file"):
        evaluate_analogies(kv, tmp_path / "missing.txt")


def test_section_kinds():
    assert section_kind("gram3-comparative") == "syntactic"
    assert section_kind("capital-common-countries") == "semantic"
    assert section_kind("gram-past-tense") == "syntactic"


def test_spearman_with_ties_against_hand_computed_value():
    # ranks of x: 1, 2.5, 2.5, 4; rho = 4.5 / sqrt(4.5 * 5) = 3 / sqrt(10)
    np.testing.assert_array_equal(rankdata(np.array([1, 2, 2, 3])), [1, 2.5, 2.5, 4])
    assert spearman(np.array([1, 2, 2, 3]), np.array([1, 3, 2, 4])) == pytest.approx(
        3 / np.sqrt(10), abs=1e-12
    )


def test_similarity_file(tmp_path):
    # Unit vectors at angles whose cosines with "w0" are 0.1, 0.5, 0.5, 0.9.
    cosines = [0.1, 0.5, 0.5, 0.9]
    vecs = [[1.0, 0.0]] + [[c, np.sqrt(1 - c * c)] for c in cosines]
    kv = KeyedVectors(["w0", "a", "b", "c", "d"], np.array(vecs))
    path = tmp_path / "sim.tsv"
    path.write_text("# word1\tword2\tscore\nw0\ta\t1\nw0\tb\t3\nw0\tc\t2\nw0\td\t4\nw0\tzz\t5\n")
    r = evaluate_similarity(kv, path)
    assert r["spearman"] == pytest.approx(3 / np.sqrt(10))
    assert r["pearson"] == pytest.approx(np.corrcoef(cosines, [1, 3, 2, 4])[0, 1])
    assert (r["n_pairs"], r["n_used"], r["n_oov"]) == (5, 4, 1)
    path.write_text("w0\ta\tmany\n")
    with pytest.raises(MinilmError, match="line 1"):
        evaluate_similarity(kv, path)


def test_category_r_precision_reaches_one_on_small_categories(tmp_path):
    # categories of 3, 2 and 1 words: with k = 5 perfect vectors score far below 1
    words = ["a1", "a2", "a3", "b1", "b2", "c1"]
    vecs = [[1, 0, 0], [1, 0.1, 0], [1, 0, 0.1], [0, 1, 0], [0.1, 1, 0], [0, 0, 1]]
    kv = KeyedVectors(words, np.array(vecs, dtype=float))
    path = tmp_path / "cats.tsv"
    path.write_text("a1\tA\na2\tA\na3\tA\nb1\tB\nb2\tB\nc1\tC\n")
    assert category_purity(kv, path) < 0.4
    assert category_r_precision(kv, path) == 1.0  # c1, alone in C, is left out
    # b1 moved next to the As: b1's one neighbour and b2's are wrong, A's two stay right
    kv = KeyedVectors(words, np.array(vecs[:3] + [[1, 0.05, 0.05]] + vecs[4:], dtype=float))
    assert category_r_precision(kv, path) < 1.0
    d = tmp_path / "alone.tsv"
    d.write_text("a1\tA\nb1\tB\n")
    assert category_r_precision(kv, d) is None


def test_category_purity_on_hand_built_table(tmp_path):
    # Angles 0, 5.7, 11.3, 18.4 (b3, listed as B but sitting by the As), 90, 84.3 degrees.
    words = ["a1", "a2", "a3", "b3", "b1", "b2"]
    vecs = [[1, 0], [1, 0.1], [1, 0.2], [0.9, 0.3], [0, 1], [0.1, 1]]
    kv = KeyedVectors(words, np.array(vecs, dtype=float))
    path = tmp_path / "cats.tsv"
    path.write_text(
        "# word\tfine\tcoarse\na1\tA\tX\na2\tA\tX\na3\tA\tX\nb3\tB\tX\n"
        "b1\tB\tX\nb2\tB\tX\nzz\tB\tX\n"
    )
    # k=2 by hand: a1 (a2, a3) 1, a2 (a3, a1) 1, a3 (a2, b3) 0.5, b3 (a3, a2) 0,
    # b1 (b2, b3) 1, b2 (b1, b3) 1.
    assert category_purity(kv, path, k=2) == pytest.approx(4.5 / 6)
    d = category_purity_details(kv, path, k=2)
    assert (d["n_words"], d["n_oov"]) == (6, 1)
    assert d["per_category"] == {"A": pytest.approx(2.5 / 3), "B": pytest.approx(2 / 3)}
    assert category_purity(kv, path, k=2, column=2) == 1.0
    assert category_purity(kv, path, k=2, level="coarse") == 1.0
    # k larger than the list: all other words are neighbours; A: 2/5 share, B: 2/5.
    assert category_purity(kv, path, k=50) == pytest.approx(2 / 5)


def test_anisotropy_sees_a_common_direction():
    rng = np.random.default_rng(0)
    x = rng.standard_normal((500, 20))
    shifted = x + 10.0
    r = anisotropy(shifted, np.random.default_rng(1), n_pairs=5000)
    assert r["mean_cosine"] > 0.95  # all vectors share the direction (1, ..., 1)
    assert abs(r["mean_cosine_centred"]) < 0.02  # 5000 pairs: sd ~ 1/sqrt(20 * 5000)
    assert abs(anisotropy(x, np.random.default_rng(1))["mean_cosine"]) < 0.02


def test_bias_projection_recovers_planted_order():
    skews = np.array([-0.8, -0.3, 0.1, 0.6, 0.9])
    occupations = ["nurse", "teacher", "writer", "pilot", "engineer"]
    vecs = [[1.0, 0.0], [-1.0, 0.0]] + [[s, 1.0] for s in skews]
    kv = KeyedVectors(["he", "she"] + occupations, np.array(vecs))
    r = bias_correlation(kv, occupations + ["ghost"], np.append(skews, 0.0))
    assert r["spearman"] == pytest.approx(1.0)
    assert r["pearson"] > 0.99
    assert (r["n_used"], r["n_oov"]) == (5, 1)


def test_perplexity():
    assert perplexity(5 * np.log(10.0), 5) == pytest.approx(10.0)
    with pytest.raises(MinilmError):
        perplexity(1.0, 0)


def _bias_world(tmp_path):
    """Occupations that lean towards the male nouns as their planted share grows, and towards
    'she' at the same time: the nouns' axis (x) and he - she (z) disagree, as on the world."""
    skews = [0.1, 0.2, 0.3, 0.8, 0.9]
    names = ["nurse", "maid", "writer", "pilot", "engineer"]
    vecs = {
        "he": [0, 0, 1],
        "she": [0, 0, -1],
        "king": [1, 0.2, 0],
        "queen": [-1, 0.2, 0],
        "man": [1, -0.1, 0],
        "woman": [-1, -0.1, 0],
    }
    vecs |= {w: [2 * s - 1, 1, 1 - 2 * s] for w, s in zip(names, skews, strict=True)}
    kv = KeyedVectors(list(vecs), np.array(list(vecs.values()), dtype=float))
    path = tmp_path / "bias.tsv"
    path.write_text(
        "# occupation\tmeasured\tplanted\n"
        + "".join(f"{w}\t{s + 0.01:.2f}\t{s}\t1\t1\n" for w, s in zip(names, skews, strict=True))
    )
    return kv, path, names


def test_evaluate_bias_reads_the_nouns_direction_and_keeps_he_she_as_contrast(tmp_path):
    kv, path, names = _bias_world(tmp_path)
    pairs = [("king", "queen"), ("man", "woman"), ("duke", "duchess")]  # the duke is unknown
    r = evaluate_bias(kv, path, pairs, np.random.default_rng(0))
    assert (
        r["words"] == names
        and r["n_pairs"] == 2
        and r["pairs"] == [["king", "queen"], ["man", "woman"]]
    )
    assert r["pearson"] > 0.99 and r["spearman"] == pytest.approx(1.0)
    assert r["pearson_he_she"] < -0.99  # the single pronoun direction says the opposite
    assert r["pc1_share"] == pytest.approx(1.0)  # both pairs point along x
    assert r["pearson_measured"] > 0.99
    # WEAT: X = pilot, engineer (planted > 0.5); the observed split is the most extreme of the
    # C(5, 2) = 10 re-partitions, so the exact one-sided p is 1/10.
    assert r["weat_d"] > 0.8 and r["weat_p"] == pytest.approx(0.1)
    assert evaluate_bias(kv, path, [("duke", "duchess")], np.random.default_rng(0)) is None


def test_evaluate_vectors_measures_bias_only_with_the_definitional_pairs(tmp_path):
    kv, path, _ = _bias_world(tmp_path)
    files = {"bias.tsv": path}
    m = evaluate_vectors(kv, files, np.random.default_rng(0), gender_pairs=[("king", "queen")])
    assert set(m["bias"]) == set(BIAS_KEYS) and m["bias"]["pearson"] > 0.99
    assert 0 < m["bias"]["weat_p"] <= 1
    again = evaluate_vectors(kv, files, np.random.default_rng(5), gender_pairs=[("king", "queen")])
    assert again["bias"] == m["bias"]  # WEAT's generator is seeded from a constant
    assert "bias" not in evaluate_vectors(kv, files, np.random.default_rng(0))


def test_anisotropy_of_one_vector_is_undefined_not_an_error():
    r = anisotropy(np.ones((1, 3)), np.random.default_rng(0))
    assert r["mean_cosine"] is None and r["mean_cosine_centred"] is None


def test_truth_readers_of_senses_and_paraphrases_and_finding_the_files(tmp_path):
    from minilm.truth import Truth, read_paraphrases, read_senses

    senses = tmp_path / "senses.tsv"
    senses.write_text("# split line token word sense\ntrain\t3\t1\tbank\tmoney\n")
    (row,) = read_senses(senses)
    assert (row.split, row.line, row.index, row.word, row.sense) == ("train", 3, 1, "bank", "money")
    senses.write_text("train\t3\tone\tbank\tmoney\n")
    with pytest.raises(MinilmError, match="senses.tsv line 1: expected"):
        read_senses(senses)
    pairs = tmp_path / "paraphrases.tsv"
    pairs.write_text("heldout\tthe cat ate .\tthe cat was fed .\ntrain\tonly one\n")
    with pytest.raises(MinilmError, match="line 2"):
        read_paraphrases(pairs)
    pairs.write_text("heldout\tthe cat ate .\tthe cat was fed .\n")
    assert read_paraphrases(pairs)[0].b == "the cat was fed ."
    (tmp_path / "train.txt").write_text("a b\n")
    found = Truth.beside(tmp_path / "train.txt")  # a file: the folder it is in
    assert found.folder == tmp_path and set(found.files) == {"senses.tsv", "paraphrases.tsv"}
    assert Truth.beside(tmp_path).files == found.files and found.get("bias.tsv") is None
