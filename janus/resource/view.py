"""One frozen, typed view of an AccessRequest: :meth:`AccessRequestView.from_cr`.

Every reader (controller, receiver, ``janus revoke``/``grants``, the web app and its terminal)
reads the CR through this view instead of walking ``cr["spec"]`` / ``cr["status"]`` itself. The
view is tolerant the way a listing must be: a missing or malformed field reads as empty (``""``,
None, an empty tuple), a malformed timestamp as unknown (None); it never raises. Whether a value
is *acceptable* (a known cluster, a duration in bounds) is the controller's decision, not the
reader's.

Naming: :attr:`AccessRequestView.namespace` is the *requested* namespace (``spec.namespace``) —
the one every reader means; the namespace the CR itself lives in is ``view.meta.namespace``.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from janus.resource import kind, timefmt


def _map(value: object) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def _text(value: object) -> str:
    """A string field: "" when absent; anything else as its text."""
    return "" if value is None else str(value)


def _opt_text(value: object) -> str | None:
    return None if value is None or value == "" else str(value)


def _int(value: object) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if not isinstance(value, str | float):
        return None
    try:
        return int(value)
    except ValueError:
        return None


def _strings(value: object) -> tuple[str, ...]:
    if not isinstance(value, list | tuple):
        return ()
    return tuple(str(item) for item in value if item is not None)


@dataclass(frozen=True)
class Meta:
    """``metadata`` of the CR (the parts Janus reads)."""

    name: str = ""
    namespace: str = ""
    uid: str = ""
    resource_version: str = ""
    generation: int | None = None
    created_at: dt.datetime | None = None
    deletion_timestamp: dt.datetime | None = None
    finalizers: tuple[str, ...] = ()
    labels: Mapping[str, str] = field(default_factory=dict)
    annotations: Mapping[str, str] = field(default_factory=dict)

    @classmethod
    def from_metadata(cls, meta: Mapping[str, Any]) -> Meta:
        return cls(
            name=_text(meta.get("name")),
            namespace=_text(meta.get("namespace")),
            uid=_text(meta.get("uid")),
            resource_version=_text(meta.get("resourceVersion")),
            generation=_int(meta.get("generation")),
            created_at=timefmt.parse_or_none(meta.get("creationTimestamp")),
            deletion_timestamp=timefmt.parse_or_none(meta.get("deletionTimestamp")),
            finalizers=_strings(meta.get("finalizers")),
            labels={str(k): _text(v) for k, v in _map(meta.get("labels")).items()},
            annotations={str(k): _text(v) for k, v in _map(meta.get("annotations")).items()},
        )

    @property
    def deleting(self) -> bool:
        """A deletion was requested (finalizers still hold the object)."""
        return self.deletion_timestamp is not None


@dataclass(frozen=True)
class Provenance:
    """``spec.provenance``: where the approval came from (written by the webhook receiver)."""

    repo: str = ""
    pull_request: int | None = None
    merge_commit: str = ""
    path: str = ""
    blob_sha: str = ""
    approvers: tuple[str, ...] = ()
    merged_by: str = ""
    merged_at: dt.datetime | None = None

    @classmethod
    def from_spec(cls, value: Mapping[str, Any]) -> Provenance:
        pull = _int(value.get("pullRequest"))
        return cls(
            repo=_text(value.get("repo")),
            pull_request=pull if pull and pull > 0 else None,
            merge_commit=_text(value.get("mergeCommit")),
            path=_text(value.get("path")),
            blob_sha=_text(value.get("blobSha")),
            approvers=_strings(value.get("approvers")),
            merged_by=_text(value.get("mergedBy")),
            merged_at=timefmt.parse_or_none(value.get("mergedAt")),
        )


@dataclass(frozen=True)
class Revocation:
    """``spec.revocation``: who asked for the grant to end, why, and when (write-once)."""

    by: str = ""
    reason: str = ""
    requested_at: dt.datetime | None = None
    requested_at_text: str = ""  # as written, for messages that quote it

    @classmethod
    def from_spec(cls, value: object) -> Revocation:
        # Any non-empty value means "revoke", as every reader always treated it; a malformed
        # one still revokes (by an unknown hand) rather than being ignored.
        data = _map(value)
        when = _text(data.get("requestedAt"))
        return cls(by=_text(data.get("by")), reason=_text(data.get("reason")),
                   requested_at=timefmt.parse_or_none(when), requested_at_text=when)


@dataclass(frozen=True)
class Condition:
    """One entry of ``status.conditions``; the transition time is kept as written."""

    type: str
    status: str  # "True" | "False" | "Unknown"
    reason: str = ""
    message: str = ""
    last_transition_time: str = ""

    @classmethod
    def from_status(cls, value: Mapping[str, Any]) -> Condition:
        return cls(type=_text(value.get("type")), status=_text(value.get("status")),
                   reason=_text(value.get("reason")), message=_text(value.get("message")),
                   last_transition_time=_text(value.get("lastTransitionTime")))

    def as_status(self) -> dict[str, str]:
        """The dict to write back into ``status.conditions``."""
        out = {"type": self.type, "status": self.status, "reason": self.reason,
               "message": self.message}
        if self.last_transition_time:
            out["lastTransitionTime"] = self.last_transition_time
        return out


@dataclass(frozen=True)
class StatusObjects:
    """``status.objects``: the names of what the controller created for the grant."""

    service_account: str = ""
    role_binding: str = ""
    token_secret: str = ""


@dataclass(frozen=True)
class AccessRequestView:
    """An AccessRequest as every reader sees it. Build it with :meth:`from_cr`."""

    meta: Meta
    api_version: str = kind.API_VERSION
    kind: str = kind.KIND
    # spec
    request_name: str = ""
    requester: str = ""
    cluster: str = ""
    namespace: str = ""  # the requested (target) namespace; the CR's own is meta.namespace
    role: str = ""
    duration: str = ""  # Go-style, as written ("2h", "90m"); parsing it is the policy's job
    reason: str = ""
    ticket: str | None = None
    provenance: Provenance | None = None
    revocation: Revocation | None = None
    # status
    phase: str = "Approved"
    granted_at: dt.datetime | None = None
    expires_at: dt.datetime | None = None
    expires_at_text: str = ""  # as written, for messages that quote it
    revoked_at: dt.datetime | None = None
    revoked_by: str | None = None
    revoked_reason: str | None = None
    message: str | None = None
    observed_generation: int | None = None
    objects: StatusObjects = StatusObjects()
    conditions: tuple[Condition, ...] = ()

    @classmethod
    def from_cr(cls, cr: Mapping[str, Any]) -> AccessRequestView:
        """Read a CR dict (as the API server, a watch event or kopf's ``body`` gives it)."""
        spec = _map(cr.get("spec"))
        status = _map(cr.get("status"))
        provenance = spec.get("provenance")
        revocation = spec.get("revocation")
        objects = _map(status.get("objects"))
        conditions = status.get("conditions")
        return cls(
            meta=Meta.from_metadata(_map(cr.get("metadata"))),
            api_version=_text(cr.get("apiVersion")) or kind.API_VERSION,
            kind=_text(cr.get("kind")) or kind.KIND,
            request_name=_text(spec.get("requestName")),
            requester=_text(spec.get("requester")),
            cluster=_text(spec.get("cluster")),
            namespace=_text(spec.get("namespace")),
            role=_text(spec.get("role")),
            duration=_text(spec.get("duration")),
            reason=_text(spec.get("reason")),
            ticket=_opt_text(spec.get("ticket")),
            provenance=(Provenance.from_spec(provenance)
                        if isinstance(provenance, Mapping) and provenance else None),
            revocation=Revocation.from_spec(revocation) if revocation else None,
            phase=kind.phase_of(cr),
            granted_at=timefmt.parse_or_none(status.get("grantedAt")),
            expires_at=timefmt.parse_or_none(status.get("expiresAt")),
            expires_at_text=_text(status.get("expiresAt")),
            revoked_at=timefmt.parse_or_none(status.get("revokedAt")),
            revoked_by=_opt_text(status.get("revokedBy")),
            revoked_reason=_opt_text(status.get("revokedReason")),
            message=_opt_text(status.get("message")),
            observed_generation=_int(status.get("observedGeneration")),
            objects=StatusObjects(
                service_account=_text(objects.get("serviceAccount")),
                role_binding=_text(objects.get("roleBinding")),
                token_secret=_text(objects.get("tokenSecret")),
            ),
            conditions=tuple(Condition.from_status(c) for c in
                             (conditions if isinstance(conditions, list) else [])
                             if isinstance(c, Mapping)),
        )

    # ---- convenience readings --------------------------------------------------------------

    @property
    def name(self) -> str:
        """The CR name (``metadata.name``)."""
        return self.meta.name

    @property
    def resource_version(self) -> str:
        return self.meta.resource_version

    @property
    def revocation_requested(self) -> bool:
        return self.revocation is not None

    @property
    def terminal(self) -> bool:
        """Expired, Revoked or Failed: final, never comes back."""
        return self.phase in kind.TERMINAL_PHASES

    @property
    def live(self) -> bool:
        """Approved or Active (a pending revocation does not change the phase)."""
        return self.phase in kind.LIVE_PHASES

    @property
    def ended(self) -> bool:
        """Over, or being taken away: terminal, or a revocation is pending."""
        return self.terminal or self.revocation_requested

    @property
    def pull_request(self) -> int | None:
        return self.provenance.pull_request if self.provenance else None

    def belongs_to(self, login: str) -> bool:
        """The requester is *login* (GitHub logins are case-insensitive)."""
        return bool(login) and self.requester.lower() == login.lower()

    def condition(self, type_: str) -> Condition | None:
        return next((c for c in self.conditions if c.type == type_), None)

    def object_reference(self) -> dict[str, Any]:
        """Enough of the CR to post a Kubernetes Event about it (involvedObject)."""
        return {"apiVersion": self.api_version, "kind": self.kind,
                "metadata": {"name": self.meta.name, "namespace": self.meta.namespace,
                             "uid": self.meta.uid}}
