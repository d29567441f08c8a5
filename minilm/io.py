"""Atomic output: write to a temporary file beside the target, then rename over it.

A run killed mid-write leaves either the old file or the new one, never half of one. The
temporary file is `.<name>.<8 random characters>.tmp` in the target's folder; a process killed
outright (SIGKILL) cannot remove it, so the next run removes such leftovers
(`remove_stale_temps`). Files end up with the permissions any new file gets (0666 less the
user's umask), not the 0600 of a temporary file.
"""

from __future__ import annotations

import json
import os
import re
import tempfile
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO

import numpy as np

from minilm.errors import MinilmError


def ensure_dir(path: str | os.PathLike) -> Path:
    """Create `path` (and parents) or fail with a one-line error if it cannot be written."""
    path = Path(path)
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise MinilmError(f"cannot create output folder {path}: {err.strerror}") from None
    if not os.access(path, os.W_OK):
        raise MinilmError(f"output folder {path} is not writable; choose another --out")
    return path


# mkstemp's names: prefix + 8 characters of [a-z0-9_] + suffix (tempfile._RandomNameSequence)
_TEMP_NAME = re.compile(r"\..+\.[a-z0-9_]{8}\.tmp")


def _new_file_mode() -> int:
    """0666 less the umask: the mode open() would give a new file (mkstemp gives 0600)."""
    umask = os.umask(0)  # the only portable way to read it is to set it; restore at once
    os.umask(umask)
    return 0o666 & ~umask


@contextmanager
def atomic_open(path: str | os.PathLike, mode: str = "w", **kwargs) -> Iterator[IO]:
    """Open a temporary file for writing; on success rename it to `path`, on failure remove it."""
    path = Path(path)
    ensure_dir(path.parent)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, mode, **kwargs) as f:
            yield f
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, _new_file_mode())
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def remove_stale_temps(folder: str | os.PathLike) -> list[Path]:
    """Remove the temporary files of `atomic_open` that a killed process left in `folder`.

    Only names of its own pattern (`.<name>.<8 characters>.tmp`) are touched. Call it when a
    run starts, before it writes anything: a temp file of a live writer would be removed too.
    """
    folder = Path(folder)
    if not folder.is_dir():
        return []
    stale = [p for p in folder.iterdir() if _TEMP_NAME.fullmatch(p.name) and p.is_file()]
    for p in stale:
        p.unlink(missing_ok=True)
    return stale


def write_text(path: str | os.PathLike, text: str) -> None:
    with atomic_open(path, "w", encoding="utf-8") as f:
        f.write(text)


def write_json(path: str | os.PathLike, obj: object) -> None:
    write_text(path, json.dumps(obj, indent=2, sort_keys=True, default=_json_default) + "\n")


def save_npz(path: str | os.PathLike, arrays: dict[str, np.ndarray]) -> None:
    """np.savez to a temp file and rename. Arrays only: every file loads with allow_pickle=False."""
    with atomic_open(path, "wb") as f:
        np.savez(f, **arrays)


def load_npz(path: str | os.PathLike) -> dict[str, np.ndarray]:
    """Load every array of an .npz without ever unpickling."""
    try:
        with np.load(path, allow_pickle=False) as data:
            return {k: data[k] for k in data.files}
    except FileNotFoundError:
        raise MinilmError(f"{path}: no such file") from None
    except (ValueError, OSError, EOFError, zipfile.BadZipFile) as err:
        raise MinilmError(f"{path}: not a readable .npz file ({err})") from None


def _json_default(obj: object) -> object:
    if isinstance(obj, np.generic):
        return obj.item()
    if isinstance(obj, np.ndarray):
        return obj.tolist()
    if isinstance(obj, Path):
        return str(obj)
    raise TypeError(f"not JSON serialisable: {type(obj).__name__}")
