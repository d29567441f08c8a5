"""The world's ground truth as file texts: categories, analogies, similarity, bias, senses."""

from __future__ import annotations

import itertools

import numpy as np

from minilm.data.world.lexicon import (
    ADJECTIVES,
    ANIMALS,
    CATEGORIES,
    COUNTRIES,
    GENDER_PAIRS,
    HE_WORDS,
    INTRANSITIVE,
    NOUN_GROUPS,
    OCCUPATION_HE_SHARE,
    OCCUPATIONS,
    PLURAL,
    SELECTION,
    SHE_WORDS,
    TOOLS,
    TRANSITIVE,
    VEHICLES,
)


def categories_tsv() -> str:
    """word<TAB>category, one line per word, categories in a fixed order."""
    return "".join(f"{w}\t{c}\n" for c, words in CATEGORIES.items() for w in words)


def _section(name: str, pairs: list[tuple[str, str]]) -> list[str]:
    """Every ordered pair of distinct rows: 'a b c d' asks a:b :: c:?, answer d."""
    lines = [f": {name}"]
    for (a, b), (c, d) in itertools.permutations(pairs, 2):
        lines.append(f"{a} {b} {c} {d}")
    return lines


ANALOGY_SECTIONS = {
    "gender": [(m, f) for m, f, _, _ in GENDER_PAIRS],
    "capital-country": [(k, c) for c, k, _, _ in COUNTRIES],
    "country-language": [(c, lang) for c, _, lang, _ in COUNTRIES],
    "nationality": [(c, n) for c, _, _, n in COUNTRIES],
    "gram-plural": [(w, PLURAL[w]) for w in ANIMALS[:8] + VEHICLES[:6] + TOOLS[:6]],
    "gram-past-tense": [
        (f[0], f[1]) for f in list(TRANSITIVE.values()) + list(INTRANSITIVE.values())
    ],
    "gram-present-participle": [
        (v, f[2]) for v, f in list(TRANSITIVE.items()) + list(INTRANSITIVE.items())
    ],
    "gram-comparative": [(a, f[0]) for a, f in ADJECTIVES.items()],
    "gram-superlative": [(a, f[1]) for a, f in ADJECTIVES.items()],
}
SEMANTIC_SECTIONS = ("gender", "capital-country", "country-language", "nationality")


def analogies_txt() -> str:
    """questions-words.txt format: semantic sections first, then the `gram-` syntactic ones."""
    lines = [ln for name, pairs in ANALOGY_SECTIONS.items() for ln in _section(name, pairs)]
    return "\n".join(lines) + "\n"


SIMILARITY_HEADER = """\
# similarity.tsv - word1<TAB>word2<TAB>score, graded from the world's structure (not by people).
# score 10: the two words are the same row of a fact table - a gendered pair (king, queen) or
#           one country's country/capital/language/nationality (austria, vienna).
# score  7.5: same category of categories.tsv (dog, cat).
# score  5: same super-category: persons (royalty, family, people, occupation), things (animal,
#           food, drink, vehicle, tool, building), places and tongues (country, capital, language,
#           nationality), verbs (transitive, intransitive), modifiers (adjective, colour, number),
#           nature (weather, body_part).
# score  2.5: a verb and a noun it takes as object in the world (eat, bread).
# score  0: none of the above (duke, rain).
# Pairs are drawn with a fixed seed, an equal number per grade; only base forms are used.
"""
SUPER = {
    "royalty": "persons",
    "family": "persons",
    "people": "persons",
    "occupation": "persons",
    "animal": "things",
    "food": "things",
    "drink": "things",
    "vehicle": "things",
    "tool": "things",
    "building": "things",
    "country": "places",
    "capital": "places",
    "language": "places",
    "nationality": "places",
    "transitive_verb": "verbs",
    "intransitive_verb": "verbs",
    "adjective": "modifiers",
    "colour": "modifiers",
    "number": "modifiers",
    "weather": "nature",
    "body_part": "nature",
}


def similarity_grade(a: str, b: str) -> float:
    """The grade of (a, b) by the rules in SIMILARITY_HEADER."""
    category = {w: c for c, words in CATEGORIES.items() for w in words}
    rows = [{m, f} for m, f, _, _ in GENDER_PAIRS] + [set(r) for r in COUNTRIES]
    if any(a in r and b in r for r in rows):
        return 10.0
    if category[a] == category[b]:
        return 7.5
    if SUPER[category[a]] == SUPER[category[b]]:
        return 5.0
    for verb, noun in ((a, b), (b, a)):
        if verb in SELECTION and any(noun in NOUN_GROUPS[g] for g in SELECTION[verb][1]):
            return 2.5
    return 0.0


def similarity_tsv(seed: int, per_grade: int = 60) -> str:
    """Seeded pairs of base-form words, `per_grade` of each grade (fewer if a grade has fewer)."""
    rng = np.random.default_rng(seed + 7919)  # its own stream: independent of the text
    words = [w for ws in CATEGORIES.values() for w in ws]
    pairs = list(itertools.combinations(words, 2))
    by_grade: dict[float, list[tuple[str, str]]] = {}
    for a, b in pairs:
        by_grade.setdefault(similarity_grade(a, b), []).append((a, b))
    lines = []
    for grade in sorted(by_grade, reverse=True):
        group = by_grade[grade]
        pick = rng.choice(len(group), size=min(per_grade, len(group)), replace=False)
        lines.extend(f"{group[i][0]}\t{group[i][1]}\t{grade:g}" for i in np.sort(pick))
    return SIMILARITY_HEADER + "\n".join(lines) + "\n"


def count_bias(train_lines: list[str]) -> dict[str, tuple[int, int]]:
    """(he_count, she_count) per occupation: lines naming the occupation and pronouns of one
    gender only (he/his/him or she/her/hers); a line with both genders counts for neither."""
    counts = {o: [0, 0] for o in OCCUPATIONS}
    he, she = set(HE_WORDS), set(SHE_WORDS)
    for line in train_lines:
        toks = set(line.split())
        occ = toks & counts.keys()
        has_he, has_she = bool(toks & he), bool(toks & she)
        if has_he == has_she:
            continue
        for o in occ:
            counts[o][0 if has_he else 1] += 1
    return {o: (h, s) for o, (h, s) in counts.items()}


def bias_tsv(train_lines: list[str]) -> str:
    """occupation<TAB>he_share (measured in train)<TAB>planted<TAB>he_count<TAB>she_count."""
    lines = [
        "# occupation<TAB>share of he-contexts measured in train.txt<TAB>planted share"
        "<TAB>he lines<TAB>she lines",
        "# a he-context is a train line naming the occupation with he/his/him and no "
        "she/her/hers (and vice versa)",
    ]
    for o, (h, s) in count_bias(train_lines).items():
        share = h / max(1, h + s)
        lines.append(f"{o}\t{share:.4f}\t{OCCUPATION_HE_SHARE[o]:.2f}\t{h}\t{s}")
    return "\n".join(lines) + "\n"


def senses_tsv(senses: list[tuple[str, int, int, str, str]]) -> str:
    header = (
        "# split<TAB>line (1-based)<TAB>token index (0-based, space-split)<TAB>word<TAB>sense\n"
    )
    return header + "".join(f"{sp}\t{ln}\t{i}\t{w}\t{s}\n" for sp, ln, i, w, s in senses)


def paraphrases_tsv(pairs: list[tuple[str, str, str]]) -> str:
    header = "# split<TAB>sentence_a<TAB>sentence_b - two sentences stating the same fact\n"
    return header + "".join(f"{sp}\t{a}\t{b}\n" for sp, a, b in pairs)
