"""Locate the helm binary built by tests/cluster/build.sh and render the chart with it."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from janus.dev.controlplane.binaries import BUILD_SCRIPT, REPO_ROOT, cache_dir, read_versions

CHART = REPO_ROOT / "helm" / "janus"
PRODUCTION_VALUES = Path(__file__).with_name("values-production.yaml")
# files/controller-rbac.yaml is generated for these two names; the chart refuses any other.
NAMESPACE = "janus"
TOKENS_NAMESPACE = "janus-tokens"


def helm_binary() -> Path:
    """The pinned helm, or skip (fail under JANUS_REQUIRE_CLUSTER=1, as for the control plane)."""
    version = read_versions()["HELM_VERSION"]
    path = cache_dir() / f"helm-{version}" / "helm"
    if not path.exists():
        msg = f"helm {version} missing at {path}; build it with {BUILD_SCRIPT}"
        if os.environ.get("JANUS_REQUIRE_CLUSTER") == "1":
            pytest.fail(msg, pytrace=False)
        pytest.skip(msg)
    return path


def helm(*args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    # Own HOME-like dirs so a developer's helm config and repositories never leak in.
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": "/nonexistent",
           "HELM_CACHE_HOME": "/nonexistent",
           "HELM_CONFIG_HOME": "/nonexistent", "HELM_DATA_HOME": "/nonexistent"}
    proc = subprocess.run([str(helm_binary()), *args], capture_output=True, text=True,
                          env=env, timeout=120)
    if check and proc.returncode != 0:
        raise AssertionError(f"helm {' '.join(args)} failed:\n{proc.stdout}\n{proc.stderr}")
    return proc


def render(*values_files: Path, sets: tuple[str, ...] = (),
           namespace: str = NAMESPACE) -> list[dict[str, Any]]:
    """``helm template`` with the CRDs, as parsed documents (empty ones dropped)."""
    args = ["template", "janus", str(CHART), "--namespace", namespace, "--include-crds"]
    for f in values_files:
        args += ["--values", str(f)]
    for s in sets:
        args += ["--set", s]
    out = helm(*args).stdout
    return [d for d in yaml.safe_load_all(out) if d]


def by_kind(docs: list[dict[str, Any]], kind: str) -> list[dict[str, Any]]:
    return [d for d in docs if d["kind"] == kind]


def find(docs: list[dict[str, Any]], kind: str, name: str,
         namespace: str | None = None) -> dict[str, Any]:
    for d in docs:
        meta = d["metadata"]
        if d["kind"] == kind and meta["name"] == name and meta.get("namespace") == namespace:
            return d
    raise AssertionError(f"no {kind} {namespace}/{name} rendered")


def load_values(path: Path) -> dict[str, Any]:
    return yaml.safe_load(path.read_text(encoding="utf-8"))
