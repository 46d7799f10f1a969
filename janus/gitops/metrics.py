"""The receiver process's Prometheus metrics (``janus webhook --metrics-port``), prometheus_client.

One registry for the whole ``janus webhook`` process: the HTTP front door and the workers
(``janus.webhook``) count deliveries by outcome, the GitOps handlers count merged requests,
revocations and verification failures by step, the ledger writer its commits and backlog. It
lives in the gitops layer, the lower of the two, so both can use it without gitops ever importing
the webhook package. The controller and the web app, separate processes, have their own
(``janus.controller.metrics``, ``janus.web.metrics``); a test checks that no name means two
things across the three.

Code counts through :class:`Counters` by short name (``counters.inc("ledger_commits_total")``:
the ``janus_`` prefix is added here). Every name is declared in :data:`CATALOGUE` with its type,
HELP text and label names, so ``/metrics`` carries HELP/TYPE for each and a test can list them.
A :class:`Counters` has its own registry, so a test's instance starts from zero.

Labels are bounded (outcome, step, source, reason): never a request name, a login or free text.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass

from prometheus_client import (
    GC_COLLECTOR,
    PLATFORM_COLLECTOR,
    PROCESS_COLLECTOR,
    CollectorRegistry,
    Counter,
    Gauge,
    Info,
    generate_latest,
)

from janus import __version__

COMPONENT = "webhook"
BUILD_INFO_HELP = "The Janus release this process runs (value always 1)."


@dataclass(frozen=True)
class Metric:
    kind: str  # "counter" | "gauge"
    help: str
    labels: tuple[str, ...] = ()


CATALOGUE: dict[str, Metric] = {
    "webhook_deliveries_total": Metric(
        "counter", "GitHub deliveries at the receiver's front door, by outcome (accepted, "
        "duplicate, ping, ignored, bad_signature, ...).", ("outcome",)),
    "webhook_handler_errors_total": Metric(
        "counter", "Delivery handlers that raised: retry (tried again later), failed (given "
        "up; reconcile still covers merges) or rate_limited (put back until GitHub's limit "
        "lifts).", ("outcome",)),
    "merged_requests_total": Metric(
        "counter", "Merged request files judged by the receiver, by outcome (created: an "
        "AccessRequest was created; otherwise why none was).", ("outcome",)),
    "notifications_total": Metric(
        "counter", "Notification delivery attempts, by channel type (slack, teams, email, "
        "webhook) and outcome (sent, retry, dropped).", ("channel", "outcome")),
    "revocations_total": Metric(
        "counter", "Revocations recorded by the receiver, by source (comment, file-deleted, "
        "reconcile) and outcome.", ("source", "outcome")),
    "break_glass_total": Metric(
        "counter", "Break-glass PRs Janus judged before merge, by outcome (merged, refused, "
        "merge-failed: the App is not a bypass actor).", ("outcome",)),
    "break_glass_reviews_total": Metric(
        "counter", "Break-glass retrospective reviews, by outcome (opened, acknowledged, "
        "acknowledged-late, refused-self, refused-not-reviewer, refused-empty, ...).",
        ("outcome",)),
    "break_glass_overdue_total": Metric(
        "counter", "Break-glass reviews flagged overdue (not acknowledged within "
        "reviewWithin)."),
    "verification_failures_total": Metric(
        "counter", "Merged request PRs that failed verification, by the step that failed.",
        ("step",)),
    "reconcile_grants_total": Metric(
        "counter", "AccessRequests created by a reconcile pass (a merge the webhook missed)."),
    "reconcile_unreadable_files_total": Metric(
        "counter", "Request files a reconcile pass could not read or parse."),
    "reconcile_truncated_listings_total": Metric(
        "counter", "Reconcile passes that found a directory listing cut short by GitHub."),
    "ledger_pending": Metric(
        "gauge", "Ledger entries waiting to be committed to the access repository."),
    "ledger_write_failures_total": Metric(
        "counter", "Ledger commits that failed and will be retried, by reason.", ("reason",)),
    "ledger_transitions_recorded_total": Metric(
        "counter", "Grant starts and ends written to the ledger."),
    "ledger_cas_retries_total": Metric(
        "counter", "Ledger commits re-planned because the branch moved (compare-and-set)."),
    "ledger_commits_total": Metric("counter", "Commits made to the ledger."),
    "github_rate_limited_total": Metric(
        "counter", "GitHub answers that were a rate limit, by kind (primary: the hourly budget "
        "is spent; secondary: too much at once) and source (webhook, reconcile, ledger, status).",
        ("kind", "source")),
    "github_rate_limit_remaining": Metric(
        "gauge", "Requests left in the GitHub installation's hourly budget (x-ratelimit-"
        "remaining of the last answer)."),
    "github_rate_limit_limit": Metric(
        "gauge", "The GitHub installation's hourly budget (x-ratelimit-limit)."),
    "github_rate_limit_reset_timestamp_seconds": Metric(
        "gauge", "When the budget is renewed (x-ratelimit-reset, Unix seconds)."),
    "github_rate_limit_wait_seconds": Metric(
        "gauge", "Seconds the receiver still leaves GitHub alone for a rate limit (0: none)."),
}


class Counters:
    """The receiver's metrics on a registry of their own (process metrics and build info too)."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        for collector in (PROCESS_COLLECTOR, PLATFORM_COLLECTOR, GC_COLLECTOR):
            self.registry.register(collector)
        Info("janus_build", BUILD_INFO_HELP, registry=self.registry).info(
            {"version": __version__})
        self._lock = threading.Lock()
        self._metrics: dict[str, Counter | Gauge] = {}
        for name in CATALOGUE:
            self._metric(name)

    def _metric(self, name: str) -> Counter | Gauge:
        with self._lock:
            metric = self._metrics.get(name)
            if metric is None:
                spec = CATALOGUE.get(name) or Metric(
                    "counter", f"janus_{name} (undeclared: add it to janus.gitops.metrics)")
                cls = Gauge if spec.kind == "gauge" else Counter
                metric = cls(f"janus_{name}", spec.help, spec.labels, registry=self.registry)
                self._metrics[name] = metric
            return metric

    def inc(self, name: str, amount: int = 1, **labels: str) -> None:
        metric = self._metric(name)
        (metric.labels(**labels) if labels else metric).inc(amount)

    def set(self, name: str, value: int, **labels: str) -> None:
        """A gauge (e.g. ``ledger_pending``): the value is replaced, not added to."""
        metric = self._metric(name)
        assert isinstance(metric, Gauge), f"{name} is not a gauge"
        (metric.labels(**labels) if labels else metric).set(value)

    def get(self, name: str, **labels: str) -> int:
        value = self.registry.get_sample_value(f"janus_{name}", labels)
        return int(value or 0)

    def render(self) -> str:
        """The Prometheus text exposition (HELP, TYPE, samples)."""
        return generate_latest(self.registry).decode()


# One registry per process: the receiver app, the workers and the gitops handlers share it.
COUNTERS = Counters()
