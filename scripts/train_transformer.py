"""Train a tiny transformer encoder as a masked LM; measure its contextual and sentence vectors.

    python scripts/train_transformer.py --out runs/transformer                # world corpus
    python scripts/train_transformer.py --out runs/tf-bpe --tokenizer bpe --bpe-merges 400
    python scripts/train_transformer.py --out runs/tf-sbert --contrastive     # + Sentence-BERT

Writes into --out (DESIGN.md): vectors.txt/.bin (the static token embeddings E), projector/,
model.npz (the masked-LM model), metrics.json, loss.png, and contextual_vectors.txt (each
token's mean last-layer vector over the training text). With --contrastive also
sentence_model.npz (the parameters after contrastive tuning).

metrics.json: mlm_accuracy and unigram_accuracy (test masked positions), sense_accuracy per
polysemous word (nearest sense centroid; the layer, or mean of layers, is chosen on the valid
occurrences: sense_representation; static_sense_accuracy is what one point per word can do),
sense_accuracy_by_layer; sense_test_seen_in_train and sense_accuracy_sentence_held_out tell
recalling a sentence seen in training from recognising a sense (`sentence_held_out`),
anisotropy (mean cosine of random token pairs, embeddings to last layer), self_similarity per
word and layer, retrieval_recall_at_1 {before, after}, category_purity (static and
contextual), train_cpu_seconds (CPU time of the masked-LM training, all threads), and the usual
train_seconds, tokens_per_second, ...
"""

from __future__ import annotations

import argparse
import functools
import time
from collections import defaultdict
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from minilm.data.batchers import MLMBatches
from minilm.data.bpe import BPE
from minilm.data.corpus import Corpus, TokenStream, load_corpus
from minilm.data.text import read_lines, tokenize
from minilm.errors import ArgumentParser, MinilmError, run_cli, seed_arg
from minilm.evaluate import anisotropy, category_purity
from minilm.io import ensure_dir, save_npz
from minilm.layers.core import scatter_add_rows
from minilm.models import transformer as tf
from minilm.optim import AdamW
from minilm.runs import write_run
from minilm.threads import add_threads_arg, apply_threads
from minilm.train import TrainConfig, train
from minilm.vectors import KeyedVectors

SPECIALS = ("<unk>", "<pad>", "<mask>")
PROBES = ("king", "dog", "bread", "red", "bank", "bat")
EVAL_BATCH = 256


def parse_args() -> argparse.Namespace:
    ap = ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--corpus", help="file, or folder with train/valid/test.txt (default: world)")
    ap.add_argument("--out", required=True, help="output folder")
    ap.add_argument("--seed", type=seed_arg, default=0)
    # 6, not 3: the masked-LM loss is still falling after 3 passes (mlm_accuracy 0.65 -> 0.70).
    # D=128, F=512, not 64/256: on the world corpus, whose test polysemy sentences are never seen
    # in train, D=64 gives sense_accuracy >= 0.96 per word for seeds 0 and 1 but 0.83 (plant)
    # for seed 2, also with 10 epochs; D=128 gives >= 0.96 for seeds 0, 1, 2 and mlm_accuracy
    # 0.73-0.74. ~135 s of training on 2 cores (D=64: ~70 s).
    ap.add_argument("--epochs", type=int, default=6, help="masked-LM passes over train")
    ap.add_argument("--dim", type=int, default=128, help="D: model width")
    ap.add_argument("--layers", type=int, default=2, help="L: transformer blocks")
    ap.add_argument("--heads", type=int, default=4, help="h: attention heads (divides --dim)")
    ap.add_argument("--ffn", type=int, default=512, help="F: feed-forward width")
    ap.add_argument("--max-len", type=int, default=32, help="longest sequence (tokens)")
    ap.add_argument("--dropout", type=float, default=0.1)
    ap.add_argument("--positions", choices=tf.POSITIONS, default="learned")
    ap.add_argument("--tokenizer", choices=("word", "bpe"), default="word")
    ap.add_argument("--bpe-merges", type=int, default=400, help="BPE merges to learn")
    ap.add_argument("--batch-size", type=int, default=128, help="sentences per batch")
    ap.add_argument("--lr", type=float, default=2e-3, help="peak AdamW learning rate")
    ap.add_argument("--warmup", type=int, default=200, help="warmup steps before the cosine decay")
    ap.add_argument("--weight-decay", type=float, default=0.01)
    ap.add_argument("--clip", type=float, default=1.0, help="max global gradient norm (0 = off)")
    ap.add_argument("--min-count", type=int, default=1, help="rarer words become <unk>")
    ap.add_argument("--contrastive", action="store_true", help="then tune on paraphrase pairs")
    ap.add_argument("--contrastive-epochs", type=int, default=3)
    ap.add_argument("--contrastive-lr", type=float, default=3e-4)
    ap.add_argument("--contrastive-batch-size", type=int, default=64, help="pairs per batch")
    ap.add_argument("--temperature", type=float, default=0.05, help="InfoNCE temperature")
    ap.add_argument("--one-directional", action="store_true", help="InfoNCE a->b only")
    ap.add_argument("--checkpoint-every", type=int, default=0, help="steps (0 = end only)")
    ap.add_argument("--resume", action="store_true", help="continue from OUT/checkpoint.npz")
    add_threads_arg(ap, default=2)
    args = ap.parse_args()
    for name in ("epochs", "dim", "layers", "heads", "ffn", "max_len", "batch_size", "min_count",
                 "bpe_merges", "contrastive_epochs", "contrastive_batch_size"):  # fmt: skip
        if getattr(args, name) < 1:
            flag = "--" + name.replace("_", "-")
            raise MinilmError(f"{flag} must be >= 1, got {getattr(args, name)}")
    for name in ("lr", "contrastive_lr", "temperature"):
        if not getattr(args, name) > 0:
            raise MinilmError(f"--{name.replace('_', '-')} must be > 0, got {getattr(args, name)}")
    if args.warmup < 0 or args.weight_decay < 0 or args.clip < 0:
        raise MinilmError("--warmup, --weight-decay and --clip must be >= 0")
    return args


