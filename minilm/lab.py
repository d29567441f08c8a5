"""The lab: train every model on one corpus, evaluate all with one protocol, plot, report.

    python scripts/lab.py --out runs/lab            # bundled world corpus, every model
    python scripts/lab.py --out runs/quick --quick  # a small generated world, 1 epoch, small dims

Steps, in order, each in its own module:
1. **Corpus.** The lab's corpus is checked once here (readable, has words): a corpus no model
   can use is one error line (exit 2), not the same error from every model.
2. **Train** (`minilm.lab_runner`). Each model of `minilm.lab_models` runs its own script as a
   child process into `OUT/<model>/`. A model that fails is reported with its one-line error
   and the others go on; the lab exits non-zero at the end.
3. **Evaluate** (`minilm.evaluate`, `minilm.lab_contextual`). Every model's vectors are loaded
   and scored in this process with one protocol on the corpus' ground truth (`minilm.truth`):
   category purity, analogies under both protocols, similarity, anisotropy, and the planted gender
   skew on the direction of the world's gendered noun pairs (docs/bias-findings.md).
4. **Plot and report** (`minilm.lab_figures`, `minilm.lab_report`). The figures take the data
   gathered here; `OUT/report.md` fills every number in from this run's `OUT/metrics.json`.

The transformer and ELMo are the contextual models: each has a static table (its embedding)
and a contextual one (contextual_vectors.txt), and figure 7 draws both models' occurrences of
the polysemous words. The SRN is trained twice: on the lab's corpus (`srn`, a row of the
comparison like every other model) and on the bundled `corpus/elman` (`srn-elman`), whose 29
categorised words and two-level categories are what Elman's dendrogram (his Figure 7) is about.
"""

from __future__ import annotations

import json
import os
import shlex
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from minilm import evaluate as ev
from minilm import explore_sources, lab_figures, lab_report, lab_search, lab_transfer, na
from minilm.data.text import read_lines, resolve_corpus, tokenize
from minilm.data.world import GENDER_PAIRS
from minilm.errors import EXIT_BAD_INPUT, MinilmError
from minilm.io import ensure_dir, load_npz, write_json, write_text
from minilm.lab_contextual import contextual_occurrences
from minilm.lab_models import ModelSpec, VectorSet, select_models, with_flags
from minilm.lab_runner import REPO, ModelRun, reuse_model, train_models
from minilm.lab_search_figures import draw_search_figures
from minilm.truth import Truth, read_categories
from minilm.vectors import KeyedVectors

ELMAN_CORPUS = REPO / "corpus" / "elman"
QUICK_SENTENCES = 3000  # --quick's generated world: train ~2,700 sentences, ~24k tokens
QUICK_ELMAN_SENTENCES = 3000
# The bias figure's definitional pairs: the gendered nouns (man/woman, king/queen, ...), not
# he/she, whose contexts are not the occupations' (docs/bias-findings.md).
BIAS_PAIRS = [(male, female) for male, female, _, _ in GENDER_PAIRS]


# ---- the corpora -----------------------------------------------------------------------------
def check_corpus(paths: dict[str, Path]) -> None:
    """Every split file is readable UTF-8 text and train has words: else one MinilmError, so
    that an unusable corpus stops the lab before any model is trained on it."""
    for split, path in paths.items():
        has_words = False
        for line in read_lines(path):  # all of it: a bad byte anywhere is bad input
            has_words = has_words or bool(tokenize(line))
        if split == "train" and not has_words:
            raise MinilmError(f"{path}: no words in the text; give a corpus with words in it")


def _generate(out: Path, corpus: str | None, quick: bool, sentences: int | None):
    """(corpus, elman folder) after writing the generated corpora --quick / --sentences ask for."""
    from minilm.data import elman, world

    elman_dir = ELMAN_CORPUS
    if quick:
        n = sentences or QUICK_SENTENCES
        elman_dir = out / "corpus-elman"
        elman.write_elman(elman_dir, max(200, min(n, QUICK_ELMAN_SENTENCES)), elman.DEFAULT_SEED)
        if corpus is None:
            world.write_world(out / "corpus", n, world.DEFAULT_SEED)
            corpus = str(out / "corpus")
    elif sentences is not None:  # --sentences: a generated world of that size
        world.write_world(out / "corpus", sentences, world.DEFAULT_SEED)
        corpus = str(out / "corpus")
    return corpus, elman_dir


