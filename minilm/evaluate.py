"""One evaluation protocol for any word vectors: analogies, similarity, category purity, and more.

File formats are the field's own, read by `minilm.truth` (one reader per file):
- analogies: word2vec's questions-words.txt - `: section` lines, then `a b c d` lines meaning
  a : b :: c : d (Athens Greece Baghdad Iraq). The answer to d is searched as b - a + c.
- similarity: `word1<TAB>word2<TAB>score` (whitespace also accepted; `#` lines are comments).
- categories: `word<TAB>category[<TAB>more levels...]` (`#` lines are comments).

Analogies are scored under **both protocols**: with the three query words excluded from the
answers (word2vec / gensim's convention) and without. Levy & Goldberg (2014) and Linzen (2016)
showed how much the exclusion hides: without it, the top answer is very often a query word
(usually b), so we report that share too, and the rank of the expected answer.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from minilm import directions, na
from minilm.analogies import (  # noqa: F401  (re-exported: `evaluate.evaluate_analogies` works)
    evaluate_analogies,
    lowercase_index,
    section_kind,
)
from minilm.correlation import (  # noqa: F401  (re-exported: `evaluate.spearman` works)
    pearson,
    rankdata,
    spearman,
    why_no_correlation,
)
from minilm.errors import MinilmError
from minilm.na import NotMeasurable
from minilm.truth import (  # noqa: F401  (read_* re-exported: `evaluate.read_analogies` works)
    BUNDLED_WORLD,
    Analogy,
    Truth,
    read_analogies,
    read_bias,
    read_categories,
    read_similarity,
)
from minilm.vectors import KeyedVectors

CATEGORY_LEVELS = {"fine": 1, "coarse": 2}


# ---- similarity ----------------------------------------------------------------------------
def evaluate_similarity(kv: KeyedVectors, path: str | os.PathLike) -> dict:
    """Spearman and Pearson correlation of cosine similarity with human scores.

    Returns {spearman, pearson, n_pairs, n_used, n_oov, oov_examples}; correlations are None
    when fewer than two pairs are in the vocabulary or a column is constant (why: `why_na`).
    """
    pairs = read_similarity(path)
    index = lowercase_index(kv)
    ids = np.array([[index.get(a, -1), index.get(b, -1)] for a, b, _ in pairs], dtype=np.int64)
    gold = np.array([s for _, _, s in pairs], dtype=np.float64)
    known = (ids >= 0).all(axis=1)
    u = kv.unit
    cos = np.einsum("nd,nd->n", u[ids[known, 0]], u[ids[known, 1]]).astype(np.float64)  # (n,)
    oov = [f"{a}-{b}" for (a, b, _), k in zip(pairs, known, strict=True) if not k]
    found = {
        "n_pairs": len(pairs),
        "n_used": int(known.sum()),
        "n_oov": len(oov),
        "oov_examples": oov[:10],
    }
    why = why_no_correlation(cos, gold[known], len(pairs), "pairs in the vocabulary")
    na.measure(found, "spearman", lambda: spearman(cos, gold[known]), why)
    return na.measure(found, "pearson", lambda: pearson(cos, gold[known]), why)


# ---- category purity (defined once, used by every model) ---------------------------------
def same_label_by_rank(vectors: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """(n, n-1) bool: [i, r] is True when point i's (r+1)-th nearest neighbour by cosine (itself
    excluded) shares its label. Ties go to the earlier point (a stable sort): deterministic."""
    vectors = np.asarray(vectors, dtype=np.float64)
    labels = np.asarray(labels)
    if len(vectors) < 2:
        raise NotMeasurable("category purity needs at least two words in the vocabulary")
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    u = vectors / np.where(norms > 0, norms, 1)
    sims = u @ u.T  # (n, n)
    np.fill_diagonal(sims, -np.inf)
    nbrs = np.argsort(-sims, axis=1, kind="stable")[:, :-1]  # (n, n-1), itself (last) dropped
    return labels[nbrs] == labels[:, None]


def neighbour_purity(vectors: np.ndarray, labels: np.ndarray, k: int = 5) -> np.ndarray:
    """Per point: the fraction of its k nearest neighbours by cosine (itself excluded) that share
    its label (k is capped at n - 1)."""
    return same_label_by_rank(vectors, labels)[:, :k].mean(axis=1)


def _listed_words(
    kv: KeyedVectors, path: str | os.PathLike, column: int, level: str | None
) -> tuple[np.ndarray, np.ndarray, int, int]:
    """The categories file's words found in kv: (rows in kv, labels, words listed, column)."""
    if level is not None:
        if level not in CATEGORY_LEVELS:
            raise MinilmError(f"unknown category level {level!r}; choose {sorted(CATEGORY_LEVELS)}")
        column = CATEGORY_LEVELS[level]
    words, cats = read_categories(path, column)
    index = lowercase_index(kv)
    present = [(index[w], c) for w, c in zip(words, cats, strict=True) if w in index]
    if len(present) < 2:
        raise NotMeasurable(
            f"{Path(path).name}: {len(present)} of its {len(words)} words in the vocabulary, "
            "a purity needs 2"
        )
    rows = np.array([r for r, _ in present], dtype=np.int64)
    return rows, np.array([c for _, c in present]), len(words), column


