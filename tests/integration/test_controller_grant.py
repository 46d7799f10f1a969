"""The controller on the real control plane: grant, exec, exact expiry, revoke, extend, refuse,
delete — one controller subprocess for the module, the central cluster as the target."""

from __future__ import annotations

import base64
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from kubernetes import client
from kubernetes.client.rest import ApiException
from kubernetes.stream import stream

from janus import names, resource
from janus.dev.controlplane import LocalCluster
from janus.dev.controlplane.ports import free_port
from janus.resource import timefmt
from tests.integration.controller_env import (
    ControllerProcess,
    create_request,
    get_request,
    grant_objects,
    patch_spec,
    prepare_central,
    wait_for,
    wait_phase,
)
from tests.k8s_helpers import create_namespace, create_pod, handshake_status

pytestmark = pytest.mark.k8s_real


@pytest.fixture(scope="module")
def env(cluster: LocalCluster, tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict]:
    janus_ns = prepare_central(cluster)
    port = free_port()
    ctl = ControllerProcess(tmp_path_factory.mktemp("controller"), cluster, janus_ns,
                            clusters=["central"],
                            extra_args=["--standalone", "--metrics-port", str(port)]).start()
    api = cluster.admin_client()
    try:
        yield {"api": api, "ns": janus_ns, "ctl": ctl, "cluster": cluster, "metrics": port}
    finally:
        ctl.stop()
        print(ctl.log()[-20000:])
        _scan_for_tokens(api, janus_ns, ctl, cluster)


def _scan_for_tokens(api: Any, janus_ns: str, ctl: ControllerProcess,
                     cluster: LocalCluster) -> None:
    """§9: no token in CR status, events or logs (tokens collected from the Secrets we saw)."""
    tokens = set(SEEN_TOKENS)
    if not tokens:
        return
    crs = client.CustomObjectsApi(api).list_namespaced_custom_object(
        resource.GROUP, resource.VERSION, janus_ns, resource.PLURAL)
    events = client.CoreV1Api(api).list_namespaced_event(janus_ns)
    haystacks = {"crs": str(crs), "events": str(events.to_dict()), "log": ctl.log(),
                 "metrics": METRICS_SEEN[0] if METRICS_SEEN else ""}
    for where, text in haystacks.items():
        for token in tokens:
            assert token not in text, f"a grant token leaked into {where}"
            # Also the signature part alone (a token cut by a formatter would still leak).
            assert token.rsplit(".", 1)[-1] not in text, f"a token signature leaked into {where}"


SEEN_TOKENS: list[str] = []
METRICS_SEEN: list[str] = []


def _secret(api: Any, cr_name: str) -> dict[str, str] | None:
    try:
        s = client.CoreV1Api(api).read_namespaced_secret(
            names.token_secret_name(cr_name), names.TOKENS_NAMESPACE)
    except ApiException as exc:
        if exc.status == 404:
            return None
        raise
    data = {k: base64.b64decode(v).decode() for k, v in (s.data or {}).items()}
    SEEN_TOKENS.append(data["token"])
    return data


def _exec(api_client: Any, ns: str) -> str:
    return stream(client.CoreV1Api(api_client).connect_get_namespaced_pod_exec, "target", ns,
                  container="app", command=["sh", "-c", "echo granted"], stderr=True,
                  stdin=False, stdout=True, tty=False)


def _wait_events(api: Any, janus_ns: str, name: str, reasons: set[str]) -> None:
    """kopf posts Events asynchronously, just after the status write."""
    def seen() -> set[str]:
        return {e.reason for e in client.CoreV1Api(api).list_namespaced_event(
            janus_ns, field_selector=f"involvedObject.name={name}").items}

    wait_for(lambda: reasons <= seen(), 10, f"Events {sorted(reasons)}", interval=0.2)


