"""Status writes: compare-and-set on resourceVersion, conditions that keep their transition time.

Every write carries the resourceVersion the decision was made on. If the CR changed meanwhile
(a revocation, an extension, another replica), the API server answers 409 and the caller decides
again from the fresh object: a phase is never written on stale information, and a terminal phase
is never overwritten.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

from kubernetes import client

from janus import resource
from janus.controller import kube
from janus.resource import timefmt

MERGE_PATCH = "application/merge-patch+json"


class Conflict(Exception):
    """The CR changed since it was read."""


def condition(
    current: list[Mapping[str, Any]] | None,
    type_: str,
    status: bool,
    reason: str,
    message: str,
    now: dt.datetime,
) -> list[dict[str, Any]]:
    """Return *current* with condition *type_* set; lastTransitionTime moves only on a flip."""
    value = "True" if status else "False"
    out: list[dict[str, Any]] = []
    replaced = False
    for cond in current or []:
        if cond.get("type") == type_:
            since = cond.get("lastTransitionTime") if cond.get("status") == value else None
            out.append({"type": type_, "status": value, "reason": reason,
                        "message": message[:1024],
                        "lastTransitionTime": since or timefmt.fmt(now)})
            replaced = True
        else:
            out.append(dict(cond))
    if not replaced:
        out.append({"type": type_, "status": value, "reason": reason, "message": message[:1024],
                    "lastTransitionTime": timefmt.fmt(now)})
    return out


def has_condition(cr: Mapping[str, Any], type_: str, status: bool, reason: str | None = None,
                  message: str | None = None) -> bool:
    value = "True" if status else "False"
    for cond in (cr.get("status") or {}).get("conditions") or []:
        if cond.get("type") == type_ and cond.get("status") == value:
            return (reason is None or cond.get("reason") == reason) and (
                message is None or cond.get("message") == message)
    return False


def patch(api: Any, cr: Mapping[str, Any], status: Mapping[str, Any]) -> dict[str, Any]:
    """Merge-patch ``status`` guarded by the CR's resourceVersion; return the new object."""
    meta = cr["metadata"]
    body = {"metadata": {"resourceVersion": meta["resourceVersion"]}, "status": dict(status)}
    try:
        return client.CustomObjectsApi(api).patch_namespaced_custom_object_status(
            resource.GROUP, resource.VERSION, meta["namespace"], resource.PLURAL, meta["name"],
            body,
            _content_type=MERGE_PATCH, _request_timeout=kube.REQUEST_TIMEOUT,
        )
    except client.ApiException as exc:
        if exc.status == 409:
            raise Conflict(meta["name"]) from None
        raise


def read(api: Any, namespace: str, name: str) -> dict[str, Any] | None:
    try:
        return client.CustomObjectsApi(api).get_namespaced_custom_object(
            resource.GROUP, resource.VERSION, namespace, resource.PLURAL, name,
            _request_timeout=kube.REQUEST_TIMEOUT,
        )
    except client.ApiException as exc:
        if exc.status == 404:
            return None
        raise
