"""minilm.directions on constructed vectors whose answer is known."""

import math

import numpy as np
import pytest

from minilm import directions as dr
from minilm.errors import MinilmError
from minilm.vectors import KeyedVectors


def planted_space(rng, D=30, n_pairs=8, strength=1.0, noise=0.1, lean=2.0):
    """Pairs m_i / f_i = base_i +- strength * g + noise; targets x_i / y_i lean to +g / -g;
    neutral words carry no g. Returns (kv, g, pairs)."""
    g = rng.standard_normal(D)
    g /= np.linalg.norm(g)
    words, vecs, pairs = [], [], []
    for i in range(n_pairs):
        base = rng.standard_normal(D)
        for name, sign in ((f"m{i}", 1), (f"f{i}", -1)):
            words.append(name)
            vecs.append(base + sign * strength * g + noise * rng.standard_normal(D))
        pairs.append((f"m{i}", f"f{i}"))
    for i in range(6):
        for name, sign in ((f"x{i}", lean), (f"y{i}", -lean)):
            words.append(name)
            vecs.append(rng.standard_normal(D) + sign * g)
    for i in range(10):
        words.append(f"n{i}")
        vecs.append(rng.standard_normal(D))
    return KeyedVectors(words, np.array(vecs)), g, pairs


def test_definitional_direction_recovers_planted_direction_and_sign():
    rng = np.random.default_rng(0)
    kv, g, pairs = planted_space(rng)
    d = dr.definitional_direction(kv, pairs)
    assert np.isclose(np.linalg.norm(d), 1.0)
    assert d @ g > 0.95  # recovered, and signed towards the first words of the pairs
    one = dr.definitional_direction(kv, pairs[:1])  # one noisy pair: a worse estimate
    assert d @ g > one @ g
    # the first member of each pair projects positive
    first, second = [a for a, _ in pairs], [b for _, b in pairs]
    assert (dr.projections(kv, first, d) > dr.projections(kv, second, d)).all()
    # swapping the members of every pair flips the sign
    assert np.allclose(dr.definitional_direction(kv, [(b, a) for a, b in pairs]), -d)


def test_definitional_pca_first_component_dominates_when_pairs_agree():
    rng = np.random.default_rng(1)
    kv, _, pairs = planted_space(rng, strength=1.0, noise=0.2)
    comps, ratio = dr.definitional_pca(kv, pairs)
    assert np.allclose(comps @ comps.T, np.eye(len(comps)), atol=1e-10)
    assert np.isclose(ratio.sum(), 1.0) and ratio[0] > 3 * ratio[1]
    kv_r, _, pairs_r = planted_space(np.random.default_rng(1), strength=0.0, noise=0.2)
    assert dr.definitional_pca(kv_r, pairs_r)[1][0] < 2 * dr.definitional_pca(kv_r, pairs_r)[1][1]


def test_definitional_direction_rejects_no_pairs_and_identical_pairs():
    kv = KeyedVectors(["a", "b"], np.ones((2, 3)))
    with pytest.raises(MinilmError):
        dr.definitional_direction(kv, [])
    with pytest.raises(MinilmError):
        dr.definitional_direction(kv, [("a", "b")])
    with pytest.raises(MinilmError):
        dr.definitional_direction(kv, [("a", "zzz")])


def test_weat_planted_association_is_large_and_significant():
    rng = np.random.default_rng(2)
    kv, _, pairs = planted_space(rng)
    X, Y = [f"x{i}" for i in range(6)], [f"y{i}" for i in range(6)]
    A, B = [a for a, _ in pairs], [b for _, b in pairs]
    r = dr.weat(kv, X, Y, A, B, np.random.default_rng(0), n_permutations=10_000)
    assert r["exact"] and r["n_partitions"] == math.comb(12, 6)
    assert r["effect_size"] > 1.2  # Caliskan et al.'s "large" is 0.8; planted here is clear
    assert r["p_value"] < 0.01
    assert r["p_value"] >= 1 / math.comb(12, 6)  # exact: the observed split is one of them
    # swapping X and Y flips the effect and makes the one-sided test the other way round
    s = dr.weat(kv, Y, X, A, B, np.random.default_rng(0), n_permutations=10_000)
    assert np.isclose(s["effect_size"], -r["effect_size"])
    assert s["p_value"] > 0.99
    # swapping A and B too
    assert np.isclose(dr.weat(kv, X, Y, B, A, rng)["effect_size"], -r["effect_size"])


