"""Elman's simple recurrent network (SRN) as a next-word predictor.

Elman (1990), "Finding Structure in Time", Cognitive Science 14. The hidden layer sees the
current word and a copy of its own previous state (the "context units"):

    h_t = tanh(x_t W_xh + h_{t-1} W_hh + b_h)
    P(w_{t+1} | w_1..w_t) = softmax(h_t W_hy + b_y)

The recurrence is a choice (`cell`, minilm/layers/recurrent.py): Elman's tanh cell, the LSTM
(Hochreiter & Schmidhuber 1997, forget gate of Gers et al. 2000) or the GRU (Cho et al. 2014).
Every cell reads x_t through W_xh and h_{t-1} through W_hh, with G gate blocks side by side
(G = 1, 4, 3), so the parameters keep their names and only W_xh, W_hh, b_h grow G times wider.
The LSTM also carries a memory c_t from window to window.

x_t is either the one-hot vector of word w_t, as in Elman's paper (`onehot=True`: then
x_t W_xh is just row w_t of W_xh, a table lookup), or a learned embedding C[w_t].

    symbol  shape                meaning
    C       (V, D)               input embedding (only without `onehot`)
    W_xh    (V, GH) or (D, GH)   input -> hidden (one row per word when one-hot)
    W_hh    (H, GH)              hidden -> hidden: the recurrence (GH = G*H, G gate blocks)
    b_h     (GH,)                hidden bias
    W_hy    (H, V)               hidden -> output
    b_y     (V,)                 output bias

Training is truncated backpropagation through time: the text is cut into N parallel streams
and read in windows of T steps. The state at the end of one window is the h_0 of the next, so
the network can carry information across windows, but it is a constant there: the gradient
stops at the window boundary. The caller keeps that state in a dict (`state["h"]`, and
`state["c"]` for the LSTM).

Class-factored output (`output="class"`, for real vocabularies; Mikolov et al. 2011, the
RNNLM's own speed-up; minilm/layers/class_softmax.py): the words are cut into C classes of
~equal unigram mass (contiguous id ranges, `bounds`) and

    P(w_{t+1} | w_1..w_t) = softmax(h_t W_hc + b_c)[c(w)] * softmax_{j in c(w)}(h_t W_hy + b_y)[w]

an exact distribution at ~C + V/C scores per target instead of V. Two parameters are added:

    W_hc    (H, C)               hidden -> class weights   (only with output="class")
    b_c     (C,)                 class biases

Two regularisers for real corpora (docs/04-srn-bptt.md, "Real text"):

- Dropout on the non-recurrent connections only (Zaremba, Sutskever & Vinyals 2014): in
  training, the input x_t (C[w_t], or the row of W_xh with `onehot`) and the h_t that the
  output reads are multiplied by Bernoulli keep-masks / (1 - p); the h_{t-1} -> h_t path never
  is, so the memory the recurrence carries is not erased at every step.
- Weight tying (`tie=True`; Press & Wolf 2017, Inan, Khosravi & Socher 2017): the output word
  weights are the input embedding, W_hy = C^T, so D = H. There is no W_hy parameter: C gets
  both gradients, its rows from the input lookup and C^T's from the output (dC = dW_hy^T + ...).

Shapes: N batch (streams), T time steps, D embedding, H hidden, V vocabulary, C classes,
G gate blocks of the cell.
A batch is {"inputs": (N, T) int, "targets": (N, T) int} (targets = inputs shifted by one),
optionally "reset": True when the streams start afresh (StreamBatches, first batch of an epoch).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np

from minilm.errors import MinilmError
from minilm.layers.class_softmax import (
    check_bounds,
    class_log_probs,
    class_nll,
    class_softmax_backward,
    class_softmax_forward,
)
from minilm.layers.core import (
    affine_backward,
    affine_forward,
    dropout_backward,
    dropout_forward,
    embedding_backward_rows,
    embedding_forward,
    scatter_add_rows,
)
from minilm.layers.losses import log_softmax, softmax_cross_entropy
from minilm.layers.recurrent import (
    CELLS,
    get_cell,
    init_recurrent,
    last_state,
    sequence_backward,
    sequence_forward,
)

OUTPUTS = ("full", "class")
STATE_KEYS = ("h", "c")  # the carried state's names in the caller's dict: h_t, and the LSTM's c_t


@dataclass
class Config:
    vocab_size: int  # V
    dim: int = 64  # D: input embedding size (unused with onehot)
    hidden: int = 128  # H: hidden (and context) units; Elman used 70 for the word task
    onehot: bool = False  # Elman's one-hot input instead of a learned embedding C
    output: str = "full"  # "full" softmax over V, or "class": factored through word classes
    class_bounds: tuple[int, ...] = ()  # output="class": class c = ids [bounds[c], bounds[c+1])
    tie: bool = False  # W_hy = C^T (weight tying): needs an embedding C with dim == hidden
    dtype: str = "float32"  # float32 for training, float64 for gradient checks
    cell: str = "elman"  # the recurrence: "elman", "lstm" or "gru" (layers/recurrent.py)

    def __post_init__(self) -> None:
        for name in ("vocab_size", "dim", "hidden"):
            if getattr(self, name) < 1:
                raise MinilmError(f"SRN {name} must be >= 1, got {getattr(self, name)}")
        get_cell(self.cell)  # a one-line error for an unknown cell
        if self.tie and (self.onehot or self.dim != self.hidden):
            raise MinilmError(
                "SRN weight tying (W_hy = C^T) needs an input embedding with dim == hidden, "
                f"got onehot={self.onehot}, dim {self.dim}, hidden {self.hidden}"
            )
        if self.output not in OUTPUTS:
            raise MinilmError(f"SRN output must be one of {OUTPUTS}, got {self.output!r}")
        if self.output == "class":
            self.class_bounds = tuple(check_bounds(self.class_bounds, self.vocab_size).tolist())


def init_params(cfg: Config, rng: np.random.Generator) -> dict[str, np.ndarray]:
    """Weights scaled by 1/sqrt(fan_in); W_hh orthogonal-ish small; output nearly uniform.

    W_hh starts as 0.5 x a random orthogonal matrix per gate block (layers/recurrent.py
    init_recurrent), so early gradients through time neither explode nor vanish at once. The
    output weights get an extra factor 0.1: loss starts ~ ln V. The draws come in the order of
    the Elman model before the cells existed, so an Elman run starts where it always did.
    """
    V, D, H = cfg.vocab_size, cfg.dim, cfg.hidden
    GH = CELLS[cfg.cell].gates * H
    dt = np.dtype(cfg.dtype)

    def normal(shape, std):
        return (rng.standard_normal(shape) * std).astype(dt)

    recurrent = init_recurrent(cfg.cell, H, rng, cfg.dtype)  # W_hh, b_h
    params = {}
    if cfg.onehot:
        params["W_xh"] = normal((V, GH), 0.3)  # one row per word: its whole input contribution
    else:
        params["C"] = normal((V, D), 0.3)
        params["W_xh"] = normal((D, GH), 1 / np.sqrt(D))
    params |= recurrent
    params["W_hy"] = normal((H, V), 0.1 / np.sqrt(H))
    params["b_y"] = np.zeros(V, dtype=dt)
    if cfg.tie:
        del params["W_hy"]  # drawn all the same, so the other parameters match an untied model's
    if cfg.output == "class":
        n_classes = len(cfg.class_bounds) - 1
        params["W_hc"] = normal((H, n_classes), 0.1 / np.sqrt(H))
        params["b_c"] = np.zeros(n_classes, dtype=dt)
    return params


def output_weights(params: dict[str, np.ndarray]) -> np.ndarray:
    """W_hy (H, V): the parameter, or C^T (a view) when the weights are tied."""
    return params["W_hy"] if "W_hy" in params else params["C"].T


def hidden_forward(
    params: dict[str, np.ndarray],
    inputs: np.ndarray,
    state0: tuple[np.ndarray, ...] | None = None,
    p_drop: float = 0.0,
    keep_x: np.ndarray | None = None,
    cell: str = "elman",
) -> tuple[np.ndarray, tuple]:
    """States h_1..h_T (N, T, H) for inputs (N, T) from the cell's state0 (zeros if None).

    With a keep-mask `keep_x` (bool, the shape of the input x: (N, T, D), or (N, T, GH) with
    one-hot input) and p_drop > 0, the input is dropped out (training only). The cache ends
    with the recurrence's, whose `last_state` is the state to carry.
    """
    drop = keep_x is not None and p_drop > 0
    drop_cache = None
    if "C" in params:
        # (1a) embed the input words                 x_t = C[w_t]
        x, emb_cache = embedding_forward(inputs, params["C"])  # (N, T, D)
        if drop:  # (1a') x_t = Dropout(x_t): an input connection, not a recurrent one
            x, drop_cache = dropout_forward(x, p_drop, mask=keep_x)
        # (1a'') the input term of every step at once     xw_t = x_t W_xh
        W_xh = params["W_xh"]
        xw, proj_cache = affine_forward(x, W_xh, np.zeros(W_xh.shape[1], dtype=W_xh.dtype))
    else:
        # (1b) one-hot input: x_t W_xh is the row of W_xh for word w_t
        xw, emb_cache = embedding_forward(inputs, params["W_xh"])  # (N, T, GH)
        if drop:  # (1b') xw_t = Dropout(xw_t)
            xw, drop_cache = dropout_forward(xw, p_drop, mask=keep_x)
        proj_cache = None
    # (2) the recurrence, e.g. Elman's      h_t = tanh(xw_t + h_{t-1} W_hh + b_h)
    hs, rnn_cache = sequence_forward(cell, xw, state0, params)  # (N, T, H)
    return hs, (emb_cache, drop_cache, proj_cache, rnn_cache)


def hidden_backward(
    dhs: np.ndarray, cache: tuple, grads: dict[str, np.ndarray | tuple[np.ndarray, np.ndarray]]
) -> None:
    """Backward (2)-(1) of `hidden_forward`: adds the input and recurrent gradients to grads."""
    emb_cache, drop_cache, proj_cache, rnn_cache = cache
    # backward (2): through time; dstate0 would go to the previous window: cut
    dxw, _dstate0, recurrent = sequence_backward(dhs, rnn_cache)
    # (the order of the keys is the order clip_global_norm sums them: keep it)
    if proj_cache is not None:
        dx, grads["W_xh"], _ = affine_backward(dxw, proj_cache)  # backward (1a'')
        grads |= recurrent  # W_hh, b_h
        if drop_cache is not None:  # backward (1a')
            dx = dropout_backward(dx, drop_cache)
        # backward (1a): repeated words add their rows' gradients
        grads["C"] = embedding_backward_rows(dx, emb_cache)  # (row_ids, row_grads)
        return
    grads |= recurrent
    if drop_cache is not None:  # backward (1b')
        dxw = dropout_backward(dxw, drop_cache)
    # backward (1b): the one-hot product's gradient lands on the rows that were read
    grads["W_xh"] = embedding_backward_rows(dxw, emb_cache)  # (row_ids, row_grads)


def dropout_masks(
    shape: tuple[int, int, int, int], p_drop: float, rng: np.random.Generator
) -> dict[str, np.ndarray]:
    """Keep-masks for a window, shape = (N, T, input size, H): True with probability 1 - p.

    "x" (N, T, D) for the input, "h" (N, T, H) for the states the output reads.
    """
    N, T, Dx, H = shape
    keep_x = rng.random((N, T, Dx), dtype=np.float32) >= p_drop  # (N, T, D)
    keep_h = rng.random((N, T, H), dtype=np.float32) >= p_drop  # (N, T, H)
    return {"x": keep_x, "h": keep_h}


def _carried(state: dict | None, batch: dict, cell: str) -> tuple[np.ndarray, ...] | None:
    """The state this window starts from: the caller's, unless absent or the batch resets."""
    if state is None or "h" not in state or batch.get("reset", False):
        return None  # zeros
    return tuple(state[k] for k in STATE_KEYS[: CELLS[cell].state_size])


