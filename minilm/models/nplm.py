"""Bengio's neural probabilistic language model (NPLM).

Bengio, Ducharme, Vincent & Jauvin (2003), "A Neural Probabilistic Language Model", JMLR 3,
section 2. Predict word w_t from the n-1 words before it:

    x = (C[w_{t-n+1}], ..., C[w_{t-1}])          concatenated context embeddings
    y = b + W x + U tanh(d + H x)                 unnormalised log-probabilities
    P(w_t = i | context) = exp(y_i) / sum_j exp(y_j)

The embedding table C is shared by every context position: similar words get similar rows
because they must predict similar continuations, and that is how the model generalises to word
combinations it never saw. W ("direct connections" from the embeddings to the output) is
optional, as in the paper. Written row-vector style below (x @ H instead of H x).

    symbol  shape              meaning
    C       (V, m)             word feature vectors (the embedding table)
    H       ((n-1) m, h)       input -> hidden weights
    d       (h,)               hidden bias
    U       (h, V)             hidden -> output weights
    b       (V,)               output bias
    W       ((n-1) m, V)       direct input -> output weights (only with `direct=True`)

Class-factored output (`output="class"`, for real vocabularies): Mikolov et al. (2011),
minilm/layers/class_softmax.py. The words are cut into C classes of ~equal unigram mass
(contiguous id ranges, `bounds`), and

    P(w_t = i | context) = softmax(d_c + a U_c)[c(i)] * softmax_{j in c(i)}(b_j + a U_j)[i]

an exact distribution whose training and scoring cost ~C + V/C per target instead of V.
U and b keep their meaning (one column / entry per word); two parameters are added:

    U_c     (h, C)             hidden -> class weights      (only with output="class")
    b_c     (C,)               class biases

Direct connections W are only available with the full softmax.

Dropout (not in the 2003 paper; Srivastava et al. 2014), optional for real corpora, where the
embeddings and output weights of rare words otherwise memorise the training text: in training,
x and a are multiplied by Bernoulli keep-masks / (1 - p).

Weight tying (`tie=True`, not in the 2003 paper either; Press & Wolf 2017, Inan, Khosravi &
Socher 2017): the output word weights are the word features, U = C^T, which needs m = h. There
is no U parameter: C gets both gradients, its rows from the context lookup and C^T's from the
output (dC = dU^T + ...). A word's feature vector then also says which contexts predict it.

Shapes: N batch, V vocabulary, n-1 context words, m embedding size, h hidden units, C classes.
A batch is {"context": (N, n-1) int, "target": (N,) int}. The gradient of C is returned as
sparse rows (row_ids, row_grads): only the words in the batch change.
"""

from __future__ import annotations

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
    tanh_backward,
    tanh_forward,
)
from minilm.layers.losses import log_softmax, softmax_cross_entropy

OUTPUTS = ("full", "class")


@dataclass
class Config:
    vocab_size: int  # V: words predicted (and looked up)
    context: int = 4  # n-1: words of history (the paper's best models used n = 5 or 6)
    dim: int = 64  # m: embedding size
    hidden: int = 128  # h: tanh hidden units
    direct: bool = False  # add the direct connections W (x -> y)
    output: str = "full"  # "full" softmax over V, or "class": factored through word classes
    class_bounds: tuple[int, ...] = ()  # output="class": class c = ids [bounds[c], bounds[c+1])
    tie: bool = False  # U = C^T (weight tying): needs dim == hidden
    dtype: str = "float32"  # float32 for training, float64 for gradient checks

    def __post_init__(self) -> None:
        for name in ("vocab_size", "context", "dim", "hidden"):
            if getattr(self, name) < 1:
                raise MinilmError(f"NPLM {name} must be >= 1, got {getattr(self, name)}")
        if self.output not in OUTPUTS:
            raise MinilmError(f"NPLM output must be one of {OUTPUTS}, got {self.output!r}")
        if self.output == "class":
            if self.direct:
                raise MinilmError("direct connections need the full softmax: drop one of them")
            self.class_bounds = tuple(check_bounds(self.class_bounds, self.vocab_size).tolist())
        if self.tie and self.dim != self.hidden:
            raise MinilmError(
                f"NPLM weight tying (U = C^T) needs dim == hidden, got {self.dim} and {self.hidden}"
            )


