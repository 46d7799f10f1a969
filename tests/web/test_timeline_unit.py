"""The timeline's pure assembly (janus.web.timeline): who may see it, and the events in order.

Hostile first: a stranger may not see a request, an eligible approver and admins may; replay
links are offered to admins only."""

from __future__ import annotations

import datetime as dt
from typing import Any

from janus.model import ledger
from janus.policy.approval import Review
from janus.resource import AccessRequestView
from janus.web.db import SessionRow
from janus.web.ledger_source import PastGrant
from janus.web.timeline import CheckFact, GrantFacts, PullFacts, build_timeline, may_see

T0 = dt.datetime(2026, 11, 30, 9, 0, tzinfo=dt.UTC)
HEAD = "c" * 40


def _at(minutes: int) -> dt.datetime:
    return T0 + dt.timedelta(minutes=minutes)


def _rfc(minutes: int) -> str:
    return _at(minutes).strftime("%Y-%m-%dT%H:%M:%SZ")


def test_who_may_see_a_timeline() -> None:
    def see(login: str, **kw: Any) -> bool:
        values: dict[str, Any] = {"is_admin": False, "requesters": ["alice"],
                                  "eligible_approver": False, "approved_by": ["bob"]}
        values.update(kw)
        return may_see(login, **values)

    assert not see("mallory")
    assert not see("")
    assert see("alice") and see("ALICE")          # the requester
    assert see("bob")                             # approved the merge
    assert see("carol", eligible_approver=True)   # may approve under the deciding policy
    assert see("root", is_admin=True)


def _pull(state: str = "merged") -> PullFacts:
    return PullFacts(
        number=4, title="Access to prod/payments for alice", url="https://gh/acme/access/pull/4",
        author="alice", state=state, head_sha=HEAD, opened_at=_at(0),
        merged_at=_at(10) if state == "merged" else None,
        merged_by="bob" if state == "merged" else None,
        checks=(CheckFact("janus/policy", "success", _at(1)),),
        reviews=(Review("carol", "COMMENTED", "b" * 40, _at(2)),
                 Review("carol", "APPROVED", "b" * 40, _at(3)),
                 Review("bob", "APPROVED", HEAD, _at(8))),
    )


def _revoked_view() -> AccessRequestView:
    return AccessRequestView.from_cr({
        "metadata": {"name": "prod-payments-alice-inc42", "namespace": "janus",
                     "creationTimestamp": _rfc(10)},
        "spec": {"requestName": "alice-inc42", "requester": "alice", "cluster": "prod",
                 "namespace": "payments", "role": "pod-exec", "duration": "1h",
                 "reason": "INC-42: stuck workers",
                 "provenance": {"repo": "acme/access", "pullRequest": 4, "approvers": ["bob"],
                                "mergedBy": "bob", "mergedAt": _rfc(10)},
                 "revocation": {"by": "root", "reason": "INC-42 closed",
                                "requestedAt": _rfc(40)}},
        "status": {"phase": "Revoked", "grantedAt": _rfc(11), "expiresAt": _rfc(71),
                   "revokedAt": _rfc(40), "revokedBy": "root", "revokedReason": "INC-42 closed"},
    })


def _session() -> SessionRow:
    return SessionRow(id=12, cr_name="prod-payments-alice-inc42", user="alice",
                      cluster="prod", namespace="payments", pod="api-0", container="app",
                      shell=None, opened_at=_at(20), closed_at=_at(40), close_reason="revoked",
                      bytes_in=10, bytes_out=200)


def test_the_whole_story_in_order_with_who_and_why() -> None:
    grant = GrantFacts("prod-payments-alice-inc42", view=_revoked_view(), sessions=(_session(),))
    timeline = build_timeline(_pull(), [grant], is_admin=False)
    kinds = [e.kind for e in timeline.events]
    assert kinds == ["opened", "check", "review", "review", "review", "merged", "granted",
                     "session", "revocation", "ended"], kinds
    texts = [e.text for e in timeline.events]
    assert texts[0] == "Opened by alice"
    assert texts[1] == "Check janus/policy: success"
    assert texts[2:5] == ["Commented by carol", "Approved by carol", "Approved by bob"]
    assert "not the final head" in timeline.events[3].detail   # carol approved an old commit
    assert timeline.events[4].detail == ""
    assert texts[5] == "Merged by bob"
    assert texts[6].startswith("Granted: Active until 2026-11-30T10:11:00Z")
    assert "approved by bob" in timeline.events[6].detail
    assert texts[7] == "Terminal session by alice on api-0/app"
    assert timeline.events[7].detail == "payments; closed at 2026-11-30T09:40:00Z (revoked)"
    assert timeline.events[7].link is None                     # not an admin: no replay
    assert texts[8] == "Revocation requested by root" and timeline.events[8].detail == \
        "INC-42 closed"
    assert texts[9] == "Ended: Revoked by root: INC-42 closed."
    assert timeline.events[9].detail == ""   # the sentence already says who and why
    assert timeline.title == "PR #4: Access to prod/payments for alice"


