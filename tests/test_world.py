"""The bundled world corpus: its ground truth must agree with its text, and it must regenerate."""

import collections
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from minilm.data import world
from minilm.data.world.state import make_world
from minilm.errors import MinilmError
from minilm.io import RUN_MARKER
from minilm.truth import read_paraphrases, read_senses, read_similarity

ROOT = Path(__file__).resolve().parents[1]
WORLD = ROOT / "corpus" / "world"


def _lines(name: str) -> list[str]:
    return (WORLD / name).read_text(encoding="utf-8").splitlines()


@pytest.fixture(scope="module")
def regenerated(tmp_path_factory):
    """The default world written afresh (about 2 s of CPU)."""
    out = tmp_path_factory.mktemp("world")
    world.write_world(out)
    return out


@pytest.mark.slow  # about 2-3 s of CPU, more on a loaded machine
def test_default_regenerates_byte_identically(regenerated):
    out = regenerated
    for name in world.WORLD_FILES:
        assert (out / name).read_bytes() == (WORLD / name).read_bytes(), name


def test_categories_have_6_to_20_words_and_there_are_at_least_20():
    rows = [line.split("\t") for line in _lines("categories.tsv")]
    assert all(len(r) == 2 for r in rows)
    sizes = collections.Counter(c for _, c in rows)
    assert len(sizes) >= 20
    assert all(6 <= n <= 20 for n in sizes.values()), sizes
    assert len({w for w, _ in rows}) == len(rows), "a word is listed in two categories"


def test_valid_and_test_use_only_training_words():
    train_vocab = {t for line in _lines("train.txt") for t in line.split()}
    for split in ("valid.txt", "test.txt"):
        oov = {t for line in _lines(split) for t in line.split()} - train_vocab
        assert not oov, f"{split}: {sorted(oov)[:10]}"


def _states(line: str, index: dict[str, list[tuple[str, set[str], str]]]) -> bool:
    """Does the line state a held-out triple (subject, verb, object)? Active: a subject form, then
    a verb form with no other person or animal between them, then an object form. Passive: an
    object form, then a participle, then 'by', then the subject form (so "X was seen by Y" is
    never read as X seeing Y). Plurals count."""
    toks = line.split()
    for i, tok in enumerate(toks):
        for subj_forms, forms, obj_forms in index.get(tok, ()):
            if tok in subj_forms:  # active: subj ... verb ... obj
                for j in range(i + 1, len(toks)):
                    if toks[j] in forms:
                        # "the cow was seen by a dog" is a passive: cow is not the seer
                        if toks[j - 1] != "was" and obj_forms & set(toks[j + 1 :]):
                            return True
                        break
                    if toks[j] in AGENTS:
                        break
            if tok in obj_forms and forms & set(toks[i + 1 :]) and "by" in toks[i + 1 :]:
                by = toks.index("by", i + 1)
                if subj_forms & set(toks[by + 1 :]):
                    return True
    return False


AGENTS = {f for w in world.PERSONS + world.ANIMALS for f in (w, world.PLURAL.get(w)) if f}


def test_heldout_triples_never_in_train_but_in_valid_and_test():
    """Scan the text: no train line states a held-out triple, while in valid/test many do
    (every subject-verb-object sentence there states one)."""
    triples = world.heldout_triples()
    assert 50 < len(triples) < 0.2 * len(make_world(np.random.default_rng(1)).triples)
    index = collections.defaultdict(list)  # any form of subject or object -> triples
    for s, v, o in triples:
        entry = ({s, world.PLURAL.get(s)}, {v, *world.TRANSITIVE[v]}, {o, world.PLURAL.get(o)})
        for w in {s, o, world.PLURAL.get(s), world.PLURAL.get(o)} - {None}:
            index[w].append(entry)
    assert sum(_states(line, index) for line in _lines("train.txt")) == 0
    for split in ("valid.txt", "test.txt"):
        lines = _lines(split)
        assert sum(_states(line, index) for line in lines) > 0.25 * len(lines), split


