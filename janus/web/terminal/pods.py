"""The pods (and their containers) a grant may exec into, listed with the grant's own token.

Using the grant's token means Kubernetes RBAC decides what is visible: the web app's identity
cannot read pods at all.
"""

from __future__ import annotations

from typing import Any

from janus.web.terminal.cluster_call import PodListError, call_cluster
from janus.web.terminal.grants import GrantCredentials

__all__ = ["PodListError", "list_pods"]  # PodListError re-exported: it is where callers look


def _summary(pod: dict[str, Any]) -> dict[str, Any]:
    spec, status = pod.get("spec") or {}, pod.get("status") or {}
    ready = {c.get("name"): bool(c.get("ready")) for c in status.get("containerStatuses") or []}
    return {
        "name": pod["metadata"]["name"],
        "phase": status.get("phase", "Unknown"),
        "containers": [
            {"name": c["name"], "ready": ready.get(c["name"], False)}
            for c in spec.get("containers") or []
        ],
    }


async def list_pods(credentials: GrantCredentials, namespace: str) -> list[dict[str, Any]]:
    response = await call_cluster(credentials, "GET", f"/api/v1/namespaces/{namespace}/pods")
    pods = [_summary(p) for p in response.json().get("items", [])]
    return sorted(pods, key=lambda p: p["name"])
