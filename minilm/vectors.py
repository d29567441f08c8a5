"""A word -> vector table: the formats every tool speaks, neighbours, analogies, similarity.

`KeyedVectors(words, vectors)` holds V words and a (V, D) matrix. It reads and writes

- word2vec text:   a `V D` header line, then `word v1 ... vD` per line (word2vec.c, gensim);
- word2vec binary: the same header, then per word `word`, one space, D little-endian float32,
  and (as word2vec.c writes it) a newline - tolerated when absent;
- GloVe text:      like word2vec text without the header (D inferred from the first line);
- projector TSV:   `vectors.tsv` (D tab-separated numbers a line) + `metadata.tsv` (one word a
  line), the TensorBoard Embedding Projector's format;
- `.npz`:          arrays `words` (unicode) and `vectors`, loadable with allow_pickle=False.

Cosine similarity uses the unit-normalised rows  u_i = v_i / ||v_i||,  computed once and cached:
cos(i, j) = u_i . u_j.

Analogies a : b :: c : ?  (man : king :: woman : ?)  are answered as in word2vec / gensim:

    3CosAdd  (Mikolov et al. 2013)   d* = argmax_d  cos(d, b) - cos(d, a) + cos(d, c)
    3CosMul  (Levy & Goldberg 2014)  d* = argmax_d  cos'(d, b) cos'(d, c) / (cos'(d, a) + eps)
             with shifted cosines cos' = (cos + 1) / 2 in [0, 1] and eps = 1e-3.

`most_similar(positive=[b, c], negative=[a])` ranks by the cosine to the unit vector of
sum(u_pos) - sum(u_neg), which orders candidates exactly as 3CosAdd. By convention the query
words themselves are excluded from the answers (`exclude_query=True`); without that, the answer
is very often b itself - the protocol question Levy & Goldberg and later Linzen (2016) raised.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Sequence
from pathlib import Path

import numpy as np

from minilm.errors import MinilmError
from minilm.io import atomic_open, check_complete, ensure_dir, load_npz, save_npz
from minilm.word_vector_files import (
    decode,
    first_duplicate,
    looks_like_text,
    parse_binary,
    parse_header,
    parse_text,
    refuse_duplicates,
    refuse_non_finite,
    refuse_utf16,
    strip_utf8_bom,
    to_floats,
)

COSMUL_EPS = 1e-3  # Levy & Goldberg's epsilon against division by zero in 3CosMul
METHODS = ("3cosadd", "3cosmul")


class KeyedVectors:
    """V words and their (V, D) vectors, with cosine queries.

    Attributes: `words` (list[str], row order), `vectors` (V, D), `key_to_index` (dict).
    The dtype of `vectors` is kept as given (files load as float32, as they store it).
    """

    def __init__(self, words: Sequence[str], vectors: np.ndarray):
        vectors = np.asarray(vectors)
        if vectors.ndim != 2:
            raise MinilmError(f"vectors must be a (V, D) matrix, got shape {vectors.shape}")
        if not np.issubdtype(vectors.dtype, np.floating):
            vectors = vectors.astype(np.float64)
        words = [str(w) for w in words]
        if len(words) != vectors.shape[0]:
            raise MinilmError(f"{len(words)} words but {vectors.shape[0]} vectors; they must match")
        self.words = words
        self.vectors = vectors
        self.key_to_index = {w: i for i, w in enumerate(words)}
        if len(self.key_to_index) < len(words):
            # Two rows for one word: the extra row would come back as a neighbour, or as the
            # answer to an analogy whose query words are "excluded". The readers name the lines.
            word, first, again = first_duplicate(words)
            raise MinilmError(
                f"the word {word!r} has two vectors (rows {first + 1} and {again + 1}); "
                "a table holds one vector per word"
            )
        self._unit: np.ndarray | None = None

    # ---- basic access --------------------------------------------------------------------
    def __len__(self) -> int:
        return len(self.words)

    def __contains__(self, word: object) -> bool:
        return word in self.key_to_index

    def __getitem__(self, word: str) -> np.ndarray:
        return self.vectors[self.index(word)]

    def __repr__(self) -> str:
        return f"KeyedVectors(V={len(self)}, D={self.dim}, dtype={self.vectors.dtype})"

    @property
    def dim(self) -> int:
        return int(self.vectors.shape[1])

    def index(self, word: str) -> int:
        """Row of `word`; an unknown word is a one-line MinilmError naming it."""
        try:
            return self.key_to_index[word]
        except KeyError:
            raise MinilmError(
                f"word {word!r} is not in the vocabulary ({len(self)} words); "
                "check spelling and case (our tokenizer lower-cases)"
            ) from None

    def indices(self, words: Iterable[str]) -> np.ndarray:
        return np.array([self.index(w) for w in words], dtype=np.int64)

    @property
    def unit(self) -> np.ndarray:
        """Rows scaled to unit length, u_i = v_i / ||v_i|| (an all-zero row stays zero). Cached."""
        if self._unit is None:
            norms = np.linalg.norm(self.vectors, axis=1, keepdims=True)  # (V, 1)
            self._unit = self.vectors / np.where(norms > 0, norms, 1)
        return self._unit

    # ---- queries -------------------------------------------------------------------------
    def similarity(self, a: str, b: str) -> float:
        """cos(a, b) = u_a . u_b."""
        return float(self.unit[self.index(a)] @ self.unit[self.index(b)])

    def nearest(self, word: str, topn: int = 10) -> list[tuple[str, float]]:
        """The `topn` words of highest cosine to `word`, the word itself left out."""
        return self.most_similar([word], topn=topn)

    def similar_by_vector(self, vector: np.ndarray, topn: int = 10) -> list[tuple[str, float]]:
        """The `topn` words of highest cosine to any vector (e.g. one built for an unseen word)."""
        norm = float(np.linalg.norm(vector))
        if not np.isfinite(norm):
            raise MinilmError("similar_by_vector: the vector is not finite")
        return self._top(self.unit @ (vector / norm if norm > 0 else vector), topn)

    def most_similar(
        self,
        positive: str | Sequence[str] = (),
        negative: str | Sequence[str] = (),
        topn: int = 10,
        exclude_query: bool = True,
        method: str = "3cosadd",
    ) -> list[tuple[str, float]]:
        """Rank all words for the query  sum(positive) - sum(negative); see the module docstring.

        Returns [(word, score)] best first. The score is the cosine to the normalised query
        vector for 3CosAdd and the 3CosMul objective for 3CosMul. Ties go to the lower row.
        """
        positive = [positive] if isinstance(positive, str) else list(positive)
        negative = [negative] if isinstance(negative, str) else list(negative)
        if not positive and not negative:
            raise MinilmError("most_similar needs at least one positive or negative word")
        pos, neg = self.indices(positive), self.indices(negative)
        scores = analogy_scores(self.unit, pos[None, :], neg[None, :], method)[0]  # (V,)
        if exclude_query:
            scores[np.concatenate([pos, neg])] = -np.inf
        return self._top(scores, topn)

    def doesnt_match(self, words: Sequence[str]) -> str:
        """The word least like the others: lowest cosine to the mean of the unit vectors."""
        if len(words) < 2:
            raise MinilmError("doesnt_match needs at least two words")
        u = self.unit[self.indices(words)]  # (n, D)
        mean = u.mean(axis=0)
        return words[int(np.argmin(u @ mean))]

    def _top(self, scores: np.ndarray, topn: int) -> list[tuple[str, float]]:
        topn = max(0, min(topn, int(np.isfinite(scores).sum())))
        # A stable sort of -scores keeps the lower row first among equal scores.
        order = np.argsort(-scores, kind="stable")[:topn]
        return [(self.words[i], float(scores[i])) for i in order]

    # ---- loading -------------------------------------------------------------------------
    @classmethod
    def load(cls, path: str | os.PathLike, unicode_errors: str = "strict") -> KeyedVectors:
        """Read a table, detecting the format: `.npz`; a run folder (its vectors.txt); a folder
        (or `vectors.tsv`) with the projector TSV pair; a file starting with a `V D` header
        (word2vec text or binary); else headerless GloVe text. Malformed input raises
        MinilmError naming the line or record, and so does a file of a run that did not finish
        (minilm.io.check_complete)."""
        path = Path(path)
        check_complete(path)
        if path.is_dir() and (path / "vectors.txt").is_file():  # a run folder: its table
            path = path / "vectors.txt"
        if path.is_dir() or path.name == "vectors.tsv":
            folder = path if path.is_dir() else path.parent
            return cls.load_projector(folder)
        if not path.exists():
            raise MinilmError(f"{path}: no such file")
        if path.suffix == ".npz":
            return cls._load_npz(path)
        data = strip_utf8_bom(path.read_bytes())
        if not data.strip():
            raise MinilmError(f"{path}: the file is empty; expected word vectors")
        refuse_utf16(path, data)
        first_end = data.find(b"\n")
        first = data[: first_end if first_end >= 0 else len(data)]
        header = parse_header(first)
        if header is None:
            return cls(*parse_text(path, data, header=None, unicode_errors=unicode_errors))
        body = data[len(first) + 1 :]
        if not looks_like_text(body):
            try:
                return cls(*parse_binary(path, body, header, unicode_errors))
            except MinilmError:
                if looks_like_text(body, encoding="latin-1"):
                    decode(path, data, unicode_errors)  # text, but not UTF-8: say so
                raise
        try:
            return cls(*parse_text(path, data, header=header, unicode_errors=unicode_errors))
        except MinilmError as text_error:
            # A tiny binary file's float bytes can happen to be valid UTF-8: try binary too.
            try:
                return cls(*parse_binary(path, body, header, unicode_errors))
            except MinilmError:
                raise text_error from None

    @classmethod
    def _load_npz(cls, path: Path) -> KeyedVectors:
        arrays = load_npz(path)
        if "words" not in arrays or "vectors" not in arrays:
            raise MinilmError(
                f"{path}: an .npz of word vectors needs arrays 'words' and 'vectors', "
                f"found {sorted(arrays)}"
            )
        words, vectors = arrays["words"].tolist(), arrays["vectors"]
        if not isinstance(words, list):
            raise MinilmError(f"{path}: 'words' must be a 1-d array of words")
        refuse_duplicates(path, [str(w) for w in words], "row", 1)
        if vectors.ndim == 2 and not np.issubdtype(vectors.dtype, np.number):
            raise MinilmError(f"{path}: 'vectors' holds {vectors.dtype}, not numbers")
        if vectors.ndim == 2 and vectors.shape[0] == len(words):
            refuse_non_finite(path, vectors, words, "row")
        return cls(words, vectors)

    @classmethod
    def load_projector(cls, folder: str | os.PathLike) -> KeyedVectors:
        """Read `folder/vectors.tsv` and `folder/metadata.tsv` (one word a line, no header)."""
        folder = Path(folder)
        vec_path, meta_path = folder / "vectors.tsv", folder / "metadata.tsv"
        for p in (vec_path, meta_path):
            if not p.exists():
                raise MinilmError(f"{p}: no such file; a projector folder holds both TSV files")
        words = decode(meta_path, meta_path.read_bytes(), "strict").split("\n")
        if words and words[-1] == "":
            words.pop()
        for n, word in enumerate(words, start=1):
            if not word or any(c.isspace() for c in word):
                raise MinilmError(f"{meta_path} line {n}: {word!r} is not a word")
        refuse_duplicates(meta_path, words, "line", 1)
        rows = decode(vec_path, vec_path.read_bytes(), "strict").split("\n")
        if rows and rows[-1] == "":
            rows.pop()
        if len(rows) != len(words):
            raise MinilmError(
                f"{vec_path} has {len(rows)} rows but {meta_path} has {len(words)} words"
            )
        if not rows:
            raise MinilmError(f"{vec_path}: no vectors")
        fields = [r.split("\t") for r in rows]
        dim = len(fields[0])
        for n, f in enumerate(fields, start=1):
            if len(f) != dim:
                raise MinilmError(f"{vec_path} line {n}: {len(f)} values, expected {dim}")
        return cls(words, to_floats(vec_path, fields, first_line=1, start=0))

    # ---- saving --------------------------------------------------------------------------
    def save_text(self, path: str | os.PathLike) -> None:
        """word2vec text format. `%.9g` round-trips float32 exactly."""
        self._check_words_writable(" \n\t\r")
        fmt = " ".join(["%.9g"] * self.dim)
        with atomic_open(path, "w", encoding="utf-8", newline="\n") as f:
            f.write(f"{len(self)} {self.dim}\n")
            for word, row in zip(self.words, self.vectors.tolist(), strict=True):
                f.write(f"{word} {fmt % tuple(row)}\n")

    def save_binary(self, path: str | os.PathLike) -> None:
        """word2vec binary format, with word2vec.c's newline after each vector."""
        self._check_words_writable(" \n\t\r")
        rows = np.ascontiguousarray(self.vectors, dtype="<f4")
        with atomic_open(path, "wb") as f:
            f.write(f"{len(self)} {self.dim}\n".encode())
            for word, row in zip(self.words, rows, strict=True):
                f.write(word.encode("utf-8") + b" " + row.tobytes() + b"\n")

    def save_projector(self, folder: str | os.PathLike) -> None:
        """`folder/vectors.tsv` + `folder/metadata.tsv` for projector.tensorflow.org."""
        self._check_words_writable("\n\t\r")
        folder = ensure_dir(folder)
        fmt = "\t".join(["%.9g"] * self.dim)
        with atomic_open(folder / "vectors.tsv", "w", encoding="utf-8", newline="\n") as f:
            for row in self.vectors.tolist():
                f.write(fmt % tuple(row) + "\n")
        with atomic_open(folder / "metadata.tsv", "w", encoding="utf-8", newline="\n") as f:
            f.write("".join(w + "\n" for w in self.words))

    def save_npz(self, path: str | os.PathLike) -> None:
        save_npz(path, {"words": np.array(self.words, dtype=str), "vectors": self.vectors})

    def _check_words_writable(self, forbidden: str) -> None:
        for w in self.words:
            if not w or any(ch in w for ch in forbidden):
                raise MinilmError(
                    f"word {w!r} is empty or holds whitespace that the file format cannot store"
                )


