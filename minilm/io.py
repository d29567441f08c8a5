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
import time
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO

import numpy as np

from minilm.errors import MinilmError, on_cli_exit


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


# ---- the output-folder contract (docs/ARCHITECTURE.md, "Output folders") -----------------------
# Every script that writes a folder claims it first (`claim_out_dir`): the folder gets a marker
# file, OUT/.minilm-run.json, that says which script wrote it and whether that run finished:
#
#   status "new"        a folder the project created for a run that has not started
#   status "running"    a run is writing (or was killed writing) here; its outputs are not final
#   status "complete"   the run finished: the last thing it did was to write this status
#   status "failed"     the run stopped with an error after it had replaced earlier outputs
#
# A folder that holds files but no marker holds files the project did not write: it is refused
# unless --force; so is a lab's folder for a single run's program and the other way round (the
# lab into a train_nplm.py run would replace its metrics.json), except a folder marked "new".
# A reader of a run's files (`check_complete`) refuses every status but "complete"; a folder
# without a marker (anyone's vectors) is read as it is.

RUN_MARKER = ".minilm-run.json"
_CLAIMS: dict[Path, dict] = {}  # folders this process claimed -> {"previous": bytes | None, ...}


def add_out_args(ap, required: bool = True, help: str = "output folder") -> None:
    """--out and --force, the same in every script that writes a folder."""
    ap.add_argument("--out", required=required, help=help)
    ap.add_argument(
        "--force",
        action="store_true",
        help="write into --out even if it holds files minilm did not write\n"
        "(files of the same names are replaced; others are left alone)",
    )


def _read_marker(folder: Path) -> dict | None:
    path = folder / RUN_MARKER
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError):
        return {"status": "unreadable"}
    return data if isinstance(data, dict) else {"status": "unreadable"}


def _write_marker(folder: Path, status: str, writer: str, **extra: object) -> None:
    record = {"writer": writer, "status": status, "pid": os.getpid(), "host": _host()}
    record |= {"time": time.strftime("%Y-%m-%d %H:%M:%S"), **extra}
    write_json(folder / RUN_MARKER, record)


def _host() -> str:
    return os.uname().nodename if hasattr(os, "uname") else ""


def _alive(marker: dict) -> bool:
    """The marker's writer is a live process on this machine (not this one)."""
    pid = marker.get("pid")
    if not isinstance(pid, int) or pid <= 0 or pid == os.getpid() or marker.get("host") != _host():
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _foreign_entries(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name != RUN_MARKER)


def check_out_dir(
    path: str | os.PathLike | None, force: bool = False, flag: str = "--out", writer: str = ""
) -> Path:
    """Refuse an --out that is empty, a file, held by a live run, holding files the project
    did not write, or (given `writer`) the run of another program (unless `force`); return it
    as a Path. Writes nothing."""
    if path is None or not str(path).strip():
        raise MinilmError(
            f"{flag} is empty (an unset shell variable?); name the folder to write into"
        )
    folder = Path(path)
    if folder.exists() and not folder.is_dir():
        raise MinilmError(f"{flag} {folder} is a file, not a folder; choose another {flag}")
    if not folder.is_dir():
        return folder
    marker = _read_marker(folder)
    if marker is None:
        foreign = _foreign_entries(folder)
        if foreign and not force:
            shown = ", ".join(foreign[:4]) + (", ..." if len(foreign) > 4 else "")
            raise MinilmError(
                f"{flag} {folder} holds files minilm did not write ({shown}); choose another "
                f"{flag}, or pass --force to write there (files of the same names are replaced)"
            )
    elif marker.get("status") == "running" and _alive(marker) and not force:
        raise MinilmError(
            f"{flag} {folder} is being written by {marker.get('writer', 'another run')} "
            f"(pid {marker['pid']}); wait for it or choose another {flag}"
        )
    elif _another_program(marker, writer) and not force:
        raise MinilmError(
            f"{flag} {folder} holds the output of {marker['writer']}, not of {writer}; choose "
            f"another {flag}, or pass --force to write there (files of the same names are replaced)"
        )
    return folder


# Programs whose folder holds several runs and their own report beside them: mixed with a single
# run's folder (either way round), one program's metrics.json would replace the other's.
FOLDERS_OF_RUNS = ("lab.py", "compare_embeddings.py")


