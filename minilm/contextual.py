"""Contextual and sentence-level evaluation of a masked-LM transformer: data in, figures out.

Used by scripts/train_transformer.py; every function returns numbers (nothing prints).

    mlm_metrics          masked-token accuracy, the most-frequent-token baseline and the
                         masked-token pseudo-perplexity on one pass of MLM batches
    contextual_means     each token's mean last-layer vector over a stream
    sense_metrics        nearest-sense-centroid accuracy per polysemous word (senses.tsv)
    layer_anisotropy     mean cosine of random token pairs per layer (Ethayarajh 2019)
    read_pairs, recall_at_1   paraphrase retrieval with mean-pooled sentence vectors

The model's tokens may be words or BPE pieces (`Tokens`, minilm/data/sentences.py); word-level
evaluations (senses) average a word's pieces.
"""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path

import numpy as np

from minilm import na
from minilm.data.batchers import MLMBatches
from minilm.data.corpus import Corpus, TokenStream
from minilm.data.sentences import Tokens, iter_padded, pad_sentences
from minilm.data.text import read_lines, tokenize
from minilm.evaluate import anisotropy, retrieval_recall_at_1
from minilm.fast.scatter import scatter_add_rows
from minilm.layers.losses import softmax_cross_entropy
from minilm.layers.mix import scalar_mix_backward, scalar_mix_forward
from minilm.models import contrastive, encoder, masked_lm
from minilm.optim import Adam
from minilm.truth import read_paraphrases

EVAL_BATCH = 256  # sentences per evaluation batch


def mlm_metrics(
    params: dict[str, np.ndarray],
    cfg: encoder.Config,
    stream: TokenStream,
    tokens: Tokens,
    seed: int,
    unigram: int,
) -> dict:
    """Masked-token accuracy, its most-frequent-token baseline, and the pseudo-perplexity.

    One pass of MLM batches over the stream (15% of the tokens masked, seeded).
    `mlm_pseudo_perplexity` = exp(mean -ln P(token | the sentence with that token hidden)):
    exact for the model's distribution, but each gap is predicted from *both* sides, so it is
    not comparable with a left-to-right perplexity (NPLM, SRN, Kneser-Ney).
    """
    batches = MLMBatches(
        stream,
        EVAL_BATCH,
        seed,
        tokens.pad,
        tokens.mask,
        cfg.vocab_size,
        cfg.max_len,
        np.arange(tokens.n_specials),
    )
    correct = baseline = total = 0
    nll = 0.0
    for batch in batches.epoch(0):
        rows = np.flatnonzero(batch["loss_mask"])  # the masked positions, row-major
        target = batch["targets"].reshape(-1)[rows]  # (M,)
        hm, _, _ = encoder.encoder_forward(
            params, cfg, batch["inputs"], batch["pad_mask"], rows=rows
        )
        log_p = masked_lm.log_probs(params, cfg, hm)  # (M, V) the whole distribution
        correct += int((log_p.argmax(axis=1) == target).sum())
        nll -= float(log_p[np.arange(rows.size), target].sum(dtype=np.float64))
        baseline += int((target == unigram).sum())
        total += target.size
    return {
        "mlm_accuracy": correct / total,
        "unigram_accuracy": baseline / total,
        "mlm_pseudo_perplexity": float(np.exp(nll / total)),
        "mlm_eval_positions": total,
    }


