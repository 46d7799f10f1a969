"""The FastAPI app: check, persist, acknowledge. No GitHub or Kubernetes call happens here.

Order matters: size limit and content type are checked on the raw bytes, then the signature over
those same bytes; only a signed body is parsed, and only an allow-listed event is stored. A bad
or missing signature gets 401 and leaves no trace but a log line and a counter.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, PlainTextResponse
from starlette.background import BackgroundTask
from starlette.types import Receive, Scope, Send

from janus.gitops.metrics import COUNTERS, Counters
from janus.logs import event
from janus.resource import readiness
from janus.webhook.contract import compiled, contract_errors
from janus.webhook.group_commit import GroupCommit
from janus.webhook.signature import signature_valid
from janus.webhook.store import DeliveryStore

log = logging.getLogger("janus.webhook")

# Janus's request PRs are a few KiB; GitHub itself caps payloads at 25 MB.
DEFAULT_MAX_BODY = 1024 * 1024
WEBHOOK_PATH = "/webhooks/github"

# Events and actions Janus acts on (None: every action). Everything else is acknowledged and
# dropped, since new actions appear over time and must not be mistaken for known ones.
ALLOWED: dict[str, frozenset[str] | None] = {
    "pull_request": frozenset({"opened", "synchronize", "reopened", "edited", "closed"}),
    "issue_comment": frozenset({"created"}),
    # The approval groups' tally is published again (submitted, dismissed); changes requested
    # are told to the requester (submitted). The review and the PR are re-read from the API.
    "pull_request_review": frozenset({"submitted", "dismissed"}),
    "push": None,
    # "requested" duplicates the pull_request synchronize that comes with every push (and would
    # double the API calls); a person clicking "Re-run" sends "rerequested".
    "check_suite": frozenset({"rerequested"}),
    "check_run": frozenset({"rerequested"}),
}


def _error(status: int, message: str) -> JSONResponse:
    return JSONResponse({"error": message}, status_code=status)


def parse_payload(content_type: str, body: bytes) -> dict | None:
    """The JSON document of a JSON or form-encoded (``payload=``) delivery, or None."""
    try:
        if content_type == "application/json":
            document = json.loads(body)
        else:
            fields = parse_qs(body.decode("utf-8"), strict_parsing=True)
            document = json.loads(fields["payload"][0])
    except (ValueError, KeyError, UnicodeDecodeError):
        return None
    return document if isinstance(document, dict) else None


def metrics_app(counters: Counters = COUNTERS) -> FastAPI:
    """``GET /metrics`` alone, for the receiver's separate metrics port.

    The public port is what GitHub (and, through the Ingress, anyone) reaches; the counters say
    how many deliveries were refused and why, which is nobody's business outside the cluster, so
    they are never served there (``janus webhook --metrics-port``)."""
    app = FastAPI(title="janus webhook metrics", docs_url=None, redoc_url=None, openapi_url=None)

    @app.get("/metrics")
    def metrics() -> PlainTextResponse:
        # Prometheus' text format, version 0.0.4 (what prometheus_client writes).
        return PlainTextResponse(counters.render(),
                                 media_type="text/plain; version=0.0.4; charset=utf-8")

    return app


@dataclass(frozen=True)
class _Delivery:
    """A delivery that passed every check on the raw request: signed, parsed, identified."""

    delivery_id: str
    event_name: str
    content_type: str
    body: bytes
    payload: dict


def _media_type(request: Request) -> str:
    """The Content-Type without parameters (``; charset=...``), lower-cased."""
    return request.headers.get("content-type", "").split(";")[0].strip().lower()


async def _read_body(request: Request, max_body: int) -> bytes | None:
    """The body, or None once it is known to exceed *max_body*.

    A declared Content-Length is checked first, so an oversized delivery is refused before a
    byte is read; the stream is still counted, since the header may be absent or lie."""
    declared = request.headers.get("content-length")
    if declared is not None and (not declared.isdigit() or int(declared) > max_body):
        return None
    body = b""
    async for chunk in request.stream():
        body += chunk
        if len(body) > max_body:
            return None
    return body


def _action(payload: dict) -> str | None:
    """The payload's ``action``, when it is a string (push events have none)."""
    return payload.get("action") if isinstance(payload.get("action"), str) else None


