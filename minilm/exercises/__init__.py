"""Graded exercises: rewrite a layer's forward and backward, and get told which gradient is wrong.

    python -m minilm.exercises list
    python -m minilm.exercises start attention      # writes exercises_workspace/attention.py
    python -m minilm.exercises check attention      # grades it; --hint for a hint

`start` copies the reference functions' signatures and docstrings (not their bodies) into your
workspace. `check` imports your file, compares its outputs with the reference on small float64
inputs and grad-checks every gradient by central differences. The references are the library's
own layers (minilm/layers/) where they exist, and minilm/exercises/references.py otherwise.
"""