# ---------------------------------------------------------------------------------------------
# Tokens: words (the default) or BPE pieces. Everything downstream sees model-token streams and a
# word -> tokens table, so word-level evaluations (senses) work with either.
# ---------------------------------------------------------------------------------------------


@dataclass
class Tokens:
    """Model tokens and how each word id of the corpus vocabulary maps to them.

    Word w becomes tokens ids[offsets[w]:offsets[w + 1]] (one token for word-level).
    """

    names: list[str]  # token id -> display string (vectors.txt rows)
    ids: np.ndarray  # flat token ids of every word
    offsets: np.ndarray  # (V_words + 1,)
    pad: int
    mask: int
    n_specials: int  # ids < n_specials are never real text (not a random MLM replacement)

    def stream(self, words: TokenStream) -> tuple[TokenStream, np.ndarray, np.ndarray]:
        """Word stream -> (token stream, first token position of each word, tokens per word)."""
        per_word = np.diff(self.offsets)[words.ids]  # (n_words,)
        ends = np.cumsum(per_word)
        first = ends - per_word  # position of each word's first token in the token stream
        inside = np.arange(int(ends[-1]) if ends.size else 0) - np.repeat(first, per_word)
        ids = self.ids[np.repeat(self.offsets[words.ids], per_word) + inside]
        offsets = np.concatenate([[0], ends])[words.offsets]
        return TokenStream(ids, offsets), first, per_word


def word_tokens(corpus: Corpus) -> Tokens:
    V = len(corpus.vocab)
    vocab = corpus.vocab
    return Tokens(vocab.itos, np.arange(V), np.arange(V + 1), vocab.pad, vocab.mask, len(SPECIALS))


def bpe_tokens(corpus: Corpus, merges: int) -> tuple[Tokens, BPE]:
    """BPE learned on the training words; token ids: <pad>, <mask>, then the BPE pieces."""
    vocab = corpus.vocab
    words = {w: int(c) for w, c in zip(vocab.itos, vocab.counts, strict=True) if w not in SPECIALS}
    bpe = BPE.learn(words, merges)
    shift = 2
    pieces = [[0] if w in SPECIALS else bpe.encode_word(w) for w in vocab.itos]  # specials: <unk>
    ids = np.array([p + shift for word in pieces for p in word], dtype=np.int64)
    offsets = np.concatenate([[0], np.cumsum([len(p) for p in pieces])])
    names = ["<pad>", "<mask>"] + bpe.pieces
    return Tokens(names, ids, offsets, pad=0, mask=1, n_specials=shift + 2), bpe


