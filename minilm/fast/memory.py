"""Keep freed memory for the next training step (glibc malloc), instead of returning it.

A step allocates and frees the same tens of MB of temporaries every time, and glibc's default
of handing freed memory back to the kernel makes the next step fault it in again, 4 KB at a
time (a quarter of a transformer step; benchmarks/bench_transformer.py). PyTorch keeps such
memory in its own caching allocator. The reference is to change nothing: results are the same
bytes either way (tests/test_fast.py); only the time differs.
"""

from __future__ import annotations

import ctypes

M_TRIM_THRESHOLD, M_MMAP_THRESHOLD = -1, -3  # glibc's malloc.h


def keep_freed_memory() -> bool:
    """Tell glibc's malloc to keep freed memory for the next step instead of returning it.

    Two tunables (mallopt): M_TRIM_THRESHOLD, free heap kept before trimming (1 GB: never
    trim), and M_MMAP_THRESHOLD, the size from which a block gets its own mmap'd pages, which
    are unmapped on free (32 MB: NumPy arrays up to that size come from the reusable heap).
    The cost: the process keeps its peak memory. Returns False, changing nothing, where there
    is no glibc (macOS, Windows, musl).
    """
    try:
        mallopt = ctypes.CDLL(None).mallopt
    except (OSError, AttributeError, TypeError):
        return False
    return bool(mallopt(M_TRIM_THRESHOLD, 1 << 30)) & bool(mallopt(M_MMAP_THRESHOLD, 1 << 25))
