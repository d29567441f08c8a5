#!/usr/bin/env python
"""The explorer page's size and its time to interactive, in headless Chromium.

    python benchmarks/bench_explore_page.py runs/lab/explore.html          # a page written
    python benchmarks/bench_explore_page.py runs/lab --out /tmp/page.html  # make it, then time it

Prints the page's size and, over --repeat fresh loads, the median and worst time from navigation
start to `window.explore.ready` (the end of the page's start-up: vectors decoded, maps drawn,
the first neighbours and analogy computed). Needs Debian's chromium + chromium-driver.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))  # the WebDriver client the browser tests use
from chromium import Browser, find_browser  # noqa: E402

from minilm.errors import ArgumentParser, run_cli  # noqa: E402


def main() -> None:
    ap = ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument(
        "inputs", nargs="+", type=Path, help="an .html page, or scripts/explore.py inputs"
    )
    ap.add_argument("--out", type=Path, help="where to write the page made from the inputs")
    ap.add_argument("--repeat", type=int, default=5)
    args = ap.parse_args()
    page = args.inputs[0]
    if page.suffix != ".html":
        if args.out is None:
            sys.exit("give --out to make a page from run folders or vector files")
        cmd = [
            sys.executable,
            str(ROOT / "scripts" / "explore.py"),
            *map(str, args.inputs),
            "--out",
            str(args.out),
        ]
        subprocess.run(cmd, check=True)
        page = args.out
    if find_browser() is None:
        sys.exit("chromium and chromedriver are not installed")
    times = []
    with Browser(1400, 1000) as browser:
        for _ in range(args.repeat):
            browser.open(page)
            times.append(browser.run("return window.explore.ready"))
            assert browser.run("return window.exploreErrors") == []
    size = page.stat().st_size
    print(
        f"{page}: {size / 1e6:.2f} MB; interactive after {statistics.median(times):.0f} ms "
        f"(median of {len(times)} loads, worst {max(times):.0f} ms)"
    )


if __name__ == "__main__":
    run_cli(main)
