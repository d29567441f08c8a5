"""The graded exercises: references pass and are right, blanks fail, wrong code is named.

The library of known-wrong solutions (>= 150, every one must fail) is tests/wrong_solutions.py,
run by tests/test_exercises_audit.py.
"""

from __future__ import annotations

import ast
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from minilm.errors import MinilmError
from minilm.exercises import grader, sandbox
from minilm.exercises.catalog import EXERCISES
from minilm.gradcheck import numerical_gradient, numerical_gradient_array, rel_error

ROOT = Path(__file__).resolve().parent.parent
NAMES = list(EXERCISES)
# a gradient formula: "dx = ...", "dloss/dz = ...", "d out / dx = ..."
FORMULA = re.compile(r"^\s*d\w+\s*=|\bd\s*\w+\s*/\s*d\s*\w+\s*=", re.MULTILINE)


def run(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "minilm.exercises", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=120,
    )


def blank(name: str, tmp_path: Path) -> dict:
    path = tmp_path / f"{name}.py"
    path.write_text(grader.blank_file(EXERCISES[name]))
    return grader.load_learner(path, EXERCISES[name])


def test_the_issue_minimum_is_there():
    wanted = {
        "affine",
        "embedding",
        "tanh",
        "softmax_cross_entropy",
        "rnn_step",
        "rnn_bptt",
        "sgns",
        "layernorm",
        "attention",
        "glove",
        "lstm_step",
        "gelu",
        "hsoftmax",
        "info_nce",
        "tsne",
    }
    assert wanted <= set(EXERCISES)
    pages = [ex.docs for ex in EXERCISES.values()]
    assert pages == sorted(pages), "EXERCISES must follow the docs' order"
    for ex in EXERCISES.values():
        assert ex.hint and ex.formula and ex.task and ex.minutes > 0, ex.name
        assert (ROOT / ex.docs).is_file(), ex.name


@pytest.mark.parametrize("name", NAMES)
def test_reference_passes_at_many_seeds(name):
    ex = EXERCISES[name]
    for seed in range(12):
        report = grader.check(ex, grader.reference(ex), seed=seed)
        assert report.passed, "\n".join(report.lines)
    assert "PASSED" in report.lines[-1]


def _reference_loss(ex, inputs):
    """The scalar whose gradient the reference's backward must give (a loss, or sum(out dout))."""
    if ex.kind == "loss":
        return lambda: float(ex.functions[0](**inputs)[0]), None
    outs = ex.functions[0](**inputs)[: len(ex.outputs)]
    rng = np.random.default_rng(0)
    douts = [rng.standard_normal(np.shape(o)) for o in outs]

    def f():
        new = ex.functions[0](**inputs)[: len(ex.outputs)]
        return float(sum(np.sum(o * d) for o, d in zip(new, douts, strict=True)))

    return f, douts


@pytest.mark.parametrize("name", NAMES)
def test_reference_gradients_match_central_differences(name):
    """The grader compares with the references' gradients: so those are checked here, float64,
    central differences, relative error < 1e-7, on every case but the +-1000 ones."""
    ex = EXERCISES[name]
    for label, inputs in ex.cases(np.random.default_rng(5)):
        if "1000" in label:
            continue
        f, douts = _reference_loss(ex, inputs)
        if douts is None:
            analytic = ex.functions[0](**inputs)[1:]
        else:
            ref = ex.functions[0](**inputs)
            analytic = ex.functions[1](*douts, ref[len(ex.outputs)])
            analytic = (analytic,) if isinstance(analytic, np.ndarray) else analytic
        for arg, got in zip(ex.grad_args, analytic, strict=True):
            numeric = numerical_gradient(f, inputs[arg])
            assert rel_error(got, numeric) < 1e-7, (label, arg)


def test_numerical_gradient_array_is_the_contracted_form():
    x = np.random.default_rng(0).standard_normal((3, 2))
    dout = np.ones((3, 2))
    assert (
        rel_error(numerical_gradient_array(lambda: np.tanh(x), x, dout), 1 - np.tanh(x) ** 2) < 1e-8
    )


@pytest.mark.parametrize("name", NAMES)
def test_blank_fails_plainly(name, tmp_path):
    report = grader.check(EXERCISES[name], blank(name, tmp_path), seed=0)
    assert not report.passed
    assert any("not written yet" in line for line in report.lines), report.lines


