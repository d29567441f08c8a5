"""Fast word2vec: the batched negative-sampling loss of minilm/models/skipgram.py, restructured.

`loss_and_grads` here returns what `minilm.models.skipgram.loss_and_grads` (the reference, read
that first) returns, for the same batch, with sparse gradients - tested equal in
tests/test_word2vec_fast.py. What makes it fast:

- Distinct words. A batch of 1024 skip-gram pairs holds ~450 distinct context words: their
  input vectors (and their n-gram sums, with subwords) are gathered and summed once each
  (`distinct`, ~3x faster than np.unique when the vocabulary is small next to the batch).
- CBOW reads text, not windows. A CBOW batch is a stretch of text; the N windows are strided
  views of its N + 2W vectors (`windowed_sum`), so each word's vector is read once however many
  windows hold it, and the gradient goes back through the transposed view
  (`windowed_sum_backward`) - no gather of N * (2W + 1) rows.
- Shared noise words. With batch["negatives"] (G, S) and batch["noise_weight"] = K / S, the
  rows of H (skip-gram: the distinct context words; CBOW: the examples) are cut into G
  consecutive groups and group g's rows all score the S noise words negatives[g], weighted K/S
  each: one matrix product per group instead of a gather and scatter of N * K rows of W_out.
  Same expected loss and gradient as K noise words per pair (the reference computes it by
  giving each pair its group's S words at weight K/S). BlazingText (Gupta & Khare 2017) shares
  noise words in a minibatch on GPUs the same way. Faster, but big groups learn other
  vectors: on real English (benchmarks/bench_real_text.py, examples in the text's order)
  skip-gram's top-10 neighbours agree with gensim's 0.42 / 0.29 / 0.22 of the time
  (frequency bands 0-1k / 2-3k / 8-9k) when a batch of 1024 shares S = 32, 0.55 / 0.43 /
  0.29 in groups of 64, 0.58 / 0.47 / 0.30 in groups of 24 (the training script's default,
  ~1.7x faster than K per pair), 0.60 / 0.47 / 0.31 in groups of 16 and 0.58 / 0.46 / 0.27 with
  K per pair - gensim's own seed-to-seed agreement being 0.60 / 0.48 / 0.28. CBOW, whose rows
  are its examples, shares noise words the same way: 0.53 / 0.28 / 0.12 in groups of 24
  (gensim: 0.55 / 0.29 / 0.13).
- One exp for softplus and sigmoid; rows added with fast.scatter.add_rows_at (flat np.add.at).

Shapes as in minilm/models/skipgram.py: N examples, K noise words, D dimension, U distinct
context words, C = 2W + 1 window slots, G groups of S shared noise words.
"""

from __future__ import annotations

import numpy as np

from minilm.errors import MinilmError
from minilm.fast.scatter import add_rows_at, sum_rows
from minilm.layers.hsoftmax import hsoftmax_forward


def _word_vectors(params: dict, batch: dict) -> tuple[np.ndarray, np.ndarray, tuple]:
    """The input vectors of the distinct words in batch["context"], computed once each.

    -> (E (U, D), where (context.shape,), cache) with the context's vectors = E[where]: a batch
    holds far fewer distinct words than positions (~450 in 1024 pairs on the world corpus).
    Plain word2vec: E = W_in[words]. Subwords (fastText): E = W_in[words] + Σ_g mask_g Z[g]
    over each word's padded n-gram buckets, so the (U, G, D) work does not grow with repeats.
    """
    ids = batch["context"]
    if "W_ngram" not in params and "context_mask" in batch:  # CBOW: a row per position
        return np.take(params["W_in"], ids, axis=0), None, (ids, None, None)
    words, where = distinct(ids, len(params["W_in"]))  # (U,), ids.shape
    if "W_ngram" not in params:
        return np.take(params["W_in"], words, axis=0), where, (words, None, None)
    G = batch["ngrams"].shape[-1]
    some = np.empty(words.size, dtype=np.int64)  # a position of each word (all have its n-grams)
    some[where.reshape(-1)] = np.arange(ids.size)
    ngrams = batch["ngrams"].reshape(-1, G)[some]  # (U, G): the n-grams of each distinct word
    gmask = batch["ngram_mask"].reshape(-1, G)[some]  # (U, G)
    # a padded slot points at some bucket and is zeroed by the mask, keeping one gather
    z = params["W_ngram"][ngrams] * gmask[..., None].astype(params["W_in"].dtype)  # (U, G, D)
    return params["W_in"][words] + z.sum(axis=1), where, (words, ngrams, gmask)


