"""The machine's limits, checked before a flag or a file header sizes an allocation.

A flag such as `--window 100000` or a `.bin` header claiming 10^11 rows used to reach NumPy
unchecked, and the kernel killed the process tens of gigabytes later (or the machine swapped).
Every allocation sized by input goes through `check_memory(nbytes, what)` first: a request
over the memory this process may still use is refused at once, with the number it would need.

"Available" is the smaller of the kernel's MemAvailable (/proc/meminfo: free memory plus what
the page cache can give back) and the room left under this process's address-space limit
(RLIMIT_AS, what `ulimit -v` sets), less what the process already holds. Where neither can be
read (not Linux) nothing is refused.

`die_with_parent()` is a `preexec_fn` for child processes: on Linux the child gets SIGKILL when
its parent dies, so a lab killed with `kill -9` leaves no training child running.
"""

from __future__ import annotations

import ctypes
import resource
import signal

from minilm.errors import MinilmError

PR_SET_PDEATHSIG = 1  # prctl(2)


def _meminfo_available() -> int | None:
    try:
        with open("/proc/meminfo", encoding="ascii") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        return None
    return None


def _own_virtual_bytes() -> int:
    try:
        with open("/proc/self/statm", encoding="ascii") as f:
            return int(f.read().split()[0]) * resource.getpagesize()
    except (OSError, ValueError, IndexError):
        return 0


def available_memory() -> int | None:
    """Bytes this process may still allocate, or None when the machine does not say."""
    found = []
    if (avail := _meminfo_available()) is not None:
        found.append(avail)
    soft, _ = resource.getrlimit(resource.RLIMIT_AS)
    if soft != resource.RLIM_INFINITY:
        found.append(max(0, soft - _own_virtual_bytes()))
    return min(found) if found else None


def format_bytes(nbytes: float) -> str:
    for unit in ("bytes", "KB", "MB", "GB", "TB"):
        if abs(nbytes) < 1024 or unit == "TB":
            return f"{nbytes:,.0f} {unit}" if unit == "bytes" else f"{nbytes:,.1f} {unit}"
        nbytes /= 1024
    return f"{nbytes:,.1f} TB"


def check_memory(nbytes: float, what: str, fix: str = "") -> None:
    """Refuse a request for `nbytes` (e.g. "the pair table of --window 100000") when more than
    the memory available; `fix` says what to change ("lower --window")."""
    avail = available_memory()
    if avail is not None and nbytes > avail:
        hint = f"; {fix}" if fix else ""
        raise MinilmError(
            f"{what} needs {format_bytes(nbytes)} but only {format_bytes(avail)} of memory is "
            f"available{hint}"
        )


def die_with_parent() -> None:
    """preexec_fn: ask Linux to SIGKILL this child when its parent process dies."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    except (OSError, AttributeError):  # not Linux: the child may outlive a killed parent
        pass
