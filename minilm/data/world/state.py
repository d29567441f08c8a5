"""The seeded world: preferences, held-out SVO triples and held-out sense combinations."""

from __future__ import annotations

import itertools
import string
from dataclasses import dataclass, field

import numpy as np

from minilm.data.world.lexicon import (
    ADJECTIVES,
    HELDOUT_FRACTION,
    NOUN_GROUPS,
    SELECTION,
    SENSE_HELDOUT_FRACTION,
)
from minilm.data.world.senses import POLYSEMY, Sense
from minilm.errors import MinilmError

Sentence = tuple[list[str], list[tuple[int, str, str]]]  # tokens, (token index, word, sense)


@dataclass
class World:
    """Everything seeded once per world: preferences and the held-out SVO triples."""

    rng: np.random.Generator
    nouns: tuple[str, ...]  # every noun that can fill an SVO slot
    triples: np.ndarray  # (R, 3) int: subject noun id, verb id, object noun id
    weights: np.ndarray  # (R,) float64: sampling weight of each triple
    heldout: np.ndarray  # (R,) bool: never stated in train
    adj_pref: dict[str, tuple[tuple[str, ...], np.ndarray]] = field(default_factory=dict)
    # (word, sense) -> mode ("train" / "heldout") -> per template, its sentences in that mode
    sense_sentences: dict[tuple[str, str], dict[str, list[list[str]]]] = field(default_factory=dict)


@dataclass
class WorldCorpus:
    splits: dict[str, list[str]]  # split -> sentences
    senses: list[
        tuple[str, int, int, str, str]
    ]  # split, line (1-based), token (0-based), word, sense
    paraphrases: list[tuple[str, str, str]]  # split, sentence_a, sentence_b
    heldout_triples: list[tuple[str, str, str]]  # (subject, verb, object) never stated in train


def make_world(rng: np.random.Generator) -> World:
    """Draw each subject's idiosyncratic preferences and hold out a share of the SVO triples."""
    nouns = tuple(dict.fromkeys(w for g in NOUN_GROUPS.values() for w in g))
    index = {w: i for i, w in enumerate(nouns)}
    # pref[s, o]: how much subject s likes object o; Dirichlet(1) rows give every subject its
    # own profile - the identity part of its contexts - while the group stays shared.
    pref = rng.dirichlet(np.ones(len(nouns)), size=len(nouns)) * len(nouns)  # (S, O)
    rows = []
    for v_id, (subj_groups, obj_groups) in enumerate(SELECTION.values()):
        subjects = [index[w] for g in subj_groups for w in NOUN_GROUPS[g]]
        objects = [index[w] for g in obj_groups for w in NOUN_GROUPS[g]]
        for s, o in itertools.product(subjects, objects):
            rows.append((s, v_id, o, pref[s, o] / len(objects)))
    table = np.array(rows)  # (R, 4)
    triples = table[:, :3].astype(np.int64)
    weights = table[:, 3]
    heldout = rng.random(len(triples)) < HELDOUT_FRACTION
    world = World(rng, nouns, triples, weights, heldout)
    for adj, (_, _, groups) in ADJECTIVES.items():
        options = tuple(w for g in groups for w in NOUN_GROUPS[g])
        world.adj_pref[adj] = (options, rng.dirichlet(np.full(len(options), 0.5)))
    check_polysemy()
    for word, senses in POLYSEMY.items():
        for name, sense in senses.items():
            world.sense_sentences[word, name] = sense_combinations(rng, word, sense)
    return world


def slots_of(template: str) -> list[str]:
    """The slot names of a template in order of appearance: 'the {w} of the {water}' -> w, water."""
    return list(dict.fromkeys(f for _, f, _, _ in string.Formatter().parse(template) if f))


def check_polysemy() -> None:
    """The sense lexicon is consistent: every slot has fillers, every template names the word
    once and has at least two slots (so a held-out combination can reuse seen fillers), and no
    polysemous word hides in a filler, kin word or companion, where its sense would go unrecorded
    (senses.tsv must list every occurrence)."""
    for word, senses in POLYSEMY.items():
        for name, sense in senses.items():
            where = f"POLYSEMY[{word!r}][{name!r}]"
            texts = sense.templates + sense.companions
            fixed = {t for text in texts for t in text.split() if not t.startswith("{")}
            words = fixed | set(sense.kin) | {f for fs in sense.slots.values() for f in fs}
            if words & set(POLYSEMY):
                raise MinilmError(f"{where} uses {sorted(words & set(POLYSEMY))}; remove them")
            for t in sense.templates:
                slots = slots_of(t)
                if t.split().count("{w}") != 1 or len(slots) < 3:
                    raise MinilmError(f"{where}: {t!r} needs one {{w}} and two slots or more")
            for t in sense.companions:
                if set(slots_of(t)) - {"x"} - set(sense.slots):
                    raise MinilmError(f"{where}: companion {t!r} names an unknown slot")
            if {s for t in sense.templates for s in slots_of(t)} - {"w"} - set(sense.slots):
                raise MinilmError(f"{where}: a template names an unknown slot")


def sense_combinations(
    rng: np.random.Generator, word: str, sense: Sense
) -> dict[str, list[list[str]]]:
    """Split each template's filler combinations into train and held-out sentences.

    Per template, a seeded SENSE_HELDOUT_FRACTION of the combinations (at least one) is held
    out, visited in a random order and taken only if each of its fillers still fills the same
    slot in a combination left to train: a held-out sentence is new as a whole, never in its
    words or in the place a word takes.
    """
    out: dict[str, list[list[str]]] = {"train": [], "heldout": []}
    for template in sense.templates:
        slots = [s for s in slots_of(template) if s != "w"]
        combos = list(itertools.product(*(sense.slots[s] for s in slots)))
        want = max(1, int(round(SENSE_HELDOUT_FRACTION * len(combos))))
        held: set[int] = set()
        for i in rng.permutation(len(combos)):
            if len(held) == want:
                break
            rest = [c for j, c in enumerate(combos) if j != i and j not in held]
            if all(any(c[k] == f for c in rest) for k, f in enumerate(combos[i])):
                held.add(int(i))
        if len(held) < want:
            raise MinilmError(f"{word}/{template!r}: too few fillers to hold out combinations")
        for mode, picked in (("train", False), ("heldout", True)):
            out[mode].append(
                [
                    template.format(w=word, **dict(zip(slots, c, strict=True)))
                    for j, c in enumerate(combos)
                    if (j in held) == picked
                ]
            )
    return out