def _word_vectors_backward(dE: np.ndarray, cache: tuple, repeated_rows: bool) -> dict:
    """dE (U, D) of the distinct words -> sparse grads: W_in's row of each word gets its dE,
    and so does each of the word's n-gram rows in Z (summed over the words sharing a bucket,
    or with `repeated_rows` once per word)."""
    words, ngrams, gmask = cache
    dz = np.broadcast_to(dE[:, None, :], ngrams.shape + dE.shape[1:])  # (U, G, D)
    if repeated_rows:
        return {"W_in": (words, dE), "W_ngram": (ngrams[gmask], dz[gmask])}
    return {"W_in": (words, dE), "W_ngram": sum_rows(ngrams[gmask], dz[gmask])}


def distinct(ids: np.ndarray, size: int) -> tuple[np.ndarray, np.ndarray]:
    """np.unique(ids, return_inverse=True) for ids in [0, size): (words (U,) sorted, where).

    words[where] == ids. Marking the ids in a table of `size` flags is ~3x faster than sorting
    them when the vocabulary is small next to the batch, as in word2vec; else np.unique.
    """
    if size > 64 * ids.size:
        words, where = np.unique(ids, return_inverse=True)
        return words, where.reshape(ids.shape)
    seen = np.zeros(size, dtype=bool)
    seen[ids] = True
    return np.flatnonzero(seen), (np.cumsum(seen) - 1)[ids]


