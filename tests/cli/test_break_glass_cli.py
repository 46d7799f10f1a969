"""`janus request --break-glass`, `janus validate` and `janus plan` on break-glass requests,
against this project's policies (payments-prod lets alice break the glass for up to 1h)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
import yaml

from janus.cli import main

ROOT = Path(__file__).resolve().parents[2]
MEMBERS = ROOT / "janus" / "dev" / "demo_members.yaml"
REASON = "INC-4242: payments down, no lead answers"
WRITTEN = "requests/prod/payments/alice-payments-inc4242.yaml"


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    shutil.copytree(ROOT / "policies", tmp_path / "policies")
    return tmp_path


def _request(repo: Path, *extra: str) -> int:
    return main(["request", "--repo-dir", str(repo), "--cluster", "prod", "--namespace",
                 "payments", "--reason", REASON, "--ticket", "INC-4242", "--members",
                 str(MEMBERS), *extra])


@pytest.mark.parametrize(("extra", "rule", "expected"), [
    (["--requester", "dave"], "break-glass.requester", "accepted break-glass requesters are"),
    (["--requester", "alice", "--duration", "2h"], "break-glass.max-duration", "at most 1h"),
])
def test_break_glass_the_policy_does_not_allow_is_refused_and_writes_nothing(
    repo: Path, capsys: pytest.CaptureFixture[str], extra: list[str], rule: str, expected: str
) -> None:
    assert _request(repo, "--break-glass", *extra) == 1
    err = capsys.readouterr().err
    assert rule in err and expected in err and "nothing was written" in err
    assert not (repo / "requests").exists()


def test_break_glass_where_no_policy_allows_it(
    repo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # staging/payments: payments-staging and sre-oncall have no breakGlass.
    assert main(["request", "--repo-dir", str(repo), "--cluster", "staging", "--namespace",
                 "payments", "--reason", REASON, "--requester", "alice", "--members",
                 str(MEMBERS), "--break-glass", "--duration", "30m"]) == 1
    assert "break-glass.not-allowed" in capsys.readouterr().err


def test_break_glass_file_is_written_and_validate_and_plan_show_it(
    repo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert _request(repo, "--requester", "alice", "--duration", "1h", "--break-glass") == 0
    capsys.readouterr()
    document = yaml.safe_load((repo / WRITTEN).read_text())
    assert document["spec"]["breakGlass"] is True
    assert main(["validate", "--repo", str(repo), "--members", str(MEMBERS)]) == 0
    out = capsys.readouterr().out
    assert f"{WRITTEN}: note: BREAK-GLASS (policy payments-prod)" in out
    assert "@acme/payments-leads within 24h" in out
    assert main(["validate", "--repo", str(repo), "--members", str(MEMBERS),
                 "--format", "json"]) == 0
    [entry] = json.loads(capsys.readouterr().out)["files"]
    assert entry["valid"] and entry["breakGlass"].startswith("BREAK-GLASS")
    assert main(["plan", "--repo", str(repo), "--members", str(MEMBERS),
                 str(repo / WRITTEN)]) == 0
    out = capsys.readouterr().out
    assert out.startswith(f"# {WRITTEN}: BREAK-GLASS (policy payments-prod)")
    assert "a normal request here needs 1 approval from @acme/payments-leads" in out


def test_without_the_flag_the_file_is_a_normal_request(
    repo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert _request(repo, "--requester", "alice", "--duration", "2h") == 0
    assert "breakGlass" not in (repo / WRITTEN).read_text()
    capsys.readouterr()
    assert main(["validate", "--repo", str(repo), "--members", str(MEMBERS)]) == 0
    assert "BREAK-GLASS" not in capsys.readouterr().out
