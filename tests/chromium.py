"""A small WebDriver client for Debian's headless Chromium (`chromium` + `chromium-driver`),
over plain HTTP with urllib: no browser download, no Python dependency.

Used by tests/test_explore_browser.py and benchmarks/bench_explore_page.py. `find_browser()` returns
the two executables or None; `.ci/run` installs them on a fresh machine.
"""

from __future__ import annotations

import base64
import json
import shutil
import socket
import subprocess
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path

ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
    "--hide-scrollbars",
]
ELEMENT = "element-6066-11e4-a52e-4f735466cecf"  # the W3C key of an element reference


def find_browser() -> tuple[str, str] | None:
    """(chromium, chromedriver) paths, or None when either is missing."""
    browser = shutil.which("chromium") or shutil.which("chromium-browser")
    driver = shutil.which("chromedriver")
    return (browser, driver) if browser and driver else None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Browser:
    """One headless Chromium session, driven through chromedriver's W3C WebDriver API."""

    def __init__(self, width: int = 1400, height: int = 1000):
        found = find_browser()
        if found is None:
            raise RuntimeError("chromium and chromedriver are not installed")
        self.profile = tempfile.mkdtemp(prefix="minilm-chromium-")
        self.port = _free_port()
        self.driver = subprocess.Popen(
            [found[1], f"--port={self.port}"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        self._wait_for_driver()
        options = {
            "binary": found[0],
            "args": ARGS + [f"--user-data-dir={self.profile}", f"--window-size={width},{height}"],
        }
        caps = {
            "browserName": "chrome",
            "goog:chromeOptions": options,
            "goog:loggingPrefs": {"performance": "ALL"},
        }
        self.session = self._call("POST", "/session", {"capabilities": {"alwaysMatch": caps}})[
            "sessionId"
        ]

    def _call(self, method: str, path: str, body: object = None) -> object:
        data = None if body is None else json.dumps(body).encode()
        req = urllib.request.Request(
            f"http://127.0.0.1:{self.port}{path}",
            data=data,
            method=method,
            headers={"Content-Type": "application/json"},
        )
        try:
            with urllib.request.urlopen(req, timeout=120) as resp:
                return json.loads(resp.read())["value"]
        except urllib.error.HTTPError as err:
            raise RuntimeError(f"WebDriver {method} {path}: {err.read()[:500]!r}") from None

    def _wait_for_driver(self) -> None:
        for _ in range(100):
            try:
                self._call("GET", "/status")
                return
            except (OSError, RuntimeError):
                time.sleep(0.1)
        raise RuntimeError("chromedriver did not start")

    def _s(self, path: str) -> str:
        return f"/session/{self.session}{path}"

    # ---- what the tests use ------------------------------------------------------------------
    def open(self, path: Path) -> None:
        self._call("POST", self._s("/url"), {"url": Path(path).resolve().as_uri()})

    def run(self, script: str, *args: object) -> object:
        """Run `script` (a function body; `arguments` holds args) in the page; its return."""
        return self._call("POST", self._s("/execute/sync"), {"script": script, "args": list(args)})

    def find(self, css: str) -> dict:
        return self._call("POST", self._s("/element"), {"using": "css selector", "value": css})

    def click(self, element: dict) -> None:
        self._call("POST", self._s(f"/element/{element[ELEMENT]}/click"), {})

    def type(self, element: dict, text: str) -> None:
        self._call("POST", self._s(f"/element/{element[ELEMENT]}/clear"), {})
        self._call("POST", self._s(f"/element/{element[ELEMENT]}/value"), {"text": text})

    def pointer(self, x: float, y: float, click: bool = True, wheel: float = 0.0) -> None:
        """Move the mouse to viewport pixel (x, y); then click, or turn the wheel by `wheel`."""
        at = {
            "type": "pointerMove",
            "duration": 0,
            "x": int(round(x)),
            "y": int(round(y)),
            "origin": "viewport",
        }
        steps = [at] + (
            [{"type": "pointerDown", "button": 0}, {"type": "pointerUp", "button": 0}]
            if click
            else []
        )
        actions = [
            {
                "type": "pointer",
                "id": "mouse",
                "parameters": {"pointerType": "mouse"},
                "actions": steps,
            }
        ]
        if wheel:
            actions.append(
                {
                    "type": "wheel",
                    "id": "wheel",
                    "actions": [
                        {"type": "pause", "duration": 0},
                        {
                            "type": "scroll",
                            "x": int(round(x)),
                            "y": int(round(y)),
                            "deltaX": 0,
                            "deltaY": int(wheel),
                            "origin": "viewport",
                        },
                    ],
                }
            )
        self._call("POST", self._s("/actions"), {"actions": actions})

    def screenshot(self, path: Path) -> Path:
        Path(path).write_bytes(base64.b64decode(self._call("GET", self._s("/screenshot"))))
        return Path(path)

    def network_log(self) -> list[dict]:
        """Network.requestWillBeSent events since the last call (chromedriver's performance log):
        [{url, documentURL}]; includes the browser's own start-up pages."""
        out = []
        for entry in self._call("POST", self._s("/se/log"), {"type": "performance"}):
            msg = json.loads(entry["message"])["message"]
            if msg["method"] == "Network.requestWillBeSent":
                params = msg["params"]
                out.append(
                    {"url": params["request"]["url"], "documentURL": params.get("documentURL", "")}
                )
        return out

    def close(self) -> None:
        try:
            self._call("DELETE", self._s(""))
        finally:
            self.driver.terminate()
            self.driver.wait(timeout=30)
            shutil.rmtree(self.profile, ignore_errors=True)

    def __enter__(self) -> Browser:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
