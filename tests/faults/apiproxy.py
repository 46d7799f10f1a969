"""A TLS reverse proxy in front of a test cluster's kube-apiserver that can break watches on
purpose: answer the next matching watch with a 504 "Too large resource version" or a 410 Gone
(as an ERROR event after a 200, the way the API server's watch cache reports them, or as an
HTTP status), or cut every connection and refuse new ones for a while (a client losing the API
server). Everything else is forwarded byte for byte, streaming, so clients behind it behave as
they do against the API server itself.

It presents the cluster's own server certificate (valid for 127.0.0.1) and talks upstream as the
cluster admin (client certificate), so any client configured with the cluster's CA can be pointed
at :attr:`url`. Runs an aiohttp server on its own event loop in a thread; :meth:`stop` ends it.
"""

from __future__ import annotations

import asyncio
import json
import ssl
import threading
from dataclasses import dataclass, field
from typing import Any

import aiohttp
from aiohttp import web

from janus.dev.controlplane import LocalCluster

_HOP = {"host", "content-length", "transfer-encoding", "connection", "keep-alive",
        "content-encoding", "upgrade"}

TOO_LARGE = {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
             "message": "Too large resource version: 999999999, current: 1",
             "reason": "Timeout", "code": 504,
             "details": {"causes": [{"reason": "ResourceVersionTooLarge",
                                     "message": "Too large resource version"}],
                         "retryAfterSeconds": 1}}
GONE = {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
        "message": "too old resource version: 1 (2)", "reason": "Expired", "code": 410}


@dataclass
class WatchFault:
    """Answer the next *times* watch requests whose path contains *path_part* with *kind*:
    ``event504`` / ``event410`` (200, then one ERROR event) or ``http410`` / ``http504``."""

    path_part: str
    kind: str
    times: int = 1


@dataclass
class ApiProxy:
    cluster: LocalCluster
    faults: list[WatchFault] = field(default_factory=list)
    injected: list[tuple[str, str]] = field(default_factory=list)
    watches_seen: list[str] = field(default_factory=list)
    url: str = ""

    def __post_init__(self) -> None:
        self._lock = threading.Lock()
        self._down = False
        self._tasks: set[asyncio.Task[Any]] = set()
        self._loop = asyncio.new_event_loop()
        self._ready = threading.Event()
        self._thread = threading.Thread(target=self._serve, name="apiproxy", daemon=True)

    # ---- control (from the test's thread) ------------------------------------------------------

    def start(self) -> ApiProxy:
        self._thread.start()
        assert self._ready.wait(10), "proxy did not start"
        return self

    def stop(self) -> None:
        if self._loop.is_running():
            asyncio.run_coroutine_threadsafe(self._shutdown(), self._loop).result(10)
            self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)

    def add_fault(self, fault: WatchFault) -> None:
        with self._lock:
            self.faults.append(fault)

    def injected_count(self, kind: str | None = None) -> int:
        with self._lock:
            return sum(1 for k, _ in self.injected if kind is None or k == kind)

    def go_down(self) -> None:
        """Cut every open connection (watches included) and refuse new requests."""
        with self._lock:
            self._down = True
        self._loop.call_soon_threadsafe(self._cancel_all)

    def come_back(self) -> None:
        with self._lock:
            self._down = False

    def kubeconfig(self) -> dict[str, Any]:
        """The cluster's admin kubeconfig, pointed at the proxy."""
        config = self.cluster.kubeconfig()
        config["clusters"][0]["cluster"]["server"] = self.url
        return config

    def admin_client(self) -> Any:
        """A ``kubernetes.client.ApiClient`` as admin, through the proxy."""
        api = self.cluster.admin_client()
        api.configuration.host = self.url
        from kubernetes import client

        return client.ApiClient(api.configuration)

    # ---- the server ------------------------------------------------------------------------------

    def _serve(self) -> None:
        asyncio.set_event_loop(self._loop)
        self._loop.run_until_complete(self._start())
        self._ready.set()
        self._loop.run_forever()

    async def _start(self) -> None:
        pki = self.cluster.pki
        server_ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        server_ctx.load_cert_chain(str(pki.server_cert), str(pki.server_key))
        upstream_ctx = ssl.create_default_context(cafile=str(pki.ca_cert))
        upstream_ctx.load_cert_chain(str(pki.admin_cert), str(pki.admin_key))
        self._session = aiohttp.ClientSession(
            connector=aiohttp.TCPConnector(ssl=upstream_ctx, limit=0),
            timeout=aiohttp.ClientTimeout(total=None), auto_decompress=False)
        app = web.Application(client_max_size=64 * 1024 * 1024)
        app.router.add_route("*", "/{tail:.*}", self._handle)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0, ssl_context=server_ctx)
        await site.start()
        port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        self.url = f"https://127.0.0.1:{port}"

    async def _shutdown(self) -> None:
        self._cancel_all()
        await self._runner.cleanup()
        await self._session.close()

    def _cancel_all(self) -> None:
        for task in list(self._tasks):
            task.cancel()

    def _take_fault(self, request: web.Request) -> str | None:
        if request.query.get("watch") not in ("1", "true"):
            return None
        with self._lock:
            self.watches_seen.append(request.path)
            for fault in self.faults:
                if fault.times > 0 and fault.path_part in request.path:
                    fault.times -= 1
                    self.injected.append((fault.kind, request.path))
                    return fault.kind
        return None

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        with self._lock:
            down = self._down
        if down:
            if request.transport is not None:
                request.transport.close()
            return web.Response(status=503)
        kind = self._take_fault(request)
        if kind is not None:
            return await self._inject(request, kind)
        task = asyncio.current_task()
        assert task is not None
        self._tasks.add(task)
        try:
            return await self._forward(request)
        finally:
            self._tasks.discard(task)

    async def _inject(self, request: web.Request, kind: str) -> web.StreamResponse:
        status = TOO_LARGE if kind.endswith("504") else GONE
        if kind.startswith("http"):
            return web.Response(status=status["code"], body=json.dumps(status).encode(),
                                content_type="application/json")
        response = web.StreamResponse(status=200, headers={"Content-Type": "application/json"})
        await response.prepare(request)
        await response.write(json.dumps({"type": "ERROR", "object": status}).encode() + b"\n")
        await response.write_eof()
        return response

    async def _forward(self, request: web.Request) -> web.StreamResponse:
        headers = {k: v for k, v in request.headers.items() if k.lower() not in _HOP}
        body = await request.read()
        async with self._session.request(request.method, self.cluster.server + request.path_qs,
                                         headers=headers, data=body or None,
                                         # no Content-Type in: none out (not octet-stream)
                                         skip_auto_headers=("Content-Type", "User-Agent"),
                                         ) as upstream:
            out = {k: v for k, v in upstream.headers.items() if k.lower() not in _HOP}
            if upstream.headers.get("Content-Encoding"):
                out["Content-Encoding"] = upstream.headers["Content-Encoding"]
            response = web.StreamResponse(status=upstream.status, headers=out)
            await response.prepare(request)
            try:
                async for chunk in upstream.content.iter_any():
                    await response.write(chunk)
                await response.write_eof()
            except (ConnectionError, aiohttp.ClientError):
                pass  # the client went away (or we cut it): nothing left to forward
            return response


