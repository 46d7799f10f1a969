"""The sender, run inside the receiver (``janus webhook --notifications FILE``).

Why the receiver: it already sees every PR event (opened, reviewed, merged, refused) and
watches the AccessRequests (granted, extended, expired, revoked); one more watch and a timer
(expiring soon) make it the one process that knows every event. The controller and the web app
send nothing: a grant or an expiry never waits for a notification.

Asynchronous on every path: the hooks the GitOps handlers call only put a closure on an
in-memory queue (no I/O in the caller's thread); a thread turns it into outbox rows; sender
threads claim rows and deliver them, retrying with backoff. Events seen on the CR are
re-derived after a restart (the watch lists everything again; ids are deterministic), so only a
PR event still in the in-memory queue at a crash can be lost.
"""

from __future__ import annotations

import datetime as dt
import logging
import queue
import threading
from collections.abc import Callable, Iterable
from functools import partial
from typing import Any, Protocol

from janus import names
from janus.logs import event as log_event
from janus.model import format_duration
from janus.notify import channels as channel_senders
from janus.notify.config import NotifyConfig, route
from janus.notify.events import Event, EventKind, TokenInPayload, from_request
from janus.notify.outbox import Outbox
from janus.notify.plan import active_prefix, plan
from janus.resource import AccessRequestError, AccessRequestView

log = logging.getLogger("janus.notify")

# The AccessRequest watch lists again at least this often, which is also the expiring-soon
# timer's resolution at most (the lead time's quarter when shorter).
RELIST_SECONDS = 60.0
# Recorded events are the dedupe keys: kept well past the longest grant, then forgotten.
KEEP_EVENTS = dt.timedelta(days=30)


class CrSource(Protocol):
    """What the sender reads AccessRequests with (janus.resource.AccessRequestClient)."""

    def list(self, label_selector: str | None = None) -> list[AccessRequestView]: ...

    def watch(self, *, stop: threading.Event | None = None, timeout_seconds: int = 30,
              label_selector: str | None = None) -> Iterable[Any]: ...


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


