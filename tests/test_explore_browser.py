"""The explorer page in a real browser: Debian's headless Chromium, driven over WebDriver.

What is checked, on a page built from tiny tables made here (tests/explore_fixtures.py):
- it loads with no JavaScript error and makes no network request (chromedriver's network log
  and the page's resource timings), and the check itself sees a request when a page makes one;
- a typed word, a clicked neighbour and a clicked map point each give, in every table, the
  top-10 neighbours of `minilm.vectors` in the same order, with cosines equal to the page's
  arithmetic replayed in NumPy (`explore.page_cosines`) and within its stated bound of minilm's;
- a typed analogy gives, under both protocols (query words excluded and kept), the answers of
  `KeyedVectors.most_similar`, the expected answer's rank and the query words' ranks;
- zoom, hover, the contextual panels and the report's tables are drawn.
A quick lab run's own explore.html is checked the same way (marked slow).

Without chromium + chromedriver the tests are skipped with a loud reason, except under CI=true
(.ci/run installs both), where a missing browser is a failure.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import numpy as np
import pytest
from chromium import Browser, find_browser
from explore_fixtures import build

from minilm import explore
from minilm.vectors import KeyedVectors

ROOT = Path(__file__).resolve().parent.parent
MISSING = (
    "NO BROWSER: chromium and chromedriver are not installed, so the explorer page was "
    "NOT tested in a browser (apt-get install chromium chromium-driver; .ci/run does)"
)

READ_NEIGHBOURS = """
return [...document.querySelectorAll('#neighbours .card')].map(c => ({
  table: c.dataset.table,
  rows: [...c.querySelectorAll('li')].map(li =>
    [li.dataset.word, Number(li.dataset.score), li.querySelector('.cos').textContent])}));