def prepare_corpora(
    out: Path, corpus: str | None, quick: bool, sentences: int | None, generate: bool = True
) -> tuple[Path, Path, Path]:
    """(lab corpus folder or file, its ground-truth folder, elman folder). --quick without
    --corpus generates a small world (and a small Elman corpus) into OUT/corpus and
    OUT/corpus-elman (`generate=False`: they are there already)."""
    if generate:
        corpus, elman_dir = _generate(out, corpus, quick, sentences)
    else:
        elman_dir = out / "corpus-elman" if quick else ELMAN_CORPUS
        if (quick and corpus is None) or sentences is not None:
            corpus = str(out / "corpus")
    paths = resolve_corpus(corpus)
    check_corpus(paths)
    lab_corpus = Path(corpus) if corpus is not None else paths["train"].parent
    return lab_corpus.resolve(), paths["train"].parent.resolve(), Path(elman_dir).resolve()


# ---- what the runs left ------------------------------------------------------------------------
# Figures of the child runs copied into the lab's section of a model (when the child wrote them).
CHILD_METRICS = (
    "train_seconds",
    "tokens_per_second",
    "train_tokens",
    "valid_perplexity",
    "test_perplexity",
    "kn3_test_perplexity",
    "kn5_test_perplexity",
    "mlm_accuracy",
    "unigram_accuracy",
    "sense_accuracy",
    "static_sense_accuracy",
    "sense_accuracy_min",
    "coarse_category_purity",
    "category_purity_ceiling",
    "category_r_precision",
    "retrieval_recall_at_1",
    "sense_representation",
    "sense_mix_weights",
    "sense_accuracy_by_layer",
)


def child_metrics(run: ModelRun) -> dict:
    """The child's own metrics.json figures that the lab reports (perplexities, timings ...)."""
    path = run.out / "metrics.json"
    if not path.exists():
        return {}
    data = json.loads(path.read_text(encoding="utf-8"))
    out = {k: data[k] for k in CHILD_METRICS if k in data}
    why = {k: r for k, r in (data.get(na.WHY_NA) or {}).items() if k in out}
    if why:
        out[na.WHY_NA] = why
    if run.spec.contextual:  # per layer, embeddings .. last (ELMo names them layer_*)
        for key in ("anisotropy", "anisotropy_centred"):
            for found in (data.get(key), data.get(f"layer_{key}")):
                if isinstance(found, list):
                    out[f"layer_{key}"] = found
    return out


def training_losses(run: ModelRun) -> np.ndarray:
    """Per-step training losses from the child's checkpoint (empty for closed-form models)."""
    path = run.out / "checkpoint.npz"
    if not path.exists():
        return np.zeros(0)
    arrays = load_npz(path)
    return np.asarray(arrays.get("history/losses", np.zeros(0)), dtype=np.float64)


def vector_sets(runs: Sequence[ModelRun]) -> list[VectorSet]:
    """The vector tables of the successful runs on the lab's corpus, in run order."""
    sets = []
    for run in runs:
        if not run.ok or run.spec.corpus != "lab":
            continue
        spec = run.spec
        label = f"{spec.label} (static)" if spec.contextual else spec.label
        kv = KeyedVectors.load(run.out / "vectors.txt")
        sets.append(VectorSet(spec.name, label, spec.name, kv))
        ctx = run.out / "contextual_vectors.txt"
        if spec.contextual and ctx.exists():
            ctx_label = f"{spec.label} (contextual)"
            sets.append(VectorSet(f"{spec.name}-ctx", ctx_label, spec.name, KeyedVectors.load(ctx)))
    return sets


