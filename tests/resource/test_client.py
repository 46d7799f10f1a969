"""AccessRequestClient against a real API server (the CRD's own rules included)."""

from __future__ import annotations

import datetime as dt
import itertools
from collections.abc import Iterator
from typing import Any

import pytest

from janus.resource import crd, errors
from janus.resource.client import AccessRequestClient, WatchEvent
from tests.k8s_helpers import ensure_namespace

pytestmark = pytest.mark.k8s_real

_counter = itertools.count()
NOW = dt.datetime(2026, 5, 1, 12, 0, tzinfo=dt.UTC)


def _spec(**extra: Any) -> dict[str, Any]:
    return {"requestName": "fix", "requester": "alice", "cluster": "prod",
            "namespace": "payments", "role": "pod-exec", "duration": "2h",
            "reason": "incident", **extra}


@pytest.fixture
def crs(cluster: Any, unique_ns: str) -> AccessRequestClient:
    api = cluster.admin_client()
    crd.install(api)
    ensure_namespace(api, unique_ns)
    return AccessRequestClient(api, unique_ns, field_manager="janus-test")


def _name() -> str:
    return f"ar-{next(_counter)}"


def test_create_get_find_list(crs: AccessRequestClient) -> None:
    a, b = _name(), _name()
    created = crs.create(a, _spec(), labels={"janus.dev/cluster": "prod"})
    crs.create(b, _spec(cluster="staging"), labels={"janus.dev/cluster": "staging"})
    assert created.name == a and created.meta.namespace == crs.namespace
    assert created.resource_version and created.phase == "Approved"
    got = crs.get(a)
    assert (got.requester, got.cluster, got.namespace) == ("alice", "prod", "payments")
    assert crs.find("absent") is None
    with pytest.raises(errors.NotFound):
        crs.get("absent")
    assert {v.name for v in crs.list()} == {a, b}
    assert [v.name for v in crs.list("janus.dev/cluster=staging")] == [b]


def test_create_twice_is_already_exists(crs: AccessRequestClient) -> None:
    name = _name()
    crs.create(name, _spec())
    with pytest.raises(errors.AlreadyExists):
        crs.create(name, _spec())


def test_an_invalid_spec_is_rejected(crs: AccessRequestClient) -> None:
    with pytest.raises(errors.Rejected):
        crs.create(_name(), _spec(cluster="Not A DNS Label"))


def test_write_status_is_a_compare_and_set(crs: AccessRequestClient) -> None:
    name = _name()
    first = crs.create(name, _spec())
    active = crs.write_status(name, first.resource_version,
                              {"phase": "Active", "grantedAt": "2026-05-01T12:00:00Z",
                               "expiresAt": "2026-05-01T14:00:00Z"})
    assert active.phase == "Active"
    assert active.expires_at == dt.datetime(2026, 5, 1, 14, tzinfo=dt.UTC)
    with pytest.raises(errors.Conflict):  # decided on the stale first version
        crs.write_status(name, first.resource_version, {"phase": "Expired"})
    assert crs.get(name).phase == "Active"


def test_patch_spec(crs: AccessRequestClient) -> None:
    name = _name()
    created = crs.create(name, _spec(ticket="INC-1"))
    patched = crs.patch_spec(name, {"duration": "3h", "ticket": None})
    assert patched.duration == "3h" and patched.ticket is None
    with pytest.raises(errors.Conflict):
        crs.patch_spec(name, {"duration": "4h"}, resource_version=created.resource_version)
    with pytest.raises(errors.Rejected):  # the CRD's immutability rule
        crs.patch_spec(name, {"requester": "mallory"})


def test_revocation_is_written_once(crs: AccessRequestClient) -> None:
    name = _name()
    crs.create(name, _spec())
    revoked = crs.request_revocation(name, "bob", "done", NOW)
    assert revoked.revocation is not None
    assert (revoked.revocation.by, revoked.revocation.reason) == ("bob", "done")
    assert revoked.revocation.requested_at == NOW
    with pytest.raises(errors.AlreadyRevoked) as caught:
        crs.request_revocation(name, "carol", "again", NOW + dt.timedelta(seconds=5))
    assert caught.value.current is not None and caught.value.current.revocation.by == "bob"
    assert crs.get(name).revocation.by == "bob"  # type: ignore[union-attr]
    with pytest.raises(errors.NotFound):
        crs.request_revocation("absent", "bob", "x", NOW)


