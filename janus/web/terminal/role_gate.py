"""Which terminal a grant's role allows, and what to say when it allows none (issue 13 item 1).

RBAC is the last word (the grant's token), but a terminal page for a grant that cannot exec
would only fail late and obscurely. So the terminal is decided by the role's rules
(:func:`janus.policy.roles.offers`):

* ``exec``: the role allows ``pods/exec`` — a shell in any container of the namespace's pods;
* ``attach``: the role adds ephemeral containers and attaches (``pod-debug``) — a terminal
  attached to an *ephemeral* container of a pod, never to the pod's own containers (the role
  has no exec, and attaching to an application container would read its stdin/stdout);
* none (``pod-logs``, ``view``, custom read-only roles): the terminal is refused, with what
  the role does allow and a link to the page that offers it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from fastapi import Request, WebSocket

from janus.model import PolicySet
from janus.policy.roles import offers

Mode = Literal["exec", "attach"]

# offer -> (what it is, where it is)
PAGES: dict[str, tuple[str, str]] = {
    "terminal": ("a terminal (exec)", "/terminal/{name}"),
    "debug": ("a debug container with a terminal attached to it", "/debug/{name}"),
    "logs": ("the log viewer", "/logs/{name}"),
    "view": ("the read-only resource view", "/view/{name}"),
}


@dataclass(frozen=True)
class Offer:
    """One page a grant's role offers: a label and its URL."""

    label: str
    url: str


def policies_of(conn: Request | WebSocket) -> PolicySet | None:
    """The access policies the web app has read (None when it cannot read them now)."""
    source = getattr(conn.app.state, "policies", None)
    return source.get_or_none() if source is not None else None


def role_offers(policies: PolicySet | None, role: str) -> frozenset[str]:
    return offers(policies.config if policies is not None else None, role)


def terminal_mode(policies: PolicySet | None, role: str) -> Mode | None:
    """``exec``, ``attach`` (debug containers only) or None (no terminal for this role)."""
    found = role_offers(policies, role)
    if "terminal" in found:
        return "exec"
    if "debug" in found:
        return "attach"
    return None


def pages_for(policies: PolicySet | None, role: str, grant_name: str) -> list[Offer]:
    """The pages the role offers, in a fixed order (terminal, debug, logs, view)."""
    found = role_offers(policies, role)
    return [Offer(label, url.format(name=grant_name))
            for offer, (label, url) in PAGES.items() if offer in found]


def refusal(policies: PolicySet | None, role: str, grant_name: str,
            wanted: str) -> dict[str, Any]:
    """The error page's context: why *wanted* is refused and what the role offers instead."""
    pages = pages_for(policies, role, grant_name)
    allowed = ", ".join(p.label for p in pages) if pages else "nothing in the web app"
    if policies is None:
        allowed += " (the access policies cannot be read now)"
    return {"status": 403, "role": role, "wanted": wanted, "pages": pages,
            "detail": f"The role {role} does not allow {wanted}. It allows: {allowed}."}


def attach_message(role: str) -> str:
    """Why the pod's own containers get no terminal under an attach-only role."""
    return (f"The role {role} attaches only to a debug (ephemeral) container of the pod; "
            "start one on the debug page first.")
