"""The graded exercises: what to write, the reference it must match, the test inputs, two hints.

Each exercise names reference functions; `start` copies their signatures and docstrings (never
their bodies) into the learner's file, so the task and the reference cannot drift apart. Where a
reference's docstring states its gradient, `starter_docs` gives the starter a docstring without
it: the starter says what to compute, never how to differentiate it. `hint` is a nudge in words
(`--hint`); `formula` gives the equations (`--hint 2`). The test inputs live in
minilm/exercises/cases.py. EXERCISES is in the order of the docs pages (docs/README.md).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from minilm.exercises import cases, references
from minilm.layers import attention, core, losses, matryoshka, recurrent


@dataclass(frozen=True)
class Exercise:
    name: str
    title: str
    kind: str  # "layer": forward(**inputs) -> (*outputs, cache), backward(*douts, cache) -> grads;
    #            "loss": fn(**inputs) -> (loss, *grads)
    functions: tuple[Callable, ...]  # the references: (forward, backward) or (loss,)
    grad_args: tuple[str, ...]  # inputs that get a gradient, in the order they come back
    cases: Callable[[np.random.Generator], list[tuple[str, dict]]]
    task: str
    hint: str  # a nudge in words, no formula
    formula: str  # the equations of the backward
    docs: str  # the docs page that explains it
    minutes: int  # a first-timer's time estimate
    equations: str = ""  # the forward's equations, when the reference's docstring lacks them
    outputs: tuple[str, ...] = ("out",)  # a layer's outputs (before the cache)
    starter_docs: dict[str, str] = field(default_factory=dict)  # docstrings without the answer


EXERCISES: dict[str, Exercise] = {}


def _add(ex: Exercise) -> None:
    EXERCISES[ex.name] = ex


_add(
    Exercise(
        "glove",
        "GloVe's weighted least-squares loss",
        "loss",
        (references.glove_loss,),
        ("W", "W_tilde", "b", "b_tilde"),
        cases.glove,
        task="Return J and the dense gradients of the four tables (the counts x get none).",
        hint="Give the bracket a name first; everything else is the chain rule through a square. "
        "The same row can appear in several entries, so think about what plain indexed "
        "assignment does with repeated indices.",
        formula="diff = w_i . w~_j + b_i + b~_j - log x;  dJ/ddiff = 2 f(x) diff;  "
        "dw_i = ddiff w~_j,  dw~_j = ddiff w_i,  db_i = db~_j = ddiff, added into the tables "
        "with np.add.at (ids repeat). f(x) = min(1, (x / x_max)^alpha).",
        docs="docs/02-ppmi-glove.md",
        minutes=30,
    )
)
_add(
    Exercise(
        "affine",
        "the affine layer, out = x W + b",
        "layer",
        (core.affine_forward, core.affine_backward),
        ("x", "W", "b"),
        cases.affine,
        task="Write the forward (x may have any number of leading axes) and the backward.",
        hint="Make x two-dimensional first, so there is one matrix product. Then match shapes: "
        "each gradient has the shape of what it is the gradient of, and W and b were used at "
        "every position, so their gradients add up over all positions.",
        formula="x2 = x.reshape(-1, D), dout2 = dout.reshape(-1, H); dx = dout2 @ W.T reshaped "
        "to x's shape, dW = x2.T @ dout2, db = dout2.sum(axis=0).",
        docs="docs/03-nplm.md",
        minutes=20,
        starter_docs={
            "affine_backward": "Gradients of out = x @ W + b.\n\n"
            "Returns (dx (..., D), dW (D, H), db (H,))."
        },
    )
)
_add(
    Exercise(
        "embedding",
        "the embedding lookup and its duplicate-safe backward",
        "layer",
        (core.embedding_forward, core.embedding_backward),
        ("W",),
        cases.embedding,
        task="Write the lookup out = W[ids] and its backward dW (ids get no gradient). The "
        "forward's input validation is optional.",
        hint="A lookup is a matrix product with a one-hot matrix, so the gradient is a sum. Try "
        "your backward with an id that appears twice: does its row get both contributions?",
        formula="dW = zeros((V, D)) in dout's dtype; np.add.at(dW, ids.reshape(-1), "
        "dout.reshape(-1, D)). dW[ids] += dout keeps only one of the repeated rows.",
        docs="docs/03-nplm.md",
        minutes=15,
        starter_docs={"embedding_backward": "dW (V, D), the gradient of the table (ids get none)."},
    )
)
_add(
    Exercise(
        "tanh",
        "the tanh activation",
        "layer",
        (core.tanh_forward, core.tanh_backward),
        ("x",),
        cases.elementwise,
        task="Write out = tanh(x) and its backward; keep in the cache what the derivative needs.",
        hint="The derivative of tanh can be written with tanh's own output: cache that.",
        formula="dx = dout * (1 - out**2), out = tanh(x) from the cache.",
        docs="docs/03-nplm.md",
        minutes=5,
        starter_docs={"tanh_backward": "Backward for tanh_forward: dx, the shape of dout."},
    )
)
_add(
    Exercise(
        "softmax_cross_entropy",
        "softmax cross-entropy, fused with its gradient",
        "loss",
        (losses.softmax_cross_entropy,),
        ("logits",),
        cases.softmax,
        task="Return the mean loss over the counted positions and dloss/dlogits. Input validation "
        "is optional.",
        hint="exp of 1000 overflows: change the logits in a way the softmax cannot see. Only "
        "counted positions enter the mean (and their count is the divisor); targets at the "
        "others can hold anything, even -100. With nothing counted there is nothing to "
        "divide by.",
        formula="z - max(z) per row; log p_y = z_y - max - log(sum exp(z - max)); "
        "dlogits = (softmax - onehot(y)) / n on counted rows, 0 elsewhere, n = rows counted; "
        "n = 0 gives loss 0 and zero gradients.",
        docs="docs/03-nplm.md",
        minutes=25,
        starter_docs={
            "softmax_cross_entropy": (
                "Mean negative log-likelihood of the targets under softmax(logits).\n\n"
                "logits (..., V), targets int (...), mask bool (...) True = counted -> "
                "(loss, dlogits (..., V)).\n\n"
                "    loss = (1/n) sum_{counted i} -log softmax(z_i)[y_i],   n = number counted\n\n"
                "Targets at uncounted positions are ignored (they may hold any value, e.g. -100).\n"
                "With nothing counted the loss is 0 and dlogits is all zeros."
            )
        },
    )
)
_add(
    Exercise(
        "rnn_step",
        "one step of a tanh RNN",
        "layer",
        (references.rnn_step_forward, references.rnn_step_backward),
        ("x", "h_prev", "W_xh", "W_hh", "b_h"),
        cases.rnn_step,
        task="Write one step of the recurrence and its backward (five gradients).",
        hint="Keep the step's output in the cache: the derivative of tanh needs nothing else. "
        "After the tanh, the step is two affine maps that share one output.",
        formula="da = dh * (1 - h**2); dx = da @ W_xh.T, dh_prev = da @ W_hh.T, "
        "dW_xh = x.T @ da, dW_hh = h_prev.T @ da, db_h = da.sum(0).",
        docs="docs/04-srn-bptt.md",
        minutes=20,
    )
)
_add(
    Exercise(
        "rnn_bptt",
        "a tanh RNN over a sequence, and backpropagation through time",
        "layer",
        (recurrent.rnn_forward, recurrent.rnn_backward),
        ("x", "h0", "W_xh", "W_hh", "b_h"),
        cases.rnn_bptt,
        task="Run the recurrence over T steps (return every h_t), then write BPTT. You may reuse "
        "your rnn_step solution inside.",
        hint="Walk backwards in time. Each state is used twice: by the output at its step and by "
        "the next step. The weights are the same at every step, so what do their gradients "
        "do across steps? Never write into the gradient you were handed.",
        formula="dh_next = 0; for t = T-1..0: dh = dhs[:, t] + dh_next (a new array); run the step "
        "backward; dh_next = its dh_prev; dW_xh, dW_hh, db_h += its weight gradients. "
        "dh0 = dh_next at the end.",
        docs="docs/04-srn-bptt.md",
        minutes=40,
    )
)
_add(
    Exercise(
        "lstm_step",
        "one step of an LSTM",
        "layer",
        (references.lstm_step_forward, references.lstm_step_backward),
        ("x", "h_prev", "c_prev", "W_x", "W_h", "b"),
        cases.lstm_step,
        outputs=("h", "c"),
        task="Write one LSTM step (four gates from one fused product) and its backward (six "
        "gradients). The backward gets the gradients of both outputs, h and c.",
        hint="The cell state reaches the loss two ways: directly (dc) and through h. Add both "
        "before going further. Each gate is one elementwise product away from c; cache the "
        "gate values, their derivatives are written with them.",
        formula="dc_t = dc + dh * o * (1 - tanh(c)^2); do = dh * tanh(c); di = dc_t * g; "
        "df = dc_t * c_prev; dg = dc_t * i; dc_prev = dc_t * f; da = [di i(1-i) | df f(1-f) "
        "| do o(1-o) | dg (1-g^2)]; dx = da @ W_x.T, dh_prev = da @ W_h.T, dW_x = x.T @ da, "
        "dW_h = h_prev.T @ da, db = da.sum(0).",
        docs="docs/04-srn-bptt.md",
        minutes=45,
    )
)
_add(
    Exercise(
        "sgns",
        "the skip-gram negative-sampling loss",
        "loss",
        (references.sgns_loss,),
        ("W_in", "W_out"),
        cases.sgns,
        task="Return the summed loss and the dense gradients of both tables.",
        hint="Write the loss with a function that cannot overflow for scores of +-1000. The "
        "derivative of -log sigma(z) is a sigmoid, too. A word can be a context twice or a "
        "negative of several pairs: its row must collect every contribution.",
        formula="-log sigma(z) = np.logaddexp(0, -z); d/dz = sigma(z) - 1 for the positive and "
        "sigma(z) for a negative; dh = sum_k dz_k u_k, du_k = dz_k h, scattered with "
        "np.add.at.",
        docs="docs/05-word2vec.md",
        minutes=35,
    )
)
_add(
    Exercise(
        "hsoftmax",
        "hierarchical softmax over a word tree",
        "loss",
        (references.hsoftmax_loss,),
        ("h", "W_node"),
        cases.hsoftmax,
        task="Return the summed loss over every decision on each path and the dense gradients of h "
        "and W_node; padding entries (j >= lengths[n]) count nothing.",
        hint="Every decision is a logistic loss on one score; the code only flips its sign. Mask "
        "the padding before anything is summed, and remember that the root is on every path.",
        formula="s = h . W_node[points]; sign = 1 - 2 codes; "
        "loss = sum mask logaddexp(0, -sign s); "
        "ds = -sign sigma(-sign s) mask; dh = sum_j ds_j W_node[points_j]; "
        "np.add.at(dW_node, points, ds[..., None] h[:, None]).",
        docs="docs/05-word2vec.md",
        minutes=35,
    )
)
_add(
    Exercise(
        "layernorm",
        "layer normalisation",
        "layer",
        (core.layernorm_forward, core.layernorm_backward),
        ("x", "gamma", "beta"),
        cases.layernorm,
        task="Normalise over the last axis; write the backward. Input validation is optional.",
        hint="Name the gradient of the normalised x first. x reaches it twice: through the mean "
        "and "
        "through the standard deviation, and both paths count. gamma and beta were used at "
        "every position.",
        formula="dxhat = dout * gamma; "
        "dx = rstd * (dxhat - mean(dxhat) - xhat * mean(dxhat * xhat)) "
        "with means over the last axis (keepdims), rstd = 1 / sqrt(var + eps); dgamma = "
        "sum(dout * xhat), dbeta = sum(dout) over every leading axis.",
        docs="docs/07-transformer-mlm.md",
        minutes=40,
    )
)
_add(
    Exercise(
        "gelu",
        "the GELU activation (tanh approximation)",
        "layer",
        (core.gelu_forward, core.gelu_backward),
        ("x",),
        cases.elementwise,
        task="Write GELU's tanh approximation and its backward.",
        hint="The output is a product of x and something that depends on x: the product rule, "
        "then the chain rule through the tanh.",
        formula="t = tanh(u), u = c (x + a x^3); dx = dout * (0.5 (1 + t) + 0.5 x (1 - t^2) "
        "c (1 + 3 a x^2)), c = sqrt(2/pi), a = 0.044715.",
        docs="docs/07-transformer-mlm.md",
        minutes=15,
        starter_docs={"gelu_backward": "Backward for gelu_forward: dx, the shape of dout."},
    )
)
_add(
    Exercise(
        "attention",
        "multi-head self-attention with padding and causal masks",
        "layer",
        (attention.attention_forward, attention.attention_backward),
        ("x", "W_qkv", "b_qkv", "W_o", "b_o"),
        cases.attention,
        task="Write the forward (heads batched, masked keys get weight exactly 0, a query with no "
        "key left gets all-zero weights) and the backward (five gradients). Input validation "
        "is optional.",
        equations="""h heads of size d = D / h:
    [Q | K | V] = x W_qkv + b_qkv                  (N, T, 3D); head j owns columns [j d, (j+1) d)
                                                   of each of the three D-column blocks
    S = Q K^T / sqrt(d)                            (N, h, T, T), query i (rows) vs key j
    P = softmax(S) over keys j                     a padded key gets weight exactly 0;
                                                   causal: every key j > i too
    C = P V                                        (N, h, T, d)
    out = concat_heads(C) W_o + b_o                (N, T, D)""",
        hint="Count heads and head size separately: they are equal only by accident. Masking is "
        "something added to the scores before the softmax, and a row of scores can be huge. "
        "Backward, walk the forward's lines in reverse; the softmax backward is per row.",
        formula="split heads: qkv.reshape(N, T, 3, h, d).transpose(2, 0, 3, 1, 4); mask with -inf, "
        "subtract the row max; dP = dC V^T, dV = P^T dC, dS = P * (dP - sum_j P dP), "
        "dQ = dS K / sqrt(d), dK = dS^T Q / sqrt(d); undo the head split; two affine "
        "backwards.",
        docs="docs/07-transformer-mlm.md",
        minutes=60,
    )
)
_add(
    Exercise(
        "info_nce",
        "symmetric InfoNCE with in-batch negatives",
        "loss",
        (references.info_nce_loss,),
        ("a", "b"),
        cases.info_nce,
        task="Return the symmetric InfoNCE loss of N pairs and the gradients of both sides.",
        hint="Each half is a softmax cross-entropy whose targets are the diagonal. Then two more "
        "steps back: the division by tau, and the normalisation of each row.",
        formula="dS = 1/2 [(softmax_rows(S) - I) / N + ((softmax_rows(S^T) - I) / N)^T]; "
        "du = dS v / tau, dv = dS^T u / tau; da = (du - u (u . du)) / |a|, the same for b.",
        docs="docs/08-contrastive.md",
        minutes=40,
    )
)
_add(
    Exercise(
        "tsne",
        "the t-SNE cost and its gradient",
        "loss",
        (references.tsne_gradient,),
        ("Y",),
        cases.tsne,
        task="Return KL(P || Q) for the map Y and its gradient dY (P is data: no gradient).",
        hint="Q is normalised over all pairs, so moving one point changes every Q_ij. The known "
        "result is short; derive it or check yours against it with central differences. "
        "Pairs with zero affinity contribute nothing to the sum (never take log 0).",
        formula="w_ij = 1 / (1 + |y_i - y_j|^2), w_ii = 0, Q = w / sum w; "
        "dY_i = 4 sum_j (P_ij - Q_ij) w_ij (y_i - y_j).",
        docs="docs/11-tsne.md",
        minutes=30,
    )
)
_add(
    Exercise(
        "window_tagger",
        "Collobert & Weston's window tagger: concatenated words, tanh, softmax over tags",
        "loss",
        (references.window_tagger_loss,),
        ("C", "W1", "b1", "W2", "b2"),
        cases.window_tagger,
        task="Return the mean cross-entropy of the tags and the gradients of the table and the "
        "two layers (the window ids and the tags get none).",
        hint="Go back through the four steps in reverse: the softmax, the second layer, the tanh, "
        "the first layer. Then undo the concatenation: the gradient of the long row splits into "
        "one piece per word of the window, and each piece belongs to that word's row of the "
        "table. A word may come twice, so think about what plain indexed assignment does with "
        "repeated indices.",
        formula="ds = (softmax(s) - onehot(tags)) / N; dW2 = a.T @ ds, db2 = ds.sum(0), "
        "da = ds @ W2.T; dz = da (1 - a^2); dW1 = x.T @ dz, db1 = dz.sum(0), dx = dz @ W1.T; "
        "dC = zeros, then np.add.at(dC, windows, dx.reshape(N, W, D)).",
        docs="docs/12-transfer.md",
        minutes=30,
    )
)
_add(
    Exercise(
        "matryoshka",
        "InfoNCE summed over nested prefixes (Matryoshka)",
        "loss",
        (matryoshka.matryoshka_info_nce,),
        ("a", "b"),
        cases.matryoshka,
        task="Return the sum over m in dims of the InfoNCE loss of the first m dimensions of a "
        "and b, and the gradients of a and b.",
        hint="Each prefix is a complete InfoNCE of its own, normalised with the length of the "
        "prefix, not of the whole row: reuse your info_nce exercise on a slice. The slice's "
        "gradient goes back into its own columns, and the prefixes overlap, so the first columns "
        "collect a gradient from every prefix; columns in no prefix get none.",
        formula="loss = sum_m L_m(a[:, :m], b[:, :m]); da = zeros, then for every m: "
        "da[:, :m] += dL_m/da_m (InfoNCE's gradient of the prefix, exercise info_nce), "
        "the same for db. symmetric=False: L_m = mean_i -log softmax_j(S_i.)[i] only.",
        docs="docs/14-matryoshka-quantisation-hybrid.md",
        minutes=25,
        starter_docs={
            "matryoshka_info_nce": """Sum over m in dims of InfoNCE on the first m dimensions.

a, b:        (N, D)  the two sides of N pairs (rows need not have unit length)
dims:        increasing sizes m, each in 1..D
temperature: tau
symmetric:   True: both directions, halved, as in exercise info_nce; False: a -> b only

    for every m in dims:
        u_i = a_i[:m] / |a_i[:m]|,   v_j = b_j[:m] / |b_j[:m]|,   S_ij = u_i . v_j / tau
        L_m = 1/2 [ mean_i -log softmax_j(S_i.)[i] + mean_j -log softmax_i(S_.j)[j] ]
    loss = sum over dims of L_m

Subtract maxima before any exp. Returns (loss, da (N, D), db (N, D)).
"""
        },
    )
)
