"""The pods (and their containers) a grant may exec into, listed with the grant's own token.

Using the grant's token means Kubernetes RBAC decides what is visible: the web app's identity
cannot read pods at all.
"""

from __future__ import annotations

import ssl
from typing import Any

import httpx

from janus.web.terminal.grants import GrantCredentials


class PodListError(RuntimeError):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


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
    context = ssl.create_default_context()
    if credentials.ca_pem:
        context.load_verify_locations(cadata=credentials.ca_pem)
    try:
        async with httpx.AsyncClient(verify=context, timeout=10.0) as http:
            response = await http.get(
                f"{credentials.server}/api/v1/namespaces/{namespace}/pods",
                headers={"Authorization": f"Bearer {credentials.token}"},
            )
    except httpx.TransportError as exc:
        # Name the failure, not the request: the exception's text is not ours to vouch for.
        raise PodListError(
            502, f"cluster {credentials.cluster!r} could not be reached ({type(exc).__name__})"
        ) from None
    if response.status_code >= 400:
        raise PodListError(response.status_code, f"the cluster answered {response.status_code}")
    pods = [_summary(p) for p in response.json().get("items", [])]
    return sorted(pods, key=lambda p: p["name"])
