"""AccessRequest CRs as the receiver writes them: create, extend, revoke — each idempotent.

The CR name is :func:`janus.names.access_request_name` of (cluster, namespace, request name), so
a replayed delivery, a reconcile and a later extension PR all land on the same object:

* absent → create (a 409 from a concurrent worker is re-read and treated as present);
* present with the same merge commit in its provenance → nothing to do (a replay);
* present and ended (Expired/Revoked/Failed, or revocation requested) → a new merge of that file
  is a new request: the old CR is deleted and a fresh one created (git keeps the history);
* present and live → an extension: duration, reason, ticket and provenance are merge-patched.
  Requester and role are immutable (the CRD enforces it); changing them is refused.

Revocation is a JSON merge patch setting ``spec.revocation`` (write-once in the CRD).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from kubernetes import client
from kubernetes.client.rest import ApiException

from janus import names, resource
from janus.model import format_duration

MERGE_PATCH = "application/merge-patch+json"
REPORTED_PHASE = "janus.dev/reported-phase"
FIELD_MANAGER = "janus-webhook"


class GrantConflict(Exception):
    """The merged file cannot be applied to the existing CR (identity changed)."""


@dataclass(frozen=True)
class Provenance:
    repo: str
    pull_request: int
    merge_commit: str
    path: str
    blob_sha: str
    approvers: tuple[str, ...]
    merged_by: str
    merged_at: dt.datetime | None

    def as_spec(self) -> dict[str, Any]:
        spec: dict[str, Any] = {
            "repo": self.repo,
            "pullRequest": self.pull_request,
            "mergeCommit": self.merge_commit,
            "path": self.path,
            "blobSha": self.blob_sha,
            "approvers": list(self.approvers),
        }
        if self.merged_by:
            spec["mergedBy"] = self.merged_by
        if self.merged_at is not None:
            spec["mergedAt"] = _rfc3339(self.merged_at)
        return spec


def _rfc3339(when: dt.datetime) -> str:
    if when.tzinfo is None:
        when = when.replace(tzinfo=dt.UTC)
    return when.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def spec_of(request: Any, provenance: Provenance) -> dict[str, Any]:
    """The CR spec of a verified :class:`janus.model.Request`."""
    spec: dict[str, Any] = {
        "requestName": request.name,
        "requester": request.requester,
        "cluster": request.cluster,
        "namespace": request.namespace,
        "role": request.role,
        "duration": format_duration(request.duration),
        "reason": request.reason,
        "provenance": provenance.as_spec(),
    }
    if request.ticket:
        spec["ticket"] = request.ticket
    return spec


def has_ended(cr: dict[str, Any]) -> bool:
    return (resource.phase_of(cr) in resource.TERMINAL_PHASES
            or bool((cr.get("spec") or {}).get("revocation")))


class AccessRequests:
    """The AccessRequest CRs in the Janus namespace of the central cluster."""

    def __init__(self, api_client: client.ApiClient, namespace: str = names.JANUS_NAMESPACE):
        self.api = client.CustomObjectsApi(api_client)
        self.namespace = namespace

    def _args(self) -> tuple[str, str, str, str]:
        return resource.GROUP, resource.VERSION, self.namespace, resource.PLURAL

    def get(self, name: str) -> dict[str, Any] | None:
        try:
            return self.api.get_namespaced_custom_object(*self._args(), name)
        except ApiException as exc:
            if exc.status == 404:
                return None
            raise

    def list(self) -> list[dict[str, Any]]:
        return self.api.list_namespaced_custom_object(*self._args()).get("items", [])

    def _create(self, name: str, spec: dict[str, Any]) -> None:
        body = {
            "apiVersion": resource.API_VERSION,
            "kind": resource.KIND,
            "metadata": {
                "name": name,
                "namespace": self.namespace,
                "labels": {
                    names.LABEL_CLUSTER: spec["cluster"],
                    names.LABEL_MANAGED_BY: names.MANAGED_BY,
                },
            },
            "spec": spec,
        }
        self.api.create_namespaced_custom_object(*self._args(), body,
                                                 field_manager=FIELD_MANAGER)

    def patch(self, name: str, body: dict[str, Any]) -> dict[str, Any]:
        return self.api.patch_namespaced_custom_object(
            *self._args(), name, body, field_manager=FIELD_MANAGER, _content_type=MERGE_PATCH
        )

    def _delete(self, name: str, uid: str) -> None:
        try:
            self.api.delete_namespaced_custom_object(
                *self._args(), name,
                body=client.V1DeleteOptions(preconditions=client.V1Preconditions(uid=uid)),
            )
        except ApiException as exc:
            if exc.status not in (404, 409):
                raise

    def apply_grant(self, request: Any, provenance: Provenance) -> str:
        """Create or extend; returns "created", "extended", "recreated" or "unchanged"."""
        name = names.access_request_name(request.cluster, request.namespace, request.name)
        spec = spec_of(request, provenance)
        for _ in range(3):
            existing = self.get(name)
            if existing is None:
                try:
                    self._create(name, spec)
                    return "created"
                except ApiException as exc:
                    if exc.status == 409:  # a concurrent worker created it: look again
                        continue
                    raise
            old = existing.get("spec") or {}
            if (old.get("provenance") or {}).get("mergeCommit") == provenance.merge_commit:
                return "unchanged"
            if has_ended(existing):
                # Wait for the old object to be gone (kopf finalizers may hold it briefly).
                self._delete(name, existing["metadata"]["uid"])
                if self._gone(name, existing["metadata"]["uid"]):
                    self._create(name, spec)
                    return "recreated"
                continue
            for key in ("requester", "role"):
                if str(old.get(key, "")).lower() != str(spec[key]).lower():
                    raise GrantConflict(
                        f"{key} of a live grant cannot change ({old.get(key)} → {spec[key]}); "
                        "revoke it (delete the file) and request again under a new name"
                    )
            update = {k: spec[k] for k in ("duration", "reason", "provenance")}
            # Merge patch replaces lists and removes null keys: drop a ticket no longer given.
            update["ticket"] = spec.get("ticket")
            self.patch(name, {"spec": update})
            return "extended"
        raise RuntimeError(f"AccessRequest {name} kept changing while being applied")

    def _gone(self, name: str, uid: str, timeout: float = 10.0) -> bool:
        import time

        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            current = self.get(name)
            if current is None or current["metadata"]["uid"] != uid:
                return current is None
            time.sleep(0.1)
        return False

    def revoke(self, name: str, by: str, reason: str) -> str:
        """Returns "revoked", "absent", "already-revoked" or "ended" (Expired/Failed)."""
        cr = self.get(name)
        if cr is None:
            return "absent"
        if (cr.get("spec") or {}).get("revocation"):
            return "already-revoked"
        if resource.phase_of(cr) in resource.TERMINAL_PHASES:
            return "ended"
        revocation = {
            "by": by[:100],
            "reason": reason[:500],
            "requestedAt": _rfc3339(dt.datetime.now(dt.UTC)),
        }
        try:
            self.patch(name, {"metadata": {"resourceVersion": cr["metadata"]["resourceVersion"]},
                              "spec": {"revocation": revocation}})
        except ApiException as exc:
            if exc.status == 409:  # changed meanwhile (e.g. a concurrent revoke): look again
                return self.revoke(name, by, reason)
            raise
        return "revoked"

    def set_annotation(self, name: str, key: str, value: str, resource_version: str) -> bool:
        """Optimistically set one annotation; False when the CR changed meanwhile."""
        try:
            self.patch(name, {"metadata": {"annotations": {key: value},
                                           "resourceVersion": resource_version}})
        except ApiException as exc:
            if exc.status in (404, 409):
                return False
            raise
        return True
