"""The ledger entry model: paths, stable YAML that round-trips, the strict loader, messages."""

from __future__ import annotations

import dataclasses
import datetime as dt

import pytest

from janus import names
from janus.model import ledger
from janus.model.ledger import (
    End,
    Entry,
    Extension,
    LedgerError,
    MergeRecord,
    Recording,
    RequestRecord,
    Session,
)

SHA1 = "a" * 40
SHA2 = "b" * 40
BLOB1 = "c" * 40
BLOB2 = "d" * 40
CR = names.access_request_name("prod", "payments", "alice-debug")


def _entry(**changes: object) -> Entry:
    base = Entry(
        request=RequestRecord(path="requests/prod/payments/alice-debug.yaml", blob_sha=BLOB1,
                              name="alice-debug", requester="alice", cluster="prod",
                              namespace="payments", role="pod-exec", duration="1h",
                              reason="incident 42", ticket="INC-42"),
        merge=MergeRecord(repo="acme/access", pull_request=12, commit=SHA1,
                          merged_at="2026-11-30T01:43:10Z", merged_by="bob",
                          approvers=("bob", "carol")),
        access_request=CR, granted_at="2026-11-30T01:43:12Z", expires_at="2026-11-30T02:43:12Z",
    )
    return dataclasses.replace(base, **changes)  # type: ignore[arg-type]


def _full() -> Entry:
    e = _entry()
    e = e.with_extension(Extension(
        merge=MergeRecord(repo="acme/access", pull_request=13, commit=SHA2,
                          merged_at="2026-11-30T02:00:00Z", merged_by="carol",
                          approvers=("carol",)),
        blob_sha=BLOB2, duration="2h", expires_at="2026-11-30T03:43:12Z"))
    e = e.with_sessions([Session(id="s1", user="alice", pod="api-0", container="app",
                                 opened="2026-11-30T01:50:00Z", closed="2026-11-30T01:55:00Z",
                                 close_reason="exit", bytes_in=10, bytes_out=2000,
                                 recording=Recording(size=1234, sha256="e" * 64))])
    return e.with_end(ledger.end_from("revoked", "2026-11-30T02:10:00Z", by="root",
                                      reason="done", via="pr-comment"))


def test_path_is_sortable_and_deterministic_from_the_merge() -> None:
    e = _entry()
    assert e.path == f"ledger/2026/11/30/20261130T014310Z-pr12-{CR}.yaml"
    assert ledger.entry_path(dt.datetime(2026, 11, 30, 1, 43, 10, tzinfo=dt.UTC), 12, CR) == e.path
    # An aware time in another zone names the same instant.
    cet = dt.timezone(dt.timedelta(hours=1))
    assert ledger.entry_path(dt.datetime(2026, 11, 30, 2, 43, 10, tzinfo=cet), 12, CR) == e.path
    assert ledger.parse_entry_path(e.path) == ("20261130T014310Z", 12, CR)
    assert ledger.parse_entry_path("ledger/README.md") is None
    later = ledger.entry_path("2026-12-01T00:00:00Z", 3, CR)
    assert sorted([later, e.path]) == [e.path, later]
    assert ledger.access_request_of("requests/prod/payments/alice-debug.yaml") == CR


def test_yaml_round_trips_and_is_stable() -> None:
    e = _full()
    data = ledger.dump(e)
    assert ledger.loads(e.path, data) == e
    assert ledger.dump(ledger.loads(e.path, data)) == data
    text = data.decode()
    assert text.startswith("accessRequest:")  # sorted keys
    assert "kind: LedgerEntry" in text and "version: 1" in text
    # A multi-line message survives.
    e2 = _entry(end=End(how="failed", at="2026-11-30T02:00:00Z", message="line 1\nline 2",
                        via="controller"))
    assert ledger.loads(e2.path, ledger.dump(e2)) == e2


def test_minimal_entry_leaves_empty_parts_out() -> None:
    e = _entry(granted_at=None, expires_at=None)
    doc = ledger.to_document(e)
    assert "extensions" not in doc and "sessions" not in doc and "end" not in doc
    assert ledger.loads(e.path, ledger.dump(e)) == e


