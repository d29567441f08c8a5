"""The library of known-wrong solutions: every one must FAIL `check`, naming the wrong piece.

    python tests/wrong_solutions.py            # the table: per exercise, wrong solutions and
                                               # how many passed (must be 0); exit 1 otherwise

Two parts:
- mechanical mutations of every reference (`mutations`): each gradient doubled, negated,
  transposed, summed over the wrong axis, returned in float32; each output doubled, negated,
  complex; each input changed in place by the forward; dout and every array of the cache
  changed in place by the backward; a backward that answers differently the second time;
- realistic wrong solutions of the classes found by hand (tests/wrong_classes.py): attention
  with heads = head size assumptions, no causal mask, no max subtraction; in-place slips; a
  naive log-sigmoid; float32 accumulation; an endless loop, exit calls, a string returned.
Each carries `expect`: text one of the report's failure lines must contain (the name of the
wrong gradient, output or argument), so a wrong solution failing for the wrong reason is
counted as a miss too.
"""

from __future__ import annotations

import inspect
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

from wrong_classes import hand_written  # noqa: E402

from minilm.errors import MinilmError  # noqa: E402
from minilm.exercises import grader, sandbox  # noqa: E402
from minilm.exercises.catalog import EXERCISES, Exercise  # noqa: E402

SEED = 2024  # the audit's random shapes; any seed must give the same verdicts


@dataclass
class Wrong:
    exercise: str
    label: str
    expect: str  # a failure line must contain this
    impl: dict[str, Callable] | None = None  # overrides of the reference functions, or
    source: str | None = None  # a learner's whole file, graded in the child process
    family: str = "mutation"


def _listed(value):
    return list(value) if isinstance(value, tuple | list) else [value]


def _shaped(items: list, like: object):
    return tuple(items) if isinstance(like, tuple | list) else items[0]


GRAD_SLIPS = {
    "doubled": lambda g: 2 * g,
    "negated": lambda g: -g,
    "transposed": lambda g: np.swapaxes(g, -1, -2) if g.ndim >= 2 else None,
    "summed over the wrong axis": lambda g: (
        np.broadcast_to(g.sum(axis=0, keepdims=True), g.shape).copy()
        if g.ndim >= 2
        else np.asarray(g.sum())
    ),
    "in float32": lambda g: g.astype(np.float32),
}


def _sample(ex: Exercise) -> tuple[dict, object, object]:
    """Case 0's inputs, the reference's forward result and (layers) backward result."""
    _, inputs = ex.cases(np.random.default_rng(SEED))[0]
    fwd = ex.functions[0](**inputs)
    if ex.kind == "loss":
        return inputs, fwd, None
    n = len(ex.outputs)
    douts = [np.ones(np.shape(o)) for o in fwd[:n]]
    return inputs, fwd, ex.functions[1](*douts, fwd[n])


def _grad_mutations(ex: Exercise, sample_grads: list) -> list[Wrong]:
    last = ex.functions[-1]
    offset = 1 if ex.kind == "loss" else 0
    out = []
    for k, arg in enumerate(ex.grad_args):
        for slip, fn in GRAD_SLIPS.items():
            if fn(np.asarray(sample_grads[k])) is None:
                continue  # transposing a vector changes nothing

            def mutant(*args, _k=k + offset, _fn=fn, **kwargs):
                items = _listed(last(*args, **kwargs))
                items[_k] = _fn(np.asarray(items[_k]))
                return tuple(items) if len(items) > 1 else items[0]

            expect = f"  d{arg} has dtype float32" if slip == "in float32" else f"  d{arg} "
            out.append(Wrong(ex.name, f"d{arg} {slip}", expect, {last.__name__: mutant}))
    return out


def _output_mutations(ex: Exercise) -> list[Wrong]:
    first = ex.functions[0]
    n = len(ex.outputs) if ex.kind == "layer" else 1
    names = (
        [f"the output of {first.__name__}"]
        if n == 1 or ex.kind == "loss"
        else [f"the output {o} of {first.__name__}" for o in ex.outputs]
    )
    if ex.kind == "loss":
        names = ["the loss"]
    slips = {"doubled": lambda v: 2 * v, "negated": lambda v: -v, "complex": lambda v: v + 0j}
    out = []
    for k, name in enumerate(names):
        for slip, fn in slips.items():

            def mutant(*args, _k=k, _fn=fn, **kwargs):
                items = list(first(*args, **kwargs))
                items[_k] = _fn(items[_k])
                return tuple(items)

            expect = f"  {name} is complex" if slip == "complex" else f"  {name} "
            out.append(Wrong(ex.name, f"{name} {slip}", expect, {first.__name__: mutant}))
    return out


def _bump(a: np.ndarray) -> None:
    """Change every entry of a in place."""
    if a.dtype == bool:
        np.logical_not(a, out=a)
    else:
        a += 1


def _input_mutations(ex: Exercise, inputs: dict) -> list[Wrong]:
    first = ex.functions[0]
    out = []
    for arg, value in inputs.items():
        if not isinstance(value, np.ndarray):
            continue

        def mutant(*args, _arg=arg, **kwargs):
            result = first(*args, **kwargs)
            if isinstance(kwargs.get(_arg), np.ndarray):
                _bump(kwargs[_arg])
            return result

        expect = f"changed the argument {arg} in place"
        out.append(
            Wrong(
                ex.name,
                f"{first.__name__} changes {arg} in place",
                expect,
                {first.__name__: mutant},
            )
        )
    return out


