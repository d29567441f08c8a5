"""benchmarks/speed_table.py: rows from measurements, honest about what was not measured.

The table itself (benchmarks/speed_table.py, run in subprocesses on real text) takes minutes,
so these tests feed its row builders hand-made results instead of running it.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
_spec = importlib.util.spec_from_file_location(
    "speed_table", ROOT / "benchmarks" / "speed_table.py"
)
speed_table = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(speed_table)

SRN_RNN_FULL = speed_table.LM_ROWS[0]
SG, HS = speed_table.W2V_ROWS[0], speed_table.W2V_ROWS[2]
NUMPY = {"numpy class": {"flops": 3e9, "op": "optim.py:_update", "share": 0.4}}


def test_lm_ratio_is_numpy_over_torch_and_a_miss_is_marked():
    res = {"torch": True, "ms": {"numpy class": 150.0, "rnn full": 100.0}, "numpy": NUMPY}
    row = speed_table.lm_row(SRN_RNN_FULL, res, peak_gflops=100.0)
    assert abs(row["ratio"] - 1.5) < 1e-12 and row["met"] is False
    assert abs(row["peak"] - 3e9 / 0.15 / 100e9) < 1e-12  # FLOPs / CPU-s / peak
    line = speed_table.render([row], ["head"]).splitlines()[-1]
    assert "1.50x" in line and "**no**" in line and "`optim.py:_update` (40%)" in line


def test_missing_torch_keeps_the_numpy_side_and_says_skipped():
    res = {"torch": False, "ms": {"numpy class": 150.0}, "numpy": NUMPY}
    row = speed_table.lm_row(SRN_RNN_FULL, res, peak_gflops=None)
    assert row["status"] == "skipped: torch not installed" and "ratio" not in row
    assert "150 ms" in row["minilm"]


def test_word2vec_rows_pending_skipped_failed_and_measured():
    assert (
        "pending (bench_real_text.py --hs)" in speed_table.w2v_row(HS, {"pending": True})["status"]
    )
    skipped = speed_table.w2v_row(SG, {"skipped": "gensim not installed"})
    assert skipped["status"] == "skipped: gensim not installed"
    assert speed_table.w2v_row(SG, {"error": "boom"})["status"] == "failed: boom"
    res = {"minilm": 90e3, "gensim": 100e3, "op": "<method 'at' of 'numpy.ufunc' objects>"}
    row = speed_table.w2v_row(SG, res | {"share": 0.25})
    assert abs(row["ratio"] - 0.9) < 1e-12 and row["met"] is True
    assert row["top_op"] == "`numpy.ufunc.at` (25%)"
