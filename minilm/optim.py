"""Optimisers, learning-rate schedules and gradient clipping for dicts of NumPy arrays.

Every optimiser takes `params` and `grads`, two dicts with the same keys, and updates the
parameters IN PLACE. A gradient is either

- a dense array with the parameter's shape, or
- a sparse row gradient `(row_ids, row_grads)`: `row_ids` (R,) unique integer rows of the table,
  `row_grads` (R, D) their gradients (what `embedding_backward_rows` returns). Only those rows
  of the parameter (and of the optimiser's state) are read and written, so a step costs O(R D)
  instead of O(V D) for a (V, D) embedding table.

Update rules (g = gradient, t = step counter starting at 1, lr = learning rate):

    SGD        p <- p - lr g
    momentum   u <- mu u + g;            p <- p - lr u
    Adagrad    G <- G + g^2;             p <- p - lr g / (sqrt(G) + eps)
    Adam       (g <- g + wd p  if weight_decay: L2 added to the gradient)
               m <- b1 m + (1 - b1) g;   v <- b2 v + (1 - b2) g^2
               m_hat = m / (1 - b1^t);   v_hat = v / (1 - b2^t)
               p <- p - lr m_hat / (sqrt(v_hat) + eps)
    AdamW      p <- p - lr wd p  (decoupled decay, Loshchilov & Hutter 2019), then Adam without L2

Sparse rows are *lazy*: the state of rows that are not in `row_ids` is left alone. For momentum
and Adam this differs from the dense update, where every row's velocity / moments decay each
step even at zero gradient: under the lazy rule, untouched rows keep their moments undecayed
and do not move, and a touched row's bias correction uses the *global* step t (not the number
of times that row was touched). On a row's first touch the two rules agree exactly.

Optimiser state lives in one flat dict of arrays (`"m/W_in"`, `"v/W_in"`, `"step"`, ...) so a
checkpoint is one `np.savez` away: `state_dict()` / `load_state_dict()`.
State arrays take the parameter's dtype: float32 parameters stay float32 throughout.

Schedules are plain functions of the (0-based) step; `clip_global_norm` rescales all gradients
(dense and sparse) together, and `clip_if_above` does the same, bit for bit, at a fraction of
the cost on the (most) steps that are far below the threshold.
"""

from __future__ import annotations

import math
from abc import ABC, abstractmethod
from collections.abc import Mapping

import numpy as np

from minilm.errors import MinilmError
from minilm.layers.primitives import add_rows_at

Grad = np.ndarray | tuple[np.ndarray, np.ndarray]


class Optimizer(ABC):
    """Shared machinery: the step counter, lazily created state slots, dense/sparse dispatch.

    Subclasses name their state slots in `slots` and implement `_update(p, g, slots, lr, t)`
    on plain arrays; the same code serves dense parameters and the selected rows of a table.
    """

    slots: tuple[str, ...] = ()

    def __init__(self, lr: float) -> None:
        if not lr > 0:
            raise MinilmError(f"learning rate must be > 0, got {lr}; pass a positive --lr")
        self.lr = float(lr)
        self.t = 0  # number of steps taken; Adam's bias correction uses it
        self.state: dict[str, np.ndarray] = {}  # "slot/param_name" -> array shaped like the param

    def step(
        self, params: dict[str, np.ndarray], grads: Mapping[str, Grad], lr: float | None = None
    ) -> None:
        """Apply one update to every parameter in place; `lr` overrides `self.lr` for this step."""
        lr = self._begin_step(params, grads, lr)
        for name, p in params.items():
            g = grads[name]
            slots = [self._slot(s, name, p) for s in self.slots]
            if isinstance(g, tuple):
                rows, row_grads = _check_rows(name, p, g)
                # Gather the touched rows (copies), update them, scatter them back. Rows are
                # unique, so the scatter `p[rows] = ...` loses nothing.
                p_rows = p[rows]
                slot_rows = [s[rows] for s in slots]
                self._update(p_rows, row_grads, slot_rows, lr, self.t)
                p[rows] = p_rows
                for s, s_rows in zip(slots, slot_rows, strict=True):
                    s[rows] = s_rows
            else:
                if g.shape != p.shape:
                    raise MinilmError(f"gradient of {name} has shape {g.shape}, param {p.shape}")
                self._update(p, g, slots, lr, self.t)

    def _begin_step(self, params: dict, grads: Mapping[str, Grad], lr: float | None) -> float:
        """Check every parameter has a gradient, count the step; -> this step's learning rate."""
        if params.keys() != grads.keys():
            raise MinilmError(
                f"grads keys {sorted(grads)} differ from params keys {sorted(params)}; "
                "loss_and_grads must return a gradient for every parameter"
            )
        self.t += 1
        return self.lr if lr is None else float(lr)

    def _slot(self, slot: str, name: str, p: np.ndarray) -> np.ndarray:
        key = f"{slot}/{name}"
        if key not in self.state:
            self.state[key] = np.zeros_like(p)
        return self.state[key]

    @abstractmethod
    def _update(
        self, p: np.ndarray, g: np.ndarray, slots: list[np.ndarray], lr: float, t: int
    ) -> None:
        """Update `p` in place from its gradient `g` and slots: each optimiser's own rule."""

    def state_dict(self) -> dict[str, np.ndarray]:
        """A copy of the state as flat name -> array (`"step"` plus one entry per slot/param)."""
        out = {k: v.copy() for k, v in self.state.items()}
        out["step"] = np.array(self.t, dtype=np.int64)
        return out

    def load_state_dict(self, d: Mapping[str, np.ndarray]) -> None:
        """Replace the state by a copy of `d` (as returned by `state_dict`, e.g. via np.load)."""
        if "step" not in d:
            raise MinilmError("optimizer state has no 'step' entry; not a state_dict of minilm")
        for key in d:
            if key != "step" and key.split("/", 1)[0] not in self.slots:
                raise MinilmError(
                    f"optimizer state entry '{key}' does not belong to {type(self).__name__} "
                    f"(slots {list(self.slots)}); was it written by another optimizer?"
                )
        self.t = int(d["step"])
        self.state = {k: np.array(v) for k, v in d.items() if k != "step"}


