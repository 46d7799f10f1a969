"""The ``spec`` an AccessRequest is written with: the inverse of the view, for its one writer.

The webhook receiver creates each grant's spec from a verified request file and extends it on a
later merge; :class:`~janus.resource.view.AccessRequestView` reads it back. Building the dict here
keeps the CR's field names (``requestName``, ``provenance.mergeCommit``, …) inside
``janus.resource``, beside the view that reads them. ``spec.revocation`` is not built here: only
:meth:`~janus.resource.client.AccessRequestClient.request_revocation` writes it.
"""

from __future__ import annotations

from typing import Any

from janus.resource import timefmt
from janus.resource.view import Provenance

# What an extension may change on a live grant; requester, role and the target are immutable
# (the CRD enforces it), and a changed identity is a new request under a new name.
EXTENSIBLE = ("duration", "reason", "ticket", "provenance")


def provenance_spec(provenance: Provenance) -> dict[str, Any]:
    """``spec.provenance`` for *provenance* (``mergedBy``/``mergedAt`` only when known)."""
    spec: dict[str, Any] = {
        "repo": provenance.repo,
        "pullRequest": provenance.pull_request,
        "mergeCommit": provenance.merge_commit,
        "path": provenance.path,
        "blobSha": provenance.blob_sha,
        "approvers": list(provenance.approvers),
    }
    if provenance.merged_by:
        spec["mergedBy"] = provenance.merged_by
    if provenance.merged_at is not None:
        spec["mergedAt"] = timefmt.fmt(provenance.merged_at)
    return spec


def grant_spec(*, request_name: str, requester: str, cluster: str, namespace: str, role: str,
               duration: str, reason: str, ticket: str | None,
               provenance: Provenance) -> dict[str, Any]:
    """The whole spec of a new grant (*duration* Go-style, as the CR carries it)."""
    spec: dict[str, Any] = {
        "requestName": request_name,
        "requester": requester,
        "cluster": cluster,
        "namespace": namespace,
        "role": role,
        "duration": duration,
        "reason": reason,
        "provenance": provenance_spec(provenance),
    }
    if ticket:
        spec["ticket"] = ticket
    return spec


def extension_changes(spec: dict[str, Any]) -> dict[str, Any]:
    """The merge patch of ``spec`` that extends a live grant to *spec* (a :func:`grant_spec`).

    A merge patch replaces lists and removes keys set to None: a ticket no longer given is
    removed, not kept from the old request.
    """
    return {key: spec.get(key) for key in EXTENSIBLE}