def test_every_analogy_word_occurs_at_least_5_times_in_train():
    counts = collections.Counter(t for line in _lines("train.txt") for t in line.split())
    words = {
        w for line in _lines("analogies.txt") if not line.startswith(":") for w in line.split()
    }
    rare = {w: counts[w] for w in words if counts[w] < 5}
    assert not rare, rare


def test_analogy_file_format_and_sections():
    sections: dict[str, int] = {}
    name = None
    for line in _lines("analogies.txt"):
        if line.startswith(": "):
            name = line[2:]
            sections[name] = 0
        else:
            assert len(line.split()) == 4, line
            sections[name] += 1
    for sec in (
        "gender",
        "capital-country",
        "country-language",
        "nationality",
        "gram-plural",
        "gram-past-tense",
        "gram-present-participle",
        "gram-comparative",
        "gram-superlative",
    ):
        assert sections[sec] >= 100, sec
    assert "gram-plural" in sections and "dog dogs cat cats" in _lines("analogies.txt")


def test_senses_agree_with_text():
    """Every listed occurrence is the word at that position; every occurrence is listed; each
    listed sense's line has a cue word of that sense's templates and none of the other's."""
    rows = read_senses(WORLD / "senses.tsv")
    text = {s: _lines(f"{s}.txt") for s in ("train", "valid", "test")}
    listed = set()
    for split, line, idx, word, _ in rows:
        assert text[split][line - 1].split()[idx] == word
        listed.add((split, line, idx))
    actual = {
        (s, i + 1, j)
        for s, lines in text.items()
        for i, line in enumerate(lines)
        for j, t in enumerate(line.split())
        if t in world.POLYSEMY
    }
    assert listed == actual

    def words_of(sense):
        fixed = {t for tpl in sense.templates for t in tpl.split() if not t.startswith("{")}
        return fixed | {f for fillers in sense.slots.values() for f in fillers}

    cues = {}
    for w, senses in world.POLYSEMY.items():
        (s1, t1), (s2, t2) = senses.items()
        cues[w, s1] = (words_of(t1) - words_of(t2), words_of(t2) - words_of(t1))
        cues[w, s2] = (words_of(t2) - words_of(t1), words_of(t1) - words_of(t2))
    for split, line, _, word, sense in rows:
        toks = set(text[split][line - 1].split())
        own, other = cues[word, sense]
        assert toks & own and not toks & other, (split, line)
    per = collections.Counter((r.split, r.word, r.sense) for r in rows)
    assert all(per["test", w, s] >= 15 for w, senses in world.POLYSEMY.items() for s in senses)
    # the README's table is the same recount
    readme = (WORLD / "README.md").read_text(encoding="utf-8")
    for w, senses in world.POLYSEMY.items():
        for s, sense in senses.items():
            counts = " | ".join(str(per[sp, w, s]) for sp in ("train", "valid", "test"))
            assert f"| {w} | {s} | {', '.join(sense.kin)} | {counts} |" in readme, (w, s)


def _sense_lines() -> dict[str, list[tuple[str, str, str]]]:
    """split -> (word, sense, sentence) of every line listed in senses.tsv."""
    text = {s: _lines(f"{s}.txt") for s in ("train", "valid", "test")}
    out = collections.defaultdict(list)
    for r in read_senses(WORLD / "senses.tsv"):
        out[r.split].append((r.word, r.sense, text[r.split][r.line - 1]))
    return out


