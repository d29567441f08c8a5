"""A small MTEB on the world's ground truth: any sentence encoder, six tasks, one row of scores.

MTEB (Muennighoff et al. 2022) scores an embedding model on many tasks instead of one analogy
set. Here every task's truth comes from the corpus's own answer files, so a reader knows exactly
what each number measures (docs/13-search-mteb.md):

  facts      each held-out pair of paraphrases.tsv states one fact (subject, verb, colour,
             object) in two surface forms ("the aunt saw the red car ." / "the car that the aunt
             saw was red ."); `read_facts` reads the four slots back from the two templates.
             Held-out facts never occur in train.txt, so no model can have memorised them.
  sts        graded similarity: a_i with b_j, graded by how many of the four slots the two facts
             share (4 = the same fact, a paraphrase). Spearman of cosine against the grade.
  retrieval  a query per fact, "the SUBJECT VERB the OBJECT ." (no colour); the corpus is every
             held-out sentence; the relevant ones state that subject-verb-object (both sides of
             its pair). nDCG@10 and recall@10.
  pairs      pair classification: paraphrase (a_i, b_i) or not (a_i with the b_j sharing the most
             slots with it, ties at random). Average precision of the cosine.
  clustering k-means with k = the number of classes, V-measure: the words of categories.tsv by
             category (each word encoded as a one-word sentence), and the held-out sentences by
             the category of their object.
  probe      a linear probe (softmax regression, 5-fold cross-validated accuracy): words ->
             category, sentences -> category of their subject (animal, family, occupation ...).

What they cannot tell: the world has no synonyms, so a paraphrase shares its content words
and bag-of-words methods do well on sts and pairs; only word order tells "the cat saw the pig"
from "the pig saw the cat", and the tasks hold few such pairs. Scores are for the world only.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from minilm import na
from minilm.correlation import spearman, why_no_correlation
from minilm.errors import MinilmError
from minilm.mteb_metrics import (
    average_precision,
    kmeans,
    ndcg_at_k,
    probe_accuracy,
    recall_at_k,
    v_measure,
)
from minilm.truth import read_categories, read_paraphrases

Encode = Callable[[Sequence[str]], np.ndarray]  # sentences -> (N, D)
STS_RANDOM_PER_FACT = 4  # unrelated b_j graded against each a_i (besides the paraphrase)
COLUMNS = (
    "sts",
    "retrieval_ndcg10",
    "retrieval_recall10",
    "pairs_ap",
    "cluster_words",
    "cluster_sentences",
    "probe_words",
    "probe_sentences",
)


@dataclass
class Fact:
    subject: str
    verb: str  # the simple past, as in the b side
    colour: str
    object: str

    def slots(self) -> tuple[str, str, str, str]:
        return (self.subject, self.verb, self.colour, self.object)


@dataclass
class Tasks:
    """Everything the six tasks need, built once per corpus (`build_tasks`)."""

    a: list[str]  # held-out sentence a_i
    b: list[str]  # its paraphrase b_i
    facts: list[Fact]
    sts_pairs: np.ndarray  # (P, 2) indices (i into a, j into b)
    sts_grades: np.ndarray  # (P,) shared slots 0..4
    pair_labels: np.ndarray  # (2F,) 1 paraphrase, 0 hard negative; pairs (i, pair_b[n])
    pair_b: np.ndarray  # (2F,)
    queries: list[str]
    relevant: list[set[int]]  # indices into corpus = a + b
    words: list[str]
    word_labels: list[str]
    object_labels: list[str]  # per corpus sentence
    subject_labels: list[str]


def parse_fact(a: str, b: str) -> Fact | None:
    """The four slots of a pair written by the world's paraphrase templates, or None."""
    ta, tb = a.split(), b.split()
    if len(ta) == 9 and ta[5] == "by" and len(tb) == 10:  # the C O was P by the S . / the S V ...
        fact = Fact(ta[7], tb[2], ta[1], ta[2])
    elif len(ta) == 7 and len(tb) == 9 and tb[2] == "that":  # the S V the C O . / the O that ...
        fact = Fact(ta[1], ta[2], ta[4], ta[5])
    else:
        return None
    return fact if {fact.subject, fact.object, fact.colour} <= set(tb) else None


def read_facts(path: Path) -> tuple[list[str], list[str], list[Fact]]:
    """The held-out pairs of paraphrases.tsv whose fact parses: (a sides, b sides, facts)."""
    a, b, facts = [], [], []
    for row in read_paraphrases(path):
        fact = parse_fact(row.a, row.b) if row.split == "heldout" else None
        if fact is not None:
            a.append(row.a)
            b.append(row.b)
            facts.append(fact)
    if len(facts) < 20:
        raise MinilmError(f"{path}: fewer than 20 held-out pairs in the world's templates")
    return a, b, facts


