"""AccessRequest CRs as the receiver writes them: create, extend, revoke — each idempotent.

The CR name is :func:`janus.names.access_request_name` of (cluster, namespace, request name), so
a replayed delivery, a reconcile and a later extension PR all land on the same object:

* absent → create (a 409 from a concurrent worker is re-read and treated as present);
* present with the same merge commit in its provenance → nothing to do (a replay);
* present and ended (Expired/Revoked/Failed, or revocation requested):
  - merged while that grant was still live (an extension handled after the end) → refused
    (:class:`GrantEndedBeforeMerge`), the ended CR left alone: an extension only extends a live
    grant, and a fresh grant made of it would give access for a period nobody approved;
  - merged after the end → a new grant of the same request (design §9: only a new merge grants
    again): the old CR is deleted and a fresh one created (git and the ledger keep the history).
    The delete is never waited out: while a finalizer holds the old CR (the ledger writes its end
    first, which may take as long as GitHub does) the apply raises :class:`GrantPending` at once,
    so the delivery is retried (and reconcile grants a file without a CR), within the merge's
    window like every other path;
* present and live → an extension: duration, reason, ticket and provenance are merge-patched.
  Requester and role are immutable (the CRD enforces it); changing them is refused.

Every call goes through :class:`janus.resource.client.AccessRequestClient`, which reads the CR
into an :class:`~janus.resource.AccessRequestView`, writes ``spec.revocation`` (write-once in
the CRD) and translates the API server's errors.
"""

from __future__ import annotations

import datetime as dt
import time
from typing import Any

from janus import errors, names
from janus.model import Request, format_duration, ledger
from janus.resource import (
    AccessRequestView,
    AlreadyExists,
    AlreadyRevoked,
    GrantEnded,
    Provenance,
)
from janus.resource import Conflict as ResourceConflict
from janus.resource import NotFound as ResourceNotFound
from janus.resource.client import AccessRequestClient
from janus.resource.spec import extension_changes, grant_spec

REPORTED_PHASE = "janus.dev/reported-phase"
FIELD_MANAGER = "janus-webhook"
_APPLY_ATTEMPTS = 3
# How long a deleted CR without finalizers may take to be gone (an optimisation: one API round
# trip, usually). Correctness never rests on it: still there → GrantPending, retried.
_GONE_GRACE_SECONDS = 2.0


class GrantConflict(errors.Conflict):
    """The merged file cannot be applied to the existing CR (identity changed), or the CR kept
    changing while it was being applied."""


class GrantEndedBeforeMerge(errors.Refused):
    """The merge was made while its grant was live (an extension), but the grant ended before
    the merge was applied: an ended grant is never extended nor made live again (design §9)."""


class GrantPending(errors.Unavailable):
    """A new merge of an ended request: the ended AccessRequest is deleted but a finalizer still
    holds it (its end is being written to the ledger). Retry later; nothing was created."""


def ended_at(view: AccessRequestView) -> dt.datetime | None:
    """When the grant stopped being live: its revocation's request, its revocation, or its
    expiry; None when unknown (a Failed grant carries no time of its own)."""
    moments = [m for m in (view.revocation.requested_at if view.revocation else None,
                           view.revoked_at,
                           view.expires_at if view.phase == "Expired" else None)
               if m is not None]
    return min(moments) if moments else None


def _merged_while_live(view: AccessRequestView, provenance: Provenance) -> dt.datetime | None:
    """The ended grant's end when *provenance*'s merge came before it, else None."""
    end, merged = ended_at(view), provenance.merged_at
    if end is None or merged is None:
        return None
    if merged.tzinfo is None:
        merged = merged.replace(tzinfo=dt.UTC)
    if end.tzinfo is None:
        end = end.replace(tzinfo=dt.UTC)
    return end if merged < end else None


def ledger_entry_of(name: str, provenance: Provenance) -> str | None:
    """The ledger entry a grant created from *provenance* starts (the path
    :func:`janus.gitops.ledger_keeper.entry_of` gives its first view), or None when the
    provenance cannot make one.

    Written on the CR at creation as ``janus.dev/ledger-entry``, so that an extension's later
    merge is always appended to this entry. Left to the ledger keeper's own optimistic write
    (after it first saw the CR), a conflict with the controller's status writes could lose it,
    and an extension arriving next then started a second entry while the first never got its
    end (seen in bench/soak.py under load: 5 of 25 extensions)."""
    p = provenance
    if not (p.merge_commit and p.pull_request and p.merged_at and p.path and p.blob_sha):
        return None
    return ledger.entry_path(p.merged_at, p.pull_request, name)


def spec_of(request: Request, provenance: Provenance) -> dict[str, Any]:
    """The CR spec of a verified :class:`janus.model.Request`."""
    return grant_spec(
        request_name=request.name, requester=request.requester, cluster=request.cluster,
        namespace=request.namespace, role=request.role,
        duration=format_duration(request.duration), reason=request.reason,
        ticket=request.ticket, provenance=provenance,
    )