# ---- evaluation: one protocol for every table of vectors ---------------------------------------
def run_section(run: ModelRun, corpus: Path) -> dict:
    """A model's metrics section before its vectors are scored: status, cost, its own figures."""
    section = {
        "status": "ok" if run.ok else "failed",
        "label": run.spec.label,
        "corpus": str(corpus),
        "wall_seconds": run.wall_seconds,
        "cpu_seconds": run.cpu_seconds,
        "peak_memory_mib": run.peak_mib,
        # The script and its flags, paths inside the repository written relative to it.
        "command": shlex.join(run.command[1:]).replace(f"{REPO}{os.sep}", ""),
    }
    if not run.ok:
        section["error"] = run.error
        section["skipped"] = run.returncode == EXIT_BAD_INPUT  # the program refused the corpus
    else:
        section |= child_metrics(run)
    return section


def elman_purity(run: ModelRun, categories: Path) -> dict:
    """Category purity of the SRN's mean hidden states on Elman's fine and noun/verb levels."""
    kv = KeyedVectors.load(run.out / "vectors.txt")
    m = na.measure({}, "category_purity", lambda: ev.category_purity(kv, categories, level="fine"))
    try:
        coarse = lambda: ev.category_purity(kv, categories, level="coarse")  # noqa: E731
        na.measure(m, "coarse_category_purity", coarse)
        rows = zip(*read_categories(categories), read_categories(categories, 2)[1], strict=True)
        known = [row for row in rows if row[0] in kv]
        if len(known) >= 2:  # what figure 2's top merge joins, for the report's sentence
            m |= lab_figures.elman_top_split(kv, *(list(col) for col in zip(*known, strict=True)))
    except MinilmError:  # a categories file without the noun/verb column
        pass
    return m


def evaluate_runs(
    runs: Sequence[ModelRun], truth: Truth, corpora: dict[str, Path], seed: int
) -> tuple[dict, list[VectorSet]]:
    """metrics {"lab": {...}, "models": {name: section}} and the vector tables compared.

    A section holds the run's own figures (perplexities, timings; see CHILD_METRICS), its cost
    as the lab measured it, and every figure of `evaluate.evaluate_vectors` on the ground truth.
    """
    rng = np.random.default_rng(seed)
    sets = vector_sets(runs)
    metrics: dict = {"lab": {}, "models": {}}
    if (cats := truth.get("categories.tsv")) is not None:
        metrics["lab"]["category_purity_chance"] = ev.purity_chance(read_categories(cats)[1])
    for run in runs:
        metrics["models"][run.spec.name] = run_section(run, corpora[run.spec.corpus])
        elman_cats = corpora["elman"] / "categories.tsv"
        if run.ok and run.spec.corpus == "elman" and elman_cats.exists():
            na.merge(metrics["models"][run.spec.name], elman_purity(run, elman_cats))
    example = ev.showcase_analogy(sets[0].kv, truth.get("analogies.txt")) if sets else None
    for vs in sets:
        section = metrics["models"].setdefault(vs.name, {})
        if vs.name != vs.model:  # the contextual table shares its run's cost figures
            parent = metrics["models"][vs.model]
            section |= {"status": "ok", "of_model": vs.model}
            section |= {k: parent.get(k) for k in ("train_seconds", "peak_memory_mib")}
        section["label"] = vs.label
        na.merge(section, ev.evaluate_vectors(vs.kv, truth.files, rng, example, BIAS_PAIRS))
    return metrics, sets


# ---- the figures' data -------------------------------------------------------------------------
def elman_inputs(runs: Sequence[ModelRun], models: dict, elman_dir: Path, notes: list[str]):
    """Figure 2's inputs, or None with a note saying why."""
    run = next((r for r in runs if r.spec.corpus == "elman"), None)
    categories = Path(elman_dir) / "categories.tsv"
    if run is None or not run.ok:
        notes.append("Figure 2 skipped: the srn-elman model did not run.")
        return None
    if not categories.exists():
        notes.append(f"Figure 2 skipped: {categories} is missing.")
        return None
    kv = KeyedVectors.load(run.out / "vectors.txt")
    pairs = [(w, c) for w, c in zip(*read_categories(categories), strict=True) if w in kv]
    words, fine = [w for w, _ in pairs], [c for _, c in pairs]
    return lab_figures.ElmanInputs(kv, words, fine, models[run.spec.name])


