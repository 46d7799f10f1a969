"""The terminal WebSocket end to end: real uvicorn servers (two replicas), real websocket
clients, the real control plane (kube-apiserver + kwok exec), grants made like the controller."""

from __future__ import annotations

import asyncio
import base64
import time
from pathlib import Path

import httpx
import pytest
from kubernetes import client
from websockets.exceptions import InvalidStatus

from janus import names, resource
from janus.dev.controlplane import LocalCluster
from janus.web.recording import parse_asciicast
from janus.web.terminal.exec_stream import ExecError, open_shell
from janus.web.terminal.grants import GrantCredentials
from tests.web.terminal.support import ADMIN, AppServer, Terminal

pytestmark = pytest.mark.k8s_real


def run(coro):
    return asyncio.run(coro)


def test_echo_runs_in_bash_and_returns_output(replicas, make_grant) -> None:
    grant = make_grant()

    async def scenario() -> None:
        term = await Terminal.open(replicas[0], grant.cr_name, "alice")
        connected = await term.wait_control("connected")
        assert connected["shell"] == "bash"
        countdown = await term.wait_control("countdown")
        assert countdown["secondsLeft"] > 3000
        await term.type("echo hi-$((40+2))\n")
        await term.wait_output(r"hi-42")
        await term.close()

    run(scenario())


def test_login_is_case_insensitive_and_sidecar_container_works(replicas, make_grant) -> None:
    grant = make_grant()

    async def scenario() -> None:
        term = await Terminal.open(replicas[0], grant.cr_name, "ALICE", container="sidecar")
        await term.wait_control("connected")
        await term.type("echo side-$((1+1))\n")
        await term.wait_output(r"side-2")
        await term.close()

    run(scenario())


def test_resize_reaches_the_pod_tty(replicas, make_grant) -> None:
    grant = make_grant()

    async def scenario() -> None:
        term = await Terminal.open(replicas[0], grant.cr_name, "alice", cols=100, rows=30)
        await term.wait_control("connected")
        await term.type("stty size\n")
        await term.wait_output(r"30 100")
        await term.resize(133, 41)
        await asyncio.sleep(0.2)
        await term.type("stty size\n")
        await term.wait_output(r"41 133")
        await term.close()

    run(scenario())


def test_large_paste_arrives_intact(replicas, make_grant) -> None:
    """200 KB in one go (as a paste is): every byte reaches the process, none dropped."""
    grant = make_grant()
    line = b"x" * 99 + b"\n"
    paste = line * 2000  # 200,000 bytes; short lines stay under the TTY's line limit

    async def scenario() -> None:
        term = await Terminal.open(replicas[0], grant.cr_name, "alice")
        await term.wait_control("connected")
        await term.type("stty -echo; wc -c; stty echo\n")
        await asyncio.sleep(0.3)
        await term.type(paste)
        await term.type(b"\x04")  # end of input for wc
        await term.wait_output(r"\b200000\b", seconds=30)
        await term.close()

    run(scenario())


def test_pods_api_lists_pods_and_containers_with_the_grant_token(replicas, make_grant) -> None:
    grant = make_grant()
    url = f"{replicas[0].base}/api/terminal/{grant.cr_name}/pods"
    mine = httpx.get(url, headers={"X-Forwarded-User": "alice"})
    assert mine.status_code == 200, mine.text
    body = mine.json()
    assert body["namespace"] == grant.namespace
    assert body["pods"] == [
        {"name": "target", "phase": "Running",
         "containers": [{"name": "app", "ready": True}, {"name": "sidecar", "ready": True}]}
    ] or [c["name"] for c in body["pods"][0]["containers"]] == ["app", "sidecar"]
    theirs = httpx.get(url, headers={"X-Forwarded-User": "bob"})
    assert theirs.status_code == 403
    nobody = httpx.get(url)
    assert nobody.status_code == 401


def test_someone_else_cannot_open_the_terminal(replicas, make_grant) -> None:
    grant = make_grant("alice")
    replica = replicas[0]
    page = httpx.get(f"{replica.base}/terminal/{grant.cr_name}",
                     headers={"X-Forwarded-User": "bob", "Accept": "text/html"})
    assert page.status_code == 403
    # Not even an admin: admins watch recordings, they do not exec as someone else.
    for user in ("bob", ADMIN):
        with pytest.raises(InvalidStatus) as refused:
            run(Terminal.open(replica, grant.cr_name, user))
        assert refused.value.response.status_code == 403
    own = httpx.get(f"{replica.base}/terminal/{grant.cr_name}",
                    headers={"X-Forwarded-User": "alice", "Accept": "text/html"})
    assert own.status_code == 200
    assert grant.namespace in own.text


