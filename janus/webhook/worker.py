"""Background workers: take stored deliveries and hand them to the event handler.

A handler failure (GitHub 5xx, API server unreachable) is retried with backoff a few times;
after that the delivery is marked failed and the periodic reconcile remains the safety net for
merges. Workers are plain threads because PyGithub and the kubernetes client are synchronous.

A GitHub rate limit is not a failure: the delivery goes back to the queue until GitHub's
``retry-after`` or ``x-ratelimit-reset`` (plus a little jitter, so the workers do not all call at
the reset), as often as it takes, and while the limit lasts a claimed delivery is put back
without calling GitHub at all. The worker itself never waits for it: it is free at once.

Under a burst the acknowledgements come first: they share the process (one interpreter lock)
with the workers, and a claim and a finish per delivery cost the ack path more than the
acknowledgement itself (docs/development.md, webhook ack under a burst). So a worker takes
several due deliveries per claim (one transaction), marks the quick ones done together, hands
back what it has not started once it has held a batch for ``BATCH_HOLD_SECONDS``, and sizes
its claims by the backlog (one at a time when few are due, so a few slow deliveries — a merge
is seconds of GitHub calls — are still handled in parallel by the workers), and before each
claim waits while deliveries are still arriving — at most ``ACK_PRIORITY_SECONDS`` per claim,
so processing never stops under a steady stream.
"""

from __future__ import annotations

import logging
import random
import threading
import time
from collections.abc import Callable
from functools import partial

from janus import testhooks
from janus.gitops.metrics import COUNTERS
from janus.gitops.ratelimit import RateLimitWatch, classify
from janus.logs import event
from janus.webhook.store import Delivery, DeliveryStore

log = logging.getLogger("janus.webhook.worker")

MAX_ATTEMPTS = 4
BACKOFF_SECONDS = (2.0, 10.0, 30.0)
IDLE_WAIT = 5.0
# How often a worker retries the delivery store while it does not answer.
STORE_RETRY_SECONDS = 1.0
# Deliveries taken per claim, and how long a worker keeps the ones of a batch it has not started
# (then they go back for the other workers).
BATCH = 16
BATCH_HOLD_SECONDS = 0.5
# Quick deliveries are marked done together, at least this often.
FINISH_EVERY_SECONDS = 0.05
# Before a claim, a worker waits while a delivery arrived within ACK_QUIET_SECONDS (the burst is
# still on), for at most ACK_PRIORITY_SECONDS.
ACK_QUIET_SECONDS = 0.01
ACK_PRIORITY_SECONDS = 0.25


