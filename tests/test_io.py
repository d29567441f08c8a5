"""Atomic writes (minilm/io.py): the permissions of a new file, and temp files of killed runs."""

import os
import signal
import stat
import subprocess
import sys

import numpy as np
import pytest

from minilm.io import remove_stale_temps, save_npz, write_json, write_text


@pytest.fixture
def umask():
    """Set the process umask for one test, restore it afterwards."""
    old = os.umask(0o022)
    yield os.umask
    os.umask(old)


@pytest.mark.skipif(os.name != "posix", reason="POSIX permissions")
@pytest.mark.parametrize("mask, mode", [(0o022, 0o644), (0o077, 0o600), (0o002, 0o664)])
def test_written_files_get_the_users_umask(umask, mask, mode, tmp_path):
    umask(mask)
    write_text(tmp_path / "a.txt", "hello\n")
    write_json(tmp_path / "b.json", {"x": 1})
    save_npz(tmp_path / "c.npz", {"x": np.ones(2)})
    for name in ("a.txt", "b.json", "c.npz"):
        assert stat.S_IMODE((tmp_path / name).stat().st_mode) == mode, name
    assert os.umask(mask) == mask  # the umask itself is left as it was


def test_overwriting_keeps_content_atomic_and_leaves_no_temp(tmp_path):
    write_text(tmp_path / "a.txt", "old\n")
    write_text(tmp_path / "a.txt", "new\n")
    assert (tmp_path / "a.txt").read_text() == "new\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.txt"]


def test_a_kill_mid_write_leaves_a_temp_that_remove_stale_temps_removes(tmp_path):
    target = tmp_path / "checkpoint.npz"
    target.write_bytes(b"the old checkpoint")
    child = (
        "import os, signal, sys\n"
        "from minilm.io import atomic_open\n"
        "writer = atomic_open(sys.argv[1], 'wb')\n"
        "f = writer.__enter__()\n"
        "f.write(b'half a checkpoint'); f.flush()\n"
        "os.kill(os.getpid(), signal.SIGKILL)\n"
    )
    result = subprocess.run([sys.executable, "-c", child, str(target)], timeout=60)
    assert result.returncode == -signal.SIGKILL
    temps = [p.name for p in tmp_path.iterdir() if p.name != "checkpoint.npz"]
    assert len(temps) == 1 and temps[0].startswith(".checkpoint.npz.") and temps[0].endswith(".tmp")
    assert target.read_bytes() == b"the old checkpoint"  # atomic: the old file is intact
    (tmp_path / ".notes.tmp").write_text("mine")  # not of our pattern: kept
    (tmp_path / "x.abcdefgh.tmp").write_text("mine")  # no leading dot: kept
    removed = remove_stale_temps(tmp_path)
    assert [p.name for p in removed] == temps
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        ".notes.tmp",
        "checkpoint.npz",
        "x.abcdefgh.tmp",
    ]
    assert remove_stale_temps(tmp_path / "missing") == []