def _output_loss(
    hflat: np.ndarray, targets: np.ndarray, params: dict, bounds: np.ndarray | None
) -> tuple[float, np.ndarray, dict]:
    """(3)-(4): output scores and the mean cross-entropy, with their backward.

    hflat (N*T, H), targets (N*T,). Returns (loss, dhflat (N*T, H), output grads).
    """
    W_hy = output_weights(params)  # (H, V)
    grads = {}  # in the order clip_global_norm sums them (the bytes of a run depend on it)
    if "W_hc" in params:
        # (3c) + (4) class-factored output and loss: -ln P(c(w)|h_t) - ln P(w|c(w), h_t)
        args = (params["W_hc"], params["b_c"], W_hy, params["b_y"])
        loss, out_cache = class_softmax_forward(hflat, *args, targets, _bounds(bounds))
        # backward (3c)-(4)
        dh, grads["W_hc"], grads["b_c"], grads["W_hy"], grads["b_y"] = class_softmax_backward(
            1.0, out_cache
        )
        return loss, dh, grads
    # (3) output scores                              y_t = h_t W_hy + b_y
    y, out_cache = affine_forward(hflat, W_hy, params["b_y"])  # (N*T, V)
    # (4) loss = mean over N*T positions of -ln softmax(y_t)[w_{t+1}]
    loss, dy = softmax_cross_entropy(y, targets)  # (N*T, V)
    # backward (3): the same W_hy at every step, summed inside affine_backward
    dh, grads["W_hy"], grads["b_y"] = affine_backward(dy, out_cache)  # (N*T, H)
    return loss, dh, grads


