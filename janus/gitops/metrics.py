"""The receiver process's counters, exposed as Prometheus text on ``GET /metrics``.

One registry for the whole ``janus webhook`` process: the HTTP front door and the workers
(``janus.webhook``) count deliveries by outcome, the GitOps handlers count grants, revocations
and verification failures by step. It lives in the gitops layer, the lower of the two, so both
can use it without gitops ever importing the webhook package. (The controller, a separate
process, has its own Prometheus metrics in ``janus.controller.metrics``.)

Tiny on purpose: a counter is a name plus sorted labels. Never put a token or free text in a
label.
"""

from __future__ import annotations

import threading
from collections import Counter


class Counters:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._values: Counter[tuple[str, tuple[tuple[str, str], ...]]] = Counter()

    def inc(self, name: str, amount: int = 1, **labels: str) -> None:
        key = (name, tuple(sorted(labels.items())))
        with self._lock:
            self._values[key] += amount

    def set(self, name: str, value: int, **labels: str) -> None:
        """A gauge (e.g. ``ledger_pending``): the value is replaced, not added to."""
        key = (name, tuple(sorted(labels.items())))
        with self._lock:
            self._values[key] = value

    def get(self, name: str, **labels: str) -> int:
        with self._lock:
            return self._values[(name, tuple(sorted(labels.items())))]

    def render(self) -> str:
        with self._lock:
            items = sorted(self._values.items())
        lines = []
        for (name, labels), value in items:
            shown = ",".join(f'{k}="{v}"' for k, v in labels)
            lines.append(f"janus_{name}{{{shown}}} {value}" if shown else f"janus_{name} {value}")
        return "\n".join(lines) + "\n"


# One registry per process: the receiver app, the workers and the gitops handlers share it.
COUNTERS = Counters()
