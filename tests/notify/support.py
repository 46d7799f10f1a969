"""Shared pieces of the notification tests: a configuration for loopback receivers and sample
events and AccessRequests."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

from janus.notify import Event, EventKind, parse_config
from janus.notify.config import NotifyConfig
from janus.resource import AccessRequestView

SECRET = "a-webhook-secret-of-32-characters"
T0 = dt.datetime(2026, 11, 30, 2, 0, tzinfo=dt.UTC)


def config(tmp_path: Path, *, slack: str | None = None, teams: str | None = None,
           webhook: str | None = None, smtp_port: int | None = None,
           routes: list[dict[str, Any]] | None = None, **extra: Any) -> NotifyConfig:
    channels: list[dict[str, Any]] = []
    if slack:
        (tmp_path / "slack-url").write_text(slack + "\n")
        channels.append({"name": "slack", "type": "slack", "urlFile": "slack-url",
                         "timeout": 2})
    if teams:
        channels.append({"name": "teams", "type": "teams", "url": teams, "timeout": 2})
    if webhook:
        (tmp_path / "hook-secret").write_text(SECRET)
        channels.append({"name": "hook", "type": "webhook", "url": webhook,
                         "secretFile": "hook-secret", "timeout": 2})
    if smtp_port:
        channels.append({"name": "mail", "type": "email", "timeout": 2,
                         "smtp": {"host": "127.0.0.1", "port": smtp_port},
                         "from": "janus@example.com", "to": ["security@example.com"],
                         "addresses": {"alice": "alice@example.com",
                                       "acme/payments-leads": "leads@example.com"}})
    data = {"apiVersion": "janus.dev/v1alpha1", "kind": "NotificationConfig",
            "links": {"github": "https://github.example", "web": "https://janus.example"},
            "channels": channels,
            "routes": routes if routes is not None else [{"channels": [c["name"]
                                                                        for c in channels]}],
            **extra}
    return parse_config(data, tmp_path)


def sample_event(kind: EventKind = EventKind.REQUEST_OPENED, **fields: Any) -> Event:
    base: dict[str, Any] = dict(
        id=f"test:{kind}", kind=kind, occurred_at=T0, request="prod-payments-alice-1",
        requester="alice", cluster="prod", namespace="payments", role="debug",
        duration="2h", reason="INC-1 payments stuck", ticket="INC-1", policy="payments-prod",
        audience=("acme/payments-leads", "bob"), actor="alice", pull_request=7,
        links={"pull": "https://github.example/acme/access/pull/7",
               "request": "https://janus.example/requests/pr/7"})
    base.update(fields)
    return Event(**base)


def cr(phase: str = "Active", *, uid: str = "uid-1", expires: str = "2026-11-30T04:00:00Z",
       granted: str = "2026-11-30T02:00:00Z", **status: Any) -> AccessRequestView:
    return AccessRequestView.from_cr({
        "metadata": {"name": "prod-payments-alice-1", "namespace": "janus", "uid": uid},
        "spec": {"requester": "alice", "cluster": "prod", "namespace": "payments",
                 "role": "debug", "duration": "2h", "reason": "INC-1 payments stuck",
                 "ticket": "INC-1",
                 "provenance": {"repo": "acme/access", "pullRequest": 7, "approvers": ["bob"],
                                "mergedBy": "root", "mergedAt": "2026-11-30T01:59:00Z"}},
        "status": {"phase": phase, "grantedAt": granted, "expiresAt": expires,
                   "objects": {"tokenSecret": "janus-token-prod-payments-alice-1"}, **status},
    })