def test_weat_matches_the_definition_computed_by_hand():
    rng = np.random.default_rng(3)
    words = [f"w{i}" for i in range(10)]
    kv = KeyedVectors(words, rng.standard_normal((10, 5)))
    X, Y, A, B = words[:3], words[3:6], words[6:8], words[8:]
    u = kv.unit

    def s(w):
        return np.mean([u[kv.index(w)] @ u[kv.index(a)] for a in A]) - np.mean(
            [u[kv.index(w)] @ u[kv.index(b)] for b in B]
        )

    sx, sy = [s(w) for w in X], [s(w) for w in Y]
    d = (np.mean(sx) - np.mean(sy)) / np.std(sx + sy, ddof=1)
    obs = sum(sx) - sum(sy)
    allw = sx + sy
    count = total = 0
    for i in range(2**6):  # every split into two sets of three
        xi = [j for j in range(6) if i >> j & 1]
        if len(xi) != 3:
            continue
        total += 1
        stat = sum(allw[j] for j in xi) - sum(allw[j] for j in range(6) if j not in xi)
        count += stat >= obs - 1e-12
    r = dr.weat(kv, X, Y, A, B, np.random.default_rng(0))
    assert np.isclose(r["effect_size"], d)
    assert r["exact"] and r["n_partitions"] == total == 20
    assert np.isclose(r["p_value"], count / total)


def test_weat_on_random_vectors_is_null():
    rng = np.random.default_rng(4)
    ds, ps = [], []
    for trial in range(40):
        words = [f"w{i}" for i in range(40)]
        kv = KeyedVectors(words, rng.standard_normal((40, 50)))
        r = dr.weat(
            kv,
            words[:10],
            words[10:20],
            words[20:30],
            words[30:],
            np.random.default_rng(trial),
            n_permutations=2000,
        )
        assert not r["exact"] and r["n_partitions"] == 2000
        ds.append(r["effect_size"])
        ps.append(r["p_value"])
    ds, ps = np.array(ds), np.array(ps)
    assert abs(ds.mean()) < 0.25  # no planted association: d centred on 0
    # under the null p is ~uniform: about 5% below 0.05 (at most 6 of 40 allows for chance)
    assert np.sum(ps < 0.05) <= 6 and 0.35 < np.median(ps) < 0.65


def test_weat_sampled_is_reproducible_with_the_seed_and_close_to_exact():
    rng = np.random.default_rng(5)
    kv, _, pairs = planted_space(rng, noise=0.3, lean=0.3)
    X, Y = [f"x{i}" for i in range(6)] + ["n0", "n1"], [f"y{i}" for i in range(6)] + ["n2", "n3"]
    A, B = [a for a, _ in pairs], [b for _, b in pairs]
    a = dr.weat(kv, X, Y, A, B, np.random.default_rng(7), n_permutations=3000)
    b = dr.weat(kv, X, Y, A, B, np.random.default_rng(7), n_permutations=3000)
    assert a == b and not a["exact"]
    exact = dr.weat(kv, X, Y, A, B, np.random.default_rng(0), n_permutations=20_000)
    assert exact["exact"] and exact["n_partitions"] == math.comb(16, 8)
    assert abs(a["p_value"] - exact["p_value"]) < 0.02  # 3000 draws: standard error < 0.01


def test_partitions_are_uniform_k_subsets():
    rng = np.random.default_rng(6)
    masks, exact = dr.partitions(8, 3, rng, 20_000)
    assert exact and masks.shape == (56, 8) and (masks.sum(axis=1) == 3).all()
    assert len({m.tobytes() for m in masks}) == 56
    masks, exact = dr.partitions(30, 10, rng, 20_000)
    assert not exact and (masks.sum(axis=1) == 10).all()
    # each element is chosen with probability 10/30; 20000 draws: sd of a share ~0.0033
    assert np.abs(masks.mean(axis=0) - 1 / 3).max() < 0.015


def test_weat_rejects_empty_sets():
    kv = KeyedVectors(["a", "b"], np.eye(2))
    with pytest.raises(MinilmError):
        dr.weat(kv, [], ["a"], ["a"], ["b"], np.random.default_rng(0))


