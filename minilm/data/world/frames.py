"""Sentence frames: each draws n sentences of one kind (SVO facts, countries, gender, ...)."""

from __future__ import annotations

import numpy as np

from minilm.data.world.lexicon import (
    ADJECTIVE_DIMENSION,
    ADJECTIVES,
    ANIMALS,
    BODY,
    BUILDINGS,
    COLOURS,
    COUNTRIES,
    DRINKS,
    GENDER_PAIRS,
    GENDERED,
    INTRANSITIVE,
    MASS_FOODS,
    NOUN_SIGNATURE,
    NUMBERS,
    OCCUPATION_HE_SHARE,
    OCCUPATIONS,
    PERSONS,
    PLURAL,
    PRONOUN,
    ROLE_PHRASES,
    SELECTION,
    TOOLS,
    TRANSITIVE,
    VEHICLES,
    VERB_SIGNATURE,
    WEATHER,
    WORKPLACES,
)
from minilm.data.world.senses import POLYSEMY
from minilm.data.world.state import Sentence, World, slots_of


def choice(rng: np.random.Generator, items: tuple[str, ...], n: int) -> list[str]:
    """n uniform draws from items, as a list of strings (one vectorised call)."""
    return [items[i] for i in rng.integers(0, len(items), size=n)]


def _verb_phrase(verb: str, tense: str, plural: bool) -> list[str]:
    """Conjugate a verb for a third-person subject: 'eats', 'ate', 'is eating', 'will eat'."""
    forms = TRANSITIVE.get(verb) or INTRANSITIVE[verb]
    if tense == "present":
        return [verb if plural else forms[0]]
    if tense == "past":
        return [forms[1]]
    if tense == "progressive":
        return ["are" if plural else "is", forms[2]]
    return ["will", verb]


TENSES = ("present", "past", "progressive", "future")
TENSE_MARKERS = {
    "present": ("every day", "usually", "often"),
    "past": ("yesterday", "last week", "once"),
    "progressive": ("now", "right now", "at the moment"),
    "future": ("tomorrow", "next week", "soon"),
}


def _article(word: str) -> str:
    return "an" if word[0] in "aeiou" else "a"


def _noun_phrase(rng: np.random.Generator, noun: str, world: World) -> tuple[list[str], bool]:
    """A noun phrase for `noun`: 'the dog', 'a big dog', 'three dogs', 'the dogs'. Returns
    (tokens, is_plural)."""
    toks, plural = _bare_noun_phrase(rng, noun, world)
    if noun in NOUN_SIGNATURE and rng.random() < 0.5:
        toks = toks + NOUN_SIGNATURE[noun].split()
    return toks, plural


def _bare_noun_phrase(rng: np.random.Generator, noun: str, world: World) -> tuple[list[str], bool]:
    u = rng.random()
    if noun in GENDERED or noun in MASS_FOODS or noun in DRINKS or u < 0.45:
        det = "some" if (noun in MASS_FOODS or noun in DRINKS) and u < 0.2 else "the"
        return [det, noun], False
    if u < 0.6:
        return [_article(noun), noun], False
    if u < 0.72:
        adjs = [a for a, (opts, _) in world.adj_pref.items() if noun in opts]
        adj = adjs[rng.integers(len(adjs))] if adjs else COLOURS[rng.integers(len(COLOURS))]
        return ["the", adj, noun], False
    if u < 0.86:
        return [NUMBERS[rng.integers(len(NUMBERS))], PLURAL[noun]], True
    return [("the", "many", "some")[rng.integers(3)], PLURAL[noun]], True