def category_purity_details(
    kv: KeyedVectors,
    path: str | os.PathLike,
    k: int = 5,
    column: int = 1,
    level: str | None = None,
) -> dict:
    """category_purity with its parts: {purity, per_category, n_words, n_oov, k, column}.

    Words of the file missing from the vocabulary are left out (and counted); the
    neighbours are searched among the listed words that are present.
    """
    rows, labels, n_listed, column = _listed_words(kv, path, column, level)
    per_word = neighbour_purity(kv.vectors[rows], labels, k)
    per_category = {str(c): float(per_word[labels == c].mean()) for c in sorted(set(labels))}
    return {
        "purity": float(per_word.mean()),
        "per_category": per_category,
        "n_words": len(rows),
        "n_oov": n_listed - len(rows),
        "k": min(k, len(rows) - 1),
        "column": column,
    }


def category_purity(
    kv: KeyedVectors,
    path: str | os.PathLike,
    k: int = 5,
    column: int = 1,
    level: str | None = None,
) -> float:
    """For each word of the categories file: the fraction of its k nearest neighbours by cosine
    (among the listed words, itself excluded) that share its category; averaged over the words.

    `column` picks the category field (1 = the first after the word; the Elman file has
    `word fine coarse`), or `level="fine"|"coarse"` names it. Deterministic: no clustering.
    """
    return category_purity_details(kv, path, k=k, column=column, level=level)["purity"]


def category_r_precision(
    kv: KeyedVectors, path: str | os.PathLike, k: int = 5, level: str | None = None
) -> float | None:
    """category_purity with k_w = min(k, |category of w| - 1): reachable on small categories.

    With a fixed k a word whose category has fewer than k other members cannot score 1, so on
    Elman's fine categories (1-4 words each) even perfect vectors reach only ~0.37. Here each
    word looks at as many neighbours as it has category mates (at most k): R-precision, the
    information-retrieval measure. Words alone in their category are left out; None if all are.
    Too few words in the vocabulary: NotMeasurable (minilm/na.py).
    """
    rows, labels, _, _ = _listed_words(kv, path, 1, level)
    same = same_label_by_rank(kv.vectors[rows], labels)  # (n, n-1)
    k_w = np.minimum(k, same.sum(axis=1))  # every mate is somewhere in the ranking
    has_mates = k_w > 0
    if not has_mates.any():
        return None
    hits = np.cumsum(same, axis=1)[has_mates, k_w[has_mates] - 1]  # mates among the first k_w
    return float(np.mean(hits / k_w[has_mates]))


# ---- geometry: anisotropy and bias -------------------------------------------------------
def anisotropy(vectors: np.ndarray, rng: np.random.Generator, n_pairs: int = 10000) -> dict:
    """Mean cosine of random pairs of distinct rows (Ethayarajh 2019), raw and mean-centred.

    Isotropic vectors give ~0; a common direction shared by all vectors pushes it towards 1.
    Returns {mean_cosine, mean_cosine_centred, n_pairs}; the cosines are None (undefined) when
    there are fewer than two vectors, e.g. a one-word corpus.
    """
    vectors = np.asarray(vectors, dtype=np.float64)
    n = len(vectors)
    if n < 2:
        found = {"n_pairs": 0}
        for key in ("mean_cosine", "mean_cosine_centred"):
            na.mark(found, key, f"{n} vector{'' if n == 1 else 's'}; a pair needs 2")
        return found
    i = rng.integers(0, n, n_pairs)
    j = (i + rng.integers(1, n, n_pairs)) % n  # j != i: an offset in 1..n-1

    def mean_cos(x: np.ndarray) -> float:
        norms = np.linalg.norm(x, axis=1, keepdims=True)
        u = x / np.where(norms > 0, norms, 1)
        return float(np.einsum("nd,nd->n", u[i], u[j]).mean())

    return {
        "mean_cosine": mean_cos(vectors),
        "mean_cosine_centred": mean_cos(vectors - vectors.mean(axis=0)),
        "n_pairs": int(n_pairs),
    }