@pytest.mark.parametrize("name", NAMES)
def test_starter_keeps_the_signature_and_gives_no_gradient_formula(name):
    ex = EXERCISES[name]
    source = grader.blank_file(ex)
    assert not FORMULA.search(source), FORMULA.search(source)
    defs = {n.name: n for n in ast.parse(source).body if isinstance(n, ast.FunctionDef)}
    for fn in ex.functions:
        ref = ast.parse(grader.inspect.getsource(fn)).body[0]
        assert ast.dump(defs[fn.__name__].args) == ast.dump(ref.args)
        doc = ex.starter_docs.get(fn.__name__, ast.get_docstring(ref))
        assert ast.get_docstring(defs[fn.__name__]) == grader.inspect.cleandoc(doc)
        assert len(defs[fn.__name__].body) == 2  # the docstring and `return None`


@pytest.mark.parametrize("name", NAMES)
def test_hint_one_is_a_nudge_and_hint_two_the_formula(name):
    ex = EXERCISES[name]
    assert not re.search(r"[=@]|np\.", ex.hint), ex.hint
    assert "=" in ex.formula


@pytest.mark.parametrize("name", NAMES)
def test_a_doubled_gradient_is_named_as_2x(name):
    """Scale one returned gradient at a time by 2: exactly that one is called 2x."""
    ex = EXERCISES[name]
    grads = [f"d{a}" for a in ex.grad_args]
    last = ex.functions[-1]
    offset = 0 if ex.kind == "layer" else 1  # a loss returns (loss, *grads)
    for k, wrong in enumerate(grads):

        def doubled(*args, _k=k + offset, **kwargs):
            out = last(*args, **kwargs)
            out = list(out) if isinstance(out, tuple) else [out]
            out[_k] = 2 * out[_k]
            return tuple(out) if len(out) > 1 else out[0]

        report = grader.check(ex, {**grader.reference(ex), last.__name__: doubled}, seed=1)
        text = "\n".join(report.failures)
        assert not report.passed
        assert f"  {wrong} is exactly 2x the right value" in text, text
        assert all(f"  {other} " not in text for other in grads if other != wrong), text


def test_the_duplicate_id_bug_is_caught_only_where_ids_repeat():
    ex = EXERCISES["embedding"]

    def buggy_backward(dout, cache):
        ids, V = cache
        dW = np.zeros((V, dout.shape[-1]), dtype=dout.dtype)
        dW[ids] += dout  # keeps one contribution per repeated id
        return dW

    impl = {**grader.reference(ex), "embedding_backward": buggy_backward}
    verdicts = {}
    for label, inputs, tol in grader.all_cases(ex, 0):
        report = grader.Report()
        grader.check_layer_case(ex, impl, inputs, report, 1.0, tol)
        verdicts[label] = report.passed
    assert verdicts["ids (2, 3) with repeats"] is False
    assert verdicts["the same id five times"] is False
    assert verdicts["one id"] is True


def test_a_wrong_forward_is_reported():
    ex = EXERCISES["layernorm"]

    def forward_without_beta(x, gamma, beta, eps=1e-5):
        out, cache = ex.functions[0](x, gamma, beta, eps)
        return out - beta, cache

    report = grader.check(ex, {**grader.reference(ex), "layernorm_forward": forward_without_beta})
    assert "  the output of layernorm_forward is wrong: max relative error" in report.failures[0]


def test_a_function_name_finds_its_exercise():
    assert grader.get("attention_backward").name == "attention"
    assert grader.get("lstm_step_forward").name == "lstm_step"
    assert grader.get("sgns_loss").name == "sgns"
    with pytest.raises(MinilmError, match="choose one of"):
        grader.get("nonesuch")


def test_a_crash_in_the_learners_code_names_the_line(tmp_path):
    path = tmp_path / "rnn_step.py"
    path.write_text(
        "import numpy as np\n"
        "def rnn_step_forward(x, h_prev, W_xh, W_hh, b_h):\n"
        "    return np.tanh(x @ W_hh), None\n"
        "def rnn_step_backward(dh, cache):\n"
        "    return None\n"
    )
    report = grader.check(EXERCISES["rnn_step"], grader.load_learner(path, EXERCISES["rnn_step"]))
    assert any("raised ValueError" in line and "line 3" in line for line in report.lines)
    path.write_text("def rnn_step_forward(:\n")
    with pytest.raises(MinilmError, match="does not import: SyntaxError"):
        grader.load_learner(path, EXERCISES["rnn_step"])


def _learner(tmp_path: Path, body: str) -> Path:
    path = tmp_path / "tanh.py"
    path.write_text(
        "import os, sys\nimport numpy as np\nfrom minilm.layers.core import tanh_forward\n" + body
    )
    return path


