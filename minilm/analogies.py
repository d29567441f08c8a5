"""Word analogies a : b :: c : d, scored under both protocols (minilm/evaluate.py's first figure).

The file is word2vec's questions-words.txt (read by minilm/truth.py `read_analogies`). The
answer d is searched as b - a + c (3CosAdd) or by 3CosMul (Levy & Goldberg 2014), once with the
three query words excluded from the answers (word2vec / gensim's convention) and once without:
without the exclusion the top answer is very often a query word (usually b), so the share of
such answers and the rank of the expected answer are reported too (Linzen 2016).
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field

import numpy as np

from minilm import na
from minilm.truth import read_analogies
from minilm.vectors import KeyedVectors, analogy_scores

# Ask for at most this many (question x vocabulary) scores at once: bounds memory, keeps BLAS busy.
_SCORE_BLOCK = 1 << 23


def section_kind(name: str) -> str:
    """word2vec's convention, kept by the world corpus: `gram*` sections are syntactic."""
    return "syntactic" if name.lower().startswith("gram") else "semantic"


# ---- analogies ---------------------------------------------------------------------------
def lowercase_index(kv: KeyedVectors) -> dict[str, int]:
    """Lower-cased word -> first row (files are frequency-ordered: the most frequent form wins)."""
    index: dict[str, int] = {}
    for i, w in enumerate(kv.words):
        index.setdefault(w.lower(), i)
    return index


def _accuracy(correct: int, total: int) -> float | None:
    return correct / total if total else None


def evaluate_analogies(
    kv: KeyedVectors,
    path: str | os.PathLike,
    exclude_query: bool = True,
    oov_wrong: bool = False,
    method: str = "3cosadd",
) -> dict:
    """Analogy accuracy per section and overall, semantic vs syntactic, under both protocols.

    For question a b c d the answer is argmax over the vocabulary of the method's score
    (3CosAdd: cos(x, b) - cos(x, a) + cos(x, c)), computed for a whole section in blocks of
    matrix products. Both protocols are always computed; `exclude_query` only selects which one
    the headline `accuracy` reports. Questions with an out-of-vocabulary word are skipped and
    counted (`n_oov`), or counted as wrong with `oov_wrong=True`.

    Returned keys (accuracies are None when nothing was evaluated, the reason in `why_na`):
      accuracy, accuracy_excluded, accuracy_no_exclusion, query_word_share (share of unexcluded
      top-1 answers that are a query word) and query_word_share_by_role {a, b, c},
      mean_rank / median_rank of d under the excluded protocol (1 = first; rank = 1 + number of
      candidates scoring strictly higher), semantic / syntactic {accuracy_excluded,
      accuracy_no_exclusion, n}, n_questions, n_evaluated, n_oov, sections [per-section dicts],
      method, oov_wrong.
    """
    index = lowercase_index(kv)
    sections, kinds, all_ranks = [], {"semantic": _Tally(), "syntactic": _Tally()}, []
    for name, questions in read_analogies(path):
        ids = np.array([[index.get(w, -1) for w in q] for q in questions], dtype=np.int64)  # (Q,4)
        known = (ids >= 0).all(axis=1)
        tally, ranks = _score_questions(kv, ids[known], method)
        tally.n_oov = len(questions) - tally.n
        kind = section_kind(name)
        kinds[kind].add(tally)
        all_ranks.append(ranks)
        head = {"name": name, "kind": kind, "n_questions": len(questions)}
        sections.append(head | tally.figures(oov_wrong) | _rank_figures(ranks))
    total = _Tally()
    for tally in kinds.values():
        total.add(tally)
    result = {
        "method": method,
        "oov_wrong": oov_wrong,
        "n_questions": total.n + total.n_oov,
        **total.figures(oov_wrong),
        **_rank_figures(np.concatenate(all_ranks)),
    }
    result["query_word_share_by_role"] = {
        role: _accuracy(int(k), total.n) for role, k in zip("abc", total.roles, strict=True)
    }
    result["sections"] = sections
    for kind, tally in kinds.items():
        figures = tally.figures(oov_wrong)
        result[kind] = {k: v for k, v in figures.items() if k != "query_word_share"}
    result["accuracy"] = result["accuracy_excluded" if exclude_query else "accuracy_no_exclusion"]
    for d in (result, *sections, result["semantic"], result["syntactic"]):
        _explain(d)
    return result