def test_heldout_polysemy_sentences_are_new_but_made_of_seen_parts():
    """No valid/test polysemy sentence occurs anywhere in train; every word of one occurs in
    train sentences of the same word and sense, and every filler in the same slot of the same
    template (the held-out combinations are new combinations of known parts)."""
    lines = _sense_lines()
    train_text = set(_lines("train.txt"))
    seen = collections.defaultdict(set)  # (word, sense) -> words of its train sentences
    for word, sense, sentence in lines["train"]:
        seen[word, sense].update(sentence.split())
    by_template = collections.defaultdict(set)  # (word, sense, template, slot) -> train fillers
    parsed = {}
    for word, senses in world.POLYSEMY.items():
        for name, sense in senses.items():
            for tpl in sense.templates:
                toks = tpl.format(w=word, **{k: f"{{{k}}}" for k in sense.slots}).split()
                parsed[word, name, tpl] = toks

    def fillers(word, name, sentence):
        """(template, {slot: filler}) of a sentence of this sense, or None."""
        toks = sentence.split()
        for tpl in world.POLYSEMY[word][name].templates:
            pattern = parsed[word, name, tpl]
            if len(pattern) == len(toks) and all(
                p == t or p.startswith("{") for p, t in zip(pattern, toks, strict=True)
            ):
                return tpl, {p: t for p, t in zip(pattern, toks, strict=True) if p != t}
        return None

    for word, name, sentence in lines["train"]:
        tpl, fill = fillers(word, name, sentence)
        for slot, f in fill.items():
            by_template[word, name, tpl, slot].add(f)
    for split in ("valid", "test"):
        assert lines[split], split
        for word, name, sentence in lines[split]:
            assert sentence not in train_text, (split, sentence)
            assert set(sentence.split()) <= seen[word, name], (split, sentence)
            tpl, fill = fillers(word, name, sentence)
            for slot, f in fill.items():
                assert f in by_template[word, name, tpl, slot], (split, sentence, slot)


def test_sense_contexts_are_shared_with_companions_without_polysemous_words():
    """Every sense-typical filler occurs in train lines with no polysemous word (companions),
    next to the sense's kin words - so the senses are learnable from shared distribution - and
    no polysemous word is a filler, kin word or companion word."""
    poly = set(world.POLYSEMY)
    plain = [set(x.split()) for x in _lines("train.txt") if not poly & set(x.split())]
    plain_words = set().union(*plain)
    for word, senses in world.POLYSEMY.items():
        for name, sense in senses.items():
            fillers = {f for fs in sense.slots.values() for f in fs}
            assert fillers <= plain_words, (word, name, sorted(fillers - plain_words))
            for kin in sense.kin:
                assert any(kin in toks and toks & fillers for toks in plain), (word, name, kin)
            companion_words = {t for c in sense.companions for t in c.split()}
            assert not poly & (fillers | set(sense.kin) | companion_words), (word, name)


def test_one_template_per_word_differs_between_senses_only_in_its_fillers():
    """The last templates of a word's two senses are one sentence with slots, and the slots'
    fillers are disjoint, so there only the sense-typical words can tell the senses apart."""
    for word, senses in world.POLYSEMY.items():
        a, b = senses.values()
        skeleton = [
            [t if not t.startswith("{") or t == "{w}" else "_" for t in s.templates[-1].split()]
            for s in (a, b)
        ]
        assert skeleton[0] == skeleton[1], word
        slots = [
            [t[1:-1] for t in s.templates[-1].split() if t[0] == "{" and t != "{w}"] for s in (a, b)
        ]
        for slot_a, slot_b in zip(*slots, strict=True):
            assert not set(a.slots[slot_a]) & set(b.slots[slot_b]), (word, slot_a, slot_b)


def test_word_positions_do_not_tell_the_senses_apart():
    """The word's token position over all templates is the same multiset for both senses, and
    its occurrences' positions in train are about equally spread (no positional shortcut)."""
    for word, senses in world.POLYSEMY.items():
        a, b = ([t.split().index("{w}") for t in s.templates] for s in senses.values())
        assert sorted(a) == sorted(b), word
    counts = collections.Counter()
    for r in read_senses(WORLD / "senses.tsv"):
        if r.split == "train":
            counts[r.word, r.sense, r.index] += 1
    for word, senses in world.POLYSEMY.items():
        s1, s2 = senses
        n1 = sum(c for (w, s, _), c in counts.items() if (w, s) == (word, s1))
        n2 = sum(c for (w, s, _), c in counts.items() if (w, s) == (word, s2))
        for pos in {i for w, _, i in counts if w == word}:
            share1, share2 = counts[word, s1, pos] / n1, counts[word, s2, pos] / n2
            # ~500 occurrences a sense: binomial sd of a share <= 0.023, 0.12 is > 3.5 sd each
            assert abs(share1 - share2) < 0.12, (word, pos, share1, share2)


