"""Make a blank exercise file, load a learner's file, and grade it against its reference.

Grading, for every test case (float64 inputs; fixed cases that break each symmetry, plus random
shapes drawn from a seed printed with the report, plus one float32 case):
1. every returned value must be a real float array of the input's dtype and the right shape;
2. the forward's values (a layer's outputs, or a loss) must equal the reference's;
3. no call may change its arguments: the inputs are compared after the forward and after the
   backward, and the cache and dout after the backward (minilm/layers/core.py: a backward may
   run twice on one cache);
4. the backward runs twice on the same cache and must give identical results;
5. every gradient must equal the reference's gradient (the references are grad-checked by
   central differences in tests/test_exercises.py), so a wrong forward cannot hide a wrong
   backward.
Each learner call has a time limit and may not exit the program. A wrong value is named with
the kind of slip when there is one: exactly -1x, a constant multiple, the transpose (see
minilm/exercises/verdicts.py). minilm/exercises/sandbox.py runs all of it in a child process.
"""

from __future__ import annotations

import ast
import importlib.util
import inspect
import signal
import textwrap
import threading
import traceback
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from minilm.errors import MinilmError
from minilm.exercises.catalog import EXERCISES, Exercise
from minilm.exercises.verdicts import changed, how_wrong, kind_problem, same_result, scalar_problem
from minilm.exercises.verdicts import snapshot as take_snapshot

TOLERANCE = 1e-7  # float64: a right answer differs from the reference by ~1e-15, a wrong one ~1
TOLERANCE_32 = 1e-4  # float32 rounding, ~1e-6 on a right answer
TIME_LIMIT = 10.0  # seconds per call of a learner's function
PLACEHOLDER = "    # YOUR CODE HERE\n    return None\n"
ON_CALL: list[Callable[[str], None]] = []  # sandbox hooks: told the name before every call


@dataclass
class Report:
    passed: bool = True
    lines: list[str] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)

    def fail(self, line: str) -> None:
        self.passed = False
        self.lines.append(line)
        self.failures.append(line)


def get(name: str) -> Exercise:
    """The exercise called `name`, or a one-line error listing the names there are.

    A function's name finds its exercise too: attention_backward -> attention.
    """
    for ex in EXERCISES.values():
        if name in (fn.__name__ for fn in ex.functions):
            return ex
    if name not in EXERCISES:
        raise MinilmError(f"no exercise {name!r}; choose one of: {', '.join(EXERCISES)}")
    return EXERCISES[name]


def blank_function(fn: Callable, doc: str | None = None) -> str:
    """The source of `fn` up to the end of its docstring (or `doc` instead), then a placeholder."""
    source = textwrap.dedent(inspect.getsource(fn))
    node = ast.parse(source).body[0]
    first = node.body[0] if isinstance(node, ast.FunctionDef) else None
    if not (isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant)):
        raise MinilmError(f"{fn.__name__} has no docstring to build an exercise from")
    lines = source.splitlines()
    if doc is None:
        head = lines[: first.end_lineno]
    else:
        indent = " " * first.col_offset
        body = textwrap.indent(doc.strip("\n"), indent).splitlines()
        head = lines[: first.lineno - 1] + [f'{indent}"""{body[0].strip()}', *body[1:]]
        head += [f'{indent}"""'] if len(body) > 1 else []
        head[-1] += '"""' if len(body) == 1 else ""
    return "\n".join(head) + "\n" + PLACEHOLDER


def blank_file(ex: Exercise) -> str:
    """The whole file a learner starts from: the task, then each function to write."""
    header = (
        f'"""Exercise {ex.name}: {ex.title}.\n\n'
        + textwrap.fill(ex.task, 96)
        + (f"\n\n{ex.equations}" if ex.equations else "")
        + "\n\nFill in the body of every function below (NumPy is all you need); each docstring"
        "\nstates the shapes and what to return. Do not change the arguments you are given.\n\n"
        f"Check:     python -m minilm.exercises check {ex.name}\n"
        f"Stuck?     python -m minilm.exercises check {ex.name} --hint   (--hint 2: the formula)\n"
        f"Explained in {ex.docs}. Once you pass, compare with the reference:\n"
        f"           python -m minilm.exercises solution {ex.name}\n"
        '"""\n\nfrom __future__ import annotations\n\nimport numpy as np\n'
    )
    return header + "".join(
        "\n\n" + blank_function(fn, ex.starter_docs.get(fn.__name__)) for fn in ex.functions
    )


