"""Each built-in role grants exactly its rules and nothing else, judged by the real API server
with a token bound to it (issue 13 item 1), and the real controller grants a ``pod-logs`` request
end to end: the grant's own token reads the pod's log (kwok serves it) and nothing more.

Exactness: the SelfSubjectRulesReview of a token bound to the role, minus that of a token bound
to nothing (what every authenticated identity may do), is exactly the role's rules expanded to
(apiGroup, resource, verb). Then real requests: what the role allows succeeds, a sample of the
rest is refused with 403, in its namespace and next door.
"""

from __future__ import annotations

import base64
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
import yaml
from kubernetes import client
from kubernetes.client.rest import ApiException
from kubernetes.stream import stream

from janus import names
from janus.dev.controlplane import LocalCluster
from janus.dev.controlplane.kwok_config import POD_LOG_LINES
from janus.model.catalogue import CLUSTER_ROLE_RULES
from janus.policy.roles import cluster_role_manifest
from tests.integration.controller_env import (
    ControllerProcess,
    create_request,
    janus_config,
    prepare_central,
    wait_phase,
)
from tests.k8s_helpers import create_namespace, create_pod, handshake_status, make_sa_token

pytestmark = pytest.mark.k8s_real

Triple = tuple[str, str, str]


@dataclass
class Token:
    # repr=False: a failing assertion must never print the credential.
    value: str = field(repr=False)


def _install(api: Any, name: str) -> None:
    rbac = client.RbacAuthorizationV1Api(api)
    body: Any = cluster_role_manifest(name)
    try:
        rbac.create_cluster_role(body)
    except ApiException as exc:
        if exc.status != 409:
            raise
        rbac.replace_cluster_role(name, body)


def _triples(rules: list[dict[str, Any]]) -> set[Triple]:
    return {(g, r, v) for rule in rules for g in rule["apiGroups"]
            for r in rule["resources"] for v in rule["verbs"]}


def _reviewed(api: Any, ns: str) -> set[Triple]:
    review = client.AuthorizationV1Api(api).create_self_subject_rules_review(
        client.V1SelfSubjectRulesReview(spec=client.V1SelfSubjectRulesReviewSpec(namespace=ns)))
    assert not review.status.incomplete, review.status.evaluation_error
    out: set[Triple] = set()
    for rule in review.status.resource_rules:
        assert not rule.resource_names, rule
        out |= {(g, r, v) for g in rule.api_groups or [""] for r in rule.resources or []
                for v in rule.verbs}
    return out


def _status(call: Any, *args: Any, **kwargs: Any) -> int:
    try:
        call(*args, **kwargs)
    except ApiException as exc:
        return int(exc.status or handshake_status(exc))
    return 200


@dataclass
class Bed:
    cluster: LocalCluster
    ns: str
    other_ns: str
    baseline: set[Triple]


@pytest.fixture(scope="module")
def bed(cluster: LocalCluster) -> Bed:
    api = cluster.admin_client()
    ns = f"roles-{uuid.uuid4().hex[:6]}"
    other_ns = f"{ns}-o"
    for n in (ns, other_ns):
        create_namespace(api, n)
        create_pod(api, n)
    client.AppsV1Api(api).create_namespaced_deployment(ns, client.V1Deployment(
        metadata=client.V1ObjectMeta(name="web"),
        spec=client.V1DeploymentSpec(
            replicas=0,
            selector=client.V1LabelSelector(match_labels={"app": "web"}),
            template=client.V1PodTemplateSpec(
                metadata=client.V1ObjectMeta(labels={"app": "web"}),
                spec=client.V1PodSpec(containers=[client.V1Container(name="w", image="x")])))))
    client.CoreV1Api(api).create_namespaced_secret(ns, client.V1Secret(
        metadata=client.V1ObjectMeta(name="db"), string_data={"password": "not-for-grants"}))
    for name in CLUSTER_ROLE_RULES:
        _install(api, name)
    nobody = make_sa_token(api, ns, "nobody", [], cluster_role="janus-nonexistent")
    baseline = _reviewed(cluster.token_client(nobody), ns)
    return Bed(cluster, ns, other_ns, baseline)


