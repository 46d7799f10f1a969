"""The web app's Prometheus metrics, served by ``janus web --metrics-port`` on a port of its own.

Never on the public port: the request counts and terminal figures are for the cluster's
monitoring, not for whoever reaches the Ingress. One registry per process (``REGISTRY``), like
the receiver's; the names are the web app's own (``janus_web_*``), apart from
``janus_build_info`` which means the same in every component (a test checks both).

Labels are bounded: the route *template* (``/terminal/{name}``, never the path a client typed),
the method, the status code, and the terminal's close reason (a fixed vocabulary). Never a
login, a request name or a pod.
"""

from __future__ import annotations

import time
from typing import Any

from prometheus_client import (
    GC_COLLECTOR,
    PLATFORM_COLLECTOR,
    PROCESS_COLLECTOR,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    Info,
    start_http_server,
)

from janus import __version__

COMPONENT = "web"
BUILD_INFO_HELP = "The Janus release this process runs (value always 1)."

REGISTRY = CollectorRegistry(auto_describe=True)
for _collector in (PROCESS_COLLECTOR, PLATFORM_COLLECTOR, GC_COLLECTOR):
    REGISTRY.register(_collector)

BUILD_INFO = Info("janus_build", BUILD_INFO_HELP, registry=REGISTRY)
BUILD_INFO.info({"version": __version__})
REQUESTS = Counter(
    "janus_web_requests_total", "HTTP requests answered by the web app, by route template, "
    "method and status code.", ["route", "method", "status"], registry=REGISTRY)
REQUEST_SECONDS = Histogram(
    "janus_web_request_duration_seconds", "Time to answer an HTTP request, by route template.",
    ["route"], registry=REGISTRY,
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10))
SESSIONS_OPEN = Gauge(
    "janus_web_terminal_sessions_open", "Browser terminal sessions open on this replica.",
    registry=REGISTRY)
SESSION_CLOSES = Counter(
    "janus_web_terminal_session_closes_total", "Browser terminal sessions ended, by reason "
    "(exited, closed, grant-ended, idle, recording-limit, recording-failed, ...).", ["reason"],
    registry=REGISTRY)
RECORDING_BYTES = Counter(
    "janus_web_recording_bytes_total", "Bytes of terminal recording (asciicast) stored.",
    registry=REGISTRY)

# Paths no route matched (404s, scanners) share one label value: the path is not a label.
UNMATCHED = "unmatched"


def route_of(scope: dict[str, Any]) -> str:
    """The route template that answered, e.g. ``/terminal/{name}``; ``/static`` for assets."""
    route = scope.get("route")
    path = getattr(route, "path", None)
    if isinstance(path, str):
        return path
    if str(scope.get("path", "")).startswith("/static/"):
        return "/static"
    return UNMATCHED


class MetricsMiddleware:
    """Pure ASGI middleware: counts every HTTP request by route template, method and status.

    Outermost, so errors answered by the layers inside it are counted too. Websockets (the
    terminal) are left to the session metrics."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500  # an exception before the response started is a 500 to the client

        async def send_wrapper(message: dict[str, Any]) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
            await send(message)

        try:
            await self.app(scope, receive, send_wrapper)
        finally:
            route = route_of(scope)
            REQUESTS.labels(route, scope.get("method", ""), str(status)).inc()
            REQUEST_SECONDS.labels(route).observe(time.perf_counter() - started)


def serve(host: str, port: int) -> Any:
    """Serve ``REGISTRY`` on ``http://host:port/metrics`` from a daemon thread; return the server
    (``.shutdown()`` stops it; tests read ``.server_port`` when *port* is 0)."""
    server, _thread = start_http_server(port, addr=host, registry=REGISTRY)
    return server
