"""GloVe: global vectors from weighted least squares on log co-occurrence counts.

Pennington, Socher & Manning (2014), "GloVe: Global Vectors for Word Representation".

Given a symmetric co-occurrence matrix X (minilm.models.count.cooccurrence, 1/distance
weighted as in the paper), fit word vectors w_i, context vectors w~_j and biases so that
w_i . w~_j + b_i + b~_j ~ log X_ij, over the NON-ZERO entries only:

    J = sum_{(i,j): X_ij > 0} f(X_ij) (w_i . w~_j + b_i + b~_j - log X_ij)^2
    f(x) = min(1, (x / x_max)^alpha)        x_max = 100, alpha = 0.75

f gives rare (noisy) pairs little weight and caps frequent ones at 1. The exported vectors are
w_i + w~_i (the paper's choice: the two tables are symmetric roles, their sum is a little better).

Symbols and shapes
    V vocabulary, D dimension, N entries in a minibatch (triples (i, j, X_ij) with X_ij > 0)
    W        (V, D)  word vectors          W_tilde  (V, D)  context vectors
    b        (V,)    word biases           b_tilde  (V,)    context biases

A batch (dict of arrays): "i" (N,) int, "j" (N,) int, "x" (N,) float X_ij > 0.
`loss_and_grads` returns the batch's part of J (a sum, as J is) and its exact gradient; every
gradient is sparse, (row_ids, row_grads), rows summed over repeated ids with `sum_rows`, so
AdaGrad touches only the rows of the batch. Training: AdaGrad (lr 0.05 and accumulators
starting at 1, as in the reference glove.c) through the shared loop, on shuffled non-zeros.
Our one deviation from glove.c: it takes one step per entry (asynchronously, on many threads);
we take one step per minibatch of `batch_size` entries, gradients summed. (glove.c also
accumulates the squares of eta * g rather than of g, roughly lr 1 with accumulators starting at
1 / eta^2. On the world corpus neither that form nor batches of 64 to 4096 entries changed the
figures beyond seed noise.)

What GloVe cannot see. J has no term for a pair that never co-occurs (X_ij = 0). In natural
text most frequent pairs co-occur at least once, but the bundled world corpus is generated, and
much of its structure is exact zeros: X[king, she] = X[queen, he] = 0, while king and queen
share every other context. PPMI-SVD writes those cells as 0 (below the positive PMI of the
observed pairs) and SGNS's negative samples push them down; GloVe leaves them free, so gender
barely reaches its vectors (gender analogies: 14% right). Measured on that corpus (D = 100):
fitting J to convergence in float64 (full-batch Adam) gives purity 0.84 and analogy accuracy
0.34, as our AdaGrad does; the same fit with the zero cells added (target log(1 + X), weight
f(1)) reaches analogy 0.94. So GloVe trailing PPMI-SVD and SGNS there is a property of the
objective on that corpus, not of this implementation.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np

from minilm.errors import MinilmError
from minilm.layers.core import sum_rows
from minilm.models.count import CooMatrix
from minilm.optim import Adagrad
from minilm.train import History, TrainConfig, train


@dataclass
class Config:
    vocab_size: int
    dim: int = 50  # D; the paper uses 50-300, 50 is plenty for a vocabulary of a thousand words
    x_max: float = 100.0  # counts above x_max get full weight f = 1
    alpha: float = 0.75  # f(x) = (x / x_max)^alpha below x_max
    lr: float = 0.05  # AdaGrad learning rate (glove.c's eta)
    epochs: int = 50  # passes over the non-zero entries (the paper: 50 below 300 dims)
    batch_size: int = 512  # non-zero entries per AdaGrad step
    dtype: str = "float32"  # float32 to train, float64 for gradient checks


def weighting(x: np.ndarray, x_max: float = 100.0, alpha: float = 0.75) -> np.ndarray:
    """f(x) = min(1, (x / x_max)^alpha), elementwise."""
    return np.minimum(1.0, (x / x_max) ** alpha)


def init_params(cfg: Config, rng: np.random.Generator) -> dict[str, np.ndarray]:
    """glove.c's initialisation: every weight and bias ~ U(-0.5/D, 0.5/D)."""
    if cfg.vocab_size < 1 or cfg.dim < 1:
        raise MinilmError(f"GloVe needs vocab_size >= 1 and dim >= 1, got {cfg}")
    V, D, scale = cfg.vocab_size, cfg.dim, 0.5 / cfg.dim
    return {
        name: rng.uniform(-scale, scale, size=shape).astype(cfg.dtype)
        for name, shape in (("W", (V, D)), ("W_tilde", (V, D)), ("b", (V,)), ("b_tilde", (V,)))
    }


