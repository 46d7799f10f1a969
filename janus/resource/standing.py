"""Where a grant stands, as the people-facing readers tell it: in force, usable, revoked by whom.

Readings of an :class:`~janus.resource.view.AccessRequestView` that the PR comments, the web
pages, the terminal and ``janus grants`` share, so each is answered once:

* a revocation is visible the moment it is *requested* (``spec.revocation``), before the
  controller records it in the status (``revokedBy``/``revokedReason``) — "by whom" and "why"
  read the controller's record first and the request otherwise;
* *in force*: Approved or Active with no revocation pending (the web's "live" list);
* *usable*: Active, no revocation pending, not past its expiry (what a terminal may open).
"""

from __future__ import annotations

import datetime as dt

from janus.resource import timefmt
from janus.resource.view import AccessRequestView

ACTIVE = "Active"


def who_revoked(view: AccessRequestView) -> str | None:
    """Who revoked the grant (the controller's record), else who asked to; None if nobody."""
    requested = view.revocation.by if view.revocation is not None else None
    return view.revoked_by or requested or None


def why_revoked(view: AccessRequestView) -> str | None:
    """The reason of the revocation, recorded or requested; None if there is none."""
    requested = view.revocation.reason if view.revocation is not None else None
    return view.revoked_reason or requested or None


def in_force(view: AccessRequestView) -> bool:
    """Approved or Active, and nobody asked for it to end."""
    return view.live and not view.revocation_requested


def usable(view: AccessRequestView, now: dt.datetime | None = None) -> bool:
    """Active, no revocation pending, and not past ``expiresAt`` (None: no expiry known)."""
    if view.phase != ACTIVE or view.revocation_requested:
        return False
    return view.expires_at is None or view.expires_at > (now or timefmt.now())
