"""The GitHub workflows: actionlint and zizmor clean, every action pinned, least permissions.

actionlint is built from the Go module proxy by tests/workflows/build.sh (pinned in
versions.env, cached in ~/.cache/janus/bin); zizmor is the PyPI wheel pinned in pyproject.toml's
test extra. zizmor runs offline: its online audits need a GitHub token, and the pins are checked
against the actions' tags when they are chosen (the tag is in each `uses:` comment).
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]
WORKFLOWS = sorted((REPO / ".github" / "workflows").glob("*.yml"))
BUILD = Path(__file__).with_name("build.sh")
# owner/repo[/path]@<40 hex>  # vX.Y.Z
PINNED = re.compile(r"^[\w.-]+/[\w./-]+@[0-9a-f]{40}$")
USES_LINE = re.compile(r"^\s*(?:-\s+)?uses:\s*(\S+)\s*(#.*)?$")


def _load(path: Path) -> dict[Any, Any]:
    doc = yaml.safe_load(path.read_text(encoding="utf-8"))
    # YAML 1.1 reads the key `on` as True.
    if True in doc:
        doc["on"] = doc.pop(True)
    return doc


def _actionlint() -> Path:
    proc = subprocess.run(["bash", str(BUILD)], capture_output=True, text=True, timeout=900)
    if proc.returncode == 3 and os.environ.get("JANUS_REQUIRE_CLUSTER") != "1":
        # No Go here (as for the control plane: `make test` sets JANUS_REQUIRE_CLUSTER=1).
        pytest.skip(proc.stderr.strip())
    assert proc.returncode == 0, f"{BUILD} failed:\n{proc.stderr}"
    return Path(proc.stdout.strip().splitlines()[-1])


def test_there_are_workflows() -> None:
    assert {p.name for p in WORKFLOWS} >= {"ci.yml", "release.yml", "validate-requests.yml"}


def test_actionlint_is_clean() -> None:
    binary = _actionlint()
    proc = subprocess.run([str(binary), "-no-color", *map(str, WORKFLOWS)], capture_output=True,
                          text=True, timeout=120, cwd=REPO)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_zizmor_is_clean() -> None:
    zizmor = Path(sys.executable).with_name("zizmor")
    if not zizmor.exists():
        found = shutil.which("zizmor")
        assert found, "zizmor missing: install the test extra (pip install -e '.[test]')"
        zizmor = Path(found)
    proc = subprocess.run([str(zizmor), "--offline", "--no-progress", "--format", "plain",
                           str(REPO / ".github" / "workflows")],
                          capture_output=True, text=True, timeout=120, cwd=REPO)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "No findings" in proc.stdout, proc.stdout


@pytest.mark.parametrize("path", WORKFLOWS, ids=[p.name for p in WORKFLOWS])
def test_every_action_is_pinned_by_commit_sha(path: Path) -> None:
    uses = []
    for line in path.read_text(encoding="utf-8").splitlines():
        m = USES_LINE.match(line)
        if m:
            uses.append(m.groups())
    assert uses, path.name
    for ref, comment in uses:
        assert PINNED.match(ref), f"{path.name}: {ref} is not pinned by a full commit SHA"
        assert comment and re.search(r"v\d+\.\d+\.\d+", comment), (
            f"{path.name}: {ref} has no `# vX.Y.Z` comment naming the pinned tag")


@pytest.mark.parametrize("path", WORKFLOWS, ids=[p.name for p in WORKFLOWS])
def test_least_permissions(path: Path) -> None:
    doc = _load(path)
    assert doc.get("permissions") == {}, f"{path.name}: top level must be `permissions: {{}}`"
    for name, job in doc["jobs"].items():
        assert "permissions" in job, f"{path.name}: job {name} states no permissions"
        perms = job["permissions"] or {}
        assert "write-all" not in str(perms), name
        if perms.get("id-token") == "write":
            assert (path.name, name) in {("release.yml", "pypi"), ("release.yml", "sign")}, (
                f"{path.name}: job {name} must not mint OIDC tokens")


@pytest.mark.parametrize("path", WORKFLOWS, ids=[p.name for p in WORKFLOWS])
def test_no_expressions_inside_scripts(path: Path) -> None:
    """Values reach a shell through `env:`; `${{ }}` in `run:` is a template-injection hole."""
    for name, job in _load(path)["jobs"].items():
        for step in job.get("steps", []):
            assert "${{" not in step.get("run", ""), (path.name, name, step.get("name"))


def test_release_workflow_shape() -> None:
    doc = _load(REPO / ".github" / "workflows" / "release.yml")
    assert doc["on"] == {"push": {"tags": ["v*"]}}
    jobs = doc["jobs"]
    steps = {name: [s.get("uses", "").split("@")[0] for s in job["steps"]]
             for name, job in jobs.items()}
    assert "pypa/gh-action-pypi-publish" in steps["pypi"]
    assert jobs["pypi"]["permissions"] == {"id-token": "write"}
    assert jobs["pypi"]["environment"]["name"] == "pypi"
    # A PyPI upload cannot be taken back: it goes last.
    assert "chart" in jobs["pypi"]["needs"]

    build = next(s for s in jobs["image"]["steps"]
                 if s.get("uses", "").startswith("docker/build-push-action@"))["with"]
    assert build["file"] == "Containerfile"
    assert set(build["platforms"].split(",")) == {"linux/amd64", "linux/arm64"}
    assert build["sbom"] is True and build["provenance"] == "mode=max"
    assert build["push"] is True
    for action in ("docker/setup-qemu-action", "docker/setup-buildx-action"):
        assert action in steps["image"]
    assert "id-token" not in jobs["image"]["permissions"]

    assert "sigstore/cosign-installer" in steps["sign"]
    sign_run = " ".join(s.get("run", "") for s in jobs["sign"]["steps"])
    assert "cosign sign --yes" in sign_run and "@$DIGEST" in sign_run

    chart_run = " ".join(s.get("run", "") for s in jobs["chart"]["steps"])
    assert "helm\" push" in chart_run and "oci://ghcr.io/" in chart_run
    for job in jobs.values():
        for step in job["steps"]:
            if step.get("uses", "").startswith("actions/checkout@"):
                assert step["with"]["persist-credentials"] is False