def loss_and_grads(
    params: dict[str, np.ndarray], batch: dict[str, np.ndarray], x_max: float = 100.0,
    alpha: float = 0.75,
) -> tuple[float, dict[str, tuple[np.ndarray, np.ndarray]]]:  # fmt: skip
    """J over the batch's entries (a sum) and its gradient as sparse rows for every parameter."""
    W, W_tilde, b, b_tilde = params["W"], params["W_tilde"], params["b"], params["b_tilde"]
    i, j, x = batch["i"], batch["j"], batch["x"]
    # forward
    # (1) look up the rows            w = W[i], wt = W_tilde[j]              # (N, D) each
    w, wt = W[i], W_tilde[j]
    # (2) prediction error            diff = w . wt + b_i + bt_j - log x     # (N,)
    diff = np.einsum("nd,nd->n", w, wt) + b[i] + b_tilde[j] - np.log(x).astype(W.dtype)
    # (3) weighted squares            J = sum f(x) diff^2
    f = weighting(x, x_max, alpha).astype(W.dtype)  # (N,)
    loss = float(np.sum(f.astype(np.float64) * diff.astype(np.float64) ** 2))
    # backward
    # (3) ddiff = 2 f diff
    ddiff = 2.0 * f * diff  # (N,)
    # (2) diff is bilinear in (w, wt) and linear in the biases
    dw = ddiff[:, None] * wt  # (N, D)
    dwt = ddiff[:, None] * w  # (N, D)
    # (1) scatter back to the tables: an id repeated in the batch gets every contribution
    db_rows, db = sum_rows(i, ddiff[:, None])
    dbt_rows, dbt = sum_rows(j, ddiff[:, None])
    grads = {
        "W": sum_rows(i, dw),
        "W_tilde": sum_rows(j, dwt),
        "b": (db_rows, db[:, 0]),
        "b_tilde": (dbt_rows, dbt[:, 0]),
    }
    return loss, grads


def vectors(params: dict[str, np.ndarray]) -> np.ndarray:
    """The exported word vectors W + W_tilde (V, D)."""
    return params["W"] + params["W_tilde"]


class GloveBatches:
    """The non-zero entries of X in a fresh random order each epoch, `batch_size` at a time.

    Epoch e's order comes from np.random.default_rng([seed, e]): the same every time it is
    asked for, so the shared loop can resume mid-epoch.
    """

    def __init__(self, X: CooMatrix, batch_size: int, seed: int, dtype: str = "float32"):
        if batch_size < 1:
            raise MinilmError(f"--batch-size must be >= 1, got {batch_size}")
        if X.nnz == 0:
            raise MinilmError("the co-occurrence matrix is empty; use a longer corpus")
        self.i, self.j = X.rows, X.cols
        self.x = X.vals.astype(dtype)
        self.batch_size, self.seed = batch_size, seed
        self.steps_per_epoch = -(-X.nnz // batch_size)  # ceil

    def epoch(self, epoch: int) -> Iterator[dict[str, np.ndarray]]:
        order = np.random.default_rng([self.seed, epoch]).permutation(self.x.size)
        for start in range(0, self.x.size, self.batch_size):
            take = order[start : start + self.batch_size]
            yield {"i": self.i[take], "j": self.j[take], "x": self.x[take]}


def fit(
    X: CooMatrix,
    cfg: Config,
    seed: int = 0,
    out_dir: str | None = None,
    resume: bool = False,
    checkpoint_every: int = 0,
    probe=None,
) -> tuple[dict[str, np.ndarray], History]:
    """Train GloVe on co-occurrences X through the shared loop; return (params, history).

    The loop's loss is shown per entry (J of the batch / N); the gradients are J's own.
    """
    if X.shape != (cfg.vocab_size, cfg.vocab_size):
        raise MinilmError(f"X has shape {X.shape}, expected ({cfg.vocab_size}, {cfg.vocab_size})")
    for name in ("x_max", "alpha", "lr"):
        if not getattr(cfg, name) > 0:
            raise MinilmError(f"--{name.replace('_', '-')} must be > 0, got {getattr(cfg, name)}")
    params = init_params(cfg, np.random.default_rng(seed))
    batches = GloveBatches(X, cfg.batch_size, seed, cfg.dtype)

    def per_entry(params: dict, batch: dict) -> tuple[float, dict]:
        loss, grads = loss_and_grads(params, batch, cfg.x_max, cfg.alpha)
        return loss / len(batch["x"]), grads

    loop = TrainConfig(
        epochs=cfg.epochs,
        lr=cfg.lr,
        seed=seed,
        checkpoint_every=checkpoint_every,
        out_dir=out_dir,
        resume=resume,
        desc="glove",
    )
    optimizer = Adagrad(lr=cfg.lr, initial_accumulator=1.0)  # glove.c starts gradsq at 1
    history = train(per_entry, params, batches, optimizer, loop, probe=probe)
    return params, history