# ---------------------------------------------------------------------------------------------
# Evaluation
# ---------------------------------------------------------------------------------------------


def mlm_accuracy(params, cfg, stream, tokens, seed, unigram) -> dict:
    """Masked-token accuracy on one pass of MLM batches, and the most-frequent-token baseline."""
    batches = MLMBatches(stream, EVAL_BATCH, seed, tokens.pad, tokens.mask, cfg.vocab_size,
                         cfg.max_len, np.arange(tokens.n_specials))  # fmt: skip
    correct = baseline = total = 0
    for batch in batches.epoch(0):
        target = batch["targets"][batch["loss_mask"]]
        correct += int((tf.mlm_predictions(params, cfg, batch) == target).sum())
        baseline += int((target == unigram).sum())
        total += target.size
    return {"mlm_accuracy": correct / total, "unigram_accuracy": baseline / total,
            "mlm_eval_positions": total}  # fmt: skip


def contextual_means(params, cfg, stream, tokens) -> tuple[np.ndarray, np.ndarray]:
    """Each token's mean last-layer vector over the stream, and its count."""
    V, D = cfg.vocab_size, cfg.dim
    sums, counts = np.zeros((V, D)), np.zeros(V, dtype=np.int64)
    for _, ids, pad_mask in tf.iter_padded(stream, EVAL_BATCH, tokens.pad, cfg.max_len):
        h = tf.encode(params, cfg, ids, pad_mask)[-1]  # (N, T, D)
        valid = ~pad_mask
        sums += scatter_add_rows(ids[valid], h[valid].astype(np.float64), V)
        counts += np.bincount(ids[valid], minlength=V)
    return sums / np.maximum(counts, 1)[:, None], counts


def read_senses(path: Path) -> list[tuple[str, int, int, str, str]]:
    rows = []
    for line in read_lines(path):
        if line.startswith("#") or not line.strip():
            continue
        split, ln, i, word, sense = line.split("\t")
        rows.append((split, int(ln), int(i), word, sense))
    return rows


def occurrence_vectors(params, cfg, corpus, tokens, split, occurrences) -> np.ndarray:
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
    out = np.full((len(occurrences), cfg.n_layers + 1, cfg.dim), np.nan)
    for b in range(0, k_all.size, EVAL_BATCH):
        sl = slice(b, b + EVAL_BATCH)
        ids, pad_mask = tf.pad_sentences(tok_stream, sent[sl], tokens.pad, cfg.max_len)
        states = np.stack(tf.encode(params, cfg, ids, pad_mask), axis=1)  # (N, L+1, T, D)
        T = ids.shape[1]
        t = np.arange(T)
        span = (t >= start[sl, None]) & (t < (start + count)[sl, None]) & ~pad_mask  # (N, T)
        fits = start[sl] + count[sl] <= T
        mean = np.einsum("nt,nltd->nld", span / np.maximum(span.sum(1, keepdims=True), 1), states)
        out[k_all[sl][fits]] = mean[fits]
    return out


def unit(x: np.ndarray) -> np.ndarray:
    return x / np.maximum(np.linalg.norm(x, axis=-1, keepdims=True), 1e-12)


def sense_candidates(v: np.ndarray) -> tuple[list[str], np.ndarray]:
    """Candidate contextual vectors of word occurrences from all layers' states v (n, L+1, D).

    Every single layer, and the mean over the layers. The last layer after the final LayerNorm
    is shaped by the masked-LM head: at an *unmasked* position it is asked only to reproduce the
    token itself (the 10% "keep" case), so the word's identity can crowd out its sense there; a
    middle layer or the mean of layers keeps more of what attention mixed in from the context.
    Which one works best is an empirical question, answered on held-out occurrences.
    """
    names = [f"layer {layer}" for layer in range(v.shape[1])] + ["mean of layers"]
    return names, np.concatenate([v, v.mean(axis=1, keepdims=True)], axis=1)  # (n, L+2, D)


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
            hits = centroid_accuracy(v_fit[fit][:, None], s_fit[fit], v_test[here][:, None],
                                     s_test[here])  # fmt: skip
            correct += hits[0] * here.sum()
    return seen, float(correct / max(len(t_test), 1))


