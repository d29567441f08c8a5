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


# Called once when a script's main() ends: with None on success, else with what stopped it.
# minilm.io registers the hook that marks the script's output folder complete or failed.
_EXIT_HOOKS: list[Callable[[BaseException | None], None]] = []


def on_cli_exit(hook: Callable[[BaseException | None], None]) -> None:
    """Register `hook(outcome)` to run when `run_cli`'s main() returns or raises."""
    if hook not in _EXIT_HOOKS:
        _EXIT_HOOKS.append(hook)


def _main_then_hooks(main: Callable[[], object]) -> None:
    try:
        main()
    except BaseException as err:
        for hook in _EXIT_HOOKS:
            hook(err)
        raise
    for hook in _EXIT_HOOKS:
        hook(None)


def run_cli(main: Callable[[], object]) -> None:
    """Run a script's `main()`; turn expected failures into one line on stderr and an exit code."""
    try:
        _main_then_hooks(main)
    except MinilmError as err:
        print(f"error: {err}", file=sys.stderr)
        sys.exit(getattr(err, "exit_code", EXIT_BAD_INPUT))  # e.g. 130 for an interrupted run
    except MemoryError as err:
        # The last guard: sizes checked up front (minilm.limits) refuse most requests before
        # they are made; an allocation refused by the system still ends in one line.
        what = f" ({err})" if str(err) else ""
        print(
            f"error: out of memory{what}: an option or a file asks for more memory than is "
            "available; lower the sizes (--dim, --window, --batch-size, ...)",
            file=sys.stderr,
        )
        sys.exit(EXIT_BAD_INPUT)
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


def finite_float(text: str) -> float:
    """argparse type for real-valued flags: 'nan' and 'inf' are refused, not silently used."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if value != value or value in (float("inf"), float("-inf")):
        raise argparse.ArgumentTypeError(f"must be a finite number, got {text}")
    return value


def positive_int(text: str) -> int:
    """argparse type for counts that must be at least 1 (--topn, ...)."""
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be >= 1, got {value}")
    return value
