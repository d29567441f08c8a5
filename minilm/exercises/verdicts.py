"""How the grader tells *what kind* of wrong an answer is, and whether anything was changed.

Used by minilm/exercises/grader.py. Three questions, each answered with a phrase for the report:
- is a returned value a real floating array of the right dtype and shape (`kind_problem`)?
- when its numbers differ, is it a simple slip: exactly -1x, a constant multiple (2x, 0.5x),
  the transpose, all zeros, NaN (`how_wrong`)?
- did a call change an argument or a cache in place (`snapshot` before, `changed` after)?
"""

from __future__ import annotations

import numpy as np

from minilm.gradcheck import rel_error


def kind_problem(got: object, shape: tuple[int, ...], dtype: np.dtype) -> str | None:
    """Why `got` is not a real float array of `shape` and `dtype`, or None if it is one."""
    if got is None:
        return "is None: that part is not written yet"
    if not isinstance(got, np.ndarray):
        what = type(got).__name__
        return f"is a {what}, not a NumPy array (return an array of shape {shape})"
    if np.iscomplexobj(got):
        return f"is complex ({got.dtype}); it must be real"
    if not np.issubdtype(got.dtype, np.floating):
        return f"has dtype {got.dtype}; it must be a float array"
    if got.shape != shape:
        hint = ""
        if got.shape == shape[::-1]:
            hint = " (transposed?)"
        elif got.size == int(np.prod(shape)):
            hint = " (reshaped wrongly?)"
        elif len(got.shape) < len(shape):
            hint = " (summed over an axis it should keep?)"
        return f"has shape {got.shape}; it should be {shape}{hint}"
    if got.dtype != dtype:
        return f"has dtype {got.dtype} for {dtype} input; the dtype must follow the input"
    return None


def scalar_problem(got: object) -> str | None:
    """Why `got` is not a real float scalar (a loss), or None."""
    if got is None:
        return "is None: that part is not written yet"
    if isinstance(got, complex) or np.iscomplexobj(got):
        return "is complex; it must be a real float"
    if isinstance(got, bool) or not isinstance(got, float | int | np.number | np.ndarray):
        return f"is a {type(got).__name__}; it must be a float"
    if np.ndim(got) != 0:
        return f"has shape {np.shape(got)}; it must be one number (sum or average it)"
    return None


def how_wrong(got: np.ndarray, want: np.ndarray, tol: float) -> str | None:
    """None if got == want within `tol` (relative), else a phrase naming the kind of slip."""
    got, want = np.asarray(got, np.float64), np.asarray(want, np.float64)
    if not np.all(np.isfinite(got)):
        bad = "NaN" if np.isnan(got).any() else "inf"
        return f"contains {bad} (an overflow or 0/0? subtract the max, use logaddexp)"
    err = rel_error(got, want)
    if err < tol:
        return None
    scale = max(float(np.abs(want).max(initial=0.0)), 1e-300)

    def close(a: np.ndarray) -> bool:
        return float(np.abs(a - want).max(initial=0.0)) <= 1e-6 * scale

    if not np.any(got) and np.any(want):
        return "is all zeros"
    if close(-got):
        return "is exactly -1x the right value (a sign is flipped)"
    ww = float(np.vdot(want, want))
    c = float(np.vdot(got, want)) / ww if ww > 0 else 0.0
    if ww > 0 and abs(c - 1) > 1e-6 and close(got / c if c else got):
        return f"is exactly {c:.4g}x the right value (a constant factor)"
    if got.ndim >= 2 and got.shape[-1] == got.shape[-2] and close(np.swapaxes(got, -1, -2)):
        return "is the transpose of the right value"
    return f"is wrong: max relative error {err:.2g} (should be < {tol:g})"


def snapshot(obj: object) -> object:
    """A deep copy of every array inside obj (nested tuples, lists, dicts), others kept as is."""
    if isinstance(obj, np.ndarray):
        return obj.copy()
    if isinstance(obj, tuple | list):
        return type(obj)(snapshot(x) for x in obj)
    if isinstance(obj, dict):
        return {k: snapshot(v) for k, v in obj.items()}
    return obj


def changed(obj: object, before: object, where: str = "") -> list[str]:
    """The places (e.g. "[2][0]") where an array of obj differs from its snapshot `before`."""
    if isinstance(before, np.ndarray):
        same = (
            isinstance(obj, np.ndarray)
            and obj.shape == before.shape
            and np.array_equal(obj, before, equal_nan=obj.dtype.kind in "fc")
        )
        return [] if same else [where or "the array"]
    if isinstance(before, tuple | list) and isinstance(obj, tuple | list):
        if len(obj) != len(before):
            return [where or "the container"]
        pairs = enumerate(zip(obj, before, strict=True))
        return [p for i, (a, b) in pairs for p in changed(a, b, f"{where}[{i}]")]
    if isinstance(before, dict) and isinstance(obj, dict):
        return [p for k in before for p in changed(obj.get(k), before[k], f"{where}[{k!r}]")]
    return []


def same_result(a: object, b: object) -> bool:
    """Two results of one call are identical (arrays bit for bit, NaN equal to NaN)."""
    if isinstance(a, np.ndarray) and isinstance(b, np.ndarray):
        kind = a.dtype.kind in "fc"
        return a.shape == b.shape and np.array_equal(a, b, equal_nan=kind)
    if isinstance(a, tuple | list) and isinstance(b, tuple | list):
        return len(a) == len(b) and all(same_result(x, y) for x, y in zip(a, b, strict=True))
    try:
        return bool(a == b) or (a != a and b != b)  # floats, NaN == NaN here
    except Exception:
        return False
