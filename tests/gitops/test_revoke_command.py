"""``/janus revoke [reason]`` on a merged request PR: the requester and admins may; a stranger
gets a refusal and nothing changes; replays answer once."""

from __future__ import annotations

import pytest

from janus.gitops.revoke_command import parse_revoke
from tests.gitops import harness
from tests.gitops.harness import cr_name, granted_request, open_request_pr, request_name


def test_parse_revoke() -> None:
    assert parse_revoke("/janus revoke") == ""
    assert parse_revoke("thanks!\n/janus revoke done with the incident\n") == \
        "done with the incident"
    assert parse_revoke("  /janus   revoke  ") == ""
    assert parse_revoke("please /janus revoke") is None
    assert parse_revoke("/janus revoked") is None
    assert parse_revoke("/janus status") is None


def _command(bed, gitops, number: int, who: str, body: str) -> None:
    comment_id = bed.sim.comment(bed.repo, number, who, body)
    payload = {"action": "created", "issue": {"number": number, "pull_request": {"url": "x"}},
               "comment": {"id": comment_id, "body": body}, "repository": {"full_name": bed.repo}}
    gitops.handle_comment(payload)
    gitops.handle_comment(payload)  # a replayed delivery: no second answer, no second patch


def _replies(bed, number: int) -> list[str]:
    return [b for b in harness.comments_of(bed.sim, bed.repo, number) if "janus:reply:" in b]


@pytest.mark.k8s_real
def test_requester_revokes_with_a_reason(bed, gitops, kube) -> None:
    name, number = granted_request(bed, gitops)
    _command(bed, gitops, number, "alice", "/janus revoke incident closed")
    revocation = harness.raw_cr(kube, cr_name(name))["spec"]["revocation"]
    assert revocation["by"] == "alice" and revocation["reason"] == "incident closed"
    replies = _replies(bed, number)
    assert len(replies) == 1 and "@alice revocation requested" in replies[0]


@pytest.mark.k8s_real
def test_admin_through_team_membership_revokes(bed, gitops, kube) -> None:
    name, number = granted_request(bed, gitops)
    _command(bed, gitops, number, "sam", "/janus revoke")  # sam is in acme/sre, the admins
    assert harness.raw_cr(kube, cr_name(name))["spec"]["revocation"]["by"] == "sam"


@pytest.mark.k8s_real
def test_stranger_is_refused_and_nothing_is_revoked(bed, gitops, kube) -> None:
    name, number = granted_request(bed, gitops)
    _command(bed, gitops, number, "dave", "/janus revoke because I can")
    assert "revocation" not in harness.raw_cr(kube, cr_name(name))["spec"]
    replies = _replies(bed, number)
    assert len(replies) == 1 and "only the requester or a Janus admin" in replies[0]
    assert bed.counters.get("revocations_total", source="comment", outcome="refused") == 1


@pytest.mark.k8s_real
def test_revoke_on_an_unmerged_pr_is_explained(bed, gitops, kube) -> None:
    name = request_name()
    number = open_request_pr(bed.sim, bed.repo, name)
    _command(bed, gitops, number, "alice", "/janus revoke")
    assert "merged request PRs only" in _replies(bed, number)[0]
