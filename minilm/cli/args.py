"""Flags shared by the command-line programs of minilm/cli/ (and their scripts in scripts/)."""

from __future__ import annotations

import argparse

from minilm.errors import MinilmError
from minilm.layers.class_softmax import FULL_SOFTMAX_UP_TO


def add_vocab_args(ap: argparse.ArgumentParser, head: str = "") -> None:
    """The language-model programs' flags for what they predict and how: --min-count and
    --max-vocab (the vocabulary; the rest becomes <unk>), --output and --classes (the arguments of
    minilm/layers/class_softmax.py `output_bounds`). `head` names the output layer in the
    help text."""
    ap.add_argument("--min-count", type=int, default=1, help="rarer words become <unk>")
    ap.add_argument("--max-vocab", type=int, default=30000, help="keep the most frequent words")
    ap.add_argument(
        "--output",
        choices=("auto", "full", "class"),
        default="auto",
        help=f"{head}softmax over V, class-factored, or auto: class above "
        f"{FULL_SOFTMAX_UP_TO} words",
    )
    ap.add_argument("--classes", type=int, default=0, help="word classes (0 = sqrt(V))")


def positive_list(text: str, flag: str) -> list[int]:
    """'20,50,200' -> [20, 50, 200]; anything else is a one-line error."""
    try:
        values = [int(x) for x in text.split(",")]
    except ValueError:
        values = []
    if not values or min(values) < 1:
        raise MinilmError(f"{flag} wants positive integers separated by commas, got {text!r}")
    return values
