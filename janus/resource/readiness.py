"""Readiness checks of the web app and the webhook receiver (``GET /readyz``).

Liveness (``/healthz``) says the process answers; readiness says it can do its job right now:
the central API server answers and the process's database can be queried. Kubernetes takes an
unready pod out of its Service and leaves it running, so a database or API server outage makes
the pods unready without restarting them (which would not help).

A check is a callable that raises when not ready. :func:`failing` turns checks into problems as
values: the names of the failing checks. Only names reach the HTTP answer (the probe is
anonymous and may be reachable through an Ingress); the reason goes to the log.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from typing import Any

from janus.logs import event

log = logging.getLogger("janus.readiness")

Check = Callable[[], None]

# A readiness probe must answer within the kubelet's timeout (1s by default; the chart sets 5s).
TIMEOUT_SECONDS = 3.0


def failing(checks: Mapping[str, Check]) -> list[str]:
    """The names of the checks that raise, in order; each failure is logged with its reason."""
    problems = []
    for name, check in checks.items():
        try:
            check()
        except Exception as exc:  # any failure means "not ready", never a crash
            problems.append(name)
            event(log, "readiness.failed", level=logging.WARNING, check=name,
                  error=f"{exc.__class__.__name__}: {exc}"[:300])
    return problems


def answer(checks: Mapping[str, Check]) -> tuple[int, dict[str, Any]]:
    """HTTP status and JSON body of ``/readyz``: 200 ready, 503 with the failing check names."""
    problems = failing(checks)
    if problems:
        return 503, {"status": "unready", "failing": problems}
    return 200, {"status": "ready"}


def api_server(api_client: Any) -> Check:
    """The central API server answers ``/version`` (any authenticated identity may read it)."""
    from kubernetes import client  # deferred: importing janus.resource stays client-free

    def check() -> None:
        client.VersionApi(api_client).get_code(_request_timeout=TIMEOUT_SECONDS)

    return check
