"""Generating the corpus: splits from the frames, paraphrase pairs, held-out triples."""

from __future__ import annotations

import numpy as np

from minilm.data.world.frames import FRAMES, choice
from minilm.data.world.lexicon import (
    COLOURS,
    DEFAULT_SEED,
    DEFAULT_SENTENCES,
    PARAPHRASE_PAIRS,
    SELECTION,
    SPLIT_FRACTIONS,
    TRANSITIVE,
)
from minilm.data.world.state import Sentence, World, WorldCorpus, make_world
from minilm.errors import MinilmError


def _generate_split(world: World, n: int, mode: str) -> list[Sentence]:
    """n sentences: frame counts from a multinomial, then one shuffled list."""
    rng = world.rng
    counts = rng.multinomial(n, [w for _, w in FRAMES])
    sentences: list[Sentence] = []
    for (frame, _), k in zip(FRAMES, counts, strict=True):
        sentences.extend(frame(world, int(k), mode))
    order = rng.permutation(len(sentences))
    return [sentences[i] for i in order]


def _paraphrase_pairs(world: World, n: int, mode: str) -> list[tuple[str, str]]:
    """Pairs stating the same SVO fact in different words (active / passive / relative)."""
    rng = world.rng
    allowed = world.heldout if mode == "heldout" else ~world.heldout
    p = np.where(allowed, world.weights, 0.0)
    verbs = list(SELECTION)
    pairs: dict[str, str] = {}
    while len(pairs) < n:
        rows = world.triples[rng.choice(len(p), size=n, p=p / p.sum())]
        colours = choice(rng, COLOURS, n)
        for (s, v, o), col, u in zip(rows, colours, rng.random(n), strict=True):
            subj, verb, obj = world.nouns[s], verbs[v], world.nouns[o]
            past, part = TRANSITIVE[verb][1], TRANSITIVE[verb][3]
            if u < 0.5:
                a = f"the {subj} {past} the {col} {obj} ."
                b = f"the {obj} that the {subj} {past} was {col} ."
            else:
                a = f"the {col} {obj} was {part} by the {subj} ."
                b = f"the {subj} {past} the {obj} , which was {col} ."
            if a not in pairs and len(pairs) < n:
                pairs[a] = b
    return list(pairs.items())


def generate_world(n_sentences: int = DEFAULT_SENTENCES, seed: int = DEFAULT_SEED) -> WorldCorpus:
    """Generate the world corpus: splits, sense annotations, paraphrase pairs.

    n_sentences is the total over train/valid/test (90/5/5). Deterministic given the seed.
    """
    if n_sentences < 200:
        raise MinilmError(f"--sentences {n_sentences} is too small; use at least 200")
    rng = np.random.default_rng(seed)
    world = make_world(rng)
    sizes = {s: int(round(n_sentences * f)) for s, f in SPLIT_FRACTIONS.items()}
    sizes["train"] = n_sentences - sizes["valid"] - sizes["test"]
    splits, senses = {}, []
    for split, size in sizes.items():
        sents = _generate_split(world, size, "train" if split == "train" else "heldout")
        splits[split] = [" ".join(toks) for toks, _ in sents]
        for line, (_, marks) in enumerate(sents, start=1):
            senses.extend((split, line, i, w, sense) for i, w, sense in marks)
    scale = n_sentences / DEFAULT_SENTENCES
    paraphrases = [
        (split, a, b)
        for split, mode in (("train", "train"), ("heldout", "heldout"))
        for a, b in _paraphrase_pairs(world, max(10, int(PARAPHRASE_PAIRS[split] * scale)), mode)
    ]
    return WorldCorpus(splits, senses, paraphrases, _heldout_list(world))


def _heldout_list(world: World) -> list[tuple[str, str, str]]:
    verbs = list(SELECTION)
    return [(world.nouns[s], verbs[v], world.nouns[o]) for s, v, o in world.triples[world.heldout]]


def heldout_triples(seed: int = DEFAULT_SEED) -> list[tuple[str, str, str]]:
    """The (subject, verb, object) triples that train never states, without generating text:
    they are the first thing drawn from the seed."""
    return _heldout_list(make_world(np.random.default_rng(seed)))
