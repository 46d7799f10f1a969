"""Issue 13, break-glass in the ledger, on the real API server and the simulator (the receiver's
GitOps with its ledger keeper and writer, flushed by hand): an outage grant (``janus
break-glass`` while GitHub was away) gets an entry of its own once GitHub answers — break-glass,
by which admin, why, when, no PR — recorded exactly once across two reconcile passes and a
restart; a review that goes overdue is recorded once, its acknowledgement once (also when the
delivery is replayed); an ordinary grant gets no break-glass record at all."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from kubernetes import client

from janus import names, resource
from janus.gitops import break_glass, ledger_keeper
from janus.gitops.ledger_keeper import LedgerKeeper
from janus.gitops.reconcile import Reconciler
from janus.model import ledger
from tests.gitops import harness
from tests.gitops.test_break_glass import RULESET_BYPASS, _ack, _open, _reviews


def _keeper(gitops: Any) -> LedgerKeeper:
    keeper = ledger_keeper.build(gitops.gh, gitops.repo.full_name, gitops.crs,
                                 default_branch=gitops.default_branch, batch_seconds=0)
    gitops.ledger = keeper
    return keeper


def _flush(keeper: LedgerKeeper) -> None:
    assert keeper.writer.write_once(), keeper.writer.last_error
    assert keeper.writer.pending() == []


def _entries(keeper: LedgerKeeper, cr: str) -> dict[str, ledger.Entry]:
    head = keeper.git.head(keeper.branch)
    assert head is not None
    found = {}
    for path in keeper.git.list_dir(head.tree, ledger.LEDGER_DIR):
        if path.endswith(f"-{cr}.yaml"):
            data = keeper.git.read(head.tree, path)
            assert data is not None
            found[path] = ledger.loads(path, data[0])
    return found


def _head(keeper: LedgerKeeper) -> str:
    head = keeper.git.head(keeper.branch)
    assert head is not None
    return head.commit


def _commit_lines(bed: harness.Bed, needle: str) -> list[str]:
    gh = break_glass_gh(bed)
    return [c.commit.message for c in gh.get_commits() if needle in c.commit.message]


def break_glass_gh(bed: harness.Bed) -> Any:
    from tests.gitops.test_break_glass import _gh
    return _gh(bed)


def _outage_cr(kube: Any, *, label: bool = True) -> tuple[str, str]:
    from janus.cli.break_glass import create

    name = f"bg-alice-{harness.request_name('x')[-8:]}"
    cr_name = harness.cr_name(name)
    spec = {"requestName": name, "requester": "alice", "cluster": "prod", "namespace": "payments",
            "role": "pod-exec", "duration": "30m",
            "reason": "INC-9: GitHub down, payments stuck", "ticket": "INC-9"}
    create(kube, names.JANUS_NAMESPACE, cr_name, spec, "root",
           "INC-9: GitHub down, payments stuck")
    if not label:  # an admin-made grant that is not break-glass
        client.CustomObjectsApi(kube).patch_namespaced_custom_object(
            resource.GROUP, resource.VERSION, names.JANUS_NAMESPACE, resource.PLURAL, cr_name,
            {"metadata": {"labels": {names.LABEL_BREAK_GLASS: None}}})
    return name, cr_name


def _delete(kube: Any, cr_name: str) -> None:
    client.CustomObjectsApi(kube).delete_namespaced_custom_object(
        resource.GROUP, resource.VERSION, names.JANUS_NAMESPACE, resource.PLURAL, cr_name)


def _protect(bed: harness.Bed) -> None:
    """The documented setup with the ledger on the default branch: one approval required; the
    Janus App bypasses it always (it merges break-glass PRs and pushes ledger commits)."""
    bed.sim.world.add_ruleset(bed.repo, "protect main", ["pull_request"], required_approvals=1,
                              bypass=[{"actor_type": RULESET_BYPASS, "actor_id": bed.app_id,
                                       "bypass_mode": "always"}])


def _break_glass_pending(keeper: LedgerKeeper) -> list[Any]:
    return [t for t in keeper.writer.pending() if t.kind == "break-glass"]


# -- hostile: what must never be recorded ---------------------------------------------------------


def test_a_grant_that_is_not_break_glass_gets_no_break_glass_record(bed, gitops, kube) -> None:
    keeper = _keeper(gitops)
    # An ordinary approved grant through a PR...
    name, _number = harness.granted_request(bed, gitops)
    # ...and an admin-made AccessRequest without the break-glass label.
    _, plain = _outage_cr(kube, label=False)
    try:
        seen: set[tuple[str, ...]] = set()
        break_glass.reconcile(gitops, gitops.crs.list(), seen=seen)
        break_glass.flag_overdue(gitops, dt.datetime.now(dt.UTC) + dt.timedelta(days=3), seen)
        assert _break_glass_pending(keeper) == []
        assert keeper.writer.pending() == []  # the keeper's watch is not running here
        assert _reviews(bed) == []
        assert _entries(keeper, plain) == {}
        assert _entries(keeper, harness.cr_name(name)) == {}
    finally:
        _delete(kube, plain)


# -- the outage grant: recorded once GitHub answers, exactly once ---------------------------------


def test_outage_grant_recorded_once_across_two_passes_and_a_restart(bed, gitops, kube) -> None:
    keeper = _keeper(gitops)
    _, cr_name = _outage_cr(kube)
    try:
        reconciler = Reconciler(gitops)
        reconciler.run()
        reconciler.run()  # a second pass of the same process submits nothing again
        assert len(_break_glass_pending(keeper)) == 1
        _flush(keeper)
        [(path, entry)] = _entries(keeper, cr_name).items()
        [review] = [r for r in _reviews(bed) if cr_name in (r.body or "")]
        bg = entry.break_glass
        assert bg is not None and bg.via == "outage"
        assert (bg.by, bg.reason) == ("root", "INC-9: GitHub down, payments stuck")
        assert bg.at == entry.merge.merged_at and bg.review_issue == review.number
        assert bg.overdue_at is None and bg.acknowledged is None
        assert entry.merge.pull_request == 0 and entry.merge.commit is None
        assert entry.merge.approvers == () and entry.request.blob_sha is None
        assert path == ledger.entry_path(entry.merge.merged_at, 0, cr_name)
        assert "-pr0-" in path and entry.request.requester == "alice"
        assert len(_commit_lines(bed, "by cluster admin root")) == 1
        first = _head(keeper)

        # A restart: a new receiver (fresh memory, new keeper and writer) submits it once more
        # and the writer finds it recorded: no commit.
        again = harness.make_gitops(bed, kube)
        keeper2 = _keeper(again)
        Reconciler(again).run()
        assert len(_break_glass_pending(keeper2)) == 1
        _flush(keeper2)
        assert _head(keeper2) == first and keeper2.writer.commits == 0
        assert len(_entries(keeper2, cr_name)) == 1
        assert len([r for r in _reviews(bed) if cr_name in (r.body or "")]) == 1

        # bob's acknowledgement is recorded once; the replayed delivery adds nothing.
        said = _ack(bed, again, review.number, "bob",
                    "/janus ack talked to alice and root: restart during the outage")
        assert "acknowledged the break-glass" in said
        _flush(keeper2)
        [entry] = _entries(keeper2, cr_name).values()
        assert entry.break_glass is not None and entry.break_glass.acknowledged is not None
        ack = entry.break_glass.acknowledged
        assert ack.by == "bob"
        assert ack.comment == "talked to alice and root: restart during the outage"
        assert ledger.parse_time(ack.at) <= dt.datetime.now(dt.UTC)
        acked = _head(keeper2)
        comment = [c for c in break_glass_gh(bed).get_issue(review.number).get_comments()
                   if c.user.login == "bob"][-1]
        again.handle_comment({"issue": {"number": review.number},
                              "comment": {"id": comment.id, "body": comment.body}})
        _flush(keeper2)
        assert _head(keeper2) == acked
        assert len(_commit_lines(bed, "acknowledged by bob")) == 1
        # audit verify-style strict load of the whole ledger still passes for this entry.
        assert ledger.loads(path, ledger.dump(entry)) == entry
    finally:
        _delete(kube, cr_name)


# -- the PR path: overdue and acknowledgement, once each -----------------------------------------


def test_overdue_and_late_ack_recorded_once_each(bed, gitops, kube) -> None:
    keeper = _keeper(gitops)
    _protect(bed)
    name = harness.request_name()
    number = _open(bed, name, duration="30m")
    gitops.check_pull(number)
    gitops.process_merge(number)
    gitops.process_merge(number)  # a replayed merge delivery
    _flush(keeper)
    cr_name = harness.cr_name(name)
    [entry] = _entries(keeper, cr_name).values()
    [review] = _reviews(bed)
    assert entry.merge.pull_request == number and entry.merge.commit
    bg = entry.break_glass
    assert bg is not None and bg.via == "pull-request" and bg.review_issue == review.number
    assert bg.by is None and bg.overdue_at is None and bg.acknowledged is None
    due = ledger.parse_time(bg.review_due or "")
    assert due - ledger.parse_time(entry.merge.merged_at) == dt.timedelta(hours=24)

    seen: set[tuple[str, ...]] = set()
    assert break_glass.flag_overdue(gitops, seen=seen) == []  # within its 24h
    assert _break_glass_pending(keeper) == []
    later = dt.datetime.now(dt.UTC) + dt.timedelta(hours=25)
    assert break_glass.flag_overdue(gitops, later, seen) == [review.number]
    assert break_glass.flag_overdue(gitops, later, seen) == []
    assert len(_break_glass_pending(keeper)) == 1
    _flush(keeper)
    [entry] = _entries(keeper, cr_name).values()
    assert entry.break_glass is not None
    assert entry.break_glass.overdue_at == ledger.fmt_time(later)
    overdue = _head(keeper)
    # A restart (fresh memory): the labelled review is submitted once more, the first overdue
    # time stands, no commit; then nothing more.
    fresh: set[tuple[str, ...]] = set()
    assert break_glass.flag_overdue(gitops, later + dt.timedelta(hours=1), fresh) == []
    assert len(_break_glass_pending(keeper)) == 1
    _flush(keeper)
    assert _head(keeper) == overdue
    assert break_glass.flag_overdue(gitops, later + dt.timedelta(hours=2), fresh) == []
    assert _break_glass_pending(keeper) == []
    assert len(_commit_lines(bed, "overdue")) == 1

    # alice's own ack records nothing; bob's late ack is recorded, once.
    _ack(bed, gitops, review.number, "alice", "/janus ack it was me, all fine really")
    assert _break_glass_pending(keeper) == []
    _ack(bed, gitops, review.number, "bob", "/janus ack reviewed late: restart only")
    _flush(keeper)
    [entry] = _entries(keeper, cr_name).values()
    assert entry.break_glass is not None and entry.break_glass.acknowledged is not None
    assert entry.break_glass.acknowledged.by == "bob"
    assert entry.break_glass.overdue_at == ledger.fmt_time(later)  # kept
    assert len(_commit_lines(bed, "acknowledged by bob")) == 1


@pytest.mark.parametrize("field", ["by", "overdue_at"])
def test_a_recorded_fact_is_never_rewritten(field: str) -> None:
    first = ledger.BreakGlass(via="outage", by="root", overdue_at="2026-11-30T01:00:00Z")
    later = ledger.BreakGlass(via="outage", by="mallory", overdue_at="2026-12-01T01:00:00Z")
    assert getattr(first.merged(later), field) == getattr(first, field)
