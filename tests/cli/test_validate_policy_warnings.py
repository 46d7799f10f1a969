"""`janus validate` warns about a policy whose excludeRequesterTeams can never exclude anyone:
its approvers name no teams (issue 13 item 2). A warning, not an error: the policy still
judges requests (exit 0), but the separation of duties it seems to promise is not there."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from janus.cli import main
from janus.model import load_policy_set_from_files
from janus.policy.policy_warnings import EXCLUDE_WITHOUT_TEAMS, policy_warnings
from tests.unit.model.helpers import CONFIG, PAYMENTS_PROD, REQUEST_TEXT, policy_files

REQUEST = "requests/prod/payments/alice-payments-inc1234.yaml"
TEAMS = "  approvers:  {users: [], teams: [acme/payments-leads], required: 1}\n"
REQUESTER_TEAMS = "  requesters: {users: [alice], teams: [acme/payments-devs]}\n"
NO_REQUESTER_TEAMS = "  requesters: {users: [alice]}\n"
USERS_ONLY = ("  approvers:\n    users: [carol, dave]\n    required: 1\n"
              "    excludeRequesterTeams: true\n")
WITH_TEAMS = ("  approvers:\n    teams: [acme/payments-leads]\n    required: 1\n"
              "    excludeRequesterTeams: true\n")
GROUPS_USERS_ONLY = ("  approvers:\n    allOf:\n      - {users: [carol], required: 1}\n"
                     "      - {users: [dave], required: 1}\n    excludeRequesterTeams: true\n")
GROUPS_ONE_TEAM = ("  approvers:\n    allOf:\n      - {users: [carol], required: 1}\n"
                   "      - {teams: [acme/sre], required: 1}\n    excludeRequesterTeams: true\n")


def _files(approvers: str, requesters: str = "") -> dict[str, bytes]:
    assert TEAMS in PAYMENTS_PROD and REQUESTER_TEAMS in PAYMENTS_PROD
    text = PAYMENTS_PROD.replace(TEAMS, approvers)
    if requesters:
        text = text.replace(REQUESTER_TEAMS, requesters)
    files = policy_files(janus=CONFIG, payments_prod=text)
    files[REQUEST] = REQUEST_TEXT.encode()
    return files


def _repo(tmp_path: Path, approvers: str) -> Path:
    for path, data in _files(approvers).items():
        (tmp_path / path).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / path).write_bytes(data)
    return tmp_path


@pytest.mark.parametrize(("approvers", "requesters", "warned"), [
    (USERS_ONLY, REQUESTER_TEAMS, "only the requester teams the policy lists (acme/payments-devs)"),
    (GROUPS_USERS_ONLY, REQUESTER_TEAMS, "an approver is excluded only as a member of one"),
    (USERS_ONLY, NO_REQUESTER_TEAMS, "no approver is ever excluded"),
    (GROUPS_USERS_ONLY, NO_REQUESTER_TEAMS, "no approver is ever excluded"),
    (WITH_TEAMS, REQUESTER_TEAMS, None),
    (WITH_TEAMS, NO_REQUESTER_TEAMS, None),
    (GROUPS_ONE_TEAM, NO_REQUESTER_TEAMS, None),
    (TEAMS, REQUESTER_TEAMS, None),  # no excludeRequesterTeams at all
])
def test_policy_warnings(approvers: str, requesters: str, warned: str | None) -> None:
    files = _files(approvers, requesters)
    policies = load_policy_set_from_files(files)
    sources = {p: d.decode() for p, d in files.items()}
    found = policy_warnings(policies, sources)
    if not warned:
        assert found == []
        return
    [warning] = found
    assert warning.rule == EXCLUDE_WITHOUT_TEAMS == "policy.exclude-requester-teams-without-teams"
    assert warning.path == "policies/payments-prod.yaml"
    text = sources[warning.path].splitlines()
    assert warning.line is not None and "excludeRequesterTeams" in text[warning.line - 1]
    assert "payments-prod" in warning.message
    assert warned in warning.message
    assert "accepted: approvers that name at least one team" in warning.message


def test_validate_prints_the_warning_and_still_succeeds(tmp_path, capsys) -> None:
    repo = _repo(tmp_path, USERS_ONLY)
    assert main(["validate", "--repo", str(repo)]) == 0
    out, _ = capsys.readouterr()
    [line] = [x for x in out.splitlines() if EXCLUDE_WITHOUT_TEAMS in x]
    assert line.startswith("policies/payments-prod.yaml:")
    assert ": warning: policy.exclude-requester-teams-without-teams: " in line

    assert main(["validate", "--repo", str(repo), "--format", "github"]) == 0
    out, _ = capsys.readouterr()
    assert any(x.startswith("::warning file=policies/payments-prod.yaml,line=")
               and "title=policy.exclude-requester-teams-without-teams" in x
               for x in out.splitlines())

    assert main(["validate", "--repo", str(repo), "--format", "json"]) == 0
    out, _ = capsys.readouterr()
    [warning] = json.loads(out)["warnings"]
    assert warning["rule"] == EXCLUDE_WITHOUT_TEAMS
    assert warning["path"] == "policies/payments-prod.yaml"


def test_validate_is_quiet_when_the_approvers_name_a_team(tmp_path, capsys) -> None:
    repo = _repo(tmp_path, WITH_TEAMS)
    assert main(["validate", "--repo", str(repo)]) == 0
    out, _ = capsys.readouterr()
    assert "warning" not in out