def _assert_token_dead(cluster: LocalCluster, token: str) -> None:
    """The ServiceAccount is gone, so the token no longer authenticates at all (401), once the
    API server's ServiceAccount cache has seen the deletion."""
    def rejected() -> bool:
        try:
            client.AuthenticationV1Api(cluster.token_client(token)).create_self_subject_review(
                client.V1SelfSubjectReview())
        except ApiException as exc:
            return exc.status == 401
        return False

    wait_for(rejected, 10, "the token to be rejected with 401", interval=0.2)


def _workload(env: dict, name: str | None = None) -> str:
    ns = name or f"w-{time.monotonic_ns() % 10**9}"
    create_namespace(env["api"], ns)
    create_pod(env["api"], ns)
    return ns


def test_grant_creates_exactly_the_planned_objects_and_the_token_execs_only_there(
        env: dict, tmp_path: Path) -> None:
    api, cluster = env["api"], env["cluster"]
    ns, other = _workload(env), _workload(env)
    name = create_request(api, env["ns"], cluster="central", namespace=ns, requester="Alice",
                          duration="1h")
    cr = wait_phase(api, env["ns"], name, "Active")
    status = cr["status"]
    sa = names.service_account_name("Alice", name)
    assert sa.startswith("janus-alice-")
    assert status["objects"] == {"serviceAccount": sa, "roleBinding": sa,
                                 "tokenSecret": names.token_secret_name(name)}
    granted, expires = timefmt.parse(status["grantedAt"]), timefmt.parse(status["expiresAt"])
    assert expires - granted == timefmt.dt.timedelta(hours=1)
    assert abs((timefmt.now() - granted).total_seconds()) < 10
    conds = {c["type"]: c["status"] for c in status["conditions"]}
    assert conds == {"ClusterReachable": "True", "Granted": "True"}

    # Exactly the planned objects, labelled with the request.
    assert grant_objects(api, ns, name) == {"sa": [sa], "rb": [sa],
                                            "secret": [names.token_secret_name(name)]}
    rb = client.RbacAuthorizationV1Api(api).read_namespaced_role_binding(sa, ns)
    assert rb.role_ref.kind == "ClusterRole" and rb.role_ref.name == "janus-pod-exec"
    assert [(s.kind, s.name, s.namespace) for s in rb.subjects] == [("ServiceAccount", sa, ns)]
    data = _secret(api, name)
    assert data is not None
    assert set(data) == {"token", "server", "ca", "cluster", "namespace", "expiresAt"}
    assert (data["server"], data["cluster"], data["namespace"], data["expiresAt"]) == (
        cluster.server, "central", ns, status["expiresAt"])
    assert "BEGIN CERTIFICATE" in data["ca"]
    secret = client.CoreV1Api(api).read_namespaced_secret(names.token_secret_name(name),
                                                          names.TOKENS_NAMESPACE)
    assert secret.type == "Opaque"
    assert secret.metadata.labels == names.grant_labels(name, "Alice", "central")
    # Cross-namespace owners are invalid (docs/design.md, departures).
    assert not secret.metadata.owner_references

    # The token: exec in its namespace, 403 in another, 403 on Secrets.
    user = cluster.token_client(data["token"])
    assert _exec(user, ns).strip() == "granted"
    with pytest.raises(ApiException) as err:
        _exec(user, other)
    assert handshake_status(err.value) == 403
    with pytest.raises(ApiException) as err:
        client.CoreV1Api(user).list_namespaced_secret(ns)
    assert err.value.status == 403
    with pytest.raises(ApiException) as err:
        client.CoreV1Api(user).read_namespaced_secret(names.token_secret_name(name),
                                                      names.TOKENS_NAMESPACE)
    assert err.value.status == 403
    assert data["token"] not in str(get_request(api, env["ns"], name))


