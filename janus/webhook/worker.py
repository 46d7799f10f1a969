"""Background workers: take stored deliveries and hand them to the event handler.

A handler failure (GitHub 5xx, API server unreachable) is retried with backoff a few times;
after that the delivery is marked failed and the periodic reconcile remains the safety net for
merges. Workers are plain threads because PyGithub and the kubernetes client are synchronous.

A GitHub rate limit is not a failure: the delivery goes back to the queue until GitHub's
``retry-after`` or ``x-ratelimit-reset`` (plus a little jitter, so the workers do not all call at
the reset), as often as it takes, and while the limit lasts a claimed delivery is put back
without calling GitHub at all. The worker itself never waits for it: it is free at once.
"""

from __future__ import annotations

import logging
import random
import threading
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
        self._pending_wakeups = 0
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
        with self._wake:
            self._pending_wakeups += 1
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
        import time

        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            due = self._store.next_due_in()
            with self._idle:
                if self._busy == 0 and due is None:
                    return True
            self.wake()
            time.sleep(0.02)
        return False

    def _run(self) -> None:
        while not self._stopping.is_set():
            # Busy before the claim, not after: between the two a claimed delivery is neither
            # pending nor counted, and wait_idle would call an unfinished pool idle.
            with self._idle:
                self._busy += 1
            try:
                delivery = self._store.claim()
                due = self._store.next_due_in() if delivery is None else None
            except Exception as exc:  # the database away (a PostgreSQL restart): try again
                self._not_busy()
                event(log, "webhook.store_unavailable", level=logging.WARNING,
                      error=f"{type(exc).__name__}: {exc}"[:500])
                self._stopping.wait(STORE_RETRY_SECONDS)
                continue
            if delivery is None:
                self._not_busy()
                wait = IDLE_WAIT if due is None else min(IDLE_WAIT, due + 0.01)
                with self._wake:
                    if self._pending_wakeups == 0:
                        self._wake.wait(wait)
                    self._pending_wakeups = max(0, self._pending_wakeups - 1)
                continue
            try:
                self._process(delivery)
            finally:
                self._not_busy()
                if self._rate_limits is not None:
                    self._rate_limits.refresh()  # the budget GitHub reported, into /metrics

    def _not_busy(self) -> None:
        with self._idle:
            self._busy -= 1

    def _process(self, delivery: Delivery) -> None:
        pause = self._rate_limits.paused_for() if self._rate_limits is not None else 0.0
        if pause > 0:  # GitHub asked us to wait: back to the queue without calling it
            self._defer(delivery, pause, "GitHub rate limit: waiting for it to lift")
            return
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
                return
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
            return
        self._record(self._store.finish, delivery.id)

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