def test_revocation_text_is_cut_to_the_schema(crs: AccessRequestClient) -> None:
    name = _name()
    crs.create(name, _spec())
    revoked = crs.request_revocation(name, "b" * 150, "r" * 900, NOW)
    assert revoked.revocation is not None
    assert len(revoked.revocation.by) == 100 and len(revoked.revocation.reason) == 500


def test_an_ended_grant_cannot_be_revoked(crs: AccessRequestClient) -> None:
    name = _name()
    created = crs.create(name, _spec())
    crs.write_status(name, created.resource_version, {"phase": "Expired"})
    with pytest.raises(errors.GrantEnded):
        crs.request_revocation(name, "bob", "late", NOW)
    assert crs.get(name).revocation is None


def test_a_racing_revocation_is_reported_not_overwritten(
        crs: AccessRequestClient, monkeypatch: pytest.MonkeyPatch) -> None:
    """Our read saw no revocation; someone else's lands before our write."""
    name = _name()
    crs.create(name, _spec())
    real_get = crs.get
    calls = {"n": 0}

    def stale_then_real(n: str) -> Any:
        calls["n"] += 1
        view = real_get(n)
        if calls["n"] == 1:
            crs.patch_spec(n, {"revocation": {"by": "carol", "reason": "first",
                                              "requestedAt": "2026-05-01T11:00:00Z"}})
        return view

    monkeypatch.setattr(crs, "get", stale_then_real)
    with pytest.raises(errors.AlreadyRevoked):
        crs.request_revocation(name, "bob", "second", NOW)
    assert real_get(name).revocation.by == "carol"  # type: ignore[union-attr]


def test_delete(crs: AccessRequestClient) -> None:
    name = _name()
    created = crs.create(name, _spec())
    crs.delete(name, uid="another-uid")  # precondition fails: left alone
    assert crs.find(name) is not None
    crs.delete(name, uid=created.meta.uid)
    assert crs.find(name) is None
    crs.delete(name)  # gone already: fine


def _until(events: Iterator[WatchEvent], want: Any) -> list[WatchEvent]:
    seen = []
    for ev in events:
        seen.append(ev)
        if want(ev):
            return seen
    raise AssertionError(f"watch ended without the event; saw {seen}")


def test_watch_relists_when_its_version_is_gone(
        crs: AccessRequestClient, monkeypatch: pytest.MonkeyPatch) -> None:
    """A version older than what the server keeps is 410 Gone: list again, then watch on.
    (504 "Too large resource version" is covered in test_watch.py: this server waits instead.)"""
    stale_version = "1"
    name = _name()
    crs.create(name, _spec())
    real = crs.list_with_version
    listings = {"n": 0}

    def first_listing_stale(selector: str | None = None) -> Any:
        listings["n"] += 1
        items, version = real(selector)
        return (items, stale_version) if listings["n"] == 1 else (items, version)

    monkeypatch.setattr(crs, "list_with_version", first_listing_stale)
    events = crs.watch(timeout_seconds=5)
    seen = _until(events, lambda ev: ev.type == "LISTED" and listings["n"] == 2)
    assert [ev.view.name for ev in seen if ev.type == "LISTED"] == [name, name]
    crs.patch_spec(name, {"duration": "3h"})
    seen = _until(events, lambda ev: ev.type == "MODIFIED")
    assert seen[-1].view.duration == "3h"
    events.close()


def test_watch_stops_when_asked(crs: AccessRequestClient) -> None:
    import threading

    name = _name()
    crs.create(name, _spec())
    stop = threading.Event()
    seen = []
    for ev in crs.watch(stop=stop, timeout_seconds=1):
        seen.append(ev)
        stop.set()
    assert [ev.type for ev in seen] == ["LISTED"]


def test_revocation_notes_its_path_in_the_same_write(crs: AccessRequestClient) -> None:
    """``via`` (web, cli, pr-comment, ...) lands as the annotation the ledger reads, in the one
    patch that writes spec.revocation."""
    name = _name()
    crs.create(name, _spec())
    view = crs.request_revocation(name, "alice", "done", NOW, via="cli")
    assert view.revocation is not None and view.revocation.by == "alice"
    assert view.meta.annotations["janus.dev/revoked-via"] == "cli"
