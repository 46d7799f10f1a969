"""Prometheus metrics of the controller (served by ``janus controller --metrics-port N``).

Labels are bounded (outcome, cluster): never a request name or requester, so cardinality stays
flat however many grants pass through, and nothing personal reaches the metrics store.
"""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram, Info, start_http_server

from janus import __version__

COMPONENT = "controller"
BUILD_INFO_HELP = "The Janus release this process runs (value always 1)."
# On prometheus_client's default registry, like the metrics below (one controller per process).
BUILD_INFO = Info("janus_build", BUILD_INFO_HELP)
BUILD_INFO.info({"version": __version__})

GRANTS = Counter("janus_grants_total", "Grant transitions the controller carried out, by outcome.",
                 ["outcome"])
ACTIVE = Gauge("janus_active_grants", "Grants currently Active on this replica.")
GRANT_LATENCY = Histogram(
    "janus_grant_latency_seconds", "From AccessRequest creation to phase Active.",
    buckets=(0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60, 300),
)
EXPIRY_LAG = Histogram(
    "janus_expiry_lag_seconds", "From expiresAt to all objects removed (phase Expired).",
    buckets=(0.01, 0.05, 0.1, 0.25, 0.5, 1, 2, 5, 30, 60, 300),
)
CLEANUP_FAILURES = Counter(
    "janus_cleanup_failures_total", "Removal attempts that failed and will be retried.",
    ["cluster"],
)
CLUSTER_UNAVAILABLE = Counter(
    "janus_cluster_unavailable_total", "Passes that found a target cluster unusable.", ["cluster"]
)


def serve(port: int) -> None:
    start_http_server(port, addr="0.0.0.0")  # noqa: S104 - scraped from inside the cluster
