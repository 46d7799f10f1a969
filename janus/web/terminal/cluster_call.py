"""One request to a grant's cluster, made with the grant's own token.

Using the grant's token means Kubernetes RBAC decides what the request may see or do: the web
app's identity cannot read pods at all. The pod list, the resource view and the debug container
all call the cluster this way, so they fail the same way: :class:`PodListError` with the status
to answer (502 when the cluster cannot be reached, else the cluster's own status).
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


def grant_ssl_context(ca_pem: str) -> ssl.SSLContext:
    """The TLS context that trusts the grant's cluster CA (the system's CAs when it has none)."""
    context = ssl.create_default_context()
    if ca_pem:
        context.load_verify_locations(cadata=ca_pem)
    return context


def unreachable(credentials: GrantCredentials, exc: httpx.TransportError) -> str:
    """The message for a cluster that could not be reached.

    It names the failure, not the request: the exception's text is not ours to vouch for.
    """
    return f"cluster {credentials.cluster!r} could not be reached ({type(exc).__name__})"


async def call_cluster(credentials: GrantCredentials, method: str, path: str, *,
                       params: dict[str, str] | None = None, json: Any = None,
                       content_type: str | None = None) -> httpx.Response:
    """*method* *path* (below the API server) with the grant's token; the response, read whole.

    PodListError(502) when the cluster cannot be reached, PodListError(status) when it answers
    4xx/5xx (its body is not passed on).
    """
    headers = {"Authorization": f"Bearer {credentials.token}"}
    if content_type is not None:
        headers["Content-Type"] = content_type
    try:
        async with httpx.AsyncClient(verify=grant_ssl_context(credentials.ca_pem),
                                     timeout=10.0) as http:
            response = await http.request(method, f"{credentials.server}{path}", params=params,
                                          json=json, headers=headers)
    except httpx.TransportError as exc:
        raise PodListError(502, unreachable(credentials, exc)) from None
    if response.status_code >= 400:
        raise PodListError(response.status_code, f"the cluster answered {response.status_code}")
    return response