@pytest.mark.slow
@pytest.mark.parametrize(
    "body, expected",
    [
        (
            "def tanh_backward(dout, cache):\n    while True:\n        pass\n",
            "your tanh_backward did not return within 0.5 s",
        ),
        (
            "def tanh_backward(dout, cache):\n    while True:\n        try:\n"
            "            while True:\n"
            "                pass\n        except BaseException:\n            pass\n",
            "your tanh_backward did not return within 0.5 s",
        ),
        ("def tanh_backward(dout, cache):\n    sys.exit(0)\n", "tanh_backward called exit(0)"),
        (
            "def tanh_backward(dout, cache):\n    os._exit(0)\n",
            "your tanh_backward ended the grading process (exit code 0)",
        ),
        (
            "def tanh_backward(dout, cache):\n    return 'dx'\n",
            "tanh_backward returned a str; it should return a tuple of 1 values",
        ),
        (
            "def tanh_backward(dout, cache):\n    return dout * (1 - cache**2) + 0j\n",
            "dx is complex",
        ),
    ],
)
def test_the_child_process_survives_loops_and_exits(tmp_path, body, expected):
    report = sandbox.check_file(EXERCISES["tanh"], _learner(tmp_path, body), seed=0, limit=0.5)
    assert not report.passed
    assert any(expected in line for line in report.failures), report.lines


def test_cli_start_check_hints_solution_and_progress(tmp_path):
    ws = tmp_path / "ws"
    listed = run("list", "--workspace", str(ws), cwd=tmp_path)
    assert "affine                 not started" in listed.stdout
    assert run("start", "affine", "--workspace", str(ws), cwd=tmp_path).returncode == 0
    failed = run("check", "affine", "--workspace", str(ws), "--hint", cwd=tmp_path)
    assert failed.returncode == 1 and "affine_forward returned None" in failed.stdout
    assert "hint 1: Make x two-dimensional" in failed.stdout
    formula = run("check", "affine", "--workspace", str(ws), "--hint", "2", cwd=tmp_path)
    assert "hint 2: x2 = x.reshape(-1, D)" in formula.stdout
    assert (
        "affine                 started" in run("list", "--workspace", str(ws), cwd=tmp_path).stdout
    )
    locked = run("solution", "affine", "--workspace", str(ws), cwd=tmp_path)
    assert locked.returncode == 2 and "--give-up" in locked.stderr
    shown = run("solution", "affine", "--workspace", str(ws), "--give-up", cwd=tmp_path)
    assert shown.returncode == 0 and "+    out = x.reshape(-1, D) @ W" in shown.stdout

    again = run("start", "affine", "--workspace", str(ws), cwd=tmp_path)
    assert again.returncode == 2 and "--force" in again.stderr
    (ws / "affine.py").write_text("from minilm.layers.core import affine_backward, affine_forward")
    passed = run("check", "affine", "--workspace", str(ws), "--seed", "4", cwd=tmp_path)
    assert passed.returncode == 0 and "affine: PASSED" in passed.stdout, passed.stdout
    assert "seed 4 " in passed.stdout
    assert (
        "affine                 passed" in run("list", "--workspace", str(ws), cwd=tmp_path).stdout
    )
    assert run("solution", "affine", "--workspace", str(ws), cwd=tmp_path).returncode == 0
    assert run("start", "glove", cwd=tmp_path).returncode == 0  # default ./exercises_workspace
    assert (tmp_path / "exercises_workspace" / "glove.py").is_file()


def test_cli_bad_input_is_one_line(tmp_path):
    (tmp_path / "a_file").write_text("x")
    for args in (
        ["check", "nonesuch"],
        ["check", "affine", "--workspace", str(tmp_path)],
        ["start"],
        ["check", "affine", "--workspace", str(tmp_path / "a_file")],
        ["start", "affine", "--workspace", str(tmp_path / "a_file" / "sub")],
        ["check", "affine", "--hint", "3"],
        ["capstone", "nonesuch"],
    ):
        result = run(*args, cwd=tmp_path)
        assert result.returncode == 2, (args, result)
        assert result.stderr.count("\n") == 1 and result.stderr.startswith("error: "), args


def test_the_info_nce_reference_agrees_with_the_library():
    """exercises/references.py's InfoNCE is the library's loss (minilm/layers/losses.py)."""
    from minilm.exercises import references
    from minilm.layers import losses

    library = getattr(losses, "info_nce", None)
    if library is None:
        pytest.skip("minilm.layers.losses.info_nce has not landed")
    for _, inputs in EXERCISES["info_nce"].cases(np.random.default_rng(3)):
        mine = references.info_nce_loss(**inputs)
        theirs = library(inputs["a"], inputs["b"], inputs["tau"])
        for m, t in zip(mine, theirs, strict=True):
            assert rel_error(np.asarray(m), np.asarray(t)) < 1e-10
