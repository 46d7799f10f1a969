"""What a notification is about: one :class:`Event`, built from what Janus already knows (a PR
being checked, a merge refused, an AccessRequest changing phase), and its JSON payload.

Events are built field by field from an allow-list (requester, scope, duration, reason, links,
who/why): never from a whole CR or PR, so nothing secret (a token, its Secret's name) can ride
along. :func:`check_no_token` is the last guard before anything is queued.
"""

from __future__ import annotations

import datetime as dt
import enum
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from janus.resource import AccessRequestView, timefmt

SCHEMA_VERSION = 1


class EventKind(enum.StrEnum):
    """Every kind a notification can be. The values are the ``kind`` of the JSON payload."""

    REQUEST_OPENED = "request.opened"
    CHANGES_REQUESTED = "request.changes_requested"
    GRANTED = "grant.granted"
    EXPIRING_SOON = "grant.expiring_soon"
    EXPIRED = "grant.expired"
    REVOKED = "grant.revoked"
    EXTENDED = "grant.extended"
    VERIFICATION_REFUSED = "merge.refused"
    # Reserved for the break-glass policy (issue 14 item 1): not emitted yet.
    BREAK_GLASS_USED = "breakglass.used"
    RETROSPECTIVE_OVERDUE = "breakglass.retrospective_overdue"


TITLES = {
    EventKind.REQUEST_OPENED: "Access request waiting for review",
    EventKind.CHANGES_REQUESTED: "Changes requested on an access request",
    EventKind.GRANTED: "Access granted",
    EventKind.EXPIRING_SOON: "Access expiring soon",
    EventKind.EXPIRED: "Access expired",
    EventKind.REVOKED: "Access revoked",
    EventKind.EXTENDED: "Access extended",
    EventKind.VERIFICATION_REFUSED: "Merged request refused",
    EventKind.BREAK_GLASS_USED: "Break-glass access used",
    EventKind.RETROSPECTIVE_OVERDUE: "Break-glass retrospective overdue",
}


@dataclass(frozen=True)
class Event:
    """One thing that happened, said once. ``id`` is deterministic (the same happening seen by
    two replicas, or again after a restart, has the same id), which is what deduplicates."""

    id: str
    kind: EventKind
    occurred_at: dt.datetime
    request: str = ""            # the AccessRequest name (cluster-namespace-name), if known
    requester: str = ""
    cluster: str = ""
    namespace: str = ""
    role: str = ""
    duration: str = ""
    reason: str = ""
    ticket: str | None = None
    policy: str | None = None
    # Who the message is for (GitHub logins and org/team slugs), e.g. the deciding policy's
    # approvers for a new request, the requester for an expiry.
    audience: tuple[str, ...] = ()
    actor: str | None = None     # who did it: revoked by, merged by, reviewer
    why: str | None = None       # revocation reason, refusal summary, review text
    step: str | None = None      # the verification step that refused a merge
    expires_at: dt.datetime | None = None
    pull_request: int | None = None
    links: Mapping[str, str] = field(default_factory=dict)  # name -> URL (pull, request, ...)

    @property
    def title(self) -> str:
        return TITLES[self.kind]

    @property
    def scope(self) -> str:
        """``role on cluster/namespace`` (or as much of it as is known)."""
        where = "/".join(p for p in (self.cluster, self.namespace) if p)
        return f"{self.role} on {where}" if self.role and where else where or self.role

    def payload(self) -> dict[str, Any]:
        """The JSON document of the generic webhook (docs/notifications/event.schema.json); the
        chat and mail renderings are made from it too."""
        out: dict[str, Any] = {
            "schemaVersion": SCHEMA_VERSION,
            "id": self.id,
            "kind": str(self.kind),
            "title": self.title,
            "occurredAt": timefmt.fmt(self.occurred_at),
            "request": {
                "name": self.request, "requester": self.requester, "cluster": self.cluster,
                "namespace": self.namespace, "role": self.role, "duration": self.duration,
                "reason": self.reason, "ticket": self.ticket, "policy": self.policy,
                "pullRequest": self.pull_request,
            },
            "audience": list(self.audience),
            "actor": self.actor,
            "why": self.why,
            "step": self.step,
            "expiresAt": None if self.expires_at is None else timefmt.fmt(self.expires_at),
            "links": dict(self.links),
        }
        check_no_token(out)
        return out


# What a credential looks like: a JWT (Kubernetes service-account tokens), GitHub tokens, a
# bearer header, a PEM key. A payload containing one is refused, never sent.
_TOKEN_PATTERNS = (
    re.compile(r"eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]*"),
    re.compile(r"\b(gh[pousr]|github_pat)_[A-Za-z0-9_]{20,}"),
    re.compile(r"(?i)\bbearer\s+[A-Za-z0-9._~+/=-]{16,}"),
    re.compile(r"-----BEGIN [A-Z ]*PRIVATE KEY-----"),
)


class TokenInPayload(ValueError):
    """A payload looked like it carried a credential; it is dropped, not sent."""


def token_findings(value: object) -> list[str]:
    """Every string in *value* (nested) that looks like a credential (the pattern's index)."""
    found: list[str] = []

    def walk(item: object) -> None:
        if isinstance(item, str):
            found.extend(str(i) for i, p in enumerate(_TOKEN_PATTERNS) if p.search(item))
        elif isinstance(item, Mapping):
            for key, sub in item.items():
                walk(key)
                walk(sub)
        elif isinstance(item, list | tuple):
            for sub in item:
                walk(sub)

    walk(value)
    return found


def check_no_token(value: object) -> None:
    if token_findings(value):
        raise TokenInPayload("a notification payload looked like it carried a credential")


# ---- from an AccessRequest -------------------------------------------------------------------

def _request_fields(cr: AccessRequestView) -> dict[str, Any]:
    return {"request": cr.name, "requester": cr.requester, "cluster": cr.cluster,
            "namespace": cr.namespace, "role": cr.role, "duration": cr.duration,
            "reason": cr.reason, "ticket": cr.ticket, "pull_request": cr.pull_request,
            "expires_at": cr.expires_at}


def from_request(cr: AccessRequestView, kind: EventKind, *, id: str,
                 occurred_at: dt.datetime, links: Mapping[str, str],
                 policy: str | None = None) -> Event:
    """The event *kind* about *cr* (to its requester; who/why for a revocation)."""
    actor = why = None
    if kind is EventKind.REVOKED:
        revocation = cr.revocation
        actor = cr.revoked_by or (revocation.by if revocation else None) or None
        why = cr.revoked_reason or (revocation.reason if revocation else None) or None
    elif kind is EventKind.GRANTED and cr.provenance is not None:
        approvers = ", ".join(cr.provenance.approvers)
        actor = cr.provenance.merged_by or None
        why = f"approved by {approvers}" if approvers else None
    return Event(id=id, kind=kind, occurred_at=occurred_at, audience=(cr.requester,),
                 actor=actor, why=why, links=dict(links), policy=policy, **_request_fields(cr))