def test_expiry_removes_everything_within_a_second_and_the_token_then_fails(env: dict) -> None:
    api, cluster = env["api"], env["cluster"]
    ns = _workload(env)
    name = create_request(api, env["ns"], cluster="central", namespace=ns, duration="4s")
    cr = wait_phase(api, env["ns"], name, "Active")
    expires = timefmt.parse(cr["status"]["expiresAt"])
    token = _secret(api, name)["token"]  # type: ignore[index]
    assert _exec(cluster.token_client(token), ns).strip() == "granted"

    gone = wait_for(lambda: grant_objects(api, ns, name) == {"sa": [], "rb": [], "secret": []}
                    and timefmt.now(), 15, "objects removed", interval=0.02)
    lag = (gone - expires).total_seconds()
    assert 0 <= lag < 1.0, f"objects removed {lag:.3f}s after expiresAt"
    cr = wait_phase(api, env["ns"], name, "Expired", timeout=5)
    assert cr["status"]["expiresAt"] == timefmt.fmt(expires)  # timestamps never cleared
    assert cr["status"]["grantedAt"]
    with pytest.raises(ApiException) as err:
        _exec(cluster.token_client(token), ns)
    assert handshake_status(err.value) in (401, 403)
    _assert_token_dead(cluster, token)
    _wait_events(api, env["ns"], name, {"Granted", "Expired"})


def test_revoke_removes_objects_and_is_final(env: dict) -> None:
    api, cluster = env["api"], env["cluster"]
    ns = _workload(env)
    name = create_request(api, env["ns"], cluster="central", namespace=ns, duration="5s")
    wait_phase(api, env["ns"], name, "Active")
    token = _secret(api, name)["token"]  # type: ignore[index]
    patch_spec(api, env["ns"], name, {"revocation": {
        "by": "bob", "reason": "incident closed", "requestedAt": timefmt.fmt(timefmt.now())}})
    cr = wait_phase(api, env["ns"], name, "Revoked", timeout=5)
    st = cr["status"]
    assert (st["revokedBy"], st["revokedReason"]) == ("bob", "incident closed")
    assert st["revokedAt"] and st["grantedAt"] and st["expiresAt"]
    assert grant_objects(api, ns, name) == {"sa": [], "rb": [], "secret": []}
    with pytest.raises(ApiException) as err:
        _exec(cluster.token_client(token), ns)
    assert handshake_status(err.value) in (401, 403)
    _assert_token_dead(cluster, token)
    # The revocation cannot be taken back, and the phase stays Revoked past the old expiry.
    with pytest.raises(ApiException) as err:
        patch_spec(api, env["ns"], name, {"revocation": None})
    assert err.value.status == 422
    time.sleep(max(0.0, (timefmt.parse(st["expiresAt"]) - timefmt.now()).total_seconds()) + 1.5)
    assert get_request(api, env["ns"], name)["status"]["phase"] == "Revoked"  # type: ignore[index]


def test_revoking_an_approved_request_before_grant(env: dict) -> None:
    api = env["api"]
    ns = _workload(env)
    name = create_request(api, env["ns"], cluster="central", namespace=ns, duration="1h")
    patch_spec(api, env["ns"], name, {"revocation": {"by": "carol", "reason": "changed mind"}})
    cr = wait_for(lambda: (c := get_request(api, env["ns"], name)) and
                  (c.get("status") or {}).get("phase") in ("Revoked",) and c, 10, "Revoked")
    assert cr["status"]["revokedBy"] == "carol"
    assert grant_objects(api, ns, name) == {"sa": [], "rb": [], "secret": []}


