"""The lab: train every model on one corpus, evaluate all with one protocol, plot, report.

    python scripts/lab.py --out runs/lab            # bundled world corpus, every model
    python scripts/lab.py --out runs/quick --quick  # a small generated world, 1 epoch, small dims

Steps, in order:
1. **Train.** Each model's own script runs as a child process into `OUT/<model>/` (its own tqdm
   bar shows), one after another, so that each child's peak memory is its own: `os.wait4`
   returns the resource usage of exactly the child it waited for. A model that fails is
   reported with its one-line error and the others go on; the lab exits non-zero at the end.
2. **Evaluate.** Every model's vectors are loaded with `KeyedVectors` and scored in this
   process with one protocol (`minilm.evaluate`) on the corpus' ground truth: category purity,
   analogies under both protocols, similarity, anisotropy, the he-she bias projection.
3. **Plot and report.** The figures of `minilm.lab_figures` and `OUT/report.md`, whose every
   number is filled in from this run's `OUT/metrics.json`.

The SRN is trained twice: on the lab's corpus (`srn`, a row of the comparison like every other
model) and on the bundled `corpus/elman` (`srn-elman`), whose 29 categorised words and two-level
categories are what Elman's dendrogram (his Figure 7) is about.

A model name is a folder of OUT; the transformer gives two vector tables (static token
embeddings and mean contextual vectors), so the comparison has one more entry than models.
"""

from __future__ import annotations

import json
import math
import os
import shlex
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

import numpy as np

from minilm import evaluate as ev
from minilm.data.text import read_lines, resolve_corpus, tokenize
from minilm.errors import MinilmError
from minilm.io import ensure_dir, load_npz, write_json, write_text
from minilm.vectors import KeyedVectors

REPO = Path(__file__).resolve().parent.parent
SCRIPTS = REPO / "scripts"
ELMAN_CORPUS = REPO / "corpus" / "elman"
QUICK_SENTENCES = 3000  # --quick's generated world: train ~2,700 sentences, ~24k tokens
QUICK_ELMAN_SENTENCES = 3000
RUN_RECORD = "lab_run.json"  # OUT/<model>/lab_run.json: how the lab's child run went


# ---- the models ----------------------------------------------------------------------------
@dataclass(frozen=True)
class ModelSpec:
    """How the lab trains one model: which script, with which flags, on which corpus."""

    name: str  # folder under OUT and key in metrics.json
    label: str  # shown in figures and tables
    script: str  # file in scripts/
    args: tuple[str, ...] = ()  # flags always passed
    default: tuple[str, ...] = ()  # flags of the full run (the script's defaults unless given)
    quick: tuple[str, ...] = ()  # flags of --quick (1 epoch, small dims)
    corpus: str = "lab"  # "lab" (the lab's corpus) or "elman" (corpus/elman)
    seconds: float = 30.0  # expected wall time of the full run, for the ETA
    language_model: bool = False  # has a test perplexity to compare with Kneser-Ney
    contextual: bool = False  # also writes contextual_vectors.txt


