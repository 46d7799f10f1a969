"""The dispatcher: which GitOps handler a stored delivery reaches (no GitHub, no cluster)."""

from __future__ import annotations

import json
import threading
from typing import Any

import pytest

from janus.webhook.dispatch import dispatch
from janus.webhook.store import Delivery

SHA = "a" * 40


class FakeOps:
    """Records the handler calls a delivery causes; the attributes dispatch reads."""

    repo_name = "acme/access"
    repo_id = 4242
    default_branch = "main"

    def __init__(self) -> None:
        self.calls: list[tuple[str, Any]] = []
        self.reconcile_requested = threading.Event()

    def follow_rename(self, full_name: str) -> None:
        if full_name.lower() != self.repo_name.lower():
            self.calls.append(("renamed", full_name))

    def check_pull(self, number: int) -> None:
        self.calls.append(("check", number))

    def check_commit(self, sha: str) -> None:
        self.calls.append(("commit", sha))

    def process_merge(self, number: int) -> None:
        self.calls.append(("merge", number))

    def handle_comment(self, payload: dict[str, Any]) -> None:
        self.calls.append(("comment", payload["comment"]["body"]))


def delivery(event: str, action: str | None, payload: dict[str, Any]) -> Delivery:
    body = {"repository": {"id": 4242, "full_name": "Acme/Access"}, **payload}
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
     {"check_run": {"head_sha": SHA, "pull_requests": [{"number": 4}, {"number": 5}]}},
     [("check", 4), ("check", 5)]),
    # GitHub's check_run.check_suite.pull_requests is optional: never read.
    ("check_run", "rerequested",
     {"check_run": {"head_sha": SHA, "pull_requests": [{"number": 4}],
                    "check_suite": {"pull_requests": [{"number": 9}]}}},
     [("check", 4)]),
    # A fork PR's check run lists no pull requests: found by its head commit.
    ("check_run", "rerequested", {"check_run": {"head_sha": SHA, "pull_requests": []}},
     [("commit", SHA)]),
    ("check_suite", "rerequested", {"check_suite": {"head_sha": SHA, "pull_requests": []}},
     [("commit", SHA)]),
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
    body = json.dumps({"repository": {"id": 7, "full_name": "acme/other"},
                       "number": 7}).encode()
    dispatch(ops, Delivery("d-2", "pull_request", "opened", body, 0))  # type: ignore[arg-type]
    assert ops.calls == []


def test_repository_is_matched_on_its_id_not_its_name() -> None:
    ops = FakeOps()
    # Renamed: GitHub keeps the id; the delivery is ours and the new name is followed.
    renamed = json.dumps({"repository": {"id": 4242, "full_name": "acme/access-requests"},
                          "number": 7}).encode()
    dispatch(ops, Delivery("d-3", "pull_request", "opened", renamed, 0))  # type: ignore[arg-type]
    assert ops.calls == [("renamed", "acme/access-requests"), ("check", 7)]
    # Another repository that took the old name: same name, other id, not ours.
    ops = FakeOps()
    squatter = json.dumps({"repository": {"id": 999, "full_name": "acme/access"},
                           "number": 7}).encode()
    dispatch(ops, Delivery("d-4", "pull_request", "opened", squatter, 0))  # type: ignore[arg-type]
    assert ops.calls == []