def bias_direction(kv: KeyedVectors, pairs: list[tuple[str, str]] = (("he", "she"),)) -> np.ndarray:
    """A unit 'gender' direction (Bolukbasi et al. 2016).

    One pair: normalise(u_he - u_she). Several pairs: the first principal component of the pairs'
    centred members (each pair minus its own mean), signed so that (u_he - u_she) . g > 0.
    """
    pairs = list(pairs)
    u = kv.unit
    diffs = np.stack([u[kv.index(a)] - u[kv.index(b)] for a, b in pairs]).astype(np.float64)
    if len(pairs) == 1:
        g = diffs[0]
    else:
        # Each pair (a, b) centred on its mean contributes +-(a - b)/2: the PCA of those rows.
        centred = np.concatenate([diffs / 2, -diffs / 2])
        g = np.linalg.svd(centred, full_matrices=False)[2][0]
        g = g if g @ diffs[0] > 0 else -g
    norm = np.linalg.norm(g)
    if norm == 0:
        raise MinilmError(f"the words of {pairs[0]} have identical vectors; no direction")
    return g / norm


def bias_projection(kv: KeyedVectors, words: list[str], direction: np.ndarray) -> np.ndarray:
    """Each word's cosine with the direction: u_w . g (positive = towards 'he')."""
    return (kv.unit[kv.indices(words)] @ direction).astype(np.float64)


def bias_correlation(
    kv: KeyedVectors,
    words: list[str],
    skews: np.ndarray,
    pairs: list[tuple[str, str]] = (("he", "she"),),
) -> dict:
    """Projections of `words` on the he-she direction against their planted skews.

    Words missing from the vocabulary are skipped. Returns {pearson, spearman, words,
    projections, skews, n_used, n_oov}."""
    g = bias_direction(kv, pairs)
    keep = [i for i, w in enumerate(words) if w in kv]
    used = [words[i] for i in keep]
    proj = bias_projection(kv, used, g)
    s = np.asarray(skews, dtype=np.float64)[keep]
    return {
        "pearson": pearson(proj, s),
        "spearman": spearman(proj, s),
        "words": used,
        "projections": proj.tolist(),
        "skews": s.tolist(),
        "n_used": len(used),
        "n_oov": len(words) - len(used),
    }


# WEAT's permutation test draws from a generator seeded with this constant (when the
# re-partitions are too many to enumerate), so a table's bias figures are reproducible.
WEAT_SEED = 0


