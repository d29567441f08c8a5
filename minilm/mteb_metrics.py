"""The scores of the small MTEB (minilm/mteb.py), on arrays: ranking, clustering, a linear probe.

    ndcg_at_k, recall_at_k   retrieval: graded by where the relevant documents land in a ranking
    average_precision        pair classification: how well one score separates yes from no
    kmeans                   Lloyd's algorithm from k-means++ seeds, best of several starts
    v_measure                Rosenberg & Hirschberg 2007: harmonic mean of homogeneity and
                             completeness of a clustering against true classes
    softmax_regression       multinomial logistic regression (a linear probe), full-batch
                             gradient descent; `probe_loss_and_grads` is its loss and gradient
    probe_accuracy           k-fold cross-validated accuracy of that probe

Written here (no scipy, no scikit-learn); docs/13-search-mteb.md shows each equation.
"""

from __future__ import annotations

import numpy as np

from minilm.errors import MinilmError
from minilm.na import NotMeasurable


def ndcg_at_k(ranked: np.ndarray, relevant: list[set[int]], k: int = 10) -> float:
    """Mean over queries of DCG@k / ideal DCG@k with binary relevance.

    DCG@k = sum_{r=1..k} rel_r / log2(r + 1); the ideal puts every relevant document first.
    ranked (Q, >=k) document ids, best first; relevant: per query the set of relevant ids.
    A query with no relevant document is left out; none left: NotMeasurable (the caller
    reports n/a, minilm/na.py).
    """
    relevant, ranked = _some_queries(relevant, ranked)
    discount = 1.0 / np.log2(np.arange(2, k + 2))  # (k,)
    scores = []
    for row, rel in zip(ranked[:, :k], relevant, strict=True):
        gains = np.array([d in rel for d in row], dtype=np.float64)
        ideal = discount[: min(len(rel), k)].sum()
        scores.append(gains @ discount[: gains.size] / ideal)
    return float(np.mean(scores))


def recall_at_k(ranked: np.ndarray, relevant: list[set[int]], k: int = 10) -> float:
    """Mean over queries of |relevant in the top k| / |relevant| (a query with no relevant
    document is left out; none left: NotMeasurable)."""
    relevant, ranked = _some_queries(relevant, ranked)
    return float(
        np.mean(
            [
                len(rel & set(row[:k].tolist())) / len(rel)
                for row, rel in zip(ranked, relevant, strict=True)
            ]
        )
    )


def _some_queries(relevant: list[set[int]], ranked: np.ndarray | None = None):
    """The queries that have a relevant document (and their rankings); none: NotMeasurable."""
    keep = [i for i, rel in enumerate(relevant) if rel]
    if not keep:
        raise NotMeasurable(f"no query with a relevant document (of {len(relevant)} queries)")
    return [relevant[i] for i in keep], (None if ranked is None else np.asarray(ranked)[keep])


def average_precision(scores: np.ndarray, labels: np.ndarray) -> float:
    """Mean of the precision at the rank of each positive, ranking by score (highest first).

    1.0 when every positive outscores every negative; about the positive rate for random scores.
    """
    labels = np.asarray(labels, dtype=bool)
    if not labels.any():
        raise NotMeasurable(f"no positive among {labels.size} pairs: average precision needs one")
    order = np.argsort(-np.asarray(scores), kind="stable")
    hits = labels[order]
    precision = np.cumsum(hits) / np.arange(1, hits.size + 1)
    return float(precision[hits].mean())


def kmeans(
    X: np.ndarray, k: int, rng: np.random.Generator, n_init: int = 3, iters: int = 100
) -> np.ndarray:
    """Cluster of each row of X (N, D): Lloyd's iterations from k-means++ seeds (Arthur &
    Vassilvitskii 2007), keeping the start with the least within-cluster squared distance."""
    X = np.asarray(X, dtype=np.float64)
    N = X.shape[0]
    if not 1 <= k <= N:
        raise MinilmError(f"k-means: need 1 <= k <= {N} points, got k={k}")
    best, best_cost = np.zeros(N, dtype=np.int64), np.inf
    sq = np.sum(X * X, axis=1)
    for _ in range(n_init):
        C = _kmeans_pp(X, sq, k, rng)
        for _ in range(iters):
            d = sq[:, None] - 2 * X @ C.T + np.sum(C * C, axis=1)[None, :]  # (N, k)
            assign = d.argmin(axis=1)
            counts = np.bincount(assign, minlength=k)
            sums = np.zeros_like(C)
            np.add.at(sums, assign, X)
            new = np.where(counts[:, None] > 0, sums / np.maximum(counts, 1)[:, None], C)
            if np.allclose(new, C):
                break
            C = new
        cost = float(np.min(sq[:, None] - 2 * X @ C.T + np.sum(C * C, axis=1)[None, :], 1).sum())
        if cost < best_cost:
            best, best_cost = assign, cost
    return best