def test_a_polysemous_word_in_a_filler_is_rejected(monkeypatch):
    """The generator refuses a lexicon where a sense's filler is a polysemous word (its
    occurrences would go unrecorded in senses.tsv)."""
    crane = world.POLYSEMY["crane"]
    bad = world.Sense(
        crane["bird"].templates,
        {**crane["bird"].slots, "prey": ("frog", "bat")},
        crane["bird"].kin,
        crane["bird"].companions,
    )
    monkeypatch.setitem(world.POLYSEMY, "crane", {**crane, "bird": bad})
    with pytest.raises(MinilmError, match="bat"):
        world.generate_world(300)


def test_bias_tsv_agrees_with_a_recount_and_with_the_planted_rates():
    he, she = {"he", "his", "him"}, {"she", "her", "hers"}
    counts = collections.defaultdict(lambda: [0, 0])
    for line in _lines("train.txt"):
        toks = set(line.split())
        if bool(toks & he) != bool(toks & she):
            for occ in toks & set(world.OCCUPATIONS):
                counts[occ][0 if toks & he else 1] += 1
    rows = [line.split("\t") for line in _lines("bias.tsv") if not line.startswith("#")]
    assert {r[0] for r in rows} == set(world.OCCUPATIONS)
    for occ, share, planted, h, s in rows:
        assert [int(h), int(s)] == counts[occ]
        assert float(share) == pytest.approx(int(h) / (int(h) + int(s)), abs=1e-4)
        # about 200 lines each: binomial sd <= 0.035, so 0.12 is more than 3 sd
        assert abs(float(share) - float(planted)) < 0.12, occ


def test_similarity_file_has_header_and_graded_pairs():
    lines = _lines("similarity.tsv")
    assert lines[0].startswith("#")
    rows = read_similarity(WORLD / "similarity.tsv")
    assert len(rows) >= 200
    grades = collections.Counter(score for _, _, score in rows)
    assert set(grades) == {0.0, 2.5, 5.0, 7.5, 10.0}
    assert world.similarity_grade("king", "queen") == 10.0
    assert world.similarity_grade("vienna", "german") == 10.0
    assert world.similarity_grade("dog", "cat") == 7.5
    assert world.similarity_grade("eat", "bread") == 2.5
    assert world.similarity_grade("duke", "rain") == 0.0


def test_paraphrases_state_the_same_fact_and_heldout_is_unseen():
    rows = read_paraphrases(WORLD / "paraphrases.tsv")
    splits = collections.Counter(r.split for r in rows)
    assert splits["train"] >= 1000 and splits["heldout"] >= 200
    nouns = set(
        world.PERSONS
        + world.FOODS
        + world.DRINKS
        + world.VEHICLES
        + world.TOOLS
        + world.BUILDINGS
        + world.ANIMALS
        + world.COLOURS
    )
    for _, a, b in rows:
        assert set(a.split()) & nouns == set(b.split()) & nouns, (a, b)
        assert a != b
    heldout_a = [a for s, a, _ in rows if s == "heldout"]
    assert len(set(heldout_a)) == len(heldout_a)
    train_vocab = {t for line in _lines("train.txt") for t in line.split()}
    assert {t for _, a, b in rows for t in (a + " " + b).split()} <= train_vocab


def test_generation_is_seeded():
    a = world.generate_world(600, seed=3)
    b = world.generate_world(600, seed=3)
    c = world.generate_world(600, seed=4)
    assert a.splits == b.splits and a.senses == b.senses and a.paraphrases == b.paraphrases
    assert a.splits["train"] != c.splits["train"]


def test_script_writes_every_file_and_rejects_bad_input(tmp_path):
    cmd = [
        sys.executable,
        str(ROOT / "scripts" / "make_corpus.py"),
        "world",
        "--out",
        str(tmp_path / "w"),
        "--sentences",
        "600",
    ]
    done = subprocess.run(cmd, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    written = sorted(p.name for p in (tmp_path / "w").iterdir() if p.name != RUN_MARKER)
    assert written == sorted(world.WORLD_FILES)
    bad = subprocess.run(cmd[:-1] + ["5"], capture_output=True, text=True)
    assert bad.returncode == 2 and bad.stderr.startswith("error:") and "Traceback" not in bad.stderr
