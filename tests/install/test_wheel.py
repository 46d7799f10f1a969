"""The built wheel works on its own: installed into a fresh virtualenv outside the checkout, it
serves the web pages with the pinned xterm.js and htmx, and `janus dev up` says plainly that it
needs a source checkout instead of crashing.

The virtualenv gets the wheel only (`--no-deps`); its dependencies come from the test run's own
environment through a .pth line, which adds that site-packages directory to sys.path without
processing its .pth files, so the checkout's editable `janus` stays invisible. Fast and offline
apart from the isolated build's setuptools (from pip's cache once fetched).
"""

from __future__ import annotations

import os
import subprocess
import sys
import sysconfig
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.browser_support import CHROMIUM, collect_problems, launch_chromium, require
from tests.install.wheel_support import (
    REPO,
    build_wheel,
    check_vendor_assets,
    free_port,
    pinned_assets,
    wait_http,
)

pytestmark = pytest.mark.wheel


@dataclass(frozen=True)
class Installed:
    venv: Path
    workdir: Path  # outside the checkout: nothing is importable from the current directory

    @property
    def python(self) -> Path:
        return self.venv / "bin" / "python"

    @property
    def janus(self) -> Path:
        return self.venv / "bin" / "janus"

    def env(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTHON", "VIRTUAL_ENV"))}
        env["PATH"] = f"{self.venv / 'bin'}:{env.get('PATH', '')}"
        return env


# The web app needs a kubeconfig to start; the pages tested here never reach the cluster.
UNREACHABLE_KUBECONFIG = """\
apiVersion: v1
kind: Config
clusters: [{name: none, cluster: {server: "https://127.0.0.1:9"}}]
users: [{name: none, user: {token: not-a-real-token}}]
contexts: [{name: none, context: {cluster: none, user: none}}]
current-context: none
"""


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("dist")
    assert not root.resolve().is_relative_to(REPO)
    return build_wheel(root)


@pytest.fixture(scope="module")
def installed(wheel: Path, tmp_path_factory: pytest.TempPathFactory) -> Installed:
    root = tmp_path_factory.mktemp("wheel")
    assert not root.resolve().is_relative_to(REPO)
    venv = root / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    subprocess.run(
        [sys.executable, "-m", "pip", "--python", str(venv / "bin" / "python"), "install",
         "--quiet", "--no-deps", "--no-index", "--disable-pip-version-check", str(wheel)],
        check=True, timeout=300,
    )
    site = next((venv / "lib").glob("python3.*/site-packages"))
    (site / "_janus_test_deps.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    workdir = root / "work"
    workdir.mkdir()
    return Installed(venv=venv, workdir=workdir)


def test_the_wheel_carries_the_pinned_web_assets(wheel: Path) -> None:
    import zipfile

    names = set(zipfile.ZipFile(wheel).namelist())
    for path in pinned_assets():
        assert f"janus/web{path}" in names, path


def test_janus_runs_from_the_wheel_not_the_checkout(installed: Installed) -> None:
    out = subprocess.run(
        [str(installed.python), "-c", "import janus, sys; print(janus.__file__)"],
        cwd=installed.workdir, env=installed.env(), capture_output=True, text=True, check=True,
    ).stdout.strip()
    assert Path(out).is_relative_to(installed.venv), out
    version = subprocess.run([str(installed.janus), "--version"], cwd=installed.workdir,
                             env=installed.env(), capture_output=True, text=True, check=True)
    assert "0." in version.stdout + version.stderr


@pytest.fixture(scope="module")
def web(installed: Installed) -> Iterator[str]:
    """`janus web --dev-login` from the wheel on 127.0.0.1; its base URL."""
    port = free_port()
    kubeconfig = installed.workdir / "kubeconfig"
    kubeconfig.write_text(UNREACHABLE_KUBECONFIG)
    log = installed.workdir / "web.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [str(installed.janus), "web", "--dev-login", "--host", "127.0.0.1",
             "--port", str(port), "--kubeconfig", str(kubeconfig)],
            cwd=installed.workdir, env=installed.env(), stdout=out, stderr=subprocess.STDOUT,
        )
    base = f"http://127.0.0.1:{port}"
    try:
        wait_http(base + "/", 60, lambda: proc.poll() is None)
        yield base
    except AssertionError:
        raise AssertionError(log.read_text()[-3000:]) from None
    finally:
        proc.terminate()
        try:
            proc.wait(15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def test_the_installed_web_app_serves_its_pages_with_the_pinned_assets(web: str) -> None:
    checked = check_vendor_assets(web, "/auth/login")
    # The terminal page's own assets are among them (its template references xterm.js).
    assert "/static/vendor/xterm/xterm.js" in checked
    assert "/static/vendor/htmx/htmx.min.js" in checked


@pytest.mark.browser
def test_the_assets_run_in_chromium(web: str) -> None:
    """The served files are the libraries, not an error page: Chromium defines htmx on the
    login page and xterm's Terminal and FitAddon once the terminal page's scripts are loaded."""
    require(CHROMIUM.exists(), f"{CHROMIUM} is missing (make browser)")
    with launch_chromium() as chromium:
        page = chromium.new_page()  # type: ignore[attr-defined]
        problems: list[str] = []
        collect_problems(page, problems)
        page.goto(web + "/auth/login")
        page.wait_for_function("() => typeof window.htmx === 'object'", timeout=10_000)
        page.add_style_tag(url="/static/vendor/xterm/xterm.css")
        page.add_script_tag(url="/static/vendor/xterm/xterm.js")
        page.add_script_tag(url="/static/vendor/xterm-addon-fit/addon-fit.js")
        assert page.evaluate("() => typeof window.Terminal === 'function'")
        assert page.evaluate("() => typeof window.FitAddon === 'object'")
        page.close()
        assert not problems, problems


def test_dev_up_from_the_wheel_says_it_needs_a_source_checkout(installed: Installed) -> None:
    result = subprocess.run(
        [str(installed.janus), "dev", "up", "--state-dir", str(installed.workdir / "dev")],
        cwd=installed.workdir, env=installed.env(), capture_output=True, text=True, timeout=60,
    )
    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr, result.stderr
    assert "source checkout" in result.stderr
    assert "make demo" in result.stderr