MODELS: dict[str, ModelSpec] = {
    spec.name: spec
    for spec in (
        ModelSpec("lsa", "LSA", "train_baselines.py", ("--method", "lsa"),
                  ("--dim", "100"), ("--dim", "16"), seconds=5),
        ModelSpec("ppmi", "PPMI-SVD", "train_baselines.py", ("--method", "ppmi"),
                  ("--dim", "100"), ("--dim", "16"), seconds=8),
        ModelSpec("glove", "GloVe", "train_baselines.py", ("--method", "glove"),
                  ("--dim", "100"), ("--dim", "16", "--epochs", "1"), seconds=8),
        ModelSpec("nplm", "NPLM", "train_nplm.py", (),
                  (), ("--epochs", "1", "--dim", "16", "--hidden", "32"),
                  seconds=30, language_model=True),
        ModelSpec("srn", "SRN", "train_srn.py", (),
                  (), ("--epochs", "1", "--dim", "16", "--hidden", "32"),
                  seconds=30, language_model=True),
        # Elman's own setup: one-hot input, a wide hidden layer, a small Adam step.
        ModelSpec("srn-elman", "SRN (Elman corpus)", "train_srn.py", (),
                  ("--onehot", "--hidden", "150", "--lr", "1e-3", "--epochs", "6"),
                  ("--epochs", "1", "--dim", "16", "--hidden", "32"),
                  corpus="elman", seconds=10),
        ModelSpec("skipgram", "skip-gram", "train_skipgram.py", (),
                  (), ("--epochs", "1", "--dim", "32", "--min-count", "2"), seconds=25),
        ModelSpec("cbow", "CBOW", "train_skipgram.py", ("--cbow",),
                  (), ("--epochs", "1", "--dim", "32", "--min-count", "2"), seconds=12),
        ModelSpec("transformer", "transformer", "train_transformer.py", (),
                  (),  # the script's defaults: fewer epochs leave bat/plant's senses mixed
                  ("--epochs", "1", "--dim", "32", "--heads", "2", "--ffn", "64",
                   "--warmup", "20"),
                  seconds=150, contextual=True),
    )
}  # fmt: skip
OPTIONAL_MODELS = {
    "fasttext": ModelSpec("fasttext", "fastText", "train_skipgram.py", ("--subwords", "3-6"),
                          (), ("--epochs", "1", "--dim", "32", "--min-count", "2",
                               "--buckets", "20000"), seconds=90),
}  # fmt: skip
ALL_MODELS = {**MODELS, **OPTIONAL_MODELS}


def select_models(names: Sequence[str] | None) -> list[ModelSpec]:
    """The specs for `names` (comma- or space-separated; None = every default model)."""
    if not names:
        return list(MODELS.values())
    wanted = [n.strip() for name in names for n in name.split(",") if n.strip()]
    unknown = [n for n in wanted if n not in ALL_MODELS]
    if unknown:
        raise MinilmError(
            f"unknown model(s) {', '.join(unknown)}; choose from {', '.join(ALL_MODELS)}"
        )
    return [ALL_MODELS[n] for n in dict.fromkeys(wanted)]


# ---- running one model ---------------------------------------------------------------------
@dataclass
class ModelRun:
    """What the lab knows about one child run."""

    spec: ModelSpec
    out: Path
    command: list[str]
    returncode: int = 0
    error: str = ""
    wall_seconds: float = 0.0
    peak_mib: float | None = None
    cpu_seconds: float | None = None  # user + system time of the child (all its threads)

    @property
    def ok(self) -> bool:
        return self.returncode == 0 and not self.error


def model_command(spec: ModelSpec, out: Path, corpus: Path, seed: int, quick: bool) -> list[str]:
    """The child's command line: the script with this interpreter, shared flags, own flags."""
    script = SCRIPTS / spec.script
    flags = spec.quick if quick else spec.default
    return [sys.executable, str(script), "--corpus", str(corpus), "--out", str(out),
            "--seed", str(seed), *spec.args, *flags]  # fmt: skip


def _tee(pipe: IO[bytes], sink: IO[bytes] | None, log: IO[bytes]) -> None:
    """Copy a child's stderr to ours (its progress bar stays live) and to its log file."""
    while chunk := pipe.read1(4096):  # whatever is there, without waiting for 4096 bytes
        log.write(chunk)
        if sink is not None:
            try:
                sink.write(chunk)
                sink.flush()
            except (OSError, ValueError):  # our stderr went away; keep logging
                sink = None


def error_line(stderr_text: str, returncode: int) -> str:
    """The one line that says why a child failed: its `error: ...` line, else the last line of a
    traceback, else how it ended."""
    lines = [ln.strip() for ln in stderr_text.replace("\r", "\n").splitlines() if ln.strip()]
    for line in reversed(lines):
        if line.startswith("error:"):
            return line[len("error:") :].strip()
    if returncode < 0:
        return f"killed by signal {-returncode}"
    if lines:
        return lines[-1]
    return f"exited with status {returncode}"