def _token_for(bed: Bed, cluster_role: str) -> Any:
    api = bed.cluster.admin_client()
    sa = f"t-{cluster_role.removeprefix('janus-')}-{uuid.uuid4().hex[:4]}"
    return bed.cluster.token_client(make_sa_token(api, bed.ns, sa, [], cluster_role=cluster_role))


@pytest.mark.parametrize("cluster_role", sorted(CLUSTER_ROLE_RULES))
def test_the_token_holds_exactly_the_roles_rules(bed: Bed, cluster_role: str) -> None:
    api = _token_for(bed, cluster_role)
    granted = _reviewed(api, bed.ns) - bed.baseline
    assert granted == _triples(CLUSTER_ROLE_RULES[cluster_role])
    # Next door the same token holds nothing beyond what everyone holds.
    assert _reviewed(api, bed.other_ns) - bed.baseline == set()


def _log(api: Any, ns: str) -> str:
    return str(client.CoreV1Api(api).read_namespaced_pod_log("target", ns, container="app"))


def _exec(api: Any, ns: str) -> str:
    return str(stream(client.CoreV1Api(api).connect_get_namespaced_pod_exec, "target", ns,
                      container="app", command=["sh", "-c", "echo granted"],
                      stderr=True, stdin=False, stdout=True, tty=False))


def _ephemeral(api: Any, ns: str) -> None:
    body = {"spec": {"ephemeralContainers": [{
        "name": f"debug-{uuid.uuid4().hex[:4]}", "image": "busybox:1.36",
        "targetContainerName": "app", "command": ["sh"], "stdin": True, "tty": True}]}}
    client.CoreV1Api(api).patch_namespaced_pod_ephemeralcontainers(
        "target", ns, body, _content_type="application/strategic-merge-patch+json")


def _refusals_common(api: Any, bed: Bed) -> None:
    core, apps = client.CoreV1Api(api), client.AppsV1Api(api)
    assert _status(core.list_namespaced_secret, bed.ns) == 403
    assert _status(core.read_namespaced_secret, "db", bed.ns) == 403
    assert _status(core.delete_namespaced_pod, "target", bed.ns) == 403
    assert _status(apps.delete_namespaced_deployment, "web", bed.ns) == 403
    assert _status(core.create_namespaced_service_account_token, "default", bed.ns,
                   client.AuthenticationV1TokenRequest(spec=client.V1TokenRequestSpec(
                       audiences=[]))) == 403
    assert _status(client.RbacAuthorizationV1Api(api).list_namespaced_role_binding,
                   bed.ns) == 403
    assert _status(core.list_namespaced_pod, bed.other_ns) == 403
    assert _status(_log, api, bed.other_ns) == 403


def test_pod_logs_reads_pods_and_logs_only(bed: Bed) -> None:
    api = _token_for(bed, "janus-pod-logs")
    assert POD_LOG_LINES[-1].split(" F ")[-1] in _log(api, bed.ns)
    assert [p.metadata.name for p in client.CoreV1Api(api).list_namespaced_pod(bed.ns).items] \
        == ["target"]
    assert _status(_exec, api, bed.ns) == 403
    assert _status(_ephemeral, api, bed.ns) == 403
    assert _status(client.AppsV1Api(api).list_namespaced_deployment, bed.ns) == 403
    assert _status(client.CoreV1Api(api).list_namespaced_config_map, bed.ns) == 403
    _refusals_common(api, bed)


def test_pod_exec_execs_reads_logs_and_events(bed: Bed) -> None:
    api = _token_for(bed, "janus-pod-exec")
    assert "granted" in _exec(api, bed.ns)
    assert "ready" in _log(api, bed.ns)
    client.CoreV1Api(api).list_namespaced_event(bed.ns)
    assert _status(_ephemeral, api, bed.ns) == 403
    assert _status(client.CoreV1Api(api).list_namespaced_config_map, bed.ns) == 403
    assert _status(_exec, api, bed.other_ns) == 403
    _refusals_common(api, bed)


