"""Build hook: every wheel and sdist carries the pinned, hash-checked web assets.

The metadata lives in pyproject.toml; this file only adds one step to `build_py` and `sdist`.

Decision: the assets (xterm.js, its fit addon, htmx) are *fetched at build time*, not committed.
They are third-party, minified release artefacts: keeping them out of git keeps the history free
of vendored blobs and makes an upgrade a one-line pin change in scripts/fetch-web-assets.sh, which
checks each npm tarball against its pinned sha512 integrity. A second pin list,
janus/web/static/vendor.sha256 (committed), fixes the sha256 of each file the pages load; the
build refuses to package anything else. So:
  * from a checkout, `python -m build` / `pip wheel .` runs the fetch script when the files are
    missing (it needs npm; the tarballs are cached in ~/.cache/janus/npm), then verifies them;
  * the sdist contains the verified files, so a wheel built from the sdist needs no network;
  * editable installs (`pip install -e .`, `make venv`) are left alone: `make assets` serves them.
"""

from __future__ import annotations

import hashlib
import subprocess
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py
from setuptools.command.sdist import sdist

ROOT = Path(__file__).resolve().parent
VENDOR = ROOT / "janus" / "web" / "static" / "vendor"
PINS = ROOT / "janus" / "web" / "static" / "vendor.sha256"
FETCH = ROOT / "scripts" / "fetch-web-assets.sh"


def _pins() -> dict[str, str]:
    """relative path under vendor/ -> pinned sha256."""
    pins: dict[str, str] = {}
    for line in PINS.read_text().splitlines():
        if line.strip() and not line.startswith("#"):
            digest, name = line.split()
            pins[name] = digest
    return pins


def _problems() -> list[str]:
    problems = []
    for name, digest in _pins().items():
        path = VENDOR / name
        if not path.is_file():
            problems.append(f"{name}: missing")
        elif hashlib.sha256(path.read_bytes()).hexdigest() != digest:
            problems.append(f"{name}: sha256 differs from {PINS.name}")
    return problems


def ensure_web_assets() -> None:
    """Fetch the assets if missing (source checkout only), then insist they match the pins."""
    if not PINS.exists():  # building from an sdist made before the pins existed: nothing to do
        return
    if _problems() and FETCH.exists():
        subprocess.run(["bash", str(FETCH)], check=True)
    problems = _problems()
    if problems:
        raise SystemExit(
            "janus build: the web assets under janus/web/static/vendor/ are not the pinned ones ("
            + "; ".join(problems)
            + "). Run scripts/fetch-web-assets.sh (`make assets`; needs npm) and build again."
        )


class BuildPyWithAssets(build_py):
    """build_py that refuses to build a wheel without the pinned web assets."""

    def run(self) -> None:
        if not getattr(self, "editable_mode", False):
            ensure_web_assets()
        super().run()


class SdistWithAssets(sdist):
    """sdist that fetches and verifies the web assets first, so they are in the archive."""

    def run(self) -> None:
        ensure_web_assets()
        super().run()


setup(cmdclass={"build_py": BuildPyWithAssets, "sdist": SdistWithAssets})
