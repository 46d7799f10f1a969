"""The receiver SIGKILLed with deliveries in flight, and PostgreSQL restarted under load.

A real `janus webhook` process (tests/faults/receiver_process.py) receives signed merge
deliveries from the GitHub simulator and creates AccessRequests on the real API server; its
delivery store is SQLite or a real PostgreSQL server of the test's own (janus/dev/postgres.py),
signalled by the PID its LocalPostgres started.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.exc import SQLAlchemyError

from janus.dev.github_sim import GitHubSimulator
from janus.dev.postgres import LocalPostgres
from janus.gitops.crs import AccessRequests
from janus.web import db
from janus.web.sessions import WebSessionStore
from tests.e2e.receiver_setup import prepare_receiver
from tests.faults.receiver_process import LEASE_SECONDS, ReceiverProcess
from tests.gitops import harness
from tests.gitops.harness import cr_name, open_request_pr, request_name
from tests.integration.controller_env import prepare_central, wait_for

pytestmark = pytest.mark.k8s_real

MERGES = 8
# Every merge granted within this many seconds of the receiver being back (leases of the
# killed process run out after LEASE_SECONDS; each merge then costs its GitHub calls again).
GRANTED_BOUND = 90.0


@pytest.fixture(scope="module")
def sim() -> Iterator[tuple[Any, int, str]]:
    with GitHubSimulator.start() as simulator:
        harness.setup_people(simulator)
        app_id, key = simulator.create_app("janus-receiver-faults")
        yield simulator, app_id, key


def _verdicts(sim: Any, repo: str, number: int) -> int:
    return sum(1 for body in harness.comments_of(sim, repo, number) if "verified" in body)


def _merge_all(sim: Any, repo: str) -> dict[str, int]:
    """MERGES request PRs approved by bob and merged by root: {request name: PR number}."""
    merged = {}
    for _ in range(MERGES):
        name = request_name()
        number = open_request_pr(sim, repo, name)
        sim.review(repo, number, "bob", "APPROVE")
        merged[name] = number
    for number in merged.values():
        sim.merge(repo, number, actor="root")
    return merged


def _granted_once(sim: Any, repo: str, crs: AccessRequests, merged: dict[str, int]) -> None:
    """Each merge has its AccessRequest and exactly one verdict comment on its PR."""
    missing = [n for n in merged if crs.get(cr_name(n)) is None]
    assert not missing, f"merges never granted: {missing}"
    counts = {n: _verdicts(sim, repo, number) for n, number in merged.items()}
    assert all(c == 1 for c in counts.values()), f"verdict comments per merge: {counts}"


def _loop(sim_fixture: tuple[Any, int, str], cluster: Any, tmp_path: Path,
          db_url: str | None) -> tuple[Any, str, AccessRequests, ReceiverProcess]:
    simulator, app_id, key = sim_fixture
    simulator.set_delivery_mode("sync")
    janus_ns = prepare_central(cluster)
    repo, installation, secret = prepare_receiver(simulator, app_id, key, cluster, tmp_path)
    receiver = ReceiverProcess(tmp_path, simulator, app_id, installation, repo, janus_ns,
                               db_url=db_url).start()
    simulator.add_webhook(repo, receiver.url, secret, events=["*"])
    return simulator, repo, AccessRequests(cluster.admin_client(), janus_ns), receiver


def test_receiver_killed_with_deliveries_in_flight(sim: tuple[Any, int, str], cluster: Any,
                                                   tmp_path: Path) -> None:
    """Promise: no grant lost, nothing applied twice. 8 merges are delivered (and stored);
    the receiver is SIGKILLed as soon as the first AccessRequest appears, with the rest stored
    or in hand, and started again on the same store: every merge is granted exactly once
    (one AccessRequest, one verdict comment) within GRANTED_BOUND seconds."""
    simulator, repo, crs, receiver = _loop(sim, cluster, tmp_path, None)
    try:
        merged = _merge_all(simulator, repo)
        wait_for(lambda: any(crs.get(cr_name(n)) for n in merged), 60, "a first grant")
        receiver.kill()
        before = sum(1 for n in merged if crs.get(cr_name(n)))
        assert before < MERGES, "all were done before the kill: nothing was in flight"
        receiver.start()
        back = time.monotonic()
        wait_for(lambda: all(crs.get(cr_name(n)) for n in merged), GRANTED_BOUND,
                 "every merge granted")
        took = time.monotonic() - back
        print(f"[faults] receiver SIGKILLed with {MERGES - before}/{MERGES} merges in flight: "
              f"all granted {took:.1f}s after the restart (lease {LEASE_SECONDS}s)")
        _granted_once(simulator, repo, crs, merged)
    finally:
        receiver.stop()


@pytest.fixture
def own_postgres(postgres_server: LocalPostgres) -> Iterator[LocalPostgres]:
    """A PostgreSQL server of the test's own (the session's is not restarted under others)."""
    server = LocalPostgres.start()
    try:
        yield server
    finally:
        server.stop()


class WebLoad:
    """The web app's stores written continuously (terminal sessions with recording chunks,
    login sessions); remembers what each write that returned successfully stored."""

    def __init__(self, url: str) -> None:
        engine = db.make_engine(url)
        db.create_tables(engine)
        self.sessions, self.logins = db.SessionStore(engine), WebSessionStore(engine)
        self.stored: list[tuple[int, str]] = []
        self.login_ids: list[str] = []
        self.failures = 0
        self.last_ok = 0.0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def start(self) -> WebLoad:
        self._thread.start()
        return self

    def _run(self) -> None:
        i = 0
        while not self._stop.is_set():
            i += 1
            try:
                sid = self.sessions.open_session(cr_name=f"ar-{i}", user="alice", cluster="c",
                                                 namespace="ns", pod="p", container="c")
                self.sessions.append_recording(sid, 0, f"chunk {i}\n")
                self.sessions.close_session(sid, "closed", 1, 1)
                self.stored.append((sid, f"chunk {i}\n"))
                self.login_ids.append(self.logins.create(login="alice", name="Alice",
                                                         max_age_seconds=3600))
                self.last_ok = time.monotonic()
            except SQLAlchemyError:
                self.failures += 1  # the server is away: this request fails, the next retries
                time.sleep(0.1)
            time.sleep(0.02)

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(30)


@pytest.mark.postgres
def test_postgres_restarted_under_load(sim: tuple[Any, int, str], cluster: Any,
                                       own_postgres: LocalPostgres, tmp_path: Path) -> None:
    """Promise: nothing lost, nothing applied twice, both stores work again without a restart
    of their own. PostgreSQL is restarted while 8 merges flow through a receiver whose
    delivery store is on it and while the web app's stores are written: every merge is
    granted exactly once, every write the web stores acknowledged is still there, and both
    write again within seconds of the server being back."""
    receiver_url = own_postgres.create_database("receiver")
    web = WebLoad(own_postgres.create_database("web")).start()
    simulator, repo, crs, receiver = _loop(sim, cluster, tmp_path, receiver_url)
    try:
        merged = _merge_all(simulator, repo)
        wait_for(lambda: any(crs.get(cr_name(n)) for n in merged), 60, "a first grant")
        began = time.monotonic()
        own_postgres.restart()
        back = time.monotonic()
        wait_for(lambda: web.last_ok > back, 30, "the web stores to write again")
        web_back = web.last_ok - back
        wait_for(lambda: all(crs.get(cr_name(n)) for n in merged), GRANTED_BOUND,
                 "every merge granted")
        took = time.monotonic() - back
        print(f"[faults] PostgreSQL restarted under load (down {back - began:.1f}s): web "
              f"stores writing again "
              f"{web_back:.1f}s after ({web.failures} failed writes meanwhile), all "
              f"{MERGES} merges granted {took:.1f}s after")
        _granted_once(simulator, repo, crs, merged)
        assert receiver.proc is not None and receiver.proc.poll() is None
    finally:
        web.stop()
        receiver.stop()
    assert web.stored and web.login_ids
    for sid, chunk in web.stored:
        assert web.sessions.recording(sid) == chunk
        assert web.sessions.get(sid) is not None
    assert all(web.logins.get(login) is not None for login in web.login_ids)