def contextual_means(
    params, cfg, stream, tokens, encode=encoder.encode, mix: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Each token's mean last-layer vector over the stream (given `mix` weights, its mean
    learned mix of the layers, `mix_layers`), and its count."""
    V, D = cfg.vocab_size, getattr(cfg, "width", cfg.dim)
    sums, counts = np.zeros((V, D)), np.zeros(V, dtype=np.int64)
    for _, ids, pad_mask in iter_padded(stream, EVAL_BATCH, tokens.pad, cfg.max_len):
        states = encode(params, cfg, ids, pad_mask)
        h = states[-1] if mix is None else mix_layers(np.stack(states), mix)  # (N, T, D)
        valid = ~pad_mask
        sums += scatter_add_rows(ids[valid], h[valid].astype(np.float64), V)
        counts += np.bincount(ids[valid], minlength=V)
    return sums / np.maximum(counts, 1)[:, None], counts


def occurrence_vectors(
    params, cfg, corpus, tokens, split, occurrences, encode=encoder.encode
) -> np.ndarray:
    """All layers' vectors of annotated word occurrences: (n, L+1, D), nan where cut off.

    occurrences: (line 1-based, token index in the space-split line). The word's vector is the
    mean over its tokens (one for word-level). Lines map to sentences as in load_corpus, which
    skips lines without tokens; tokenize drops punctuation, so indices are re-counted.
    """
    wanted = defaultdict(list)
    for k, (ln, i) in enumerate(occurrences):
        wanted[ln].append((k, i))
    sentence, where = -1, {}
    for ln, line in enumerate(read_lines(corpus.paths[split]), start=1):
        words = line.split()
        if tokenize(line):
            sentence += 1
        for k, i in wanted.get(ln, []):
            where[k] = (sentence, len(tokenize(" ".join(words[:i]))))
    words_stream = corpus.splits[split]
    tok_stream, first, per_word = tokens.stream(words_stream)
    k_all = np.array(sorted(where))
    sent = np.array([where[k][0] for k in k_all])
    word_pos = words_stream.offsets[sent] + np.array([where[k][1] for k in k_all])
    start = first[word_pos] - tok_stream.offsets[sent]  # token position inside the sentence
    count = per_word[word_pos]
    width = getattr(cfg, "width", cfg.dim)  # ELMo's vectors are [forward; backward]
    out = np.full((len(occurrences), cfg.n_layers + 1, width), np.nan)
    for b in range(0, k_all.size, EVAL_BATCH):
        sl = slice(b, b + EVAL_BATCH)
        ids, pad_mask = pad_sentences(tok_stream, sent[sl], tokens.pad, cfg.max_len)
        states = np.stack(encode(params, cfg, ids, pad_mask), axis=1)  # (N, L+1, T, D)
        T = ids.shape[1]
        t = np.arange(T)
        span = (t >= start[sl, None]) & (t < (start + count)[sl, None]) & ~pad_mask  # (N, T)
        fits = start[sl] + count[sl] <= T
        mean = np.einsum("nt,nltd->nld", span / np.maximum(span.sum(1, keepdims=True), 1), states)
        out[k_all[sl][fits]] = mean[fits]
    return out


def unit(x: np.ndarray) -> np.ndarray:
    return x / np.maximum(np.linalg.norm(x, axis=-1, keepdims=True), 1e-12)


def sense_candidates(v: np.ndarray, mix: np.ndarray | None = None) -> tuple[list[str], np.ndarray]:
    """Candidate contextual vectors of word occurrences from all layers' states v (n, L+1, D).

    Every single layer, the mean over the layers and, given ELMo's mix weights (L+1,), the
    "learned mix" of the unit-length layers (`mix_layers`). The last layer after the final LayerNorm
    is shaped by the masked-LM head: at an *unmasked* position it is asked only to reproduce the
    token itself (the 10% "keep" case), so the word's identity can crowd out its sense there; a
    middle layer or the mean of layers keeps more of what attention mixed in from the context.
    Which one works best is an empirical question, answered on held-out occurrences.
    """
    names = [f"layer {layer}" for layer in range(v.shape[1])] + ["mean of layers"]
    parts = [v, v.mean(axis=1, keepdims=True)]
    if mix is not None:
        names.append(LEARNED_MIX)
        parts.append(mix_layers(np.moveaxis(v, 1, 0), mix)[:, None])
    return names, np.concatenate(parts, axis=1)  # (n, L+2 or L+3, D)


LEARNED_MIX = "learned mix"


def mix_layers(layers: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """ELMo's scalar mix (minilm/layers/mix.py, gamma = 1) of unit-length layers: layers
    (L+1, ..., E), weights (L+1,) summing to 1 -> (..., E). Each layer is scaled to unit length
    first, so that a layer's share of the mix is its weight, not its norm."""
    out, _ = scalar_mix_forward(unit(layers), np.log(np.maximum(weights, 1e-30)), np.ones(1))
    return out


