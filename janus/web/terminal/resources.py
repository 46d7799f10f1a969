"""The read-only resource view of a ``view`` grant: a few kinds in the grant's namespace, listed
with the grant's own token (issue 13 item 1).

Only the kinds below can be asked for (never Secrets: the name is looked up here, not passed
through), and Kubernetes RBAC decides with the grant's token whether each is readable. Summaries
carry names and status, never a ConfigMap's values (their key names only): the page is for
looking around, and what a value holds need not pass through the web app.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from janus.web.terminal.cluster_call import PodListError, call_cluster
from janus.web.terminal.grants import GrantCredentials


def _pod(o: dict[str, Any]) -> dict[str, Any]:
    statuses = (o.get("status") or {}).get("containerStatuses") or []
    return {"phase": (o.get("status") or {}).get("phase", "Unknown"),
            "ready": f"{sum(1 for c in statuses if c.get('ready'))}/{len(statuses)}",
            "restarts": sum(int(c.get("restartCount") or 0) for c in statuses)}


def _workload(o: dict[str, Any]) -> dict[str, Any]:
    spec, status = o.get("spec") or {}, o.get("status") or {}
    return {"replicas": spec.get("replicas", 0), "ready": status.get("readyReplicas", 0),
            "available": status.get("availableReplicas", 0)}


def _service(o: dict[str, Any]) -> dict[str, Any]:
    spec = o.get("spec") or {}
    ports = [f"{p.get('port')}/{p.get('protocol', 'TCP')}" for p in spec.get("ports") or []]
    return {"type": spec.get("type", ""), "clusterIP": spec.get("clusterIP", ""),
            "ports": ", ".join(ports)}


def _configmap(o: dict[str, Any]) -> dict[str, Any]:
    return {"keys": ", ".join(sorted({**(o.get("data") or {}), **(o.get("binaryData") or {})}))}


def _event(o: dict[str, Any]) -> dict[str, Any]:
    involved = o.get("involvedObject") or {}
    return {"type": o.get("type", ""), "reason": o.get("reason", ""),
            "object": f"{involved.get('kind', '')}/{involved.get('name', '')}",
            "message": (o.get("message") or "")[:300], "count": o.get("count", 1)}


# kind -> (API path prefix, plural, summary of one object)
KINDS: dict[str, tuple[str, str, Callable[[dict[str, Any]], dict[str, Any]]]] = {
    "pods": ("/api/v1", "pods", _pod),
    "deployments": ("/apis/apps/v1", "deployments", _workload),
    "replicasets": ("/apis/apps/v1", "replicasets", _workload),
    "services": ("/api/v1", "services", _service),
    "configmaps": ("/api/v1", "configmaps", _configmap),
    "events": ("/api/v1", "events", _event),
}
MAX_ITEMS = 500


async def list_kind(credentials: GrantCredentials, namespace: str,
                    kind: str) -> list[dict[str, Any]]:
    """Summaries of *kind* in *namespace*, sorted by name; PodListError carries the status."""
    if kind not in KINDS:
        raise PodListError(400, f"kind {kind!r}: one of {', '.join(KINDS)} is accepted")
    prefix, plural, summary = KINDS[kind]
    response = await call_cluster(credentials, "GET", f"{prefix}/namespaces/{namespace}/{plural}",
                                  params={"limit": str(MAX_ITEMS)})
    items = []
    for o in response.json().get("items", []):
        meta = o.get("metadata") or {}
        items.append({"name": meta.get("name", ""), "created": meta.get("creationTimestamp", ""),
                      **summary(o)})
    return sorted(items, key=lambda i: i["name"])