@dataclass(frozen=True)
class _Receiver:
    """``POST /webhooks/github``: check the raw request, then triage, then store.

    One method per stage, so the order in the module docstring can be read off ``receive``."""

    secret: bytes
    store: DeliveryStore
    on_stored: Callable[[], None]
    max_body: int
    counters: Counters
    commits: GroupCommit

    async def receive(self, request: Request) -> JSONResponse:
        checked = await self._check(request)
        if isinstance(checked, JSONResponse):
            return checked
        return await self._triage(checked)

    def _reject(self, status: int, reason: str, message: str, **fields: Any) -> JSONResponse:
        """Count, log and answer a refused delivery; nothing is stored."""
        self.counters.inc("webhook_deliveries_total", outcome=reason)
        event(log, "webhook.rejected", reason=reason, status=status, level=logging.WARNING,
              **fields)
        return _error(status, message)

    async def _check(self, request: Request) -> _Delivery | JSONResponse:
        """Size, content type and signature on the raw bytes; only then parse and identify."""
        body = await _read_body(request, self.max_body)
        if body is None:
            return self._reject(413, "too_large", "payload too large")
        content_type = _media_type(request)
        if content_type not in ("application/json", "application/x-www-form-urlencoded"):
            return self._reject(415, "content_type",
                                "only application/json or form-encoded payload=")
        delivery_id = request.headers.get("x-github-delivery", "")
        event_name = request.headers.get("x-github-event", "")
        if not signature_valid(self.secret, body, request.headers.get("x-hub-signature-256")):
            return self._reject(401, "bad_signature", "missing or invalid X-Hub-Signature-256",
                                delivery=delivery_id[:64], github_event=event_name[:64])
        payload = parse_payload(content_type, body)
        if payload is None:
            return self._reject(400, "malformed", "the body is not a JSON object")
        if not delivery_id or len(delivery_id) > 128 or not event_name:
            return self._reject(400, "headers",
                                "X-GitHub-Delivery and X-GitHub-Event are required")
        return _Delivery(delivery_id, event_name, content_type, body, payload)

    async def _triage(self, delivery: _Delivery) -> JSONResponse:
        """Answer pings, drop events Janus does not act on, refuse incomplete payloads."""
        if delivery.event_name == "ping":
            self.counters.inc("webhook_deliveries_total", outcome="ping")
            event(log, "webhook.ping", delivery=delivery.delivery_id,
                  hook_id=delivery.payload.get("hook_id"))
            return JSONResponse({"pong": True}, status_code=200)
        action = _action(delivery.payload)
        allowed = ALLOWED.get(delivery.event_name, frozenset())
        if allowed is not None and action not in allowed:
            self.counters.inc("webhook_deliveries_total", outcome="ignored")
            return JSONResponse({"ignored": f"{delivery.event_name}.{action}"}, status_code=202)
        problems = contract_errors(delivery.event_name, delivery.payload)
        if problems:
            return self._reject(400, "contract", "the payload lacks fields Janus reads: "
                                + "; ".join(problems[:5]), delivery=delivery.delivery_id)
        return await self._store(delivery, action)

    async def _store(self, delivery: _Delivery, action: str | None) -> JSONResponse:
        """Persist once per delivery id (GitHub redelivers), then wake the workers."""
        # Store the JSON document, not the raw body: form-encoded deliveries are unwrapped once.
        document = (delivery.body if delivery.content_type == "application/json"
                    else json.dumps(delivery.payload).encode())
        # Committed before the 202, together with whatever else arrived meanwhile.
        fresh = await self.commits.add((delivery.delivery_id, delivery.event_name, action,
                                        document))
        # The counter and the log line follow the answer (a background task of the response,
        # run once the 202 is sent): under a burst they are not the sender's wait.
        if not fresh:
            self.counters.inc("webhook_deliveries_total", outcome="duplicate")
            return JSONResponse({"duplicate": delivery.delivery_id}, status_code=202,
                                background=BackgroundTask(
                                    _log_after, "webhook.duplicate",
                                    delivery=delivery.delivery_id,
                                    github_event=delivery.event_name))
        self.counters.inc("webhook_deliveries_total", outcome="accepted")
        self.on_stored()
        return JSONResponse({"accepted": delivery.delivery_id}, status_code=202,
                            background=BackgroundTask(
                                _log_after, "webhook.accepted", delivery=delivery.delivery_id,
                                github_event=delivery.event_name, action=action))

    async def asgi(self, scope: Scope, receive: Receive, send: Send) -> None:
        """``POST /webhooks/github`` as a plain ASGI handler: the same checks and answers as
        through FastAPI's routing, without its middleware, routing and dependency layers on
        the hot path. An exception is answered 500 and raised again, as Starlette's
        ``ServerErrorMiddleware`` does (uvicorn logs it)."""
        try:
            response = await self.receive(Request(scope, receive))
        except Exception:
            await PlainTextResponse("Internal Server Error", status_code=500)(scope, receive,
                                                                               send)
            raise
        await response(scope, receive, send)


