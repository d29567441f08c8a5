"""Graded exercises: rewrite a layer's forward and backward, and get told what is wrong with it.

    python -m minilm.exercises list                 # progress, in the docs' order
    python -m minilm.exercises start attention      # writes exercises_workspace/attention.py
    python -m minilm.exercises check attention      # grades it; --hint, --hint 2
    python -m minilm.exercises solution attention   # the reference as a diff (once passed)

`start` copies the reference functions' signatures and docstrings (not their bodies, nor their
gradient formulas) into your workspace. `check` runs your file in a child process with a time
limit (sandbox.py) and grades it (grader.py) on cases that break every symmetry plus random
shapes from a printed seed (cases.py): values, dtypes, nothing changed in place, the backward
repeatable, every gradient. The references are the library's own layers (minilm/layers/) where
they exist, and minilm/exercises/references.py otherwise. tests/wrong_solutions.py holds the
known-wrong solutions every check must reject.
"""
