"""Make a blank exercise file, load a learner's file, and grade it against its reference.

Grading, for every test case (float64 inputs from a fixed seed):
1. the forward value (a layer's output, or a loss) must equal the reference's;
2. every gradient the learner returns must equal a central-difference gradient of the
   *reference* forward (minilm/gradcheck.py), so a wrong forward cannot hide a wrong backward.
Each gradient is named in the verdict, e.g. "dW is wrong: max relative error 0.73 (should be
< 1e-07); dx and db are right".
"""

from __future__ import annotations

import ast
import importlib.util
import inspect
import textwrap
import traceback
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from minilm.errors import MinilmError
from minilm.exercises.catalog import EXERCISES, Exercise
from minilm.gradcheck import numerical_gradient, numerical_gradient_array, rel_error

TOLERANCE = 1e-7  # float64 central differences give ~1e-9 on a right answer, ~1 on a wrong one
SEED = 231
PLACEHOLDER = "    # YOUR CODE HERE\n    return None\n"


@dataclass
class Report:
    passed: bool = True
    lines: list[str] = field(default_factory=list)

    def fail(self, line: str) -> None:
        self.passed = False
        self.lines.append(line)


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


def blank_function(fn: Callable) -> str:
    """The source of `fn` up to the end of its docstring, with a placeholder body."""
    source = textwrap.dedent(inspect.getsource(fn))
    node = ast.parse(source).body[0]
    first = node.body[0] if isinstance(node, ast.FunctionDef) else None
    if not (isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant)):
        raise MinilmError(f"{fn.__name__} has no docstring to build an exercise from")
    head = source.splitlines()[: first.end_lineno]
    return "\n".join(head) + "\n" + PLACEHOLDER


def blank_file(ex: Exercise) -> str:
    """The whole file a learner starts from: the task, then each function to write."""
    names = ", ".join(fn.__name__ for fn in ex.functions)
    where = ", ".join(f"{inspect.getsourcefile(fn)}" for fn in ex.functions[:1])
    where = Path(where).relative_to(Path(__file__).resolve().parents[2]).as_posix()
    header = (
        f'"""Exercise {ex.name}: {ex.title}.\n\n'
        + textwrap.fill(ex.task, 96)
        + (f"\n\n{ex.equations}" if ex.equations else "")
        + "\n\nFill in the body of every function below (NumPy is all you need); each docstring"
        "\nstates the shapes and what to return.\n\n"
        f"Check:   python -m minilm.exercises check {ex.name}\n"
        f"Hint:    python -m minilm.exercises check {ex.name} --hint\n"
        f"Explained in {ex.docs}.\nThe reference solution: {where} ({names});"
        "\nread it after you pass, or when you are stuck.\n"
        '"""\n\nfrom __future__ import annotations\n\nimport numpy as np\n'
    )
    return header + "".join("\n\n" + blank_function(fn) for fn in ex.functions)


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
    except Exception as err:  # a learner's syntax error or import error: say where, plainly
        raise MinilmError(f"{path} does not import: {type(err).__name__}: {err}") from None
    missing = [fn.__name__ for fn in ex.functions if not callable(getattr(module, fn.__name__, 0))]
    if missing:
        raise MinilmError(f"{path} defines no function {', '.join(missing)}; keep their names")
    return {fn.__name__: getattr(module, fn.__name__) for fn in ex.functions}


def reference(ex: Exercise) -> dict[str, Callable]:
    return {fn.__name__: fn for fn in ex.functions}


def _copy(inputs: Mapping[str, object]) -> dict[str, object]:
    return {k: v.copy() if isinstance(v, np.ndarray) else v for k, v in inputs.items()}


def _call(report: Report, name: str, fn: Callable, *args, **kwargs):
    """fn(...), or None after recording what it raised and on which line of the learner's file."""
    try:
        return fn(*args, **kwargs), True
    except Exception as err:
        frames = traceback.extract_tb(err.__traceback__)
        mine = [f for f in frames if f.filename == fn.__code__.co_filename] or frames[-1:]
        where = f" (line {mine[-1].lineno}: {mine[-1].line})" if mine else ""
        report.fail(f"  {name} raised {type(err).__name__}: {err}{where}")
        return None, False


