"""The ASGI application: REST dispatch under the world lock, then webhook pumping, recording.

Order per request: authenticate → rate-limit → a test's injected fault (``faults.py``: an
error answer, or an answer held back outside the lock) → find the route → run the handler
holding the world lock (shared for a read, exclusive for a write: :mod:`.rwlock`; handlers
run on Starlette's thread pool, so reads overlap) → release the lock → pump webhook
deliveries (in ``sync`` mode they are sent now, so the caller's next request sees their
effects) → record the exchange → respond.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from dataclasses import dataclass, field
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import Receive, Scope, Send

from . import (  # noqa: F401 - registers the routes
    routes_apps,
    routes_gitdata,
    routes_graphql,
    routes_pulls,
    routes_repos,
    routes_rulesets,
)
from .delivery import Deliverer
from .errors import ApiError
from .faults import FaultError, Faults
from .render import Renderer
from .rest import (
    Caller,
    Ctx,
    RateLimits,
    Reply,
    Route,
    authenticate,
    find_route,
    parse_query,
)
from .world import World

log = logging.getLogger("janus.dev.github_sim")


@dataclass
class Exchange:
    """One recorded request/response pair, for the contract tests."""

    method: str
    path: str
    query: dict[str, str]
    status: int
    body: Any
    headers: dict[str, str]


@dataclass
class Recorder:
    """Keeps every REST exchange while :attr:`enabled`; the OpenAPI tests validate them."""

    enabled: bool = False
    exchanges: list[Exchange] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, exchange: Exchange) -> None:
        if self.enabled:
            with self._lock:
                self.exchanges.append(exchange)


@dataclass
class Spans:
    """Where the simulator's time goes, per route (``GET /repos/{owner}/{repo}/...``):
    requests, seconds waiting for the world lock, seconds holding it, and the most requests
    in flight at once. Always on (a few counters a request); the benchmarks print it."""

    routes: dict[str, list[float]] = field(default_factory=dict)  # [n, wait s, held s]
    in_flight: int = 0
    max_in_flight: int = 0
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def enter(self) -> None:
        with self._lock:
            self.in_flight += 1
            self.max_in_flight = max(self.max_in_flight, self.in_flight)

    def leave(self, route: str, wait: float, held: float) -> None:
        with self._lock:
            self.in_flight -= 1
            totals = self.routes.setdefault(route, [0, 0.0, 0.0])
            totals[0] += 1
            totals[1] += wait
            totals[2] += held

    def reset(self) -> None:
        with self._lock:
            self.routes.clear()
            self.max_in_flight = self.in_flight

    def summary(self) -> dict[str, Any]:
        with self._lock:
            return {"max_in_flight": self.max_in_flight,
                    "routes": {k: list(v) for k, v in self.routes.items()}}


def is_read(method: str, path: str) -> bool:
    """Whether a request only reads the world: REST ``GET``/``HEAD`` and ``POST /graphql``
    (the simulator's schema root has queries only). Reads hold the world lock shared."""
    return method in ("GET", "HEAD") or path == "/graphql"


class SimulatorApp:
    def __init__(self, world: World, render: Renderer, deliverer: Deliverer,
                 recorder: Recorder, ui: Any = None) -> None:
        self.world = world
        self.render = render
        self.deliverer = deliverer
        self.recorder = recorder
        self.rate_limits = RateLimits()
        self.spans = Spans()
        self.faults = Faults()
        self.ui = ui
        self.oauth: Any = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            while True:
                message = await receive()
                if message["type"] == "lifespan.startup":
                    await send({"type": "lifespan.startup.complete"})
                elif message["type"] == "lifespan.shutdown":
                    await send({"type": "lifespan.shutdown.complete"})
                    return
        if scope["type"] != "http":
            return
        request = Request(scope, receive)
        if scope["path"].startswith("/_sim") and self.ui is not None:
            await self.ui(scope, receive, send)
            return
        if scope["path"].startswith("/login/oauth/") and self.oauth is not None:
            await self.oauth(scope, receive, send)  # github.com's host, served here too
            return
        raw = await request.body()
        response = await run_in_threadpool(self.handle, request, raw)
        await response(scope, receive, send)

    def handle(self, request: Request, raw: bytes) -> Response:
        method = request.method
        path = request.url.path
        query = parse_query(request.url.query)
        headers: dict[str, str] = {}
        injected = False  # a test's server error: not the simulator's answer, not recorded
        try:
            caller = Caller()
            with self.world.lock.shared():
                try:
                    caller = authenticate(self.world, request.headers.get("authorization"))
                finally:  # a rejected credential still counts against the anonymous limit
                    # GET /rate_limit never counts and answers even when the limit is spent.
                    headers |= self.rate_limits.count(caller, counted=path != "/rate_limit")
            fault = self.faults.take(method, path, caller.login)
            late = 0.0 if fault is None else self.faults.apply(fault, headers,
                                                               f"SIM:{id(request):x}")
            # Reads together, writes alone (rwlock.py); GraphQL has queries only.
            found = find_route(method, path)
            span = f"{method} {found[0].template if found else '?'}"
            asked = time.perf_counter()
            self.spans.enter()
            held = got = asked
            try:
                with (self.world.lock.shared() if is_read(method, path) else self.world.lock):
                    got = time.perf_counter()
                    try:
                        reply = self._dispatch(found, raw, query, method, path, caller)
                    finally:
                        held = time.perf_counter()
            finally:
                self.spans.leave(span, got - asked, held - got)
            if late:  # carried out, answered late: outside the world lock, no one else waits
                time.sleep(late)
        except ApiError as err:
            injected = isinstance(err, FaultError) and err.status >= 500
            headers |= getattr(err, "headers", {})
            reply = Reply(err.status, err.body())
        except Exception:  # a simulator bug: answer like GitHub would, and say so in the log
            log.exception("github_sim: %s %s failed", method, path)
            reply = Reply(500, ApiError(500, "Server Error").body())
        finally:
            self.deliverer.pump()  # after the lock: receivers may call back into us
        headers |= reply.headers
        body = None if reply.body is None else json.dumps(reply.body).encode()
        # GraphQL is checked against its own schema (graphql_api.STATS); injected errors not.
        if path != "/graphql" and not injected:
            self.recorder.add(Exchange(method, path, query, reply.status, reply.body,
                                       dict(headers)))
        if body is not None:
            headers["Content-Type"] = "application/json; charset=utf-8"
        headers["X-GitHub-Media-Type"] = "github.v3; format=json"
        headers["X-GitHub-Request-Id"] = f"SIM:{id(request):x}"
        return Response(content=body, status_code=reply.status, headers=headers)

    def _dispatch(self, found: tuple[Route, dict[str, str]] | None, raw: bytes,
                  query: dict[str, str], method: str, path: str, caller: Caller) -> Reply:
        if found is None:  # unknown path or method: GitHub answers 404 for both
            raise ApiError(404, "Not Found")
        route, params = found
        if route.jwt and caller.app_id is None:
            raise ApiError(401, "A JSON web token could not be decoded")
        if not route.jwt and caller.app_id is not None:
            raise ApiError(403, "Resource not accessible by integration")
        ctx = Ctx(self.world, self.render, method, path, params, query, raw, caller,
                  self.deliverer, self.rate_limits)
        return route.handler(ctx)
