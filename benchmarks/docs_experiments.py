"""Run every experiment the docs pages print, at the size they print, and write what it showed.

Each page of docs/ ends with "## Experiments": numbered sections "### N. title", each with a
bash block of commands and an "Expect:" paragraph. This script runs those commands verbatim
(the bundled world corpus, each script's defaults, the page's own flags), adding only
`--threads 1` to the training scripts so that the bytes repeat, then writes the figures it saw
into the section, between the markers

    <!-- measured: begin ... -->   ...   <!-- measured: end -->

(a table of each run's metrics with its seed and wall seconds, and the output of the commands
that print rather than train). The "Expect:" prose states what those figures show; no number
in it is typed by hand without this block beside it. tests/test_docs.py runs the same commands
in a quick form (a smaller corpus and sizes) in CI and checks the sign of each claim; this
script is the full-size check: minutes per page, not for CI.

Run:  python benchmarks/docs_experiments.py                 # every page, rewrites the blocks
      python benchmarks/docs_experiments.py --pages 04 10   # pages whose names start so
      python benchmarks/docs_experiments.py --dry-run       # list the commands, run nothing
"""

from __future__ import annotations

import json
import os
import re
import shlex
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from minilm.errors import ArgumentParser, MinilmError, run_cli
from minilm.io import write_text

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs"
BEGIN = "<!-- measured: begin (written by benchmarks/docs_experiments.py; do not edit) -->"
END = "<!-- measured: end -->"
BLOCK = re.compile(r"\n*<!-- measured: begin.*?<!-- measured: end -->\n?", flags=re.S)
# The metrics each page's claims are about (dotted paths into metrics.json); "seconds" is added.
KEYS = {
    "01-tfidf-lsa": ["category_purity"],
    "02-ppmi-glove": ["category_purity", "similarity_spearman"],
    "03-nplm": ["valid_perplexity", "kn_valid_perplexity"],
    "04-srn-bptt": [
        "valid_perplexity",
        "coarse_category_purity",
        "category_purity",
        "category_purity_ceiling",
    ],
    "05-word2vec": ["analogy_accuracy", "category_purity", "tokens_per_second"],
    "06-fasttext": ["analogy_syntactic.accuracy_excluded", "analogy_accuracy"],
    "07-transformer-mlm": ["mlm_accuracy", "unigram_accuracy"],
    "08-contrastive": ["retrieval_recall_at_1.before", "retrieval_recall_at_1.after"],
    "10-anisotropy-bias": ["anisotropy", "anisotropy_centred"],
    "12-transfer": ["category_purity", "analogy_accuracy"],
    "14-matryoshka-quantisation-hybrid": ["retrieval_recall_at_1.after", "category_purity"],
}
DEFAULT_KEYS = ["category_purity", "valid_perplexity"]
THREADED = re.compile(r"scripts/(train_\w+|lab|compare_embeddings)\.py$")


def experiments(page: Path) -> dict[int, list[str]]:
    """{number: [command, ...]} from the page's '### N. title' sections and their bash blocks."""
    text = page.read_text()
    if "## Experiments" not in text:
        return {}
    found = {}
    for section in re.split(r"^### ", text.split("## Experiments", 1)[1], flags=re.M)[1:]:
        number = int(section.split(".", 1)[0])
        blocks = re.findall(r"```bash\n(.*?)```", section, flags=re.S)
        lines = "\n".join(blocks).replace("\\\n", " ").splitlines()
        found[number] = [" ".join(line.split()) for line in lines if line.strip()]
    return found


def pages(prefixes: list[str]) -> list[Path]:
    found = sorted(DOCS.glob("[0-9][0-9]-*.md"))
    if prefixes:
        found = [p for p in found if any(p.name.startswith(x) for x in prefixes)]
        if not found:
            raise MinilmError(f"no docs page starts with {' or '.join(prefixes)}")
    return found


@dataclass
class Result:
    command: str
    code: int
    seconds: float
    stdout: str
    stderr: str
    out: str | None  # the run folder a training command wrote (its --out), else None


@dataclass
class Runner:
    """Runs documented commands in one folder (holding links to scripts/, corpus/ and
    benchmarks/)."""

    folder: Path
    done: dict[str, Result] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        for name in ("scripts", "corpus", "benchmarks"):
            link = self.folder / name
            if not link.exists():
                link.symlink_to(ROOT / name)

    def run(self, command: str) -> Result:
        if command in self.done:
            return self.done[command]
        argv = shlex.split(command)
        if argv[0] != "python":
            raise MinilmError(f"not a python command: {command}")
        argv[0] = sys.executable
        if len(argv) > 1 and THREADED.search(argv[1]) and "--threads" not in argv:
            argv += ["--threads", "1"]
        out = argv[argv.index("--out") + 1] if "--out" in argv else None
        env = {**os.environ, "OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1"}
        print(f"$ {command}", flush=True)
        start = time.perf_counter()
        proc = subprocess.run(argv, cwd=self.folder, capture_output=True, text=True, env=env)
        seconds = time.perf_counter() - start
        print(f"  exit {proc.returncode}, {seconds:.0f} s", flush=True)
        result = Result(command, proc.returncode, seconds, proc.stdout, proc.stderr, out)
        self.done[command] = result
        return result