def test_pod_debug_adds_an_ephemeral_container_and_nothing_else(bed: Bed) -> None:
    api = _token_for(bed, "janus-pod-debug")
    # The API server accepts the ephemeral container (kwok does not run it; what it would run
    # is the web app's business: the image comes from the role's allow-list there).
    _ephemeral(api, bed.ns)
    pod = client.CoreV1Api(bed.cluster.admin_client()).read_namespaced_pod("target", bed.ns)
    assert pod.spec.ephemeral_containers and pod.spec.ephemeral_containers[-1].image \
        == "busybox:1.36"
    assert _status(_exec, api, bed.ns) == 403
    assert _status(_log, api, bed.ns) == 403
    assert _status(_ephemeral, api, bed.other_ns) == 403
    _refusals_common(api, bed)


def test_view_reads_the_workload_objects_never_secrets(bed: Bed) -> None:
    api = _token_for(bed, "janus-view")
    core, apps = client.CoreV1Api(api), client.AppsV1Api(api)
    for call in (core.list_namespaced_pod, core.list_namespaced_service,
                 core.list_namespaced_config_map, core.list_namespaced_event,
                 apps.list_namespaced_replica_set):
        call(bed.ns)
    assert [d.metadata.name for d in apps.list_namespaced_deployment(bed.ns).items] == ["web"]
    assert _status(_log, api, bed.ns) == 403
    assert _status(_exec, api, bed.ns) == 403
    assert _status(core.create_namespaced_config_map, bed.ns, client.V1ConfigMap(
        metadata=client.V1ObjectMeta(name="x"))) == 403
    assert _status(apps.patch_namespaced_deployment_scale, "web", bed.ns,
                   {"spec": {"replicas": 1}}) == 403
    _refusals_common(api, bed)


# ---- the real controller, a pod-logs request end to end ------------------------------------


@pytest.fixture(scope="module")
def controller(cluster: LocalCluster, tmp_path_factory: pytest.TempPathFactory
               ) -> Iterator[tuple[ControllerProcess, str]]:
    janus_ns = prepare_central(cluster)
    _install(cluster.admin_client(), "janus-pod-logs")
    ctl = ControllerProcess(tmp_path_factory.mktemp("roles"), cluster, janus_ns,
                            clusters=["central"])
    config = janus_config(["central"])
    config["spec"]["roles"]["pod-logs"] = {"clusterRole": "janus-pod-logs"}
    ctl.config_path.write_text(yaml.safe_dump(config))
    ctl.start()
    try:
        yield ctl, janus_ns
    finally:
        ctl.stop()


def test_controller_grants_pod_logs_end_to_end(
    bed: Bed, controller: tuple[ControllerProcess, str],
) -> None:
    _, janus_ns = controller
    admin = bed.cluster.admin_client()
    name = create_request(admin, janus_ns, cluster="central", namespace=bed.ns, role="pod-logs")
    wait_phase(admin, janus_ns, name, "Active", timeout=60)
    binding = client.RbacAuthorizationV1Api(admin).list_namespaced_role_binding(
        bed.ns, label_selector=f"{names.LABEL_REQUEST}={name}").items
    assert [b.role_ref.name for b in binding] == ["janus-pod-logs"]
    secret = client.CoreV1Api(admin).read_namespaced_secret(
        names.token_secret_name(name), names.TOKENS_NAMESPACE)
    token = Token(base64.b64decode(secret.data["token"]).decode())
    api = bed.cluster.token_client(token.value)
    assert "ready" in _log(api, bed.ns)
    assert _status(_exec, api, bed.ns) == 403
    assert _status(_log, api, bed.other_ns) == 403
    assert _status(client.CoreV1Api(api).list_namespaced_secret, bed.ns) == 403