def init_params(cfg: Config, rng: np.random.Generator) -> dict[str, np.ndarray]:
    """Small random weights, zero biases: P starts almost uniform, so loss ~ ln V.

    Each weight matrix is scaled by 1/sqrt(fan_in) (so tanh starts in its linear range); C is
    N(0, 0.1^2), and the output weights get a further factor 0.1 so the first logits are tiny.
    """
    V, n1, m, h = cfg.vocab_size, cfg.context, cfg.dim, cfg.hidden
    dt = np.dtype(cfg.dtype)

    def normal(shape, std):
        return (rng.standard_normal(shape) * std).astype(dt)

    params = {
        "C": normal((V, m), 0.1),
        "H": normal((n1 * m, h), 1 / np.sqrt(n1 * m)),
        "d": np.zeros(h, dtype=dt),
        "U": normal((h, V), 0.1 / np.sqrt(h)),
        "b": np.zeros(V, dtype=dt),
    }
    if cfg.tie:
        del params["U"]  # drawn all the same, so the other parameters match an untied model's
    if cfg.direct:
        params["W"] = normal((n1 * m, V), 0.1 / np.sqrt(n1 * m))
    if cfg.output == "class":
        n_classes = len(cfg.class_bounds) - 1
        params["U_c"] = normal((h, n_classes), 0.1 / np.sqrt(h))
        params["b_c"] = np.zeros(n_classes, dtype=dt)
    return params


def output_weights(params: dict[str, np.ndarray]) -> np.ndarray:
    """U (h, V): the parameter, or C^T (a view) when the weights are tied."""
    return params["U"] if "U" in params else params["C"].T


def hidden_forward(
    params: dict[str, np.ndarray],
    context: np.ndarray,
    p_drop: float = 0.0,
    masks: dict[str, np.ndarray] | None = None,
) -> tuple[np.ndarray, tuple]:
    """The hidden layer a (N, h) for contexts (N, n-1): steps (1)-(2), and their cache.

    With `masks` (bool keep-masks {"x": (N, (n-1) m), "a": (N, h)}) and p_drop > 0, dropout
    is applied to the concatenated embeddings x and to a (training only). cache[0] is the x
    the next layers read (after its dropout).
    """
    C, H, d = params["C"], params["H"], params["d"]
    N, n1 = context.shape
    m = C.shape[1]
    drop = masks is not None and p_drop > 0
    # (1) look up and concatenate the context embeddings      x = [C[w_1] .. C[w_{n-1}]]
    e, emb_cache = embedding_forward(context, C)  # (N, n-1, m)
    x = e.reshape(N, n1 * m)  # (N, (n-1) m)
    drop_x = drop_a = None
    if drop:  # (1') x = Dropout(x)
        x, drop_x = dropout_forward(x, p_drop, mask=masks["x"])
    # (2) hidden layer                                          a = tanh(d + x H)
    z, hid_cache = affine_forward(x, H, d)  # (N, h)
    a, tanh_cache = tanh_forward(z)  # (N, h)
    if drop:  # (2') a = Dropout(a)
        a, drop_a = dropout_forward(a, p_drop, mask=masks["a"])
    return a, (x, emb_cache, hid_cache, tanh_cache, drop_x, drop_a)


