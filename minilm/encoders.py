"""Sentence encoders from any run: a run folder (or a vectors file) in, (N, D) vectors out.

    mean          static word vectors averaged over the sentence's words (any model's table,
                  any word2vec-format file)
    sif           the same table, words weighted a / (a + p(w)) and the corpus's first principal
                  component removed (Arora et al. 2017; minilm/search.py)
    transformer   the masked-LM transformer's last layer, mean-pooled over the valid tokens
    contrastive   the same pool of the Sentence-BERT-tuned parameters (sentence_model.npz,
                  written by `scripts/train_transformer.py --contrastive`)
    matryoshka    the same pool of the Matryoshka-tuned twin (sentence_model_matryoshka.npz,
                  `--contrastive --also-matryoshka 8,16,32`); keep its first m dims

`load_encoder(path, kind)` picks the table or the parameters; `Encoder.fit(sentences)` fits what
SIF needs on the corpus to be indexed (its component; word counts come from the run's vocabulary
or, for a bare vectors file, from that corpus), and `Encoder.encode(sentences)` gives the
vectors. The encoder's `meta` is stored with an index so a query is encoded the same way.
Used by scripts/search.py, scripts/evaluate.py and the lab (docs/13-search-mteb.md).
"""

from __future__ import annotations

import os
from collections import Counter
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from minilm.data.bpe import BPE
from minilm.data.corpus import TokenStream
from minilm.data.sentences import iter_padded
from minilm.data.text import tokenize
from minilm.errors import MinilmError
from minilm.io import load_npz
from minilm.models import contrastive, encoder
from minilm.runs import load_run
from minilm.search import common_component, mean_pool, remove_component, sif_weights
from minilm.vectors import KeyedVectors

KINDS = ("auto", "mean", "sif", "transformer", "contrastive", "matryoshka")
SENTENCE_MODELS = {
    "contrastive": ("sentence_model.npz", "--contrastive"),
    "matryoshka": ("sentence_model_matryoshka.npz", "--contrastive --also-matryoshka DIMS"),
}
ENCODE_BATCH = 256  # sentences per transformer forward pass


class Encoder:
    """Sentences -> vectors (N, D) float32, not normalised; `meta` describes the encoding."""

    def __init__(self, kind: str, source: str) -> None:
        self.kind = kind
        self.meta: dict = {"encoder": kind, "source": source}

    def fit(self, sentences: Sequence[str]) -> Encoder:
        """Fit what depends on the corpus (SIF's component); a no-op for the others."""
        return self

    def encode(self, sentences: Sequence[str]) -> np.ndarray:
        raise NotImplementedError


class StaticEncoder(Encoder):
    """Mean (or SIF-weighted mean, less the common component) of a word table's rows."""

    def __init__(self, kind: str, source: str, kv: KeyedVectors, counts: dict | None) -> None:
        super().__init__(kind, source)
        self.kv = kv
        self.counts = counts  # word -> count for SIF, or None (taken from the fitted corpus)
        self.weights: np.ndarray | None = None
        self.component: np.ndarray | None = None

    def _ids(self, sentences: Sequence[str]) -> list[np.ndarray]:
        index = self.kv.key_to_index
        return [
            np.array([index.get(w, -1) for w in tokenize(s)], dtype=np.int64) for s in sentences
        ]

    def fit(self, sentences: Sequence[str]) -> Encoder:
        if self.kind != "sif":
            return self
        counts = self.counts
        if counts is None:  # a bare vectors file: p(w) from the corpus being indexed
            counts = Counter(w for s in sentences for w in tokenize(s))
        table = np.array([counts.get(w, 0) for w in self.kv.words], dtype=np.float64)
        self.weights = sif_weights(table + 1.0)  # +1: a word never counted is rare, not infinite
        X = mean_pool(self._ids(sentences), self.kv.vectors, self.weights)
        self.component = common_component(X)
        self.meta["sif_component"] = self.component.tolist()
        self.meta["sif_weights"] = self.weights.tolist()
        self.meta["sif_weights_from"] = "run vocabulary" if self.counts else "indexed corpus"
        return self

    def encode(self, sentences: Sequence[str]) -> np.ndarray:
        if self.kind == "mean":
            return mean_pool(self._ids(sentences), self.kv.vectors)
        if self.component is None:
            raise MinilmError("SIF encoder: fit it on a corpus first (Encoder.fit)")
        X = mean_pool(self._ids(sentences), self.kv.vectors, self.weights)
        return remove_component(X, self.component)


