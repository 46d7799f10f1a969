"""The FastAPI app: check, persist, acknowledge. No GitHub or Kubernetes call happens here.

Order matters: size limit and content type are checked on the raw bytes, then the signature over
those same bytes; only a signed body is parsed, and only an allow-listed event is stored. A bad
or missing signature gets 401 and leaves no trace but a log line and a counter.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Mapping
from typing import Any
from urllib.parse import parse_qs

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, PlainTextResponse
from starlette.concurrency import run_in_threadpool

from janus.gitops.metrics import COUNTERS, Counters
from janus.logs import event
from janus.resource import readiness
from janus.webhook.contract import contract_errors
from janus.webhook.signature import signature_valid
from janus.webhook.store import DeliveryStore

log = logging.getLogger("janus.webhook")

# Janus's request PRs are a few KiB; GitHub itself caps payloads at 25 MB.
DEFAULT_MAX_BODY = 1024 * 1024

# Events and actions Janus acts on (None: every action). Everything else is acknowledged and
# dropped, since new actions appear over time and must not be mistaken for known ones.
ALLOWED: dict[str, frozenset[str] | None] = {
    "pull_request": frozenset({"opened", "synchronize", "reopened", "edited", "closed"}),
    "issue_comment": frozenset({"created"}),
    # Notifications only (changes requested → the requester is told); the review is re-read.
    "pull_request_review": frozenset({"submitted"}),
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


def create_app(
    secret: bytes,
    store: DeliveryStore,
    *,
    on_stored: Callable[[], None] = lambda: None,
    max_body: int = DEFAULT_MAX_BODY,
    counters: Counters = COUNTERS,
    ready_checks: Mapping[str, readiness.Check] | None = None,
) -> FastAPI:
    """The receiver's public app. *on_stored* wakes the workers after a new delivery was
    committed. It serves no ``/metrics``: those are on ``metrics_app``'s own port.

    ``/healthz`` (liveness) only says the process answers; ``/readyz`` also queries the delivery
    database and runs *ready_checks* (the runtime adds the central API server)."""
    if not secret:
        raise ValueError("a webhook secret is required")
    app = FastAPI(title="janus webhook receiver", docs_url=None, redoc_url=None, openapi_url=None)

    def reject(status: int, reason: str, message: str, **fields: Any) -> JSONResponse:
        counters.inc("webhook_deliveries_total", outcome=reason)
        event(log, "webhook.rejected", reason=reason, status=status, level=logging.WARNING,
              **fields)
        return _error(status, message)

    @app.get("/healthz")
    def healthz() -> dict[str, str]:
        return {"status": "ok"}

    checks: dict[str, readiness.Check] = {"database": store.ping, **(ready_checks or {})}

    @app.get("/readyz")
    def readyz() -> JSONResponse:
        status, body = readiness.answer(checks)
        return JSONResponse(body, status_code=status)

    @app.post("/webhooks/github")
    async def receive(request: Request) -> JSONResponse:
        declared = request.headers.get("content-length")
        if declared is not None and (not declared.isdigit() or int(declared) > max_body):
            return reject(413, "too_large", "payload too large")
        body = b""
        async for chunk in request.stream():
            body += chunk
            if len(body) > max_body:
                return reject(413, "too_large", "payload too large")
        content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
        if content_type not in ("application/json", "application/x-www-form-urlencoded"):
            return reject(415, "content_type", "only application/json or form-encoded payload=")
        delivery_id = request.headers.get("x-github-delivery", "")
        event_name = request.headers.get("x-github-event", "")
        if not signature_valid(secret, body, request.headers.get("x-hub-signature-256")):
            return reject(401, "bad_signature", "missing or invalid X-Hub-Signature-256",
                          delivery=delivery_id[:64], github_event=event_name[:64])
        payload = parse_payload(content_type, body)
        if payload is None:
            return reject(400, "malformed", "the body is not a JSON object")
        if not delivery_id or len(delivery_id) > 128 or not event_name:
            return reject(400, "headers", "X-GitHub-Delivery and X-GitHub-Event are required")
        if event_name == "ping":
            counters.inc("webhook_deliveries_total", outcome="ping")
            event(log, "webhook.ping", delivery=delivery_id, hook_id=payload.get("hook_id"))
            return JSONResponse({"pong": True}, status_code=200)
        action = payload.get("action") if isinstance(payload.get("action"), str) else None
        allowed = ALLOWED.get(event_name, frozenset())
        if allowed is not None and action not in allowed:
            counters.inc("webhook_deliveries_total", outcome="ignored")
            return JSONResponse({"ignored": f"{event_name}.{action}"}, status_code=202)
        problems = contract_errors(event_name, payload)
        if problems:
            return reject(400, "contract", "the payload lacks fields Janus reads: "
                          + "; ".join(problems[:5]), delivery=delivery_id)
        # Store the JSON document, not the raw body: form-encoded deliveries are unwrapped once.
        document = body if content_type == "application/json" else json.dumps(payload).encode()
        fresh = await run_in_threadpool(store.add, delivery_id, event_name, action, document)
        if not fresh:
            counters.inc("webhook_deliveries_total", outcome="duplicate")
            event(log, "webhook.duplicate", delivery=delivery_id, github_event=event_name)
            return JSONResponse({"duplicate": delivery_id}, status_code=202)
        counters.inc("webhook_deliveries_total", outcome="accepted")
        event(log, "webhook.accepted", delivery=delivery_id, github_event=event_name,
              action=action)
        on_stored()
        return JSONResponse({"accepted": delivery_id}, status_code=202)

    return app
