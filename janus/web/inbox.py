""""Waiting for my review": which open request PRs a signed-in user may approve. Pure.

The route (:mod:`janus.web.inbox_routes`) reads the open PRs, their request files judged against
the policies of the base commit, CODEOWNERS and the reviews (:mod:`janus.web.inbox_source`);
this module decides which of them belong in the user's inbox and builds the rows.

Whether the user may approve a request file is never decided here a second time: it asks the
receiver's own approval rule (:func:`janus.policy.approval.verify_approvals`) whether an approval
by the user on the PR's current head *would count* — the deciding policy's approvers and groups,
separation of duties, CODEOWNERS, not the author, not the requester. A PR is listed when that
holds for at least one of its request files and the user has not approved the current head yet;
the user's own requests are never listed (they cannot approve them). PRs the user already
approved on the current head are returned apart (``already_approved``) so the page can say so.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from janus.model import PolicySet, format_duration
from janus.model.request import Request
from janus.policy.approval import APPROVED, Review, latest_reviews, verify_approvals
from janus.policy.decision import Decision
from janus.policy.membership import Membership


@dataclass(frozen=True)
class RequestFile:
    """One request file of a PR: read at the PR head, judged against the base policies."""

    path: str
    request: Request | None
    decision: Decision | None
    owners: tuple[str, ...] | None   # CODEOWNERS owners of the path (base commit)


@dataclass(frozen=True)
class OpenPull:
    """What the inbox needs to know of one open request PR (read by inbox_source)."""

    number: int
    title: str
    url: str                          # the PR page on GitHub (the simulator's in the demo)
    author: str
    head_sha: str
    opened_at: dt.datetime | None
    files: tuple[RequestFile, ...]
    reviews: tuple[Review, ...]
    check_state: str = ""             # passed | failed | running | no checks yet ("" unknown)


@dataclass(frozen=True)
class Scope:
    cluster: str
    namespace: str
    role: str


@dataclass(frozen=True)
class InboxRow:
    number: int
    title: str
    url: str
    requester: str
    scopes: tuple[Scope, ...]
    duration: str                     # "1h", or "1h, 30m" when the files differ
    reason: str
    ticket: str | None
    opened_at: dt.datetime | None
    age: str                          # "5m", "2h", "3d"
    check_state: str
    approvals: str                    # what the approvers still need, e.g. "0 of 1 approvals"


@dataclass(frozen=True)
class Inbox:
    rows: tuple[InboxRow, ...]
    already_approved: tuple[InboxRow, ...]

    @property
    def count(self) -> int:
        return len(self.rows)


def would_count(login: str, pull: OpenPull, file: RequestFile, membership: Membership) -> bool:
    """Would an approval by *login* on the current head count for *file*? The receiver's own
    verdict (:func:`verify_approvals`), asked about a review that does not exist yet."""
    if file.request is None or file.decision is None or not file.decision.allowed \
            or file.decision.approval is None:
        return False
    probe = Review(login, APPROVED, pull.head_sha, None)
    result = verify_approvals([probe], pull.head_sha, pull.author, file.request.requester,
                              file.decision.approval, file.owners, membership)
    return any(a.lower() == login.lower() for a in result.approvers)


def eligible(login: str, pull: OpenPull, membership: Membership) -> bool:
    """*login* is an eligible approver of the PR: of at least one of its request files."""
    return any(would_count(login, pull, f, membership) for f in pull.files)


def is_own(login: str, pull: OpenPull) -> bool:
    """The user's own request: they wrote the PR or are the requester of one of its files."""
    me = login.lower()
    return pull.author.lower() == me or any(
        f.request is not None and f.request.requester.lower() == me for f in pull.files)


def approved_head(login: str, pull: OpenPull) -> bool:
    """The user's latest review approves the PR's current head commit."""
    me = login.lower()
    return any(r.user.lower() == me and r.state.upper() == APPROVED
               and r.commit_id.lower() == pull.head_sha.lower()
               for r in latest_reviews(pull.reviews))


def age_text(since: dt.datetime | None, now: dt.datetime) -> str:
    """How long ago, in the largest whole unit: "just now", "5m", "2h", "3d"."""
    if since is None:
        return ""
    if since.tzinfo is None:
        since = since.replace(tzinfo=dt.UTC)
    seconds = max(0, int((now - since).total_seconds()))
    if seconds < 60:
        return "just now"
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size:
            return f"{seconds // size}{unit}"
    return "just now"  # pragma: no cover - the loop always returns for seconds >= 60


def _approvals(pull: OpenPull, membership: Membership) -> str:
    """How far the approvals are, per the receiver's rule on the reviews so far."""
    parts = []
    for f in pull.files:
        if f.request is None or f.decision is None or f.decision.approval is None:
            continue
        result = verify_approvals(list(pull.reviews), pull.head_sha, pull.author,
                                  f.request.requester, f.decision.approval, f.owners, membership)
        required = f.decision.approval.required
        parts.append(result.tally() if len(result.groups) > 1
                     else f"{len(result.approvers)} of {required} approval"
                          f"{'s' if required != 1 else ''}")
    return "; ".join(dict.fromkeys(parts))


def row_of(pull: OpenPull, membership: Membership, now: dt.datetime) -> InboxRow:
    requests = [f.request for f in pull.files if f.request is not None]
    first = requests[0] if requests else None
    return InboxRow(
        number=pull.number, title=pull.title, url=pull.url,
        requester=first.requester if first else pull.author,
        scopes=tuple(dict.fromkeys(Scope(r.cluster, r.namespace, r.role) for r in requests)),
        duration=", ".join(dict.fromkeys(format_duration(r.duration) for r in requests)),
        reason=first.reason if first else "",
        ticket=first.ticket if first else None,
        opened_at=pull.opened_at, age=age_text(pull.opened_at, now),
        check_state=pull.check_state, approvals=_approvals(pull, membership),
    )


def build_inbox(login: str, pulls: Iterable[OpenPull], membership: Membership,
                now: dt.datetime) -> Inbox:
    """The user's inbox: open PRs they may approve (oldest first: waiting longest on top),
    and apart, those they already approved on the current head. Their own never appear."""
    waiting: list[InboxRow] = []
    done: list[InboxRow] = []
    for pull in pulls:
        if is_own(login, pull) or not eligible(login, pull, membership):
            continue
        (done if approved_head(login, pull) else waiting).append(row_of(pull, membership, now))
    epoch = dt.datetime.min.replace(tzinfo=dt.UTC)

    def oldest(row: InboxRow) -> tuple[dt.datetime, int]:
        return (row.opened_at or epoch, row.number)

    return Inbox(tuple(sorted(waiting, key=oldest)), tuple(sorted(done, key=oldest)))


@dataclass(frozen=True)
class ApproverOf:
    """A policy that names the user as an approver (directly or through a team)."""

    policy: str
    clusters: tuple[str, ...]
    namespaces: tuple[str, ...]


def approver_of(policies: PolicySet | None, login: str,
                membership: Membership) -> tuple[ApproverOf, ...]:
    """The policies naming *login* as an approver, for the empty inbox ("you approve for …")."""
    if policies is None:
        return ()
    me, teams = login.lower(), membership.teams_of(login)
    out = []
    for p in policies.policies:
        groups: Sequence[tuple[frozenset[str], frozenset[str]]] = \
            [(g.users, g.teams) for g in p.approver_groups] or [(p.approver_users,
                                                                 p.approver_teams)]
        if any(me in users or teams & team_set for users, team_set in groups):
            out.append(ApproverOf(p.name, tuple(p.clusters), tuple(p.namespaces)))
    return tuple(out)