def run_model(
    spec: ModelSpec, out: Path, corpus: Path, seed: int, quick: bool, echo: bool = True
) -> ModelRun:
    """Run one model's script as a child process into `out`; measure wall time and peak memory.

    The child's stdout is inherited; its stderr (where tqdm draws) is copied live to ours and
    kept in `out/lab.log`. Peak memory is the child's own ru_maxrss from `os.wait4` (Linux
    counts in it the high-water RSS of the lab process it was spawned from: a floor, not a leak).
    """
    ensure_dir(out)
    run = ModelRun(spec, out, model_command(spec, out, corpus, seed, quick))
    sink = getattr(sys.stderr, "buffer", None) if echo else None
    start = time.perf_counter()
    with open(out / "lab.log", "wb") as log:
        try:
            proc = subprocess.Popen(run.command, stdout=None, stderr=subprocess.PIPE, cwd=REPO)
        except OSError as err:
            run.returncode, run.error = 127, f"cannot start {run.command[1]}: {err.strerror}"
            return run
        tee = threading.Thread(target=_tee, args=(proc.stderr, sink, log), daemon=True)
        tee.start()
        try:
            _, status, usage = os.wait4(proc.pid, 0)
        except KeyboardInterrupt:
            # Ctrl-C reached the child too: let it write its checkpoint, then stop the lab.
            os.wait4(proc.pid, 0)
            raise
        proc.returncode = os.waitstatus_to_exitcode(status)  # we reaped it, not Popen
        tee.join()
        proc.stderr.close()
    run.wall_seconds = time.perf_counter() - start
    run.returncode = proc.returncode
    run.peak_mib = usage.ru_maxrss / 1024  # Linux reports kilobytes
    run.cpu_seconds = usage.ru_utime + usage.ru_stime
    if run.returncode != 0:
        text = (out / "lab.log").read_bytes().decode("utf-8", "replace")
        run.error = error_line(text, run.returncode)
    elif not (out / "vectors.txt").exists():
        run.error = f"{spec.script} finished but wrote no {out / 'vectors.txt'}"
    write_json(out / RUN_RECORD, {"command": run.command, "returncode": run.returncode,
                                  "error": run.error, "wall_seconds": run.wall_seconds,
                                  "peak_mib": run.peak_mib,
                                  "cpu_seconds": run.cpu_seconds})  # fmt: skip
    return run


def reuse_model(spec: ModelSpec, out: Path) -> ModelRun:
    """A run already in `out` (from an earlier lab), read back from its record."""
    path = out / RUN_RECORD
    if not path.exists():
        raise MinilmError(f"--skip-training: {out} holds no earlier lab run of {spec.name}")
    rec = json.loads(path.read_text(encoding="utf-8"))
    return ModelRun(spec, out, rec["command"], rec["returncode"], rec["error"],
                    rec["wall_seconds"], rec["peak_mib"], rec.get("cpu_seconds"))  # fmt: skip


def format_duration(seconds: float) -> str:
    """72.4 -> '1m12s'; 5.2 -> '5s'."""
    seconds = int(round(seconds))
    return f"{seconds // 60}m{seconds % 60:02d}s" if seconds >= 60 else f"{seconds}s"


def progress_line(i: int, n: int, name: str, elapsed: float, eta: float | None) -> str:
    """The overall line printed before each model: model i of n, elapsed, ETA."""
    eta_text = "?" if eta is None else format_duration(eta)
    return f"[lab] model {i}/{n}: {name}  (elapsed {format_duration(elapsed)}, ETA {eta_text})"


def estimate_eta(elapsed: float, done: Sequence[float], remaining: Sequence[float]) -> float:
    """Remaining expected seconds, scaled by how fast this machine has been so far:
    ETA = sum(remaining) * elapsed / sum(done) (or sum(remaining) before any model ended)."""
    expected_done = sum(done)
    speed = elapsed / expected_done if expected_done > 0 and elapsed > 0 else 1.0
    return sum(remaining) * speed


# ---- ground truth ----------------------------------------------------------------------------
TRUTH_FILES = ("categories.tsv", "analogies.txt", "similarity.tsv", "bias.tsv", "senses.tsv")


@dataclass
class Truth:
    """The evaluation files found beside a corpus' train.txt (absent ones are left out)."""

    folder: Path
    files: dict[str, Path] = field(default_factory=dict)

    @classmethod
    def find(cls, folder: Path) -> Truth:
        return cls(folder, {n: folder / n for n in TRUTH_FILES if (folder / n).exists()})

    def get(self, name: str) -> Path | None:
        return self.files.get(name)


