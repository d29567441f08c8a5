"""The graded exercises: references pass, blanks fail, and a wrong gradient is named."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from minilm.errors import MinilmError
from minilm.exercises import grader
from minilm.exercises.catalog import EXERCISES

ROOT = Path(__file__).resolve().parent.parent
NAMES = list(EXERCISES)


def run(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "minilm.exercises", *args], cwd=cwd,
                          capture_output=True, text=True, timeout=120)


def blank(name: str, tmp_path: Path) -> dict:
    path = tmp_path / f"{name}.py"
    path.write_text(grader.blank_file(EXERCISES[name]))
    return grader.load_learner(path, EXERCISES[name])


def test_the_issue_minimum_is_there():
    wanted = {"affine", "softmax_cross_entropy", "rnn_step", "rnn_bptt", "sgns", "layernorm",
              "attention", "glove"}
    assert wanted <= set(EXERCISES)
    for ex in EXERCISES.values():
        assert ex.hint and ex.task and (ROOT / ex.docs).is_file(), ex.name


@pytest.mark.parametrize("name", NAMES)
def test_reference_passes(name):
    ex = EXERCISES[name]
    report = grader.check(ex, grader.reference(ex))
    assert report.passed, "\n".join(report.lines)
    assert "PASSED" in report.lines[-1]


@pytest.mark.parametrize("name", NAMES)
def test_blank_fails_plainly(name, tmp_path):
    report = grader.check(EXERCISES[name], blank(name, tmp_path))
    assert not report.passed
    assert any("not written yet" in line for line in report.lines), report.lines


@pytest.mark.parametrize("name", NAMES)
def test_blank_keeps_the_reference_signature_and_docstring(name, tmp_path):
    source = grader.blank_file(EXERCISES[name])
    tree = ast.parse(source)
    defs = {n.name: n for n in tree.body if isinstance(n, ast.FunctionDef)}
    for fn in EXERCISES[name].functions:
        ref = ast.parse(grader.inspect.getsource(fn)).body[0]
        assert ast.dump(defs[fn.__name__].args) == ast.dump(ref.args)
        assert ast.get_docstring(defs[fn.__name__]) == ast.get_docstring(ref)
        # the body is gone: only the docstring and `return None` are left
        assert len(defs[fn.__name__].body) == 2


@pytest.mark.parametrize("name", NAMES)
def test_a_wrong_gradient_is_named(name):
    """Scale one returned gradient at a time by 2: exactly that one is called wrong."""
    ex = EXERCISES[name]
    grads = [f"d{a}" for a in ex.grad_args]
    for k, wrong in enumerate(grads):
        impl = dict(grader.reference(ex))
        last = ex.functions[-1]
        offset = 0 if ex.kind == "layer" else 1  # a loss returns (loss, *grads)

        def doubled(*args, _f=last, _k=k + offset, **kwargs):
            out = _f(*args, **kwargs)
            out = list(out) if isinstance(out, tuple) else [out]
            out[_k] = 2 * out[_k]
            return tuple(out) if len(out) > 1 else out[0]

        impl[last.__name__] = doubled
        report = grader.check(ex, impl)
        text = "\n".join(report.lines)
        assert not report.passed
        assert f"  {wrong} is wrong: max relative error" in text, text
        for other in grads:
            if other != wrong:
                assert f"  {other} is wrong" not in text, text


def test_the_duplicate_id_bug_is_caught_only_where_ids_repeat():
    ex = EXERCISES["embedding"]

    def buggy_backward(dout, cache):
        ids, V = cache
        dW = np.zeros((V, dout.shape[-1]))
        dW[ids] += dout  # keeps one contribution per repeated id
        return dW

    impl = {**grader.reference(ex), "embedding_backward": buggy_backward}
    rng = np.random.default_rng(grader.SEED)
    verdicts = {label: grader.check_case(ex, impl, label, inputs).passed
                for label, inputs in ex.cases(rng)}
    assert verdicts == {"ids (2, 3) with repeats": False, "one id": True}


def test_a_wrong_forward_is_reported(tmp_path):
    ex = EXERCISES["layernorm"]

    def forward_without_beta(x, gamma, beta, eps=1e-5):
        out, cache = ex.functions[0](x, gamma, beta, eps)
        return out - beta, cache

    report = grader.check(ex, {**grader.reference(ex), "layernorm_forward": forward_without_beta})
    assert "  the output of layernorm_forward is wrong: max relative error" in report.lines[1]


def test_cli_start_check_hint(tmp_path):
    ws = tmp_path / "ws"
    started = run("start", "affine", "--workspace", str(ws), cwd=tmp_path)
    assert started.returncode == 0, started.stderr
    failed = run("check", "affine", "--workspace", str(ws), "--hint", cwd=tmp_path)
    assert failed.returncode == 1 and "affine_forward returned None" in failed.stdout
    assert "hint: Flatten the leading axes" in failed.stdout
    again = run("start", "affine", "--workspace", str(ws), cwd=tmp_path)
    assert again.returncode == 2 and again.stderr.startswith("error: ")
    assert "--force" in again.stderr

    (ws / "affine.py").write_text("from minilm.layers.core import affine_backward, affine_forward")
    passed = run("check", "affine", "--workspace", str(ws), cwd=tmp_path)
    assert passed.returncode == 0 and "affine: PASSED" in passed.stdout, passed.stdout

    # the default workspace is ./exercises_workspace
    assert run("start", "glove", cwd=tmp_path).returncode == 0
    assert (tmp_path / "exercises_workspace" / "glove.py").is_file()


def test_a_function_name_finds_its_exercise():
    assert grader.get("attention_backward").name == "attention"
    assert grader.get("rnn_step_forward").name == "rnn_step"
    assert grader.get("sgns_loss").name == "sgns"
    with pytest.raises(MinilmError, match="choose one of"):
        grader.get("nonesuch")


def test_cli_bad_input_is_one_line(tmp_path):
    for args in (["check", "nonesuch"], ["check", "affine", "--workspace", str(tmp_path)],
                 ["start"]):
        result = run(*args, cwd=tmp_path)
        assert result.returncode == 2, result
        assert result.stderr.count("\n") == 1 and result.stderr.startswith("error: ")


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
