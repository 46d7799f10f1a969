"""What the terminal knows about a grant: the AccessRequest CR and its token Secret.

The token is held in a :class:`GrantCredentials` whose ``repr`` hides it, so an exception
message or a debug log of the object can never print it.
"""

from __future__ import annotations

import base64
import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from janus import names, resource
from janus.resource import timefmt

ACTIVE = "Active"


@dataclass(frozen=True)
class Grant:
    cr_name: str
    requester: str
    cluster: str
    namespace: str
    phase: str
    expires_at: dt.datetime | None
    revocation_requested: bool
    pull_request: tuple[str, int] | None  # (repo, number) from spec.provenance

    @classmethod
    def from_cr(cls, cr: dict[str, Any]) -> Grant:
        spec = cr.get("spec") or {}
        status = cr.get("status") or {}
        provenance = spec.get("provenance") or {}
        pr = (
            (str(provenance.get("repo", "")), int(provenance["pullRequest"]))
            if provenance.get("pullRequest")
            else None
        )
        return cls(
            cr_name=cr["metadata"]["name"],
            requester=str(spec.get("requester", "")),
            cluster=str(spec.get("cluster", "")),
            namespace=str(spec.get("namespace", "")),
            phase=str(resource.phase_of(cr)),
            expires_at=timefmt.parse(status.get("expiresAt")),
            revocation_requested=bool(spec.get("revocation")),
            pull_request=pr,
        )

    def belongs_to(self, login: str) -> bool:
        return bool(login) and self.requester.lower() == login.lower()

    @property
    def usable(self) -> bool:
        """Active, not past expiry, no revocation pending."""
        if self.phase != ACTIVE or self.revocation_requested:
            return False
        return self.expires_at is None or self.expires_at > dt.datetime.now(dt.UTC)

    @property
    def ended(self) -> bool:
        """The grant is over (or being taken away): open sessions must close."""
        return self.phase in resource.TERMINAL_PHASES or self.revocation_requested


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