def loss_and_grads(
    params: dict[str, np.ndarray],
    batch: dict[str, np.ndarray],
    state: dict[str, np.ndarray] | None = None,
    bounds: np.ndarray | None = None,
    dropout: float = 0.0,
    masks: dict[str, np.ndarray] | None = None,
    cell: str = "elman",
) -> tuple[float, dict[str, np.ndarray | tuple[np.ndarray, np.ndarray]]]:
    """Mean next-word cross-entropy over the window, and every parameter's gradient.

    `state["h"]` (N, H) (and `state["c"]` for the LSTM), when present, is the carried state:
    read as the initial state (a constant, so the gradient is cut there) and replaced by this
    window's last state. Without a state, or when the batch says `reset` (a new epoch: the
    streams jumped), the window starts from zeros. `bounds` (C+1,): the word classes of a
    class output (W_hc). `dropout` p > 0: dropout on x_t and on the h_t the output reads, with
    the keep-masks given (`masks`, as from `dropout_masks`, e.g. in gradient checks) or drawn
    from np.random.default_rng(batch["dropout_seed"]) (minilm/data/sentences.py DropoutSeeds),
    so a resumed run draws the same masks. The carried state is the one before dropout.
    """
    inputs, targets = batch["inputs"], batch["targets"]
    N, T = inputs.shape
    rng = _mask_rng(batch, dropout, masks)
    keep_x = masks["x"] if masks is not None and dropout > 0 else None
    if rng is not None:  # the input's mask now, the output's once H is known: one draw order
        Dx = params["C"].shape[1] if "C" in params else params["W_xh"].shape[1]
        keep_x = rng.random((N, T, Dx), dtype=np.float32) >= dropout  # (N, T, D)
    # (1)-(2) the inputs and the recurrence
    hs, hidden_cache = hidden_forward(
        params, inputs, _carried(state, batch, cell), dropout, keep_x, cell
    )
    H = hs.shape[2]
    if state is not None:  # carried forward; the graph is not
        for key, s in zip(STATE_KEYS, last_state(hidden_cache[-1]), strict=False):
            state[key] = s.copy()
    # All N*T positions as one (N*T, H) matrix: one large matmul, where (N, T, H) @ (H, V)
    # would run N separate (T, H) @ (H, V) products (measured 1.5x slower at V = 10000).
    hflat = hs.reshape(N * T, H)
    drop_h = None
    if keep_x is not None:  # (2') the output reads Dropout(h_t); the recurrence read h_t itself
        keep_h = masks["h"] if rng is None else rng.random((N, T, H), dtype=np.float32) >= dropout
        hflat, drop_h = dropout_forward(hflat, dropout, mask=keep_h.reshape(N * T, H))
    # (3)-(4) output and loss, and their backward
    loss, dhflat, grads = _output_loss(hflat, targets.reshape(N * T), params, bounds)
    if drop_h is not None:  # backward (2')
        dhflat = dropout_backward(dhflat, drop_h)
    # backward (2)-(1)
    hidden_backward(dhflat.reshape(N, T, H), hidden_cache, grads)
    if "W_hy" not in params:  # tied: C is read as the input table and as W_hy = C^T
        rows, row_grads = grads["C"]
        dC = np.ascontiguousarray(grads.pop("W_hy").T)  # (V, D) dW_hy^T: every row
        dC[rows] += row_grads  # plus the lookup's rows (unique): both contributions add
        grads["C"] = dC
    return float(loss), grads


