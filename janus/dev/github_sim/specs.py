"""Fetch GitHub's official API descriptions from npm into a cache outside the repository.

The simulator's contract tests validate every REST response against ``@octokit/openapi`` and
every webhook payload against ``@octokit/openapi-webhooks``; its GraphQL endpoint executes every
query against ``@octokit/graphql-schema``. They are large (the REST one is
13 MB), so they are not vendored: ``npm install --prefix`` puts each pinned version into
``~/.cache/janus/npm/<name>-<version>/`` once, and later runs reuse it. A ``.complete`` marker is
written last, so an interrupted install is redone instead of half-used.

Command line: ``python -m janus.dev.github_sim.specs`` prints the three paths.
"""

from __future__ import annotations

import fcntl
import os
import shutil
import subprocess
import sys
from pathlib import Path

OPENAPI_VERSION = "23.0.2"
WEBHOOKS_VERSION = "12.1.0"
GRAPHQL_SCHEMA_VERSION = "15.26.1"
_PACKAGES = {
    "openapi": ("@octokit/openapi", OPENAPI_VERSION, "generated/api.github.com.json"),
    "openapi-webhooks": (
        "@octokit/openapi-webhooks",
        WEBHOOKS_VERSION,
        "generated/api.github.com.json",
    ),
    # GitHub's public GraphQL schema, as introspection JSON (its SDL file repeats two fields,
    # which graphql-core rightly refuses): the simulator executes Janus's queries against it.
    "graphql-schema": ("@octokit/graphql-schema", GRAPHQL_SCHEMA_VERSION, "schema.json"),
}


def cache_root() -> Path:
    base = os.environ.get("JANUS_CACHE") or Path.home() / ".cache" / "janus"
    return Path(base) / "npm"


def _ensure(kind: str) -> Path:
    package, version, inner = _PACKAGES[kind]
    target = cache_root() / f"octokit-{kind}-{version}"
    doc = target / "node_modules" / package / inner
    marker = target / ".complete"
    if marker.exists() and doc.exists():
        return doc
    cache_root().mkdir(parents=True, exist_ok=True)
    # Two test runs on a cold cache must not install into the same directory at once.
    with open(cache_root() / f".octokit-{kind}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if marker.exists() and doc.exists():
            return doc
        return _install(package, version, inner, target, doc, marker)


def _install(package: str, version: str, inner: str, target: Path, doc: Path,
             marker: Path) -> Path:
    npm = shutil.which("npm")
    if npm is None:
        raise RuntimeError(f"npm is needed once to fetch {package}@{version} into {target}")
    if target.exists():
        shutil.rmtree(target)
    target.mkdir(parents=True)
    # --ignore-scripts: a description package has no reason to run install hooks.
    subprocess.run(
        [npm, "install", "--prefix", str(target), "--no-audit", "--no-fund", "--ignore-scripts",
         "--no-save", f"{package}@{version}"],
        check=True,
        stdout=subprocess.DEVNULL,
    )
    if not doc.exists():
        raise RuntimeError(f"{package}@{version} has no {inner}")
    marker.write_text(f"{package}@{version}\n")
    return doc


def rest_description() -> Path:
    """Path of ``@octokit/openapi``'s ``api.github.com.json`` (OpenAPI 3.0.3)."""
    return _ensure("openapi")


def webhooks_description() -> Path:
    """Path of ``@octokit/openapi-webhooks``'s ``api.github.com.json`` (OpenAPI 3.1)."""
    return _ensure("openapi-webhooks")


def graphql_schema() -> Path:
    """Path of ``@octokit/graphql-schema``'s ``schema.json`` (GitHub's public GraphQL API)."""
    return _ensure("graphql-schema")


if __name__ == "__main__":
    print(rest_description())
    print(webhooks_description())
    print(graphql_schema())
    sys.exit(0)