def test_a_foreign_origin_is_refused(replicas, make_grant) -> None:
    grant = make_grant()
    with pytest.raises(InvalidStatus) as refused:
        run(Terminal.open(replicas[0], grant.cr_name, "alice", origin="http://evil.example"))
    assert refused.value.response.status_code == 403


def test_a_grant_that_is_not_active_is_refused(replicas, cluster: LocalCluster) -> None:
    from tests.k8s_helpers import create_access_request

    cr_name = create_access_request(cluster, request_name="req-pending", requester="alice",
                                    namespace="pending-ns", phase="Approved")

    async def scenario() -> None:
        term = await Terminal.open(replicas[0], cr_name, "alice")
        closed = await term.wait_closed()
        assert closed["reason"] == "not-active"

    run(scenario())


async def _open_on_both(replicas, cr_name: str) -> list[Terminal]:
    terms = [await Terminal.open(replica, cr_name, "alice") for replica in replicas]
    for term in terms:
        await term.wait_control("connected")
    return terms


async def _time_until_closed(terms: list[Terminal], started: float) -> list[tuple[float, dict]]:
    async def one(term: Terminal) -> tuple[float, dict]:
        closed = await term.wait_closed(seconds=10)
        return time.monotonic() - started, closed

    return list(await asyncio.gather(*(one(t) for t in terms)))


def _assert_processes_end(pids: list[int]) -> None:
    """kwok runs exec'd shells as host processes, so we can see that they really ended (the
    runtime does not kill them when the stream closes: the terminal hangs them up)."""
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline and any(Path(f"/proc/{p}").exists() for p in pids):
        time.sleep(0.05)
    assert not [p for p in pids if Path(f"/proc/{p}").exists()], "shell still running"


def test_deleting_the_token_secret_closes_sessions_on_every_replica_within_a_second(
    replicas, make_grant, cluster: LocalCluster
) -> None:
    grant = make_grant()
    core = client.CoreV1Api(cluster.admin_client())

    shell_pids: list[int] = []

    async def scenario() -> list[tuple[float, dict]]:
        terms = await _open_on_both(replicas, grant.cr_name)
        assert all(r.has_sessions(grant.cr_name) for r in replicas)
        for term in terms:
            await term.type("echo PID-$$-\n")
            shell_pids.append(int((await term.wait_output(r"PID-(\d+)-")).group(1)))
        started = time.monotonic()
        await asyncio.to_thread(core.delete_namespaced_secret, grant.secret,
                                names.TOKENS_NAMESPACE)
        return await _time_until_closed(terms, started)

    results = run(scenario())
    _assert_processes_end(shell_pids)
    print("close after Secret deletion (s):", [round(r[0], 3) for r in results])
    for elapsed, closed in results:
        assert closed["reason"] == "grant-ended"
        assert elapsed < 1.0
    deadline = time.monotonic() + 3
    while time.monotonic() < deadline and any(r.has_sessions(grant.cr_name) for r in replicas):
        time.sleep(0.05)
    assert not any(r.has_sessions(grant.cr_name) for r in replicas)


def test_revoking_the_cr_closes_sessions_on_every_replica_within_a_second(
    replicas, make_grant, cluster: LocalCluster
) -> None:
    grant = make_grant()
    custom = client.CustomObjectsApi(cluster.admin_client())
    patch = {"spec": {"revocation": {"by": ADMIN, "reason": "test",
                                     "requestedAt": "2026-01-01T00:00:00Z"}}}

    shell_pids: list[int] = []

    async def scenario() -> list[tuple[float, dict]]:
        terms = await _open_on_both(replicas, grant.cr_name)
        for term in terms:
            await term.type("echo PID-$$-\n")
            shell_pids.append(int((await term.wait_output(r"PID-(\d+)-")).group(1)))
        started = time.monotonic()
        await asyncio.to_thread(
            custom.patch_namespaced_custom_object, resource.GROUP, resource.VERSION,
            names.JANUS_NAMESPACE, resource.PLURAL, grant.cr_name, patch)
        return await _time_until_closed(terms, started)

    results = run(scenario())
    print("close after CR revocation (s):", [round(r[0], 3) for r in results])
    for elapsed, closed in results:
        assert closed["reason"] == "revoked"
        assert elapsed < 1.0
    _assert_processes_end(shell_pids)


