"""How many threads NumPy's BLAS uses for matrix products, set at run time (`--threads`).

NumPy hands every matrix product to a BLAS library (the wheels from PyPI bundle OpenBLAS as
`scipy_openblas`). By default that library starts one thread per core, which on a 2-core
laptop shared with other programs is often *slower* than one thread for our small products,
and changes the bytes of the result: a product split over two threads sums its terms in
another order. So every training script takes `--threads N` (README.md, "Threads"), with the
fastest default that gives the same bytes run after run, and the same seed and N give the
same vectors.

The usual way, `OPENBLAS_NUM_THREADS=N python ...`, must be set before NumPy is imported. Here
we change the count of the running process: find the BLAS library NumPy loaded (in
/proc/self/maps on Linux, else beside NumPy in its wheel), and call its own setter through
ctypes: `openblas_set_num_threads` (with scipy-openblas's prefix and 64-bit suffix when it has
them) or MKL's `MKL_Set_Num_Threads`. Where neither is found (Apple's Accelerate, say) we set
the environment variables only - they reach child processes, not this one - and say so once.
"""

from __future__ import annotations

import argparse
import ctypes
import os
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from minilm.errors import positive_int

ENV_VARS = ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS")
_NAME_HINTS = ("openblas", "mkl_rt", "libmkl", "libblas", "blis")
# (setter, getter) symbol names: OpenBLAS with the prefix and suffixes its builds use, then MKL.
_SYMBOLS = [
    (f"{prefix}_set_num_threads{suffix}", f"{prefix}_get_num_threads{suffix}")
    for prefix in ("scipy_openblas", "openblas")
    for suffix in ("64_", "_64_", "")
] + [("MKL_Set_Num_Threads", "MKL_Get_Max_Threads")]


@dataclass
class Blas:
    """A loaded BLAS library and its thread-count setter and getter."""

    path: str
    setter: Callable[[ctypes.c_int], None]
    getter: Callable[[], int]

    def set(self, n: int) -> None:
        self.setter(ctypes.c_int(n))

    def get(self) -> int:
        return int(self.getter())


def _candidate_paths() -> list[str]:
    """Shared libraries that look like a BLAS: NumPy's bundled ones first, then any mapped."""
    found: list[str] = []
    root = Path(np.__file__).parent
    for folder in (root.parent / "numpy.libs", root / ".dylibs"):  # Linux/Windows, macOS
        if folder.is_dir():
            found += sorted(str(p) for p in folder.iterdir() if "openblas" in p.name.lower())
    try:
        with open("/proc/self/maps", encoding="utf-8", errors="replace") as maps:
            for line in maps:
                path = line.split(maxsplit=5)[-1].strip()
                if path.startswith("/") and any(h in Path(path).name.lower() for h in _NAME_HINTS):
                    found.append(path)  # e.g. a distribution's NumPy linked to system OpenBLAS
    except OSError:
        pass  # no /proc (macOS, Windows)
    return list(dict.fromkeys(found))


def find_all_blas() -> list[Blas]:
    """Every loaded BLAS library whose thread count we can set (NumPy's first)."""
    found = []
    for path in _candidate_paths():
        try:
            lib = ctypes.CDLL(path)  # already loaded: this returns the same library, not a copy
        except OSError:
            continue
        for set_name, get_name in _SYMBOLS:
            setter, getter = getattr(lib, set_name, None), getattr(lib, get_name, None)
            if setter is not None and getter is not None:
                setter.restype, getter.restype = None, ctypes.c_int
                found.append(Blas(path, setter, getter))
                break
    return found


def find_blas() -> Blas | None:
    """The BLAS library NumPy uses, if it is one whose thread count we can set; else None."""
    found = find_all_blas()
    return found[0] if found else None


def get_num_threads() -> int | None:
    """The BLAS thread count now in force, or None when the library is not reachable."""
    blas = find_blas()
    return None if blas is None else blas.get()


def apply_threads(n: int | None) -> int | None:
    """Use `n` BLAS threads from now on, in this process and its children; return the count
    read back from the library (None: not reachable, one warning line printed).

    `n=None` changes nothing (e.g. the lab without --threads: each model keeps its default).
    """
    if n is None:
        return get_num_threads()
    if n < 1:
        raise ValueError(f"threads must be >= 1, got {n}")
    for var in ENV_VARS:  # for child processes, and libraries not loaded yet
        os.environ[var] = str(n)
    libraries = find_all_blas()
    if not libraries:
        print(
            f"warning: --threads {n}: cannot find the BLAS library NumPy uses to set its thread "
            f"count; only {'/'.join(ENV_VARS)} were set, which apply to child processes (set "
            "them before starting Python to apply them here)",
            file=sys.stderr,
        )
        return None
    for blas in libraries:  # NumPy's, and any other BLAS loaded beside it (another package's)
        blas.set(n)
    return libraries[0].get()


@contextmanager
def blas_threads(n: int) -> Iterator[None]:
    """Use `n` BLAS threads inside the block, in this process only, then the count before.
    For small products a second thread only spins on a busy machine (minilm/lab_transfer.py,
    the Matryoshka twin of minilm/cli/train_transformer.py); the same `n`, the same bytes."""
    libraries = find_all_blas()
    before = [blas.get() for blas in libraries]
    for blas in libraries:
        blas.set(n)
    try:
        yield
    finally:
        for blas, count in zip(libraries, before, strict=True):
            blas.set(count)


def add_threads_arg(parser: argparse.ArgumentParser, default: int | None) -> None:
    """Add `--threads N` to a script; `default` is the fastest reproducible count for its model
    (README.md, "Threads"); None (scripts that run others) passes no count on."""
    shown = "each model's own" if default is None else str(default)  # None: the lab, compare
    parser.add_argument(
        "--threads",
        type=positive_int,
        default=default,
        metavar="N",
        help=f"BLAS threads for matrix products (default {shown}); the same --seed and "
        "--threads give the same bytes",
    )
