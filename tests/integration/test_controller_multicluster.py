"""Two clusters: a target registered by kubeconfig Secret, with the controller holding exactly the
shipped target ClusterRole there (docs/design.md §9); a target that goes down and comes back."""

from __future__ import annotations

import base64
import copy
import time
from collections.abc import Iterator

import pytest
from kubernetes import client
from kubernetes.client.rest import ApiException

from janus import names
from janus.controller import rbac
from janus.dev.controlplane import LocalCluster
from janus.dev.controlplane.ports import free_port
from janus.policy.roles import cluster_role_manifest
from janus.resource import timefmt
from tests.integration.controller_env import (
    CATALOGUE_ROLE,
    ControllerProcess,
    create_request,
    ensure_catalogue_role,
    ensure_namespace,
    get_request,
    prepare_central,
    register_cluster,
    wait_for,
    wait_phase,
)
from tests.k8s_helpers import create_namespace, create_pod

pytestmark = pytest.mark.k8s_real

CONTROLLER_NS = "janus-system"


def _controller_token(target: LocalCluster) -> str:
    """A token for the controller's ServiceAccount on the target, bound to exactly the shipped
    target ClusterRole (rendered from janus.controller.rbac)."""
    api = target.admin_client()
    ensure_namespace(api, CONTROLLER_NS)
    ensure_catalogue_role(api)
    rbac.apply(api, [rbac.target_cluster_role([CATALOGUE_ROLE]),
                     rbac.target_binding(CONTROLLER_NS)])
    core = client.CoreV1Api(api)
    try:
        core.create_namespaced_service_account(CONTROLLER_NS, client.V1ServiceAccount(
            metadata=client.V1ObjectMeta(name=rbac.CONTROLLER_SA)))
    except ApiException as exc:
        if exc.status != 409:
            raise
    token = core.create_namespaced_service_account_token(
        rbac.CONTROLLER_SA, CONTROLLER_NS, client.AuthenticationV1TokenRequest(
            spec=client.V1TokenRequestSpec(audiences=[], expiration_seconds=3600)))
    return str(token.status.token)


@pytest.fixture(scope="module")
def env(cluster: LocalCluster, second_cluster: LocalCluster,
        tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict]:
    janus_ns = prepare_central(cluster)
    token = _controller_token(second_cluster)
    kubeconfig = second_cluster.kubeconfig(token=token)
    register_cluster(cluster, janus_ns, "second", kubeconfig)
    ctl = ControllerProcess(tmp_path_factory.mktemp("multi"), cluster, janus_ns,
                            clusters=["central", "second"]).start()
    try:
        yield {"api": cluster.admin_client(), "target": second_cluster.admin_client(),
               "janus_ns": janus_ns, "ctl": ctl, "second": second_cluster, "token": token,
               "kubeconfig": kubeconfig, "central": cluster}
    finally:
        ctl.stop()
        print(ctl.log()[-8000:])
    # The controller's own credential for the target (read from the kubeconfig Secret it
    # watches) never reaches its log either.
    assert token not in ctl.log()
    assert token.rsplit(".", 1)[-1] not in ctl.log()


def _objects(api: object, namespace: str, cr_name: str) -> tuple[list[str], list[str]]:
    sel = f"{names.LABEL_REQUEST}={cr_name}"
    return (
        [o.metadata.name for o in client.CoreV1Api(api).list_namespaced_service_account(
            namespace, label_selector=sel).items],
        [o.metadata.name for o in client.RbacAuthorizationV1Api(api).list_namespaced_role_binding(
            namespace, label_selector=sel).items],
    )


def _binding(name: str, namespace: str, role: str) -> client.V1RoleBinding:
    return client.V1RoleBinding(
        metadata=client.V1ObjectMeta(name=name),
        role_ref=client.V1RoleRef(api_group="rbac.authorization.k8s.io", kind="ClusterRole",
                                  name=role),
        subjects=[client.RbacV1Subject(kind="ServiceAccount", name="someone",
                                       namespace=namespace)])


def test_grant_and_expiry_on_a_second_cluster_with_least_privilege(env: dict,
                                                                   unique_ns: str) -> None:
    create_namespace(env["target"], unique_ns)
    create_pod(env["target"], unique_ns)
    name = create_request(env["api"], env["janus_ns"], cluster="second", namespace=unique_ns,
                          duration="3s")
    cr = wait_phase(env["api"], env["janus_ns"], name, "Active")
    sa = names.service_account_name("alice", name)
    assert _objects(env["target"], unique_ns, name) == ([sa], [sa])
    secret = client.CoreV1Api(env["api"]).read_namespaced_secret(
        names.token_secret_name(name), names.TOKENS_NAMESPACE)
    assert base64.b64decode(secret.data["server"]).decode() == env["second"].server
    wait_phase(env["api"], env["janus_ns"], name, "Expired", timeout=10)
    assert _objects(env["target"], unique_ns, name) == ([], [])
    assert timefmt.parse(cr["status"]["expiresAt"])