@pytest.mark.parametrize("mutate, fragment", [
    (lambda d: d.update(extra=1), "unknown key"),
    (lambda d: d["merge"].update(commit="nothex"), "merge.commit"),
    (lambda d: d["merge"].update(pullRequest="12"), "pullRequest"),
    (lambda d: d["merge"].update(pullRequest=True), "pullRequest"),
    (lambda d: d.update(grantedAt="yesterday"), "grantedAt"),
    (lambda d: d.update(end={"how": "forgotten", "at": "2026-11-30T02:00:00Z"}), "end.how"),
    (lambda d: d.update(end={"how": "revoked", "at": "2026-11-30T02:00:00Z", "via": "fax"}),
     "end.via"),
    (lambda d: d.update(version=2), "version"),
    (lambda d: d.update(kind="Other"), "kind"),
    (lambda d: d["request"].pop("path"), "request.path: missing"),
    (lambda d: d.update(sessions=[{"id": "s"}]), "sessions[0]"),
    (lambda d: d.update(approvers=["x"]), "unknown key"),
])
def test_loader_is_strict(mutate: object, fragment: str) -> None:
    import yaml

    e = _full()
    doc = ledger.to_document(e)
    mutate(doc)  # type: ignore[operator]
    data = yaml.safe_dump(doc).encode()
    with pytest.raises(LedgerError, match=fragment.replace("[", r"\[").replace("]", r"\]")):
        ledger.loads(e.path, data)


def test_loader_refuses_unsafe_yaml_and_a_moved_entry() -> None:
    e = _entry()
    with pytest.raises(LedgerError, match="yaml"):
        ledger.loads(e.path, b"!!python/object:os.system {}\n")
    with pytest.raises(LedgerError, match="duplicate"):
        ledger.loads(e.path, b"version: 1\nversion: 1\n")
    moved = e.path.replace("pr12", "pr99")
    with pytest.raises(LedgerError, match="belongs at"):
        ledger.loads(moved, ledger.dump(e))


def test_merges_and_applied_once_lookup() -> None:
    e = _full()
    assert e.merges() == (SHA1, SHA2)
    assert e.records(SHA2, "requests/prod/payments/alice-debug.yaml")
    assert not e.records(SHA2, "requests/prod/payments/other.yaml")
    assert e.current_blob() == BLOB2
    assert e.expires_at == "2026-11-30T03:43:12Z"
    index = ledger.index_by_merge([e])
    assert index[(SHA1, e.request.path)] is e and index[(SHA2, e.request.path)] is e
    # The same extension twice is recorded once; the first end stands.
    assert e.with_extension(e.extensions[0]) is e
    assert e.with_end(End(how="expired", at="2026-11-30T09:00:00Z")).end == e.end


def test_sessions_merge_by_id() -> None:
    e = _full()
    s = dataclasses.replace(e.sessions[0], bytes_out=5000)
    other = Session(id="s0", user="alice", pod="api-1", container="app",
                    opened="2026-11-30T01:45:00Z")
    merged = e.with_sessions([s, other])
    assert [x.id for x in merged.sessions] == ["s0", "s1"]
    assert merged.sessions[1].bytes_out == 5000


def test_commit_messages_are_one_readable_line() -> None:
    e = _full()
    assert ledger.message_ended(e) == \
        "janus: revoked alice → prod/payments (PR #12) by root: done"
    assert ledger.message_granted(_entry()) == (
        "janus: granted alice → prod/payments (PR #12) until 2026-11-30T02:43:12Z, "
        "approved by bob, carol")
    assert "extended" in ledger.message_extended(e, e.extensions[0])
    nasty = e.with_end(End(how="x", at="y"))  # first end stands
    assert nasty.end == e.end
    evil = _entry().with_end(ledger.end_from("revoked", "2026-11-30T02:10:00Z", by="root",
                                             reason="a\nb\u202ec" + "x" * 500))
    line = ledger.message_ended(evil)
    assert "\n" not in line and "\u202e" not in line and len(line) <= 200
    batch = ledger.batch_message([ledger.message_ended(e), ledger.message_ended(e),
                                  ledger.message_granted(_entry())])
    subject, _, body = batch.partition("\n\n")
    assert subject == "janus: ledger: 1 granted, 2 revoked"
    assert len(body.strip().splitlines()) == 3
    assert ledger.batch_message([ledger.message_ended(e)]) == ledger.message_ended(e)


def test_end_from_checks_its_words() -> None:
    with pytest.raises(ValueError):
        ledger.end_from("vanished", "2026-11-30T02:10:00Z")
    with pytest.raises(ValueError):
        ledger.end_from("revoked", "2026-11-30T02:10:00Z", via="fax")
