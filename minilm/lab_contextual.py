"""The lab's contextual evaluation: the saved transformer run over annotated occurrences.

For the static-vs-contextual figure (figure 7 of `minilm.lab_figures`): the last-layer vector
of each annotated occurrence of a polysemous word (senses.tsv), with its sense. This is the one
place the lab executes a model itself; every other number comes from the child runs' files.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from minilm.data.text import read_lines, tokenize
from minilm.models import transformer as tf
from minilm.runs import load_run
from minilm.truth import SenseRow, Truth, read_senses

ENCODE_BATCH = 256  # sentences per forward pass
MIN_TEST_OCCURRENCES = 20  # use held-out occurrences when each word has at least this many

Occurrences = dict[str, tuple[np.ndarray, list[str]]]  # word -> (vectors (n, D), senses)


def pick_occurrences(rows: list[SenseRow], per_word: int) -> tuple[str, dict[int, list[SenseRow]]]:
    """(split, {line: rows}): at most `per_word` rows of each word, in file order; held-out
    occurrences when the test split has enough of each word, else training ones."""
    test_words = [r.word for r in rows if r.split == "test"]
    counts = [test_words.count(w) for w in set(test_words)]
    split = "test" if counts and min(counts) >= MIN_TEST_OCCURRENCES else "train"
    wanted: dict[int, list[SenseRow]] = {}
    taken: dict[str, int] = {}
    for r in rows:
        if r.split == split and taken.get(r.word, 0) < per_word:
            taken[r.word] = taken.get(r.word, 0) + 1
            wanted.setdefault(r.line, []).append(r)
    return split, wanted


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


def last_layer_at(run, cfg, sentences: list[list[int]], positions: list[int]) -> np.ndarray:
    """(N, D) the last-layer vector at positions[n] of sentence n (padded batches)."""
    N, T = len(sentences), max(len(s) for s in sentences)
    ids = np.full((N, T), run.vocab.pad, dtype=np.int64)  # (N, T)
    pad_mask = np.ones((N, T), dtype=bool)
    for n, s in enumerate(sentences):  # a few hundred short sentences, once
        ids[n, : len(s)] = s
        pad_mask[n, : len(s)] = False
    parts = []
    for b in range(0, N, ENCODE_BATCH):
        rows = slice(b, b + ENCODE_BATCH)
        parts.append(tf.encode(run.params, cfg, ids[rows], pad_mask[rows])[-1])  # (n, T, D)
    h = np.concatenate(parts)  # (N, T, D)
    return h[np.arange(N), np.array(positions)]


def contextual_occurrences(run_dir: Path, truth: Truth, per_word: int = 120) -> Occurrences:
    """Last-layer vectors of annotated occurrences of each polysemous word, with their senses.

    Reads senses.tsv (test split, else train), re-tokenises each line, and runs the saved
    word-level transformer (`encode`) over those sentences: {word: (vectors (n, D), senses)}.
    Empty when the corpus has no senses.tsv or the run is not a word-level transformer.
    """
    path = truth.get("senses.tsv")
    if path is None:
        return {}
    run = load_run(run_dir)
    if run.vocab is None or run.config.get("tokenizer", "word") != "word":
        return {}
    cfg = tf.Config(**run.config["model_config"])
    split, wanted = pick_occurrences(read_senses(path), per_word)
    text_path = truth.folder / f"{split}.txt"
    if not text_path.exists():
        return {}
    sentences, positions, labels = _encode_occurrences(run, cfg, text_path, wanted)
    if not sentences:
        return {}
    vecs = last_layer_at(run, cfg, sentences, positions)  # (N, D)
    out = {}
    for word in sorted({w for w, _ in labels}):
        keep = np.array([w == word for w, _ in labels])
        out[word] = (vecs[keep], [s for (w, s) in labels if w == word])
    return out