def test_extension_mints_a_new_token_and_moves_expires_at(env: dict) -> None:
    api, cluster = env["api"], env["cluster"]
    ns = _workload(env)
    name = create_request(api, env["ns"], cluster="central", namespace=ns, duration="3s")
    cr = wait_phase(api, env["ns"], name, "Active")
    granted = timefmt.parse(cr["status"]["grantedAt"])
    old_token = _secret(api, name)["token"]  # type: ignore[index]
    patch_spec(api, env["ns"], name, {"duration": "1h"})
    moved = timefmt.fmt(granted + timefmt.dt.timedelta(hours=1))
    cr = wait_for(lambda: (c := get_request(api, env["ns"], name))
                  and c["status"]["expiresAt"] == moved and c, 5, "expiresAt moved")
    data = _secret(api, name)
    assert data is not None
    assert data["token"] != old_token
    assert data["expiresAt"] == cr["status"]["expiresAt"]
    time.sleep(4)  # past the original 3s
    assert get_request(api, env["ns"], name)["status"]["phase"] == "Active"  # type: ignore[index]
    assert _exec(cluster.token_client(data["token"]), ns).strip() == "granted"
    _wait_events(api, env["ns"], name, {"Extended"})
    # Shortening into the past expires at once.
    patch_spec(api, env["ns"], name, {"duration": "2s"})
    wait_phase(api, env["ns"], name, "Expired", timeout=5)
    assert grant_objects(api, ns, name) == {"sa": [], "rb": [], "secret": []}


@pytest.mark.parametrize(("namespace", "role", "expected"), [
    ("kube-system", "pod-exec", "excluded"),
    ("forbidden-ns", "pod-exec", "excluded"),
    ("fine-ns", "cluster-admin", "catalogue"),
])
def test_refused_requests_fail_with_a_clear_message(env: dict, namespace: str, role: str,
                                                    expected: str) -> None:
    api = env["api"]
    name = create_request(api, env["ns"], cluster="central", namespace=namespace, role=role)
    cr = wait_phase(api, env["ns"], name, "Failed", timeout=10)
    assert expected in cr["status"]["message"]
    assert grant_objects(api, namespace if namespace != "fine-ns" else "default", name)["sa"] == []


def test_a_namespace_missing_on_the_target_fails_without_leftovers(env: dict) -> None:
    api = env["api"]
    name = create_request(api, env["ns"], cluster="central", namespace="does-not-exist")
    cr = wait_phase(api, env["ns"], name, "Failed", timeout=10)
    assert "refused the grant" in cr["status"]["message"]
    assert "not found" in cr["status"]["message"]
    assert grant_objects(api, "does-not-exist", name) == {"sa": [], "rb": [], "secret": []}


def test_janus_namespaces_are_never_granted_even_if_config_forgets_them(env: dict) -> None:
    api = env["api"]
    name = create_request(api, env["ns"], cluster="central", namespace=env["ns"])
    cr = wait_phase(api, env["ns"], name, "Failed", timeout=10)
    assert "Janus itself" in cr["status"]["message"]


def test_deleting_the_cr_cleans_up(env: dict) -> None:
    api = env["api"]
    ns = _workload(env)
    name = create_request(api, env["ns"], cluster="central", namespace=ns, duration="1h")
    cr = wait_phase(api, env["ns"], name, "Active")
    assert "janus.dev/cleanup" in cr["metadata"]["finalizers"]
    client.CustomObjectsApi(api).delete_namespaced_custom_object(
        resource.GROUP, resource.VERSION, env["ns"], resource.PLURAL, name)
    wait_for(lambda: get_request(api, env["ns"], name) is None, 10, "CR gone")
    assert grant_objects(api, ns, name) == {"sa": [], "rb": [], "secret": []}


def test_metrics_count_outcomes_and_lag(env: dict) -> None:
    """Runs last in the module: every outcome above has been counted."""
    url = f"http://127.0.0.1:{env['metrics']}/metrics"
    with urllib.request.urlopen(url, timeout=5) as resp:
        text = resp.read().decode()
    METRICS_SEEN.append(text)
    values = {line.split(" ")[0]: float(line.split(" ")[1]) for line in text.splitlines()
              if line.startswith("janus_") and " " in line}
    for outcome in ("granted", "expired", "revoked", "failed"):
        assert values.get(f'janus_grants_total{{outcome="{outcome}"}}', 0) >= 1, outcome
    assert values["janus_expiry_lag_seconds_count"] >= 1
    assert values["janus_grant_latency_seconds_count"] >= 1
    assert "janus_active_grants" in values
    assert "janus_cleanup_failures_total" in text