def load_learner(path: Path, ex: Exercise) -> dict[str, Callable]:
    """Import the learner's file by path and return its functions by name."""
    if not path.is_file():
        raise MinilmError(
            f"{path} does not exist; run `python -m minilm.exercises start {ex.name}` first"
        )
    spec = importlib.util.spec_from_file_location(f"exercise_{ex.name}", path)
    module = importlib.util.module_from_spec(spec)
    try:
        spec.loader.exec_module(module)
    except (Exception, SystemExit) as err:  # a syntax error, an import error, an exit(): say so
        raise MinilmError(f"{path} does not import: {type(err).__name__}: {err}") from None
    missing = [fn.__name__ for fn in ex.functions if not callable(getattr(module, fn.__name__, 0))]
    if missing:
        raise MinilmError(f"{path} defines no function {', '.join(missing)}; keep their names")
    return {fn.__name__: getattr(module, fn.__name__) for fn in ex.functions}


def reference(ex: Exercise) -> dict[str, Callable]:
    return {fn.__name__: fn for fn in ex.functions}


class LearnerTimeout(BaseException):
    """Raised inside a learner's function that ran past its time limit (not an Exception, so a
    learner's `except Exception` cannot swallow it)."""


@contextmanager
def time_limit(seconds: float | None) -> Iterator[None]:
    """Raise LearnerTimeout in the code running after `seconds` (main thread only)."""
    if not seconds or threading.current_thread() is not threading.main_thread():
        yield
        return

    def alarm(signum, frame):
        raise LearnerTimeout

    old = signal.signal(signal.SIGALRM, alarm)
    signal.setitimer(signal.ITIMER_REAL, seconds, 1.0)  # re-fires if the first one is swallowed
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, old)


def call(report: Report, name: str, fn: Callable, limit: float | None, *args, **kwargs):
    """(fn(...), True), or (None, False) after recording what went wrong and where."""
    for hook in ON_CALL:
        hook(name)
    try:
        with time_limit(limit), np.errstate(all="ignore"):
            return fn(*args, **kwargs), True
    except LearnerTimeout:
        report.fail(f"  your {name} did not return within {limit:g} s (an endless loop?)")
    except SystemExit as err:
        report.fail(
            f"  {name} called exit({err.code!r}): an exercise function must return "
            "its values, never end the program"
        )
    except Exception as err:
        frames = traceback.extract_tb(err.__traceback__)
        code = getattr(fn, "__code__", None)
        mine = [f for f in frames if code and f.filename == code.co_filename] or frames[-1:]
        where = f" (line {mine[-1].lineno}: {mine[-1].line})" if mine else ""
        report.fail(f"  {name} raised {type(err).__name__}: {err}{where}")
    return None, False


def _copy(inputs: Mapping[str, object]) -> dict[str, object]:
    return {k: v.copy() if isinstance(v, np.ndarray) else v for k, v in inputs.items()}


def float_dtype(inputs: Mapping[str, object]) -> np.dtype:
    """The dtype the outputs must have: that of the float arrays among the inputs."""
    kinds = [v.dtype for v in inputs.values() if isinstance(v, np.ndarray) and v.dtype.kind == "f"]
    return np.result_type(*kinds) if kinds else np.dtype(np.float64)