def _explain(figures: dict) -> None:
    """Mark the figures computed on no question as n/a, with why (minilm/na.py)."""
    n_oov = figures["n_oov"]
    why = (
        f"none of its {n_oov} questions has all four words in the vocabulary"
        if n_oov
        else "no question"
    )
    for key, value in list(figures.items()):
        if value is None and key not in ("name", "kind"):
            na.mark(figures, key, why)


@dataclass
class _Tally:
    """Counts of one section (or several added up) of analogy questions."""

    n: int = 0  # questions scored (all four words known)
    n_oov: int = 0  # questions with an unknown word
    correct_excluded: int = 0
    correct_unexcluded: int = 0
    query_top1: int = 0  # unexcluded top-1 answers that are a query word
    roles: np.ndarray = field(default_factory=lambda: np.zeros(3, np.int64))  # ... a, b or c

    def add(self, other: _Tally) -> None:
        self.n += other.n
        self.n_oov += other.n_oov
        self.correct_excluded += other.correct_excluded
        self.correct_unexcluded += other.correct_unexcluded
        self.query_top1 += other.query_top1
        self.roles = self.roles + other.roles

    def figures(self, oov_wrong: bool) -> dict:
        denom = self.n + (self.n_oov if oov_wrong else 0)
        return {
            "n_evaluated": self.n,
            "n_oov": self.n_oov,
            "accuracy_excluded": _accuracy(self.correct_excluded, denom),
            "accuracy_no_exclusion": _accuracy(self.correct_unexcluded, denom),
            "query_word_share": _accuracy(self.query_top1, self.n),
        }


def _rank_figures(ranks: np.ndarray) -> dict:
    return {
        "mean_rank": float(ranks.mean()) if len(ranks) else None,
        "median_rank": float(np.median(ranks)) if len(ranks) else None,
    }


def _score_questions(kv: KeyedVectors, ids: np.ndarray, method: str) -> tuple[_Tally, np.ndarray]:
    """Score (Q, 4) known questions a b c d in blocks: the tally and d's rank (excluded)."""
    unit = kv.unit
    Q, V = len(ids), unit.shape[0]
    tally, ranks = _Tally(n=Q), np.empty(Q, dtype=np.int64)
    block = max(1, _SCORE_BLOCK // V)
    for s in range(0, Q, block):
        a, b, c, d = ids[s : s + block].T  # each (q,)
        q = len(a)
        scores = analogy_scores(unit, np.stack([b, c], 1), a[:, None], method)  # (q, V)
        rows = np.arange(q)
        top_un = np.argmax(scores, axis=1)
        is_query = np.stack([top_un == a, top_un == b, top_un == c], axis=1)  # (q, 3)
        tally.query_top1 += int(is_query.any(axis=1).sum())
        tally.roles += is_query.sum(axis=0)
        tally.correct_unexcluded += int(_same(kv, top_un, d).sum())
        scores[rows[:, None], np.stack([a, b, c], 1)] = -np.inf  # the usual protocol
        top_ex = np.argmax(scores, axis=1)
        tally.correct_excluded += int(_same(kv, top_ex, d).sum())
        expected = scores[rows, d]
        ranks[s : s + q] = 1 + (scores > expected[:, None]).sum(axis=1)
    return tally, ranks


def _same(kv: KeyedVectors, predicted: np.ndarray, expected: np.ndarray) -> np.ndarray:
    """Whether predicted rows spell the expected words, ignoring case (as gensim does)."""
    if np.array_equal(predicted, expected):
        return np.ones(len(predicted), dtype=bool)
    hit = predicted == expected
    for i in np.flatnonzero(~hit):  # only the misses: a different row may be another case form
        hit[i] = kv.words[predicted[i]].lower() == kv.words[expected[i]].lower()
    return hit
