"""Terminal sessions in the ledger (issue 10, docs/design.md §11), end to end on the real receiver,
the real API server and the simulator's real git: a TerminalSession written as the web app
writes it (created at open, status once at close) lands in its grant's entry and is then deleted;
one closing after the grant ended is merged into the ended entry; one whose AccessRequest is gone
is placed by the AccessRequest's name."""

from __future__ import annotations

import datetime as dt
import secrets
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from kubernetes import client

from janus import resource
from janus.model import ledger
from janus.resource import sessions
from tests.e2e.test_ledger import LedgerLoop, _end, _granted, _make_loop, _subjects
from tests.gitops.harness import cr_name
from tests.integration.controller_env import wait_for

pytestmark = pytest.mark.k8s_real

SHA = "ab" * 32


@pytest.fixture
def sloop(e2e_sim, cluster, janus_ns, tmp_path: Path) -> Iterator[LedgerLoop]:
    loop = _make_loop(e2e_sim, cluster, janus_ns, tmp_path, None)
    try:
        yield loop
    finally:
        loop.receiver.stop()


def _objects(loop: LedgerLoop) -> Any:
    return client.CustomObjectsApi(loop.crs.api_client)


def _open(loop: LedgerLoop, name: str, session_id: str, entry_path: str) -> str:
    """A TerminalSession as the web app creates it when a shell opens."""
    cr = cr_name(name)
    ts = sessions.session_name(cr, session_id, secrets.token_hex(3))
    body = sessions.opened_body(
        name=ts, namespace=loop.janus_ns, access_request=cr, ledger_entry=entry_path,
        session_id=session_id, user="alice", cluster="prod", target_namespace="payments",
        pod="api-0", container="app", opened_at=dt.datetime.now(dt.UTC))
    _objects(loop).create_namespaced_custom_object(
        resource.GROUP, resource.VERSION, loop.janus_ns, sessions.PLURAL, body)
    return ts


def _close(loop: LedgerLoop, ts: str, reason: str = "exited") -> None:
    status = sessions.closed_status(closed_at=dt.datetime.now(dt.UTC), reason=reason,
                                    bytes_in=12, bytes_out=3456, recording_size=4000,
                                    recording_sha256=SHA)
    _objects(loop).patch_namespaced_custom_object_status(
        resource.GROUP, resource.VERSION, loop.janus_ns, sessions.PLURAL, ts, status,
        _content_type="application/merge-patch+json")


def _gone(loop: LedgerLoop, ts: str) -> bool:
    try:
        _objects(loop).get_namespaced_custom_object(
            resource.GROUP, resource.VERSION, loop.janus_ns, sessions.PLURAL, ts)
    except client.ApiException as exc:
        return exc.status == 404
    return False


def _session(entry: ledger.Entry, session_id: str) -> ledger.Session | None:
    return next((s for s in entry.sessions if s.id == session_id), None)


def test_a_closed_session_lands_in_its_entry_and_its_report_is_deleted(sloop) -> None:
    loop = sloop
    name, number, path = _granted(loop)
    ts = _open(loop, name, "41", path)
    # Open: nothing recorded yet (only closed sessions are).
    assert loop.entry(path).sessions == ()
    _close(loop, ts)
    e = loop.wait_entry(path, lambda e: _session(e, "41") is not None, "the session recorded")
    s = _session(e, "41")
    assert (s.user, s.pod, s.container, s.close_reason) == ("alice", "api-0", "app", "exited")
    assert (s.bytes_in, s.bytes_out) == (12, 3456)
    assert s.recording == ledger.Recording(size=4000, sha256=SHA)
    assert s.opened and s.closed and s.opened <= s.closed
    assert e.end is None  # the grant goes on
    wait_for(lambda: _gone(loop, ts), 15, "the recorded TerminalSession deleted")
    assert any(line.startswith("janus: ") and f"#{number}" in line
               for line in _subjects(loop, path))


