"""The notifications file (``janus webhook --notifications FILE``): channels, routes, links and
the expiring-soon lead time. A file of its own, not a section of the JanusConfig: that spec is
strict and shared with the controller and the web app, while only the receiver sends, and the
channel secrets (webhook URLs, SMTP password, HMAC key) are read from files next to it
(mounted Secrets), never written in it.

Strict like the rest of Janus: an unknown key, channel type or event name is a ConfigError at
start-up, not a message silently never sent.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Set
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from janus.errors import ConfigError
from janus.model.durations import parse_duration
from janus.notify.events import Event, EventKind

KIND = "NotificationConfig"
CHANNEL_TYPES = ("slack", "teams", "email", "webhook")
DEFAULT_LEAD = dt.timedelta(minutes=15)


@dataclass(frozen=True)
class Channel:
    """One destination. ``url``: Slack/Teams incoming-webhook URL or the generic webhook's URL
    (a secret for Slack and Teams: read from ``urlFile``)."""

    name: str
    type: str
    url: str = ""
    secret: bytes = b""                      # webhook: the HMAC key
    smtp_host: str = ""
    smtp_port: int = 25
    starttls: bool = False
    ca_file: str = ""                        # STARTTLS: trust this CA (default: the system's)
    username: str = ""
    password: str = ""
    sender: str = ""                         # email From:
    to: tuple[str, ...] = ()                 # email: always these
    addresses: Mapping[str, str] = field(default_factory=dict)  # login/team -> e-mail
    timeout: float = 10.0


@dataclass(frozen=True)
class Match:
    """Empty fields match anything; a list matches an event whose value is in it."""

    clusters: frozenset[str] = frozenset()
    namespaces: frozenset[str] = frozenset()
    policies: frozenset[str] = frozenset()
    events: frozenset[EventKind] = frozenset()

    def matches(self, event: Event) -> bool:
        # An event that does not know its policy (an expiry seen on the CR) does not match a
        # route restricted to policies; cluster and namespace are known for every request event.
        return ((not self.clusters or event.cluster in self.clusters)
                and (not self.namespaces or event.namespace in self.namespaces)
                and (not self.policies or (event.policy or "") in self.policies)
                and (not self.events or event.kind in self.events))


@dataclass(frozen=True)
class Route:
    match: Match
    channels: tuple[str, ...]


@dataclass(frozen=True)
class NotifyConfig:
    channels: Mapping[str, Channel]
    routes: tuple[Route, ...]
    expiring_soon: dt.timedelta = DEFAULT_LEAD
    github_url: str = "https://github.com"
    web_url: str = ""
    # Terminal events (expired, revoked) older than this when first seen (a first start on a
    # cluster with history) are recorded, not sent.
    fresh_for: dt.timedelta = dt.timedelta(hours=1)


def _strict(where: str, data: object, allowed: Set[str], required: Set[str] = frozenset()
            ) -> Mapping[str, Any]:
    if not isinstance(data, Mapping):
        raise ConfigError(f"{where}: must be a mapping")
    unknown = sorted(set(map(str, data)) - allowed)
    if unknown:
        raise ConfigError(f"{where}: unknown key(s) {', '.join(unknown)}")
    missing = sorted(required - set(data))
    if missing:
        raise ConfigError(f"{where}: missing {', '.join(missing)}")
    return data


def _strings(where: str, value: object) -> tuple[str, ...]:
    if value is None:
        return ()
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ConfigError(f"{where}: must be a list of strings")
    return tuple(value)


def _secret(where: str, data: Mapping[str, Any], key: str, base: Path) -> str:
    """``key`` inline, or ``keyFile`` (relative to the notifications file): a mounted Secret."""
    inline, path = data.get(key), data.get(f"{key}File")
    if inline is not None and path is not None:
        raise ConfigError(f"{where}: give {key} or {key}File, not both")
    if path is not None:
        try:
            return (base / str(path)).read_text().strip()
        except OSError as exc:
            raise ConfigError(f"{where}: {key}File {path}: {exc.strerror}") from None
    return "" if inline is None else str(inline)


_CHANNEL_KEYS = {
    "slack": {"url", "urlFile"},
    "teams": {"url", "urlFile"},
    "webhook": {"url", "urlFile", "secret", "secretFile"},
    "email": {"smtp", "from", "to", "addresses"},
}
_SMTP_KEYS = {"host", "port", "starttls", "caFile", "username", "usernameFile", "password",
              "passwordFile"}


def _channel(index: int, data: object, base: Path) -> Channel:
    where = f"channels[{index}]"
    head = _strict(where, data, {"name", "type", "timeout", *set().union(*_CHANNEL_KEYS.values())},
                   {"name", "type"})
    kind = head["type"]
    if kind not in CHANNEL_TYPES:
        raise ConfigError(f"{where}: type must be one of {', '.join(CHANNEL_TYPES)}")
    _strict(where, head, {"name", "type", "timeout", *_CHANNEL_KEYS[kind]})
    name, timeout = str(head["name"]), float(head.get("timeout", 10.0))
    if kind in ("slack", "teams", "webhook"):
        url = _secret(where, head, "url", base)
        if not url.startswith(("https://", "http://")):
            raise ConfigError(f"{where}: url (or urlFile) must be an http(s) URL")
        secret = _secret(where, head, "secret", base).encode() if kind == "webhook" else b""
        if kind == "webhook" and len(secret) < 16:
            raise ConfigError(f"{where}: a webhook channel needs a secret of 16 bytes or more")
        return Channel(name, kind, url=url, secret=secret, timeout=timeout)
    smtp = _strict(f"{where}.smtp", head.get("smtp"), _SMTP_KEYS, {"host"})
    sender = head.get("from")
    if not isinstance(sender, str) or "@" not in sender:
        raise ConfigError(f"{where}: from must be an e-mail address")
    addresses = head.get("addresses") or {}
    if not isinstance(addresses, Mapping):
        raise ConfigError(f"{where}.addresses: must map GitHub logins or org/team to addresses")
    return Channel(
        name, kind, smtp_host=str(smtp["host"]), smtp_port=int(smtp.get("port", 25)),
        starttls=bool(smtp.get("starttls", False)),
        ca_file=str(base / str(smtp["caFile"])) if smtp.get("caFile") else "",
        username=_secret(f"{where}.smtp", smtp, "username", base),
        password=_secret(f"{where}.smtp", smtp, "password", base),
        sender=sender, to=_strings(f"{where}.to", head.get("to")),
        addresses={str(k).lower(): str(v) for k, v in addresses.items()}, timeout=timeout)


def _route(index: int, data: object, channels: Mapping[str, Channel]) -> Route:
    where = f"routes[{index}]"
    head = _strict(where, data, {"match", "channels"}, {"channels"})
    match = _strict(f"{where}.match", head.get("match") or {},
                    {"clusters", "namespaces", "policies", "events"})
    targets = _strings(f"{where}.channels", head["channels"])
    for target in targets:
        if target not in channels:
            raise ConfigError(f"{where}: no channel named {target}")
    kinds = _strings(f"{where}.match.events", match.get("events"))
    known = {str(k) for k in EventKind}
    for kind in kinds:
        if kind not in known:
            raise ConfigError(f"{where}.match.events: unknown event {kind}")
    return Route(Match(
        clusters=frozenset(_strings(f"{where}.match.clusters", match.get("clusters"))),
        namespaces=frozenset(_strings(f"{where}.match.namespaces", match.get("namespaces"))),
        policies=frozenset(_strings(f"{where}.match.policies", match.get("policies"))),
        events=frozenset(EventKind(k) for k in kinds)), targets)


def parse_config(data: object, base: Path = Path(".")) -> NotifyConfig:
    head = _strict("notifications", data, {"apiVersion", "kind", "links", "expiringSoon",
                                           "freshFor", "channels", "routes"},
                   {"kind", "channels", "routes"})
    if head["kind"] != KIND:
        raise ConfigError(f"notifications: kind must be {KIND}")
    links = _strict("links", head.get("links") or {}, {"github", "web"})
    raw_channels = head["channels"] if isinstance(head["channels"], list) else None
    if raw_channels is None:
        raise ConfigError("channels: must be a list")
    channels: dict[str, Channel] = {}
    for i, item in enumerate(raw_channels):
        channel = _channel(i, item, base)
        if channel.name in channels:
            raise ConfigError(f"channels[{i}]: duplicate name {channel.name}")
        channels[channel.name] = channel
    if not isinstance(head["routes"], list):
        raise ConfigError("routes: must be a list")
    try:
        lead = parse_duration(str(head.get("expiringSoon", "15m")))
        fresh = parse_duration(str(head.get("freshFor", "1h")))
    except ValueError as exc:
        raise ConfigError(f"notifications: {exc}") from None
    return NotifyConfig(
        channels=channels,
        routes=tuple(_route(i, r, channels) for i, r in enumerate(head["routes"])),
        expiring_soon=lead, fresh_for=fresh,
        github_url=str(links.get("github", "https://github.com")).rstrip("/"),
        web_url=str(links.get("web", "")).rstrip("/"))


def load_config(path: Path) -> NotifyConfig:
    try:
        data = yaml.safe_load(path.read_text())
    except OSError as exc:
        raise ConfigError(f"{path}: {exc.strerror}") from None
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path}: not YAML: {exc}") from None
    return parse_config(data, path.parent)


def route(config: NotifyConfig, event: Event) -> tuple[str, ...]:
    """The channels *event* goes to: the union of every matching route's, in file order."""
    out: list[str] = []
    for r in config.routes:
        if r.match.matches(event):
            out.extend(c for c in r.channels if c not in out)
    return tuple(out)