def read_bias(path: Path) -> tuple[list[str], np.ndarray]:
    """bias.tsv -> (occupations, planted he-share): columns word, measured, planted, ..."""
    words, planted = [], []
    for line in read_lines(path):
        if not line.strip() or line.startswith("#"):
            continue
        parts = line.split("\t")
        words.append(parts[0].strip())
        planted.append(float(parts[2] if len(parts) > 2 else parts[1]))
    return words, np.array(planted, dtype=np.float64)


def read_senses(path: Path) -> list[tuple[str, int, int, str, str]]:
    """senses.tsv -> [(split, 1-based line, 0-based space-split token index, word, sense)]."""
    rows = []
    for line in read_lines(path):
        if not line.strip() or line.startswith("#"):
            continue
        split, ln, i, word, sense = line.split("\t")
        rows.append((split, int(ln), int(i), word, sense))
    return rows


# ---- evaluation: one protocol for every table of vectors ------------------------------------
@dataclass
class VectorSet:
    """One table of word vectors to compare: a model's, or the transformer's contextual one."""

    name: str  # key in metrics.json ("transformer-ctx")
    label: str  # shown in figures
    model: str  # the run folder it came from
    kv: KeyedVectors


def vector_sets(runs: Sequence[ModelRun]) -> list[VectorSet]:
    """The vector tables of the successful runs on the lab's corpus, in run order."""
    sets = []
    for run in runs:
        if not run.ok or run.spec.corpus != "lab":
            continue
        kv = KeyedVectors.load(run.out / "vectors.txt")
        label = f"{run.spec.label} (static)" if run.spec.contextual else run.spec.label
        sets.append(VectorSet(run.spec.name, label, run.spec.name, kv))
        ctx = run.out / "contextual_vectors.txt"
        if run.spec.contextual and ctx.exists():
            sets.append(VectorSet(f"{run.spec.name}-ctx", f"{run.spec.label} (contextual)",
                                  run.spec.name, KeyedVectors.load(ctx)))  # fmt: skip
    return sets


def analogy_query(kv: KeyedVectors, analogies: Path | None) -> tuple[str, str, str, str] | None:
    """The showcase analogy (a, b, c, d) meaning b - a + c = d: man king woman queen when all
    four words are known, else the first question of the file whose words all are."""
    if {"man", "king", "woman", "queen"} <= set(kv.key_to_index):
        return ("man", "king", "woman", "queen")
    if analogies is None:
        return None
    for _, questions in ev.read_analogies(analogies):
        for q in questions:
            if all(w in kv for w in q):
                return q
    return None


def evaluate_vectors(
    kv: KeyedVectors, truth: Truth, rng: np.random.Generator, query: tuple | None
) -> dict:
    """Every static-vector metric of the lab for one table (None where the truth is missing)."""
    m: dict = {"vocab_size": len(kv), "dim": kv.dim}
    if (path := truth.get("categories.tsv")) is not None:
        try:
            details = ev.category_purity_details(kv, path)
            m["category_purity"] = details["purity"]
            m["category_purity_per_category"] = details["per_category"]
            m["category_words"] = details["n_words"]
        except MinilmError:
            m["category_purity"] = None
    if (path := truth.get("analogies.txt")) is not None:
        an = ev.evaluate_analogies(kv, path)
        m["analogy_accuracy"] = an["accuracy_excluded"]
        m["analogy_accuracy_no_exclusion"] = an["accuracy_no_exclusion"]
        m["analogy_query_word_share"] = an["query_word_share"]
        m["analogy_questions_used"] = an["n_evaluated"]
        m["analogy_sections"] = {
            s["name"]: {"excluded": s["accuracy_excluded"],
                        "no_exclusion": s["accuracy_no_exclusion"]}
            for s in an["sections"]
        }  # fmt: skip
    if query is not None and all(w in kv for w in query):
        a, b, c, d = query
        m["analogy_example"] = {
            "query": f"{b} - {a} + {c}",
            "expected": d,
            "excluded": kv.most_similar([b, c], [a], topn=5, exclude_query=True),
            "no_exclusion": kv.most_similar([b, c], [a], topn=5, exclude_query=False),
        }
    if (path := truth.get("similarity.tsv")) is not None:
        sim = ev.evaluate_similarity(kv, path)
        m["similarity_spearman"] = sim["spearman"]
        m["similarity_pairs_used"] = sim["n_used"]
    aniso = ev.anisotropy(kv.vectors, rng, n_pairs=5000)
    m["anisotropy"] = aniso["mean_cosine"]
    m["anisotropy_centred"] = aniso["mean_cosine_centred"]
    if (path := truth.get("bias.tsv")) is not None and "he" in kv and "she" in kv:
        words, planted = read_bias(path)
        bias = ev.bias_correlation(kv, words, planted)
        m["bias"] = {k: bias[k] for k in ("pearson", "spearman", "words", "projections",
                                          "skews", "n_used")}  # fmt: skip
    return m