class AccessRequests:
    """The AccessRequest CRs in the Janus namespace of the central cluster, as the receiver
    reads and writes them."""

    def __init__(self, api_client: Any, namespace: str = names.JANUS_NAMESPACE):
        self.client = AccessRequestClient(api_client, namespace, field_manager=FIELD_MANAGER)
        self.namespace = namespace

    @property
    def api_client(self) -> Any:
        """The Kubernetes ``ApiClient`` (for the readiness check)."""
        return self.client.api_client

    def get(self, name: str) -> AccessRequestView | None:
        return self.client.find(name)

    def list(self) -> list[AccessRequestView]:
        return self.client.list()

    def _create(self, name: str, cluster: str, spec: dict[str, Any], provenance: Provenance,
                break_glass: bool = False) -> None:
        labels = {names.LABEL_CLUSTER: cluster, names.LABEL_MANAGED_BY: names.MANAGED_BY}
        if break_glass:  # verified on the break-glass path (janus.gitops.verify)
            labels[names.LABEL_BREAK_GLASS] = "true"
        entry = ledger_entry_of(name, provenance)
        self.client.create(name, spec, labels=labels,
                           annotations={names.ANNOTATION_LEDGER_ENTRY: entry} if entry else None)

    def apply_grant(self, request: Request, provenance: Provenance) -> str:
        """Create or extend; returns "created", "extended", "recreated" or "unchanged"."""
        name = names.access_request_name(request.cluster, request.namespace, request.name)
        spec = spec_of(request, provenance)
        for _ in range(_APPLY_ATTEMPTS):
            existing = self.get(name)
            if existing is None:
                try:
                    self._create(name, request.cluster, spec, provenance, request.break_glass)
                    return "created"
                except AlreadyExists:  # a concurrent worker created it: look again
                    continue
            if (existing.provenance is not None
                    and existing.provenance.merge_commit == provenance.merge_commit):
                return "unchanged"
            if existing.ended:
                ended = _merged_while_live(existing, provenance)
                if ended is not None:
                    how = existing.phase if existing.terminal else "revocation requested"
                    raise GrantEndedBeforeMerge(
                        f"not extended: the grant ended ({how} at {ended:%Y-%m-%dT%H:%M:%SZ}) "
                        "before this merge was applied; an ended grant is never extended or "
                        "made live again — request again in a new pull request")
                if not existing.meta.deleting:
                    self.client.delete(name, uid=existing.meta.uid)
                if self._gone(name, existing.meta.uid, _GONE_GRACE_SECONDS):
                    self._create(name, request.cluster, spec, provenance, request.break_glass)
                    return "recreated"
                held = self.get(name)
                if held is not None and held.meta.uid == existing.meta.uid:
                    raise GrantPending(
                        f"AccessRequest {name} of the ended grant is still being finalized "
                        f"(finalizers {list(held.meta.finalizers)}: its end is written to the "
                        "ledger first); the new grant is created once it is gone")
                continue
            for key, old, new in (("requester", existing.requester, request.requester),
                                  ("role", existing.role, request.role)):
                if old.lower() != new.lower():
                    raise GrantConflict(
                        f"{key} of a live grant cannot change ({old} → {new}); "
                        "revoke it (delete the file) and request again under a new name"
                    )
            self.client.patch_spec(name, extension_changes(spec))
            return "extended"
        raise GrantConflict(f"AccessRequest {name} kept changing while being applied")

    def _gone(self, name: str, uid: str, timeout: float) -> bool:
        """The object *uid* of *name* is gone within *timeout* (False also when another object
        took the name meanwhile: look again)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            current = self.get(name)
            if current is None or current.meta.uid != uid:
                return current is None
            time.sleep(0.1)
        return False

    def revoke(self, name: str, by: str, reason: str, *, via: str | None = None) -> str:
        """Returns "revoked", "absent", "already-revoked" or "ended" (Expired/Failed).

        *via* (file-deletion, pr-comment, reconcile) is noted on the CR as the annotation
        ``janus.dev/revoked-via`` for the ledger's record of how the grant ended."""
        try:
            self.client.request_revocation(name, by, reason, via=via)
        except ResourceNotFound:
            return "absent"
        except AlreadyRevoked:
            return "already-revoked"
        except GrantEnded:
            return "ended"
        return "revoked"

    def set_annotation(self, name: str, key: str, value: str, resource_version: str) -> bool:
        """Optimistically set one annotation; False when the CR changed or went meanwhile."""
        try:
            self.client.set_annotation(name, key, value, resource_version)
        except (ResourceConflict, ResourceNotFound):
            return False
        return True