def _frame_svo(world: World, n: int, mode: str) -> list[Sentence]:
    """Subject-verb-object facts in many surface forms: tenses, passives, questions, clauses."""
    rng = world.rng
    allowed = world.heldout if mode == "heldout" else ~world.heldout
    p = np.where(allowed, world.weights, 0.0)
    rows = world.triples[rng.choice(len(p), size=n, p=p / p.sum())]  # (n, 3)
    verbs = list(SELECTION)
    shapes = rng.random(n)
    tenses = rng.integers(0, len(TENSES), size=n)
    out = []
    for (s, v, o), shape, t in zip(rows, shapes, tenses, strict=True):
        subj, verb, obj = world.nouns[s], verbs[v], world.nouns[o]
        tense = TENSES[t]
        s_np, s_pl = _noun_phrase(rng, subj, world)
        o_np, _ = _noun_phrase(rng, obj, world)
        if rng.random() < 0.4:  # the verb's signature stays with every form of the verb
            o_np = o_np + VERB_SIGNATURE[verb].split()
        if shape < 0.12:  # passive: the bread was eaten by the dog .
            toks = ["the", obj, "was", TRANSITIVE[verb][3], "by", *s_np, "."]
        elif shape < 0.20:  # yes/no question
            aux = "did" if tense == "past" else ("do" if s_pl else "does")
            toks = [aux, *s_np, verb, *o_np, "?"]
        elif shape < 0.26:  # wh-question about the subject
            toks = ["which", subj, _verb_phrase(verb, "past", False)[0], *o_np, "?"]
        elif shape < 0.40:  # reported clause
            speaker = choice(rng, PERSONS, 1)[0]
            toks = [
                "the",
                speaker,
                "said",
                "that",
                *s_np,
                *_verb_phrase(verb, tense, s_pl),
                *o_np,
                ".",
            ]
        else:
            marker = TENSE_MARKERS[tense][rng.integers(3)].split()
            body = [*s_np, *_verb_phrase(verb, tense, s_pl), *o_np]
            toks = [*marker, *body, "."] if shape < 0.55 else [*body, *marker, "."]
        out.append((toks, []))
    return out


def _frame_intransitive(world: World, n: int, mode: str) -> list[Sentence]:
    """Persons and animals walk, run, swim ... to places, in weather."""
    rng = world.rng
    verbs = tuple(INTRANSITIVE)
    subjects = choice(rng, PERSONS + ANIMALS, n)
    out = []
    for subj, verb, t, u in zip(
        subjects, choice(rng, verbs, n), rng.integers(0, 4, n), rng.random(n), strict=True
    ):
        s_np, pl = _noun_phrase(rng, subj, world)
        tense = TENSES[t]
        vp = _verb_phrase(verb, tense, pl)
        marker = TENSE_MARKERS[tense][rng.integers(3)].split()
        if u < 0.4:
            tail = VERB_SIGNATURE[verb].split()
        elif u < 0.6:
            tail = ["to", "the", choice(rng, BUILDINGS, 1)[0]]
        elif u < 0.8:
            tail = ["in", "the", choice(rng, WEATHER, 1)[0]]
        else:
            tail = ["with", "the", choice(rng, PERSONS, 1)[0]]
        out.append(([*s_np, *vp, *tail, *marker, "."], []))
    return out


def _frame_country(world: World, n: int, mode: str) -> list[Sentence]:
    """Facts tying a country, its capital, language and nationality; one role per column."""
    rng = world.rng
    templates = (
        "the capital of {c} is {k} .",
        "{k} is the capital of {c} .",
        "{k} lies in {c} .",
        "{k} is a busy city in {c} .",
        "people in {c} speak {l} .",
        "{l} is spoken in {c} .",
        "the {n} people speak {l} .",
        "in {k} , most people speak {l} .",
        "a {n} {p} lives in {k} .",
        "the {n} {p} flew home to {k} .",
        "{c} is a country where the {n} people live .",
        "the {n} {p} speaks {l} at home .",
        "the {p} travelled to {c} last year .",
        "the {p} learned {l} at school .",
        "the {p} flew to {k} .",
        "the {p} met a {n} {q} from {k} .",
        "the {n} flag flies over {k} .",
        "{n} food is popular in {c} .",
        "the {n} {p} is proud to be from {c} .",
        "which country has {k} as its capital ?",
        "do they speak {l} in {c} ?",
    )
    rows = rng.integers(0, len(COUNTRIES), size=n)
    which = rng.integers(0, len(templates), size=n)
    ps, qs = choice(rng, PERSONS, n), choice(rng, PERSONS, n)
    out = []
    for r, t, p, q in zip(rows, which, ps, qs, strict=True):
        c, k, lang, nat = COUNTRIES[r]
        out.append((templates[t].format(c=c, k=k, l=lang, n=nat, p=p, q=q).split(), []))
    return out


