"""The dispatcher: which GitOps handler a stored delivery reaches (no GitHub, no cluster)."""

from __future__ import annotations

import json
import threading
from typing import Any

import pytest

from janus.webhook.dispatch import dispatch
from janus.webhook.store import Delivery


class FakeOps:
    """Records the handler calls a delivery causes; the attributes dispatch reads."""

    repo_name = "acme/access"
    default_branch = "main"

    def __init__(self) -> None:
        self.calls: list[tuple[str, Any]] = []
        self.reconcile_requested = threading.Event()

    def check_pull(self, number: int) -> None:
        self.calls.append(("check", number))

    def process_merge(self, number: int) -> None:
        self.calls.append(("merge", number))

    def handle_comment(self, payload: dict[str, Any]) -> None:
        self.calls.append(("comment", payload["comment"]["body"]))


def delivery(event: str, action: str | None, payload: dict[str, Any]) -> Delivery:
    body = {"repository": {"full_name": "Acme/Access"}, **payload}
    return Delivery("d-1", event, action, json.dumps(body).encode(), 0)


@pytest.mark.parametrize(("event", "action", "payload", "calls"), [
    ("pull_request", "opened", {"number": 7}, [("check", 7)]),
    ("pull_request", "synchronize", {"number": 7}, [("check", 7)]),
    ("pull_request", "closed", {"number": 7}, [("merge", 7)]),
    ("pull_request", "labeled", {"number": 7}, []),
    ("issue_comment", "created", {"comment": {"body": "/janus revoke"}},
     [("comment", "/janus revoke")]),
    ("check_suite", "rerequested", {"check_suite": {"pull_requests": [{"number": 3}]}},
     [("check", 3)]),
    ("check_run", "rerequested",
     {"check_run": {"check_suite": {"pull_requests": [{"number": 4}, {"number": 5}]}}},
     [("check", 4), ("check", 5)]),
])
def test_each_event_reaches_its_handler(event: str, action: str | None,
                                        payload: dict[str, Any], calls: list[Any]) -> None:
    ops = FakeOps()
    dispatch(ops, delivery(event, action, payload))  # type: ignore[arg-type]
    assert ops.calls == calls
    assert not ops.reconcile_requested.is_set()


def test_push_to_default_branch_requests_a_reconcile_and_other_branches_do_not() -> None:
    ops = FakeOps()
    dispatch(ops, delivery("push", None, {"ref": "refs/heads/feature"}))  # type: ignore[arg-type]
    assert not ops.reconcile_requested.is_set()
    dispatch(ops, delivery("push", None, {"ref": "refs/heads/main"}))  # type: ignore[arg-type]
    assert ops.reconcile_requested.is_set()
    assert ops.calls == []


def test_a_delivery_for_another_repository_is_ignored() -> None:
    ops = FakeOps()
    body = json.dumps({"repository": {"full_name": "acme/other"}, "number": 7}).encode()
    dispatch(ops, Delivery("d-2", "pull_request", "opened", body, 0))  # type: ignore[arg-type]
    assert ops.calls == []
