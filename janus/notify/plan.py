"""Which events an AccessRequest's current state calls for: a pure function of the CR, what
was already recorded about it, the clock and the configuration (no I/O), in the style of
janus/controller/lifecycle.py. The sender records what it returns; event ids are deterministic,
so planning again (a relist, a second replica, a restart) plans the same ids, and the outbox
keeps the first.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from janus.notify.events import EventKind
from janus.resource import AccessRequestView


@dataclass(frozen=True)
class Planned:
    kind: EventKind
    id: str
    # False: record the event id (so it is never sent later) without sending it: a grant that
    # already ended or began long ago, first seen by a sender started afterwards.
    send: bool = True


def active_prefix(cr: AccessRequestView) -> str:
    return f"cr:{cr.meta.uid}:active:"


def plan(cr: AccessRequestView, *, granted_before: bool, now: dt.datetime,
         expiring_soon: dt.timedelta, fresh_for: dt.timedelta) -> list[Planned]:
    """The events *cr* calls for now. *granted_before*: an ``active`` event of this CR (same
    uid) was recorded already, so a new expiry is an extension."""
    uid = cr.meta.uid
    if not uid:
        return []
    out: list[Planned] = []
    if cr.phase == "Active" and cr.expires_at is not None and not cr.revocation_requested:
        if granted_before:
            out.append(Planned(EventKind.EXTENDED, f"{active_prefix(cr)}{cr.expires_at_text}"))
        else:
            began = cr.granted_at or now
            out.append(Planned(EventKind.GRANTED, f"{active_prefix(cr)}{cr.expires_at_text}",
                               send=now - began <= fresh_for))
        left = cr.expires_at - now
        if dt.timedelta(0) < left <= expiring_soon:
            out.append(Planned(EventKind.EXPIRING_SOON, f"cr:{uid}:expiring:{cr.expires_at_text}"))
    elif cr.phase == "Expired":
        ended = cr.expires_at or now
        out.append(Planned(EventKind.EXPIRED, f"cr:{uid}:expired", send=now - ended <= fresh_for))
    elif cr.phase == "Revoked":
        ended = cr.revoked_at or (cr.revocation.requested_at if cr.revocation else None) or now
        out.append(Planned(EventKind.REVOKED, f"cr:{uid}:revoked", send=now - ended <= fresh_for))
    return out