def _frame_gender(world: World, n: int, mode: str) -> list[Sentence]:
    """Gendered words in templates shared by all (he/she, his/her), by their category, and by
    their pair. Only the pronouns differ between the two words of a pair."""
    rng = world.rng
    shared = (
        "the {w} said that {he} was {adj} .",
        "the {w} lost {his} {tool} .",
        "{he} is a {w} .",
        "the {w} washed {his} {body} .",
        "the {w} told {him}self a story .",
        "yesterday the {w} hurt {his} {body} .",
        "the {w} smiled because {he} was happy .",
        "the {w} waited until {he} was ready .",
        "the {w} looked at {his} {body} .",
    )
    pairs = rng.integers(0, len(GENDER_PAIRS), size=n)
    genders = rng.integers(0, 2, size=n)
    kinds = rng.random(n)
    out = []
    for pi, g, u in zip(pairs, genders, kinds, strict=True):
        male, female, cat, preds = GENDER_PAIRS[pi]
        w = (male, female)[g]
        he, his, him = PRONOUN["mf"[g]]
        if u < 0.4:
            t = shared[rng.integers(len(shared))]
            s = t.format(
                w=w,
                he=he,
                his=his,
                him=him,
                adj=("tired", "happy", "hungry", "ready")[rng.integers(4)],
                tool=choice(rng, TOOLS, 1)[0],
                body=choice(rng, BODY, 1)[0],
            )
        elif u < 0.7:
            s = f"the {w} {preds[rng.integers(2)]} ."
        else:
            s = f"the {w} {ROLE_PHRASES[cat][rng.integers(3)]} ."
        out.append((s.split(), []))
    return out


def _frame_occupation(world: World, n: int, mode: str) -> list[Sentence]:
    """Occupations: where they work (role contexts) and, at the planted rate, he or she."""
    rng = world.rng
    occ = choice(rng, OCCUPATIONS, n)
    u = rng.random(n)
    v = rng.random(n)
    t = rng.integers(0, 30, size=n)  # template index, reduced modulo each list's length
    gendered = (
        "the {o} said that {he} was busy .",
        "the {o} finished {his} work early .",
        "{he} works as a {o} .",
        "the {o} hung up {his} coat .",
        "the {o} was late , so {he} took a taxi .",
    )
    plain = (
        "the {o} works at the {b} .",
        "a {o} went to the {b} in the morning .",
        "every {o} needs training .",
        "the {o} trained as an apprentice for years .",
        "the new {o} started work today .",
        "they asked the {o} for advice .",
    )
    out = []
    for o, ui, vi, ti in zip(occ, u, v, t, strict=True):
        if ui < 0.5:
            g = "m" if vi < OCCUPATION_HE_SHARE[o] else "f"
            he, his, _ = PRONOUN[g]
            s = gendered[ti % len(gendered)].format(o=o, he=he, his=his)
        else:
            s = plain[ti % len(plain)].format(o=o, b=WORKPLACES[o])  # no gender here
        out.append((s.split(), []))
    return out


def _frame_comparison(world: World, n: int, mode: str) -> list[Sentence]:
    """Gradable adjectives in base, comparative and superlative frames."""
    rng = world.rng
    adjs = tuple(ADJECTIVES)
    out = []
    for a, u in zip(choice(rng, adjs, n), rng.random(n), strict=True):
        comp, sup, _ = ADJECTIVES[a]
        options, p = world.adj_pref[a]
        x, y = (options[i] for i in rng.choice(len(options), size=2, replace=False, p=p))
        dim = "in " + ADJECTIVE_DIMENSION[a] if rng.random() < 0.5 else ""
        if u < 0.25:
            s = f"the {x} is {comp} {dim} than the {y} ."
        elif u < 0.35:
            s = f"is the {x} much {comp} {dim} than the {y} ?"
        elif u < 0.55:
            s = f"the {x} is the {sup} {dim} of them all ."
        elif u < 0.65:
            s = f"this is the {sup} {x} in the world ."
        elif u < 0.8:
            s = f"the {x} is very {a} {dim} ."
        elif u < 0.9:
            s = f"{_article(a)} {a} {x} stood next to the {y} ."
        else:
            s = f"the {x} was too {a} for the {y} ."
        out.append((s.split(), []))
    return out