class TransformerEncoder(Encoder):
    """Mean of the last layer over each sentence's tokens (contrastive.sentence_vectors)."""

    def __init__(self, kind, source, params, cfg, token_ids, pad) -> None:
        super().__init__(kind, source)
        self.params, self.cfg, self.pad = params, cfg, pad
        self.token_ids = token_ids  # word -> its token ids (one, or its BPE pieces)

    def encode(self, sentences: Sequence[str]) -> np.ndarray:
        get = self.token_ids
        ids = [[t for w in tokenize(s) for t in get(w)] for s in sentences]
        out = np.zeros((len(sentences), self.cfg.dim), dtype=np.float32)
        has = np.flatnonzero([len(x) > 0 for x in ids])  # an empty sentence stays a zero row
        stream = TokenStream.from_sentences([ids[i] for i in has])
        for which, batch, pad_mask in iter_padded(stream, ENCODE_BATCH, self.pad, self.cfg.max_len):
            out[has[which]] = contrastive.sentence_vectors(self.params, self.cfg, batch, pad_mask)
        return out


def _transformer(run, folder: Path, kind: str) -> TransformerEncoder:
    model_cfg = dict(run.config["model_config"])
    model_cfg["class_bounds"] = tuple(model_cfg.get("class_bounds") or ())
    cfg = encoder.Config(**model_cfg)
    params = run.params
    if kind in SENTENCE_MODELS:
        file, flags = SENTENCE_MODELS[kind]
        path = folder / file
        if not path.exists():
            raise MinilmError(f"{folder}: no {file} (train with {flags})")
        params = {k[2:]: v for k, v in load_npz(path).items() if k.startswith("p/")}
    vocab = run.vocab
    if vocab is None or vocab.unk is None:
        raise MinilmError(f"{folder}/model.npz: no vocabulary with <unk>")
    stoi, unk = vocab.stoi, vocab.unk
    if run.config.get("tokenizer") == "bpe":
        bpe = BPE.load(folder / "bpe.json")
        shift = 2  # ids 0, 1 are <pad>, <mask> (minilm/data/sentences.py bpe_tokens)

        def token_ids(word: str) -> list[int]:
            return [0 + shift] if word not in stoi else [p + shift for p in bpe.encode_word(word)]

        pad = 0
    else:

        def token_ids(word: str) -> list[int]:
            return [stoi.get(word, unk)]

        pad = vocab.pad
    return TransformerEncoder(kind, str(folder), params, cfg, token_ids, pad)


def load_encoder(path: str | os.PathLike, kind: str = "auto") -> Encoder:
    """An encoder from a run folder (model.npz) or a word2vec-format vectors file."""
    if kind not in KINDS:
        raise MinilmError(f"encoder must be one of {', '.join(KINDS)}, got {kind!r}")
    path = Path(path)
    if not path.is_dir():
        if kind in ("transformer", *SENTENCE_MODELS):
            raise MinilmError(f"{path}: the {kind} encoder needs a run folder, not a file")
        return StaticEncoder(
            "sif" if kind == "auto" else kind, str(path), KeyedVectors.load(path), None
        )
    if not (path / "model.npz").exists():
        raise MinilmError(f"{path}: no model.npz; give a run folder or a vectors file")
    run = load_run(path)
    is_tf = run.config.get("model") == "transformer" and "model_config" in run.config
    if kind == "auto":
        kind = "sif"
        if is_tf:
            kind = "contrastive" if (path / "sentence_model.npz").exists() else "transformer"
    if kind in ("transformer", *SENTENCE_MODELS):
        if not is_tf:
            raise MinilmError(f"{path}: not a transformer run; use --encoder mean or sif")
        return _transformer(run, path, kind)
    counts = None
    if run.vocab is not None:
        counts = dict(zip(run.vocab.itos, run.vocab.counts.tolist(), strict=True))
    return StaticEncoder(kind, str(path), run.vectors, counts)


def encoder_from_meta(meta: dict) -> Encoder:
    """The encoder an index was built with (its SIF component restored, not refitted)."""
    enc = load_encoder(meta["source"], meta["encoder"])
    if isinstance(enc, StaticEncoder) and enc.kind == "sif":
        enc.component = np.asarray(meta["sif_component"], dtype=np.float32)
        enc.weights = np.asarray(meta["sif_weights"], dtype=np.float64)
        if enc.weights.shape != (len(enc.kv),) or enc.component.shape != (enc.kv.dim,):
            raise MinilmError(f"index: its SIF weights do not fit {meta['source']} (re-index)")
        enc.meta = dict(meta)
    return enc