def sense_metrics(params, cfg, corpus, tokens, senses, seed: int) -> dict:
    """Nearest-sense-centroid accuracy per word; the vector is chosen on held-out occurrences.

    Centroids come from train occurrences. The representation (a layer or the mean of layers,
    `sense_candidates`) is selected by the worst word's accuracy on the valid occurrences - or,
    without valid ones, on a seeded fifth of the train occurrences held out from the centroids -
    so the test occurrences never influence the choice. Reported: test accuracy of the chosen
    representation (`sense_accuracy`) and of every candidate (`sense_accuracy_by_layer`), the
    same with each test sentence's own train occurrences left out of the centroids
    (`sentence_held_out`), and the self-similarity per word and layer (mean cosine between
    different occurrences).
    """
    occ = {}
    for split in ("train", "valid", "test"):
        rows = [r for r in senses if r[0] == split]
        if split in corpus.splits and rows:
            v = occurrence_vectors(params, cfg, corpus, tokens, split, [(r[1], r[2]) for r in rows])
            ok = ~np.isnan(v[:, 0, 0])  # occurrences cut off by max_len are skipped
            lines = list(read_lines(corpus.paths[split]))
            occ[split] = tuple(np.array(col)[ok] for col in (
                [r[3] for r in rows], [r[4] for r in rows], v, [lines[r[1] - 1] for r in rows]
            ))  # (word, sense, vectors, sentence text) per occurrence  # fmt: skip
    if "train" not in occ or "test" not in occ:
        return {}
    names, _ = sense_candidates(occ["train"][2][:0])
    words = sorted(set(occ["train"][0]) & set(occ["test"][0]))

    def split_word(split, word):
        w, s, v, _ = occ[split]
        return sense_candidates(v[w == word])[1], s[w == word]

    # (1) choose the representation on held-out occurrences
    select = "valid" if "valid" in occ else "train"
    held = []
    for word in words:
        v_fit, s_fit = split_word("train", word)
        if select == "valid":
            v_sel, s_sel = split_word("valid", word)
        else:
            out = np.random.default_rng(seed).random(len(s_fit)) < 0.2  # held-out fifth
            v_fit, s_fit, v_sel, s_sel = v_fit[~out], s_fit[~out], v_fit[out], s_fit[out]
        if len(s_sel):
            held.append(centroid_accuracy(v_fit, s_fit, v_sel, s_sel))
    held = np.array(held)  # (words, K)
    # worst word first, then the mean; ties go to the later candidate (the last layer)
    score = held.min(axis=0) + 1e-3 * held.mean(axis=0) if held.size else np.zeros(len(names))
    choice = len(names) - 1 - int(np.argmax(score[::-1]))
    # (2) test accuracy of every candidate, centroids from all train occurrences
    acc, by_layer, static, self_sim, seen, unseen = {}, {}, {}, {}, {}, {}
    for word in words:
        (v_fit, s_fit), (v_test, s_test) = split_word("train", word), split_word("test", word)
        by_layer[word] = centroid_accuracy(v_fit, s_fit, v_test, s_test).tolist()
        acc[word] = by_layer[word][choice]
        seen[word], unseen[word] = sentence_held_out(
            v_fit[:, choice], s_fit, occ["train"][3][occ["train"][0] == word],
            v_test[:, choice], s_test, occ["test"][3][occ["test"][0] == word],
        )  # fmt: skip
        static[word] = max(float(np.mean(s_test == s)) for s in set(s_test))  # one point
        u = unit(v_test[:, : cfg.n_layers + 1])  # (n, L+1, D)
        n = u.shape[0]
        gram = np.einsum("ild,jld->lij", u, u)
        self_sim[word] = ((gram.sum(axis=(1, 2)) - n) / max(1, n * (n - 1))).tolist()
    return {
        "sense_accuracy": acc,
        "sense_accuracy_min": min(acc.values()) if acc else None,
        "sense_representation": names[choice],
        "sense_test_seen_in_train": seen,
        "sense_accuracy_sentence_held_out": unseen,
        "sense_selection": {"split": select, "candidates": names,
                            "accuracy_min": held.min(axis=0).tolist() if held.size else []},
        "static_sense_accuracy": static,
        "sense_accuracy_by_layer": by_layer,
        "self_similarity": self_sim,
    }  # fmt: skip


