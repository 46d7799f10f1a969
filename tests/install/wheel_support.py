"""What the wheel and image tests share: building the wheel, the pinned web-asset hashes, and
fetching a page with every /static/vendor/* file it references."""

from __future__ import annotations

import hashlib
import os
import re
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
PINS = REPO / "janus" / "web" / "static" / "vendor.sha256"
TEMPLATES = REPO / "janus" / "web" / "templates"
VENDOR_REF = re.compile(r"""["'](/static/vendor/[^"']+)["']""")


def pinned_assets() -> dict[str, str]:
    """URL path (/static/vendor/...) -> pinned sha256, from janus/web/static/vendor.sha256."""
    pins = {}
    for line in PINS.read_text().splitlines():
        if line.strip() and not line.startswith("#"):
            digest, name = line.split()
            pins[f"/static/vendor/{name}"] = digest
    return pins


def template_vendor_refs() -> set[str]:
    """Every /static/vendor/* a page template references (the terminal page's included)."""
    refs: set[str] = set()
    for template in TEMPLATES.rglob("*.html"):
        refs.update(VENDOR_REF.findall(template.read_text()))
    return refs


def build_wheel(out: Path) -> Path:
    """scripts/build-wheel.sh: the checkout's wheel into *out* (setup.py vendors the assets)."""
    subprocess.run([str(REPO / "scripts" / "build-wheel.sh"), str(out)], check=True, timeout=600,
                   env={**os.environ, "PYTHON": sys.executable})
    wheels = list(out.glob("*.whl"))  # janus_access-<version>-py3-none-any.whl
    assert len(wheels) == 1, wheels
    return wheels[0]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def get(url: str, timeout: float = 10, headers: dict[str, str] | None = None
        ) -> tuple[int, bytes]:
    request = urllib.request.Request(url, headers=headers or {})  # noqa: S310 (loopback)
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310
            return response.status, response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()


def wait_http(url: str, seconds: float, alive: Callable[[], bool]) -> None:
    """Poll *url* until it answers at all; fail early if *alive()* turns false."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if not alive():
            raise AssertionError(f"the server exited before answering {url}")
        try:
            get(url, timeout=2)
            return
        except OSError:
            time.sleep(0.2)
    raise AssertionError(f"{url} did not answer within {seconds}s")


def check_vendor_assets(base_url: str, page: str,
                        headers: dict[str, str] | None = None) -> set[str]:
    """Fetch *page* (with *headers*), then every /static/vendor/* it or any template references:
    each must be 200 with exactly the pinned sha256. Returns the paths checked."""
    status, html = get(base_url + page, headers=headers)
    assert status == 200, (page, status, html[:300])
    on_page = set(VENDOR_REF.findall(html.decode()))
    assert on_page, f"{page} references no /static/vendor/ asset"
    pins = pinned_assets()
    wanted = on_page | template_vendor_refs()
    assert wanted <= set(pins), f"referenced but not pinned: {sorted(wanted - set(pins))}"
    for path in sorted(set(pins)):
        status, body = get(base_url + path)
        assert status == 200, (path, status)
        assert hashlib.sha256(body).hexdigest() == pins[path], f"{path}: not the pinned bytes"
    return wanted