def evaluate_bias(
    kv: KeyedVectors,
    path: str | os.PathLike,
    pairs: list[tuple[str, str]],
    rng: np.random.Generator,
) -> dict | None:
    """Does the skew planted in bias.tsv (each occupation's he-share) show in the vectors?

    `pairs` are definitional pairs, male word first (the world's gendered nouns: man/woman,
    king/queen, ...); those the table lacks are dropped. Main figure (`pearson`, `spearman`):
    the occupations' cosines with the first principal component of the pairs
    (`directions.definitional_direction`, Bolukbasi et al. 2016) against the planted share, with
    that component's variance share (`pc1_share`). `pearson_he_she` is the single he - she
    direction, kept as the contrast: on the world corpus it is the wrong ruler (see
    docs/bias-findings.md). `weat_d`, `weat_p`: WEAT (Caliskan et al. 2017) of the occupations
    planted above 0.5 against those below, attributes = the pairs' male and female words; the
    permutation test uses `rng` only when re-partitions are too many to enumerate.
    None when no pair or fewer than three occupations are in the vocabulary.
    """
    words, measured, planted = read_bias(path)
    pairs = [(a, b) for a, b in pairs if a in kv and b in kv]
    keep = [i for i, w in enumerate(words) if w in kv]
    if not pairs or len(keep) < 3:
        return None
    used, skews = [words[i] for i in keep], planted[keep]
    sets = {"definitional": pairs}
    if "he" in kv and "she" in kv:
        sets["he-she"] = [("he", "she")]  # the contrast
    male, female = [a for a, _ in pairs], [b for _, b in pairs]
    found = directions.skew_measures(kv, used, skews, sets, male, female, rng)
    proj, he_she = (
        directions.projections(kv, used, directions.definitional_direction(kv, sets[name]))
        if name in sets
        else None
        for name in ("definitional", "he-she")
    )
    weat = found["weat"] or {}
    return {
        "pearson": found["pairs"]["definitional"]["pearson"],
        "spearman": spearman(proj, skews),
        "pc1_share": found["pairs"]["definitional"]["pc1_share"],
        "pearson_he_she": found["pairs"].get("he-she", {}).get("pearson"),
        "weat_d": weat.get("effect_size"),
        "weat_p": weat.get("p_value"),
        "pearson_measured": pearson(proj, measured[keep]),
        "pairs": [list(p) for p in pairs],
        "n_pairs": len(pairs),
        "words": used,
        "projections": proj.tolist(),
        "projections_he_she": None if he_she is None else he_she.tolist(),
        "skews": skews.tolist(),
        "n_used": len(used),
        "n_oov": len(words) - len(used),
    }


def perplexity(total_nll: float, n_tokens: int) -> float:
    """exp(total negative log-likelihood in nats / number of predicted tokens)."""
    if n_tokens <= 0:
        raise MinilmError("perplexity needs at least one predicted token")
    with np.errstate(over="ignore"):  # inf: a diverged model, refused by its caller
        return float(np.exp(total_nll / n_tokens))


# ---- the standard figures of a training run ----------------------------------------------

GROUND_TRUTH = ("categories.tsv", "analogies.txt", "similarity.tsv")


def retrieval_recall_at_1(a: np.ndarray, b: np.ndarray) -> float:
    """Fraction of rows i whose nearest b by cosine (among all rows of b) is b_i. a, b (N, D).
    No row: NotMeasurable.

    (Paraphrase retrieval: a_i a sentence's vector, b_i its paraphrase's; minilm/contextual.py.)
    """
    if len(a) == 0:
        raise NotMeasurable("recall@1 with no pair to retrieve")
    u = a / np.maximum(np.linalg.norm(a, axis=1, keepdims=True), 1e-12)
    v = b / np.maximum(np.linalg.norm(b, axis=1, keepdims=True), 1e-12)
    return float(np.mean((u @ v.T).argmax(axis=1) == np.arange(len(a))))


def ground_truth_files(corpus: str | os.PathLike | None) -> dict[str, Path]:
    """The evaluation files in (or beside) the corpus a model was trained on; corpus None is the
    bundled world (the training scripts' default corpus), so its own files."""
    files = Truth.beside(corpus if corpus else BUNDLED_WORLD).files
    return {name: files[name] for name in GROUND_TRUTH if name in files}


def evaluate_embedding(kv: KeyedVectors, files: dict[str, Path]) -> dict:
    """The embedding figures of metrics.json: purity, analogies (both protocols), similarity.

    Only the figures whose ground-truth file is in `files` are computed.
    """
    metrics: dict = {}
    if "categories.tsv" in files:
        na.measure(metrics, "category_purity", lambda: category_purity(kv, files["categories.tsv"]))
    if "analogies.txt" in files:
        an = evaluate_analogies(kv, files["analogies.txt"])
        for key, theirs in (
            ("analogy_accuracy", "accuracy_excluded"),
            ("analogy_accuracy_no_exclusion", "accuracy_no_exclusion"),
            ("analogy_query_word_share", "query_word_share"),
        ):
            na.measure(metrics, key, lambda k=theirs: an[k], na.reason(an, theirs) or "")
        metrics["analogy_questions_used"] = an["n_evaluated"]
        metrics["analogy_questions_oov"] = an["n_oov"]
        metrics["analogy_semantic"] = an["semantic"]
        metrics["analogy_syntactic"] = an["syntactic"]
        keys = ("accuracy_excluded", "accuracy_no_exclusion", "query_word_share", "n_evaluated")
        metrics["analogy_sections"] = {
            s["name"]: {k: s[k] for k in (*keys, "n_oov")} for s in an["sections"]
        }
    if "similarity.tsv" in files:
        sim = evaluate_similarity(kv, files["similarity.tsv"])
        na.measure(
            metrics,
            "similarity_spearman",
            lambda: sim["spearman"],
            na.reason(sim, "spearman") or "",
        )
        metrics["similarity_pairs_used"] = sim["n_used"]
        metrics["similarity_pairs_oov"] = sim["n_oov"]
    return metrics


