"""The explorer page without a browser: the 16-bit vectors' error bound, the page's inlined data,
the report's tables, how the size grows with N words, and scripts/explore.py's command line.
The page in a real browser: tests/test_explore_browser.py."""

from __future__ import annotations

import base64
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from minilm import explore
from minilm.vectors import KeyedVectors

ROOT = Path(__file__).resolve().parent.parent


def unit_rows(V: int, D: int, seed: int) -> np.ndarray:
    kv = KeyedVectors([f"w{i}" for i in range(V)], np.random.default_rng(seed).normal(size=(V, D)))
    return kv.unit.astype(np.float32)


@pytest.mark.parametrize("D", [1, 3, 50, 300])
def test_quantised_cosines_stay_within_the_stated_bound(D):
    unit = unit_rows(200, D, seed=D)
    unit[7] = 0.0  # an all-zero row stays zero
    q, s = explore.quantise(unit)
    err = np.abs(explore.dequantise(q, s) - unit)
    assert np.all(err <= s[:, None].astype(np.float64) / 2 * (1 + 1e-6))
    assert np.all(q[7] == 0) and np.abs(q).max() <= explore.QMAX
    exact = unit.astype(np.float64) @ unit.T.astype(np.float64)
    for a in (0, 7, 199):
        page = explore.page_cosines(q, s, a)
        bound = explore.cosine_error_bound(unit, s, a, np.arange(200))
        assert np.all(np.abs(page - exact[a]) <= bound + 1e-12)
    assert explore.cosine_error_bound(unit, s, 0, np.arange(200)).max() < 5e-4


def page_json(page: Path) -> dict:
    text = page.read_text(encoding="utf-8")
    start = text.index('id="explore-data">') + len('id="explore-data">')
    return json.loads(text[start : text.index("</script>", start)])


def test_page_data_round_trips_even_with_hostile_words(tmp_path):
    words = ["</script>", "__DATA__", "a<b", "plain"]
    table = explore.Table("t", "t </script>", words, unit_rows(4, 5, 0))
    data = explore.PageData("title __DATA__ </script>", [table])
    page = explore.write_page(tmp_path / "p.html", data)
    text = page.read_text(encoding="utf-8")
    assert text.count("</script>") == 2  # the data tag and the script tag: no early close
    blob = page_json(page)
    assert blob["tables"][0]["words"] == words and blob["title"] == data.title
    q = np.frombuffer(base64.b64decode(blob["tables"][0]["q"]), dtype="<i2").reshape(4, 5)
    np.testing.assert_array_equal(q, explore.quantise(table.unit)[0])
    for marker in ("http://", "https://", "src=", "@import", "fetch(", "XMLHttpRequest"):
        assert marker not in text.replace("http-equiv", ""), marker


def test_report_tables_are_read_from_markdown():
    md = "# r\n\n## Metrics\n\n| model | x |\n|---|---:|\n| **a** | `1` |\n\ntext | not a table\n"
    assert explore.report_tables(md) == [
        {"title": "Metrics", "header": ["model", "x"], "rows": [["a", "1"]]}
    ]


def test_page_size_grows_linearly_with_words(tmp_path):
    """Per word, the page grows by what page_size_estimate says (within 10%)."""
    sizes = {}
    for n in (200, 400):
        tables = [
            explore.Table(f"t{D}", "t", [f"word{i}" for i in range(n)], unit_rows(n, D, D))
            for D in (50, 100)
        ]
        sizes[n] = explore.write_page(tmp_path / f"{n}.html", explore.PageData("s", tables)).stat()
    grown = sizes[400].st_size - sizes[200].st_size
    assert grown == pytest.approx(explore.page_size_estimate([50, 100], 200), rel=0.1)


def run(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "explore.py"), *args],
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_script_makes_a_page_from_vector_files_with_top_n(tmp_path):
    words = [f"w{i}" for i in range(120)]
    for D, name in ((6, "a.txt"), (9, "b.txt")):
        KeyedVectors(words, np.random.default_rng(D).normal(size=(120, D))).save_text(
            tmp_path / name
        )
    out = tmp_path / "page.html"
    result = run(str(tmp_path / "a.txt"), str(tmp_path / "b.txt"), "--top", "50", "--out", str(out))
    assert result.returncode == 0, result.stderr
    blob = page_json(out)
    assert [t["name"] for t in blob["tables"]] == ["a", "b"]
    assert all(t["words"] == words[:50] for t in blob["tables"])
    assert set(blob["maps"]) == {"pca", "tsne"}


def test_script_bad_input_is_one_line(tmp_path):
    result = run(str(tmp_path / "missing.txt"), "--out", str(tmp_path / "p.html"))
    assert result.returncode == 2 and result.stderr.count("\n") == 1, result.stderr
    assert "no such file" in result.stderr
    assert not (tmp_path / "p.html").exists()


def test_the_lab_page_keeps_under_5_mb_however_large_the_vocabulary(tmp_path):
    """lab_page_data keeps the most frequent words that fit its vector budget, and says so."""
    from minilm.explore_sources import lab_page_data
    from minilm.lab_models import VectorSet

    V, dims = 4000, (300, 300, 200)
    words = [f"w{i}" for i in range(V)]
    sets = [
        VectorSet(f"m{D}{k}", "m", "m", KeyedVectors(words, unit_rows(V, D, k)))
        for k, D in enumerate(dims)
    ]
    metrics = {"models": {vs.name: {} for vs in sets}}
    data = lab_page_data(sets, metrics, {}, {}, None, None, "", "big")
    kept = len(data.tables[0].words)
    assert 100 < kept < V and data.tables[0].words == words[:kept]
    assert any(str(kept) in note for note in data.notes)
    assert explore.write_page(tmp_path / "big.html", data).stat().st_size <= 5_000_000
