#!/usr/bin/env python
"""Regenerate the README's gallery: the lab's figures from a real run, shrunk for the repository.

python scripts/make_gallery.py                       run the whole lab (minutes), then copy
python scripts/make_gallery.py --from runs/lab       copy from a lab run you already have

Every top-level PNG of the lab run (its figures; not the per-model loss curves) is written to
docs/gallery/ at most --width pixels wide (block-averaged, so lines stay smooth), with the run's
metrics table in docs/gallery/README.md. The total must stay under --max-mb, so the repository
stays small.
"""

from __future__ import annotations

import math
import subprocess
import sys
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from minilm.errors import ArgumentParser, MinilmError, run_cli  # noqa: E402
from minilm.io import (  # noqa: E402
    atomic_open,
    check_complete,
    check_out_dir,
    claim_out_dir,
    write_text,  # noqa: E402
)
from minilm.limits import die_with_parent  # noqa: E402

REPO = Path(__file__).resolve().parent.parent


def shrink(image: np.ndarray, width: int) -> np.ndarray:
    """Average f x f pixel blocks, f the smallest integer that brings the width to <= width."""
    f = math.ceil(image.shape[1] / width)
    if f <= 1:
        return image
    H, W = image.shape[0] // f * f, image.shape[1] // f * f
    blocks = image[:H, :W].reshape(H // f, f, W // f, f, -1)  # (h, f, w, f, channels)
    return blocks.mean(axis=(1, 3))


def copy_figures(run: Path, out: Path, width: int) -> list[Path]:
    figures = sorted(run.glob("*.png"))
    if not figures:
        raise MinilmError(f"no figures (*.png) in {run}; is it a lab run (scripts/lab.py --out)?")
    for old in out.glob("fig*.png"):  # the lab's figures; explore.png is a screenshot of ours
        old.unlink()  # a figure the lab no longer draws must not linger in the gallery
    written = []
    for src in figures:
        image = shrink(plt.imread(src), width)
        with atomic_open(out / src.name, "wb") as f:
            plt.imsave(f, np.clip(image, 0, 1), format="png")
        written.append(out / src.name)
    return written


def metrics_page(run: Path, note: str = "") -> str:
    """docs/gallery/README.md: the run's metrics table from its report, machine paths removed."""
    report = (run / "report.md").read_text(encoding="utf-8")
    head, _, rest = report.partition("## Metrics")
    table = rest.split("\n## ", 1)[0]
    text = (
        "# The gallery's run\n\nThe figures beside this page come from one lab run "
        "(`python scripts/lab.py --out runs/lab`), shrunk by `scripts/make_gallery.py`. "
        + (f"{note} " if note else "")
        + "Its metrics, from its report:\n\n"
        + head.split("\n", 1)[1].strip()
        + "\n\n## Metrics"
        + table.rstrip()
        + "\n"
    )
    return text.replace(f"{REPO}/", "").replace(str(run.resolve()), "runs/lab")


def main() -> None:
    ap = ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--from", dest="run", type=Path, help="an existing lab run folder")
    ap.add_argument(
        "--lab-out",
        type=Path,
        default=REPO / "runs" / "gallery-lab",
        help="where to run the lab when --from is not given",
    )
    ap.add_argument("--out", type=Path, default=REPO / "docs" / "gallery")
    ap.add_argument("--force", action="store_true", help="write into an --out minilm did not write")
    ap.add_argument("--width", type=int, default=900, help="largest width in pixels")
    ap.add_argument("--note", default="", help="a sentence about the run for the metrics page")
    ap.add_argument("--max-mb", type=float, default=2.0, help="largest total size")
    args = ap.parse_args()
    run = args.run
    check_out_dir(args.out, args.force)  # before the lab's minutes, not after
    if run is None:
        run = args.lab_out
        lab = [sys.executable, str(REPO / "scripts" / "lab.py"), "--out", str(run)]
        if subprocess.run(lab, preexec_fn=die_with_parent).returncode != 0:
            raise MinilmError(f"the lab run failed: {' '.join(lab)}")
    if not run.is_dir():
        raise MinilmError(f"{run} is not a folder; pass a lab run with --from")
    check_complete(run)
    claim_out_dir(args.out, "make_gallery.py", args.force)
    written = copy_figures(run, args.out, args.width)
    total = sum(p.stat().st_size for p in written) / 2**20
    if total > args.max_mb:
        raise MinilmError(f"the gallery is {total:.1f} MB (> {args.max_mb}); lower --width")
    if (run / "report.md").is_file():
        write_text(args.out / "README.md", metrics_page(run, args.note))
    print(f"{len(written)} figures, {total:.2f} MB -> {args.out}")


if __name__ == "__main__":
    run_cli(main)
