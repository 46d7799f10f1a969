"""§9 invariant 1: no token in error messages — the web terminal, the one component besides the
controller that holds grant tokens (the controller's CR status, Events, log and metrics are
scanned in tests/integration/test_controller_grant.py; PR comments in tests/e2e/test_gitops_loop.py;
the webhook receiver, GitOps service and revoke CLI never read a token Secret at all).

Every way an exec or pod listing made WITH the token can fail is provoked on the real API server:
a missing pod, a missing container, the token's ServiceAccount deleted (401), the Secret's API
server unreachable. Then the terminal's `closed` messages, the HTTP error bodies, the terminal
page and every log record of the process are searched for the token and its signature, with
the process at DEBUG level (as `janus web --log-level debug` runs it). The controller's log is
likewise scanned when it runs with --verbose.
"""

from __future__ import annotations

import asyncio
import base64
import json
import logging
from collections.abc import Callable
from dataclasses import dataclass, field

import httpx
import pytest
from kubernetes import client

from janus import names
from janus.dev.controlplane import LocalCluster
from janus.dev.controlplane.ports import free_port
from tests.integration.controller_env import (
    ControllerProcess,
    create_request,
    prepare_central,
    wait_phase,
)
from tests.k8s_helpers import create_namespace, create_pod
from tests.web.terminal.conftest import make_grant, replicas, terminal_dir, web_kube  # noqa: F401
from tests.web.terminal.support import AppServer, Terminal

pytestmark = pytest.mark.k8s_real


@dataclass
class Secretive:
    # repr=False: a failing assertion must not print what it is looking for.
    token: str = field(repr=False)

    def leaked_into(self, text: str) -> bool:
        return self.token in text or self.token.rsplit(".", 1)[-1] in text


def _token(cluster: LocalCluster, secret: str) -> Secretive:
    data = client.CoreV1Api(cluster.admin_client()).read_namespaced_secret(
        secret, names.TOKENS_NAMESPACE).data
    return Secretive(base64.b64decode(data["token"]).decode())


async def _failed_session(replica: AppServer, cr_name: str, **where: str) -> str:
    term = await Terminal.open(replica, cr_name, "alice", **where)
    try:
        await term.wait_closed(20)
    finally:
        await term.close()
    return json.dumps(term.controls)


def _http_texts(replica: AppServer, cr_name: str) -> list[str]:
    user = {"X-Forwarded-User": "alice"}
    return [httpx.get(f"{replica.base}/api/terminal/{cr_name}/pods", headers=user).text,
            httpx.get(f"{replica.base}/terminal/{cr_name}",
                      headers={**user, "Accept": "text/html"}).text]


def test_terminal_errors_never_carry_the_token(
        replicas, make_grant: Callable, cluster: LocalCluster,  # noqa: F811
        caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    replica = replicas[0]
    texts: list[str] = []
    tokens: list[Secretive] = []

    # 1. Missing pod and missing container: the API server's 404 reaches the user.
    grant = make_grant()
    tokens.append(_token(cluster, grant.secret))
    texts.append(asyncio.run(_failed_session(replica, grant.cr_name, pod="no-such-pod")))
    texts.append(asyncio.run(_failed_session(replica, grant.cr_name, container="nope")))
    texts += _http_texts(replica, grant.cr_name)

    # 2. The token's ServiceAccount is gone: the API server answers 401 to the token itself.
    grant = make_grant()
    tokens.append(_token(cluster, grant.secret))
    client.CoreV1Api(cluster.admin_client()).delete_namespaced_service_account(
        names.service_account_name("alice", grant.cr_name), grant.namespace)
    texts.append(asyncio.run(_failed_session(replica, grant.cr_name)))
    texts += _http_texts(replica, grant.cr_name)

    # 3. The Secret names an API server that is not there: a connection error, not an HTTP one.
    grant = make_grant()
    tokens.append(_token(cluster, grant.secret))
    dead = base64.b64encode(f"https://127.0.0.1:{free_port()}".encode()).decode()
    client.CoreV1Api(cluster.admin_client()).patch_namespaced_secret(
        grant.secret, names.TOKENS_NAMESPACE, {"data": {"server": dead}})
    texts.append(asyncio.run(_failed_session(replica, grant.cr_name)))
    texts += _http_texts(replica, grant.cr_name)
    unreachable = httpx.get(f"{replica.base}/api/terminal/{grant.cr_name}/pods",
                            headers={"X-Forwarded-User": "alice"})
    assert unreachable.status_code == 502  # a clear "cannot reach the cluster", not a crash
    assert "could not be reached" in unreachable.text

    # The failures really happened (else this would scan nothing interesting).
    assert sum('"closed"' in t for t in texts) == 4, texts
    texts.append(caplog.text)
    texts += [repr(r.__dict__) for r in caplog.records]
    for n, token in enumerate(tokens):
        for i, text in enumerate(texts):
            # A plain bool, so pytest's introspection never echoes the text around a leak.
            leaked = token.leaked_into(text)
            assert not leaked, f"grant {n}'s token leaked into text #{i}"


# ---- the controller with debug logging -----------------------------------------------------------

def test_controller_verbose_log_never_carries_the_token(
        cluster: LocalCluster, tmp_path_factory: pytest.TempPathFactory, unique_ns: str) -> None:
    """tests/integration/test_controller_grant.py scans the controller's log at the default INFO
    level; an operator debugging a grant runs it with --verbose, where client libraries log
    request and response bodies (the TokenRequest response IS the token, the Secret create
    response carries it base64-encoded)."""
    janus_ns = prepare_central(cluster)
    ctl = ControllerProcess(tmp_path_factory.mktemp("inv1-verbose"), cluster, janus_ns,
                            clusters=["central"], extra_args=["--verbose"],
                            tag="verbose").start()
    api = cluster.admin_client()
    try:
        create_namespace(api, unique_ns)
        create_pod(api, unique_ns)
        name = create_request(api, janus_ns, cluster="central", namespace=unique_ns)
        wait_phase(api, janus_ns, name, "Active")
        token = _token(cluster, names.token_secret_name(name))
    finally:
        ctl.stop()
    log = ctl.log()
    assert '"debug"' in log, "the controller did not actually log at debug level"
    # Plain bools, so pytest's introspection never echoes the log around a leak.
    leaked = token.leaked_into(log)
    assert not leaked, "the grant token is in the controller's verbose log"
    leaked_b64 = base64.b64encode(token.token.encode()).decode()[:40] in log
    assert not leaked_b64, "the base64 grant token is in the controller's verbose log"