# Figures of the child runs copied into the lab's section of a model (when the child wrote them).
CHILD_METRICS = (
    "train_seconds", "tokens_per_second", "train_tokens", "valid_perplexity", "test_perplexity",
    "kn3_test_perplexity", "kn5_test_perplexity", "mlm_accuracy", "unigram_accuracy",
    "sense_accuracy", "static_sense_accuracy", "sense_accuracy_min", "coarse_category_purity",
    "category_purity_ceiling", "category_r_precision", "retrieval_recall_at_1",
)  # fmt: skip


def child_metrics(run: ModelRun) -> dict:
    """The child's own metrics.json figures that the lab reports (perplexities, timings ...)."""
    path = run.out / "metrics.json"
    if not path.exists():
        return {}
    data = json.loads(path.read_text(encoding="utf-8"))
    out = {k: data[k] for k in CHILD_METRICS if k in data}
    if run.spec.contextual:
        for key in ("anisotropy", "anisotropy_centred"):  # per layer, embeddings .. last
            if isinstance(data.get(key), list):
                out[f"layer_{key}"] = data[key]
    return out


def training_losses(run: ModelRun) -> np.ndarray:
    """Per-step training losses from the child's checkpoint (empty for closed-form models)."""
    path = run.out / "checkpoint.npz"
    if not path.exists():
        return np.zeros(0)
    arrays = load_npz(path)
    return np.asarray(arrays.get("history/losses", np.zeros(0)), dtype=np.float64)


# ---- contextual occurrences for the static-vs-contextual figure -----------------------------
def contextual_occurrences(
    run_dir: Path, truth: Truth, per_word: int = 120
) -> dict[str, tuple[np.ndarray, list[str]]]:
    """Last-layer vectors of annotated occurrences of each polysemous word, with their senses.

    Reads senses.tsv (test split, else train), re-tokenises each line, and runs the saved
    word-level transformer (`encode`) over those sentences: {word: (vectors (n, D), senses)}.
    """
    from minilm.models import transformer as tf
    from minilm.runs import load_run

    path = truth.get("senses.tsv")
    if path is None:
        return {}
    run = load_run(run_dir)
    if run.vocab is None or run.config.get("tokenizer", "word") != "word":
        return {}
    cfg = tf.Config(**run.config["model_config"])
    rows = read_senses(path)
    # Held-out occurrences when the test split has enough of each word, else training ones.
    test_words = [r[3] for r in rows if r[0] == "test"]
    enough = test_words and min(test_words.count(w) for w in set(test_words)) >= 20
    split = "test" if enough else "train"
    text_path = truth.folder / f"{split}.txt"
    if not text_path.exists():
        return {}
    wanted: dict[int, list] = {}
    taken: dict[str, int] = {}
    for r in rows:
        if r[0] == split and taken.get(r[3], 0) < per_word:
            taken[r[3]] = taken.get(r[3], 0) + 1
            wanted.setdefault(r[1], []).append(r)
    sentences, positions, labels = [], [], []
    for ln, line in enumerate(read_lines(text_path), start=1):
        for _, _, i, word, sense in wanted.get(ln, ()):
            tokens = tokenize(line)[: cfg.max_len]
            pos = len(tokenize(" ".join(line.split()[:i])))
            if pos < len(tokens) and tokens[pos] == word:
                sentences.append(run.vocab.encode(tokens))
                positions.append(pos)
                labels.append((word, sense))
    if not sentences:
        return {}
    N, T = len(sentences), max(len(s) for s in sentences)
    ids = np.full((N, T), run.vocab.pad, dtype=np.int64)
    pad_mask = np.ones((N, T), dtype=bool)
    for n, s in enumerate(sentences):  # a few hundred short sentences, once
        ids[n, : len(s)] = s
        pad_mask[n, : len(s)] = False
    h = np.concatenate([tf.encode(run.params, cfg, ids[b : b + 256], pad_mask[b : b + 256])[-1]
                        for b in range(0, N, 256)])  # (N, T, D)  # fmt: skip
    vecs = h[np.arange(N), np.array(positions)]  # (N, D)
    out = {}
    for word in sorted({w for w, _ in labels}):
        keep = np.array([w == word for w, _ in labels])
        out[word] = (vecs[keep], [s for (w, s) in labels if w == word])
    return out


