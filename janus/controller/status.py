"""Status bodies: conditions that keep their transition time.

Every status write goes through :meth:`janus.resource.client.AccessRequestClient.write_status`,
a compare-and-set on the resourceVersion the decision was made on. If the CR changed meanwhile
(a revocation, an extension, another replica), it raises ``janus.resource.Conflict`` and the
caller decides again from the fresh object: a phase is never written on stale information, and
a terminal phase is never overwritten. What is written is built here.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Iterable, Mapping
from typing import Any

from janus.resource import AccessRequestView, Condition, timefmt

MESSAGE_MAX = 1024  # the CRD's limit on a condition message


def _typed(cond: Condition | Mapping[str, Any]) -> Condition:
    return cond if isinstance(cond, Condition) else Condition.from_status(cond)


def condition(
    current: Iterable[Condition | Mapping[str, Any]] | None,
    type_: str,
    status: bool,
    reason: str,
    message: str,
    now: dt.datetime,
) -> list[dict[str, Any]]:
    """Return *current* (a view's conditions, or a list this function returned) with condition
    *type_* set, as the ``status.conditions`` list to write; lastTransitionTime moves only on a
    flip."""
    value = "True" if status else "False"
    wanted = Condition(type_, value, reason, message[:MESSAGE_MAX], timefmt.fmt(now))
    out: list[dict[str, Any]] = []
    replaced = False
    for cond in map(_typed, current or []):
        if cond.type == type_:
            since = cond.last_transition_time if cond.status == value else ""
            out.append(dataclasses.replace(
                wanted, last_transition_time=since or wanted.last_transition_time).as_status())
            replaced = True
        else:
            out.append(cond.as_status())
    if not replaced:
        out.append(wanted.as_status())
    return out


def has_condition(request: AccessRequestView, type_: str, status: bool,
                  reason: str | None = None, message: str | None = None) -> bool:
    value = "True" if status else "False"
    for cond in request.conditions:
        if cond.type == type_ and cond.status == value:
            return (reason is None or cond.reason == reason) and (
                message is None or cond.message == message)
    return False