class SGD(Optimizer):
    """Stochastic gradient descent, optionally with (heavy-ball) momentum mu.

    u <- mu u + g ;  p <- p - lr u      (mu = 0: plain p <- p - lr g, no state kept)
    """

    def __init__(self, lr: float, momentum: float = 0.0) -> None:
        super().__init__(lr)
        if not 0.0 <= momentum < 1.0:
            raise MinilmError(f"momentum must be in [0, 1), got {momentum}")
        self.momentum = float(momentum)
        self.slots = ("velocity",) if momentum > 0 else ()

    def _update(self, p, g, slots, lr, t):
        if self.momentum > 0:
            (u,) = slots
            u *= self.momentum
            u += g
            g = u
        p -= lr * g


class ScatterSGD(SGD):
    """Plain SGD (p <- p - lr g) whose sparse rows are added into the table in one scatter.

    SGD gathers a sparse gradient's rows, updates them and writes them back; here p[row_ids] += -lr
    row_grads goes straight into the table with add_rows_at (minilm/layers/primitives.py, fast
    by its switch) - the same numbers bit for bit (p + (-lr g) is p - lr g), at about half the
    cost for word2vec's batches. With `repeated_rows=True` the row ids may repeat: each row is
    added in turn (np.add.at), so a loss need not sum the rows of a word first - the same update
    up to float rounding (the sum is taken in another order), as word2vec.c's one step per pair
    would do. minilm/models/skipgram.py's loss_and_grads returns such gradients; no momentum
    (word2vec's SGD has none).
    """

    def __init__(self, lr: float, repeated_rows: bool = False) -> None:
        super().__init__(lr)
        self.repeated_rows = repeated_rows

    def step(
        self, params: dict[str, np.ndarray], grads: Mapping[str, Grad], lr: float | None = None
    ) -> None:
        """Apply one update to every parameter in place; `lr` overrides `self.lr` for this step."""
        lr = self._begin_step(params, grads, lr)
        for name, p in params.items():
            g = grads[name]
            if not isinstance(g, tuple):
                if g.shape != p.shape:
                    raise MinilmError(f"gradient of {name} has shape {g.shape}, param {p.shape}")
                p -= lr * g
                continue
            if self.repeated_rows:
                rows, row_grads = _check_row_shapes(name, p, g)
                add_rows_at(p, rows, row_grads * -lr)
            else:
                rows, row_grads = _check_rows(name, p, g)
                p[rows] -= lr * row_grads