def softplus_and_sigmoid(z: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """softplus(z) = log(1 + e^z) and its derivative σ(z), sharing one exp.

    With e = exp(-|z|) <= 1 nothing overflows: softplus(z) = max(z, 0) + log1p(e), and
    σ(z) = exp(min(z, 0)) / (1 + e), which is 1 / (1 + e) for z >= 0 and e / (1 + e) for
    z < 0 without a branch (np.where over random signs is several times slower).
    """
    e = np.exp(-np.abs(z))
    softplus = np.maximum(z, 0)
    softplus += np.log1p(e)
    sig = np.exp(np.minimum(z, 0))
    sig /= 1 + e
    return softplus, sig


def windowed_sum(x: np.ndarray, weight: np.ndarray) -> np.ndarray:
    """y[n] = Σ_k weight[n, k] x[n + k]: a weighted sum over each window of C rows of x.

    x (N + C - 1, D), weight (N, C) -> y (N, D). Window n is x[n : n + C]; all N windows are
    one strided view of x (row n of the view starts where row n of x does, so windows share
    memory and nothing is copied), and y is one batched (1, C) @ (C, D) product per row - no
    gather of N * C rows.
    """
    N, C = weight.shape
    x = np.ascontiguousarray(x)
    windows = _view(x, (N, C, x.shape[1]), (x.strides[0], *x.strides))  # (N, C, D)
    return np.matmul(weight[:, None, :], windows)[:, 0]  # (N, D)


def _view(x: np.ndarray, shape: tuple, strides: tuple, offset: int = 0) -> np.ndarray:
    """A strided view of contiguous x's memory (the first element `offset` items in), for
    internal reads: as_strided does the same at ~10x the cost (3 us), a cost that CBOW pays
    three times a step."""
    return np.ndarray(shape, x.dtype, x, offset * x.itemsize, strides)


def windowed_sum_backward(dy: np.ndarray, weight: np.ndarray) -> np.ndarray:
    """The gradient of windowed_sum with respect to x: dx[p] = Σ_k weight[p - k, k] dy[p - k].

    dy (N, D), weight (N, C) -> dx (N + C - 1, D). Row p of x lies in the windows n = p - C + 1
    .. p, so dx is itself a windowed sum: over dy padded with C - 1 zero rows on either side,
    window p holds dy[p - C + 1 + j] (j = 0..C-1), the window of example n = p - C + 1 + j, in
    which p is slot k = C - 1 - j. Its weights weight_t[p, j] = weight[n, k] run along the
    anti-diagonals of the padded weights: again a strided view, one row down and one column
    left per step in j.
    """
    (N, C), pad = weight.shape, weight.shape[1] - 1
    dy_pad = np.zeros((N + 2 * pad, dy.shape[1]), dtype=dy.dtype)  # (N + 2C - 2, D)
    dy_pad[pad : pad + N] = dy
    weight_pad = np.zeros((N + 2 * pad, C), dtype=dy.dtype)
    weight_pad[pad : pad + N] = weight
    size = weight_pad.itemsize  # weight_t[p, j] = weight_pad[p + j, pad - j]:
    weight_t = _view(weight_pad, (N + pad, C), (C * size, (C - 1) * size), offset=pad)
    return windowed_sum(dy_pad, weight_t)


def loss_and_grads(
    params: dict[str, np.ndarray],
    batch: dict[str, np.ndarray],
    cbow_update: str = "exact",
    repeated_rows: bool = False,
):
    """minilm.models.skipgram.loss_and_grads, fast: the same loss, gradients sparse.

    Returns (loss, grads) with grads[name] = (row_ids, row_grads), unique ids, repeated ids
    summed, so the optimiser touches only the rows a batch used (as word2vec.c does). With
    `repeated_rows=True` the ids may repeat (rows of the same word not summed: for
    minilm.optim.ScatterSGD(repeated_rows=True), which adds each row into the table).
    Forward, as in the reference, but:
      (1) E (U, D): the input vectors of the U distinct context words, once each (CBOW
          without subwords: of every position of the stretch, which holds few repeats)
      (2) H (R, D) with h_n = H[row_n]: skip-gram H = E (R = U); CBOW h = windowed_sum over
          the stretch's vectors, one row per example (R = N)
      (3) scores: per pair (negatives (N, K)): s = W_out[[centre, noise]] . h (N, K+1);
          shared (negatives (G, S), "noise_weight" K/S): the noise scores are one matrix
          product per group of rows of H, T_g = H_g U_g^T, each weighted K/S times the
          number of pairs using that row (a pair whose centre was drawn skips that term)
      (4) L = Σ softplus(-s_centre) + Σ weight softplus(s_noise)
      (3') with params["W_node"]: the hierarchical softmax of the reference, its dh summed
           into dH; W_node's gradient sparse as minilm/layers/hsoftmax.py returns it
    and the backward mirrors it with add_rows_at for every scatter. The backward keeps two
    parts of dL/dH apart: dH (R, D) per row of H and dh (N, D) per example (h_n = H[row_n]),
    so that skip-gram's per-pair part goes to the context words' rows in one scatter.
    """
    if cbow_update not in ("exact", "word2vec"):
        raise MinilmError(f"cbow_update must be 'exact' or 'word2vec', got {cbow_update!r}")
    N, cbow = batch["center"].size, "context_mask" in batch

    # (1) input vectors of the distinct context words, E (U, D); position i has E[where[i]]
    # (where None: E has a row per position)
    E, where, embed_cache = _word_vectors(params, batch)
    # (2) hidden vectors, kept as H (R, D) with h_n = H[row_n]. Skip-gram: h is the context
    # word's vector, so H = E and the R distinct context words are all there is to score.
    # CBOW: every example has its own h, the mean of its window (row = n).
    if cbow:
        mask = batch["context_mask"]  # (N, C), C = 2W + 1
        _check_stretch(batch["context"], mask, N)
        count = mask.sum(axis=1)  # (N,)
        if not count.all():
            raise MinilmError("a CBOW example has no valid context word; drop such examples")
        weight = mask / count[:, None].astype(E.dtype)  # (N, C): 1/|C| in the window, else 0
        H = windowed_sum(E if where is None else E[where], weight)  # (N, D)
        row = h = None  # row_n = n, h = H
    else:
        H, row = E, where  # (U, D), (N,)
        h = np.take(H, row, axis=0)  # (N, D)

    loss, dH, dh, grads = 0.0, None, None, {}  # dH (R, D) per row, dh (N, D) per example
    if "W_out" in params:  # (3)-(4) negative sampling, and its backward
        loss, dH, dh, out = _negative_sampling(params["W_out"], batch, H, row, H if cbow else h)
        grads["W_out"] = _row_grads(*out, len(params["W_out"]), repeated_rows)
    if "W_node" in params:  # (3') hierarchical softmax, as the reference (the layer is vectorised)
        hs_loss, cache = hsoftmax_forward(
            H if cbow else h,
            params["W_node"],
            batch["hs_points"],
            batch["hs_codes"],
            batch["hs_lengths"],
        )
        dh_hs, grads["W_node"] = _hsoftmax_backward(cache)  # sparse (node_ids, rows)
        loss += hs_loss
        dh = dh_hs if dh is None else dh + dh_hs
    if cbow:  # row = n: both parts are per example
        dH = dh if dH is None else dH + dh
        # backward (2): h = Σ_k weight_k e_k -> de_k = weight_k dh (word2vec.c: de_k = dh)
        slot_weight = mask.astype(H.dtype) if cbow_update == "word2vec" else weight  # (N, C)
        dx = windowed_sum_backward(dH, slot_weight)  # (N + 2W, D) per position
        if where is None:
            grads["W_in"] = _row_grads(batch["context"], dx, len(params["W_in"]), repeated_rows)
            return loss, grads
        dE = np.zeros_like(E)
        add_rows_at(dE, where, dx)
    elif "W_ngram" not in params:  # skip-gram: dE = dH and dh to the context word's row
        ids, rows = batch["context"], dh
        if dH is not None:
            ids, rows = np.concatenate([embed_cache[0], ids]), np.concatenate([dH, rows])
        grads["W_in"] = _row_grads(ids, rows, len(params["W_in"]), repeated_rows)
        return loss, grads
    else:
        dE = np.zeros_like(H) if dH is None else dH
        add_rows_at(dE, row, dh)
    # backward (1): each word's rows of W_in (and Z) get its dE
    grads.update(_word_vectors_backward(dE, embed_cache, repeated_rows))
    return loss, grads


def _row_grads(
    ids: np.ndarray, rows: np.ndarray, size: int, repeated_rows: bool
) -> tuple[np.ndarray, np.ndarray]:
    """A sparse gradient from rows whose ids may repeat: as they are (`repeated_rows`), or
    summed per id into (distinct ids (R,), sums (R, D))."""
    if repeated_rows:
        return ids, rows
    out_ids, slot = distinct(ids, size)
    summed = np.zeros((out_ids.size, rows.shape[1]), dtype=rows.dtype)
    add_rows_at(summed, slot, rows)
    return out_ids, summed


def _hsoftmax_backward(cache: tuple) -> tuple[np.ndarray, tuple[np.ndarray, np.ndarray]]:
    """minilm.layers.hsoftmax.hsoftmax_backward (dloss = 1) with fast.scatter's row sums, ~10x
    faster on skip-gram batches: every path starts at the root, so node ids repeat heavily."""
    h, U, points, ds, mask = cache  # as hsoftmax_forward caches them
    dh = np.matmul(ds[:, None, :], U)[:, 0, :]  # (N, D)
    n, j = np.nonzero(mask)  # (M,) the real path entries
    return dh, sum_rows(points[n, j], ds[n, j, None] * h[n])  # (R,), (R, D)


def _negative_sampling(
    W_out: np.ndarray, batch: dict, H: np.ndarray, row: np.ndarray | None, h: np.ndarray
) -> tuple[float, np.ndarray | None, np.ndarray, tuple[np.ndarray, np.ndarray]]:
    """Steps (3)-(4) of `loss_and_grads` and their backward: (loss, dH (R, D) or None, dh
    (N, D), W_out's gradient as rows of repeated ids (out_ids (M,), rows (M, D)))."""
    center, negatives = batch["center"], batch["negatives"]
    N, D = center.size, H.shape[1]
    shared = "noise_weight" in batch
    if not shared:  # (3) per pair: U = W_out[[centre, negatives]], s = U · h
        out_ids = np.concatenate([center[:, None], negatives], axis=1)  # (N, K+1)
        U = np.take(W_out, out_ids.reshape(-1), axis=0).reshape(N, -1, D)  # (N, K+1, D)
        s = np.matmul(U, h[:, :, None])[:, :, 0]  # (N, K+1), N small matrix-vector products
        s_centre, s_noise = s[:, 0], s[:, 1:]
        noise_weight = (negatives != center[:, None]).astype(s.dtype)  # (N, K), 0 = skipped
    else:  # (3) shared: the centre's score per pair, the noise scores once per row of H
        negatives = np.atleast_2d(negatives)  # (G, S)
        G, S = negatives.shape
        size = -(-len(H) // G)  # rows of H per group; the last group is padded with zeros
        u = np.take(W_out, center, axis=0)  # (N, D)
        U = np.take(W_out, negatives.reshape(-1), axis=0).reshape(G, S, D)
        s_centre = np.einsum("nd,nd->n", u, h)  # (N,)
        H_groups = H
        if G * size > len(H):
            H_groups = np.zeros((G * size, D), dtype=H.dtype)
            H_groups[: len(H)] = H
        H_groups = H_groups.reshape(G, size, D)
        s_noise = H_groups @ U.transpose(0, 2, 1)  # (G, size, S)
        uses, skipped = _shared_noise_uses(
            np.arange(N) if row is None else row, center, negatives, size, len(W_out)
        )
    # (4) logistic loss: label 1 for the centre (-log σ(s) = softplus(-s)), 0 for noise
    # (-log(1 - σ(s)) = softplus(s)), noise terms weighted; one pass over all the scores
    z = np.concatenate([-s_centre, s_noise.reshape(-1)])  # (N + noise scores,)
    softplus, sig = softplus_and_sigmoid(z)  # σ(-s) = 1 - σ(s) for the centre
    loss_noise, sig_noise = softplus[N:].reshape(s_noise.shape), sig[N:].reshape(s_noise.shape)
    loss = float(softplus[:N].sum(dtype=np.float64))
    # backward (4): dL/ds = -σ(-s) for the centre, weight σ(s) for noise
    ds_centre = -sig[:N]  # (N,)
    if not shared:
        loss += float((noise_weight * loss_noise).sum(dtype=np.float64))
        ds_noise = noise_weight * sig_noise  # (N, K)
    else:  # score (r, k) weighs w uses[r], less w for each pair that skips it
        w = batch["noise_weight"]
        loss_noise, sig_noise = loss_noise.reshape(-1, S), sig_noise.reshape(-1, S)
        loss += w * float(uses @ loss_noise.sum(axis=1, dtype=np.float64))
        loss -= w * float(loss_noise[skipped].sum(dtype=np.float64))
        w = np.asarray(w, dtype=H.dtype)
        ds_noise = sig_noise * (w * uses.astype(H.dtype))[:, None]  # (G * size, S)
        np.subtract.at(ds_noise, skipped, w * sig_noise[skipped])  # exactly 0 if all skip it
        ds_noise = ds_noise.reshape(G, size, S)

    # backward (3): dh = Σ ds U per example (dH per row of H for the shared noise), dU = ds h
    # per W_out row (rows repeat)
    if not shared:
        ds = np.concatenate([ds_centre[:, None], ds_noise], axis=1)  # (N, K+1)
        dh = np.matmul(ds[:, None, :], U)[:, 0, :]  # (N, D)
        dU = (ds[:, :, None] * h[:, None, :]).reshape(-1, D)  # (N * (K+1), D)
        return loss, None, dh, (out_ids.reshape(-1), dU)
    dH = (ds_noise @ U).reshape(-1, D)[: len(H)]  # (R, D)
    dh = ds_centre[:, None] * u  # (N, D)
    out_ids = np.concatenate([center, negatives.reshape(-1)])  # (N + G S,)
    dU = np.empty((out_ids.size, D), dtype=H.dtype)  # the centres' rows, then the noise words'
    np.multiply(ds_centre[:, None], h, out=dU[:N])
    np.matmul(ds_noise.transpose(0, 2, 1), H_groups, out=dU[N:].reshape(G, S, D))
    return loss, dH, dh, (out_ids, dU)


def _check_stretch(context: np.ndarray, mask: np.ndarray, N: int) -> None:
    C = mask.shape[1]
    if context.ndim != 1 or C % 2 == 0 or context.size != N + C - 1:
        raise MinilmError(
            f"a CBOW batch is a stretch of text: context (N + 2W,) and context_mask (N, 2W+1); "
            f"got context {context.shape}, context_mask {mask.shape}, {N} centres"
        )


def _shared_noise_uses(
    row: np.ndarray, center: np.ndarray, negatives: np.ndarray, size: int, V: int
) -> tuple[np.ndarray, tuple[np.ndarray, np.ndarray]]:
    """How often each noise score counts, in units of K/S: (uses (G * size,), skipped).

    Row r of H is used by uses[r] pairs (those with row_n = r) and belongs to group r // size;
    score (r, k) counts uses[r] times, less once for each pair of row r whose centre is its
    group's k-th noise word (word2vec.c skips a noise word equal to the centre): the
    `skipped` cells (rows (m,), slots (m,)), repeated if several pairs skip the same cell.
    """
    S = negatives.shape[1]
    uses = np.bincount(row, minlength=negatives.shape[0] * size)  # (G * size,) CBOW: 1 each
    # the few (pair n, slot k) whose centre is its group's k-th noise word, among the pairs
    # whose centre is drawn in some group
    drawn = np.zeros(V, dtype=bool)
    drawn[negatives] = True
    some = np.flatnonzero(drawn[center])  # (n,)
    same = np.take(negatives, row[some] // size, axis=0) == center[some, None]  # (n, S)
    cell = np.flatnonzero(same)  # one flat index: ~10x cheaper than np.nonzero's two
    return uses, (row[some[cell // S]], cell % S)