def _mask_rng(batch: dict, dropout: float, masks: dict | None) -> np.random.Generator | None:
    """The generator of this window's dropout masks, when they are to be drawn (not given)."""
    if dropout <= 0 or masks is not None:
        return None
    if "dropout_seed" not in batch:
        raise MinilmError("SRN dropout needs batch['dropout_seed'] (DropoutSeeds) or masks")
    return np.random.default_rng(batch["dropout_seed"])


def _stream_windows(
    params: dict[str, np.ndarray], inputs: np.ndarray, n_streams: int, T: int, cell: str
) -> Iterator[tuple[np.ndarray, np.ndarray, np.ndarray]]:
    """Run a whole token sequence through the SRN in parallel streams and windows of T.

    The sequence (L,) is cut into n_streams contiguous pieces (the last padded); each piece
    starts from a zero state and carries its state from window to window, exactly as in
    training. Yields (positions (N, T) into the sequence, valid (N, T) bool, hs (N, T, H)).
    """
    L = inputs.shape[0]
    n_streams = max(1, min(n_streams, L))
    length = -(-L // n_streams)  # ceil
    pos = np.arange(n_streams * length).reshape(n_streams, length)  # (N, Ls)
    valid = pos < L
    ids = inputs[np.minimum(pos, L - 1)]
    state = None  # zeros
    for s in range(0, length, T):
        hs, cache = hidden_forward(params, ids[:, s : s + T], state, cell=cell)  # (N, T, H)
        state = last_state(cache[-1])
        yield pos[:, s : s + T], valid[:, s : s + T], hs


def token_nll(
    params: dict[str, np.ndarray],
    inputs: np.ndarray,
    targets: np.ndarray,
    n_streams: int = 64,
    T: int = 64,
    bounds: np.ndarray | None = None,
    cell: str = "elman",
) -> np.ndarray:
    """-ln P(targets[i] | inputs[..i]) for every position of a sequence: (L,) float64.

    inputs/targets (L,) int. A class output scores each target through its own class only
    (exact, ~C + V/C per target).
    """
    out = np.zeros(targets.shape[0], dtype=np.float64)
    for pos, valid, hs in _stream_windows(params, inputs, n_streams, T, cell):
        at = pos[valid]  # (n,) the real positions of this window
        h = hs[valid]  # (n, H)
        if "W_hc" in params:
            args = (params["W_hc"], params["b_c"], output_weights(params), params["b_y"])
            out[at] = class_nll(h, *args, targets[at], _bounds(bounds))
            continue
        lp = log_softmax(affine_forward(h, output_weights(params), params["b_y"])[0])  # (n, V)
        out[at] = -lp[np.arange(at.size), targets[at]]
    return out


def nll_sum(
    params: dict[str, np.ndarray],
    inputs: np.ndarray,
    targets: np.ndarray,
    n_streams: int = 64,
    T: int = 64,
    bounds: np.ndarray | None = None,
    cell: str = "elman",
) -> float:
    """Sum of -ln P(targets[i] | inputs[..i]) over a sequence; inputs/targets (L,) int."""
    return float(token_nll(params, inputs, targets, n_streams, T, bounds, cell).sum())


def _bounds(bounds: np.ndarray | None) -> np.ndarray:
    if bounds is None:
        raise MinilmError("this SRN has a class output: pass its class bounds (cfg.class_bounds)")
    return np.asarray(bounds)


def mean_hidden_states(
    params: dict[str, np.ndarray],
    inputs: np.ndarray,
    vocab_size: int,
    n_streams: int = 64,
    cell: str = "elman",
) -> tuple[np.ndarray, np.ndarray]:
    """Elman's analysis: each word's hidden state averaged over every time it is the input.

    inputs (L,) int, at least one. Returns (means (V, H) -- zero rows for words never seen --
    and counts (V,) int64), in the dtype of the hidden states.
    """
    sums, dtype = np.zeros((vocab_size, 1)), None  # (V, 1) broadcasts to (V, H)
    for pos, valid, hs in _stream_windows(params, inputs, n_streams, 64, cell):
        words = inputs[pos[valid]]
        sums = sums + scatter_add_rows(words, hs[valid].astype(np.float64), vocab_size)
        dtype = hs.dtype
    counts = np.bincount(inputs, minlength=vocab_size).astype(np.int64)
    means = sums / np.maximum(counts, 1)[:, None]
    return means.astype(dtype), counts


def input_vectors(params: dict[str, np.ndarray]) -> np.ndarray:
    """The per-word input representation: C (embedding) or the rows of W_xh (one-hot)."""
    return params["C"] if "C" in params else params["W_xh"]


def sample(
    params: dict[str, np.ndarray],
    rng: np.random.Generator,
    start: int,
    n_tokens: int,
    stop_id: int | None = None,
    bounds: np.ndarray | None = None,
    cell: str = "elman",
) -> np.ndarray:
    """Generate up to n_tokens ids, feeding each sampled word back in; stop after stop_id."""
    state = None  # zeros
    w, out = start, []
    for _ in range(n_tokens):  # sequential: the next input is the word just drawn
        hs, cache = hidden_forward(params, np.array([[w]]), state, cell=cell)
        state = last_state(cache[-1])
        h = hs[:, -1]
        if "W_hc" in params:
            args = (params["W_hc"], params["b_c"], output_weights(params), params["b_y"])
            lp = class_log_probs(h, *args, _bounds(bounds))  # (1, V)
        else:
            lp = log_softmax(affine_forward(h, output_weights(params), params["b_y"])[0])
        p = np.exp(lp[0].astype(np.float64))
        w = int(rng.choice(p.shape[0], p=p / p.sum()))
        out.append(w)
        if w == stop_id:
            break
    return np.asarray(out, dtype=np.int64)
