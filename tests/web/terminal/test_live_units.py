"""The live pages' event bodies and fan-out (janus.web.terminal.live), without a cluster."""

from __future__ import annotations

import asyncio
from typing import Any

from janus.resource import AccessRequestView
from janus.web.terminal.live import GrantFeed, ending_of, payload
from janus.web.terminal.watcher import _end_reason


def _view(phase: str = "Active", *, revocation: dict[str, str] | None = None,
          status: dict[str, Any] | None = None) -> AccessRequestView:
    spec: dict[str, Any] = {"requester": "alice", "cluster": "prod", "namespace": "pay",
                            "role": "pod-exec", "provenance": {"repo": "acme/access",
                                                               "pullRequest": 12}}
    if revocation:
        spec["revocation"] = revocation
    return AccessRequestView.from_cr({
        "metadata": {"name": "cr-1"}, "spec": spec,
        "status": {"phase": phase, "expiresAt": "2030-01-01T10:00:00Z", **(status or {})}})


def test_in_force_grant_has_no_ending() -> None:
    assert ending_of(_view()) is None
    body = payload(_view())
    assert body["ended"] is False and body["expiresAt"] == "2030-01-01T10:00:00Z"
    assert body["pullRequest"] == 12 and body["requester"] == "alice"


def test_revocation_says_who_and_why_as_soon_as_it_is_requested() -> None:
    ending = ending_of(_view(revocation={"by": "root", "reason": "INC-7 closed"}))
    assert ending is not None
    assert (ending.how, ending.by, ending.why) == ("revoked", "root", "INC-7 closed")
    assert ending.text == "Revoked by root: INC-7 closed."
    # The controller's record wins once written.
    recorded = _view("Revoked", revocation={"by": "root", "reason": "x"},
                     status={"revokedBy": "root", "revokedReason": "recorded"})
    assert ending_of(recorded).text == "Revoked by root: recorded."  # type: ignore[union-attr]


def test_relinquish_expiry_failure_and_deletion_read_differently() -> None:
    mine = ending_of(_view(revocation={"by": "alice", "reason": "done"}))
    assert mine is not None and mine.how == "relinquished"
    assert mine.text == "Relinquished by alice: done."
    expired = ending_of(_view("Expired"))
    assert expired is not None and expired.text == "Expired at 2030-01-01T10:00:00Z."
    failed = ending_of(_view("Failed", status={"message": "no such namespace"}))
    assert failed is not None and failed.text == "Failed: no such namespace."
    assert payload(_view(), deleted=True)["phase"] == "Deleted"
    assert payload(_view(), deleted=True)["text"] == "The grant no longer exists."


def test_terminal_close_message_keeps_its_first_sentence_and_adds_who_why() -> None:
    reason, message = _end_reason(_view(revocation={"by": "root", "reason": "INC-7"}))
    assert reason == "revoked"
    assert message == "The grant was revoked. Revoked by root: INC-7."


def test_feed_fans_out_and_closes() -> None:
    async def scenario() -> list[Any]:
        feed = GrantFeed()
        got: list[Any] = []
        with feed.subscribe() as first, feed.subscribe() as second:
            assert feed.subscribers == 2
            feed.publish(_view())
            feed.close()
            for queue in (first, second):
                got.append(await queue.get())
                got.append(await queue.get())
        assert feed.subscribers == 0
        return got

    got = asyncio.run(scenario())
    assert [g["name"] if g else None for g in got] == ["cr-1", None, "cr-1", None]


def test_feed_keeps_the_latest_state_for_reconnecting_pages() -> None:
    feed = GrantFeed()
    assert feed.latest("cr-1") is None
    feed.remember(_view())
    assert feed.latest("cr-1")["ended"] is False  # type: ignore[index]
    feed.publish(_view(revocation={"by": "root", "reason": "x"}))
    assert feed.latest("cr-1")["by"] == "root"  # type: ignore[index]
    feed.publish(_view(), deleted=True)
    assert feed.latest("cr-1") is None