def mix_loss_and_grads(
    params: dict[str, np.ndarray], batch: dict[str, np.ndarray]
) -> tuple[float, dict[str, np.ndarray]]:
    """The task that learns ELMo's mix here: telling a word's senses apart by its centroids.

    params {"w": (L+1,), "g": (1,)}; batch {"layers": (L+1, n, E) unit-length layers of the
    fitting occurrences, "centroids": (L+1, K, S, E) per-layer sense centroids of K words,
    "word": (n,) word index, "sense": (n,) sense index}.
      (1) mix            x_n = sum_j softmax(w)_j X_jn,  c_ks = sum_j softmax(w)_j C_jks
                         (a mean is linear: c_ks is the centroid of the mixed vectors)
      (2) scores         z_ns = g x_n . c_(k_n) s
      (3) loss           mean softmax cross-entropy of the occurrence's sense
    """
    layers, centroids, word = batch["layers"], batch["centroids"], batch["word"]
    one = np.ones(1, dtype=layers.dtype)
    # (1) mix the occurrences and the centroids with the same weights
    x, x_cache = scalar_mix_forward(layers, params["w"], one)  # (n, E)
    c, c_cache = scalar_mix_forward(centroids, params["w"], one)  # (K, S, E)
    # (2) scores against the occurrence's own word's centroids
    cw = c[word]  # (n, S, E)
    dots = np.einsum("ne,nse->ns", x, cw)  # (n, S)
    # (3) loss
    loss, dz = softmax_cross_entropy(params["g"][0] * dots, batch["sense"])
    # backward (2): z = g dots
    dg = np.array([np.sum(dz * dots)], dtype=layers.dtype)
    ddots = params["g"][0] * dz  # (n, S)
    dx = np.einsum("ns,nse->ne", ddots, cw)  # (n, E)
    dc = np.zeros_like(c)
    np.add.at(dc, word, ddots[:, :, None] * x[:, None, :])  # repeated words add up
    # backward (1): both mixes share w
    _, dw_x, _ = scalar_mix_backward(dx, x_cache)
    _, dw_c, _ = scalar_mix_backward(dc, c_cache)
    return float(loss), {"w": dw_x + dw_c, "g": dg}


def learn_mix(
    v: np.ndarray,
    words: np.ndarray,
    senses: np.ndarray,
    steps: int = 150,
    per_word: int = 300,
    seed: int = 0,
) -> np.ndarray | None:
    """ELMo's mix weights (L+1,) learned on the train occurrences of the polysemous words:
    v (n, L+1, E) their layers, words and senses (n,). Full-batch Adam from the plain average
    (w = 0), the scale g from 1; only the L+2 numbers of the mix are learned. None when the
    words have different numbers of senses."""
    layers = unit(np.moveaxis(np.asarray(v, dtype=np.float64), 1, 0))  # (L+1, n, E)
    names, word = np.unique(words, return_inverse=True)
    sense_names = [sorted(set(senses[words == w])) for w in names]
    if len({len(s) for s in sense_names}) != 1:  # senses.tsv gives every word two
        return None
    sense = np.array([sense_names[k].index(s) for k, s in zip(word, senses, strict=True)])
    S = max(len(s) for s in sense_names)
    centroids = np.zeros((layers.shape[0], len(names), S, layers.shape[2]))
    for k in range(len(names)):
        for i in range(len(sense_names[k])):
            centroids[:, k, i] = layers[:, (word == k) & (sense == i)].mean(axis=1)
    # the centroids from every occurrence; the loss on at most `per_word` of each word (seeded)
    rng = np.random.default_rng(seed)
    some = np.concatenate(
        [rng.permutation(np.flatnonzero(word == k))[:per_word] for k in range(len(names))]
    )
    batch = {"layers": layers[:, some], "centroids": centroids, "word": word[some]}
    batch["sense"] = sense[some]
    params = {"w": np.zeros(layers.shape[0]), "g": np.ones(1)}
    opt = Adam(lr=0.1)
    for _ in range(steps):  # products of (K per_word, E): a fraction of a second
        _, grads = mix_loss_and_grads(params, batch)
        opt.step(params, grads)
    e = np.exp(params["w"] - params["w"].max())
    return e / e.sum()


def centroid_accuracy(v_fit, s_fit, v_eval, s_eval) -> np.ndarray:
    """Nearest-sense-centroid (cosine) accuracy of each candidate: v (n, K, D), s (n,) -> (K,).

    One centroid per sense and candidate, the mean of the fitting occurrences' vectors.
    """
    names = sorted(set(s_fit))
    centroids = np.stack([v_fit[s_fit == s].mean(axis=0) for s in names], axis=1)  # (K, S, D)
    sims = np.einsum("nkd,ksd->nks", unit(v_eval), unit(centroids))  # (n, K, S)
    return (np.array(names)[sims.argmax(axis=2)] == s_eval[:, None]).mean(axis=0)