# ---- the whole lab ---------------------------------------------------------------------------
@dataclass
class LabResult:
    out: Path
    runs: list[ModelRun]
    metrics: dict
    figures: dict[str, Path]
    notes: list[str]

    @property
    def failed(self) -> list[ModelRun]:
        return [r for r in self.runs if not r.ok]


def prepare_corpora(
    out: Path, corpus: str | None, quick: bool, sentences: int | None, generate: bool = True
):
    """(lab corpus folder or file, its ground-truth folder, elman folder). --quick without
    --corpus generates a small world (and a small Elman corpus) into OUT/corpus and
    OUT/corpus-elman (`generate=False`: they are there already)."""
    from minilm.data import elman, world

    elman_dir = ELMAN_CORPUS
    if not generate:
        if quick:
            elman_dir = out / "corpus-elman"
        if (quick and corpus is None) or sentences is not None:
            corpus = str(out / "corpus")
    elif quick:
        n = sentences or QUICK_SENTENCES
        elman_dir = out / "corpus-elman"
        elman.write_elman(elman_dir, max(200, min(n, QUICK_ELMAN_SENTENCES)), elman.DEFAULT_SEED)
        if corpus is None:
            world.write_world(out / "corpus", n, world.DEFAULT_SEED)
            corpus = str(out / "corpus")
    elif sentences is not None:
        world.write_world(out / "corpus", sentences, world.DEFAULT_SEED)
        corpus = str(out / "corpus")
    paths = resolve_corpus(corpus)
    for _ in read_lines(paths["train"]):  # an unreadable corpus is bad input: stop before training
        pass
    lab_corpus = Path(corpus) if corpus is not None else paths["train"].parent
    return lab_corpus.resolve(), paths["train"].parent.resolve(), Path(elman_dir).resolve()


def train_models(
    specs: Sequence[ModelSpec],
    out: Path,
    corpora: dict[str, Path],
    seed: int,
    quick: bool,
    log: Callable[[str], None] = print,
    echo: bool = True,
) -> list[ModelRun]:
    """Run every model's script, one after another, with an overall progress line."""
    t_start = time.perf_counter()
    expected = [1.0 if quick else s.seconds for s in specs]
    runs: list[ModelRun] = []
    for i, spec in enumerate(specs):
        elapsed = time.perf_counter() - t_start
        log(progress_line(i + 1, len(specs), spec.name, elapsed,
                          estimate_eta(elapsed, expected[:i], expected[i:])))  # fmt: skip
        run = run_model(spec, out / spec.name, corpora[spec.corpus], seed, quick, echo=echo)
        runs.append(run)
        if run.ok:
            log(
                f"[lab] {spec.name} done in {format_duration(run.wall_seconds)} "
                f"(CPU {format_duration(run.cpu_seconds)}), peak memory {run.peak_mib:.0f} MiB"
            )
        else:
            log(f"[lab] {spec.name} FAILED: {run.error} (log: {run.out / 'lab.log'})")
    return runs