# ---- batched analogy scores (shared with minilm.evaluate) ----------------------------------
def analogy_scores(
    unit: np.ndarray, pos: np.ndarray, neg: np.ndarray, method: str = "3cosadd"
) -> np.ndarray:
    """Scores of every word for Q queries at once: one (Q, D) x (D, V) product per term.

    unit (V, D) unit rows; pos (Q, P) and neg (Q, M) row ids. Returns (Q, V) float scores:
    3CosAdd  cos(d, q) with q = normalise(sum_p u_p - sum_m u_m);
    3CosMul  prod_p cos'(d, p) / (prod_m cos'(d, m) + eps), cos' = (cos + 1) / 2.
    """
    if method not in METHODS:
        raise MinilmError(f"unknown analogy method {method!r}; choose one of {METHODS}")
    if method == "3cosadd":
        q = unit[pos].sum(axis=1) - unit[neg].sum(axis=1)  # (Q, D)
        norms = np.linalg.norm(q, axis=1, keepdims=True)
        q = q / np.where(norms > 0, norms, 1)
        return q @ unit.T  # (Q, V)
    num = np.ones((pos.shape[0], unit.shape[0]), dtype=unit.dtype)
    for j in range(pos.shape[1]):  # a loop over the 2-3 query words, not over words or queries
        num *= (unit[pos[:, j]] @ unit.T + 1) / 2
    den = np.ones_like(num)
    for j in range(neg.shape[1]):
        den *= (unit[neg[:, j]] @ unit.T + 1) / 2
    return num / (den + COSMUL_EPS)
