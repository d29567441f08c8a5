"""The lab's contextual evaluation: a saved transformer or ELMo run over annotated occurrences.

For the static-vs-contextual figure (figure 7 of `minilm.lab_figures`): the vector of each
annotated occurrence of a polysemous word (senses.tsv), with its sense - the test occurrences
the figure draws, and the train occurrences its sense axis is fitted on. The vector is the
representation the transformer's own run chose for its `sense_accuracy` (a layer or the mean of
layers, `sense_representation` in its metrics.json), so the figure's boundary x = 0 (nearest
sense centroid by cosine, centroids from the train occurrences) is the one that accuracy counts.
ELMo's vector is its learned mix of layers (minilm/contextual.py
`mix_layers`, the weights in its metrics.json). This is the one place the lab executes a model
itself; every other number comes from the child
runs' files.
"""

from __future__ import annotations

from pathlib import Path
from typing import NamedTuple

import numpy as np

from minilm.contextual import LEARNED_MIX, mix_layers
from minilm.data.text import read_lines, tokenize
from minilm.models import elmo, encoder
from minilm.runs import load_run
from minilm.truth import SenseRow, Truth, read_senses

ENCODE_BATCH = 256  # sentences per forward pass
MIN_TEST_OCCURRENCES = 20  # use held-out occurrences when each word has at least this many
LAST_LAYER = "last layer"


class WordOccurrences(NamedTuple):
    """One polysemous word's occurrence vectors: those drawn and those the axis is fitted on."""

    vectors: np.ndarray  # (n, D) the occurrences drawn (test split, else train)
    senses: list[str]  # their n senses
    fit: np.ndarray  # (m, D) every train occurrence: the sense centroids come from these
    fit_senses: list[str]  # their m senses
    split: str  # the split of `vectors`
    representation: str  # "layer k", "mean of layers" or "last layer"


Occurrences = dict[str, WordOccurrences]


def pick_occurrences(rows: list[SenseRow], per_word: int) -> tuple[str, dict[int, list[SenseRow]]]:
    """(split, {line: rows}): at most `per_word` rows of each word, in file order; held-out
    occurrences when the test split has enough of each word, else training ones."""
    test_words = [r.word for r in rows if r.split == "test"]
    counts = [test_words.count(w) for w in set(test_words)]
    split = "test" if counts and min(counts) >= MIN_TEST_OCCURRENCES else "train"
    return split, rows_by_line(rows, split, per_word)


def rows_by_line(
    rows: list[SenseRow], split: str, per_word: int | None = None
) -> dict[int, list[SenseRow]]:
    """{line: rows} of one split, at most `per_word` rows of each word (None: all), file order."""
    wanted: dict[int, list[SenseRow]] = {}
    taken: dict[str, int] = {}
    for r in rows:
        if r.split == split and (per_word is None or taken.get(r.word, 0) < per_word):
            taken[r.word] = taken.get(r.word, 0) + 1
            wanted.setdefault(r.line, []).append(r)
    return wanted


def _encode_occurrences(run, cfg, text_path: Path, wanted: dict[int, list[SenseRow]]):
    """(model ids per sentence, token position of the word, (word, sense)) per occurrence; the
    word's position is re-counted because `tokenize` drops punctuation."""
    sentences, positions, labels = [], [], []
    for ln, line in enumerate(read_lines(text_path), start=1):
        for r in wanted.get(ln, ()):
            tokens = tokenize(line)[: cfg.max_len]
            pos = len(tokenize(" ".join(line.split()[: r.index])))
            if pos < len(tokens) and tokens[pos] == r.word:
                sentences.append(run.vocab.encode(tokens))
                positions.append(pos)
                labels.append((r.word, r.sense))
    return sentences, positions, labels


def states_at(
    run, cfg, sentences: list[list[int]], positions: list[int], representation: str
) -> np.ndarray:
    """(N, D) the vector at positions[n] of sentence n (padded batches): the last layer, one
    layer ("layer k": 0 = the embeddings), the mean of the layers or ELMo's learned mix
    (weights `sense_mix_weights`), as the run's `sense_representation` names it."""
    encode = elmo.encode if run.config.get("model") == "elmo" else encoder.encode
    N, T = len(sentences), max(len(s) for s in sentences)
    ids = np.full((N, T), run.vocab.pad, dtype=np.int64)  # (N, T)
    pad_mask = np.ones((N, T), dtype=bool)
    for n, s in enumerate(sentences):  # a few thousand short sentences, once
        ids[n, : len(s)] = s
        pad_mask[n, : len(s)] = False
    at, parts = np.array(positions), []
    for b in range(0, N, ENCODE_BATCH):
        rows = slice(b, b + ENCODE_BATCH)
        states = encode(run.params, cfg, ids[rows], pad_mask[rows])  # L+1 of (n, T, D)
        here = [h[np.arange(len(h)), at[rows]] for h in states]  # L+1 of (n, D)
        if representation == LEARNED_MIX:
            parts.append(mix_layers(np.stack(here), np.array(run.metrics["sense_mix_weights"])))
        elif representation == "mean of layers":
            parts.append(np.mean(here, axis=0))
        elif representation.startswith("layer "):
            parts.append(here[int(representation.split()[1])])
        else:
            parts.append(here[-1])
    return np.concatenate(parts)


def _vectors_of(run, cfg, truth: Truth, split: str, wanted, representation: str):
    """{word: (vectors (n, D), senses)} of the wanted rows of one split; {} if none encode."""
    text_path = truth.folder / f"{split}.txt"
    if not text_path.exists():
        return {}
    sentences, positions, labels = _encode_occurrences(run, cfg, text_path, wanted)
    if not sentences:
        return {}
    vecs = states_at(run, cfg, sentences, positions, representation)  # (N, D)
    words = np.array([w for w, _ in labels])
    return {w: (vecs[words == w], [s for (x, s) in labels if x == w]) for w in sorted(set(words))}


def contextual_occurrences(run_dir: Path, truth: Truth, per_word: int = 120) -> Occurrences:
    """Vectors of annotated occurrences of each polysemous word, with their senses.

    Reads senses.tsv and runs the saved word-level transformer or ELMo (`encode`) over the
    sentences of the drawn occurrences (test split, else train; at most `per_word` each) and of
    every train occurrence (the fitting set): {word: WordOccurrences}. Empty when the corpus has no
    senses.tsv or the run is not a word-level transformer or ELMo.
    """
    path = truth.get("senses.tsv")
    if path is None:
        return {}
    run = load_run(run_dir)
    if run.vocab is None or run.config.get("tokenizer", "word") != "word":
        return {}
    model = elmo if run.config.get("model") == "elmo" else encoder
    cfg = model.Config(**run.config["model_config"])
    representation = run.metrics.get("sense_representation") or LAST_LAYER
    rows = read_senses(path)
    split, wanted = pick_occurrences(rows, per_word)
    drawn = _vectors_of(run, cfg, truth, split, wanted, representation)
    fit = _vectors_of(run, cfg, truth, "train", rows_by_line(rows, "train"), representation)
    return {
        w: WordOccurrences(v, s, *fit[w], split, representation)
        for w, (v, s) in drawn.items()
        if w in fit and len(set(fit[w][1])) == 2
    }