def _unpack(report: Report, value: object, count: int, what: str) -> list | None:
    """A returned tuple of `count` items, or None after saying what came back instead."""
    if value is None:
        report.fail(f"  {what} returned None: its body is not written yet")
        return None
    if not isinstance(value, tuple | list):
        report.fail(
            f"  {what} returned a {type(value).__name__}; it should return a tuple of "
            f"{count} values"
        )
        return None
    if len(value) != count:
        report.fail(f"  {what} returned {len(value)} values; it should return {count}")
        return None
    return list(value)


def _value(report: Report, what: str, got: object, want: object, dtype, tol: float) -> bool:
    """One returned value against the reference's: kind first, then the numbers."""
    if np.ndim(want) == 0 and not isinstance(want, np.ndarray):
        problem = scalar_problem(got)
    else:
        problem = kind_problem(got, np.shape(want), dtype)
    if problem is None:
        problem = how_wrong(np.asarray(got, dtype=np.float64), want, tol)
    if problem is None:
        return True
    report.fail(f"  {what} {problem}")
    return False


def _unchanged(report: Report, who: str, what: str, now: object, before: object) -> bool:
    places = changed(now, before)
    if places:
        report.fail(
            f"  {who} changed {what} in place ({', '.join(places)}): work on a copy "
            "(`a = a - ...`, not `a -= ...` or out=a)"
        )
    return not places


def _inputs_kept(report: Report, who: str, args: dict, before: dict, *, through: str = "") -> bool:
    ok = True
    for name, value in args.items():
        if isinstance(value, np.ndarray):
            ok &= _unchanged(report, who, f"the argument {name}{through}", value, before[name])
    return ok


def _as_tuple(value: object, count: int) -> object:
    """A backward with one gradient may return it bare: (dx,) either way."""
    return (value,) if count == 1 and isinstance(value, np.ndarray) else value


def _twice(report: Report, who: str, names: list[str], first: list, second: object) -> None:
    second = list(second) if isinstance(second, tuple | list) else [second]
    if len(second) != len(first):
        report.fail(f"  {who} returned a different number of values the second time")
        return
    differ = [n for n, a, b in zip(names, first, second, strict=True) if not same_result(a, b)]
    if differ:
        report.fail(
            f"  calling {who} a second time on the same arguments gave a different "
            f"{', '.join(differ)} (something it used was changed by the first call)"
        )


def _values(report: Report, named: list[tuple[str, object, object]], dtype, tol: float) -> None:
    """Compare every (name, got, want); then one line with the names that are right."""
    before = len(report.failures)
    right = [name for name, got, want in named if _value(report, name, got, want, dtype, tol)]
    if right:
        verb = (
            ": right"
            if len(report.failures) == before
            else (" is right" if len(right) == 1 else " are right")
        )
        report.lines.append(f"  {_join(right)}{verb}")


def _join(names: list[str]) -> str:
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]


def check_layer_case(ex: Exercise, impl: Mapping, inputs: dict, report: Report, limit, tol):
    """Forward, the in-place checks, the backward twice, every value: see the module docstring."""
    fwd, bwd = ex.functions
    fname, bname, n = fwd.__name__, bwd.__name__, len(ex.outputs)
    names, dtype = [f"d{a}" for a in ex.grad_args], float_dtype(inputs)
    ref = fwd(**_copy(inputs))
    want_outs, ref_cache = ref[:n], ref[n]
    rng = np.random.default_rng(7)
    douts = [rng.standard_normal(np.shape(o)).astype(dtype) for o in want_outs]
    want_grads = _as_tuple(bwd(*[d.copy() for d in douts], ref_cache), len(names))

    args = _copy(inputs)
    before = take_snapshot(args)
    result, ok = call(report, fname, impl[fname], limit, **args)
    items = _unpack(report, result, n + 1, fname) if ok else None
    if items is None:
        return
    _inputs_kept(report, fname, args, before)
    labels = (
        [f"the output of {fname}"] if n == 1 else [f"the output {o} of {fname}" for o in ex.outputs]
    )
    _values(report, list(zip(labels, items[:n], want_outs, strict=True)), dtype, tol)
    cache = items[n]
    cache_before = take_snapshot(cache)
    first = [d.copy() for d in douts]
    result, ok = call(report, bname, impl[bname], limit, *first, cache)
    grads = _unpack(report, _as_tuple(result, len(names)), len(names), bname) if ok else None
    if grads is None:
        return
    dnames = list(inspect.signature(bwd).parameters)[:n]  # the reference's names: dout, dh
    for dname, now, was in zip(dnames, first, douts, strict=True):
        _unchanged(report, bname, f"its argument {dname}", now, was)
    _unchanged(report, bname, "its cache", cache, cache_before)
    _inputs_kept(report, bname, args, before, through=" (through the cache)")
    again, ok = call(report, bname, impl[bname], limit, *[d.copy() for d in douts], cache)
    if ok:
        _twice(report, bname, names, grads, _as_tuple(again, len(names)))
    _values(report, list(zip(names, grads, want_grads, strict=True)), dtype, tol)


