"""What the terminal knows about a grant beyond its AccessRequest: the token Secret, and the
pull request that groups a requester's grants into tabs.

The grant itself is an :class:`~janus.resource.AccessRequestView` (the web pages read the same
view); whether a terminal may open is :func:`janus.resource.standing.usable`. The token is held in
a :class:`GrantCredentials` whose ``repr`` hides it, so an exception message or a debug log of the
object can never print it.
"""

from __future__ import annotations

import base64
import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from janus import names
from janus.resource import AccessRequestView, timefmt


def pull_request_of(grant: AccessRequestView) -> tuple[str, int] | None:
    """(repo, number) of the PR that approved *grant*: one terminal tab per grant of that PR."""
    provenance = grant.provenance
    if provenance is None or not provenance.pull_request:
        return None
    return provenance.repo, provenance.pull_request


@dataclass(frozen=True)
class GrantCredentials:
    server: str
    ca_pem: str
    token: str = field(repr=False)
    cluster: str
    namespace: str
    expires_at: dt.datetime | None

    @classmethod
    def from_secret(cls, secret: dict[str, Any]) -> GrantCredentials:
        data = secret.get("data") or {}

        def value(key: str) -> str:
            return base64.b64decode(data.get(key, "")).decode()

        return cls(
            server=value("server").rstrip("/"),
            ca_pem=value("ca"),
            token=value("token"),
            cluster=value("cluster"),
            namespace=value("namespace"),
            expires_at=timefmt.parse(value("expiresAt") or None),
        )


def secret_name(cr_name: str) -> str:
    return names.token_secret_name(cr_name)


def earliest(*moments: dt.datetime | None) -> dt.datetime | None:
    present = [m for m in moments if m is not None]
    return min(present) if present else None