def _shared(facts: list[Fact]) -> np.ndarray:
    """(F, F) number of equal slots between fact i and fact j."""
    slots = np.array([f.slots() for f in facts])  # (F, 4) strings
    return sum((slots[:, s][:, None] == slots[:, s][None, :]).astype(np.int64) for s in range(4))


def _sts_and_pairs(shared: np.ndarray, rng: np.random.Generator):
    """STS pairs and grades; pair classification's positives and hard negatives."""
    F = shared.shape[0]
    pairs = [(i, i) for i in range(F)]
    for i in range(F):
        others = np.flatnonzero(np.arange(F) != i)
        pairs += [(i, int(j)) for j in rng.choice(others, STS_RANDOM_PER_FACT, replace=False)]
        close = others[shared[i, others] >= 2]  # the rare grades 2-3: take one if there is one
        if close.size:
            pairs.append((i, int(rng.choice(close))))
    sts = np.array(pairs)
    noise = rng.random((F, F)) * 0.5  # ties among equally close negatives broken at random
    masked = np.where(np.eye(F, dtype=bool), -1, shared + noise)
    hard = masked.argmax(axis=1)
    pair_b = np.concatenate([np.arange(F), hard])
    labels = np.concatenate([np.ones(F), np.zeros(F)])
    return sts, shared[sts[:, 0], sts[:, 1]], labels, pair_b


def build_tasks(folder: Path, rng: np.random.Generator) -> Tasks:
    """The tasks of a corpus folder holding paraphrases.tsv and categories.tsv."""
    a, b, facts = read_facts(folder / "paraphrases.tsv")
    words, word_labels = read_categories(folder / "categories.tsv")
    category = dict(zip(words, word_labels, strict=True))
    sts, grades, labels, pair_b = _sts_and_pairs(_shared(facts), rng)
    triples: dict[tuple[str, str, str], set[int]] = {}
    F = len(facts)
    for i, f in enumerate(facts):
        triples.setdefault((f.subject, f.verb, f.object), set()).update({i, F + i})
    queries = [f"the {s} {v} the {o} ." for s, v, o in triples]
    objects = [category.get(f.object, "other") for f in facts] * 2
    subjects = [category.get(f.subject, "other") for f in facts] * 2
    return Tasks(
        a,
        b,
        facts,
        sts,
        grades,
        labels,
        pair_b,
        queries,
        list(triples.values()),
        words,
        word_labels,
        objects,
        subjects,
    )


def _unit(X: np.ndarray) -> np.ndarray:
    X = np.asarray(X, dtype=np.float64)
    return X / np.maximum(np.linalg.norm(X, axis=1, keepdims=True), 1e-12)


def run_mteb(encode: Encode, tasks: Tasks, seed: int = 0) -> dict:
    """One row of the table: every score of `COLUMNS` for one encoder; a score with nothing
    to be computed on (no query, a constant column, too few items) is None, and the row's
    `why_na` says why (minilm/na.py)."""
    rng = np.random.default_rng(seed)
    A, B = _unit(encode(tasks.a)), _unit(encode(tasks.b))
    corpus = np.concatenate([A, B])
    W = _unit(encode(tasks.words))
    Q = _unit(encode(tasks.queries))
    row: dict = {}
    cos = np.sum(A[tasks.sts_pairs[:, 0]] * B[tasks.sts_pairs[:, 1]], 1)
    why = why_no_correlation(cos, tasks.sts_grades, len(cos), "graded pairs")
    na.measure(row, "sts", lambda: spearman(cos, tasks.sts_grades), why)
    ranked = np.argsort(-(Q @ corpus.T), axis=1, kind="stable")[:, :10]
    na.measure(row, "retrieval_ndcg10", lambda: ndcg_at_k(ranked, tasks.relevant, 10))
    na.measure(row, "retrieval_recall10", lambda: recall_at_k(ranked, tasks.relevant, 10))
    i = np.concatenate([np.arange(len(tasks.a))] * 2)
    pair_cos = np.sum(A[i] * B[tasks.pair_b], 1)
    na.measure(row, "pairs_ap", lambda: average_precision(pair_cos, tasks.pair_labels))
    n_cats, n_obj = len(set(tasks.word_labels)), len(set(tasks.object_labels))
    na.measure(row, "cluster_words", lambda: v_measure(tasks.word_labels, kmeans(W, n_cats, rng)))
    na.measure(
        row,
        "cluster_sentences",
        lambda: v_measure(tasks.object_labels, kmeans(corpus, n_obj, rng)),
    )
    na.measure(row, "probe_words", lambda: probe_accuracy(W, np.array(tasks.word_labels), rng))
    subjects = np.array(tasks.subject_labels)
    na.measure(row, "probe_sentences", lambda: probe_accuracy(corpus, subjects, rng))
    return row