def test_a_session_closing_after_the_end_is_merged_into_the_ended_entry(sloop) -> None:
    loop = sloop
    name, number, path = _granted(loop)
    first, late = _open(loop, name, "51", path), _open(loop, name, "52", path)
    _close(loop, first, "client-closed")
    loop.wait_entry(path, lambda e: _session(e, "51") is not None, "the first session")
    _end(loop, "expired", name, number)
    loop.wait_entry(path, lambda e: e.end is not None, "the end")
    _close(loop, late, "expired")  # the web app closes it when it sees the expiry
    e = loop.wait_entry(path, lambda e: _session(e, "52") is not None, "the late session")
    assert e.end is not None and e.end.how == "expired"
    assert [s.id for s in e.sessions] == ["51", "52"]
    assert _session(e, "52").close_reason == "expired"
    wait_for(lambda: _gone(loop, late) and _gone(loop, first), 15, "both reports deleted")


def test_a_session_of_a_deleted_grant_is_found_by_the_grant_name(sloop) -> None:
    """The web app copied no entry path (the annotation was not there yet) and the
    AccessRequest is gone by the time the session closes: the entry is found by its name."""
    loop = sloop
    name, number, path = _granted(loop)
    ts = _open(loop, name, "61", "")
    _end(loop, "deleted", name, number)
    loop.wait_entry(path, lambda e: e.end is not None, "the end")
    wait_for(lambda: loop.crs.get(cr_name(name)) is None, 15, "the CR gone")
    _close(loop, ts, "grant-ended")
    e = loop.wait_entry(path, lambda e: _session(e, "61") is not None, "the session")
    assert e.end.how == "deleted"
    wait_for(lambda: _gone(loop, ts), 15, "the report deleted")


def test_the_report_is_final_once_closed(sloop) -> None:
    """The CRD's rules: spec immutable; a closed session's status cannot be rewritten. (A
    session of a grant nobody recorded: the receiver leaves it alone, so it stays to test.)"""
    loop = sloop
    ts = _open(loop, "no-such-grant", "71", "")
    with pytest.raises(client.ApiException) as exc:
        _objects(loop).patch_namespaced_custom_object(
            resource.GROUP, resource.VERSION, loop.janus_ns, sessions.PLURAL, ts,
            {"spec": {"user": "mallory"}})
    assert exc.value.status == 422 and "immutable" in exc.value.body
    _close(loop, ts)
    with pytest.raises(client.ApiException) as exc:
        _objects(loop).patch_namespaced_custom_object_status(
            resource.GROUP, resource.VERSION, loop.janus_ns, sessions.PLURAL, ts,
            {"status": {"bytesOut": 1}}, _content_type="application/merge-patch+json")
    assert exc.value.status == 422 and "final" in exc.value.body
    assert not _gone(loop, ts)  # unplaced: kept, never guessed into another entry


def test_a_session_never_closed_is_recorded_as_not_reported_after_the_end(
        sloop, monkeypatch: pytest.MonkeyPatch) -> None:
    """A web replica that died leaves its session open for ever: once the grant's end is in the
    ledger (for STALE_SECONDS, here 0), it is recorded as never reported closed."""
    from janus.gitops import session_recorder

    monkeypatch.setattr(session_recorder, "STALE_SECONDS", 0.0)
    loop = sloop
    name, number, path = _granted(loop)
    ts = _open(loop, name, "81", path)
    time.sleep(3)  # open while the grant is live: left alone (relists every 2 s)
    assert _session(loop.entry(path), "81") is None and not _gone(loop, ts)
    _end(loop, "failed", name, number)  # (ended now: an expiry's end is its expiresAt, 2099)
    e = loop.wait_entry(path, lambda e: _session(e, "81") is not None, "the stale session")
    s = _session(e, "81")
    assert s.close_reason == "not-reported" and s.closed is None and s.recording is None
    wait_for(lambda: _gone(loop, ts), 15, "the report deleted")