def layer_anisotropy(params, cfg, stream, tokens, seed, n_sentences=2000) -> dict:
    """Mean cosine of random token pairs in every layer (Ethayarajh 2019)."""
    rng = np.random.default_rng(seed)
    which = rng.choice(stream.n_sentences, min(n_sentences, stream.n_sentences), replace=False)
    ids, pad_mask = tf.pad_sentences(stream, which, tokens.pad, cfg.max_len)
    states = tf.encode(params, cfg, ids, pad_mask)
    stats = [anisotropy(s[~pad_mask], np.random.default_rng(seed)) for s in states]
    return {"anisotropy": [s["mean_cosine"] for s in stats],
            "anisotropy_centred": [s["mean_cosine_centred"] for s in stats]}  # fmt: skip


def read_pairs(path: Path, corpus: Corpus, tokens: Tokens) -> dict[str, tuple]:
    """paraphrases.tsv -> {split: (a stream, b stream)} in model tokens."""
    raw = defaultdict(lambda: ([], []))
    for line in read_lines(path):
        if line.startswith("#") or not line.strip():
            continue
        split, a, b = line.split("\t")
        for side, text in zip(raw[split], (a, b), strict=True):
            side.append(corpus.vocab.encode(tokenize(text)))
    return {
        split: tuple(tokens.stream(TokenStream.from_sentences(s))[0] for s in sides)
        for split, sides in raw.items()
    }


def recall_at_1(params, cfg, pairs, tokens) -> float:
    a, b = pairs
    n = np.arange(a.n_sentences)

    def vectors(stream):
        return tf.sentence_vectors(params, cfg, *tf.pad_sentences(stream, n, tokens.pad,
                                                                  cfg.max_len))  # fmt: skip

    return tf.retrieval_recall_at_1(vectors(a), vectors(b))


# ---------------------------------------------------------------------------------------------


