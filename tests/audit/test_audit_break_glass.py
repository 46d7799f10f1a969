"""`janus audit` shows break-glass from the ledger: an outage grant (no PR, no merge commit, the
cluster admin and their reason) and a PR break-glass grant whose review went overdue and was
acknowledged late; the strict loader refuses a non-break-glass entry without a merge commit or
blob, and an outage entry that claims a PR."""

from __future__ import annotations

import dataclasses

import pytest

from janus.audit import render
from janus.audit.query import Answer, Row
from janus.model import ledger
from tests.gitops.ledger_support import entry_for

OUTAGE = dataclasses.replace(
    entry_for("bg-alice-1", pr=0, merge_commit="a" * 40, blob="b" * 40),
    merge=ledger.MergeRecord(repo="acme/access", pull_request=0, commit=None,
                             merged_at="2026-11-30T01:00:00Z", merged_by=None),
    break_glass=ledger.BreakGlass(via="outage", review_due="2026-12-01T01:00:00Z",
                                  review_issue=7, by="root", reason="INC-9: GitHub is down",
                                  at="2026-11-30T01:00:00Z"))
OUTAGE = dataclasses.replace(OUTAGE, request=dataclasses.replace(OUTAGE.request, blob_sha=None))
VIA_PR = dataclasses.replace(
    entry_for("alice-2", pr=12, merge_commit="c" * 40, blob="d" * 40),
    merge=ledger.MergeRecord(repo="acme/access", pull_request=12, commit="c" * 40,
                             merged_at="2026-11-30T01:00:00Z", merged_by="janus[bot]"),
    break_glass=ledger.BreakGlass(
        via="pull-request", review_due="2026-12-01T01:00:00Z", review_issue=13,
        overdue_at="2026-12-01T02:00:00Z",
        acknowledged=ledger.Acknowledgement(by="bob", at="2026-12-01T03:00:00Z",
                                            comment="restart only")))


def _answer(*entries: ledger.Entry) -> Answer:
    rows = tuple(Row("access", "active", e.path, e) for e in entries)
    return Answer(rows=rows, problems=(), entries_total=len(rows), ledger_commit="x",
                  requests_commit="y")


def test_break_glass_entries_round_trip_and_render() -> None:
    for entry in (OUTAGE, VIA_PR):
        assert ledger.loads(entry.path, ledger.dump(entry)) == entry
    assert "-pr0-" in OUTAGE.path
    outage, via_pr = (render.row_fields(r) for r in _answer(OUTAGE, VIA_PR).rows)
    assert outage["break_glass"] == ("outage by root: INC-9: GitHub is down; review #7 due "
                                     "2026-12-01T01:00:00Z")
    assert outage["merge_commit"] is None and outage["approvers"] == ""
    assert via_pr["break_glass"] == ("pull-request; review #13 acknowledged by bob at "
                                     "2026-12-01T03:00:00Z (late)")
    table = render.answer_table(_answer(OUTAGE, VIA_PR))
    assert table.count("BREAK-GLASS") == 2 and "#12" in table and "#0" not in table
    assert "break_glass" in render.answer_csv(_answer(OUTAGE)).splitlines()[0]


def test_only_an_outage_entry_may_lack_a_merge_and_it_claims_no_pr() -> None:
    plain = dataclasses.replace(OUTAGE, break_glass=None)
    with pytest.raises(ledger.LedgerError, match="only an outage break-glass entry"):
        ledger.loads(plain.path, ledger.dump(plain))
    claims = dataclasses.replace(OUTAGE, merge=dataclasses.replace(OUTAGE.merge,
                                                                   pull_request=5))
    with pytest.raises(ledger.LedgerError, match="an outage break-glass entry has none"):
        ledger.loads(claims.path, ledger.dump(claims))
