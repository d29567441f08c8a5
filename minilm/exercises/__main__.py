"""python -m minilm.exercises {list | start NAME | check NAME [--hint]} [--workspace DIR]."""

from __future__ import annotations

import sys
import textwrap
from pathlib import Path

from minilm.errors import ArgumentParser, MinilmError, run_cli
from minilm.exercises import grader
from minilm.exercises.catalog import EXERCISES
from minilm.io import write_text


def main() -> None:
    ap = ArgumentParser(prog="python -m minilm.exercises", description=__doc__)
    ap.add_argument("command", choices=["list", "start", "check"])
    ap.add_argument("name", nargs="?", help="an exercise (see `list`)")
    ap.add_argument("--workspace", type=Path, default=Path("exercises_workspace"),
                    help="where your exercise files live (default: ./exercises_workspace)")
    ap.add_argument("--hint", action="store_true", help="check, then print a hint")
    ap.add_argument("--force", action="store_true", help="start: overwrite your existing file")
    args = ap.parse_args()
    if args.command == "list":
        for ex in EXERCISES.values():
            print(f"{ex.name:24s} {ex.title}   ({ex.docs})")
        return
    if args.name is None:
        raise MinilmError(f"`{args.command}` needs an exercise name; see `list`")
    ex = grader.get(args.name)
    path = args.workspace / f"{ex.name}.py"
    if args.command == "start":
        if path.exists() and not args.force:
            raise MinilmError(f"{path} exists (your work?); pass --force to start over")
        path.parent.mkdir(parents=True, exist_ok=True)
        write_text(path, grader.blank_file(ex))
        print(f"wrote {path}: fill in the function bodies, then "
              f"`python -m minilm.exercises check {ex.name}`")
        return
    report = grader.check(ex, grader.load_learner(path, ex))
    print("\n".join(report.lines))
    if args.hint:
        print("\nhint: " + textwrap.fill(ex.hint, 96, subsequent_indent="      "))
    sys.exit(0 if report.passed else 1)


if __name__ == "__main__":
    run_cli(main)
