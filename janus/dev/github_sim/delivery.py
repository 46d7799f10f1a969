"""Webhook delivery: signing, sending, and the faults tests need (hold, drop, duplicate, reorder).

Like GitHub, a delivery is one HTTP POST with ``X-GitHub-Event``, ``X-GitHub-Delivery`` (a GUID
that a *redelivery* keeps), ``X-GitHub-Hook-ID``, ``X-Hub-Signature-256`` over the raw body, and
``User-Agent: GitHub-Hookshot/…``. GitHub never retries a failed delivery by itself; neither
does this. Every attempt is logged with its status code, duration and response body.

Modes (:meth:`Deliverer.set_mode`):

* ``"sync"`` (default): sent before the API response that caused them returns, in order, so a
  test sees the receiver's effect right after the PyGithub call;
* ``"background"``: a worker thread sends them, like the real thing (use :meth:`wait_idle`);
* ``"hold"``: kept until :meth:`release_held` (optionally in another order, or a subset).

Faults: :meth:`drop_next` (recorded, never sent) and :meth:`duplicate_next` (sent twice with
the same GUID).
"""

from __future__ import annotations

import json
import logging
import queue
import threading
import time
import uuid
from dataclasses import dataclass, field
from typing import Any

import httpx

from janus.logs import event as log_event

from .signature import sign_sha1, sign_sha256
from .world import Outgoing, World, now_iso

log = logging.getLogger("janus.dev.github_sim")
HOOKSHOT = "GitHub-Hookshot/5c4e2a1"
TIMEOUT = 10.0  # GitHub gives receivers 10 seconds


@dataclass
class Attempt:
    at: str
    status_code: int | None
    duration: float
    response_body: str
    error: str | None = None


@dataclass
class Delivery:
    id: int
    guid: str
    hook_id: int
    repo: str
    repository_id: int
    event: str
    action: str | None
    url: str
    headers: dict[str, str]
    body: bytes
    redelivery: bool = False
    app_id: int | None = None  # a GitHub App's webhook rather than a repository hook
    installation_id: int | None = None
    state: str = "pending"  # pending | held | dropped | delivered | failed
    attempts: list[Attempt] = field(default_factory=list)
    created_at: str = field(default_factory=now_iso)

    @property
    def payload(self) -> dict[str, Any]:
        return json.loads(self.body)

    @property
    def status_code(self) -> int | None:
        return self.attempts[-1].status_code if self.attempts else None

    def summary(self) -> dict[str, Any]:
        """The REST ``hook-delivery-item`` shape."""
        last = self.attempts[-1] if self.attempts else None
        return {
            "id": self.id, "guid": self.guid, "delivered_at": last.at if last else
            self.created_at, "redelivery": self.redelivery,
            "duration": round(last.duration, 3) if last else 0.0,
            "status": _status_text(last), "status_code": (last.status_code or 0) if last else 0,
            "event": self.event, "action": self.action,
            "installation_id": self.installation_id,
            "repository_id": self.repository_id, "throttled_at": None,
        }

    def detail(self) -> dict[str, Any]:
        """The REST ``hook-delivery`` shape (request and response included)."""
        last = self.attempts[-1] if self.attempts else None
        return self.summary() | {
            "url": self.url,
            "request": {"headers": dict(self.headers), "payload": self.payload},
            "response": {"headers": {}, "payload": last.response_body if last else None},
        }


def _status_text(attempt: Attempt | None) -> str:
    if attempt is None:
        return "pending"
    if attempt.error:
        return attempt.error
    return "OK" if attempt.status_code and 200 <= attempt.status_code < 300 else (
        f"Invalid HTTP Response: {attempt.status_code}")