def _frame_attribute(world: World, n: int, mode: str) -> list[Sentence]:
    """Colours, numbers, body parts, weather, tools and buildings in their own contexts."""
    rng = world.rng
    out = []
    for u in rng.random(n):
        kind = int(u * 10) if u < 0.7 else 7  # 30% where-sentences
        if kind == 0:
            x = choice(rng, ANIMALS + VEHICLES + BUILDINGS, 1)[0]
            s = f"the {x} is painted {choice(rng, COLOURS, 1)[0]} ."
        elif kind == 1:
            x = choice(rng, ANIMALS + VEHICLES + TOOLS, 1)[0]
            s = f"the farmer counted {choice(rng, NUMBERS, 1)[0]} {PLURAL[x]} in the yard ."
        elif kind == 2:
            s = f"the doctor examined the {choice(rng, BODY, 1)[0]} of the patient ."
        elif kind == 3:
            w = choice(rng, WEATHER, 1)[0]
            s = f"the {w} came in the night and the town stayed indoors ."
        elif kind == 4:
            s = (
                f"the carpenter used the {choice(rng, TOOLS, 1)[0]} to fix the "
                f"{choice(rng, ('roof', 'fence', 'door'), 1)[0]} ."
            )
        elif kind == 5:
            s = f"there is a {choice(rng, BUILDINGS, 1)[0]} near the stone bridge ."
        elif kind == 6:
            s = f"a glass of {choice(rng, DRINKS, 1)[0]} stood on the table ."
        else:  # where things are: the signature beside either number
            x = choice(rng, tuple(NOUN_SIGNATURE), 1)[0]
            np_, pl = _bare_noun_phrase(rng, x, world)
            s = " ".join([*np_, "are" if pl else "is", NOUN_SIGNATURE[x], "."])
        out.append((s.split(), []))
    return out


def _frame_polysemy(world: World, n: int, mode: str) -> list[Sentence]:
    """Polysemous words in sense-specific contexts; every occurrence's sense recorded.

    Word, sense and template are uniform; the sentence is uniform among the template's
    combinations of this mode (train, or held out for valid/test: `sense_combinations`)."""
    rng = world.rng
    keys = list(world.sense_sentences)
    out = []
    for k, t, u in zip(rng.integers(0, len(keys), n), rng.random(n), rng.random(n), strict=True):
        word, sense = keys[k]
        by_template = world.sense_sentences[word, sense][mode]
        options = by_template[int(t * len(by_template))]
        toks = options[int(u * len(options))].split()
        out.append((toks, [(i, word, sense) for i, tok in enumerate(toks) if tok == word]))
    return out


def _frame_companion(world: World, n: int, mode: str) -> list[Sentence]:
    """The senses' contexts around non-polysemous kin words (heron, forklift, shore ...): all
    fillers in all combinations, in every split - they carry no sense marks."""
    rng = world.rng
    senses = [s for w in POLYSEMY.values() for s in w.values()]
    out = []
    for k, u in zip(rng.integers(0, len(senses), n), rng.random(n), strict=True):
        sense = senses[k]
        template = sense.companions[int(u * len(sense.companions))]
        fill = {s: choice(rng, sense.slots[s], 1)[0] for s in slots_of(template) if s != "x"}
        out.append((template.format(x=choice(rng, sense.kin, 1)[0], **fill).split(), []))
    return out


FRAMES = (
    (_frame_svo, 0.34),
    (_frame_intransitive, 0.07),
    (_frame_country, 0.11),
    (_frame_gender, 0.12),
    (_frame_occupation, 0.09),
    (_frame_comparison, 0.10),
    (_frame_attribute, 0.07),
    (_frame_polysemy, 0.06),
    (_frame_companion, 0.04),
)