def main() -> None:
    args = parse_args()
    apply_threads(args.threads)
    out = ensure_dir(args.out)
    corpus = load_corpus(args.corpus, min_count=args.min_count, specials=SPECIALS)
    bpe = None
    if args.tokenizer == "bpe":
        tokens, bpe = bpe_tokens(corpus, args.bpe_merges)
    else:
        tokens = word_tokens(corpus)
    streams = {split: tokens.stream(s)[0] for split, s in corpus.splits.items()}
    V = len(tokens.names)
    cfg = tf.Config(V, args.max_len, args.dim, args.layers, args.heads, args.ffn, args.dropout,
                    args.positions)  # fmt: skip
    params = tf.init_params(cfg, np.random.default_rng(args.seed))
    batches = tf.DropoutSeeds(
        MLMBatches(streams["train"], args.batch_size, args.seed, tokens.pad, tokens.mask, V,
                   args.max_len, np.arange(tokens.n_specials)),
        args.seed,
    )  # fmt: skip

    def probe(params: dict) -> str:
        kv = KeyedVectors(tokens.names, params["tok_emb"])
        return "\n".join(
            f"  {w}: " + " ".join(n for n, _ in kv.nearest(w, 5)) for w in PROBES if w in kv
        )

    loop = TrainConfig(
        epochs=args.epochs, lr=args.lr, schedule="cosine", warmup=args.warmup,
        lr_floor=args.lr * 0.05, clip=args.clip, seed=args.seed, out_dir=out,
        checkpoint_every=args.checkpoint_every, resume=args.resume, desc="transformer",
    )  # fmt: skip
    cpu_start = time.process_time()  # CPU seconds of all threads: honest on a shared machine
    history = train(
        functools.partial(tf.loss_and_grads, cfg=cfg),
        params,
        batches,
        AdamW(lr=args.lr, weight_decay=args.weight_decay),
        loop,
        probe=probe,
    )

    train_cpu_seconds = time.process_time() - cpu_start

    # ---- evaluation of the masked-LM model
    t0 = time.perf_counter()
    train_counts = np.bincount(streams["train"].ids, minlength=V)
    train_counts[: tokens.n_specials] = 0
    metrics: dict = {
        "train_tokens": int(streams["train"].n_tokens),
        "train_cpu_seconds": train_cpu_seconds,
        "seed": args.seed,
        "tokenizer": args.tokenizer,
        "n_parameters": int(sum(p.size for p in params.values())),
        "vocab_size": V,
    }
    eval_split = "test" if "test" in streams else "train"
    metrics["mlm_eval_split"] = eval_split
    metrics |= mlm_accuracy(params, cfg, streams[eval_split], tokens, args.seed,
                            int(train_counts.argmax()))  # fmt: skip
    metrics |= layer_anisotropy(params, cfg, streams[eval_split], tokens, args.seed)
    means, counts = contextual_means(params, cfg, streams["train"], tokens)
    seen = np.flatnonzero(counts > 0)
    static_kv = KeyedVectors(tokens.names, params["tok_emb"])
    contextual_kv = KeyedVectors([tokens.names[i] for i in seen], means[seen].astype(np.float32))
    contextual_kv.save_text(out / "contextual_vectors.txt")
    folder = corpus.paths["train"].parent
    if (folder / "categories.tsv").exists():
        metrics["category_purity"] = category_purity(static_kv, folder / "categories.tsv")
        metrics["contextual_category_purity"] = category_purity(
            contextual_kv, folder / "categories.tsv"
        )
    if (folder / "senses.tsv").exists():
        metrics |= sense_metrics(params, cfg, corpus, tokens, read_senses(folder / "senses.tsv"),
                                 args.seed)  # fmt: skip
    pairs = read_pairs(folder / "paraphrases.tsv", corpus, tokens) if (
        folder / "paraphrases.tsv").exists() else {}  # fmt: skip
    heldout = pairs.get("heldout")
    recall = {}
    if heldout is not None:
        recall["before"] = recall_at_1(params, cfg, heldout, tokens)
    metrics["eval_seconds"] = time.perf_counter() - t0

    # ---- optional contrastive tuning of a copy (model.npz keeps the masked-LM model)
    if args.contrastive:
        if "train" not in pairs or heldout is None:
            raise MinilmError(
                f"--contrastive needs paraphrases.tsv with train and heldout pairs in {folder}"
            )
        tuned = {k: v.copy() for k, v in params.items()}
        pair_batches = tf.DropoutSeeds(
            tf.PairBatches(*pairs["train"], args.contrastive_batch_size, args.seed, tokens.pad,
                           args.max_len),
            args.seed,
        )  # fmt: skip
        ckpt_dir = out / "contrastive"
        c_loop = TrainConfig(
            epochs=args.contrastive_epochs, lr=args.contrastive_lr, schedule="cosine",
            warmup=min(50, pair_batches.steps_per_epoch), clip=args.clip, seed=args.seed,
            out_dir=ckpt_dir, checkpoint_every=args.checkpoint_every,
            resume=args.resume and (ckpt_dir / "checkpoint.npz").exists(),
            desc="contrastive",
        )  # fmt: skip
        c_history = train(
            functools.partial(tf.contrastive_loss_and_grads, cfg=cfg,
                              temperature=args.temperature, symmetric=not args.one_directional),
            tuned, pair_batches, AdamW(lr=args.contrastive_lr, weight_decay=args.weight_decay),
            c_loop,
        )  # fmt: skip
        recall["after"] = recall_at_1(tuned, cfg, heldout, tokens)
        metrics["contrastive_train_seconds"] = c_history.train_seconds
        metrics["contrastive_final_loss"] = float(c_history.losses[-10:].mean())
        save_npz(out / "sentence_model.npz", {f"p/{k}": v for k, v in tuned.items()})
    if recall:
        metrics["retrieval_recall_at_1"] = recall

    if bpe is not None:
        bpe.save(out / "bpe.json")
    config = {"model": "transformer", **vars(args), "model_config": asdict(cfg)}
    write_run(out, tokens.names, params["tok_emb"], params, corpus.vocab, metrics, history, config)
    line = (
        f"transformer: mlm_accuracy {metrics['mlm_accuracy']:.3f} "
        f"(unigram {metrics['unigram_accuracy']:.3f})"
    )
    if "sense_accuracy_min" in metrics:
        line += f", sense_accuracy min {metrics['sense_accuracy_min']:.3f}"
    if recall:
        line += ", recall@1 " + " -> ".join(f"{v:.3f}" for v in recall.values())
    print(f"{line}; {history.train_seconds:.0f}s training; wrote {out}")


if __name__ == "__main__":
    run_cli(main)