def test_controller_identity_cannot_bind_anything_but_the_catalogue(env: dict,
                                                                   unique_ns: str) -> None:
    """§9 on the real API server: `bind` with resourceNames, no escalate."""
    create_namespace(env["target"], unique_ns)
    as_controller = client.RbacAuthorizationV1Api(env["second"].token_client(env["token"]))
    # A role with exactly the catalogue's rules under another name: only the name is bindable.
    # (The bed's aggregated admin/edit roles are empty without a controller-manager, so binding
    # them would prove nothing.)
    twin = {**cluster_role_manifest(CATALOGUE_ROLE)}
    twin["metadata"] = {"name": "not-in-catalogue"}
    try:
        client.RbacAuthorizationV1Api(env["target"]).create_cluster_role(twin)
    except ApiException as exc:
        if exc.status != 409:
            raise
    for role in ("cluster-admin", "not-in-catalogue"):
        with pytest.raises(ApiException) as err:
            as_controller.create_namespaced_role_binding(
                unique_ns, _binding(f"try-{role}", unique_ns, role))
        assert err.value.status == 403, role
    as_controller.create_namespaced_role_binding(
        unique_ns, _binding("ok", unique_ns, CATALOGUE_ROLE))
    # And it cannot read Secrets or exec anywhere itself.
    core = client.CoreV1Api(env["second"].token_client(env["token"]))
    with pytest.raises(ApiException) as err:
        core.list_namespaced_secret(CONTROLLER_NS)
    assert err.value.status == 403


def _switch(env: dict, kubeconfig: dict) -> None:
    """Replace the target's kubeconfig Secret and wait until the controller has noticed."""
    seen = env["ctl"].log().count('"cluster.kubeconfig_changed"')
    register_cluster(env["central"], env["janus_ns"], "second", kubeconfig)
    wait_for(lambda: env["ctl"].log().count('"cluster.kubeconfig_changed"') > seen, 10,
             "the controller to notice the kubeconfig change", interval=0.1)


def test_target_down_then_up_keeps_the_grant(env: dict, unique_ns: str) -> None:
    api, janus_ns = env["api"], env["janus_ns"]
    create_namespace(env["target"], unique_ns)
    dead = copy.deepcopy(env["kubeconfig"])
    dead["clusters"][0]["cluster"]["server"] = f"https://127.0.0.1:{free_port()}"

    # Down before the grant: the request waits (condition False), is not lost or failed.
    _switch(env, dead)
    name = create_request(api, janus_ns, cluster="second", namespace=unique_ns, duration="4s")

    def unreachable() -> bool:
        cr = get_request(api, janus_ns, name) or {}
        conds = {c["type"]: c for c in (cr.get("status") or {}).get("conditions") or []}
        return conds.get("ClusterReachable", {}).get("status") == "False"

    wait_for(unreachable, 15, "ClusterReachable=False")
    assert not (get_request(api, janus_ns, name).get("status") or {}).get("phase")
    wait_for(lambda: "ClusterUnavailable" in {e.reason for e in client.CoreV1Api(
        api).list_namespaced_event(janus_ns, field_selector=f"involvedObject.name={name}").items},
        10, "a ClusterUnavailable Event", interval=0.2)  # kopf posts Events asynchronously

    # Up again: the Secret change is noticed and the grant goes through.
    _switch(env, env["kubeconfig"])
    cr = wait_phase(api, janus_ns, name, "Active", timeout=10)
    conds = {c["type"]: c["status"] for c in cr["status"]["conditions"]}
    assert conds["ClusterReachable"] == "True"

    # Down across the expiry: the token Secret goes at once, the grant stays Active (its target
    # objects cannot be confirmed gone) and is finished when the cluster is back.
    _switch(env, dead)
    expires = timefmt.parse(cr["status"]["expiresAt"])
    time.sleep(max(0.0, (expires - timefmt.now()).total_seconds()) + 2)
    cr = get_request(api, janus_ns, name)
    assert cr["status"]["phase"] == "Active"
    assert _objects(env["target"], unique_ns, name)[0]  # still there: unreachable
    with pytest.raises(ApiException) as err:
        client.CoreV1Api(api).read_namespaced_secret(names.token_secret_name(name),
                                                     names.TOKENS_NAMESPACE)
    assert err.value.status == 404  # terminals closed at expiry even with the target down
    _switch(env, env["kubeconfig"])
    wait_phase(api, janus_ns, name, "Expired", timeout=10)
    assert _objects(env["target"], unique_ns, name) == ([], [])


def test_cluster_unknown_to_the_config_fails(env: dict) -> None:
    api, janus_ns = env["api"], env["janus_ns"]
    name = create_request(api, janus_ns, cluster="elsewhere", namespace="payments")
    cr = wait_phase(api, janus_ns, name, "Failed", timeout=10)
    assert "not one of JanusConfig.spec.clusters" in cr["status"]["message"]
