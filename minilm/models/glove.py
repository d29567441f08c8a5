"""GloVe: global vectors from weighted least squares on log co-occurrence counts.

Pennington, Socher & Manning (2014), "GloVe: Global Vectors for Word Representation".

Given a symmetric co-occurrence matrix X (minilm/models/count.py's `cooccurrence`, 1/distance
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
AdaGrad touches only the rows of the batch.

Training is not in this file (models hold the equation; fitting lives with the scripts):
scripts/train_baselines.py --method glove feeds the shared loop (minilm/train.py) with batches
of shuffled non-zero cells (minilm/data/cooccurrence.py) and AdaGrad with accumulators starting
at 1, as in the reference glove.c. Our one deviation from glove.c: it takes one step per entry
(asynchronously, on many threads); we take one step per minibatch of cells, gradients summed.
(glove.c also accumulates the squares of eta * g rather than of g, roughly lr 1 with
accumulators starting at 1 / eta^2.)

Why GloVe trails on the world corpus (analogy 0.36 where PPMI-SVD scores 0.67 and SGNS more).
Measured on world (533k tokens, V = 896, window 10 with 1/d weighting, D = 100, one seed;
analogy of W + W~ / of W alone, category purity), against the paper's settings (x_max 100,
alpha 0.75, lr 0.05, 50 epochs, batches of 512 cells): 0.36 / 0.37, purity 0.84.
    x_max 30, 10, 3           0.34, 0.29, 0.24      (purity 0.87, 0.80, 0.68)
    25, 100 epochs            0.35, 0.33
    lr 0.02, 0.1              0.22, 0.28
    batches of 4096 cells     0.38                  no 1/d weighting   0.38
    window 5                  0.32                  D = 50             0.35
No setting closes the gap, and W alone is about as good as W + W~ (0.34-0.42). The gap is in
three sections: gender 0.09, comparatives 0.08, superlatives 0.08 (PPMI-SVD 0.98, 0.81, 0.91),
while capitals, plurals and participles reach 0.5-0.7. Those relations live in cells that are
exactly zero: the world corpus is generated, 88% of its (V, V) cells are empty, and
X[king, she] = X[queen, he] = 0 while king and queen share every other context. J has no term
for an empty cell. PPMI-SVD writes those cells as 0, below the positive PMI of observed pairs,
and SGNS's negative samples push them down; GloVe leaves them free. Adding every empty cell to
J (target log(1 + X_ij), weight f(1 + X_ij); 8 times the cells) at D = 50, 10 epochs, batches
of 4096: analogy 0.18 -> 0.28, purity 0.72 -> 0.84, gender 0.10 -> 0.23, comparatives 0.02 ->
0.33, superlatives 0.02 -> 0.24. The paper's corpora are natural text of billions of tokens,
where such pairs co-occur at least now and then, so the missing cells cost little there.

x_max on a small corpus. x_max = 100 was chosen for billions of tokens. On world only 3% of the
non-zero cells reach 100 (median 2.6), so f(x) = (x / 100)^0.75 < 1 almost everywhere and the
frequent, reliable cells outweigh the rare ones; a smaller x_max flattens f and lets the many
rare, noisy cells count as much, which is worse here (table). A second effect of a small
corpus: with f small and AdaGrad's accumulators starting at 1, a step is about lr * g, so the
vectors leave their small U(-0.5/D, 0.5/D) start slowly (real_text's first 105k tokens: median
X_ij 0.33, f ~ 0.01; similarity 0.08 at best after 20 epochs, PPMI-SVD 0.19). On the whole
1.1M-token real_text (benchmarks/real_text.py), 25 epochs of 4096 cells: x_max 100 gives
analogy 0.013, WordSim 0.05; x_max 10 gives 0.027, 0.12, still rising at epoch 25 (PPMI-SVD:
0.061, 0.40). There a smaller x_max helps, on world it hurts: x_max stays the paper's 100.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from minilm.errors import MinilmError
from minilm.layers.core import sum_rows  # np.add.at's sums; fast by layers/primitives.py


@dataclass
class Config:
    vocab_size: int
    dim: int = 50  # D; the paper uses 50-300, 50 is plenty for a vocabulary of a thousand words
    x_max: float = 100.0  # counts above x_max get full weight f = 1
    alpha: float = 0.75  # f(x) = (x / x_max)^alpha below x_max
    dtype: str = "float32"  # float32 to train, float64 for gradient checks

    def __post_init__(self) -> None:
        if self.vocab_size < 1 or self.dim < 1:
            raise MinilmError(f"GloVe needs vocab_size >= 1 and dim >= 1, got {self}")
        for name in ("x_max", "alpha"):
            value = getattr(self, name)
            if not value > 0:
                raise MinilmError(f"--{name.replace('_', '-')} must be > 0, got {value}")


def weighting(x: np.ndarray, x_max: float = 100.0, alpha: float = 0.75) -> np.ndarray:
    """f(x) = min(1, (x / x_max)^alpha), elementwise."""
    return np.minimum(1.0, (x / x_max) ** alpha)


def init_params(cfg: Config, rng: np.random.Generator) -> dict[str, np.ndarray]:
    """glove.c's initialisation: every weight and bias ~ U(-0.5/D, 0.5/D)."""
    V, D, scale = cfg.vocab_size, cfg.dim, 0.5 / cfg.dim
    return {
        name: rng.uniform(-scale, scale, size=shape).astype(cfg.dtype)
        for name, shape in (("W", (V, D)), ("W_tilde", (V, D)), ("b", (V,)), ("b_tilde", (V,)))
    }


def loss_and_grads(
    params: dict[str, np.ndarray],
    batch: dict[str, np.ndarray],
    x_max: float = 100.0,
    alpha: float = 0.75,
) -> tuple[float, dict[str, tuple[np.ndarray, np.ndarray]]]:
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