def evaluate_runs(
    runs: Sequence[ModelRun], truth: Truth, corpora: dict[str, Path], seed: int
) -> tuple[dict, list[VectorSet]]:
    """metrics {"lab": {...}, "models": {name: section}} and the vector tables compared.

    A section holds the run's own figures (perplexities, timings; see CHILD_METRICS), its cost
    as the lab measured it, and every metric of `evaluate_vectors` on the lab's ground truth.
    """
    rng = np.random.default_rng(seed)
    sets = vector_sets(runs)
    metrics: dict = {"lab": {}, "models": {}}
    query = analogy_query(sets[0].kv, truth.get("analogies.txt")) if sets else None
    if (cats := truth.get("categories.tsv")) is not None:
        metrics["lab"]["category_purity_chance"] = purity_chance(ev.read_categories(cats)[1])
    for run in runs:
        section = {"status": "ok" if run.ok else "failed", "label": run.spec.label,
                   "corpus": str(corpora[run.spec.corpus]), "wall_seconds": run.wall_seconds,
                   "cpu_seconds": run.cpu_seconds, "peak_memory_mib": run.peak_mib}  # fmt: skip
        # The script and its flags, paths inside the repository written relative to it.
        section["command"] = shlex.join(run.command[1:]).replace(f"{REPO}{os.sep}", "")
        if not run.ok:
            section["error"] = run.error
        else:
            section |= child_metrics(run)
        metrics["models"][run.spec.name] = section
    for vs in sets:
        section = metrics["models"].setdefault(vs.name, {})
        if vs.name != vs.model:  # the contextual table shares its run's cost figures
            parent = metrics["models"][vs.model]
            section |= {"status": "ok", "of_model": vs.model}
            section |= {k: parent.get(k) for k in ("train_seconds", "peak_memory_mib")}
        section["label"] = vs.label
        section |= evaluate_vectors(vs.kv, truth, rng, query)
    return metrics, sets


def run_lab(
    out: str | os.PathLike,
    corpus: str | None = None,
    models: Sequence[str] | None = None,
    quick: bool = False,
    seed: int = 0,
    sentences: int | None = None,
    log: Callable[[str], None] = print,
    echo: bool = True,
    skip_training: bool = False,
) -> LabResult:
    """Train, evaluate, plot and report; returns what was done (failed models included).

    `skip_training` re-evaluates and redraws the runs an earlier lab left in `out`."""
    from minilm import lab_figures, lab_report

    t_start = time.perf_counter()
    out = ensure_dir(out).resolve()
    specs = select_models(models)
    lab_corpus, folder, elman_dir = prepare_corpora(
        out, corpus, quick, sentences, generate=not skip_training
    )
    corpora = {"lab": lab_corpus, "elman": elman_dir}
    if skip_training:
        runs = [reuse_model(spec, out / spec.name) for spec in specs]
    else:
        runs = train_models(specs, out, corpora, seed, quick, log, echo)

    log("[lab] evaluating every model with one protocol ...")
    t_eval = time.perf_counter()
    truth = Truth.find(folder)
    metrics, sets = evaluate_runs(runs, truth, corpora, seed)
    log("[lab] drawing figures ...")
    figures, notes = lab_figures.draw_all(out, runs, sets, truth, metrics, elman_dir, seed, quick)
    metrics["lab"] |= {
        "corpus": str(lab_corpus), "elman_corpus": str(elman_dir), "quick": quick, "seed": seed,
        "models": [s.name for s in specs], "failed": [r.spec.name for r in runs if not r.ok],
        "train_wall_seconds": sum(r.wall_seconds for r in runs),
        "train_cpu_seconds": sum(r.cpu_seconds or 0.0 for r in runs),
        "eval_seconds": time.perf_counter() - t_eval,
        "total_seconds": time.perf_counter() - t_start,  # this session's (skip_training: eval)
        "peak_memory_mib": max([r.peak_mib or 0.0 for r in runs] + [_own_peak_mib()]),
        "truth_files": sorted(truth.files), "figures": {k: p.name for k, p in figures.items()},
        "notes": notes,
    }  # fmt: skip
    write_json(out / "metrics.json", _finite_or_none(metrics))
    write_text(out / "report.md", lab_report.render(metrics, figures, notes))
    return LabResult(out, runs, metrics, figures, notes)


