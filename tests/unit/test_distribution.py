"""The distribution name: free on PyPI, the one installed, the one the access-repo workflow pins.

`janus` on PyPI is another project (an asyncio queue), so `pip install janus==…` in an access
repository would install the wrong thing. The import package and the command stay `janus`.
"""

from __future__ import annotations

import importlib.metadata
import re
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
NAME = "janus-access"


def test_pyproject_declares_the_distribution_name() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    assert project["name"] == NAME


def test_installed_metadata_names_the_distribution_of_the_janus_package() -> None:
    dist = importlib.metadata.distribution(NAME)
    assert dist.metadata["Name"] == NAME
    assert NAME in importlib.metadata.packages_distributions()["janus"]
    assert dist.version == __import__("janus").__version__


def test_access_repo_workflow_installs_that_name() -> None:
    text = (ROOT / ".github" / "workflows" / "validate-requests.yml").read_text()
    pins = re.findall(r"pip install ([A-Za-z0-9_.-]+)==", text)
    assert pins, "validate-requests.yml no longer shows the pinned install for access repos"
    assert {re.sub(r"[-_.]+", "-", p).lower() for p in pins} == {NAME}


def test_release_workflow_publishes_that_name() -> None:
    text = (ROOT / ".github" / "workflows" / "release.yml").read_text()
    assert f"https://pypi.org/project/{NAME}/" in text