def sentence_held_out(v_fit, s_fit, t_fit, v_test, s_test, t_test) -> tuple[float, float]:
    """Does a vector carry the sense, or only recall the sentence it was seen in?

    v (n, D) vectors, s (n,) senses, t (n,) sentence texts. Returns (the fraction of test
    occurrences whose sentence also occurs in train, the nearest-centroid accuracy of the test
    occurrences when every train occurrence of the *same sentence* is left out of the
    centroids). A test sentence seen in train puts its own vector into its sense's centroid;
    when the senses' sentences share no sense-bearing words across sentences, that alone can
    decide the nearest centroid, and only the held-out accuracy measures sense.
    """
    seen = float(np.isin(t_test, t_fit).mean()) if len(t_test) else 0.0
    correct = 0
    for sentence in np.unique(t_test):  # a few distinct sentences per word: not a hot path
        fit, here = t_fit != sentence, t_test == sentence
        if len(set(s_fit[fit])) == len(set(s_fit)):  # every sense keeps a centroid
            fit_v, test_v = v_fit[fit][:, None], v_test[here][:, None]  # (n, 1, D)
            hits = centroid_accuracy(fit_v, s_fit[fit], test_v, s_test[here])
            correct += hits[0] * here.sum()
    return seen, float(correct / max(len(t_test), 1))


def _annotated_occurrences(params, cfg, corpus, tokens, senses, encode) -> dict[str, tuple]:
    """{split: (words, senses, vectors (n, L+1, D), sentence texts)} of senses.tsv's rows.

    Occurrences cut off by max_len are skipped.
    """
    occ = {}
    for split in ("train", "valid", "test"):
        rows = [r for r in senses if r[0] == split]
        if split not in corpus.splits or not rows:
            continue
        where = [(r[1], r[2]) for r in rows]
        v = occurrence_vectors(params, cfg, corpus, tokens, split, where, encode)
        ok = ~np.isnan(v[:, 0, 0])
        lines = list(read_lines(corpus.paths[split]))
        columns = ([r[3] for r in rows], [r[4] for r in rows], v, [lines[r[1] - 1] for r in rows])
        occ[split] = tuple(np.array(col)[ok] for col in columns)
    return occ


def sense_metrics(
    params, cfg, corpus, tokens, senses, seed: int, encode=encoder.encode, mix: bool = False
) -> dict:
    """Nearest-sense-centroid accuracy per word; the vector is chosen on held-out occurrences.

    `mix` (ELMo): the vector is the layers' learned mix instead (`learn_mix`, fitted on the
    train occurrences as a downstream task fits ELMo's), reported with its weights
    (`sense_mix_weights`); the other candidates are still scored (`sense_accuracy_by_layer`).

    Centroids come from train occurrences. The representation (a layer or the mean of layers,
    `sense_candidates`) is selected by the worst word's accuracy on the valid occurrences - or,
    without valid ones, on a seeded fifth of the train occurrences held out from the centroids -
    so the test occurrences never influence the choice. Reported: test accuracy of the chosen
    representation (`sense_accuracy`) and of every candidate (`sense_accuracy_by_layer`), the
    same with each test sentence's own train occurrences left out of the centroids
    (`sentence_held_out`), and the self-similarity per word and layer (mean cosine between
    different occurrences).
    """
    occ = _annotated_occurrences(params, cfg, corpus, tokens, senses, encode)
    if "train" not in occ or "test" not in occ:
        return {}
    if mix:
        occ["mix"] = learn_mix(*(occ["train"][i] for i in (2, 0, 1)), seed=seed)
    names, _ = sense_candidates(occ["train"][2][:0], occ.get("mix"))
    words = sorted(set(occ["train"][0]) & set(occ["test"][0]))
    select = "valid" if "valid" in occ else "train"
    held = _held_out_accuracy(occ, words, select, seed)  # (words, K)
    # worst word first, then the mean; ties go to the later candidate (the last layer)
    score = held.min(axis=0) + 1e-3 * held.mean(axis=0) if held.size else np.zeros(len(names))
    choice = len(names) - 1 - int(np.argmax(score[::-1]))
    if occ.get("mix") is not None:
        choice = names.index(LEARNED_MIX)
    acc, by_layer, static, self_sim, seen, unseen = _test_scores(occ, words, choice, cfg.n_layers)
    found = na.measure(
        {},
        "sense_accuracy_min",
        lambda: min(acc.values()) if acc else None,
        "no word of senses.tsv has occurrences in both train and test",
    )
    if occ.get("mix") is not None:
        found["sense_mix_weights"] = occ["mix"].tolist()
    return found | {
        "sense_accuracy": acc,
        "sense_representation": names[choice],
        "sense_test_seen_in_train": seen,
        "sense_accuracy_sentence_held_out": unseen,
        "sense_selection": {
            "split": select,
            "candidates": names,
            "accuracy_min": held.min(axis=0).tolist() if held.size else [],
        },
        "static_sense_accuracy": static,
        "sense_accuracy_by_layer": by_layer,
        "self_similarity": self_sim,
    }


def _word_occurrences(occ: dict, split: str, word: str) -> tuple[np.ndarray, np.ndarray]:
    """The candidate vectors (n, K, D) and senses (n,) of one word's occurrences in a split."""
    w, s, v, _ = occ[split]
    return sense_candidates(v[w == word], occ.get("mix"))[1], s[w == word]


