"""--threads (minilm/threads.py): the BLAS thread count is set at run time and read back, a
missing library is one warning line, and the same seed and thread count give the same bytes."""

import os

import pytest
from conftest import model_command, run_script, run_until

from minilm import threads
from minilm.errors import ArgumentParser, MinilmError


@pytest.fixture
def restore_threads(monkeypatch):
    """Put the BLAS count and the environment variables back after the test."""
    for var in threads.ENV_VARS:
        monkeypatch.setenv(var, os.environ.get(var, ""))
    blas = threads.find_blas()
    before = None if blas is None else blas.get()
    yield
    if blas is not None:
        blas.set(before)


def test_apply_threads_sets_the_count_the_library_reports(restore_threads):
    if threads.find_blas() is None:
        pytest.skip("no settable BLAS library here (e.g. Accelerate)")
    for n in (1, 2, 1):
        assert threads.apply_threads(n) == n
        assert threads.get_num_threads() == n
        assert all(os.environ[var] == str(n) for var in threads.ENV_VARS)  # for children


def test_apply_threads_none_changes_nothing(restore_threads):
    before = threads.get_num_threads()
    assert threads.apply_threads(None) == before
    assert threads.get_num_threads() == before


def test_unreachable_library_is_one_warning_line_not_a_crash(restore_threads, monkeypatch, capsys):
    monkeypatch.setattr(threads, "find_all_blas", lambda: [])
    assert threads.apply_threads(3) is None
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("warning: --threads 3:"), err
    assert all(os.environ[var] == "3" for var in threads.ENV_VARS)


def test_threads_flag_default_and_range():
    ap = ArgumentParser()
    threads.add_threads_arg(ap, default=1)
    assert ap.parse_args([]).threads == 1 and ap.parse_args(["--threads", "2"]).threads == 2
    with pytest.raises(MinilmError, match="--threads"):
        ap.parse_args(["--threads", "0"])


@pytest.mark.parametrize("n", ["1", "2"])
def test_same_seed_and_threads_give_the_same_bytes(n, world, tmp_path):
    outs = [tmp_path / "a", tmp_path / "b"]
    for out in outs:
        result = run_script(*model_command("transformer", world, out, 5, "--threads", n))
        assert result.returncode == 0, result.stderr
    a, b = ((out / "vectors.txt").read_bytes() for out in outs)
    assert a == b


def test_resume_with_another_thread_count_is_warned(world, tmp_path):
    if threads.find_blas() is None:
        pytest.skip("no settable BLAS library here")
    command = model_command("skipgram", world, tmp_path / "out", 5, "--checkpoint-every", "2")
    killed = run_until("KILL", 0.5, *command, "--threads", "1")
    assert killed.returncode < 0, killed.stderr
    resumed = run_script(*command, "--threads", "2", "--resume")
    assert resumed.returncode == 0, resumed.stderr
    assert "written with 1 BLAS threads, this run uses 2" in resumed.stderr
    again = run_script(*command, "--threads", "2", "--resume")
    assert again.returncode == 0 and "BLAS threads" not in again.stderr, again.stderr