def lookup(metrics: dict, path: str) -> object:
    value: object = metrics
    for part in path.split("."):
        if not isinstance(value, dict) or part not in value:
            return None
        value = value[part]
    return value


def fmt(value: object) -> str:
    if value is None:
        return "—"
    if isinstance(value, list):
        return " → ".join(fmt(v) for v in value)
    if isinstance(value, float | np.floating):
        return f"{value:.0f}" if abs(value) >= 1000 else f"{value:.3f}"
    return str(value)


def run_seed(folder: Path) -> str:
    """The seed a run recorded in model.npz's config (the script's default when not given)."""
    try:
        with np.load(folder / "model.npz", allow_pickle=False) as z:
            return str(json.loads(str(z["config"])).get("seed", "?"))
    except (OSError, KeyError, ValueError):
        return "?"


def figures_block(page: str, results: list[Result], folder: Path) -> str:
    """The markdown written between the markers for one experiment."""
    keys = KEYS.get(page, DEFAULT_KEYS)
    lines = [
        BEGIN,
        "",
        "Measured at this size by `python benchmarks/docs_experiments.py` "
        "(world corpus, `--threads 1`):",
        "",
    ]
    runs = [r for r in results if r.out and (folder / r.out / "metrics.json").exists()]
    if runs:
        lines += [
            "| run | seed | " + " | ".join(f"`{k}`" for k in keys) + " | seconds |",
            "|---" * (len(keys) + 3) + "|",
        ]
        for r in runs:
            metrics = json.loads((folder / r.out / "metrics.json").read_text())
            cells = [fmt(lookup(metrics, k)) for k in keys]
            lines.append(
                f"| `{r.out}` | {run_seed(folder / r.out)} | "
                + " | ".join(cells)
                + f" | {r.seconds:.0f} |"
            )
        lines.append("")
    for r in results:
        if r.out and r in runs:
            continue
        text = (r.stdout.strip() or r.stderr.strip()).splitlines()[-14:]
        short = r.command if len(r.command) < 90 else r.command[:86] + " ..."
        lines += [f"`{short}` (exit {r.code}, {r.seconds:.0f} s):", "", "```text", *text, "```", ""]
    return "\n".join(lines + [END])


def write_blocks(page: Path, blocks: dict[int, str]) -> None:
    """Replace (or add) each experiment section's measured block, at the section's end."""
    head, tail = page.read_text().split("## Experiments", 1)
    parts = re.split(r"(?=^### )", tail, flags=re.M)
    for i, part in enumerate(parts):
        if not part.startswith("### "):
            continue
        number = int(part[4:].split(".", 1)[0])
        if number in blocks:
            body = BLOCK.sub("\n", part).rstrip("\n")
            parts[i] = body + "\n\n" + blocks[number] + "\n\n"
    text = head + "## Experiments" + "".join(parts)
    write_text(page, text.rstrip("\n") + "\n")


def main() -> None:
    ap = ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--pages", nargs="*", default=[], help="page-name prefixes (default: all)")
    ap.add_argument("--work", default="runs/docs_experiments", help="folder the runs land in")
    ap.add_argument("--dry-run", action="store_true", help="list the commands; run nothing")
    ap.add_argument("--no-write", action="store_true", help="run, print, leave the pages alone")
    args = ap.parse_args()
    chosen = pages(args.pages)
    if args.dry_run:
        for page in chosen:
            for number, commands in experiments(page).items():
                print(f"{page.stem} {number}:", *commands, sep="\n  ")
        return
    runner, start, failed = Runner(Path(args.work).resolve()), time.perf_counter(), []
    for page in chosen:
        blocks = {}
        for number, commands in experiments(page).items():
            results = [runner.run(c) for c in commands]
            failed += [
                f"{page.stem} {number}: {r.command}" for r in results if r.code not in (0, 2)
            ]
            blocks[number] = figures_block(page.stem, results, runner.folder)
            print(blocks[number], flush=True)
        if not args.no_write:
            write_blocks(page, blocks)
    print(f"{len(runner.done)} commands in {time.perf_counter() - start:.0f} s wall")
    if failed:
        raise MinilmError("these commands failed:\n  " + "\n  ".join(failed))


if __name__ == "__main__":
    run_cli(main)