def _leaves(obj: object, path: tuple = ()) -> list[tuple]:
    if isinstance(obj, np.ndarray):
        return [path]
    if isinstance(obj, tuple | list):
        return [p for i, x in enumerate(obj) for p in _leaves(x, (*path, i))]
    return []


def _at(obj: object, path: tuple) -> object:
    for i in path:
        obj = obj[i]
    return obj


def _backward_mutations(ex: Exercise, cache: object) -> list[Wrong]:
    bwd = ex.functions[1]
    n = len(ex.outputs)
    dnames = list(inspect.signature(bwd).parameters)[:n]
    out = []
    for k, dname in enumerate(dnames):

        def changes_dout(*args, _k=k):
            result = bwd(*args)
            dout = args[_k]
            dout *= 3
            return result

        out.append(
            Wrong(
                ex.name,
                f"{bwd.__name__} changes {dname} in place",
                f"{bwd.__name__} changed its argument {dname}",
                {bwd.__name__: changes_dout},
            )
        )
    for path in _leaves(cache):

        def changes_cache(*args, _path=path):
            result = bwd(*args)
            leaf = _at(args[-1], _path)
            if leaf.size:
                _bump(leaf)
            return result

        where = "".join(f"[{i}]" for i in path)
        out.append(
            Wrong(
                ex.name,
                f"{bwd.__name__} changes cache{where} in place",
                f"{bwd.__name__} changed",
                {bwd.__name__: changes_cache},
            )
        )
    return out


def _repeat_mutation(ex: Exercise) -> Wrong:
    fn = ex.functions[-1]
    calls: dict[int, int] = {}

    def drifts(*args, **kwargs):
        key = id(args[-1]) if ex.kind == "layer" else id(next(iter(kwargs.values())))
        calls[key] = calls.get(key, 0) + 1
        items = _listed(fn(*args, **kwargs))
        k = 1 if ex.kind == "loss" else 0
        items[k] = items[k] * (1 + 0.01 * (calls[key] - 1))  # a buffer that accumulates
        return tuple(items) if len(items) > 1 else items[0]

    return Wrong(
        ex.name, f"{fn.__name__} differs on its second call", "a second time", {fn.__name__: drifts}
    )


def mutations(ex: Exercise) -> list[Wrong]:
    """The mechanical mutations of one exercise's reference (see the module docstring)."""
    inputs, fwd, bwd = _sample(ex)
    grads = _listed(bwd) if ex.kind == "layer" else list(fwd[1:])
    found = _grad_mutations(ex, grads) + _output_mutations(ex) + _input_mutations(ex, inputs)
    if ex.kind == "layer":
        found += _backward_mutations(ex, fwd[len(ex.outputs)])
    return [*found, _repeat_mutation(ex)]


def library() -> list[Wrong]:
    found = [w for ex in EXERCISES.values() for w in mutations(ex)]
    return found + [Wrong(*args, family="class") for args in hand_written()]


def verdict(wrong: Wrong, seed: int = SEED) -> tuple[bool, bool, str]:
    """(failed, named, first failure line) of one wrong solution."""
    ex = EXERCISES[wrong.exercise]
    if wrong.source is None:
        impl = {**grader.reference(ex), **(wrong.impl or {})}
        report = grader.check(ex, impl, seed, limit=2.0)
    else:
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / f"{ex.name}.py"
            path.write_text(wrong.source, encoding="utf-8")
            try:
                report = sandbox.check_file(ex, path, seed, limit=0.5)
            except MinilmError as err:
                report = grader.Report()
                report.fail(f"  {err}")
    named = any(wrong.expect in line for line in report.failures)
    first = report.failures[0].strip() if report.failures else "(passed)"
    return not report.passed, named, first


def audit(seed: int = SEED) -> tuple[list[str], int, int]:
    """The table's lines, the number of wrong solutions that passed or were misnamed, total."""
    rows: dict[str, list[int]] = {name: [0, 0, 0, 0] for name in EXERCISES}
    bad, lines, wrongs = 0, [], library()
    for wrong in wrongs:
        failed, named, first = verdict(wrong, seed)
        row = rows[wrong.exercise]
        row[0 if wrong.family == "mutation" else 1] += 1
        row[2] += not failed
        row[3] += failed and not named
        if not (failed and named):
            bad += 1
            lines.append(
                f"MISSED {wrong.exercise}: {wrong.label} (expected {wrong.expect!r}; got {first})"
            )
    head = (
        f"{'exercise':22s} {'mutations':>9s} {'classes':>7s} {'passed':>6s} {'misnamed':>8s}  ref"
    )
    table = [head]
    for name, (mut, cls, passed, misnamed) in rows.items():
        ex = EXERCISES[name]
        ref = grader.check(ex, grader.reference(ex), seed).passed
        bad += not ref
        table.append(
            f"{name:22s} {mut:9d} {cls:7d} {passed:6d} {misnamed:8d}  {'PASS' if ref else 'FAIL'}"
        )
    totals = [sum(r[i] for r in rows.values()) for i in range(4)]
    table.append(f"{'total':22s} {totals[0]:9d} {totals[1]:7d} {totals[2]:6d} {totals[3]:8d}")
    table.append(
        f"{len(wrongs)} known-wrong solutions (seed {seed}): {totals[2]} passed, "
        f"{totals[3]} failed for another reason than the one expected"
    )
    return lines + table, bad, len(wrongs)


def main() -> None:
    seed = int(sys.argv[1]) if len(sys.argv) > 1 else SEED
    start = time.perf_counter()
    lines, bad, _ = audit(seed)
    print("\n".join(lines))
    print(f"({time.perf_counter() - start:.1f} s)")
    sys.exit(1 if bad else 0)


if __name__ == "__main__":
    main()