async def _log_after(name: str, **fields: Any) -> None:
    """A log line written after the answer (async: a sync task would go to the threadpool)."""
    event(log, name, **fields)


class _ReceiverApp(FastAPI):
    """The receiver's FastAPI app, with ``POST /webhooks/github`` answered before FastAPI's
    stack: measured under a 1,000-delivery burst, the middleware, routing and dependency
    machinery cost about as much CPU per delivery as the checks themselves (docs/development.md,
    webhook ack under a burst). Everything else (probes, 404, 405) is FastAPI's."""

    receiver: _Receiver | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if (self.receiver is not None and scope["type"] == "http"
                and scope["method"] == "POST" and scope["path"] == WEBHOOK_PATH
                and not scope.get("root_path")):
            await self.receiver.asgi(scope, receive, send)
            return
        await super().__call__(scope, receive, send)


def _add_probes(app: FastAPI, checks: Mapping[str, readiness.Check],
                detail: Callable[[], dict[str, Any]] | None = None) -> None:
    """``/healthz`` (the process answers) and ``/readyz`` (its dependencies do too; *detail*
    adds what does not make the receiver unready, e.g. a GitHub rate limit: deliveries must
    still be accepted while it lasts)."""

    @app.get("/healthz")
    def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/readyz")
    def readyz() -> JSONResponse:
        status, body = readiness.answer(checks)
        if detail is not None:
            body["github"] = detail()
        return JSONResponse(body, status_code=status)


def create_app(
    secret: bytes,
    store: DeliveryStore,
    *,
    on_stored: Callable[[], None] = lambda: None,
    max_body: int = DEFAULT_MAX_BODY,
    counters: Counters = COUNTERS,
    ready_checks: Mapping[str, readiness.Check] | None = None,
    ready_detail: Callable[[], dict[str, Any]] | None = None,
) -> FastAPI:
    """The receiver's public app. *on_stored* wakes the workers after a new delivery was
    committed. It serves no ``/metrics``: those are on ``metrics_app``'s own port.

    ``/healthz`` (liveness) only says the process answers; ``/readyz`` also queries the delivery
    database and runs *ready_checks* (the runtime adds the central API server)."""
    if not secret:
        raise ValueError("a webhook secret is required")
    app = _ReceiverApp(title="janus webhook receiver", docs_url=None, redoc_url=None,
                       openapi_url=None)
    _add_probes(app, {"database": store.ping, **(ready_checks or {})}, ready_detail)
    for name in ALLOWED:  # built now, not inside the first delivery of a burst
        compiled(name)
    receiver = _Receiver(secret, store, on_stored, max_body, counters,
                         GroupCommit(store.add_many))

    # Served by _ReceiverApp.__call__ (receiver.asgi); the route stays for what FastAPI
    # answers about the path itself (405 to another method) and as the fallback.
    @app.post(WEBHOOK_PATH)
    async def receive(request: Request) -> JSONResponse:
        return await receiver.receive(request)

    app.receiver = receiver
    return app