def purity_chance(categories: Sequence[str]) -> float:
    """Expected category purity of random neighbours: sum_c n_c (n_c - 1) / (N (N - 1))."""
    _, counts = np.unique(np.asarray(categories), return_counts=True)
    N = counts.sum()
    return float((counts * (counts - 1)).sum() / max(1, N * (N - 1)))


def _own_peak_mib() -> float:
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _finite_or_none(obj: object) -> object:
    """JSON has no NaN/inf: write them as null, recursively (tuples become lists)."""
    if isinstance(obj, dict):
        return {k: _finite_or_none(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [_finite_or_none(v) for v in obj]
    if isinstance(obj, float | np.floating):
        return float(obj) if math.isfinite(float(obj)) else None
    if isinstance(obj, np.integer):
        return int(obj)
    return obj


# ---- looking words up in every model side by side -------------------------------------------
def load_run_tables(run_dir: str | os.PathLike) -> list[tuple[str, KeyedVectors]]:
    """Every vector table of a lab run folder: (name, table) per OUT/<model>/vectors.txt, plus
    the contextual table where a run wrote one; in the lab's model order, others after.
    A single run folder (vectors.txt inside) or a vectors file gives its own table."""
    run_dir = Path(run_dir)
    if run_dir.is_file():  # one vectors file: a table of its own
        return [(run_dir.stem, KeyedVectors.load(run_dir))]
    if not run_dir.is_dir():
        raise MinilmError(f"{run_dir}: no such file or folder; give a vectors file or a run folder")
    order = {name: i for i, name in enumerate(ALL_MODELS)}
    if (run_dir / "vectors.txt").exists():
        return [(run_dir.name, KeyedVectors.load(run_dir / "vectors.txt"))]
    folders = sorted((p for p in run_dir.iterdir() if (p / "vectors.txt").exists()),
                     key=lambda p: (order.get(p.name, len(order)), p.name))  # fmt: skip
    tables = []
    for folder in folders:
        tables.append((folder.name, KeyedVectors.load(folder / "vectors.txt")))
        ctx = folder / "contextual_vectors.txt"
        if ctx.exists():
            tables.append((f"{folder.name}-ctx", KeyedVectors.load(ctx)))
    if not tables:
        raise MinilmError(f"{run_dir}: no <model>/vectors.txt inside; is it a lab run folder?")
    return tables


def neighbours_table(
    tables: Sequence[tuple[str, KeyedVectors]], word: str, topn: int = 8, per_row: int = 4
) -> str:
    """`word`'s nearest neighbours in every table, side by side (columns of `per_row` tables)."""
    width = 22
    blocks = []
    for s in range(0, len(tables), per_row):
        chunk = tables[s : s + per_row]
        columns = []
        for name, kv in chunk:
            if word in kv:
                cells = [f"{w} {c:.2f}" for w, c in kv.nearest(word, topn)]
            else:
                cells = ["(not in vocabulary)"]
            columns.append([name, "-" * min(width - 1, len(name))] + cells)
        height = max(len(c) for c in columns)
        lines = ["".join(f"{(c[r] if r < len(c) else ''):<{width}}"[:width] for c in columns)
                 .rstrip() for r in range(height)]  # fmt: skip
        blocks.append("\n".join(lines))
    return "\n\n".join(blocks)


def interactive_neighbors(
    run_dir: str | os.PathLike,
    input_fn: Callable[[str], str] = input,
    output: IO[str] | None = None,
    topn: int = 8,
) -> int:
    """Type a word, see its nearest neighbours in every model of a lab run side by side.

    Reads lines from `input_fn` until an empty line, `quit`, or end of input; several words on
    a line are looked up one after another. Returns the number of words looked up.
    """
    output = output or sys.stdout
    tables = load_run_tables(run_dir)
    print(f"{len(tables)} tables: {', '.join(n for n, _ in tables)}", file=output)
    print("type a word (empty line or 'quit' to stop)", file=output)
    looked_up = 0
    while True:
        try:
            line = input_fn("word> ")
        except EOFError:
            break
        words = tokenize(line)
        if not words or words == ["quit"]:
            break
        for word in words:
            print(f"\nnearest neighbours of {word!r} (cosine)", file=output)
            print(neighbours_table(tables, word, topn), file=output)
            looked_up += 1
        output.flush()
    return looked_up