def perplexity_rows(runs: Sequence[ModelRun], models: dict) -> dict[str, float]:
    """{label: test perplexity} of the neural language models, then the Kneser-Ney baselines."""
    ppl, kn = {}, {}
    for r in runs:
        m = models.get(r.spec.name, {})
        if r.ok and r.spec.language_model and m.get("test_perplexity") is not None:
            note = f" ({r.spec.perplexity_of})" if r.spec.perplexity_of else ""
            ppl[r.spec.label + note] = m["test_perplexity"]
            for n in (3, 5):
                if m.get(f"kn{n}_test_perplexity") is not None:
                    kn.setdefault(f"Kneser-Ney {n}-gram", m[f"kn{n}_test_perplexity"])
    return ppl | kn


def figure_inputs(
    runs: Sequence[ModelRun],
    sets: list[VectorSet],
    truth: Truth,
    metrics: dict,
    elman_dir: Path,
    seed: int,
    quick: bool,
) -> lab_figures.FigureInputs:
    """Everything the figures show, gathered (and the transformer run) here, not in plotting."""
    models = metrics["models"]
    inp = lab_figures.FigureInputs(sets, models, seed, quick)
    if (cats := truth.get("categories.tsv")) is not None:
        inp.categories = read_categories(cats)
    inp.has_analogies = truth.get("analogies.txt") is not None
    inp.elman = elman_inputs(runs, models, elman_dir, inp.notes)
    for run in (r for r in runs if r.ok and r.spec.contextual and sets):
        found = contextual_occurrences(run.out, truth)
        if found:
            inp.contextual[run.spec.name] = found
    if inp.contextual:  # the explorer page shows the first (the transformer's, when it ran)
        inp.contextual_model, inp.occurrences = next(iter(inp.contextual.items()))
    inp.curves = [(r.spec.label, training_losses(r)) for r in runs if r.ok]
    inp.perplexities = perplexity_rows(runs, models)
    return inp


# ---- the whole lab -----------------------------------------------------------------------------
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


def stop_if_the_corpus_failed_them_all(runs: Sequence[ModelRun]) -> None:
    """Several models on the lab's corpus that all failed with one same error: the corpus is the
    problem (one that `check_corpus` cannot foresee), so say it once, as bad input."""
    errors = {r.error for r in runs if r.spec.corpus == "lab"}
    n_lab = sum(r.spec.corpus == "lab" for r in runs)
    if n_lab >= 2 and len(errors) == 1 and all(not r.ok for r in runs if r.spec.corpus == "lab"):
        raise MinilmError(f"every model failed on the corpus: {errors.pop()}")


def lab_summary(
    specs: Sequence[ModelSpec],
    runs: Sequence[ModelRun],
    corpora: dict[str, Path],
    truth: Truth,
    quick: bool,
    seed: int,
    train_wall: float,
    jobs: int,
) -> dict:
    """The "lab" section of metrics.json (the other timings are added by `run_lab`);
    `train_wall` the training's wall time, `jobs` the models trained at a time."""
    return {
        "corpus": str(corpora["lab"]),
        "elman_corpus": str(corpora["elman"]),
        "quick": quick,
        "seed": seed,
        "models": [s.name for s in specs],
        "failed": [r.spec.name for r in runs if not r.ok],
        "train_wall_seconds": train_wall,
        "jobs": jobs,
        "train_cpu_seconds": sum(r.cpu_seconds or 0.0 for r in runs),
        "peak_memory_mib": max([r.peak_mib or 0.0 for r in runs] + [_own_peak_mib()]),
        "truth_files": sorted(truth.files),
    }


def search_and_transfer(runs, truth: Truth, folder: Path, seed: int, log) -> dict:
    """metrics.json's "search" (minilm/lab_search.py) and "transfer" (minilm/lab_transfer.py)."""
    log("[lab] search: the small MTEB, quantised rows, BM25 and hybrid ...")
    search = lab_search.search_section(runs, truth, seed)
    log("[lab] transfer: a window tagger on random and pre-trained tables ...")
    return {"search": search, "transfer": lab_transfer.transfer_section(runs, folder, seed)}


