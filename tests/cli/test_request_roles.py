"""`janus request` with the role catalogue (issue 13 item 5), on this project's policies as the
demo extends them (janus.dev.demo.DEMO_EDITS: pod-logs in the catalogue and in payments-prod;
payments-staging allows only pod-exec): a role the covering policy does not allow and an
unknown role write nothing; an allowed non-exec role is written as asked."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import yaml

from janus.cli import main
from janus.dev.demo import DEMO_EDITS

ROOT = Path(__file__).resolve().parents[2]
REASON = "INC-4242: payment worker stuck on the ledger queue"


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    shutil.copytree(ROOT / "policies", tmp_path / "policies")
    for rel, (old, new) in DEMO_EDITS.items():
        text = (tmp_path / rel).read_text()
        assert old in text
        (tmp_path / rel).write_text(text.replace(old, new, 1))
    return tmp_path


def _request(repo: Path, cluster: str, role: str) -> int:
    return main(["request", "--repo-dir", str(repo), "--cluster", cluster,
                 "--namespace", "payments", "--role", role, "--reason", REASON,
                 "--ticket", "INC-4242", "--requester", "alice"])


@pytest.mark.parametrize(("cluster", "role", "rule"), [
    ("staging", "pod-logs", "policy.role"),   # in the catalogue; payments-staging: pod-exec only
    ("prod", "pod-debug", "role.unknown"),    # a built-in this catalogue does not offer
    ("prod", "cluster-admin", "role.unknown"),
])
def test_a_role_that_cannot_be_granted_writes_nothing(
    repo: Path, capsys: pytest.CaptureFixture[str], cluster: str, role: str, rule: str,
) -> None:
    assert _request(repo, cluster, role) == 1
    err = capsys.readouterr().err
    assert rule in err and "nothing was written" in err
    assert not (repo / "requests").exists()


def test_an_allowed_non_exec_role_is_written(repo: Path,
                                             capsys: pytest.CaptureFixture[str]) -> None:
    assert _request(repo, "prod", "pod-logs") == 0
    [written] = list((repo / "requests" / "prod" / "payments").glob("*.yaml"))
    assert yaml.safe_load(written.read_text())["spec"]["role"] == "pod-logs"