# ---- every figure of one table, as the lab compares them ---------------------------------
def purity_chance(categories: list[str]) -> float:
    """Expected category purity of random neighbours: sum_c n_c (n_c - 1) / (N (N - 1))."""
    _, counts = np.unique(np.asarray(categories), return_counts=True)
    N = counts.sum()
    return float((counts * (counts - 1)).sum() / max(1, N * (N - 1)))


def showcase_analogy(kv: KeyedVectors, analogies: Path | None) -> Analogy | None:
    """The analogy (a, b, c, d) shown as an example, meaning b - a + c = d: man king woman queen
    when all four words are known, else the first question of the file whose words all are."""
    if {"man", "king", "woman", "queen"} <= set(kv.key_to_index):
        return ("man", "king", "woman", "queen")
    if analogies is None:
        return None
    for _, questions in read_analogies(analogies):
        for q in questions:
            if all(w in kv for w in q):
                return q
    return None


def analogy_example(kv: KeyedVectors, query: Analogy, topn: int = 5) -> dict:
    """The top answers to b - a + c under both protocols, for a report's table."""
    a, b, c, d = query
    return {
        "query": f"{b} - {a} + {c}",
        "expected": d,
        "excluded": kv.most_similar([b, c], [a], topn=topn, exclude_query=True),
        "no_exclusion": kv.most_similar([b, c], [a], topn=topn, exclude_query=False),
    }


def category_figures(kv: KeyedVectors, path: Path) -> dict:
    """category_purity with its per-category parts; None (and why) when too few are known."""
    try:
        details = category_purity_details(kv, path)
    except NotMeasurable as err:
        return na.mark({}, "category_purity", str(err))
    return {
        "category_purity": details["purity"],
        "category_purity_per_category": details["per_category"],
        "category_words": details["n_words"],
    }


BIAS_KEYS = (
    "pearson",
    "spearman",
    "pc1_share",
    "pearson_he_she",
    "weat_d",
    "weat_p",
    "n_pairs",
    "words",
    "projections",
    "projections_he_she",
    "skews",
    "n_used",
)


def evaluate_vectors(
    kv: KeyedVectors,
    files: dict[str, Path],
    rng: np.random.Generator,
    example: Analogy | None = None,
    gender_pairs: list[tuple[str, str]] | None = None,
) -> dict:
    """Every figure of one vector table on the ground truth in `files` (a `Truth`'s files):
    `evaluate_embedding`'s, category details, anisotropy, an example analogy, and the bias of
    bias.tsv on the direction of `gender_pairs` (the corpus' definitional pairs, male word
    first; `evaluate_bias`). A figure whose file is absent is left out; one whose words are
    absent is None, with the reason in `why_na` (minilm/na.py)."""
    m: dict = {"vocab_size": len(kv), "dim": kv.dim}
    na.merge(m, evaluate_embedding(kv, {n: p for n, p in files.items() if n != "categories.tsv"}))
    if (path := files.get("categories.tsv")) is not None:
        na.merge(m, category_figures(kv, path))
    if example is not None and all(w in kv for w in example):
        m["analogy_example"] = analogy_example(kv, example)
    aniso = anisotropy(kv.vectors, rng, n_pairs=5000)
    for key, theirs in (
        ("anisotropy", "mean_cosine"),
        ("anisotropy_centred", "mean_cosine_centred"),
    ):
        na.measure(m, key, lambda k=theirs: aniso[k], na.reason(aniso, theirs) or "")
    if (path := files.get("bias.tsv")) is not None and gender_pairs:
        bias = evaluate_bias(kv, path, gender_pairs, np.random.default_rng(WEAT_SEED))
        why = "no gender pair, or fewer than 3 occupations of bias.tsv, in the vocabulary"
        na.measure(m, "bias", lambda: bias and {k: bias[k] for k in BIAS_KEYS}, why)
    return m
