"""The timeline of one request: from the PR being opened to the grant's end. Pure.

The route (:mod:`janus.web.timeline_routes`) gathers what already exists — the PR, its checks
and reviews (GitHub), the AccessRequest's status and revocation (the central cluster), the
ledger entry (extensions, the recorded end, sessions of other replicas' days) and the web
database's terminal sessions — and :func:`build_timeline` turns it into dated events, oldest
first. Nothing here reads anything; every input is a frozen value, so the same inputs always
give the same timeline.

Who may see a timeline (:func:`may_see`): the requester, an approver (an eligible approver of
the PR's deciding policy, or one who approved the merge) and admins. Replay links of terminal
sessions are for admins only, as the replay page itself is.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from janus.model import ledger
from janus.policy.approval import Review
from janus.resource import AccessRequestView, timefmt
from janus.web.db import SessionRow
from janus.web.ledger_source import PastGrant
from janus.web.terminal.live import ending_of

_EPOCH = dt.datetime.min.replace(tzinfo=dt.UTC)
_REVIEW_WORDS = {"APPROVED": "Approved", "CHANGES_REQUESTED": "Changes requested",
                 "COMMENTED": "Commented", "DISMISSED": "Review dismissed"}


@dataclass(frozen=True)
class CheckFact:
    """One check run or commit status of the PR head."""

    name: str
    state: str                   # success | failure | ... | queued | in_progress | pending
    at: dt.datetime | None


@dataclass(frozen=True)
class PullFacts:
    number: int
    title: str
    url: str
    author: str
    state: str                   # open | closed | merged
    head_sha: str
    opened_at: dt.datetime | None
    merged_at: dt.datetime | None = None
    merged_by: str | None = None
    closed_at: dt.datetime | None = None
    checks: tuple[CheckFact, ...] = ()
    reviews: tuple[Review, ...] = ()


@dataclass(frozen=True)
class GrantFacts:
    """One grant of the request: its AccessRequest (None once deleted), its ledger entry (None
    until read or recorded), the ledger's summary of an ended grant, and its terminal sessions
    from the web database."""

    name: str
    view: AccessRequestView | None = None
    entry: ledger.Entry | None = None
    past: PastGrant | None = None
    sessions: tuple[SessionRow, ...] = ()


@dataclass(frozen=True)
class Event:
    at: dt.datetime | None
    kind: str                    # opened|check|review|merged|closed|granted|session|extended|
    #                              revocation|ended
    text: str                    # one sentence, who and what
    detail: str = ""
    grant: str = ""              # the grant (AccessRequest name) it belongs to, "" for the PR
    link: str | None = None
    link_text: str = ""


@dataclass(frozen=True)
class Timeline:
    title: str
    pull: PullFacts | None
    grants: tuple[str, ...]
    events: tuple[Event, ...]


def may_see(login: str, *, is_admin: bool, requesters: Iterable[str],
            eligible_approver: bool, approved_by: Iterable[str] = ()) -> bool:
    """The requester, an eligible approver, an approver of the merge, or an admin."""
    me = login.lower()
    return is_admin or eligible_approver or any(
        who.lower() == me for who in (*requesters, *approved_by) if who)


def _utc(value: dt.datetime | None) -> dt.datetime | None:
    if value is None:
        return None
    return value if value.tzinfo is not None else value.replace(tzinfo=dt.UTC)


def _time(text: str | None) -> dt.datetime | None:
    if not text:
        return None
    try:
        return ledger.parse_time(text)
    except ValueError:
        return timefmt.parse_or_none(text)


def _pull_events(pull: PullFacts) -> list[Event]:
    events = [Event(_utc(pull.opened_at), "opened", f"Opened by {pull.author}",
                    f"PR #{pull.number}: {pull.title}", link=pull.url,
                    link_text=f"PR #{pull.number}")]
    for check in pull.checks:
        events.append(Event(_utc(check.at), "check", f"Check {check.name}: {check.state}"))
    for review in pull.reviews:
        state = review.state.upper()
        if state == "PENDING":
            continue
        words = _REVIEW_WORDS.get(state, state.lower())
        stale = (state == "APPROVED" and review.commit_id
                 and review.commit_id.lower() != pull.head_sha.lower())
        events.append(Event(_utc(review.submitted_at), "review", f"{words} by {review.user}",
                            f"on commit {review.commit_id[:12]}, not the final head"
                            if stale else ""))
    if pull.state == "merged":
        who = f" by {pull.merged_by}" if pull.merged_by else ""
        events.append(Event(_utc(pull.merged_at), "merged", f"Merged{who}"))
    elif pull.state == "closed":
        events.append(Event(_utc(pull.closed_at), "closed", "Closed without merging"))
    return events


def _session_event(name: str, s: SessionRow, replay: bool) -> Event:
    where = f"{s.pod}/{s.container}" if s.container else s.pod
    closed_at = _utc(s.closed_at)
    closed = (f"closed at {timefmt.fmt(closed_at)}" + (f" ({s.close_reason})" if s.close_reason
                                                       else "")
              if closed_at is not None else "still open")
    return Event(_utc(s.opened_at), "session", f"Terminal session by {s.user} on {where}",
                 f"{s.namespace}; {closed}", grant=name,
                 link=f"/admin/sessions/{s.id}" if replay else None,
                 link_text="replay" if replay else "")


def _grant_events(g: GrantFacts, pull: PullFacts | None, is_admin: bool) -> list[Event]:
    events: list[Event] = []
    view, entry, past = g.view, g.entry, g.past
    scope = ""
    if view is not None:
        scope = f"{view.cluster}/{view.namespace} ({view.role})"
    elif entry is not None:
        scope = f"{entry.request.cluster}/{entry.request.namespace} ({entry.request.role})"
    elif past is not None:
        scope = f"{past.cluster}/{past.namespace} ({past.role})"
    # Merged: from the PR when it is shown, else from what the receiver recorded.
    if pull is None or pull.state != "merged":
        merged_by = (entry.merge.merged_by if entry is not None else
                     view.provenance.merged_by if view is not None and view.provenance else None)
        merged_at = (_time(entry.merge.merged_at) if entry is not None else
                     view.provenance.merged_at if view is not None and view.provenance else None)
        outage = (entry.break_glass if entry is not None and entry.break_glass is not None
                  and entry.break_glass.via == "outage" else None)
        if outage is not None:  # no PR: a cluster admin created it while GitHub was away
            events.append(Event(_utc(merged_at), "merged",
                                f"Created without a pull request by cluster admin "
                                f"{outage.by or '?'} (break-glass while GitHub was away): "
                                f"{outage.reason or ''}", grant=g.name))
        elif merged_at is not None or merged_by:
            events.append(Event(_utc(merged_at), "merged",
                                "Merged" + (f" by {merged_by}" if merged_by else ""), grant=g.name))
    approvers = (tuple(entry.merge.approvers) if entry is not None else
                 view.provenance.approvers if view is not None and view.provenance else
                 past.approvers if past is not None else ())
    granted_at = (view.granted_at if view is not None and view.granted_at else
                  _time(entry.granted_at) if entry is not None else
                  past.granted_at if past is not None else None)
    expires_at = (view.expires_at if view is not None else
                  _time(entry.expires_at) if entry is not None else None)
    if granted_at is not None:
        until = f" until {timefmt.fmt(expires_at)}" if expires_at is not None else ""
        events.append(Event(_utc(granted_at), "granted", f"Granted: Active{until}",
                            scope + (f"; approved by {', '.join(approvers)}" if approvers
                                     else ""), grant=g.name))
    elif view is not None and not view.ended:
        events.append(Event(_utc(view.meta.created_at), "granted",
                            f"Approved, being granted ({view.phase})", scope, grant=g.name))
    for ext in entry.extensions if entry is not None else ():
        until = f", until {ext.expires_at}" if ext.expires_at else ""
        who = f" (merged by {ext.merge.merged_by})" if ext.merge.merged_by else ""
        events.append(Event(_time(ext.merge.merged_at), "extended",
                            f"Extended to {ext.duration}{until}",
                            f"PR #{ext.merge.pull_request}{who}", grant=g.name))
    seen: set[str] = set()
    for s in g.sessions:
        seen.add(str(s.id))
        events.append(_session_event(g.name, s, is_admin))
    for recorded in entry.sessions if entry is not None else ():
        if recorded.id in seen:
            continue
        closed = (f"closed at {recorded.closed}" + (f" ({recorded.close_reason})"
                                                    if recorded.close_reason else "")
                  if recorded.closed else "not closed")
        events.append(Event(_time(recorded.opened), "session",
                            f"Terminal session by {recorded.user} on "
                            f"{recorded.pod}/{recorded.container}", closed, grant=g.name))
    events.extend(_end_events(g))
    return events


def _end_events(g: GrantFacts) -> list[Event]:
    """The revocation request and how the grant ended: the ledger's record when it has one,
    else the AccessRequest's (as the live pages say it), else the ledger summary."""
    view, entry, past = g.view, g.entry, g.past
    events: list[Event] = []
    revocation = view.revocation if view is not None else None
    if revocation is not None and revocation.by:
        events.append(Event(_utc(revocation.requested_at), "revocation",
                            f"Revocation requested by {revocation.by}", revocation.reason,
                            grant=g.name))
    if entry is not None and entry.end is not None:
        end = entry.end
        who = f" by {end.by}" if end.by else ""
        via = f" (via {end.via})" if end.via else ""
        events.append(Event(_time(end.at), "ended", f"Ended: {end.how.capitalize()}{who}{via}",
                            end.reason or end.message or "", grant=g.name))
    elif view is not None and view.ended:
        ending = ending_of(view)
        at = (view.revoked_at or (revocation.requested_at if revocation is not None else None)
              or (view.expires_at if view.phase == "Expired" else None))
        if ending is not None:
            # The sentence names who and why ("Revoked by root: INC-7 closed.").
            events.append(Event(_utc(at), "ended", f"Ended: {ending.text}", grant=g.name))
    elif view is None and past is not None and past.outcome != "active":
        who = f" by {past.ended_by}" if past.ended_by else ""
        events.append(Event(_utc(past.ended_at), "ended",
                            f"Ended: {past.outcome.capitalize()}{who}", past.end_reason or "",
                            grant=g.name))
    return events


def build_timeline(pull: PullFacts | None, grants: Sequence[GrantFacts], *,
                   is_admin: bool) -> Timeline:
    """Every event of the request, oldest first (events without a time last, in order)."""
    events = _pull_events(pull) if pull is not None else []
    for g in grants:
        events.extend(_grant_events(g, pull, is_admin))
    ordered = [e for _, e in sorted(enumerate(events), key=lambda p: (
        p[1].at is None, p[1].at or _EPOCH, p[0]))]
    if pull is not None:
        title = f"PR #{pull.number}: {pull.title}"
    elif grants:
        title = grants[0].name
    else:
        title = "Request"
    return Timeline(title, pull, tuple(g.name for g in grants), tuple(ordered))
