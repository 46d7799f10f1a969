"""Sending one payload to one channel. Each sender raises :class:`SendFailed` on any failure
(connection refused, a timeout, a 4xx/5xx answer); the outbox retries it with backoff.

Slack goes through slack_sdk's WebhookClient (the maintained client: it handles Slack's
incoming-webhook answers); Teams and the generic webhook are one JSON POST each (httpx), the
generic one signed; e-mail is smtplib (STARTTLS when configured).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import smtplib
import ssl
import time
from typing import Any

import httpx
from slack_sdk.webhook import WebhookClient

from janus.notify import render
from janus.notify.config import Channel

SIGNATURE_HEADER = "X-Janus-Signature"
TIMESTAMP_HEADER = "X-Janus-Timestamp"
EVENT_HEADER = "X-Janus-Event"


# slack_sdk logs each request's URL at DEBUG; an incoming-webhook URL is a secret, so its
# client gets a logger of ours that never goes below WARNING, whatever the root level.
_SLACK_LOG = logging.getLogger("janus.notify.slack")
_SLACK_LOG.setLevel(logging.WARNING)


class SendFailed(Exception):
    """A delivery attempt failed; the message says why (no URL: a Slack/Teams URL is a secret)."""


def sign(secret: bytes, timestamp: int, body: bytes) -> str:
    """``sha256=<hex>`` of HMAC-SHA256 over ``"<timestamp>.<body>"``: the timestamp is signed
    too, so a receiver that refuses old timestamps is safe from a replayed delivery."""
    mac = hmac.new(secret, f"{timestamp}.".encode() + body, hashlib.sha256)
    return f"sha256={mac.hexdigest()}"


def verify(secret: bytes, timestamp: str, body: bytes, signature: str,
           *, now: float | None = None, tolerance: float = 300.0) -> bool:
    """What a receiver does (and the tests do): a fresh timestamp and a matching signature."""
    try:
        ts = int(timestamp)
    except ValueError:
        return False
    if abs((now if now is not None else time.time()) - ts) > tolerance:
        return False
    return hmac.compare_digest(sign(secret, ts, body), signature)


def _post_json(channel: Channel, body: bytes, headers: dict[str, str]) -> None:
    try:
        response = httpx.post(channel.url, content=body, timeout=channel.timeout,
                              headers={"Content-Type": "application/json", **headers})
    except httpx.HTTPError as exc:
        raise SendFailed(f"{channel.type} {channel.name}: {type(exc).__name__}") from None
    if response.status_code >= 300:
        raise SendFailed(f"{channel.type} {channel.name}: HTTP {response.status_code}")


def send_slack(channel: Channel, payload: dict[str, Any]) -> None:
    message = render.slack(payload)
    client = WebhookClient(channel.url, timeout=int(max(1, channel.timeout)), logger=_SLACK_LOG)
    try:
        response = client.send(text=message["text"], blocks=message["blocks"])
    except OSError as exc:  # urllib's URLError (connection refused, DNS) is an OSError
        raise SendFailed(f"slack {channel.name}: {type(exc).__name__}") from None
    if response.status_code != 200:
        raise SendFailed(f"slack {channel.name}: HTTP {response.status_code}")


def send_teams(channel: Channel, payload: dict[str, Any]) -> None:
    _post_json(channel, json.dumps(render.teams(payload)).encode(), {})


def send_webhook(channel: Channel, payload: dict[str, Any], *, now: float | None = None) -> None:
    body = json.dumps(payload, sort_keys=True).encode()
    ts = int(now if now is not None else time.time())
    _post_json(channel, body, {TIMESTAMP_HEADER: str(ts),
                               SIGNATURE_HEADER: sign(channel.secret, ts, body),
                               EVENT_HEADER: payload["id"]})


def email_recipients(channel: Channel, payload: dict[str, Any]) -> list[str]:
    """The channel's fixed ``to`` plus the mapped addresses of the event's audience."""
    out = list(channel.to)
    for who in payload["audience"]:
        address = channel.addresses.get(who.lower())
        if address and address not in out:
            out.append(address)
    return out


def send_email(channel: Channel, payload: dict[str, Any]) -> None:
    to = email_recipients(channel, payload)
    if not to:
        return  # nobody on this channel is concerned (no address for the audience)
    message = render.email(payload, channel.sender, to)
    try:
        with smtplib.SMTP(channel.smtp_host, channel.smtp_port, timeout=channel.timeout) as smtp:
            if channel.starttls:  # certificate and host name verified (never unverified TLS)
                smtp.starttls(context=ssl.create_default_context(cafile=channel.ca_file or None))
            if channel.username:
                smtp.login(channel.username, channel.password)
            smtp.send_message(message)
    except (OSError, smtplib.SMTPException) as exc:
        raise SendFailed(f"email {channel.name}: {type(exc).__name__}") from None


SENDERS = {"slack": send_slack, "teams": send_teams, "webhook": send_webhook,
           "email": send_email}


def send(channel: Channel, payload: dict[str, Any]) -> None:
    SENDERS[channel.type](channel, payload)
