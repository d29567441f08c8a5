"""One error type for bad input, and the wrapper that turns it into a one-line message.

Library code raises `MinilmError("what is wrong; how to fix it")`. Scripts wrap their `main` in
`run_cli`, which prints `error: <message>` to stderr and exits with status 2 - never a traceback.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable

EXIT_BAD_INPUT = 2
EXIT_INTERRUPTED = 130


class MinilmError(Exception):
    """Bad input or a run that cannot go on. The message is shown to the user as one line."""


def run_cli(main: Callable[[], object]) -> None:
    """Run a script's `main()`; turn expected failures into one line on stderr and an exit code."""
    try:
        main()
    except MinilmError as err:
        print(f"error: {err}", file=sys.stderr)
        sys.exit(getattr(err, "exit_code", EXIT_BAD_INPUT))  # e.g. 130 for an interrupted run
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        sys.exit(EXIT_INTERRUPTED)
    except BrokenPipeError:
        sys.exit(0)  # `script | head` closed the pipe: not an error


class ArgumentParser(argparse.ArgumentParser):
    """argparse, but a bad flag is one `error:` line and exit 2 like every other bad input."""

    def error(self, message: str) -> None:  # type: ignore[override]
        raise MinilmError(f"{message} (see --help)")


def seed_arg(text: str) -> int:
    """argparse type for --seed: NumPy's generators take seeds >= 0."""
    value = int(text)
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be >= 0, got {value}")
    return value


def positive_int(text: str) -> int:
    """argparse type for counts that must be at least 1 (--topn, ...)."""
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be >= 1, got {value}")
    return value