def _compare(report: Report, what: str, got: object, want: np.ndarray) -> bool:
    """got == want within TOLERANCE, or a failed line saying how it differs."""
    if got is None:
        report.fail(f"  {what} is None: that part is not written yet")
        return False
    got = np.asarray(got, dtype=np.float64)
    if got.shape != np.shape(want):
        report.fail(f"  {what} has shape {got.shape}; it should be {np.shape(want)}")
        return False
    err = rel_error(got, want)
    if not err < TOLERANCE:  # also catches NaN
        report.fail(f"  {what} is wrong: max relative error {err:.2g} (should be < {TOLERANCE:g})")
        return False
    return True


def _verdict(report: Report, grads: list[tuple[str, object]], numeric: list[np.ndarray]) -> None:
    """One line naming the wrong gradients (with their errors) and the right ones."""
    right, before = [], len(report.lines)
    for (name, got), want in zip(grads, numeric, strict=True):
        if _compare(report, name, got, want):
            right.append(name)
    if right and len(report.lines) > before:
        report.lines.append(f"  {_join(right)} {'is' if len(right) == 1 else 'are'} right")
    elif right:
        report.lines.append(f"  {_join(right)}: right")


def _join(names: list[str]) -> str:
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]


def _unpack(report: Report, value: object, count: int, what: str) -> list | None:
    """A returned tuple of `count` items, or None after saying what came back instead."""
    if value is None:
        report.fail(f"  {what} returned None: its body is not written yet")
        return None
    items = list(value) if isinstance(value, tuple | list) else [value]
    if len(items) != count:
        report.fail(f"  {what} returned {len(items)} values; it should return {count}")
        return None
    return items


def check_case(ex: Exercise, impl: Mapping[str, Callable], label: str, inputs: dict) -> Report:
    """Grade one test case; see the module docstring."""
    report = Report(lines=[f"case: {label}"])
    names = [f"d{a}" for a in ex.grad_args]
    if ex.kind == "layer":
        ref_forward = ex.functions[0]
        fwd_name, bwd_name = (fn.__name__ for fn in ex.functions)
        want_out = ref_forward(**_copy(inputs))[0]
        result, ok = _call(report, fwd_name, impl[fwd_name], **_copy(inputs))
        items = _unpack(report, result, 2, fwd_name) if ok else None
        if items is None:
            return report
        out, cache = items
        if _compare(report, f"the output of {fwd_name}", out, want_out):
            report.lines.append(f"  {fwd_name}: right")
        dout = np.random.default_rng(SEED).standard_normal(np.shape(want_out))
        result, ok = _call(report, bwd_name, impl[bwd_name], dout.copy(), cache)
        grads = _unpack(report, result, len(names), bwd_name) if ok else None
        if grads is None:
            return report
        numeric = [
            numerical_gradient_array(lambda: ref_forward(**inputs)[0], inputs[a], dout)
            for a in ex.grad_args
        ]
    else:
        ref = ex.functions[0]
        want_loss = ref(**_copy(inputs))[0]
        result, ok = _call(report, ref.__name__, impl[ref.__name__], **_copy(inputs))
        items = _unpack(report, result, 1 + len(names), ref.__name__) if ok else None
        if items is None:
            return report
        if _compare(report, "the loss", items[0], np.asarray(want_loss)):
            report.lines.append("  the loss: right")
        grads = items[1:]
        numeric = [
            numerical_gradient(lambda: float(ref(**inputs)[0]), inputs[a]) for a in ex.grad_args
        ]
    _verdict(report, list(zip(names, grads, strict=True)), numeric)
    return report


def check(ex: Exercise, impl: Mapping[str, Callable]) -> Report:
    """Grade every case of `ex`; passed only if every value and gradient is right."""
    total = Report()
    for label, inputs in ex.cases(np.random.default_rng(SEED)):
        case = check_case(ex, impl, label, inputs)
        total.passed &= case.passed
        total.lines += case.lines
    total.lines.append(
        f"{ex.name}: PASSED - every value and gradient matches (relative error < {TOLERANCE:g})"
        if total.passed
        else f"{ex.name}: not yet - fix the lines marked wrong above"
    )
    return total