class Deliverer:
    def __init__(self, world: World) -> None:
        self.world = world
        self._lock = threading.Lock()
        self._pump_lock = threading.Lock()
        self._log: list[Delivery] = []
        self._held: list[Delivery] = []
        self._mode = "sync"
        self._drop: list[list[Any]] = []  # [event or None, remaining count]
        self._dup: list[list[Any]] = []
        self._queue: queue.Queue[Delivery | None] = queue.Queue()
        self._busy = 0
        self._idle = threading.Condition(self._lock)
        self._worker: threading.Thread | None = None
        self._client = httpx.Client(timeout=TIMEOUT)

    # -- configuration --------------------------------------------------------------------------

    def set_mode(self, mode: str) -> None:
        if mode not in ("sync", "background", "hold"):
            raise ValueError(f"unknown delivery mode {mode!r}")
        with self._lock:
            self._mode = mode
            if mode == "background" and self._worker is None:
                self._worker = threading.Thread(target=self._run, name="github-sim-hooks",
                                                daemon=True)
                self._worker.start()

    def drop_next(self, count: int = 1, event: str | None = None) -> None:
        with self._lock:
            self._drop.append([event, count])

    def duplicate_next(self, count: int = 1, event: str | None = None) -> None:
        with self._lock:
            self._dup.append([event, count])

    def clear_faults(self) -> None:
        """Forget the drop/duplicate rules not used up yet (a simulator shared by several tests
        must not drop the next test's deliveries)."""
        with self._lock:
            self._drop.clear()
            self._dup.clear()

    def log(self) -> list[Delivery]:
        with self._lock:
            return list(self._log)

    def held(self) -> list[Delivery]:
        with self._lock:
            return list(self._held)

    # -- intake ---------------------------------------------------------------------------------

    def pump(self) -> None:
        """Turn the world's queued events into deliveries and dispatch them per mode."""
        # Requests run on several threads: taking the events, logging them and queueing them
        # happen under one lock, so the log and the background queue keep the order in which
        # the events happened even when two requests pump at once. Synchronous sends happen
        # after it (a receiver may call back into the simulator, which pumps again).
        now: list[Delivery] = []
        with self._pump_lock:
            for item in self.world.take_outbox():
                try:
                    now += self._dispatch(self._make(item))
                except Exception:  # one broken event must not stop the others or the answer
                    log.exception("github_sim: could not deliver %s to hook %s", item.event,
                                  item.hook_id)
        for delivery in now:
            try:
                self.send(delivery)
            except Exception:
                log.exception("github_sim: could not deliver %s", delivery.guid)

    def _make(self, item: Outgoing) -> Delivery:
        with self.world.lock:
            repo = self.world.repo(item.repo)
            if item.app_id is not None:
                hook = self.world.apps[item.app_id].hook
                target = ("integration", item.app_id)
            else:
                hook = repo.hooks[item.hook_id]
                target = ("repository", repo.id)
            assert hook is not None
            body = json.dumps(item.payload, separators=(",", ":")).encode()
            guid = str(uuid.uuid4())
            headers = {
                "Content-Type": "application/json", "User-Agent": HOOKSHOT,
                "X-GitHub-Event": item.event, "X-GitHub-Delivery": guid,
                "X-GitHub-Hook-ID": str(hook.id),
                "X-GitHub-Hook-Installation-Target-Type": target[0],
                "X-GitHub-Hook-Installation-Target-ID": str(target[1]),
            }
            if hook.secret:
                headers["X-Hub-Signature"] = sign_sha1(hook.secret, body)
                headers["X-Hub-Signature-256"] = sign_sha256(hook.secret, body)
            delivery = Delivery(
                id=self.world.next_id(), guid=guid, hook_id=hook.id, repo=repo.full_name,
                repository_id=repo.id, event=item.event, action=item.payload.get("action"),
                url=hook.url, headers=headers, body=body, app_id=item.app_id,
                installation_id=(item.payload.get("installation") or {}).get("id"),
            )
        with self._lock:
            self._log.append(delivery)
        return delivery

    def _take_rule(self, rules: list[list[Any]], event: str) -> bool:
        for rule in rules:
            if rule[0] in (None, event) and rule[1] > 0:
                rule[1] -= 1
                if rule[1] == 0:
                    rules.remove(rule)
                return True
        return False

    def _dispatch(self, delivery: Delivery) -> list[Delivery]:
        """Drop, hold or queue *delivery* per the rules and mode; returns what the caller
        sends now (``sync`` mode)."""
        with self._lock:
            if self._take_rule(self._drop, delivery.event):
                delivery.state = "dropped"
                log_event(log, "github_sim.delivery.dropped", guid=delivery.guid,
                          hook_event=delivery.event)
                return []
            copies = 2 if self._take_rule(self._dup, delivery.event) else 1
            mode = self._mode
            if mode == "hold":
                delivery.state = "held"
                self._held.extend([delivery] * copies)
                return []
            if mode == "sync":
                return [delivery] * copies
            self._busy += copies
        for _ in range(copies):
            self._queue.put(delivery)
        return []

    def release_held(self, order: str | list[str] = "fifo") -> list[Delivery]:
        """Send held deliveries: ``"fifo"``, ``"reverse"``, or a list of GUIDs (only those)."""
        with self._lock:
            held = list(self._held)
            if order == "reverse":
                chosen = list(reversed(held))
            elif order == "fifo":
                chosen = held
            else:
                by_guid = {d.guid: d for d in held}
                chosen = [by_guid[g] for g in order]
            for d in chosen:
                if d in self._held:
                    self._held.remove(d)
        for d in chosen:
            self.send(d)
        return chosen

    def redeliver(self, delivery: str | int) -> Delivery:
        """Send an earlier delivery again: same GUID and body, a new delivery id, like GitHub.

        *delivery* is its GUID (``X-GitHub-Delivery``) or its numeric id (the REST ``id``).
        """
        with self._lock:
            original = next((d for d in reversed(self._log)
                             if d.guid == delivery or d.id == delivery), None)
        if original is None:
            raise KeyError(delivery)
        copy = self._redelivery_of(original)
        self.send(copy)
        return copy

    def schedule_redelivery(self, original: Delivery) -> None:
        # Called from the REST handler under the world lock: send it after the response.
        copy = self._redelivery_of(original)
        threading.Thread(target=self.send, args=(copy,), daemon=True).start()

    def _redelivery_of(self, original: Delivery) -> Delivery:
        copy = Delivery(
            id=self.world.next_id(), guid=original.guid, hook_id=original.hook_id,
            repo=original.repo, repository_id=original.repository_id, event=original.event,
            action=original.action, url=original.url, headers=dict(original.headers),
            body=original.body, redelivery=True, app_id=original.app_id,
            installation_id=original.installation_id,
        )
        with self._lock:
            self._log.append(copy)
        return copy

    # -- sending --------------------------------------------------------------------------------

    def send(self, delivery: Delivery) -> Attempt:
        started = time.monotonic()
        try:
            resp = self._client.post(delivery.url, content=delivery.body,
                                     headers=delivery.headers)
            attempt = Attempt(now_iso(), resp.status_code, time.monotonic() - started,
                              resp.text[:4096])
        except httpx.HTTPError as exc:
            reason = "timed out" if isinstance(exc, httpx.TimeoutException) else "failed to connect"
            attempt = Attempt(now_iso(), None, time.monotonic() - started, "", reason)
        ok = attempt.status_code is not None and 200 <= attempt.status_code < 300
        with self._lock:
            delivery.attempts.append(attempt)
            delivery.state = "delivered" if ok else "failed"
        with self.world.lock:
            hook = (self.world.apps[delivery.app_id].hook if delivery.app_id is not None
                    else self.world.repo(delivery.repo).hooks.get(delivery.hook_id))
            if hook is not None:
                hook.last_status = attempt.status_code
        log_event(log, "github_sim.delivery.sent", guid=delivery.guid, hook_event=delivery.event,
                  action=delivery.action, status=attempt.status_code, error=attempt.error,
                  redelivery=delivery.redelivery)
        return attempt

    def _run(self) -> None:
        while True:
            delivery = self._queue.get()
            if delivery is None:
                return
            try:
                self.send(delivery)
            finally:
                with self._lock:
                    self._busy -= 1
                    self._idle.notify_all()

    def wait_idle(self, timeout: float = 10.0) -> bool:
        """Wait until background deliveries are all sent; ``False`` on timeout."""
        deadline = time.monotonic() + timeout
        with self._lock:
            while self._busy:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return False
                self._idle.wait(remaining)
        return True

    def close(self) -> None:
        if self._worker is not None:
            self._queue.put(None)
            self._worker.join(timeout=5)
        self._client.close()