def test_the_cr_turning_revoked_closes_sessions(replicas, make_grant, cluster) -> None:
    grant = make_grant()
    custom = client.CustomObjectsApi(cluster.admin_client())

    async def scenario() -> list[tuple[float, dict]]:
        terms = await _open_on_both(replicas, grant.cr_name)
        started = time.monotonic()
        await asyncio.to_thread(
            custom.patch_namespaced_custom_object_status, resource.GROUP, resource.VERSION,
            names.JANUS_NAMESPACE, resource.PLURAL, grant.cr_name,
            {"status": {"phase": "Revoked"}})
        return await _time_until_closed(terms, started)

    for elapsed, closed in run(scenario()):
        assert closed["reason"] == "revoked"
        assert elapsed < 1.0


def test_expiry_closes_the_session_at_expires_at(replicas, make_grant) -> None:
    grant = make_grant(expires_in=4)

    async def scenario() -> tuple[dict, dict]:
        term = await Terminal.open(replicas[0], grant.cr_name, "alice")
        await term.wait_control("connected")
        warning = await term.wait_control("warning")
        return warning, await term.wait_closed(seconds=10)

    warning, closed = run(scenario())
    assert warning["reason"] == "expiry"
    assert closed["reason"] == "expired"


def test_idle_timeout_closes_the_session_but_not_the_grant(
    web_kube, terminal_dir, make_grant, cluster: LocalCluster
) -> None:
    grant = make_grant()
    replica = AppServer.start(web_kube, terminal_dir / "idle.db", idle_timeout=3)
    try:
        async def scenario() -> tuple[dict, dict]:
            term = await Terminal.open(replica, grant.cr_name, "alice")
            await term.wait_control("connected")
            warning = await term.wait_control("warning", seconds=5)
            return warning, await term.wait_closed(seconds=10)

        warning, closed = run(scenario())
    finally:
        replica.stop()
    assert warning["reason"] == "idle"
    assert closed["reason"] == "idle"
    secret = client.CoreV1Api(cluster.admin_client()).read_namespaced_secret(
        grant.secret, names.TOKENS_NAMESPACE)
    assert secret.metadata.name == grant.secret
    cr = client.CustomObjectsApi(cluster.admin_client()).get_namespaced_custom_object(
        resource.GROUP, resource.VERSION, names.JANUS_NAMESPACE, resource.PLURAL, grant.cr_name)
    assert cr["status"]["phase"] == "Active" and "revocation" not in cr["spec"]


def test_session_is_audited_and_its_recording_replays(replicas, make_grant) -> None:
    grant = make_grant()
    replica = replicas[0]

    async def scenario() -> int:
        term = await Terminal.open(replica, grant.cr_name, "alice")
        connected = await term.wait_control("connected")
        await term.type("echo recorded-$((6*7))\n")
        await term.wait_output(r"recorded-42")
        await term.close()
        return int(connected["session"])

    session_id = run(scenario())
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        row = replica.app.state.terminal.store.get(session_id)
        if row and row.closed_at:
            break
        time.sleep(0.1)
    assert row is not None and row.closed_at is not None
    assert (row.user, row.namespace, row.pod, row.container) == (
        "alice", grant.namespace, "target", "app")
    assert row.close_reason == "client-closed"
    assert row.bytes_in > 0 and row.bytes_out > 0

    admin = {"X-Forwarded-User": ADMIN, "Accept": "text/html"}
    listing = httpx.get(f"{replica.base}/admin/sessions", headers=admin)
    assert listing.status_code == 200 and grant.cr_name in listing.text
    page = httpx.get(f"{replica.base}/admin/sessions/{session_id}", headers=admin)
    assert page.status_code == 200 and "replay.js" in page.text
    cast = httpx.get(f"{replica.base}/admin/sessions/{session_id}/cast", headers=admin)
    assert cast.status_code == 200
    header, events = parse_asciicast(cast.text)
    assert header["width"] == 80 and header["height"] == 24
    output = "".join(e[2] for e in events if e[1] == "o")
    assert "recorded-42" in output
    assert not [e for e in events if e[1] == "i"], "stdin is not recorded"
    # Not an admin: no recordings.
    mine = httpx.get(f"{replica.base}/admin/sessions/{session_id}/cast",
                     headers={"X-Forwarded-User": "alice"})
    assert mine.status_code == 403