def hidden_backward(da: np.ndarray, cache: tuple, grads: dict) -> np.ndarray:
    """Backward of step (2) into grads["H"] and grads["d"]; returns dx (N, (n-1) m).

    dx is the gradient of the x that step (2) read (after (1')'s dropout, if any).
    """
    _, _, hid_cache, tanh_cache, _, drop_a = cache
    if drop_a is not None:  # backward (2')
        da = dropout_backward(da, drop_a)
    # backward (2): a = tanh(z), z = d + x H
    dz = tanh_backward(da, tanh_cache)  # (N, h)
    dx, grads["H"], grads["d"] = affine_backward(dz, hid_cache)  # (N, (n-1) m)
    return dx


def dropout_masks(
    shape: tuple[int, int, int], p_drop: float, rng: np.random.Generator
) -> dict[str, np.ndarray]:
    """Keep-masks for a batch, shape = (N, (n-1) m, h): True with probability 1 - p."""
    N, xm, h = shape
    keep_x = rng.random((N, xm), dtype=np.float32) >= p_drop  # (N, (n-1) m)
    keep_a = rng.random((N, h), dtype=np.float32) >= p_drop  # (N, h)
    return {"x": keep_x, "a": keep_a}


def forward(params: dict[str, np.ndarray], context: np.ndarray) -> tuple[np.ndarray, tuple]:
    """The full-softmax NPLM's scores y (N, V) for contexts (N, n-1), and the cache."""
    a, hidden_cache = hidden_forward(params, context)  # (N, h)
    x = hidden_cache[0]
    # (3) output scores                                         y = b + x W + a U
    y, out_cache = affine_forward(a, output_weights(params), params["b"])  # (N, V)
    if "W" in params:
        y += x @ params["W"]  # (N, V) direct connections
    return y, (hidden_cache, out_cache)


def loss_and_grads(
    params: dict[str, np.ndarray],
    batch: dict[str, np.ndarray],
    bounds: np.ndarray | None = None,
    dropout: float = 0.0,
    masks: dict[str, np.ndarray] | None = None,
) -> tuple[float, dict[str, np.ndarray | tuple[np.ndarray, np.ndarray]]]:
    """Mean cross-entropy of the targets and the gradient of every parameter.

    `bounds` (C+1,): the word classes, needed (only) when params has a class output (U_c).
    `dropout` p > 0: dropout on x and a, masks given (`masks`, e.g. in gradient checks) or
    drawn from np.random.default_rng(batch["dropout_seed"]) (minilm/data/sentences.py
    DropoutSeeds), so a resumed run draws the same masks.
    """
    context, target = batch["context"], batch["target"]
    N, n1 = context.shape
    if dropout > 0 and masks is None:
        if "dropout_seed" not in batch:
            raise MinilmError("NPLM dropout needs batch['dropout_seed'] (DropoutSeeds) or masks")
        shape = (N, params["H"].shape[0], params["H"].shape[1])
        masks = dropout_masks(shape, dropout, np.random.default_rng(batch["dropout_seed"]))
    a, hidden_cache = hidden_forward(params, context, dropout, masks)  # (N, h)
    x, drop_x = hidden_cache[0], hidden_cache[4]
    U = output_weights(params)  # (h, V)
    grads = {}  # in the order clip_global_norm sums them (the bytes of a run depend on it)
    if "U_c" in params:
        # (3c) + (4) class-factored output and its loss: -ln P(c(w)|a) - ln P(w|c(w), a)
        args = (params["U_c"], params["b_c"], U, params["b"])
        loss, out_cache = class_softmax_forward(a, *args, target, _bounds(bounds))
        # backward (3c)-(4)
        da, grads["U_c"], grads["b_c"], grads["U"], grads["b"] = class_softmax_backward(
            1.0, out_cache
        )
    else:
        # (3) output scores                                     y = b + x W + a U
        y, out_cache = affine_forward(a, U, params["b"])  # (N, V)
        if "W" in params:
            y += x @ params["W"]  # (N, V) direct connections
        # (4) loss = mean_i -ln softmax(y_i)[target_i]
        loss, dy = softmax_cross_entropy(y, target)  # dy (N, V)
        # backward (3): y = b + x W + a U
        da, grads["U"], grads["b"] = affine_backward(dy, out_cache)  # (N, h)
        if "W" in params:
            grads["W"] = x.T @ dy  # ((n-1) m, V)
    # backward (2)
    dx = hidden_backward(da, hidden_cache, grads)  # (N, (n-1) m)
    if "W" in params:
        dx += dy @ params["W"].T  # x also reaches y directly: both contributions add
    if drop_x is not None:  # backward (1')
        dx = dropout_backward(dx, drop_x)
    # backward (1): x = C[context] -- a word used twice in a batch gets both rows' gradients
    de = dx.reshape(N, n1, -1)  # (N, n-1, m)
    grads["C"] = embedding_backward_rows(de, hidden_cache[1])  # (row_ids, row_grads)
    if "U" not in params:  # tied: C is read as the context table and as U = C^T
        rows, row_grads = grads["C"]
        dC = np.ascontiguousarray(grads.pop("U").T)  # (V, m) dU^T: every row
        dC[rows] += row_grads  # plus the lookup's rows (unique): both contributions add
        grads["C"] = dC
    return float(loss), grads


