"""The inbox's pure assembly (janus.web.inbox): who sees which open request PR, and the rows.

Hostile cases first: the requester never sees their own request (even as an approver of its
policy), nor a stranger, nor an approver who is not a code owner of the file, nor anyone a
refused request; an approval of the current head moves the PR out of the list."""

from __future__ import annotations

import datetime as dt

from janus.model import load_policy_set_from_files, load_request
from janus.policy import evaluate
from janus.policy.approval import Review
from janus.policy.membership import StaticMembership
from janus.web.inbox import OpenPull, RequestFile, approver_of, build_inbox, eligible
from tests.web.conftest import JANUS_CONFIG, PAYMENTS_POLICY

POLICIES = load_policy_set_from_files({
    "policies/janus.yaml": JANUS_CONFIG.encode(),
    "policies/payments-prod.yaml": PAYMENTS_POLICY.encode(),
})
# lena and alice lead payments; bob develops there.
MEMBERS = StaticMembership({"acme/payments-leads": ["lena", "alice"],
                            "acme/payments-devs": ["bob"]})
OWNERS = ("@acme/payments-leads",)
NOW = dt.datetime(2026, 11, 30, 12, 0, tzinfo=dt.UTC)
HEAD = "a" * 40


def _file(requester: str = "alice", namespace: str = "payments", duration: str = "2h",
          owners: tuple[str, ...] | None = OWNERS) -> RequestFile:
    path = f"requests/prod/{namespace}/{requester}-inc42.yaml"
    text = f"""\
apiVersion: janus.dev/v1alpha1
kind: AccessRequest
metadata: {{name: {requester}-inc42}}
spec:
  requester: {requester}
  cluster: prod
  namespace: {namespace}
  role: pod-exec
  duration: {duration}
  reason: "INC-42: payment workers are stuck"
  ticket: INC-42
"""
    request, problems = load_request(path, text.encode())
    assert request is not None, problems
    return RequestFile(path, request, evaluate(request, POLICIES, MEMBERS), owners)


def _pull(*files: RequestFile, number: int = 7, author: str = "alice",
          reviews: tuple[Review, ...] = (), opened_minutes_ago: int = 90) -> OpenPull:
    return OpenPull(number, f"Access request {number}", f"https://gh/acme/access/pull/{number}",
                    author, HEAD, NOW - dt.timedelta(minutes=opened_minutes_ago),
                    files or (_file(),), reviews, "passed")


def _review(user: str, state: str = "APPROVED", commit: str = HEAD) -> Review:
    return Review(user, state, commit, NOW - dt.timedelta(minutes=5))


def test_the_requester_never_sees_their_own_request_even_as_an_approver() -> None:
    # alice is in acme/payments-leads, the policy's approvers, and a code owner.
    pull = _pull()
    assert build_inbox("alice", [pull], MEMBERS, NOW).rows == ()
    assert build_inbox("ALICE", [pull], MEMBERS, NOW).rows == ()
    # Not as the PR's author either, when someone else is the requester.
    other = _pull(_file(requester="bob"), author="alice")
    assert build_inbox("alice", [other], MEMBERS, NOW).rows == ()


def test_a_stranger_and_a_requester_colleague_see_nothing() -> None:
    pull = _pull()
    assert build_inbox("mallory", [pull], MEMBERS, NOW).count == 0
    assert build_inbox("bob", [pull], MEMBERS, NOW).count == 0  # a requester, not an approver


def test_an_approver_who_does_not_own_the_file_is_not_asked() -> None:
    unowned = _pull(_file(owners=("@acme/sre",)))
    assert build_inbox("lena", [unowned], MEMBERS, NOW).rows == ()
    no_codeowners = _pull(_file(owners=None))
    assert build_inbox("lena", [no_codeowners], MEMBERS, NOW).rows == ()


def test_a_refused_request_is_nobodys_to_approve() -> None:
    too_long = _file(duration="8h")   # the policy allows 4h
    assert too_long.decision is not None and not too_long.decision.allowed
    assert build_inbox("lena", [_pull(too_long)], MEMBERS, NOW).rows == ()


def test_an_eligible_approver_gets_a_row_with_the_request() -> None:
    inbox = build_inbox("lena", [_pull()], MEMBERS, NOW)
    assert inbox.count == 1
    row = inbox.rows[0]
    assert (row.number, row.requester, row.duration, row.ticket) == (7, "alice", "2h", "INC-42")
    assert [(s.cluster, s.namespace, s.role) for s in row.scopes] == [
        ("prod", "payments", "pod-exec")]
    assert row.reason == "INC-42: payment workers are stuck"
    assert row.age == "1h" and row.check_state == "passed"
    assert row.approvals == "0 of 1 approval"
    assert row.url == "https://gh/acme/access/pull/7"


def test_approving_the_current_head_moves_the_pr_aside_an_old_head_does_not() -> None:
    approved = _pull(reviews=(_review("lena"),))
    inbox = build_inbox("lena", [approved], MEMBERS, NOW)
    assert inbox.rows == () and [r.number for r in inbox.already_approved] == [7]
    assert inbox.already_approved[0].approvals == "1 of 1 approval"
    stale = _pull(reviews=(_review("lena", commit="b" * 40),))
    assert [r.number for r in build_inbox("lena", [stale], MEMBERS, NOW).rows] == [7]
    # A later "changes requested" cancels the approval: the PR is waiting again.
    changed = _pull(reviews=(_review("lena"), Review("lena", "CHANGES_REQUESTED", HEAD, NOW)))
    assert build_inbox("lena", [changed], MEMBERS, NOW).count == 1


def test_oldest_first_and_several_files_in_one_row() -> None:
    two = _pull(_file(), _file(namespace="payments-api"), number=9, opened_minutes_ago=3000)
    new = _pull(number=11, opened_minutes_ago=0)
    inbox = build_inbox("lena", [new, two], MEMBERS, NOW)
    assert [r.number for r in inbox.rows] == [9, 11]
    assert [s.namespace for s in inbox.rows[0].scopes] == ["payments", "payments-api"]
    assert inbox.rows[0].age == "2d" and inbox.rows[1].age == "just now"


def test_eligible_is_the_receivers_rule() -> None:
    # The same verdict the receiver reaches at merge: lena's approval would count, bob's not.
    pull = _pull()
    assert eligible("lena", pull, MEMBERS) and eligible("LENA", pull, MEMBERS)
    assert not eligible("bob", pull, MEMBERS) and not eligible("alice", pull, MEMBERS)


def test_approver_of_names_the_policies_for_the_empty_state() -> None:
    assert [a.policy for a in approver_of(POLICIES, "lena", MEMBERS)] == ["payments-prod"]
    assert approver_of(POLICIES, "bob", MEMBERS) == ()
    assert approver_of(None, "lena", MEMBERS) == ()
