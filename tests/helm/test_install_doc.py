"""docs/install.md stays true: its values file renders with the chart (schema included), and its
access-repository files pass `janus validate` and `janus codeowners --check`."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

from janus.cli import main
from tests.helm.chart import CHART, NAMESPACE, find, render

DOC = (CHART.parents[1] / "docs" / "install.md").read_text()
ENV = {"REPO": "acme/access", "HOOK_HOST": "hooks.janus.example.com",
       "WEB_HOST": "janus.example.com", "OAUTH_CLIENT_ID": "Ov23liExample",
       "DIGEST": "sha256:" + "0" * 64}


def heredoc(target: str) -> str:
    """The body of ``cat > TARGET <<'EOF'`` (or ``<<EOF``) in the document."""
    match = re.search(rf"cat > {re.escape(target)} <<'?EOF'?\n(.*?)\nEOF\n", DOC, re.S)
    assert match, f"no heredoc for {target} in docs/install.md"
    return match.group(1)


def test_the_values_file_renders(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in ENV.items():
        monkeypatch.setenv(name, value)
    values = tmp_path / "values-janus.yaml"
    values.write_text(os.path.expandvars(heredoc("values-janus.yaml")))
    docs = render(values)
    web = find(docs, "Deployment", "janus-web", NAMESPACE)["spec"]["template"]["spec"]
    assert web["containers"][0]["image"].endswith("@" + ENV["DIGEST"])
    hosts = {r["host"] for d in docs if d["kind"] == "Ingress" for r in d["spec"]["rules"]}
    assert hosts == {ENV["WEB_HOST"], ENV["HOOK_HOST"]}
    assert find(docs, "Service", "janus-web-metrics", NAMESPACE)


def test_the_access_repository_files_are_valid(tmp_path: Path,
                                               capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "policies").mkdir()
    for name in ("janus.yaml", "payments-prod.yaml"):
        (tmp_path / "policies" / name).write_text(heredoc(f"policies/{name}") + "\n")
    assert main(["codeowners", "--repo", str(tmp_path)]) == 0
    assert main(["validate", "--repo", str(tmp_path)]) == 0
    assert main(["request", "--cluster", "prod", "--namespace", "payments", "--role",
                 "pod-exec", "--duration", "1h", "--reason", "Debug the stuck payment batch",
                 "--ticket", "INC-1234", "--requester", "alice", "--repo-dir",
                 str(tmp_path)]) == 0
    assert main(["validate", "--repo", str(tmp_path)]) == 0
    capsys.readouterr()