def _held_out_accuracy(occ: dict, words: list[str], select: str, seed: int) -> np.ndarray:
    """(words, K) accuracy of every candidate on the occurrences that choose the representation:
    the valid ones, or else a seeded fifth of the train ones left out of the centroids."""
    held = []
    for word in words:
        v_fit, s_fit = _word_occurrences(occ, "train", word)
        if select == "valid":
            v_sel, s_sel = _word_occurrences(occ, "valid", word)
        else:
            out = np.random.default_rng(seed).random(len(s_fit)) < 0.2  # held-out fifth
            v_fit, s_fit, v_sel, s_sel = v_fit[~out], s_fit[~out], v_fit[out], s_fit[out]
        if len(s_sel):
            held.append(centroid_accuracy(v_fit, s_fit, v_sel, s_sel))
    return np.array(held)


def _test_scores(occ: dict, words: list[str], choice: int, n_layers: int) -> tuple[dict, ...]:
    """Per word, on the test occurrences with centroids from all train occurrences: accuracy of
    the chosen candidate, of every candidate, of one sense for all, self-similarity per layer,
    and the chosen accuracy split by whether the sentence was also seen in train."""
    acc, by_layer, static, self_sim, seen, unseen = {}, {}, {}, {}, {}, {}
    for word in words:
        v_fit, s_fit = _word_occurrences(occ, "train", word)
        v_test, s_test = _word_occurrences(occ, "test", word)
        by_layer[word] = centroid_accuracy(v_fit, s_fit, v_test, s_test).tolist()
        acc[word] = by_layer[word][choice]
        t_fit, t_test = (occ[split][3][occ[split][0] == word] for split in ("train", "test"))
        seen[word], unseen[word] = sentence_held_out(
            v_fit[:, choice], s_fit, t_fit, v_test[:, choice], s_test, t_test
        )
        static[word] = max(float(np.mean(s_test == s)) for s in set(s_test))  # one point
        u = unit(v_test[:, : n_layers + 1])  # (n, L+1, D)
        n = u.shape[0]
        gram = np.einsum("ild,jld->lij", u, u)
        self_sim[word] = ((gram.sum(axis=(1, 2)) - n) / max(1, n * (n - 1))).tolist()
    return acc, by_layer, static, self_sim, seen, unseen


def layer_anisotropy(
    params, cfg, stream, tokens, seed, n_sentences=2000, encode=encoder.encode
) -> dict:
    """Mean cosine of random token pairs in every layer (Ethayarajh 2019)."""
    rng = np.random.default_rng(seed)
    which = rng.choice(stream.n_sentences, min(n_sentences, stream.n_sentences), replace=False)
    ids, pad_mask = pad_sentences(stream, which, tokens.pad, cfg.max_len)
    states = encode(params, cfg, ids, pad_mask)  # any encoder: the transformer, ELMo
    stats = [anisotropy(s[~pad_mask], np.random.default_rng(seed)) for s in states]
    found = {
        "anisotropy": [s["mean_cosine"] for s in stats],
        "anisotropy_centred": [s["mean_cosine_centred"] for s in stats],
    }
    why = next((s[na.WHY_NA]["mean_cosine"] for s in stats if na.WHY_NA in s), None)
    if why:  # a list of None: say why once (minilm/na.py)
        found[na.WHY_NA] = {"anisotropy": why, "anisotropy_centred": why}
    return found


def read_pairs(path: Path, corpus: Corpus, tokens: Tokens) -> dict[str, tuple]:
    """paraphrases.tsv -> {split: (a stream, b stream)} in model tokens."""
    raw = defaultdict(lambda: ([], []))
    for row in read_paraphrases(path):
        for side, text in zip(raw[row.split], (row.a, row.b), strict=True):
            side.append(corpus.vocab.encode(tokenize(text)))
    return {
        split: tuple(tokens.stream(TokenStream.from_sentences(s))[0] for s in sides)
        for split, sides in raw.items()
    }


def recall_at_1(params, cfg, pairs, tokens) -> float:
    """Paraphrase retrieval: how often b_i is the nearest of all b's to a_i (mean-pooled)."""
    a, b = pairs
    n = np.arange(a.n_sentences)

    def vectors(stream):
        ids, pad_mask = pad_sentences(stream, n, tokens.pad, cfg.max_len)
        return contrastive.sentence_vectors(params, cfg, ids, pad_mask)

    return retrieval_recall_at_1(vectors(a), vectors(b))
