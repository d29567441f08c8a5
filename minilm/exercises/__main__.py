"""python -m minilm.exercises {list | start NAME | check NAME | solution NAME | capstone nplm}

list                 every exercise in the docs' order: not started / started / passed
start NAME           write the starter file into the workspace
check NAME           grade it (--hint: a nudge; --hint 2: the formula; --seed S: the shapes)
solution NAME        the reference beside your code, as a diff (once passed, or --give-up)
capstone nplm        train Bengio's NPLM from your own passed layers (--quick: a short run)
"""

from __future__ import annotations

import argparse
import sys
import textwrap
from pathlib import Path

from minilm.errors import ArgumentParser, MinilmError, run_cli, seed_arg
from minilm.exercises import grader, progress, sandbox
from minilm.io import write_text

COMMANDS = ["list", "start", "check", "solution", "capstone"]


def parse_args() -> argparse.Namespace:
    ap = ArgumentParser(
        prog="python -m minilm.exercises",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    ap.add_argument("command", choices=COMMANDS)
    ap.add_argument("name", nargs="?", help="an exercise (see `list`), or nplm for capstone")
    ap.add_argument(
        "--workspace",
        type=Path,
        default=Path("exercises_workspace"),
        help="where your exercise files live (default: ./exercises_workspace)",
    )
    ap.add_argument(
        "--hint",
        nargs="?",
        type=int,
        const=1,
        choices=[1, 2],
        help="check, then print a hint (1: a nudge, 2: the formula)",
    )
    ap.add_argument("--seed", type=seed_arg, help="check: the seed of the random shapes")
    ap.add_argument(
        "--time-limit",
        type=float,
        default=grader.TIME_LIMIT,
        help="check: seconds each call of your functions may take",
    )
    ap.add_argument("--force", action="store_true", help="start: overwrite your existing file")
    ap.add_argument("--give-up", action="store_true", help="solution: show it before passing")
    ap.add_argument("--quick", action="store_true", help="capstone: a short run (for tests)")
    ap.add_argument("--threads", type=int, default=1, help="capstone: BLAS threads")
    args = ap.parse_args()
    progress.check_workspace(args.workspace)
    if args.command != "list" and args.name is None:
        raise MinilmError(f"`{args.command}` needs a name; see `list`")
    if not args.time_limit > 0:
        raise MinilmError(f"--time-limit must be > 0, got {args.time_limit}")
    return args


def start(args: argparse.Namespace, ex, path: Path) -> None:
    if path.exists() and not args.force:
        raise MinilmError(f"{path} exists (your work?); pass --force to start over")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise MinilmError(f"cannot make the workspace {path.parent}: {err.strerror}") from None
    write_text(path, grader.blank_file(ex))
    print(
        f"wrote {path}: fill in the function bodies, then "
        f"`python -m minilm.exercises check {ex.name}`"
    )


def check(args: argparse.Namespace, ex, path: Path) -> int:
    if not path.is_file():
        raise MinilmError(
            f"{path} does not exist; run `python -m minilm.exercises start {ex.name}` first"
        )
    seed = grader.new_seed() if args.seed is None else args.seed
    report = sandbox.check_file(ex, path, seed, args.time_limit)
    print("\n".join(report.lines))
    if report.passed:
        progress.mark_passed(args.workspace, ex.name, seed)
        print(
            f"next: compare with the reference, `python -m minilm.exercises solution "
            f"{ex.name}`; `list` shows what is left"
        )
    if args.hint:
        text = ex.hint if args.hint == 1 else ex.formula
        print(f"\nhint {args.hint}: " + textwrap.fill(text, 96, subsequent_indent="        "))
        if args.hint == 1:
            print("(--hint 2 gives the formula)")
    return 0 if report.passed else 1


def solution(args: argparse.Namespace, ex, path: Path) -> None:
    if not (progress.passed(args.workspace, ex.name) or args.give_up):
        raise MinilmError(
            f"{ex.name} is not passed yet in {args.workspace}; pass `check` "
            "first, or add --give-up to see the reference now"
        )
    print(progress.solution_diff(ex, path))


def main() -> None:
    args = parse_args()
    if args.command == "list":
        print("\n".join(progress.progress_table(args.workspace)))
        return
    if args.command == "capstone":
        from minilm.exercises import capstone

        capstone.main(args)
        return
    ex = grader.get(args.name)
    path = args.workspace / f"{ex.name}.py"
    if args.command == "start":
        start(args, ex, path)
    elif args.command == "check":
        sys.exit(check(args, ex, path))
    else:
        solution(args, ex, path)


if __name__ == "__main__":
    run_cli(main)
