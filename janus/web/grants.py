"""Grants as the web app sees them: AccessRequest CRs in the central cluster, read and revoked.

Revoking is a JSON merge patch of ``spec.revocation`` (write-once, enforced by the CRD); the
controller then removes the grant's objects and sets phase Revoked. Tokens are never read here.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from kubernetes import client, config
from kubernetes.client.rest import ApiException

from janus import resource
from janus.resource.timefmt import parse_or_none
from janus.web.settings import WebSettings


class GrantNotFound(LookupError):
    pass


class AlreadyRevoked(RuntimeError):
    pass


@dataclass(frozen=True)
class Grant:
    name: str
    request_name: str
    requester: str
    cluster: str
    namespace: str
    role: str
    duration: str
    reason: str
    ticket: str | None
    phase: str
    granted_at: dt.datetime | None
    expires_at: dt.datetime | None
    revoked_at: dt.datetime | None
    revoked_by: str | None
    revoked_reason: str | None
    revocation_requested: bool
    pull_request: int | None
    message: str | None
    created_at: dt.datetime | None

    @property
    def is_live(self) -> bool:
        return self.phase in resource.LIVE_PHASES and not self.revocation_requested

    def belongs_to(self, login: str) -> bool:
        return self.requester.lower() == login.lower()

    @classmethod
    def from_object(cls, obj: dict[str, Any]) -> Grant:
        meta = obj.get("metadata") or {}
        spec = obj.get("spec") or {}
        status = obj.get("status") or {}
        provenance = spec.get("provenance") or {}
        revocation = spec.get("revocation") or None
        return cls(
            name=meta.get("name", ""),
            request_name=spec.get("requestName", ""),
            requester=spec.get("requester", ""),
            cluster=spec.get("cluster", ""),
            namespace=spec.get("namespace", ""),
            role=spec.get("role", ""),
            duration=spec.get("duration", ""),
            reason=spec.get("reason", ""),
            ticket=spec.get("ticket"),
            phase=resource.phase_of(obj),
            granted_at=parse_or_none(status.get("grantedAt")),
            expires_at=parse_or_none(status.get("expiresAt")),
            revoked_at=parse_or_none(status.get("revokedAt")),
            revoked_by=status.get("revokedBy") or (revocation or {}).get("by"),
            revoked_reason=status.get("revokedReason") or (revocation or {}).get("reason"),
            revocation_requested=revocation is not None,
            pull_request=provenance.get("pullRequest"),
            message=status.get("message"),
            created_at=parse_or_none(meta.get("creationTimestamp")),
        )


def api_client_for(settings: WebSettings) -> client.ApiClient:
    """A client for the central cluster: the kubeconfig file, or in-cluster config."""
    configuration = client.Configuration()
    if settings.kubeconfig is not None:
        config.load_kube_config(
            config_file=str(settings.kubeconfig), client_configuration=configuration
        )
    else:
        config.load_incluster_config(client_configuration=configuration)
    return client.ApiClient(configuration)


class GrantStore:
    """AccessRequest CRs in the Janus namespace. Blocking calls: use from sync routes."""

    def __init__(self, api_client: client.ApiClient, namespace: str) -> None:
        self.api = client.CustomObjectsApi(api_client)
        self.namespace = namespace

    def list(self) -> list[Grant]:
        result = self.api.list_namespaced_custom_object(
            resource.GROUP, resource.VERSION, self.namespace, resource.PLURAL
        )
        grants = [Grant.from_object(item) for item in result.get("items", [])]
        epoch = dt.datetime.min.replace(tzinfo=dt.UTC)
        return sorted(grants, key=lambda g: g.granted_at or g.created_at or epoch, reverse=True)

    def list_for(self, login: str) -> list[Grant]:
        return [g for g in self.list() if g.belongs_to(login)]

    def get(self, name: str) -> Grant:
        try:
            obj = self.api.get_namespaced_custom_object(
                resource.GROUP, resource.VERSION, self.namespace, resource.PLURAL, name
            )
        except ApiException as exc:
            if exc.status == 404:
                raise GrantNotFound(name) from exc
            raise
        return Grant.from_object(obj)

    def request_revocation(self, name: str, by: str, reason: str, now: dt.datetime) -> None:
        """Write ``spec.revocation`` once; a second revocation is reported, not overwritten."""
        grant = self.get(name)
        if grant.revocation_requested or not grant.is_live:
            raise AlreadyRevoked(name)
        body = {
            "spec": {
                "revocation": {
                    "by": by,
                    "reason": reason,
                    "requestedAt": now.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
                }
            }
        }
        try:
            self.api.patch_namespaced_custom_object(
                resource.GROUP, resource.VERSION, self.namespace, resource.PLURAL, name, body,
                _content_type="application/merge-patch+json",
            )
        except ApiException as exc:
            if exc.status == 404:
                raise GrantNotFound(name) from exc
            if exc.status == 422:
                # The CRD's write-once rule: someone else revoked it first.
                raise AlreadyRevoked(name) from exc
            raise