def two_clusters_with_big_orthogonal_variance(rng, n=400, D=20):
    """Two senses 2 apart along e0; a spread of sd 3 along e1 shared by both senses."""
    senses = np.array(["a", "b"] * (n // 2))
    V = 0.3 * rng.standard_normal((n, D))
    V[:, 0] += np.where(senses == "b", 1.0, -1.0)
    V[:, 1] += 3 * rng.standard_normal(n)
    return V, senses


def separation(coord, senses):
    """Share of points on their sense's side of the best threshold on one coordinate."""
    best = 0.0
    for t in np.sort(coord):
        hit = np.mean((coord > t) == (senses == "b"))
        best = max(best, hit, 1 - hit)
    return best


def test_sense_axis_separates_what_pca_does_not():
    from minilm.project import pca

    rng = np.random.default_rng(8)
    V_fit, s_fit = two_clusters_with_big_orthogonal_variance(rng)
    V, s = two_clusters_with_big_orthogonal_variance(rng)
    frame = dr.sense_axis(V_fit, s_fit)
    assert frame.senses == ("a", "b")
    assert np.allclose(frame.axes @ frame.axes.T, np.eye(2), atol=1e-12)
    assert abs(frame.axes[0, 0]) > 0.95 and frame.axes[0, 0] > 0  # x runs from 'a' to 'b'
    assert abs(frame.axes[1, 1]) > 0.95  # y: the big shared spread
    xy = dr.project_on_sense_axis(V, frame)
    assert xy.shape == (len(V), 2)
    assert np.mean((xy[:, 0] > 0) == (s == "b")) > 0.95  # 0 is the nearest-centroid boundary
    assert separation(pca(V, 2)[:, 0], s) < 0.75  # PCA's first axis mixes the senses
    x_label, _ = dr.sense_axis_labels(frame)
    assert "'b'" in x_label and "'a'" in x_label


def test_sense_axis_order_and_bad_input():
    rng = np.random.default_rng(9)
    V, s = two_clusters_with_big_orthogonal_variance(rng, n=20)
    flipped = dr.sense_axis(V, s, order=("b", "a"))
    assert np.allclose(flipped.axes[0], -dr.sense_axis(V, s).axes[0])
    with pytest.raises(MinilmError):
        dr.sense_axis(V, np.array(["a"] * 20))
    with pytest.raises(MinilmError):
        dr.sense_axis(V, np.array(["a", "b", "c", "d"] * 5))
    with pytest.raises(MinilmError):
        dr.sense_axis(np.zeros((4, 3)), np.array(["a", "b"] * 2))


def test_skew_measures_find_the_planted_skew_on_the_right_pairs_only():
    words = [f"x{i}" for i in range(6)] + [f"y{i}" for i in range(6)] + ["n0", "n1"]
    skews = np.array([0.9] * 6 + [0.1] * 6 + [0.5, 0.5])
    unrelated = [(f"n{i}", f"n{i + 1}") for i in range(2, 9, 2)]  # pairs that differ at random
    planted_r, unrelated_r = [], []
    for seed in range(8):
        kv, g, pairs = planted_space(np.random.default_rng(seed), D=200)
        r = dr.skew_measures(
            kv,
            words,
            skews,
            {"planted": pairs, "unrelated": unrelated},
            [a for a, _ in pairs],
            [b for _, b in pairs],
            np.random.default_rng(0),
        )
        planted_r.append(r["pairs"]["planted"]["pearson"])
        unrelated_r.append(r["pairs"]["unrelated"]["pearson"])
        assert r["pairs"]["planted"]["pc1_share"] > 3 * r["pairs"]["planted"]["pc2_share"]
        assert r["association_r"] > 0.8
        w = r["weat"]  # X = the six x words, Y = the six y words; n0, n1 at 0.5 are left out
        assert w["n_partitions"] == math.comb(12, 6) and len(w["s_X"]) == len(w["s_Y"]) == 6
        assert w["effect_size"] > 1.2 and w["p_value"] < 0.01
    assert min(planted_r) > 0.75
    # a random direction: r by chance only (sd ~0.3 for 14 words), centred on 0
    assert np.mean(np.abs(unrelated_r)) < 0.45 and abs(np.mean(unrelated_r)) < 0.3


@pytest.mark.parametrize("metric", ["euclidean", "cosine"])
def test_sense_axis_zero_is_the_nearest_centroid_boundary(metric):
    rng = np.random.default_rng(11)
    V_fit = rng.standard_normal((60, 8)) + 0.5  # off-centre: cosine and distance disagree
    s_fit = np.array(["a", "b", "c"] * 20)[:60]
    s_fit = np.where(s_fit == "c", "a", s_fit)
    V_fit[s_fit == "b"] *= 1.8
    V = rng.standard_normal((300, 8)) * rng.uniform(0.2, 3, (300, 1)) + 0.5
    frame = dr.sense_axis(V_fit, s_fit, metric=metric)
    x = dr.project_on_sense_axis(V, frame)[:, 0]
    c = np.stack([V_fit[s_fit == s].mean(axis=0) for s in ("a", "b")])  # (2, D)
    if metric == "euclidean":
        nearest = np.linalg.norm(V[:, None] - c[None], axis=2).argmin(axis=1)
    else:
        nearest = (dr.unit_rows(V) @ dr.unit_rows(c).T).argmax(axis=1)
    assert 0.2 < nearest.mean() < 0.8  # both sides occur
    assert np.array_equal(x > 0, nearest == 1)
    y = dr.project_on_sense_axis(V_fit, frame)[:, 1]
    assert abs(y.mean()) < 1e-9  # y is centred on the fitted points
    with pytest.raises(MinilmError):
        dr.sense_axis(V_fit, s_fit, metric="manhattan")
