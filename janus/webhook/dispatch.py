"""Which GitOps handler a stored delivery goes to: the workers call :func:`dispatch` once per
delivery, and the handler re-reads everything it needs from the API (the delivery only says which
PR to look at).

It lives in the webhook package, above ``janus.gitops``, because a ``Delivery`` is the receiver's
own record; gitops knows nothing of deliveries and never imports this package.
"""

from __future__ import annotations

import json
import logging
from typing import Any

from janus.gitops.service import GitOps
from janus.logs import event
from janus.webhook.store import Delivery

# The handlers' logger, as before the dispatcher left GitOps: log consumers keep their filter.
log = logging.getLogger("janus.gitops")

CHECK_ACTIONS = frozenset({"opened", "synchronize", "reopened", "edited"})


def dispatch(ops: GitOps, delivery: Delivery) -> None:
    """Hand one delivery to the GitOps handler its event and action call for (or to none)."""
    payload: dict[str, Any] = json.loads(delivery.body)
    repo_name = (payload.get("repository") or {}).get("full_name", "")
    if repo_name.lower() != ops.repo_name.lower():
        event(log, "webhook.other_repo", delivery=delivery.id, repo=repo_name,
              level=logging.WARNING)
        return
    if delivery.event == "pull_request":
        number = int(payload["number"])
        if delivery.action in CHECK_ACTIONS:
            ops.check_pull(number)
        elif delivery.action == "closed":
            ops.process_merge(number)
    elif delivery.event == "issue_comment":
        ops.handle_comment(payload)
    elif delivery.event == "push":
        if payload.get("ref") == f"refs/heads/{ops.default_branch}":
            ops.reconcile_requested.set()
    elif delivery.event in ("check_suite", "check_run"):
        suite = payload.get(delivery.event) or {}
        if delivery.event == "check_run":
            suite = suite.get("check_suite") or {}
        for pr in suite.get("pull_requests") or []:
            ops.check_pull(int(pr["number"]))
