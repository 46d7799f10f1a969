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

from janus.gitops.pr_check import refresh_tallies
from janus.gitops.service import GitOps
from janus.logs import event
from janus.webhook.store import Delivery

# The handlers' logger, as before the dispatcher left GitOps: log consumers keep their filter.
log = logging.getLogger("janus.gitops")

CHECK_ACTIONS = frozenset({"opened", "synchronize", "reopened", "edited"})


def dispatch(ops: GitOps, delivery: Delivery) -> None:
    """Hand one delivery to the GitOps handler its event and action call for (or to none)."""
    payload: dict[str, Any] = json.loads(delivery.body)
    repository = payload.get("repository") or {}
    repo_name = repository.get("full_name", "")
    # Matched on the id, which survives a rename or transfer (a name can even be taken over by
    # another repository afterwards); the contract requires it on every event Janus acts on.
    if repository.get("id") != ops.repo_id:
        event(log, "webhook.other_repo", delivery=delivery.id, repo=repo_name,
              repo_id=repository.get("id"), level=logging.WARNING)
        return
    ops.follow_rename(repo_name)
    if delivery.event == "pull_request":
        number = int(payload["number"])
        if delivery.action in CHECK_ACTIONS:
            ops.check_pull(number)
        elif delivery.action == "closed":
            ops.process_merge(number)
    elif delivery.event == "issue_comment":
        ops.handle_comment(payload)
    elif delivery.event == "pull_request_review":
        number = int(payload["pull_request"]["number"])
        # Submitted or dismissed: the approval groups' tally on the check run and the plan
        # comment follows the reviews; then the requester hears about changes requested.
        with ops.lock_for(number):
            refresh_tallies(ops.repo, ops.repo.get_pull(number), ops.membership_for,
                            ops.janus_login, app_id=ops.app_id)
        if delivery.action == "submitted":
            ops.review_submitted(number, int(payload["review"]["id"]))
    elif delivery.event == "push":
        if payload.get("ref") == f"refs/heads/{ops.default_branch}":
            ops.reconcile_requested.set()
    elif delivery.event in ("check_suite", "check_run"):
        # check_run.pull_requests (not check_run.check_suite.pull_requests, which GitHub's
        # schema makes optional). GitHub lists same-repository PRs only: empty for a fork PR,
        # which is then found by its head commit (and refused by the check).
        body = payload.get(delivery.event) or {}
        numbers = [int(pr["number"]) for pr in body.get("pull_requests") or []]
        if numbers:
            for number in numbers:
                ops.check_pull(number)
        elif body.get("head_sha"):
            ops.check_commit(str(body["head_sha"]))
