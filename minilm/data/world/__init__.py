"""The bundled `world` corpus: plain English about a small world whose structure we know.

A learner must be able to *check* what a model learned, so the default corpus is generated from a
world with known answers, and the answers are written beside the text:

    categories.tsv   word<TAB>category          (21 categories of 6-20 words)
    analogies.txt    word2vec questions-words format, semantic and syntactic sections
    similarity.tsv   word1<TAB>word2<TAB>score  (grading rule in its `#` header)
    senses.tsv       split, line, token, word, sense of every polysemous occurrence
    bias.tsv         occupation<TAB>share of he-contexts (planted and measured)
    paraphrases.tsv  split<TAB>sentence_a<TAB>sentence_b (same fact, different words)

Why vector offsets can solve the analogies. In skip-gram, a word's vector summarises the
contexts it predicts. Every analogy word is built from two independent parts of its contexts:

    contexts(w) = role contexts (shared by a whole column)  +  identity contexts (shared by a row)

    king  = royal role  + "king/queen" identity  + male contexts (he, his)
    queen = royal role  + "king/queen" identity  + female contexts (she, her)
    vienna = capital role ("lies in", "city") + austria identity (austria, german, austrian)
    dogs  = plural role ("two", "are", "many") + dog identity (its favourite foods, adjectives)

so vec(queen) - vec(king) = female - male is the same for every pair, and 3CosAdd finds it.
Identities come from seeded idiosyncratic preferences (each animal prefers some foods, each
adjective some nouns) and from fact templates; roles come from templates shared by a column.

Sentences are lower-case, tokens separated by single spaces; the only punctuation is `.`, `,`
and `?`, always a separate token. Every sentence ends with `.` or `?`.

Splits. Subject-verb-object facts are drawn from a table of (subject, verb, object) triples that
respect selectional restrictions (animals eat foods, people drive vehicles, ...). A seeded 10% of
the triples is held out: train never states them; every SVO sentence of valid/test states one.
Likewise a seeded 20% of each polysemy template's filler combinations is stated only in
valid/test, so a test occurrence of "crane" is never a sentence seen in train. All other frames
are drawn from the same distribution in every split, so valid/test use only training words but
contain facts an n-gram model cannot have memorised (Bengio et al. 2003).

The package, in reading order:

    lexicon.py   the words, facts and planted rates     senses.py    the polysemous words
    state.py     the seeded world (preferences, held-out triples and sense combinations)
    frames.py    sentence frames, one function each     generate.py  splits and paraphrases
    answers.py   the ground-truth files' text           readme.py    the corpus README.md

"""

from __future__ import annotations

from pathlib import Path

from minilm.data.world.answers import (
    ANALOGY_SECTIONS,
    analogies_txt,
    bias_tsv,
    categories_tsv,
    count_bias,
    paraphrases_tsv,
    senses_tsv,
    similarity_grade,
    similarity_tsv,
)
from minilm.data.world.generate import generate_world, heldout_triples
from minilm.data.world.lexicon import (
    ANIMALS,
    BUILDINGS,
    CATEGORIES,
    COLOURS,
    COUNTRIES,
    DEFAULT_SEED,
    DEFAULT_SENTENCES,
    DRINKS,
    FOODS,
    GENDER_PAIRS,
    HE_WORDS,
    OCCUPATION_HE_SHARE,
    OCCUPATIONS,
    PERSONS,
    PLURAL,
    SHE_WORDS,
    TOOLS,
    TRANSITIVE,
    VEHICLES,
)
from minilm.data.world.readme import readme_md
from minilm.data.world.senses import POLYSEMY, Sense
from minilm.data.world.state import World, WorldCorpus
from minilm.io import ensure_dir, write_text

__all__ = [
    "ANALOGY_SECTIONS",
    "ANIMALS",
    "BUILDINGS",
    "CATEGORIES",
    "COLOURS",
    "COUNTRIES",
    "DEFAULT_SEED",
    "DEFAULT_SENTENCES",
    "DRINKS",
    "FOODS",
    "GENDER_PAIRS",
    "HE_WORDS",
    "OCCUPATIONS",
    "OCCUPATION_HE_SHARE",
    "PERSONS",
    "PLURAL",
    "POLYSEMY",
    "SHE_WORDS",
    "TOOLS",
    "TRANSITIVE",
    "VEHICLES",
    "WORLD_FILES",
    "Sense",
    "World",
    "WorldCorpus",
    "analogies_txt",
    "bias_tsv",
    "categories_tsv",
    "count_bias",
    "generate_world",
    "heldout_triples",
    "paraphrases_tsv",
    "readme_md",
    "senses_tsv",
    "similarity_grade",
    "similarity_tsv",
    "write_world",
]

WORLD_FILES = (
    "train.txt",
    "valid.txt",
    "test.txt",
    "categories.tsv",
    "analogies.txt",
    "similarity.tsv",
    "senses.tsv",
    "bias.tsv",
    "paraphrases.tsv",
    "README.md",
)


def write_world(
    out_dir: str | Path, n_sentences: int = DEFAULT_SENTENCES, seed: int = DEFAULT_SEED
) -> WorldCorpus:
    """Generate the world and write every file of WORLD_FILES into out_dir (atomically each)."""
    corpus = generate_world(n_sentences, seed)
    out = ensure_dir(out_dir)
    for split, lines in corpus.splits.items():
        write_text(out / f"{split}.txt", "\n".join(lines) + "\n")
    write_text(out / "categories.tsv", categories_tsv())
    write_text(out / "analogies.txt", analogies_txt())
    write_text(out / "similarity.tsv", similarity_tsv(seed))
    write_text(out / "senses.tsv", senses_tsv(corpus.senses))
    write_text(out / "bias.tsv", bias_tsv(corpus.splits["train"]))
    write_text(out / "paraphrases.tsv", paraphrases_tsv(corpus.paraphrases))
    write_text(out / "README.md", readme_md(corpus, n_sentences, seed))
    return corpus
