"""The log viewer's stream: a pod's log read with the grant's own token, relayed to the browser,
and closed when the grant ends — like a terminal session (issue 13 item 1).

A :class:`LogStream` registers in the terminal's :class:`SessionRegistry` (so the grant watcher's
revocation or token deletion stops it, on every replica) and watches the grant's expiry itself
(the earlier of the CR's and the token Secret's). The upstream request goes to the target API
server with the grant's token: Kubernetes RBAC decides whether the role may read logs, the web
app's identity never can. What ended a stream is written as a last line the viewer shows.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import re
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import httpx

from janus.web.terminal.cluster_call import grant_ssl_context, unreachable
from janus.web.terminal.grants import GrantCredentials
from janus.web.terminal.watcher import SessionRegistry

# Pod names are DNS-1123 subdomains, container names DNS-1123 labels: anything else never
# reaches the URL we build.
POD_NAME = re.compile(r"[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?")
CONTAINER_NAME = re.compile(r"[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?")
MAX_SINCE_SECONDS = 7 * 24 * 3600
END_PREFIX = "\n[janus] "


class LogRequestError(RuntimeError):
    """The log cannot be read: *status* is the HTTP status to answer with."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


@dataclass(frozen=True)
class LogQuery:
    """What the viewer asks for, checked before anything is sent upstream."""

    pod: str
    container: str
    follow: bool = False
    since_seconds: int | None = None
    timestamps: bool = False

    def __post_init__(self) -> None:
        if not POD_NAME.fullmatch(self.pod):
            raise LogRequestError(400, "pod: a pod name (DNS-1123 subdomain) is accepted")
        if not CONTAINER_NAME.fullmatch(self.container):
            raise LogRequestError(400, "container: a container name (DNS-1123 label) is accepted")
        if self.since_seconds is not None and not 0 < self.since_seconds <= MAX_SINCE_SECONDS:
            raise LogRequestError(400, f"since: 1 to {MAX_SINCE_SECONDS} seconds is accepted")

    def params(self) -> dict[str, str]:
        params = {"container": self.container}
        if self.follow:
            params["follow"] = "true"
        if self.since_seconds is not None:
            params["sinceSeconds"] = str(self.since_seconds)
        if self.timestamps:
            params["timestamps"] = "true"
        return params


async def open_upstream(
    credentials: GrantCredentials, namespace: str, query: LogQuery
) -> tuple[httpx.AsyncClient, httpx.Response]:
    """Start reading the log with the grant's token; the caller closes both when done."""
    http = httpx.AsyncClient(verify=grant_ssl_context(credentials.ca_pem),
                             timeout=httpx.Timeout(10.0, read=None))
    url = f"{credentials.server}/api/v1/namespaces/{namespace}/pods/{query.pod}/log"
    try:
        response = await http.send(
            http.build_request("GET", url, params=query.params(),
                               headers={"Authorization": f"Bearer {credentials.token}"}),
            stream=True,
        )
    except httpx.TransportError as exc:
        await http.aclose()
        raise LogRequestError(502, unreachable(credentials, exc)) from None
    if response.status_code >= 400:
        await response.aclose()
        await http.aclose()
        # The status is Kubernetes' verdict (403: the role may not read logs); its body is not
        # ours to vouch for, so it is not passed on.
        raise LogRequestError(response.status_code,
                              f"the cluster answered {response.status_code}")
    return http, response


class LogStream:
    """One open log stream of a grant; a StoppableSession for the registry."""

    def __init__(self, cr_name: str, expires_at: dt.datetime | None,
                 registry: SessionRegistry) -> None:
        self.cr_name = cr_name
        self.expires_at = expires_at
        self.registry = registry
        self.reason: tuple[str, str] | None = None
        self._stopped = asyncio.Event()
        self._deadline_moved = asyncio.Event()

    def stop(self, reason: str, message: str) -> None:
        if self.reason is None:
            self.reason = (reason, message)
        self._stopped.set()

    def set_expiry(self, expires_at: dt.datetime | None) -> None:
        if expires_at != self.expires_at:
            self.expires_at = expires_at
            self._deadline_moved.set()

    async def _watch_deadline(self) -> None:
        while True:
            self._deadline_moved.clear()
            if self.expires_at is None:
                await self._deadline_moved.wait()
                continue
            remaining = (self.expires_at - dt.datetime.now(dt.UTC)).total_seconds()
            if remaining <= 0:
                self.stop("expired", "The grant expired.")
                return
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._deadline_moved.wait(), remaining)

    async def relay(self, chunks: AsyncIterator[bytes], *,
                    trailer: bool = True) -> AsyncIterator[bytes]:
        """Yield *chunks* until they end or the grant does; then the reason as a last line."""
        self.registry.add(self)
        deadline = asyncio.create_task(self._watch_deadline())
        stopped = asyncio.create_task(self._stopped.wait())
        iterator = chunks.__aiter__()
        following: asyncio.Task[Any] | None = None
        try:
            while True:
                following = asyncio.ensure_future(iterator.__anext__())
                await asyncio.wait({following, stopped}, return_when=asyncio.FIRST_COMPLETED)
                if stopped.done():
                    following.cancel()
                    with contextlib.suppress(BaseException):
                        await following
                    break
                try:
                    chunk = following.result()
                except StopAsyncIteration:
                    self.stop("ended", "The log ended.")
                    break
                if chunk:
                    yield chunk
        finally:
            # Also when the browser goes away mid-stream (the generator is closed or cancelled).
            if following is not None and not following.done():
                following.cancel()
            self.registry.remove(self)
            deadline.cancel()
            stopped.cancel()
        if trailer and self.reason is not None and self.reason[0] != "ended":
            yield f"{END_PREFIX}{self.reason[1]} The log stream is closed.\n".encode()