def _another_program(marker: dict, writer: str) -> bool:
    """The folder holds a folder of runs and `writer` writes one run, or the other way round (a
    folder marked "new" is anyone's; one trainer after another replaces the earlier run)."""
    theirs = marker.get("writer")
    if not writer or not isinstance(theirs, str) or theirs == writer:
        return False
    kinds = {theirs in FOLDERS_OF_RUNS, writer in FOLDERS_OF_RUNS}
    return len(kinds) == 2 and marker.get("status") != "new"


def claim_out_dir(
    path: str | os.PathLike | None, writer: str, force: bool = False, flag: str = "--out"
) -> Path:
    """Check `path` (check_out_dir), create it and mark it "running" before anything else is
    written; return it. A script run through `minilm.errors.run_cli` marks it "complete" when
    its main() returns; a bad-input error before any earlier output was removed puts the
    earlier marker back, so a refused run changes nothing."""
    folder = ensure_dir(check_out_dir(path, force, flag, writer))
    key = folder.resolve()
    marker_path = folder / RUN_MARKER
    previous = marker_path.read_bytes() if marker_path.is_file() else None
    _CLAIMS.setdefault(key, {"previous": previous, "writer": writer, "cleared": False})
    _write_marker(folder, "running", writer)
    on_cli_exit(_finish_claims)
    return folder


def prepare_out_dir(path: str | os.PathLike, writer: str) -> Path:
    """Create a folder for a run another process will make (the lab's per-model folders): it is
    marked "new" (the project's, nothing in it yet) unless it is marked already."""
    folder = ensure_dir(path)
    if _read_marker(folder) is None:
        _write_marker(folder, "new", writer)
    return folder


def outputs_cleared(folder: str | os.PathLike) -> None:
    """The earlier run's outputs in `folder` are gone: a failure can no longer restore them."""
    claim = _CLAIMS.get(Path(folder).resolve())
    if claim is not None:
        claim["cleared"] = True


def mark_complete(folder: str | os.PathLike, writer: str = "minilm") -> None:
    """The run in `folder` finished. Claimed folders are completed by run_cli when main()
    returns; any other folder (library use) is marked here at once."""
    if Path(folder).resolve() not in _CLAIMS:
        _write_marker(Path(folder), "complete", writer)


def _finish_claims(outcome: BaseException | None) -> None:
    for key, claim in list(_CLAIMS.items()):
        del _CLAIMS[key]
        if not key.is_dir():
            continue
        if outcome is None:
            _write_marker(key, "complete", claim["writer"])
        elif not claim["cleared"] and isinstance(outcome, MinilmError):
            if claim["previous"] is None:  # the folder had no marker: leave none behind
                (key / RUN_MARKER).unlink(missing_ok=True)
            else:
                write_bytes_atomic(key / RUN_MARKER, claim["previous"])
        else:
            reason = str(outcome) or type(outcome).__name__
            _write_marker(key, "failed", claim["writer"], error=reason.splitlines()[0][:300])


def write_bytes_atomic(path: str | os.PathLike, data: bytes) -> None:
    with atomic_open(path, "wb") as f:
        f.write(data)


def check_complete(path: str | os.PathLike) -> None:
    """Refuse to read a run's file (or folder) unless its run finished (see RUN_MARKER)."""
    path = Path(path)
    folder = path if path.is_dir() else path.parent
    if folder.name == "projector":  # OUT/projector/vectors.tsv: the marker is OUT's
        folder = folder.parent
    marker = _read_marker(folder)
    if marker is None or marker.get("status") in ("complete", "new"):
        return
    writer, status = marker.get("writer", "a minilm run"), marker.get("status")
    if status == "running" and _alive(marker):
        why = f"is still being written by {writer} (pid {marker['pid']}); wait for it to finish"
    elif status == "running":
        why = f"holds an incomplete run: {writer} was stopped before it finished"
    elif status == "failed":
        why = f"holds an incomplete run: {writer} failed ({marker.get('error', '?')})"
    else:
        why = f"has an unreadable {RUN_MARKER}"
    raise MinilmError(
        f"{folder} {why}; rerun it (with --resume where it has a checkpoint) "
        f"before reading {path.name}"
    )
