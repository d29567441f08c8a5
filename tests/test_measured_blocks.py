"""Figures the pages show are written by the benchmarks that measure them (issue 27, item 5).

README.md's real-text word2vec tables come from `benchmarks/bench_real_text.py --readme` and
benchmarks/README.md's speed table from `benchmarks/speed_table.py --readme`, between markers
(benchmarks/readme_blocks.py). The benchmarks take minutes and need gensim and torch, so here
we check the writer, the renderers fed hand-made results, and that the blocks on the pages are
there, filled and consistent with themselves (each ratio is its two speeds' quotient, each
verdict follows from its figures), and that no speed ratio against gensim is typed outside them.
"""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

import pytest

from minilm.errors import MinilmError

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "benchmarks"))
import bench_real_text  # noqa: E402
import readme_blocks  # noqa: E402
import speed_table  # noqa: E402

W2V_ROW = re.compile(
    r"^\| (skip-gram|CBOW) \| ([\d,]+) \| ([\d,]+) \| ([\d.]+)× \| "
    r"([+-][\d.]+) / ([+-][\d.]+) / ([+-][\d.]+) \| (yes|\*\*no\*\*) \|$",
    re.M,
)


def _check_word2vec_block(body: str) -> int:
    """Every row's ratio is its speeds' quotient and its verdict follows from its gaps."""
    rows = W2V_ROW.findall(body)
    for arch, mine, theirs, ratio, *rest in rows:
        *gaps, ok = rest
        quotient = float(mine.replace(",", "")) / float(theirs.replace(",", ""))
        assert abs(quotient - float(ratio)) <= 0.005 + 1e-9, (arch, mine, theirs, ratio)
        assert (ok == "yes") == (min(float(g) for g in gaps) >= -0.03), (arch, gaps, ok)
    return len(rows)


def test_replace_block_writes_between_its_own_markers_only(tmp_path):
    page = tmp_path / "page.md"
    a_begin, a_end = readme_blocks.markers("a", "w.py")
    b_begin, b_end = readme_blocks.markers("a-b", "w.py")
    page.write_text(f"top\n{a_begin}\nold\n{a_end}\nmid\n{b_begin}\nkeep\n{b_end}\nend\n")
    readme_blocks.replace_block(page, "a", "new\nlines", "w.py")
    text = page.read_text()
    assert readme_blocks.read_block(text, "a") == "new\nlines\n"
    assert readme_blocks.read_block(text, "a-b") == "keep\n"
    assert text.startswith("top\n") and text.endswith("end\n") and "old" not in text
    readme_blocks.replace_block(page, "a", "new\nlines", "w.py")
    assert page.read_text() == text  # writing the same figures again changes nothing


def test_replace_block_refuses_a_page_without_the_markers(tmp_path):
    page = tmp_path / "page.md"
    page.write_text("no markers here\n")
    with pytest.raises(MinilmError, match="no measured block 'x'"):
        readme_blocks.replace_block(page, "x", "figures", "w.py")
    assert page.read_text() == "no markers here\n"
    with pytest.raises(MinilmError, match="cannot read"):
        readme_blocks.replace_block(tmp_path / "missing.md", "x", "figures", "w.py")


def test_word2vec_block_renders_what_it_was_given():
    args = argparse.Namespace(hs=True, epochs=5, corpus="runs/real_text")
    rows = [
        {"arch": "skip-gram", "minilm": 150e3, "gensim": 400e3, "gaps": [-0.01, -0.02, 0.01]},
        {"arch": "CBOW", "minilm": 700e3, "gensim": 1e6, "gaps": [-0.04, 0.0, 0.0]},
    ]
    rows[0]["own_gaps"] = [-0.1, -0.12, -0.08]
    body = bench_real_text.readme_table(args, 1_000_000, 12_000, rows, (0.5, 0.4, 0.3))
    assert _check_word2vec_block(body) == 2
    assert "| skip-gram | 150,000 | 400,000 | 0.38× | -0.010 / -0.020 / +0.010 | yes |" in body
    assert "| CBOW | 700,000 | 1,000,000 | 0.70× | -0.040 / +0.000 / +0.000 | **no** |" in body
    assert "gensim on its own tree | | | | -0.100 / -0.120 / -0.080" in body
    assert "--corpus runs/real_text --hs" in body and "1,000,000 training tokens" in body


def test_readme_word2vec_blocks_are_filled_and_consistent():
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    for corpus in ("real-text", "second-text"):
        for name in (f"{corpus}-word2vec", f"{corpus}-word2vec-hs"):
            _check_readme_block(text, name)


def _check_readme_block(text: str, name: str) -> None:
    body = readme_blocks.read_block(text, name)
    assert body is not None, f"README.md lost its {name} block"
    assert _check_word2vec_block(body) == 2, f"{name}: expected a skip-gram and a CBOW row"
    corpus = name.split("-word2vec")[0].replace("-", "_")
    assert f"bench_real_text.py --corpus runs/{corpus}" in body and "5 epochs" in body


def test_no_gensim_speed_ratio_is_typed_outside_the_blocks():
    for page in (ROOT / "README.md", ROOT / "benchmarks" / "README.md"):
        text = page.read_text(encoding="utf-8")
        outside = re.sub(r"<!-- measured: .*?<!-- measured: [\w-]+ end -->", "", text, flags=re.S)
        typed = re.findall(r"[^\n]*\d\.\d+ ?[×x][^\n]*gensim[^\n]*", outside)
        assert not typed, f"{page.name}: a speed ratio typed by hand: {typed}"


def test_speed_table_block_is_filled_and_its_verdict_follows_from_the_rows():
    body = readme_blocks.read_block(
        (ROOT / "benchmarks" / "README.md").read_text(encoding="utf-8"), "speed-table"
    )
    assert body is not None and body.count("\n| ") >= 10, "the speed-table block is empty"
    rows = [line for line in body.splitlines() if line.startswith("| ") and "---" not in line][1:]
    met = 0
    for line in rows:
        cells = [c.strip() for c in line.strip("|").split("|")]
        ratio, goal, ok = float(cells[2].rstrip("x")), cells[3], cells[4]
        bound = float(re.search(r"[\d.]+", goal).group())
        assert (ok == "yes") == (ratio >= bound if goal.startswith(">=") else ratio <= bound)
        met += ok == "yes"
    assert body.rstrip().endswith(".") and f"{met} of {len(rows)} rows meet their goal" in body


def test_speed_table_verdict_names_the_misses():
    rows = [
        {
            "minilm": "skip-gram: 1k",
            "instead": "gensim: 2k",
            "ratio": 0.5,
            "met": False,
            "goal": ">= 0.8x",
        },
        {
            "minilm": "SRN: 1 ms",
            "instead": "torch: 2 ms",
            "ratio": 0.5,
            "met": True,
            "goal": "<= 1.0x",
        },
        {"minilm": "HS", "instead": "gensim", "status": "pending", "goal": ">= 0.5x"},
    ]
    text = speed_table.verdict(rows)
    assert text.startswith("1 of 3 rows meet their goal (1 not measured); missed: skip-gram")
    assert "at 0.50x (goal >= 0.8x)" in text and "SRN" not in text


def test_gensim_speed_is_the_mean_of_its_three_timed_runs():
    runs = {
        name: {"tok_s_cpu": v}
        for name, v in zip(bench_real_text.TIMED, (1.0, 2.0, 6.0), strict=True)
    }
    runs["gensim-own"] = {"tok_s_cpu": 100.0}  # another tree: other work, not timed
    assert bench_real_text.gensim_speed(runs, "tok_s_cpu") == 3.0
