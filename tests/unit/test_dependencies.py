"""What janus/ imports is declared; floors past known CVEs; test tools and the lock files pinned.

A module imported directly but only installed as somebody else's dependency breaks the day that
somebody drops it (starlette came with fastapi, PyJWT with PyGithub), so every third-party import
under janus/ must map to a distribution in [project] dependencies. The one exception is an import
marked ``# test-only dependency`` (inside a function, used only by the test suite): its
distribution must be in the test extra.
"""

from __future__ import annotations

import ast
import importlib.metadata
import re
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
TEST_ONLY = "# test-only dependency"


def _norm(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _name(requirement: str) -> str:
    return _norm(re.match(r"[A-Za-z0-9_.-]+", requirement).group(0))  # type: ignore[union-attr]


def _imports() -> dict[str, list[tuple[str, bool]]]:
    """top-level module -> [(file:line, marked test-only)] for every absolute import in janus/."""
    found: dict[str, list[tuple[str, bool]]] = {}
    for path in sorted((ROOT / "janus").rglob("*.py")):
        lines = path.read_text().splitlines()
        for node in ast.walk(ast.parse("\n".join(lines), str(path))):
            if isinstance(node, ast.Import):
                modules = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                modules = [node.module]
            else:
                continue
            marked = TEST_ONLY in lines[node.lineno - 1]
            where = f"{path.relative_to(ROOT)}:{node.lineno}"
            for module in modules:
                top = module.split(".")[0]
                if top != "janus" and top not in sys.stdlib_module_names:
                    found.setdefault(top, []).append((where, marked))
    return found


def test_every_third_party_import_is_declared() -> None:
    runtime = {_name(r) for r in PROJECT["dependencies"]}
    test = {_name(r) for r in PROJECT["optional-dependencies"]["test"]}
    providers = importlib.metadata.packages_distributions()
    missing = []
    for module, places in sorted(_imports().items()):
        dists = {_norm(d) for d in providers.get(module, [])}
        assert dists, f"{module} (imported at {places[0][0]}) is not installed at all"
        for where, marked in places:
            allowed = runtime | test if marked else runtime
            if not dists & allowed:
                missing.append(f"{where}: {module} (from {sorted(dists)})")
    assert not missing, "imported but not declared in [project] dependencies:\n" + "\n".join(
        missing
    )


def test_the_simulator_and_the_web_app_declare_what_they_import() -> None:
    runtime = {_name(r) for r in PROJECT["dependencies"]}
    assert {"starlette", "pyjwt", "urllib3", "referencing"} <= runtime


def _floor(name: str) -> tuple[int, ...]:
    for requirement in PROJECT["dependencies"]:
        if _name(requirement) == name:
            match = re.search(r">=\s*([0-9.]+)", requirement)
            assert match, f"{requirement}: no >= floor"
            return tuple(int(part) for part in match.group(1).split("."))
    raise AssertionError(f"{name} is not a dependency")


def test_floors_are_past_known_cves() -> None:
    assert _floor("starlette") >= (0, 49, 1)  # CVE-2025-62727
    assert _floor("jinja2") >= (3, 1, 6)  # CVE-2025-27516
    assert _floor("python-multipart") >= (0, 0, 18)  # CVE-2024-53981


def test_test_tools_are_pinned_exactly() -> None:
    loose = [r for r in PROJECT["optional-dependencies"]["test"] if "==" not in r]
    assert not loose, f"test extra entries without an exact pin: {loose}"


def _locked(path: Path) -> dict[str, str]:
    """name -> version of a lock file; every entry must carry sha256 hashes."""
    entries: dict[str, str] = {}
    text = path.read_text()
    for block in re.split(r"\n(?=[A-Za-z0-9])", text):
        head = block.split()[0] if block.strip() else ""
        if not head or head.startswith("#"):
            continue
        name, _, version = head.partition("==")
        assert version, f"{path.name}: {head} is not pinned with =="
        assert "--hash=sha256:" in block, f"{path.name}: {name} has no hash"
        entries[_norm(name)] = version
    return entries


def test_lock_files_cover_the_declared_dependencies_and_agree() -> None:
    runtime = _locked(ROOT / "requirements.lock")
    full = _locked(ROOT / "requirements-test.lock")
    for requirement in PROJECT["dependencies"]:
        assert _name(requirement) in runtime, f"{requirement} missing from requirements.lock"
    for requirement in PROJECT["optional-dependencies"]["test"]:
        name, _, version = requirement.partition("==")
        assert full.get(_norm(name)) == version, f"{requirement}: requirements-test.lock differs"
    differ = {n: (v, full.get(n)) for n, v in runtime.items() if full.get(n) != v}
    assert not differ, f"the two lock files disagree (run scripts/lock.sh): {differ}"


def test_installed_versions_match_the_lock() -> None:
    """`make venv` installs requirements-test.lock; a stale venv shows up here, not as a puzzle."""
    full = _locked(ROOT / "requirements-test.lock")
    stale = {}
    for name in ("starlette", "fastapi", "jinja2", "python-multipart", "pytest", "ruff"):
        installed = importlib.metadata.version(name)
        if installed != full[name]:
            stale[name] = (installed, full[name])
    assert not stale, f"installed != locked (run make venv): {stale}"
