"""Several `janus webhook` processes sharing one real PostgreSQL (issue 15 item 1): a burst of
signed deliveries spread over two replicas is processed exactly once, a redelivery to the other
replica is recognised, and a replica SIGKILLed while holding deliveries leaves them to the other
once its leases expire."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import uuid
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest
from sqlalchemy import create_engine, text

from janus.dev.controlplane.ports import free_port
from janus.webhook.signature import sign
from tests.browser_support import wait_for as _wait  # the same 0.1 s poll
from tests.e2e.receiver_setup import prepare_receiver
from tests.gitops import harness

pytestmark = [pytest.mark.k8s_real, pytest.mark.postgres]

LEASE = 3.0


class Replica:
    """One `janus webhook` process on its own port."""

    def __init__(self, tmp_path: Path, name: str, sim, app_id: int, installation: int,
                 repo: str, janus_ns: str, db_url: str, **env: str) -> None:
        self.port = free_port()
        self.log_path = tmp_path / f"{name}.log"
        log = self.log_path.open("wb")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "janus", "webhook", "--config",
             str(harness.ROOT / "policies" / "janus.yaml"), "--repo", repo,
             "--github-api-url", sim.base_url, "--app-id", str(app_id),
             "--app-key", str(tmp_path / "key"), "--installation-id", str(installation),
             "--no-throttle", "--secret-file", str(tmp_path / "secret"),
             "--kubeconfig", str(tmp_path / "kubeconfig"), "--namespace", janus_ns,
             "--port", str(self.port), "--reconcile-interval", "0", "--workers", "2",
             "--lease-seconds", str(LEASE)],
            cwd=harness.ROOT, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
            # The URL (with its password) from the environment, as the chart passes it.
            env={**os.environ, "JANUS_WEBHOOK_DATABASE_URL": db_url, **env})
        log.close()
        self.url = f"http://127.0.0.1:{self.port}/webhooks/github"
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"http://127.0.0.1:{self.port}/readyz").status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            assert self.proc.poll() is None, self.log_path.read_text()[-3000:]
            time.sleep(0.1)
        raise AssertionError(f"replica {name} never became ready")

    def stop(self, sig: int = signal.SIGTERM) -> None:
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, sig)
        try:
            self.proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(timeout=10)


@pytest.fixture
def shared(e2e_sim, cluster, janus_ns, postgres_url: str, tmp_path: Path):  # type: ignore[no-untyped-def]
    sim, app_id, key, _bot = e2e_sim
    repo, installation, secret = prepare_receiver(sim, app_id, key, cluster, tmp_path)
    repo_id = sim.client("root").get_repo(repo).id
    replicas: list[Replica] = []

    def start(name: str, **env: str) -> Replica:
        replica = Replica(tmp_path, name, sim, app_id, installation, repo, janus_ns,
                          postgres_url, **env)
        replicas.append(replica)
        return replica

    engine = create_engine(postgres_url)
    try:
        yield start, secret.encode(), repo, repo_id, engine
    finally:
        for replica in replicas:
            replica.stop()
        engine.dispose()
    for replica in replicas:
        output = replica.log_path.read_text()
        assert secret not in output and postgres_url not in output
        assert postgres_url.split(":")[2].split("@")[0] not in output  # the password


def _push(secret: bytes, repo: str, repo_id: int, i: int) -> tuple[str, bytes, dict[str, str]]:
    body = json.dumps({
        "ref": f"refs/heads/janus/request/alice/{i:04d}", "before": "0" * 40,
        "after": uuid.uuid4().hex + "00000000",
        "repository": {"id": repo_id, "full_name": repo},
        "pusher": {"name": "alice"}, "commits": [],
    }).encode()
    delivery = str(uuid.uuid4())
    headers = {"Content-Type": "application/json", "X-GitHub-Event": "push",
               "X-GitHub-Delivery": delivery, "X-Hub-Signature-256": sign(secret, body)}
    return delivery, body, headers


def _rows(engine) -> list:  # type: ignore[no-untyped-def]
    with engine.connect() as conn:
        return list(conn.execute(text(
            "SELECT id, state, attempts, lease_owner FROM deliveries")))


def test_two_replicas_process_a_burst_exactly_once(shared) -> None:  # type: ignore[no-untyped-def]
    start, secret, repo, repo_id, engine = shared
    # Slow enough handlers that neither replica's two workers can drain the burst alone.
    replicas = [start("a", JANUS_TEST_DELIVERY_DELAY="0.05"),
                start("b", JANUS_TEST_DELIVERY_DELAY="0.05")]
    count = 300
    sends = [_push(secret, repo, repo_id, i) for i in range(count)]
    http = httpx.Client(limits=httpx.Limits(max_connections=16), timeout=30)

    def post(i: int) -> tuple[int, int]:
        _delivery, body, headers = sends[i]
        first = http.post(replicas[i % 2].url, content=body, headers=headers)
        # Every fifth is redelivered to the other replica (GitHub may pick either pod).
        again = (http.post(replicas[(i + 1) % 2].url, content=body, headers=headers)
                 if i % 5 == 0 else None)
        return first.status_code, (again.json().get("duplicate") is not None if again else 0)

    began = time.monotonic()
    with ThreadPoolExecutor(16) as pool:
        results = list(pool.map(post, range(count)))
    acked = time.monotonic() - began
    http.close()
    statuses = Counter(status for status, _dup in results)
    assert statuses == {202: count}, statuses
    assert sum(1 for _s, dup in results if dup) == len(range(0, count, 5))

    rows = _wait(lambda: (r := _rows(engine)) and all(x.state == "done" for x in r)
                 and len(r) == count and r, 180, "every delivery done")
    drained = time.monotonic() - began
    assert {r.id for r in rows} == {d for d, _b, _h in sends}
    assert Counter(r.attempts for r in rows) == {1: count}  # each claimed (so processed) once
    owners = Counter(r.lease_owner for r in rows)
    assert len(owners) == 2, owners  # both replicas took part
    print(f"\n[replicas] {count} deliveries (+{count // 5} redeliveries) acked in {acked:.2f}s, "
          f"all processed in {drained:.2f}s by {len(owners)} replicas")


def test_a_killed_replicas_deliveries_are_taken_over_after_its_lease(shared) -> None:  # type: ignore[no-untyped-def]
    start, secret, repo, repo_id, engine = shared
    # The doomed replica is slow: it holds its two claims (two workers) when it dies.
    doomed = start("doomed", JANUS_TEST_DELIVERY_DELAY="600")
    sends = [_push(secret, repo, repo_id, i) for i in range(4)]
    for _delivery, body, headers in sends:
        assert httpx.post(doomed.url, content=body, headers=headers).status_code == 202
    _wait(lambda: sum(r.state == "working" for r in _rows(engine)) == 2, 30, "two claims")
    doomed.stop(signal.SIGKILL)
    killed_at = time.monotonic()
    with engine.connect() as conn:  # nobody renews these any more
        leases = dict(conn.execute(text(
            "SELECT id, lease_expires FROM deliveries WHERE state = 'working'")).all())
    assert len(leases) == 2
    survivor = start("survivor")
    # The survivor takes what was still pending at once, the held ones only after the lease.
    rows = _wait(lambda: (r := _rows(engine)) and all(x.state == "done" for x in r) and r,
                 LEASE * 4 + 30, "the held deliveries taken over")
    took = time.monotonic() - killed_at
    assert len(rows) == 4
    assert sorted(r.attempts for r in rows) == [1, 1, 2, 2]  # the held two claimed twice
    assert {r.id for r in rows if r.attempts == 2} == set(leases)
    assert len({r.lease_owner for r in rows}) == 1  # all finished by the survivor
    with engine.connect() as conn:
        finished = dict(conn.execute(text("SELECT id, finished_at FROM deliveries")).all())
    assert all(finished[i] >= leases[i] for i in leases)  # never before the lease ran out
    assert took < LEASE + 30
    print(f"\n[replicas] a SIGKILLed replica's 2 held deliveries done {took:.2f}s after the "
          f"kill (lease {LEASE}s, renewed every {LEASE / 3:.1f}s; survivor started after it)")
    assert survivor.proc.poll() is None