def draw_everything(out: Path, inputs: lab_figures.FigureInputs, metrics: dict):
    """Figures 1-8 (minilm/lab_figures.py), then 9a, 9b and 10 (minilm/lab_search_figures.py)."""
    drawn = lab_figures.draw_all(out, inputs)
    figures, notes = draw_search_figures(out, metrics)
    drawn.figures |= figures
    drawn.notes += notes
    return drawn


def train_afresh(
    specs: Sequence[ModelSpec],
    out: Path,
    corpora: dict[str, Path],
    seed: int,
    quick: bool,
    log: Callable[[str], None],
    echo: bool,
    threads: int | None,
    jobs: int,
) -> tuple[list[ModelRun], float]:
    """Train every model into `out` (lab_runner.train_models) with no earlier report beside
    them: (the runs, the training's wall time: lanes overlap, so not the sum of the runs')."""
    for name in ("report.md", "metrics.json"):
        (out / name).unlink(missing_ok=True)
    t_train = time.perf_counter()
    runs = train_models(specs, out, corpora, seed, quick, log, echo, threads, jobs)
    return runs, time.perf_counter() - t_train


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
    threads: int | None = None,
    flags: Sequence[str] | None = None,
    jobs: int = 1,
) -> LabResult:
    """Train, evaluate, plot and report; returns what was done (failed models included).

    `skip_training` re-evaluates and redraws the runs an earlier lab left in `out`; `threads`
    is passed to every model's program as --threads (None: each program's own default);
    `flags` ("srn=--cell lstm") add flags to a model's run (lab_models.with_flags); `jobs`
    models train at a time (minilm/lab_runner.py, "Lanes")."""
    t_start = time.perf_counter()
    out = ensure_dir(out).resolve()
    specs = with_flags(select_models(models), flags)
    lab_corpus, folder, elman_dir = prepare_corpora(
        out, corpus, quick, sentences, generate=not skip_training
    )
    corpora = {"lab": lab_corpus, "elman": elman_dir}
    if skip_training:
        runs = [reuse_model(spec, out / spec.name) for spec in specs]
        train_wall = sum(r.wall_seconds for r in runs)  # each run's own, as recorded
    else:
        runs, train_wall = train_afresh(specs, out, corpora, seed, quick, log, echo, threads, jobs)
    stop_if_the_corpus_failed_them_all(runs)

    log("[lab] evaluating every model with one protocol ...")
    t_eval = time.perf_counter()
    truth = Truth.find(folder)
    metrics, sets = evaluate_runs(runs, truth, corpora, seed)
    metrics |= search_and_transfer(runs, truth, folder, seed, log)
    log("[lab] drawing figures ...")
    inputs = figure_inputs(runs, sets, truth, metrics, elman_dir, seed, quick)
    drawn = draw_everything(out, inputs, metrics)
    for name, trust in drawn.trust.items():
        metrics["models"][name] |= {f"trustworthiness_{k}": v for k, v in trust.items()}
    lanes = 1 if skip_training else jobs
    metrics["lab"] |= lab_summary(specs, runs, corpora, truth, quick, seed, train_wall, lanes)
    metrics["lab"] |= {
        "eval_seconds": time.perf_counter() - t_eval,
        "total_seconds": time.perf_counter() - t_start,  # this session's (skip_training: eval)
        "figures": {k: p.name for k, p in drawn.figures.items()},
        "notes": drawn.notes,
    }
    metrics = na.nonfinite_to_none(metrics)  # JSON has no NaN: null, with the reason
    write_json(out / "metrics.json", metrics)
    report_md = lab_report.render(metrics, drawn.figures, drawn.notes)
    write_text(out / "report.md", report_md)
    explore_sources.write_lab_page(out, sets, metrics, inputs, drawn, truth, report_md)
    return LabResult(out, runs, metrics, drawn.figures, drawn.notes)


def _own_peak_mib() -> float:
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