def _kmeans_pp(X: np.ndarray, sq: np.ndarray, k: int, rng: np.random.Generator) -> np.ndarray:
    """k seeds: the first uniform, each next drawn with probability ~ squared distance."""
    centres = [X[rng.integers(X.shape[0])]]
    d2 = np.maximum(sq - 2 * X @ centres[0] + centres[0] @ centres[0], 0)
    for _ in range(1, k):
        p = d2 / d2.sum() if d2.sum() > 0 else np.full(d2.size, 1 / d2.size)
        c = X[rng.choice(X.shape[0], p=p)]
        centres.append(c)
        d2 = np.minimum(d2, np.maximum(sq - 2 * X @ c + c @ c, 0))
    return np.array(centres)


def _entropy(counts: np.ndarray) -> float:
    p = counts[counts > 0] / counts.sum()
    return float(-(p * np.log(p)).sum())


def v_measure(labels: np.ndarray, clusters: np.ndarray) -> float:
    """V = 2 h c / (h + c): h = 1 - H(class | cluster) / H(class) (each cluster one class),
    c = 1 - H(cluster | class) / H(cluster) (each class in one cluster). 1: the same partition.
    """
    if len(labels) == 0:
        raise NotMeasurable("no labelled item to cluster")
    _, y = np.unique(labels, return_inverse=True)
    _, z = np.unique(clusters, return_inverse=True)
    table = np.zeros((y.max() + 1, z.max() + 1))
    np.add.at(table, (y, z), 1)
    H_y, H_z = _entropy(table.sum(1)), _entropy(table.sum(0))
    n = table.sum()
    H_y_given_z = sum(table[:, j].sum() / n * _entropy(table[:, j]) for j in range(table.shape[1]))
    H_z_given_y = sum(table[i].sum() / n * _entropy(table[i]) for i in range(table.shape[0]))
    h = 1.0 if H_y == 0 else 1 - H_y_given_z / H_y
    c = 1.0 if H_z == 0 else 1 - H_z_given_y / H_z
    return 0.0 if h + c == 0 else float(2 * h * c / (h + c))


def probe_loss_and_grads(
    params: dict[str, np.ndarray], batch: dict[str, np.ndarray], l2: float = 1e-3
) -> tuple[float, dict[str, np.ndarray]]:
    """Softmax regression: loss = mean_n -ln softmax(x_n W + b)[y_n] + l2/2 |W|^2.

    params {"W" (D, C), "b" (C,)}; batch {"x" (N, D), "y" (N,) int}.
    """
    x, y = batch["x"], batch["y"]
    N = x.shape[0]
    # (1) scores                         s = x W + b                       (N, C)
    s = x @ params["W"] + params["b"]
    # (2) softmax cross-entropy, max subtracted so exp cannot overflow
    z = s - s.max(axis=1, keepdims=True)
    log_p = z - np.log(np.exp(z).sum(axis=1, keepdims=True))
    loss = -log_p[np.arange(N), y].mean() + 0.5 * l2 * np.sum(params["W"] ** 2)
    # backward (2): ds = (softmax - onehot) / N
    ds = np.exp(log_p)
    ds[np.arange(N), y] -= 1
    ds /= N
    # backward (1)
    return float(loss), {"W": x.T @ ds + l2 * params["W"], "b": ds.sum(axis=0)}


def softmax_regression(
    x: np.ndarray, y: np.ndarray, n_classes: int, l2: float = 1e-3, steps: int = 100
) -> dict[str, np.ndarray]:
    """Fit the probe by gradient descent with step 1/L, L the loss's curvature bound
    (|X|^2_2 / (2N) + l2: softmax's Hessian is at most 1/2 of the identity per example)."""
    N, D = x.shape
    L = np.linalg.eigvalsh(x.T @ x)[-1] / (2 * N) + l2 + 1e-12  # |X|_2^2: a (D, D) problem
    params = {"W": np.zeros((D, n_classes)), "b": np.zeros(n_classes)}
    batch = {"x": x, "y": y}
    for _ in range(steps):
        _, grads = probe_loss_and_grads(params, batch, l2)
        for name in params:
            params[name] -= grads[name] / L
    return params


def probe_accuracy(
    X: np.ndarray, labels: np.ndarray, rng: np.random.Generator, folds: int = 5
) -> float:
    """k-fold cross-validated accuracy of the linear probe; features standardised on each
    training fold (so the step size and the l2 penalty mean the same for every model)."""
    classes, y = np.unique(labels, return_inverse=True)
    if len(y) < folds or len(classes) < 2:
        raise NotMeasurable(
            f"{len(y)} items of {len(classes)} classes: a {folds}-fold probe needs {folds} items "
            "and 2 classes"
        )
    X = np.asarray(X, dtype=np.float64)
    order = rng.permutation(len(y))
    correct = 0
    for f in range(folds):
        test = order[f::folds]
        train = np.setdiff1d(order, test)
        mu, sd = X[train].mean(0), X[train].std(0) + 1e-8
        params = softmax_regression((X[train] - mu) / sd, y[train], len(classes))
        pred = (((X[test] - mu) / sd) @ params["W"] + params["b"]).argmax(axis=1)
        correct += int(np.sum(pred == y[test]))
    return correct / len(y)