class WorkerPool:
    def __init__(
        self,
        store: DeliveryStore,
        handle: Callable[[Delivery], None],
        *,
        workers: int = 2,
        rate_limits: RateLimitWatch | None = None,
    ) -> None:
        self._store = store
        self._handle = handle
        self._rate_limits = rate_limits
        self._wake = threading.Condition()
        # Wakes so far, and how many of them a claim that found the queue drained has covered:
        # a worker sleeps only when every wake is covered (a delivery stored before a wake is
        # committed before it, so a claim begun after the wake sees it).
        self._wakes = 0
        self._covered = 0
        self._last_wake = 0.0
        self._stopping = threading.Event()
        self._threads = [
            threading.Thread(target=self._run, name=f"janus-webhook-worker-{i}", daemon=True)
            for i in range(workers)
        ]
        self._busy = 0
        self._idle = threading.Condition()

    def start(self) -> WorkerPool:
        for thread in self._threads:
            thread.start()
        return self

    def wake(self) -> None:
        """A delivery was stored (the receiver calls this after each commit)."""
        with self._wake:
            self._wakes += 1
            self._last_wake = time.monotonic()
            self._wake.notify()

    def stop(self, timeout: float = 10.0) -> None:
        self._stopping.set()
        with self._wake:
            self._wake.notify_all()
        for thread in self._threads:
            thread.join(timeout)

    @property
    def busy_workers(self) -> int:
        """Workers inside a claim or a handler right now (a parked worker stays counted)."""
        with self._idle:
            return self._busy

    def wait_idle(self, timeout: float = 30.0) -> bool:
        """Block until no delivery is pending or in progress (tests and benchmarks)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            due = self._store.next_due_in()
            with self._idle:
                if self._busy == 0 and due is None:
                    return True
            with self._wake:  # not a delivery: workers must not yield to it
                self._wakes += 1
                self._wake.notify()
            time.sleep(0.02)
        return False

    def _run(self) -> None:
        while not self._stopping.is_set():
            self._yield_to_acks()
            # Busy before the claim, not after: between the two a claimed delivery is neither
            # pending nor counted, and wait_idle would call an unfinished pool idle.
            with self._idle:
                self._busy += 1
            with self._wake:
                seen = self._wakes
            try:
                # A fair share of the backlog, so no worker hoards while others idle.
                size = min(BATCH, max(1, self._store.due_count() // len(self._threads)))
                batch = self._store.claim_batch(size)
                due = self._store.next_due_in() if not batch else None
            except Exception as exc:  # the database away (a PostgreSQL restart): try again
                self._not_busy()
                event(log, "webhook.store_unavailable", level=logging.WARNING,
                      error=f"{type(exc).__name__}: {exc}"[:500])
                self._stopping.wait(STORE_RETRY_SECONDS)
                continue
            if len(batch) < size:  # the queue is drained: the wakes seen so far are covered
                with self._wake:
                    self._covered = max(self._covered, seen)
            else:  # more may be due: another worker can take them
                with self._wake:
                    self._wake.notify()
            if not batch:
                self._not_busy()
                wait = IDLE_WAIT if due is None else min(IDLE_WAIT, due + 0.01)
                with self._wake:
                    if self._wakes <= self._covered:
                        self._wake.wait(wait)
                continue
            try:
                self._process_batch(batch)
            finally:
                self._not_busy()
                if self._rate_limits is not None:
                    self._rate_limits.refresh()  # the budget GitHub reported, into /metrics

    def _yield_to_acks(self) -> None:
        """Wait while deliveries are arriving (a burst): the acknowledgements first."""
        deadline = time.monotonic() + ACK_PRIORITY_SECONDS
        while not self._stopping.is_set():
            now = time.monotonic()
            with self._wake:
                quiet_in = self._last_wake + ACK_QUIET_SECONDS - now
            if quiet_in <= 0 or now >= deadline:
                return
            self._stopping.wait(min(quiet_in, deadline - now))

    def _process_batch(self, batch: list[Delivery]) -> None:
        """Handle a claimed batch in order; quick ones are marked done together."""
        began = flushed = time.monotonic()
        done: list[str] = []
        for index, delivery in enumerate(batch):
            now = time.monotonic()
            if index and (now - began > BATCH_HOLD_SECONDS or self._stopping.is_set()):
                # Not started: back to the queue (attempt given back) for an idle worker.
                self._record(self._store.finish_many, done)
                self._record(self._store.release, [d.id for d in batch[index:]])
                with self._wake:
                    self._wakes += 1
                    self._wake.notify_all()
                return
            if self._process(delivery):
                done.append(delivery.id)
            if time.monotonic() - flushed > FINISH_EVERY_SECONDS:
                self._record(self._store.finish_many, done)
                done, flushed = [], time.monotonic()
        self._record(self._store.finish_many, done)

    def _not_busy(self) -> None:
        with self._idle:
            self._busy -= 1

    def _process(self, delivery: Delivery) -> bool:
        """Handle one delivery; True when it is done (to be marked so by the caller), False
        when its outcome (retry, failure, deferral) is already written."""
        pause = self._rate_limits.paused_for() if self._rate_limits is not None else 0.0
        if pause > 0:  # GitHub asked us to wait: back to the queue without calling it
            self._defer(delivery, pause, "GitHub rate limit: waiting for it to lift")
            return False
        try:
            testhooks.delivery_delay()
            self._handle(delivery)
        except Exception as exc:  # any failure: retry, then give up loudly
            message = f"{type(exc).__name__}: {exc}"
            limited = classify(exc)
            if limited is not None:
                wait = (self._rate_limits.record(limited, "webhook")
                        if self._rate_limits is not None else limited.wait)
                self._defer(delivery, wait, message)
                return False
            if delivery.attempts < MAX_ATTEMPTS:
                delay = BACKOFF_SECONDS[min(delivery.attempts, len(BACKOFF_SECONDS)) - 1]
                self._record(self._store.retry_later, delivery.id, message, delay)
                COUNTERS.inc("webhook_handler_errors_total", outcome="retry")
                event(log, "webhook.retry", delivery=delivery.id, github_event=delivery.event,
                      attempt=delivery.attempts, error=message, level=logging.WARNING)
            else:
                self._record(self._store.fail, delivery.id, message)
                COUNTERS.inc("webhook_handler_errors_total", outcome="failed")
                log.exception("webhook.failed", extra={
                    "event": "webhook.failed", "request": None,
                    "fields": {"delivery": delivery.id, "github_event": delivery.event}})
            return False
        return True

    def _defer(self, delivery: Delivery, wait: float, message: str) -> None:
        """Back to the queue until a rate limit lifts: never marked failed for one, and the
        attempt its claim counted is given back (waiting for GitHub is not a failed try)."""
        delay = wait + random.uniform(0.0, min(5.0, 0.1 * wait))  # noqa: S311 - jitter
        self._record(partial(self._store.retry_later, count_attempt=False), delivery.id,
                     message, delay)
        COUNTERS.inc("webhook_handler_errors_total", outcome="rate_limited")
        event(log, "webhook.deferred", delivery=delivery.id, github_event=delivery.event,
              attempt=delivery.attempts, wait_seconds=round(delay, 1), level=logging.WARNING)

    def _record(self, write: Callable[..., None], *args: object) -> None:
        """Write a delivery's outcome, retrying while the database does not answer. Given up
        only at stop: the lease then runs out and the (idempotent) work is done again."""
        while True:
            try:
                write(*args)
                return
            except Exception as exc:
                event(log, "webhook.store_unavailable", level=logging.WARNING,
                      error=f"{type(exc).__name__}: {exc}"[:500])
                if self._stopping.wait(STORE_RETRY_SECONDS):
                    return