class Notifier:
    """Disabled (``Notifier.off()``: every hook returns at once) or sending to *config*."""

    def __init__(self, config: NotifyConfig | None, outbox: Outbox | None, *,
                 crs: CrSource | None = None, senders: int = 2,
                 send: Callable[..., None] = channel_senders.send,
                 poll_seconds: float = 1.0,
                 count: Callable[..., object] | None = None) -> None:
        self.config = config
        self.outbox = outbox
        self.crs = crs
        self.senders = senders
        self._send = send
        self.poll_seconds = poll_seconds
        self._queue: queue.Queue[Callable[[], object]] = queue.Queue()
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        # The receiver's counters (``notifications_total{channel,outcome}``), if it has them:
        # this package sits below janus.gitops and does not import its metrics.
        self._count = count or (lambda *args, **labels: None)

    @classmethod
    def off(cls) -> Notifier:
        return cls(None, None)

    @property
    def enabled(self) -> bool:
        return self.config is not None and self.outbox is not None

    # ---- hooks (called from the receiver's threads; never block, never raise) -------------------

    def _submit(self, work: Callable[[], object]) -> None:
        if not self.enabled:
            return
        if self._threads:
            self._queue.put(work)
        else:  # not started (a one-shot reconcile, unit tests): do it here, safely
            self._run_safely(work)

    def request_opened(self, repo: str, number: int, url: str, author: str,
                       judged: Iterable[Any]) -> None:
        """A request PR passed its check: tell the deciding policy's approvers (once per request
        file and PR; a later push to the PR does not notify again)."""
        items = list(judged)
        self._submit(lambda: self._opened(repo, number, url, author, items))

    def changes_requested(self, repo: str, number: int, url: str, author: str,
                          reviewer: str, review_id: int, body: str) -> None:
        self._submit(lambda: self.emit(Event(
            id=f"pr:{repo.lower()}#{number}:review:{review_id}",
            kind=EventKind.CHANGES_REQUESTED, occurred_at=_now(), requester=author,
            audience=(author,), actor=reviewer, why=body[:500] or None, pull_request=number,
            links=self._pull_links(number, url))))

    def merge_refused(self, repo: str, number: int, url: str, merge_commit: str, author: str,
                      step: str, summary: str) -> None:
        self._submit(lambda: self.emit(Event(
            id=f"pr:{repo.lower()}#{number}:refused:{merge_commit}",
            kind=EventKind.VERIFICATION_REFUSED, occurred_at=_now(), requester=author,
            audience=(author,), actor=author, why=summary, step=step, pull_request=number,
            links=self._pull_links(number, url))))

    def access_request_changed(self, cr: AccessRequestView) -> None:
        self._submit(lambda: self.observe(cr))

    # ---- turning happenings into recorded events ----------------------------------------------

    def _pull_links(self, number: int, url: str) -> dict[str, str]:
        assert self.config is not None
        links = {"pull": url}
        if self.config.web_url:
            links["request"] = f"{self.config.web_url}/requests/pr/{number}"
        return links

    def _cr_links(self, cr: AccessRequestView) -> dict[str, str]:
        assert self.config is not None
        links: dict[str, str] = {}
        provenance = cr.provenance
        if provenance is not None and provenance.repo and provenance.pull_request:
            links["pull"] = (f"{self.config.github_url}/{provenance.repo}/pull/"
                             f"{provenance.pull_request}")
        if self.config.web_url:
            links["request"] = f"{self.config.web_url}/"
        return links

    def _opened(self, repo: str, number: int, url: str, author: str, judged: list[Any]) -> None:
        for item in judged:
            request, decision = getattr(item, "request", None), getattr(item, "decision", None)
            if request is None or decision is None or not decision.allowed:
                continue
            approval = decision.approval
            audience = () if approval is None else tuple(sorted(approval.teams | approval.users))
            cr_name = names.access_request_name(request.cluster, request.namespace, request.name)
            self.emit(Event(
                id=f"pr:{repo.lower()}#{number}:opened:{cr_name}",
                kind=EventKind.REQUEST_OPENED, occurred_at=_now(), request=cr_name,
                requester=request.requester or author, cluster=request.cluster,
                namespace=request.namespace, role=request.role,
                duration=format_duration(request.duration), reason=request.reason,
                ticket=request.ticket, policy=decision.policy, audience=audience,
                actor=author, pull_request=number, links=self._pull_links(number, url)))

    def observe(self, cr: AccessRequestView, *, now: dt.datetime | None = None) -> None:
        """Record whatever *cr*'s state calls for that is not recorded yet."""
        assert self.config is not None and self.outbox is not None
        now = now or _now()
        planned = plan(cr, granted_before=self.outbox.seen_prefix(active_prefix(cr)), now=now,
                       expiring_soon=self.config.expiring_soon, fresh_for=self.config.fresh_for)
        for item in planned:
            if self.outbox.seen(item.id):
                continue
            ev = from_request(cr, item.kind, id=item.id, occurred_at=now,
                              links=self._cr_links(cr), policy=self.outbox.policy_of(cr.name))
            self.emit(ev, send=item.send)

    def emit(self, ev: Event, *, send: bool = True) -> bool:
        """Route and record *ev* (once, by id); True when it was new."""
        assert self.config is not None and self.outbox is not None
        try:
            payload = ev.payload()
        except TokenInPayload:
            log_event(log, "notify.dropped_token", request=ev.request, kind=str(ev.kind),
                      level=logging.ERROR)
            return False
        targets = route(self.config, ev) if send else ()
        new = self.outbox.record(ev.id, str(ev.kind), ev.request,
                                 {name: payload for name in targets}, policy=ev.policy)
        if new:
            log_event(log, "notify.recorded", request=ev.request or None, kind=str(ev.kind),
                      id=ev.id, channels=list(targets))
            self._wake.set()
        return new

    # ---- delivering ---------------------------------------------------------------------------

    def deliver_once(self) -> bool:
        """Claim and send one due delivery; False when none was due."""
        assert self.config is not None and self.outbox is not None
        pending = self.outbox.claim()
        if pending is None:
            return False
        channel = self.config.channels.get(pending.channel)
        if channel is None:  # removed from the configuration since: nowhere to send it
            self.outbox.failed(pending.id, "channel no longer configured")
            return True
        try:
            self._send(channel, pending.payload)
        except Exception as exc:  # SendFailed, or anything a library raised: retried
            state = self.outbox.failed(pending.id, str(exc) or type(exc).__name__)
            self._count("notifications_total", channel=channel.type,
                        outcome="retry" if state == "pending" else "dropped")
            log_event(log, "notify.send_failed", channel=pending.channel, id=pending.event_id,
                      attempt=pending.attempts + 1, state=state, error=str(exc)[:200],
                      level=logging.WARNING)
        else:
            self.outbox.sent(pending.id)
            self._count("notifications_total", channel=channel.type, outcome="sent")
            log_event(log, "notify.sent", channel=pending.channel, id=pending.event_id,
                      attempt=pending.attempts + 1)
        return True

    # ---- threads ------------------------------------------------------------------------------

    def start(self) -> Notifier:
        if not self.enabled:
            return self
        self._spawn("janus-notify-queue", self._queue_loop)
        for i in range(self.senders):
            self._spawn(f"janus-notify-send-{i}", self._send_loop)
        if self.crs is not None:
            self._spawn("janus-notify-watch", self._watch_loop)
            self._spawn("janus-notify-timer", self._timer_loop)
        self._spawn("janus-notify-prune", self._prune_loop)
        return self

    def stop(self) -> None:
        self._stop.set()
        self._wake.set()
        self._queue.put(lambda: None)
        for thread in self._threads:
            thread.join(timeout=5)
        self._threads.clear()
        if self.outbox is not None:
            self.outbox.close()

    def _spawn(self, name: str, target: Callable[[], None]) -> None:
        thread = threading.Thread(target=target, name=name, daemon=True)
        thread.start()
        self._threads.append(thread)

    def _run_safely(self, work: Callable[[], object]) -> None:
        try:
            work()
        except Exception:  # a notification must never break the caller; logged, not raised
            log.exception("notify.failed", extra={"event": "notify.failed", "request": None,
                                                  "fields": {}})

    def _queue_loop(self) -> None:
        while not self._stop.is_set():
            work = self._queue.get()
            self._run_safely(work)

    def _send_loop(self) -> None:
        while not self._stop.is_set():
            try:
                busy = self.deliver_once()
            except Exception:  # the database away for a moment: try again shortly
                log.exception("notify.deliver_failed", extra={
                    "event": "notify.deliver_failed", "request": None, "fields": {}})
                busy = False
            if not busy:
                self._wake.wait(self.poll_seconds)
                self._wake.clear()

    def _watch_loop(self) -> None:
        assert self.crs is not None
        while not self._stop.is_set():
            try:
                for change in self.crs.watch(stop=self._stop, timeout_seconds=30):
                    if getattr(change, "type", "") in ("LISTED", "ADDED", "MODIFIED"):
                        self._run_safely(partial(self.observe, change.view))
            except AccessRequestError as exc:  # the API server away: list again shortly
                log_event(log, "notify.watch_error", status=exc.status, level=logging.WARNING)
                self._stop.wait(1)
            except Exception:
                log.exception("notify.watch_failed", extra={
                    "event": "notify.watch_failed", "request": None, "fields": {}})
                self._stop.wait(1)

    def _timer_loop(self) -> None:
        """Expiring soon is a matter of time, not of a change: look at every grant again."""
        assert self.crs is not None and self.config is not None
        period = max(1.0, min(RELIST_SECONDS, self.config.expiring_soon.total_seconds() / 4))
        while not self._stop.wait(period):
            try:
                for cr in self.crs.list():
                    if cr.phase == "Active":
                        self._run_safely(partial(self.observe, cr))
            except Exception:
                log.exception("notify.timer_failed", extra={
                    "event": "notify.timer_failed", "request": None, "fields": {}})

    def _prune_loop(self) -> None:
        """Forget events older than KEEP_EVENTS (longer than any grant lives), hourly."""
        assert self.outbox is not None
        while not self._stop.is_set():
            try:
                pruned = self.outbox.prune(KEEP_EVENTS)
            except Exception as exc:  # a locked or closing database: next time
                log_event(log, "notify.prune_failed", error=str(exc)[:200],
                          level=logging.WARNING)
            else:
                if pruned:
                    log_event(log, "notify.pruned", count=pruned)
            self._stop.wait(3600)


def build(config: NotifyConfig, db: str | Any, *, crs: CrSource | None = None,
          lease_seconds: float = 60.0, backoff_first: float = 2.0, **kwargs: Any) -> Notifier:
    """A sender for *config*, with its outbox in the receiver's database *db*."""
    outbox = Outbox(db, lease_seconds=lease_seconds, backoff_first=backoff_first)
    return Notifier(config, outbox, crs=crs, **kwargs)



