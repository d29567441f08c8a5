"""GELU in place: equals minilm/layers/core.py's textbook GELU to float rounding (core picks it
when minilm/layers/primitives.py's switch is on).

The reference computes t = tanh(u) and out = 0.5 x (1 + t), caches (x, t), and the backward
builds the derivative

    d out / dx = 0.5 (1 + t) + 0.5 x (1 - t^2) c (1 + 3 a x^2)

from them. Here the forward computes that derivative while t is at hand and caches it alone,
so the backward is one multiply and the cache one array instead of two. In a transformer these
are the largest activations of the step (N*T x 4D), so each buffer saved is memory that never
has to be touched; and every line updates one of three buffers in place, where each temporary
of the textbook form is another full pass over fresh memory. (x * x, not x**2: NumPy's float32
power is much slower than a multiply.) The products are grouped differently from the
reference, so results agree to a few units in the last place (tests/test_fast.py), not bitwise.
Use the pair together: the caches differ.
"""

from __future__ import annotations

import numpy as np

GELU_C = float(np.sqrt(2 / np.pi))  # as minilm/layers/core.py's (tests/test_primitives.py)
GELU_A = 0.044715


def gelu_forward(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """core.gelu_forward, in place; the cache is d out / dx itself.  x (...) -> out (...)."""
    t = x * x
    t *= GELU_A
    t += 1
    t *= x
    t *= GELU_C  # u = c x (1 + a x^2)
    np.tanh(t, out=t)  # t = tanh(u)
    grad = t * t
    np.subtract(1, grad, out=grad)
    grad *= x
    grad *= 0.5  # 0.5 x (1 - t^2)
    out = x * x
    out *= 3 * GELU_A * GELU_C
    out += GELU_C  # du/dx = c (1 + 3 a x^2)
    grad *= out
    np.add(t, 1, out=out)
    out *= 0.5  # 0.5 (1 + t)
    grad += out  # d out / dx
    out *= x  # out = 0.5 x (1 + t)
    return out, grad


def gelu_backward(dout: np.ndarray, cache: np.ndarray) -> np.ndarray:
    """dx = dout * gelu'(x), the derivative cached by gelu_forward above."""
    return dout * cache