"""
READ_ANALOGY = """
return [...document.querySelectorAll('#analogy .card')].map(c => {
  const out = {table: c.dataset.table};
  c.querySelectorAll('.proto').forEach(p => {
    const ranks = p.querySelector('.ranks');
    out[p.dataset.protocol] = {
      rows: [...p.querySelectorAll('li')].map(li => [li.dataset.word, Number(li.dataset.score)]),
      expected: ranks.dataset.expectedRank ? Number(ranks.dataset.expectedRank) : null,
      query: ranks.dataset.queryRanks ? JSON.parse(ranks.dataset.queryRanks) : null};
  });
  return out;
});
"""


@pytest.fixture(scope="module")
def browser():
    if find_browser() is None:
        if os.environ.get("CI") == "true":
            pytest.fail(MISSING)
        print(f"\n*** {MISSING} ***", file=sys.stderr)
        pytest.skip(MISSING)
    with Browser(1400, 1000) as b:
        yield b


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    return build(tmp_path_factory.mktemp("explore"))


def open_page(browser, page: Path) -> None:
    browser.network_log()  # drop what the browser did before
    browser.open(page)
    assert browser.run("return typeof window.explore") == "object", "the page did not start"
    assert browser.run("return window.exploreErrors") == []


# ---- the comparisons -------------------------------------------------------------------------
def page_table(data: explore.PageData, name: str):
    table = next(t for t in data.tables if t.name == name)
    q, s = explore.quantise(table.unit)
    return table, q, s


def check_neighbours(
    shown: list[dict], data: explore.PageData, tables: dict, word: str, strict: bool = True
) -> None:
    """Every table's list against the page's arithmetic (exact) and minilm.vectors (same words,
    same order when `strict`, cosines within the bound of minilm.explore)."""
    assert [c["table"] for c in shown] == [t.name for t in data.tables]
    for card in shown:
        kv = tables[card["table"]]
        table, q, s = page_table(data, card["table"])
        a = table.words.index(word)
        replay = explore.page_cosines(q, s, a)
        words = [w for w, _, _ in card["rows"]]
        scores = np.array([c for _, c, _ in card["rows"]])
        ids = [table.words.index(w) for w in words]
        np.testing.assert_allclose(scores, replay[ids], rtol=0, atol=1e-12)
        assert [t for _, _, t in card["rows"]] == [f"{c:.3f}" for c in scores]
        reference = kv.nearest(word, 10)
        bound = explore.cosine_error_bound(table.unit, s, a, np.array(ids)) + 1e-6
        exact = np.array([kv.similarity(word, w) for w in words])
        assert np.all(np.abs(scores - exact) <= bound), card["table"]
        if strict:
            assert words == [w for w, _ in reference], card["table"]
        else:
            check_ranking(words, exact, reference, float(bound.max()))


def check_ranking(words: list[str], exact: np.ndarray, reference: list, tol: float) -> None:
    """A ranking equal to `reference` up to swaps of scores within 2 tol: every word the page
    left out scores no more than its last word + 2 tol, and its order never inverts more."""
    last, ref_last = float(exact.min()), reference[-1][1]
    missing = [(w, c) for w, c in reference if w not in words]
    assert all(c <= last + 2 * tol for _, c in missing), missing
    extra = [(w, c) for w, c in zip(words, exact, strict=True) if w not in dict(reference)]
    assert all(c >= ref_last - 2 * tol for _, c in extra), extra
    assert np.all(np.diff(exact) <= 2 * tol), list(zip(words, exact, strict=True))


# ---- the tests ---------------------------------------------------------------------------------
def test_page_loads_and_makes_no_network_request(browser, tiny):
    open_page(browser, tiny.page)
    url = tiny.page.resolve().as_uri()
    mine = [r["url"] for r in browser.network_log() if r["documentURL"] == url]
    assert mine == [url], f"the page requested {mine[1:]}"
    assert browser.run("return performance.getEntriesByType('resource').length") == 0
    assert browser.run("return window.explore.ready") > 0
    policy = browser.run("return document.querySelector('meta[http-equiv]').content")
    assert "default-src 'none'" in policy


def test_the_network_check_sees_a_request(browser, tmp_path):
    """The check above can fail: a page (without the policy) asking for an image is caught."""
    page = tmp_path / "leaky.html"
    page.write_text('<html><body><img src="http://127.0.0.1:9/x.png"></body></html>')
    browser.network_log()
    browser.open(page)
    seen = [r["url"] for r in browser.network_log() if r["documentURL"] == page.as_uri()]
    assert "http://127.0.0.1:9/x.png" in seen


def test_typed_word_shows_minilm_neighbours_in_every_table(browser, tiny):
    open_page(browser, tiny.page)
    assert len(tiny.probes) >= 5
    for word in tiny.probes[:4] + tiny.probes[-2:]:
        browser.type(browser.find("#word-input"), word + "\ue007")  # Enter submits
        assert browser.run("return document.getElementById('nb-word').textContent") == word
        check_neighbours(browser.run(READ_NEIGHBOURS), tiny.data, tiny.tables, word)


def test_clicked_neighbour_and_map_point_show_their_neighbours(browser, tiny):
    open_page(browser, tiny.page)
    start = tiny.probes[0]
    browser.type(browser.find("#word-input"), start + "\ue007")
    nxt = next(w for w, _ in tiny.tables["toya"].nearest(start, 10) if w in tiny.probes)
    browser.click(
        browser.find(f'#neighbours .card[data-table="toya"] li[data-word="{nxt}"] button')
    )
    assert browser.run("return document.getElementById('nb-word').textContent") == nxt
    check_neighbours(browser.run(READ_NEIGHBOURS), tiny.data, tiny.tables, nxt)
    target = next(w for w in tiny.probes if w not in (start, nxt))
    browser.run("document.getElementById('maps-section').scrollIntoView()")
    at = browser.run("return window.explore.pointAt('toyb', arguments[0])", target)
    browser.pointer(at["x"], at["y"])
    # A click picks the nearest point within 8 px: the target, unless another sits on it.
    picked = browser.run("return document.getElementById('nb-word').textContent")
    near = browser.run("return window.explore.pointAt('toyb', arguments[0])", picked)
    assert (near["x"] - at["x"]) ** 2 + (near["y"] - at["y"]) ** 2 <= 64
    check_neighbours(
        browser.run(READ_NEIGHBOURS), tiny.data, tiny.tables, picked, strict=picked in tiny.probes
    )


def test_analogy_under_both_protocols(browser, tiny):
    open_page(browser, tiny.page)
    browser.type(browser.find("#analogy-input"), "king - man + woman")
    browser.type(browser.find("#analogy-expected"), "queen")
    browser.click(browser.find("#analogy-form button[type=submit]"))
    shown = browser.run(READ_ANALOGY)
    assert [c["table"] for c in shown] == [t.name for t in tiny.data.tables]
    for card in shown:
        kv: KeyedVectors = tiny.tables[card["table"]]
        table, q, s = page_table(tiny.data, card["table"])
        pos, neg = [table.words.index(w) for w in ("king", "woman")], [table.words.index("man")]
        replay = explore.page_analogy_scores(q, s, pos, neg)
        exact = kv.most_similar(["king", "woman"], ["man"], topn=len(kv), exclude_query=False)
        exact_of = dict(exact)
        # the tolerance is measured, not assumed: the largest page-vs-minilm score difference
        tol = max(abs(replay[i] - exact_of[w]) for i, w in enumerate(table.words)) + 1e-6
        assert tol < 1e-3
        for protocol, keep in (("excluded", False), ("kept", True)):
            rows = card[protocol]["rows"]
            words = [w for w, _ in rows]
            ids = [table.words.index(w) for w in words]
            np.testing.assert_allclose([c for _, c in rows], replay[ids], rtol=0, atol=1e-9)
            ref = kv.most_similar(["king", "woman"], ["man"], topn=5, exclude_query=not keep)
            check_ranking(words, np.array([exact_of[w] for w in words]), ref, tol)
            if not keep:
                assert not {"king", "man", "woman"} & set(words), words
            ranked = [w for w, _ in exact if keep or w not in ("king", "man", "woman")]
            assert abs(card[protocol]["expected"] - (ranked.index("queen") + 1)) <= _ties(
                exact_of, ranked, "queen", tol
            )
        assert card["excluded"]["rows"][0][0] == "queen"  # the planted answer
        assert card["excluded"]["query"] is None
        ranks = card["kept"]["query"]
        ranked = [w for w, _ in exact]
        for w in ("king", "man", "woman"):
            assert abs(ranks[w] - (ranked.index(w) + 1)) <= _ties(exact_of, ranked, w, tol)


def _ties(scores: dict, ranked: list[str], word: str, tol: float) -> int:
    """How many other words score within 2 tol of `word`: how far its rank may move."""
    return sum(abs(scores[w] - scores[word]) <= 2 * tol for w in ranked if w != word)


def test_zoom_hover_senses_and_tables(browser, tiny):
    open_page(browser, tiny.page)
    browser.run("document.getElementById('maps-section').scrollIntoView()")
    at = browser.run("return window.explore.pointAt('toyc', 'queen')")
    browser.pointer(at["x"], at["y"], click=False)
    tip = browser.run(
        "return [document.getElementById('tooltip').hidden, "
        "document.getElementById('tooltip').textContent]"
    )
    assert tip[0] is False and tip[1].split()[0] in tiny.tables["toyc"]
    browser.pointer(at["x"], at["y"], click=False, wheel=-400)
    assert browser.run("return window.explore.view.k") > 1.2  # zoomed in, all maps together
    moved = browser.run("return window.explore.pointAt('toya', 'queen')")
    assert moved is not None
    panels = browser.run(
        "return [...document.querySelectorAll('#contextual .panel')].map(p => p.dataset.word)"
    )
    assert panels == ["king"]
    cells = browser.run(
        "return [...document.querySelectorAll('#tables td')].map(t => t.textContent)"
    )
    assert cells[:3] == ["toy-a", "0.91", "planted"]
    n_maps = browser.run("return document.querySelectorAll('#maps canvas').length")
    assert n_maps == len(tiny.data.tables)
    assert browser.run("return window.exploreErrors") == []


@pytest.mark.slow
def test_quick_lab_writes_a_page_that_works(browser, tmp_path):
    """A small lab (three models, a generated world) writes OUT/explore.html; in the browser it
    holds every table of metrics.json, its maps' trustworthiness, its senses and its tables."""
    from minilm import lab

    out = tmp_path / "lab"
    result = lab.run_lab(
        out,
        models=["ppmi", "skipgram", "transformer"],
        quick=True,
        sentences=600,
        echo=False,
        log=lambda _: None,
        threads=1,
    )
    page = out / "explore.html"
    assert page.is_file() and not result.failed
    metrics = json.loads((out / "metrics.json").read_text())
    open_page(browser, page)
    shown = browser.run(READ_NEIGHBOURS)
    names = [c["table"] for c in shown]
    assert names == ["ppmi", "skipgram", "transformer", "transformer-ctx"]
    tables = {
        n: KeyedVectors.load(
            out
            / n.replace("-ctx", "")
            / ("contextual_vectors.txt" if n.endswith("-ctx") else "vectors.txt")
        )
        for n in names
    }
    data = explore.PageData(
        "lab", [explore.table_from_vectors(n, n, kv.words, kv.unit) for n, kv in tables.items()]
    )
    word = browser.run("return document.getElementById('nb-word').textContent")
    check_neighbours(shown, data, tables, word, strict=False)
    trust = browser.run(
        "return [...document.querySelectorAll('#maps .trust')].map(t => t.textContent)"
    )
    expected = [f"trustworthiness {metrics['models'][n]['trustworthiness_pca']:.3f}" for n in names]
    assert trust == expected
    assert browser.run("return document.querySelectorAll('#contextual .panel').length") >= 1
    assert browser.run("return document.querySelectorAll('#tables table').length") >= 1
