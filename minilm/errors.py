"""One error type for bad input, and the wrapper that turns it into a one-line message.

Library code raises `MinilmError("what is wrong; how to fix it")`. Scripts wrap their `main` in
`run_cli`, which prints `error: <message>` to stderr and exits with status 2 - never a traceback.
"""

from __future__ import annotations

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