def _bounds(bounds: np.ndarray | None) -> np.ndarray:
    if bounds is None:
        raise MinilmError("this NPLM has a class output: pass its class bounds (cfg.class_bounds)")
    return np.asarray(bounds)


def log_probs(
    params: dict[str, np.ndarray], context: np.ndarray, bounds: np.ndarray | None = None
) -> np.ndarray:
    """ln P(. | context) for contexts (N, n-1) -> (N, V); `bounds` for a class output."""
    if "U_c" in params:
        a, _ = hidden_forward(params, context)
        args = (params["U_c"], params["b_c"], output_weights(params), params["b"])
        return class_log_probs(a, *args, _bounds(bounds))
    return log_softmax(forward(params, context)[0])


def token_nll(
    params: dict[str, np.ndarray],
    context: np.ndarray,
    target: np.ndarray,
    chunk: int = 1024,
    bounds: np.ndarray | None = None,
) -> np.ndarray:
    """-ln P(target | context) of every row (N,) float64, in chunks to bound memory.

    A class output scores each target through its own class only (exact, ~C + V/C per row).
    """
    out = np.zeros(target.shape[0], dtype=np.float64)
    for i in range(0, context.shape[0], chunk):
        ctx, tgt = context[i : i + chunk], target[i : i + chunk]
        if "U_c" in params:
            a, _ = hidden_forward(params, ctx)
            args = (params["U_c"], params["b_c"], output_weights(params), params["b"])
            out[i : i + chunk] = class_nll(a, *args, tgt, _bounds(bounds))
            continue
        lp = log_probs(params, ctx)  # (chunk, V)
        out[i : i + chunk] = -lp[np.arange(lp.shape[0]), tgt]
    return out


def nll_sum(
    params: dict[str, np.ndarray],
    context: np.ndarray,
    target: np.ndarray,
    chunk: int = 1024,
    bounds: np.ndarray | None = None,
) -> float:
    """Sum over rows of -ln P(target | context)."""
    return float(token_nll(params, context, target, chunk, bounds).sum())


def sample(
    params: dict[str, np.ndarray],
    rng: np.random.Generator,
    start: np.ndarray,
    n_tokens: int,
    stop_id: int | None = None,
    bounds: np.ndarray | None = None,
) -> np.ndarray:
    """Generate up to n_tokens ids after the context `start` (n-1,); stop after stop_id."""
    context = np.asarray(start, dtype=np.int64).copy()
    out = []
    for _ in range(n_tokens):  # sequential: each word joins the next context
        p = np.exp(log_probs(params, context[None, :], bounds)[0].astype(np.float64))
        w = int(rng.choice(p.shape[0], p=p / p.sum()))
        out.append(w)
        if w == stop_id:
            break
        context = np.append(context[1:], w)
    return np.asarray(out, dtype=np.int64)
