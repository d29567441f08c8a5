"""The proof that `check` cannot be passed by wrong code: every known-wrong solution of
tests/wrong_solutions.py fails, naming the wrong piece, and every reference passes.

The table by hand: `python tests/wrong_solutions.py [SEED]`.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))

import wrong_solutions  # noqa: E402

from minilm.exercises.catalog import EXERCISES  # noqa: E402


def test_the_library_is_large_and_covers_every_exercise():
    wrongs = wrong_solutions.library()
    assert len(wrongs) >= 150
    assert {w.exercise for w in wrongs} == set(EXERCISES)
    assert sum(w.family == "class" for w in wrongs) >= 40


@pytest.mark.slow
@pytest.mark.parametrize("seed", [wrong_solutions.SEED, 11])
def test_every_wrong_solution_fails_naming_the_wrong_piece(seed):
    lines, bad, total = wrong_solutions.audit(seed)
    assert total >= 150
    assert bad == 0, "\n".join(lines)
    assert f"{total} known-wrong solutions (seed {seed}): 0 passed, 0 failed" in lines[-1]
