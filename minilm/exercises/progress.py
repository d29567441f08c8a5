"""A learner's progress through the exercises, and the reference shown once they pass.

The workspace folder holds one file per started exercise and `.progress.json`, which records
each exercise passed (with the seed of the passing run). `status` reads them: not started (no
file), started (a file, never passed), passed. `solution_diff` is the learner's functions beside
the reference's, as a unified diff, function by function.
"""

from __future__ import annotations

import ast
import difflib
import inspect
import json
import textwrap
from pathlib import Path

from minilm.errors import MinilmError
from minilm.exercises.catalog import EXERCISES, Exercise
from minilm.io import write_text

PROGRESS = ".progress.json"


def check_workspace(workspace: Path) -> None:
    """A one-line error if the workspace path exists but is not a folder."""
    if workspace.exists() and not workspace.is_dir():
        raise MinilmError(
            f"--workspace {workspace} is a file; give a folder (it is created if missing)"
        )


def _load(workspace: Path) -> dict:
    path = workspace / PROGRESS
    if not path.is_file():
        return {}
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}  # a damaged record only forgets what was passed; the files are untouched
    return data if isinstance(data, dict) else {}


def mark_passed(workspace: Path, name: str, seed: int) -> None:
    data = _load(workspace)
    data[name] = {"passed": True, "seed": seed}
    write_text(workspace / PROGRESS, json.dumps(data, indent=1, sort_keys=True))


def passed(workspace: Path, name: str) -> bool:
    return bool(_load(workspace).get(name, {}).get("passed"))


def status(workspace: Path, name: str) -> str:
    if passed(workspace, name):
        return "passed"
    return "started" if (workspace / f"{name}.py").is_file() else "not started"


def progress_table(workspace: Path) -> list[str]:
    """`list`: every exercise in the docs' order, its state and a time estimate."""
    lines = [f"{'exercise':22s} {'state':12s} {'time':>7s}  page  (workspace {workspace})"]
    done = 0
    for ex in EXERCISES.values():
        state = status(workspace, ex.name)
        done += state == "passed"
        page = Path(ex.docs).stem
        lines.append(f"{ex.name:22s} {state:12s} {ex.minutes:4d} min  {page}: {ex.title}")
    left = sum(ex.minutes for ex in EXERCISES.values() if status(workspace, ex.name) != "passed")
    lines.append(f"{done} of {len(EXERCISES)} passed; about {left / 60:.1f} h of work left")
    return lines


def _function_sources(text: str) -> dict[str, str]:
    """Top-level functions of a file's text, by name (their source, docstring included)."""
    try:
        tree = ast.parse(text)
    except SyntaxError:
        return {}
    return {
        node.name: ast.get_source_segment(text, node) or ""
        for node in tree.body
        if isinstance(node, ast.FunctionDef)
    }


def solution_diff(ex: Exercise, path: Path) -> str:
    """Unified diff from the learner's functions (`path`) to the reference's."""
    mine = _function_sources(path.read_text(encoding="utf-8")) if path.is_file() else {}
    parts = []
    for fn in ex.functions:
        ref = textwrap.dedent(inspect.getsource(fn))
        where = Path(inspect.getsourcefile(fn)).as_posix()
        where = where[where.rfind("minilm/") :]
        yours = mine.get(fn.__name__, "")
        diff = difflib.unified_diff(
            yours.splitlines(),
            ref.splitlines(),
            lineterm="",
            fromfile=f"yours: {path}:{fn.__name__}",
            tofile=f"reference: {where}:{fn.__name__}",
        )
        text = "\n".join(diff)
        parts.append(text or f"{fn.__name__}: identical to the reference")
    return "\n\n".join(parts)