def check_loss_case(ex: Exercise, impl: Mapping, inputs: dict, report: Report, limit, tol):
    """A fused loss: (loss, *grads), called twice on the same arguments."""
    (fn,) = ex.functions
    name, names, dtype = fn.__name__, [f"d{a}" for a in ex.grad_args], float_dtype(inputs)
    want = fn(**_copy(inputs))
    args = _copy(inputs)
    before = take_snapshot(args)
    result, ok = call(report, name, impl[name], limit, **args)
    items = _unpack(report, result, 1 + len(names), name) if ok else None
    if items is None:
        return
    _inputs_kept(report, name, args, before)
    again, ok = call(report, name, impl[name], limit, **args)
    if ok:
        _twice(report, name, ["loss", *names], items, again)
    named = [("the loss", items[0], want[0])] + list(zip(names, items[1:], want[1:], strict=True))
    _values(report, named, dtype, tol)


def as_float32(inputs: dict) -> dict:
    return {
        k: v.astype(np.float32) if isinstance(v, np.ndarray) and v.dtype.kind == "f" else v
        for k, v in inputs.items()
    }


def all_cases(ex: Exercise, seed: int) -> list[tuple[str, dict, float]]:
    """(label, inputs, tolerance): the exercise's cases for `seed`, then its first in float32."""
    cases = [(label, inputs, TOLERANCE) for label, inputs in ex.cases(np.random.default_rng(seed))]
    label, inputs, _ = cases[0]
    return cases + [
        (f"{label}, in float32 (the outputs must stay float32)", as_float32(inputs), TOLERANCE_32)
    ]


def new_seed() -> int:
    return int(np.random.SeedSequence().entropy % 1_000_000)


def check(
    ex: Exercise,
    impl: Mapping[str, Callable],
    seed: int | None = None,
    limit: float | None = TIME_LIMIT,
    shown: int = 3,
) -> Report:
    """Grade every case of `ex`; passed only if every check of every case passes.

    A passing case is one line; the first `shown` failing cases are reported in full.
    """
    seed = new_seed() if seed is None else seed
    total = Report(lines=[f"seed {seed} (the random shapes; repeat them with --seed {seed})"])
    checker = check_layer_case if ex.kind == "layer" else check_loss_case
    failed = 0
    for label, inputs, tol in all_cases(ex, seed):
        case = Report()
        checker(ex, impl, inputs, case, limit, tol)
        if case.passed:
            total.lines.append(f"ok    {label}")
            continue
        failed += 1
        total.passed = False
        total.failures += case.failures
        if failed <= shown:
            total.lines += [f"WRONG {label}", *case.lines]
        if any("did not return within" in line for line in case.failures):
            total.lines.append("(stopped at the first call that ran out of time)")
            failed = min(failed, shown)
            break
    if failed > shown:
        total.lines.append(f"... and {failed - shown} more failing case(s) not shown")
    total.lines.append(
        f"{ex.name}: PASSED - every value and gradient matches, nothing changed in place"
        if total.passed
        else f"{ex.name}: not yet - fix the lines marked above"
    )
    return total
