"""Elman's (1990) corpus: the paper's categories and templates; byte-identical regeneration."""

import collections
from pathlib import Path

from minilm.data import elman

ROOT = Path(__file__).resolve().parents[1]
ELMAN = ROOT / "corpus" / "elman"


def test_categories_and_templates_are_the_papers():
    assert set(elman.CATEGORIES) == {
        "NOUN-HUM",
        "NOUN-ANIM",
        "NOUN-INANIM",
        "NOUN-AGRESS",
        "NOUN-FRAG",
        "NOUN-FOOD",
        "VERB-INTRAN",
        "VERB-TRAN",
        "VERB-AGPAT",
        "VERB-PERCEPT",
        "VERB-DESTROY",
        "VERB-EAT",
    }
    assert len(elman.TEMPLATES) == 16
    assert all(
        len(t) in (2, 3) and t[0].startswith("NOUN") and t[1].startswith("VERB")
        for t in elman.TEMPLATES
    )
    assert len({w for ws in elman.CATEGORIES.values() for w in ws}) == 29  # Elman's Figure 7


def test_every_sentence_fits_a_template():
    cats_of = collections.defaultdict(set)
    for cat, words in elman.CATEGORIES.items():
        for w in words:
            cats_of[w].add(cat)
    lines = (ELMAN / "train.txt").read_text().splitlines()
    assert len(lines) == 10_000
    used = collections.Counter()
    for line in lines:
        words = line.split()
        fits = [
            t
            for t in elman.TEMPLATES
            if len(t) == len(words) and all(c in cats_of[w] for c, w in zip(t, words, strict=True))
        ]
        assert fits, line
        used.update(fits)
    assert set(used) == set(elman.TEMPLATES)  # every template is used


def test_categories_tsv_has_fine_and_coarse_levels():
    rows = [line.split("\t") for line in (ELMAN / "categories.tsv").read_text().splitlines()]
    assert len(rows) == 29 and all(len(r) == 3 for r in rows)
    for word, fine, coarse in rows:
        assert word in elman.CATEGORIES[fine]
        assert coarse == {"NOUN": "noun", "VERB": "verb"}[fine.split("-")[0]]
    vocab = {w for line in (ELMAN / "train.txt").read_text().split("\n") for w in line.split()}
    assert vocab == {r[0] for r in rows}


def test_default_regenerates_byte_identically(tmp_path):
    elman.write_elman(tmp_path)
    for name in ("train.txt", "categories.tsv", "README.md"):
        assert (tmp_path / name).read_bytes() == (ELMAN / name).read_bytes(), name