def test_admins_get_the_replay_link() -> None:
    grant = GrantFacts("g", view=_revoked_view(), sessions=(_session(),))
    session = next(e for e in build_timeline(None, [grant], is_admin=True).events
                   if e.kind == "session")
    assert session.link == "/admin/sessions/12" and session.link_text == "replay"


def test_without_the_pr_the_merge_comes_from_the_grant() -> None:
    grant = GrantFacts("g", view=_revoked_view())
    events = build_timeline(None, [grant], is_admin=False).events
    assert [e.text for e in events if e.kind == "merged"] == ["Merged by bob"]


def test_the_ledger_entry_gives_extensions_sessions_and_the_recorded_end() -> None:
    merge = ledger.MergeRecord("acme/access", 4, "d" * 40, _rfc(10), "bob", ("bob",))
    entry = ledger.Entry(
        request=ledger.RequestRecord("requests/prod/payments/alice-inc42.yaml", "e" * 40,
                                     "alice-inc42", "alice", "prod", "payments", "pod-exec",
                                     "1h", "INC-42: stuck workers", "INC-42"),
        merge=merge, access_request="prod-payments-alice-inc42", granted_at=_rfc(11),
        expires_at=_rfc(71),
        extensions=(ledger.Extension(
            ledger.MergeRecord("acme/access", 6, "f" * 40, _rfc(50), "carol", ("carol",)),
            "a" * 40, "2h", _rfc(131)),),
        end=ledger.End("expired", _rfc(131)),
        sessions=(ledger.Session("12", "alice", "api-0", "app", _rfc(20), _rfc(30), "closed"),
                  ledger.Session("99", "alice", "api-1", "app", _rfc(60))),
    )
    # The AccessRequest is gone; the web database still has session 12 (and its replay).
    grant = GrantFacts("prod-payments-alice-inc42", entry=entry, sessions=(_session(),))
    events = build_timeline(None, [grant], is_admin=True).events
    assert [e.kind for e in events] == ["merged", "granted", "session", "extended", "session",
                                        "ended"]
    extended = events[3]
    assert extended.text == f"Extended to 2h, until {_rfc(131)}"
    assert extended.detail == "PR #6 (merged by carol)"
    assert events[2].link == "/admin/sessions/12"       # listed once, from the database
    assert events[4].text == "Terminal session by alice on api-1/app" and events[4].link is None
    assert events[4].detail == "not closed"
    assert events[5].text == "Ended: Expired"


def test_an_ended_grant_known_only_from_the_ledger_summary() -> None:
    past = PastGrant(name="g", requester="alice", cluster="prod", namespace="payments",
                     role="pod-exec", reason="r", outcome="revoked", granted_at=_at(11),
                     ended_at=_at(40), ended_by="root", end_reason="INC-42 closed",
                     pull_request=4)
    events = build_timeline(None, [GrantFacts("g", past=past)], is_admin=False).events
    assert [(e.kind, e.text, e.detail) for e in events] == [
        ("granted", "Granted: Active", "prod/payments (pod-exec)"),
        ("ended", "Ended: Revoked by root", "INC-42 closed")]


def test_an_open_pr_without_grants_and_a_closed_one() -> None:
    opened = build_timeline(_pull("open"), [], is_admin=False)
    assert "merged" not in [e.kind for e in opened.events]
    closed = build_timeline(_pull("closed"), [], is_admin=False)
    assert closed.events[-1].kind == "closed"


def test_an_outage_break_glass_grant_says_who_created_it_without_a_pr() -> None:
    """An outage grant's ledger entry (no PR, no merge): never shown as "Merged", never linked to
    a pull request #0 — the cluster admin who created it and why."""
    entry = ledger.Entry(
        request=ledger.RequestRecord("requests/prod/payments/bg-alice.yaml", None, "bg-alice",
                                     "alice", "prod", "payments", "pod-exec", "30m",
                                     "INC-9: GitHub down", "INC-9"),
        merge=ledger.MergeRecord("acme/access", 0, None, _rfc(10), None),
        access_request="prod-payments-bg-alice", granted_at=_rfc(11),
        break_glass=ledger.BreakGlass(via="outage", by="root", reason="INC-9: GitHub down",
                                      at=_rfc(10)))
    events = build_timeline(None, [GrantFacts("g", entry=entry)], is_admin=False).events
    assert "Merged" not in events[0].text
    assert events[0].text == ("Created without a pull request by cluster admin root "
                              "(break-glass while GitHub was away): INC-9: GitHub down")
    past = PastGrant.from_entry(entry, entry.path, "c" * 40, "https://github.example")
    assert past.pull_request is None and past.pr_url is None
