"""The lab: child runs (errors, per-child peak memory), the report's templating, the interactive
neighbour lookup, and one --quick run end to end on a tiny generated corpus."""

from __future__ import annotations

import importlib.util
import io
import json
import math
import resource
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

from minilm import evaluate, lab, lab_models, lab_report, lab_runner
from minilm.errors import MinilmError
from minilm.vectors import KeyedVectors

REPO = Path(__file__).resolve().parent.parent


def _neighbors_script():
    """scripts/neighbors.py as a module: the interactive view lives in its script."""
    spec = importlib.util.spec_from_file_location("neighbors", REPO / "scripts" / "neighbors.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


# ---- model selection, progress -----------------------------------------------------------------
def test_select_models_default_commas_spaces_and_unknown():
    assert [s.name for s in lab_models.select_models(None)] == list(lab_models.MODELS)
    chosen = lab_models.select_models(["skipgram,cbow", "ppmi", "cbow"])
    assert [s.name for s in chosen] == ["skipgram", "cbow", "ppmi"]  # order kept, no repeats
    assert [s.name for s in lab_models.select_models(["fasttext"])] == ["fasttext"]
    with pytest.raises(MinilmError, match="unknown model.*bert"):
        lab_models.select_models(["skipgram", "bert"])


def test_eta_scales_remaining_work_by_observed_speed():
    assert lab_runner.estimate_eta(0.0, [], [10, 20]) == 30  # nothing done yet: the expected times
    assert lab_runner.estimate_eta(20.0, [10], [5, 5]) == pytest.approx(20.0)  # running 2x slower
    line = lab_runner.progress_line(3, 9, "nplm", 75.0, 130.0)
    assert line == "[lab] model 3/9: nplm  (elapsed 1m15s, ETA 2m10s)"


def test_error_line_prefers_the_error_message():
    assert lab_runner.error_line("tqdm 10%\rtqdm 50%\nerror: no train.txt; give a folder\n", 2) == (
        "no train.txt; give a folder"
    )
    tb = "Traceback (most recent call last):\n  File x\nValueError: shapes differ\n"
    assert lab_runner.error_line(tb, 1) == "ValueError: shapes differ"
    assert lab_runner.error_line("", -9) == "killed by signal 9"
    assert lab_runner.error_line("", 3) == "exited with status 3"


def test_purity_chance_matches_brute_force():
    cats = ["a"] * 3 + ["b"] * 2 + ["c"]
    n = len(cats)
    same = sum(cats[i] == cats[j] for i in range(n) for j in range(n) if i != j)
    assert evaluate.purity_chance(cats) == pytest.approx(same / (n * (n - 1)))


# ---- child runs ----------------------------------------------------------------------------------
def _fake_script(tmp_path: Path, body: str, name: str = "fake") -> lab_models.ModelSpec:
    """A stand-in training script; it writes OUT/vectors.txt (a run must) after `body`."""
    script = tmp_path / f"{name}_train.py"
    write_vectors = """
        import sys
        from pathlib import Path
        out = Path(sys.argv[sys.argv.index("--out") + 1])
        (out / "vectors.txt").write_text("2 2\\na 1 0\\nb 0 1\\n")
    """
    script.write_text(textwrap.dedent(body) + textwrap.dedent(write_vectors))
    return lab_models.ModelSpec(name, name.capitalize(), str(script))  # absolute: replaces scripts/


def test_a_failing_child_reports_its_one_line_error(tmp_path):
    spec = _fake_script(
        tmp_path,
        """
        import sys
        print("progress 50%", file=sys.stderr)
        print("error: --dim must be >= 1; pick a positive size", file=sys.stderr)
        sys.exit(2)
    """,
    )
    run = lab_runner.run_model(spec, tmp_path / "out", tmp_path, seed=0, quick=True, echo=False)
    assert not run.ok and run.returncode == 2
    assert run.error == "--dim must be >= 1; pick a positive size"
    assert "progress 50%" in (tmp_path / "out" / "lab.log").read_text()
    record = json.loads((tmp_path / "out" / lab_runner.RUN_RECORD).read_text())
    assert record["returncode"] == 2 and record["error"] == run.error
    again = lab_runner.reuse_model(spec, tmp_path / "out")  # --skip-training reads the record back
    assert (again.returncode, again.error) == (2, run.error)

    silent = tmp_path / "silent.py"
    silent.write_text("print('done')\n")  # exits 0 but writes nothing
    spec = lab_models.ModelSpec("silent", "Silent", str(silent))
    run = lab_runner.run_model(spec, tmp_path / "silent", tmp_path, seed=0, quick=True, echo=False)
    assert run.returncode == 0 and not run.ok
    assert run.error.startswith(f"{silent} finished but wrote no ")


def test_peak_memory_is_the_childs_own(tmp_path):
    """A child that touches 300 MB reports >= 300 MiB; a small one right after does not inherit
    that figure (RUSAGE_CHILDREN would: it is the maximum over all children so far)."""
    big = _fake_script(
        tmp_path,
        """
        import sys
        import numpy as np
        assert "--corpus" in sys.argv and "--out" in sys.argv and "--seed" in sys.argv
        a = np.ones(300 * 2**20 // 8)  # 300 MiB of float64, every page written
    """,
    )
    run = lab_runner.run_model(big, tmp_path / "big", tmp_path, seed=0, quick=True, echo=False)
    assert run.ok, run.error
    assert run.peak_mib >= 300
    small = _fake_script(tmp_path, "print('hello')\n", name="small")
    run = lab_runner.run_model(small, tmp_path / "small", tmp_path, seed=0, quick=True, echo=False)
    # Linux hands a child the high-water RSS of the process that spawned it (the address space
    # it exec'd from), so the floor is this test process's own peak, not zero.
    own_peak_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    assert run.ok and run.peak_mib < max(150, own_peak_mib + 20)


@pytest.mark.slow  # draws the figures: a few seconds
def test_a_failed_model_is_reported_and_the_others_go_on(tmp_path, monkeypatch):
    broken = _fake_script(
        tmp_path,
        """
        import sys
        print("error: out of memory; lower --dim", file=sys.stderr)
        sys.exit(2)
    """,
    )
    fine = _fake_script(tmp_path, "print('nothing to do')\n", name="fine")
    monkeypatch.setitem(lab_models.ALL_MODELS, "fake", broken)
    monkeypatch.setitem(lab_models.ALL_MODELS, "fine", fine)
    corpus = tmp_path / "c.txt"
    corpus.write_text("a b c\n")
    lines = []
    result = lab.run_lab(
        tmp_path / "lab", corpus=str(corpus), models=["fake", "fine"], log=lines.append, echo=False
    )
    assert [r.spec.name for r in result.failed] == ["fake"]
    assert result.runs[1].ok  # the next model still ran
    assert "[lab] fake FAILED: out of memory; lower --dim" in lines[1]
    assert result.metrics["lab"]["failed"] == ["fake"]
    report = (tmp_path / "lab" / "report.md").read_text()
    assert "**Failed models:** fake: out of memory; lower --dim" in report


def test_an_unusable_corpus_is_one_line_and_exit_2_before_any_training(tmp_path):
    corpus = tmp_path / "punctuation.txt"
    corpus.write_text("...\n!!! ,,,\n")
    out = tmp_path / "lab"
    cmd = [
        sys.executable,
        str(REPO / "scripts" / "lab.py"),
        "--out",
        str(out),
        "--quick",
        "--corpus",
        str(corpus),
    ]
    proc = subprocess.run(cmd, cwd=REPO, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2
    assert proc.stderr == f"error: {corpus}: no words in the text; give a corpus with words in it\n"
    assert "[lab] model" not in proc.stdout  # nothing was trained
    assert not (out / "report.md").exists() and not (out / "ppmi").exists()


def test_every_model_failing_alike_on_the_corpus_is_one_error(tmp_path, monkeypatch):
    """A corpus fault the check cannot foresee: said once, as bad input, with no report."""
    same = "print('error: corpus too small for a window of 5', file=__import__('sys').stderr)\n"
    for name in ("one", "two"):
        spec = _fake_script(tmp_path, same + "raise SystemExit(2)\n", name=name)
        monkeypatch.setitem(lab_models.ALL_MODELS, name, spec)
    corpus = tmp_path / "c.txt"
    corpus.write_text("a b c\n")
    with pytest.raises(MinilmError, match="every model failed on the corpus: corpus too small"):
        lab.run_lab(
            tmp_path / "lab",
            corpus=str(corpus),
            models=["one", "two"],
            log=lambda line: None,
            echo=False,
        )
    assert not (tmp_path / "lab" / "report.md").exists()


@pytest.mark.slow  # matplotlib: a few seconds
def test_figures_are_drawn_from_data_alone(tmp_path):
    """lab_figures takes FigureInputs (tables, numbers, curves): no run folder, no model."""
    from minilm.lab_figures import FigureInputs, draw_all
    from minilm.lab_models import VectorSet

    rng = np.random.default_rng(0)
    words = [a + b for a in "abc" for b in "abcdefghij"]  # 30 plain words
    sets = [
        VectorSet(n, n.upper(), n, KeyedVectors(words, rng.standard_normal((30, 8))))
        for n in ("a", "b")
    ]
    models = {n: {"anisotropy": 0.1, "anisotropy_centred": 0.0} for n in ("a", "b")}
    inputs = FigureInputs(
        sets,
        models,
        curves=[("A", np.linspace(3, 1, 50))],
        categories=(words, [f"c{i % 3}" for i in range(30)]),
        notes=["Figure 2 skipped: the srn-elman model did not run."],
    )
    drawn = draw_all(tmp_path, inputs)
    assert set(drawn.figures) == {
        "clusters_pca",
        "clusters_tsne",
        "similarity",
        "anisotropy",
        "training",
    }
    assert all(p.read_bytes()[:4] == b"\x89PNG" for p in drawn.figures.values())
    assert set(drawn.trust) == {"a", "b"} and 0 <= drawn.trust["a"]["tsne"] <= 1
    notes = " ".join(drawn.notes)
    assert "Figure 2 skipped" in notes and "Figure 4 skipped" in notes
    assert "Figure 7 skipped" in notes and "Perplexity figure skipped" in notes


@pytest.mark.slow  # matplotlib: a few seconds
def test_bias_and_sense_axis_figures_are_drawn_from_data_alone(tmp_path):
    """Figure 6 from the bias numbers; figure 7 from occurrence vectors, where the share of the
    drawn occurrences on their sense's side of x = 0 is the nearest-centroid (cosine) accuracy
    with centroids from the fitting occurrences."""
    from minilm.lab_contextual import WordOccurrences
    from minilm.lab_figures import FigureInputs, draw_all
    from minilm.lab_models import VectorSet
    from minilm.lab_sense_figure import sense_frame

    rng = np.random.default_rng(0)
    words = [a + b for a in "abc" for b in "abcdefghij"]
    sets = [VectorSet("a", "A", "a", KeyedVectors(words, rng.standard_normal((30, 8))))]
    skews = [0.1, 0.5, 0.9]
    bias = {
        "pearson": 0.9,
        "pearson_he_she": -0.2,
        "weat_d": 1.2,
        "weat_p": 0.1,
        "words": ["nurse", "writer", "engineer"],
        "skews": skews,
        "projections": [-0.2, 0.0, 0.3],
        "projections_he_she": [0.1, 0.0, -0.1],
    }
    centre = rng.standard_normal(8) * 3  # a shared offset: cosine and Euclidean disagree

    def cloud(n):
        senses = rng.choice(["x", "y"], n)
        shift = np.where(senses == "y", 1.0, -1.0)[:, None] * np.eye(8)[0]
        return centre + shift + rng.standard_normal((n, 8)) * 1.5, list(senses)

    (fit, fit_s), (drawn, drawn_s) = cloud(300), cloud(80)
    occ = WordOccurrences(drawn, drawn_s, fit, fit_s, "test", "layer 1")
    models = {
        "a": {
            "anisotropy": 0.1,
            "anisotropy_centred": 0.0,
            "bias": bias,
            "sense_accuracy": {"bank": 0.5},
        }
    }
    inputs = FigureInputs(sets, models, contextual={"a": {"bank": occ}})
    drawn_figs = draw_all(tmp_path, inputs)
    assert {"bias", "contextual"} <= set(drawn_figs.figures)
    assert all(drawn_figs.figures[k].read_bytes()[:4] == b"\x89PNG" for k in ("bias", "contextual"))

    def unit(v):
        return v / np.linalg.norm(v, axis=-1, keepdims=True)

    cx, cy = (unit(fit[np.array(fit_s) == s].mean(axis=0)) for s in "xy")
    nearest = np.where(unit(drawn) @ cy > unit(drawn) @ cx, "y", "x")
    _, Y, side = sense_frame(occ)
    assert side == pytest.approx(np.mean(nearest == np.array(drawn_s)))
    assert 0.5 < side < 1  # the task is neither trivial nor hopeless here
    assert np.array_equal(Y[:, 0] > 0, nearest == "y")


# ---- report ------------------------------------------------------------------------------------
def _metrics(ppmi: float, skipgram: float) -> dict:
    base = {
        "status": "ok",
        "category_purity": 0.9,
        "analogy_accuracy_no_exclusion": 0.1,
        "similarity_spearman": 0.5,
        "anisotropy": 0.2,
        "anisotropy_centred": 0.01,
        "train_seconds": 3.0,
        "peak_memory_mib": 100.0,
    }
    return {
        "lab": {
            "corpus": "c",
            "quick": False,
            "seed": 0,
            "models": ["ppmi", "skipgram", "nplm"],
            "failed": ["nplm"],
            "total_seconds": 10.0,
            "train_wall_seconds": 9.0,
            "peak_memory_mib": 120.0,
            "category_purity_chance": 0.05,
        },
        "models": {
            "ppmi": base | {"label": "PPMI-SVD", "analogy_accuracy": ppmi},
            "skipgram": base | {"label": "skip-gram", "analogy_accuracy": skipgram},
            "nplm": {"status": "failed", "label": "NPLM", "error": "out of memory"},
        },
    }


def test_report_numbers_come_from_the_metrics_and_contradictions_are_said():
    text = lab_report.render(_metrics(0.731, 0.456), {"analogies": Path("fig4.png")}, ["a note"])
    assert "PPMI-SVD 0.73 vs skip-gram 0.46" in text
    assert "PPMI-SVD beats SGNS on this run" in text
    assert "![4. Analogies](fig4.png)" in text
    assert "**FAILED**: out of memory" in text and "nplm: out of memory" in text
    assert "- a note" in text
    usual = lab_report.render(_metrics(0.70, 0.75), {}, [])
    assert "beats SGNS" not in usual and "more than 'within reach'" not in usual
    far = lab_report.render(_metrics(0.40, 0.75), {}, [])
    assert "SGNS leads by 0.35" in far


def test_bias_paragraph_reads_the_nouns_direction_and_names_the_contrast():
    M = _metrics(0.7, 0.9)
    M["models"]["skipgram"]["bias"] = {
        "pearson": 0.93,
        "pearson_he_she": -0.22,
        "weat_d": 1.6,
        "weat_p": 0.003,
        "pc1_share": 0.53,
        "n_pairs": 14,
    }
    M["models"]["ppmi"]["bias"] = {
        "pearson": 0.02,
        "pearson_he_she": 0.68,
        "weat_d": 0.03,
        "weat_p": 0.48,
        "pc1_share": 0.27,
        "n_pairs": 14,
    }
    text = lab_report.p_bias(M)
    assert "docs/bias-findings.md" in text and "14 gendered noun pairs" in text
    assert "skip-gram 0.93, PPMI-SVD 0.02" in text  # the nouns' direction, best first
    assert "skip-gram 1.60 (p = 0.003)" in text and "0.27–0.53" in text
    assert "r on he − she (grey in the figure): skip-gram -0.22, PPMI-SVD 0.68" in text
    assert "For PPMI-SVD he − she tracks the skew" in text and "weak" not in text


# ---- interactive neighbours ---------------------------------------------------------------------
def _fake_lab_run(tmp_path: Path) -> Path:
    words = ["king", "queen", "man", "woman", "dog"]
    rng = np.random.default_rng(0)
    for name in ("skipgram", "ppmi"):
        KeyedVectors(words, rng.standard_normal((5, 4))).save_text(tmp_path / name / "vectors.txt")
    ctx = KeyedVectors(words[:3], rng.standard_normal((3, 4)))
    ctx.save_text(tmp_path / "transformer" / "vectors.txt")
    ctx.save_text(tmp_path / "transformer" / "contextual_vectors.txt")
    return tmp_path


def test_interactive_neighbors_side_by_side(tmp_path):
    run_dir = _fake_lab_run(tmp_path)
    answers = iter(["King", "dog", "quit", "never read"])
    out = io.StringIO()
    look = _neighbors_script().interactive_neighbors
    n = look(run_dir, lambda prompt: next(answers), out, topn=3)
    text = out.getvalue()
    assert n == 2  # 'quit' stops before the last line
    assert "4 tables: ppmi, skipgram, transformer, transformer-ctx" in text
    king_block = text.split("nearest neighbours of 'king'")[1].split("nearest neighbours")[0]
    header = king_block.splitlines()[1]  # the line after "(cosine)": one name per column
    assert header.split() == ["ppmi", "skipgram", "transformer", "transformer-ctx"]
    assert "(not in vocabulary)" in text.split("'dog'")[1]  # the transformer lacks 'dog'


def test_interactive_neighbors_stops_at_end_of_input(tmp_path):
    def eof(prompt: str) -> str:
        raise EOFError

    look = _neighbors_script().interactive_neighbors
    assert look(_fake_lab_run(tmp_path), eof, io.StringIO()) == 0
    with pytest.raises(MinilmError, match="no such file or folder"):
        look(tmp_path / "missing", eof, io.StringIO())


# ---- the whole lab, end to end ------------------------------------------------------------------
UNIT = (
    "category_purity coarse_category_purity analogy_accuracy analogy_accuracy_no_exclusion "
    "analogy_query_word_share trustworthiness_pca trustworthiness_tsne mlm_accuracy "
    "category_purity_chance"
)
SIGNED = "similarity_spearman anisotropy anisotropy_centred pearson spearman pearson_he_she"
PERPLEXITY = "test_perplexity valid_perplexity kn3_test_perplexity kn5_test_perplexity"
RANGES = {  # metric name -> (low, high)
    **{k: (0, 1) for k in UNIT.split()},
    **{k: (-1, 1) for k in SIGNED.split()},
    **{k: (1, 1e6) for k in PERPLEXITY.split()},
    "pc1_share": (0, 1),
    "weat_p": (1e-9, 1),  # a permutation p-value is never 0
    "train_seconds": (0, 600),
    "wall_seconds": (0, 600),
    "peak_memory_mib": (1, 1024),
}


def _numbers(obj, path=""):
    if isinstance(obj, dict):
        for k, v in obj.items():
            yield from _numbers(v, f"{path}/{k}")
    elif isinstance(obj, list):
        for i, v in enumerate(obj):
            yield from _numbers(v, f"{path}[{i}]")
    elif isinstance(obj, int | float) and not isinstance(obj, bool):
        yield path, obj


@pytest.mark.slow
def test_quick_lab_end_to_end(tmp_path):
    out = tmp_path / "lab"
    script = str(REPO / "scripts" / "lab.py")
    cmd = [sys.executable, script, "--out", str(out), "--quick", "--sentences", "800"]
    proc = subprocess.run(cmd, cwd=REPO, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-2000:]
    # two lanes on two cores: the longest (the transformer) starts first, ELMo last
    assert "[lab] model 1/10: transformer" in proc.stdout
    assert "[lab] model 10/10: elmo" in proc.stdout
    assert "report.md" in proc.stdout.splitlines()[-1]

    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["lab"]["jobs"] == lab_runner.default_jobs()
    models = metrics["models"]
    assert set(lab_models.MODELS) | {"transformer-ctx", "elmo-ctx"} == set(models)
    # ELMo beside the transformer: its layers' anisotropy (embedding + 1 LSTM layer under
    # --quick), its sense accuracy with the learned mix, in the report's paragraph
    assert len(models["elmo"]["layer_anisotropy"]) == 2
    if models["transformer"].get("sense_accuracy"):
        assert models["elmo"]["sense_representation"] == "learned mix"
        assert len(models["elmo"]["sense_mix_weights"]) == 2
        assert "ELMo (learned mix)" in (out / "report.md").read_text()
    assert all(m["status"] == "ok" for m in models.values())
    for name in lab_models.MODELS:
        for f in ("vectors.txt", "vectors.bin", "model.npz", "metrics.json", "loss.png"):
            assert (out / name / f).exists(), f"{name}/{f}"
    for f in ("sentence_model.npz", "sentence_model_matryoshka.npz"):  # the Matryoshka rows'
        assert (out / "transformer" / f).exists(), f
    # Every figure of the issue was drawn, is a PNG, and is embedded in the report.
    expected = set(
        "clusters_pca clusters_tsne elman similarity analogies anisotropy bias contextual "
        "training perplexity transfer".split()
    )
    if "skipped" not in metrics["search"]:  # 800 sentences may hold too few held-out pairs
        expected |= {"matryoshka", "quantisation"}
    figures = metrics["lab"]["figures"]
    assert expected == set(figures)
    report = (out / "report.md").read_text()
    for name in figures.values():
        assert (out / name).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
        assert f"]({name})" in report
    for section in ("Harris", "Elman", "Mikolov", "Levy", "Ethayarajh", "Bolukbasi", "Bengio"):
        assert section in report
    # Every number is finite; the named ones are in range.
    seen = set()
    for path, value in _numbers(metrics):
        assert math.isfinite(value), path
        key = path.rsplit("/", 1)[-1]
        if key in RANGES:
            low, high = RANGES[key]
            assert low - 1e-9 <= value <= high + 1e-9, f"{path} = {value}"
            seen.add(key)
    named = (
        "category_purity analogy_accuracy similarity_spearman test_perplexity pearson "
        "pearson_he_she pc1_share weat_p"
    )
    assert {*named.split(), "trustworthiness_tsne", "peak_memory_mib"} <= seen
    for name in lab_models.MODELS:  # the metrics table has a row per model on the lab corpus
        if name != "srn-elman":
            assert f"| {models[name]['label']} |" in report


@pytest.mark.slow
def test_any_corpus_without_ground_truth_skips_those_figures_with_a_note(tmp_path):
    corpus = tmp_path / "mine.txt"
    nouns = [f"{a}{b}" for a in "bcdfg" for b in ("at", "og", "ip", "un", "ell")]  # 25 words
    verbs = ("saw", "ate", "met", "fed", "hid")
    rng = np.random.default_rng(0)
    draws = [rng.integers(0, 25, 2000), rng.integers(0, 5, 2000), rng.integers(0, 25, 2000)]
    triples = np.stack(draws, axis=1)  # (2000, 3) subject, verb, object
    lines = [f"the {nouns[i]} {verbs[v]} the {nouns[j]} ." for i, v, j in triples]
    corpus.write_text("\n".join(lines) + "\n")
    result = lab.run_lab(
        tmp_path / "lab",
        corpus=str(corpus),
        models=["ppmi", "cbow"],
        quick=True,
        log=lambda line: None,
        echo=False,
    )
    assert not result.failed, [r.error for r in result.failed]
    assert {"similarity", "anisotropy", "training"} <= set(result.figures)
    assert not {"clusters_pca", "analogies", "bias", "elman"} & set(result.figures)
    notes = " ".join(result.notes)
    assert "Figure 1 skipped: the corpus has no categories.tsv" in notes
    assert "Figure 4 skipped" in notes and "Figure 6 skipped" in notes
    report = (tmp_path / "lab" / "report.md").read_text()
    assert "## Notes" in report and "no categories.tsv" in report
    assert "category_purity" not in result.metrics["models"]["ppmi"]
    assert result.metrics["models"]["ppmi"]["anisotropy"] is not None


def test_with_flags_appends_a_models_flags_and_refuses_unknown_models():
    specs = lab_models.select_models(["srn,lsa"])
    srn, lsa = lab_models.with_flags(specs, ["srn=--cell lstm", "srn=--hidden 8"])
    assert srn.args[-4:] == ("--cell", "lstm", "--hidden", "8")
    assert lsa.args == specs[1].args  # untouched
    for bad in ("transformer=--heads 1", "srn --cell lstm"):
        with pytest.raises(MinilmError, match="MODEL=FLAGS"):
            lab_models.with_flags(specs, [bad])


def test_the_labs_threads_win_over_a_specs_pinned_default(tmp_path):
    """A spec may pin --threads; a lab run with --threads N still gives every program N: the
    shared flags come last, and argparse keeps the last value of a repeated flag. The lab's own
    specs pin none: two lanes on two cores run one BLAS thread each (minilm/lab_runner.py)."""
    spec = lab_models.ModelSpec(
        "pinned", "Pinned", "minilm.cli.train_transformer", ("--threads", "2")
    )

    def threads(argv: list[str]) -> str | None:
        return ([None] + [argv[i + 1] for i, a in enumerate(argv) if a == "--threads"])[-1]

    pinned = lab_runner.model_command(spec, tmp_path, tmp_path, 0, quick=False)
    assert threads(pinned) == "2"
    assert threads(lab_runner.model_command(spec, tmp_path, tmp_path, 0, False, threads=1)) == "1"
    assert threads(lab_runner.model_command(spec, tmp_path, tmp_path, 0, True, threads=3)) == "3"
    for own in lab_models.ALL_MODELS.values():
        assert threads(lab_runner.model_command(own, tmp_path, tmp_path, 0, False)) is None
