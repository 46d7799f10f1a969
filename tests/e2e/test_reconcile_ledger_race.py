"""Reconcile against a merge worker finishing mid-pass (issue 10): a live grant must never be
recorded as ended.

The race, made deterministic: the pass lists the AccessRequests (none for the new merge yet),
then — before it reads the branch and the ledger — the merge worker creates the CR and the
ledger commits its ``applied`` entry. Read naively, the pass then sees "file on main, no CR,
merge recorded in the ledger" and "repairs" a live grant as ``deleted via reconcile``,
removing its request file. Seen under load in tests/e2e/test_ledger_sessions.py (2 of 3 runs).
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from janus.dev.github_sim.errors import ApiError
from tests.e2e.test_ledger import LedgerLoop, _make_loop
from tests.gitops.harness import cr_name, open_request_pr, request_name, request_path
from tests.integration.controller_env import wait_for

pytestmark = pytest.mark.k8s_real


@pytest.fixture
def loop(e2e_sim, cluster, janus_ns, tmp_path: Path) -> Iterator[LedgerLoop]:
    made = _make_loop(e2e_sim, cluster, janus_ns, tmp_path, None)
    try:
        yield made
    finally:
        made.receiver.stop()


def _on_main(loop: LedgerLoop, path: str) -> bool:
    try:
        return loop.sim.read_file(loop.repo, path, ref="main") is not None
    except ApiError:
        return False


def test_merge_completed_between_cr_listing_and_head_read_is_not_ended(
        loop: LedgerLoop, monkeypatch: pytest.MonkeyPatch) -> None:
    name = request_name()
    number = open_request_pr(loop.sim, loop.repo, name)
    loop.sim.review(loop.repo, number, "bob", "APPROVE")
    loop.settle()
    loop.sim.drop_next(10)  # the merge's deliveries: the worker below runs it, mid-pass
    loop.sim.merge(loop.repo, number, actor="root")
    loop.sim.wait_for_deliveries(10)
    loop.sim.clear_faults()  # drops left over must not eat the next test's deliveries
    entry_path = loop.entry_path(number, name)

    real_list = loop.ops.crs.list
    me, fired = threading.get_ident(), threading.Event()

    def list_then_merge(*args: Any, **kwargs: Any) -> Any:
        listed = real_list(*args, **kwargs)
        if threading.get_ident() != me or fired.is_set():
            return listed
        fired.set()
        # The listing is taken; now the merge worker finishes: CR created, `applied` committed.
        loop.ops.process_merge(number)
        assert loop.crs.get(cr_name(name)) is not None
        loop.wait_entry(entry_path, lambda e: e.end is None, "the merge's applied entry")
        return listed  # what the pass saw: no CR for this merge

    monkeypatch.setattr(loop.ops.crs, "list", list_then_merge)
    report = _reconcile(loop)
    assert fired.is_set()
    monkeypatch.undo()

    keeper = loop.ops.ledger
    assert keeper is not None
    wait_for(lambda: not keeper.writer.pending(), 30, "the ledger writer idle")
    assert report.repaired == [], f"a live grant was repaired as ended: {report}"
    entry = loop.entry(entry_path)
    assert entry is not None and entry.end is None, f"live grant recorded as ended: {entry}"
    assert _on_main(loop, request_path(name)), "the live grant's request file was removed"
    view = loop.crs.get(cr_name(name))
    assert view is not None and view.revocation is None and not view.meta.deleting
    assert not view.ended


def _reconcile(loop: LedgerLoop) -> Any:
    """One pass of the receiver's own reconciler (its lock serialises it with push passes)."""
    return loop.receiver.reconciler.run()