class Adagrad(Optimizer):
    """Adagrad (Duchi et al. 2011): per-coordinate step lr / sqrt(sum of past squared grads).

    G <- G + g^2 ;  p <- p - lr g / (sqrt(G) + eps)
    `initial_accumulator` starts G above zero (GloVe's reference code starts it at 1).
    """

    slots = ("sum_sq",)

    def __init__(self, lr: float, eps: float = 1e-8, initial_accumulator: float = 0.0) -> None:
        super().__init__(lr)
        self.eps = float(eps)
        self.initial_accumulator = float(initial_accumulator)

    def _slot(self, slot, name, p):
        key = f"{slot}/{name}"
        if key not in self.state:
            self.state[key] = np.full_like(p, self.initial_accumulator)
        return self.state[key]

    def _update(self, p, g, slots, lr, t):
        (G,) = slots
        G += g * g
        update = np.sqrt(G)  # one scratch array, reused in place: G can be a whole table
        update += self.eps
        np.divide(g, update, out=update)
        update *= lr
        p -= update


class Adam(Optimizer):
    """Adam (Kingma & Ba 2015) with optional L2 weight decay added to the gradient.

    m <- b1 m + (1-b1) g ;  v <- b2 v + (1-b2) g^2 ;  p <- p - lr m_hat / (sqrt(v_hat) + eps)
    with m_hat = m / (1 - b1^t), v_hat = v / (1 - b2^t). Sparse rows: lazy (module docstring).
    """

    slots = ("m", "v")
    decoupled = False  # AdamW flips this: decay the weights directly, not through the gradient

    def __init__(
        self,
        lr: float,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 0.0,
    ) -> None:
        super().__init__(lr)
        b1, b2 = betas
        if not (0.0 <= b1 < 1.0 and 0.0 <= b2 < 1.0):
            raise MinilmError(f"Adam betas must be in [0, 1), got {betas}")
        if weight_decay < 0:
            raise MinilmError(f"weight_decay must be >= 0, got {weight_decay}")
        self.b1, self.b2 = float(b1), float(b2)
        self.eps = float(eps)
        self.weight_decay = float(weight_decay)

    def _update(self, p, g, slots, lr, t):
        m, v = slots
        if self.weight_decay > 0:
            if self.decoupled:
                p *= 1.0 - lr * self.weight_decay  # AdamW: p <- p - lr wd p, independent of g
            else:
                g = g + self.weight_decay * p  # Adam + L2: the decay goes through m and v
        # One scratch array serves every term below: a step makes a few passes over each
        # parameter and its two moments, and fresh temporaries would add as many again.
        scratch = np.multiply(g, 1.0 - self.b1)
        m *= self.b1
        m += scratch  # m <- b1 m + (1 - b1) g
        np.multiply(g, g, out=scratch)
        scratch *= 1.0 - self.b2
        v *= self.b2
        v += scratch  # v <- b2 v + (1 - b2) g^2
        # lr m_hat / (sqrt(v_hat) + eps) with the bias corrections folded into two scalars
        # (Kingma & Ba, end of section 2), which saves two passes over the arrays:
        #   = step_size m / (sqrt(v) + eps_hat),  step_size = lr sqrt(1-b2^t) / (1-b1^t),
        #                                         eps_hat = eps sqrt(1-b2^t)
        root = math.sqrt(1.0 - self.b2**t)
        step_size = lr * root / (1.0 - self.b1**t)
        update = np.sqrt(v, out=scratch)
        update += self.eps * root
        np.divide(m, update, out=update)
        update *= step_size
        p -= update


class AdamW(Adam):
    """AdamW: Adam with decoupled weight decay, p <- p - lr wd p before the Adam step.

    Applies to every parameter it is given (pass a separate optimiser for parameters that should
    not decay). For sparse rows the decay is lazy too: only the touched rows shrink.
    """

    decoupled = True

    def __init__(
        self,
        lr: float,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 0.01,
    ) -> None:
        super().__init__(lr, betas, eps, weight_decay)


def _check_rows(name: str, p: np.ndarray, g: tuple) -> tuple[np.ndarray, np.ndarray]:
    """Validate a sparse gradient: integer unique row ids, row_grads (R, *p.shape[1:])."""
    rows, row_grads = _check_row_shapes(name, p, g)
    # Duplicate ids would make `p[rows] = ...` keep only one of the updates, silently.
    # Sorted ids (what embedding_backward_rows returns) are checked in O(R).
    sorted_unique = rows.size < 2 or bool(np.all(rows[1:] > rows[:-1]))
    if not sorted_unique and np.unique(rows).size != rows.size:
        raise MinilmError(f"row_ids of {name} repeat; sum repeated rows first (core.sum_rows)")
    return rows, row_grads