def test_shell_falls_back_to_sh_when_the_first_shell_is_missing(
    make_grant, cluster: LocalCluster
) -> None:
    grant = make_grant()
    secret = client.CoreV1Api(cluster.admin_client()).read_namespaced_secret(
        grant.secret, names.TOKENS_NAMESPACE)
    credentials = GrantCredentials.from_secret(
        {"data": {k: v for k, v in secret.data.items()}})
    assert "token" not in repr(credentials) or base64.b64decode(
        secret.data["token"]).decode() not in repr(credentials)

    async def scenario() -> str:
        stream, shell = await open_shell(
            credentials, grant.namespace, "target", "app", cols=80, rows=24,
            shells=("no-such-shell-here", "sh"))
        await stream.close()
        return shell

    assert run(scenario()) == "sh"

    async def none_usable() -> None:
        await open_shell(credentials, grant.namespace, "target", "app", cols=80, rows=24,
                         shells=("no-such-shell-here",))

    with pytest.raises(ExecError):
        run(none_usable())


def test_the_web_identity_itself_cannot_exec(web_kube, make_grant, cluster) -> None:
    """Exec happens only with the grant's token: the web app's own identity gets 403."""
    import yaml

    grant = make_grant()
    web_token = yaml.safe_load(web_kube.read_text())["users"][0]["user"]["token"]
    credentials = GrantCredentials(
        server=cluster.server, ca_pem=cluster.pki.ca_cert.read_text(), token=web_token,
        cluster="central", namespace=grant.namespace, expires_at=None)
    with pytest.raises(ExecError) as refused:
        run(open_shell(credentials, grant.namespace, "target", "app", cols=80, rows=24))
    assert refused.value.status == 403


def test_the_shell_exiting_closes_the_session(replicas, make_grant) -> None:
    grant = make_grant()

    async def scenario() -> dict:
        term = await Terminal.open(replicas[0], grant.cr_name, "alice")
        await term.wait_control("connected")
        await term.type("exit\n")
        return await term.wait_closed()

    assert run(scenario())["reason"] == "exited"


def _credentials(cluster: LocalCluster, grant) -> GrantCredentials:
    secret = client.CoreV1Api(cluster.admin_client()).read_namespaced_secret(
        grant.secret, names.TOKENS_NAMESPACE)
    return GrantCredentials.from_secret({"data": dict(secret.data)})


@pytest.mark.parametrize("subprotocol", ["v5.channel.k8s.io", "v4.channel.k8s.io"])
def test_exec_bridge_speaks_v5_and_v4(make_grant, cluster: LocalCluster, subprotocol) -> None:
    grant = make_grant()
    credentials = _credentials(cluster, grant)

    async def scenario() -> tuple[str, bytes]:
        stream, _ = await open_shell(credentials, grant.namespace, "target", "app", cols=90,
                                     rows=20, subprotocols=(subprotocol,))
        await stream.send_stdin(b"stty size; echo proto-$((2+3))\n")
        output = b""
        while b"proto-5" not in output:
            received = await asyncio.wait_for(stream.recv(), 10)
            assert received is not None
            output += received[1]
        await stream.close()
        return stream.subprotocol, output

    negotiated, output = run(scenario())
    assert negotiated == subprotocol
    assert b"20 90" in output


def test_an_extension_moves_the_session_deadline(
    replicas, make_grant, cluster: LocalCluster
) -> None:
    from tests.web.terminal.support import in_seconds

    grant = make_grant(expires_in=4)
    custom = client.CustomObjectsApi(cluster.admin_client())

    async def scenario() -> Terminal:
        term = await Terminal.open(replicas[0], grant.cr_name, "alice")
        await term.wait_control("connected")
        await asyncio.to_thread(
            custom.patch_namespaced_custom_object_status, resource.GROUP, resource.VERSION,
            names.JANUS_NAMESPACE, resource.PLURAL, grant.cr_name,
            {"status": {"expiresAt": in_seconds(3600)}})
        await asyncio.sleep(6)  # past the old deadline
        await term.type("echo still-$((3*3))\n")
        await term.wait_output(r"still-9")
        return term

    term = run(scenario())
    assert term.control("closed") is None
    countdowns = [c for c in term.controls if c["type"] == "countdown"]
    assert countdowns[-1]["secondsLeft"] > 3000
