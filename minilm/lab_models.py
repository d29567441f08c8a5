"""What the lab trains and compares: one `ModelSpec` per model, and the vector tables they give.

A model name is a folder of the lab's OUT and a key of its metrics.json. Each model is its own
program (`python -m minilm.cli.train_*`, minilm/cli/) run with the program's defaults
(`default`), or with 1 epoch and small dims under --quick (`quick`). The transformer and ELMo
give two tables each (static token embeddings and mean contextual vectors), so the comparison
has one more `VectorSet` than models for each of them."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace

from minilm.errors import MinilmError
from minilm.vectors import KeyedVectors


@dataclass(frozen=True)
class ModelSpec:
    """How the lab trains one model: which program, with which flags, on which corpus."""

    name: str  # folder under OUT and key in metrics.json
    label: str  # shown in figures and tables
    program: str  # module run as `python -m` (a path ending in .py: run as a file, for tests)
    args: tuple[str, ...] = ()  # flags always passed
    default: tuple[str, ...] = ()  # flags of the full run (the script's defaults unless given)
    quick: tuple[str, ...] = ()  # flags of --quick (1 epoch, small dims)
    corpus: str = "lab"  # "lab" (the lab's corpus) or "elman" (corpus/elman)
    seconds: float = 30.0  # wall time of the full run on a quiet 2-core machine: the ETA, lanes
    language_model: bool = False  # has a test perplexity to compare with Kneser-Ney
    contextual: bool = False  # also writes contextual_vectors.txt
    perplexity_of: str = ""  # what its perplexity counts, if not the next word ("both directions")


def _flags(text: str) -> tuple[str, ...]:
    """'--epochs 1 --dim 16' -> ('--epochs', '1', '--dim', '16')."""
    return tuple(text.split())


QUICK_LM = _flags("--epochs 1 --dim 16 --hidden 32")
QUICK_W2V = _flags("--epochs 1 --dim 32 --min-count 2")

_SPECS = (
    ModelSpec(
        "lsa",
        "LSA",
        "minilm.cli.train_baselines",
        _flags("--method lsa"),
        default=_flags("--dim 100"),
        quick=_flags("--dim 16"),
        seconds=2,
    ),
    ModelSpec(
        "ppmi",
        "PPMI-SVD",
        "minilm.cli.train_baselines",
        _flags("--method ppmi"),
        default=_flags("--dim 100"),
        quick=_flags("--dim 16"),
        seconds=2,
    ),
    ModelSpec(
        "glove",
        "GloVe",
        "minilm.cli.train_baselines",
        _flags("--method glove"),
        default=_flags("--dim 100"),
        quick=_flags("--dim 16 --epochs 1"),
        seconds=3,
    ),
    ModelSpec(
        "nplm", "NPLM", "minilm.cli.train_nplm", quick=QUICK_LM, seconds=30, language_model=True
    ),
    ModelSpec(
        "srn", "SRN", "minilm.cli.train_srn", quick=QUICK_LM, seconds=30, language_model=True
    ),
    # Elman's own setup: one-hot input, a wide hidden layer, a small Adam step.
    ModelSpec(
        "srn-elman",
        "SRN (Elman corpus)",
        "minilm.cli.train_srn",
        default=_flags("--onehot --hidden 150 --lr 1e-3 --epochs 6"),
        quick=QUICK_LM,
        corpus="elman",
        seconds=3,
    ),
    ModelSpec("skipgram", "skip-gram", "minilm.cli.train_skipgram", quick=QUICK_W2V, seconds=9),
    ModelSpec("cbow", "CBOW", "minilm.cli.train_skipgram", ("--cbow",), quick=QUICK_W2V, seconds=5),
    # The script's defaults: fewer epochs leave bat/plant's senses mixed.
    # --contrastive: + Sentence-BERT tuning (~5% more time), the sentence model of search/MTEB;
    # --also-matryoshka: a twin tuned with the nested-prefix loss (another ~5%), for the
    # report's Matryoshka rows and figure (plain truncated against Matryoshka).
    # One BLAS thread, the script's default: the lab runs the others beside it on the second
    # core (minilm/lab_runner.py, "Lanes").
    ModelSpec(
        "transformer",
        "transformer",
        "minilm.cli.train_transformer",
        ("--contrastive",),
        default=_flags("--also-matryoshka 8,16,32,64,128"),
        quick=_flags(
            "--epochs 1 --dim 32 --heads 2 --ffn 64 --warmup 20 "
            "--contrastive-epochs 1 --contrastive-batch-size 8 --also-matryoshka 8,16,32"
        ),
        seconds=200,
        contextual=True,
    ),
)
# ELMo sized for the lab (~30 CPU-s with its evaluation): one LSTM layer a direction, D = 32,
# windows of 10 words (about a sentence). On the world corpus, seed 0, this separated the senses
# better than two layers for one epoch at about the same cost (worst word 0.86 against 0.75) and
# than windows of 20 words (0.73); the program's defaults (D = 64, two layers) cost ~3x more.
ELMO = ModelSpec(
    "elmo",
    "ELMo",
    "minilm.cli.train_elmo",
    default=_flags("--epochs 2 --dim 32 --layers 1 --lr 5e-2 --bptt 10 --batch-size 64"),
    quick=_flags("--epochs 1 --dim 16 --layers 1 --lr 5e-2 --bptt 10 --batch-size 64"),
    seconds=25,
    language_model=True,
    contextual=True,
    perplexity_of="both directions",
)
MODELS: dict[str, ModelSpec] = {spec.name: spec for spec in (*_SPECS, ELMO)}
OPTIONAL_MODELS = {
    # The SRN with gated cells (minilm/layers/recurrent.py): optional, each costs about twice
    # the Elman SRN's CPU at the same epochs (docs/change-it-and-see.md measures it).
    "srn-lstm": ModelSpec(
        "srn-lstm",
        "SRN (LSTM cell)",
        "minilm.cli.train_srn",
        ("--cell", "lstm"),
        quick=QUICK_LM,
        seconds=65,
        language_model=True,
    ),
    "srn-gru": ModelSpec(
        "srn-gru",
        "SRN (GRU cell)",
        "minilm.cli.train_srn",
        ("--cell", "gru"),
        quick=QUICK_LM,
        seconds=55,
        language_model=True,
    ),
    "fasttext": ModelSpec(
        "fasttext",
        "fastText",
        "minilm.cli.train_skipgram",
        _flags("--subwords 3-6"),
        quick=QUICK_W2V + _flags("--buckets 20000"),
        seconds=90,
    ),
}
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


def with_flags(specs: list[ModelSpec], flags: Sequence[str] | None) -> list[ModelSpec]:
    """The specs with extra flags for some models: each entry "MODEL=FLAGS" ("srn=--cell lstm")
    appends FLAGS to that model's run, after its own (a later flag wins in argparse)."""
    extra: dict[str, tuple[str, ...]] = {}
    for entry in flags or ():
        name, sep, text = entry.partition("=")
        if not sep or name.strip() not in {spec.name for spec in specs}:
            raise MinilmError(
                f"--flags {entry!r}: write MODEL=FLAGS for a model of this run, "
                f"e.g. srn='--cell lstm'; models: {', '.join(spec.name for spec in specs)}"
            )
        extra[name.strip()] = extra.get(name.strip(), ()) + _flags(text)
    return [replace(spec, args=spec.args + extra.get(spec.name, ())) for spec in specs]


@dataclass
class VectorSet:
    """One table of word vectors to compare: a model's, or the transformer's contextual one."""

    name: str  # key in metrics.json ("transformer-ctx")
    label: str  # shown in figures
    model: str  # the run folder it came from
    kv: KeyedVectors