def _check_row_shapes(name: str, p: np.ndarray, g: tuple) -> tuple[np.ndarray, np.ndarray]:
    """Validate a sparse gradient's form: integer row ids (R,), row_grads (R, *p.shape[1:])."""
    if len(g) != 2:
        raise MinilmError(f"sparse gradient of {name} must be (row_ids, row_grads)")
    rows, row_grads = np.asarray(g[0]), g[1]
    if rows.ndim != 1 or not np.issubdtype(rows.dtype, np.integer):
        raise MinilmError(f"row_ids of {name} must be a 1-D integer array, got {rows.dtype}")
    if row_grads.shape != (rows.size, *p.shape[1:]):
        raise MinilmError(
            f"row_grads of {name} has shape {row_grads.shape}, expected {(rows.size, *p.shape[1:])}"
        )
    return rows, row_grads


# ---------------------------------------------------------------------------------------------
# Learning-rate schedules: functions of the 0-based step.


def constant(step: int, lr: float) -> float:
    """lr at every step."""
    return float(lr)


def linear_decay(step: int, total_steps: int, lr: float, floor: float) -> float:
    """word2vec's schedule: lr_t = max(floor, lr (1 - step / total_steps)).

    Starts at lr, reaches `floor` at `total_steps` and stays there. word2vec.c decays by the
    fraction of words processed and uses floor = 1e-4 * lr.
    """
    if total_steps <= 0:
        raise MinilmError(f"total_steps must be > 0, got {total_steps}")
    return max(float(floor), float(lr) * (1.0 - step / total_steps))


def warmup_cosine(step: int, total_steps: int, lr: float, warmup: int, floor: float) -> float:
    """Linear warmup to lr over `warmup` steps, then half a cosine from lr down to `floor`.

    step < warmup:  lr (step + 1) / warmup          (the first step is not wasted at lr = 0)
    afterwards:     floor + (lr - floor) (1 + cos(pi s)) / 2,  s = (step - warmup) / (T - warmup)
    with T = total_steps; clamped to `floor` beyond T.
    """
    if total_steps <= 0:
        raise MinilmError(f"total_steps must be > 0, got {total_steps}")
    if step < warmup:
        return float(lr) * (step + 1) / warmup
    progress = min(1.0, (step - warmup) / max(1, total_steps - warmup))
    return float(floor) + (float(lr) - float(floor)) * 0.5 * (1.0 + math.cos(math.pi * progress))


def clip_global_norm(grads: Mapping[str, Grad], max_norm: float) -> float:
    """Scale all gradients in place so their joint L2 norm is at most `max_norm`.

    norm = sqrt(sum over all gradient entries g^2)  (for a sparse gradient: its row_grads);
    if norm > max_norm every gradient is multiplied by max_norm / norm, which keeps the update's
    direction. Returns the norm before clipping (accumulated in float64).
    """
    arrays = [g[1] if isinstance(g, tuple) else g for g in grads.values()]
    norm = math.sqrt(sum(float(np.sum(np.square(a, dtype=np.float64))) for a in arrays))
    if norm > max_norm:
        scale = max_norm / norm
        for a in arrays:
            a *= scale
    return norm


CERTIFY_CHUNK = 1 << 20  # elements per dot product in `clip_if_above`: float32 error <= 1/15


def clip_if_above(grads: Mapping[str, Grad], max_norm: float) -> bool:
    """`clip_global_norm` with the same result, bit for bit, but cheap when no clip is needed.

    The exact norm (float64 squares, summed) costs a float64 copy of every gradient. Most steps
    are far below `max_norm`, and that is cheaper to *prove*: s_hat, a plain dot product x.x in
    the gradient's own precision over chunks of n <= 2^20 entries, has (all terms >= 0) a
    relative error of at most gamma_n = n u / (1 - n u) whatever the summation order
    (Higham, "Accuracy and Stability of Numerical Algorithms", 2002, section 4.2), with u the
    unit roundoff; for float32 that is 1/15. So s_hat <= 0.9 max_norm^2 proves
    s <= s_hat / (1 - gamma) < max_norm^2, and nothing is scaled. Otherwise (also on inf/NaN)
    the exact `clip_global_norm` decides, as before. Returns whether the gradients were scaled.
    """
    bound = 0.0
    for g in grads.values():
        a = (g[1] if isinstance(g, tuple) else g).reshape(-1)
        if float(np.finfo(a.dtype).eps) / 2 * CERTIFY_CHUNK > 1 / 16:
            bound = math.inf  # a precision coarser than float32: no certificate
            break
        for i in range(0, a.size, CERTIFY_CHUNK):
            chunk = a[i : i + CERTIFY_CHUNK]
            with np.errstate(over="ignore"):  # an inf bound certifies nothing: exact path
                bound += float(np.dot(chunk, chunk))
    if bound <= 0.9 * max_norm * max_norm:
        return False
    return clip_global_norm(grads, max_norm) > max_norm
