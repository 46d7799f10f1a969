"""The rendered chart judged by the real API server (kube-apiserver from tests/cluster).

Server-side apply with ``dryRun=All`` runs every object through defaulting, schema validation
and admission without persisting it; the CRDs are applied for real first. The web
ServiceAccount's RBAC is applied for real, exactly as rendered, to prove docs/design.md §7: "The web
deployment may read Secrets there [janus-tokens] and nowhere else".
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml
from kubernetes import client
from kubernetes.client.rest import ApiException
from kubernetes.dynamic import DynamicClient

from janus.dev.controlplane.cluster import LocalCluster
from tests.helm.chart import NAMESPACE, PRODUCTION_VALUES, TOKENS_NAMESPACE, by_kind, render

EVERYTHING_VALUES = Path(__file__).with_name("values-everything.yaml")
# Several replicas of each component: their PodDisruptionBudgets and topology spread.
REPLICAS_VALUES = Path(__file__).with_name("values-replicas.yaml")
# ServiceMonitor, PrometheusRule and HTTPRoute are not built into the API server: minimal copies
# of their CRDs, with a structural schema of the fields the chart sets (see the file's header).
THIRD_PARTY_CRDS = [d for d in yaml.safe_load_all(
    (Path(__file__).parent / "crds" / "third-party.yaml").read_text(encoding="utf-8")) if d]

pytestmark = pytest.mark.k8s_real

FIELD_MANAGER = "janus-helm-test"


def _apply(dyn: DynamicClient, doc: dict[str, Any], *, dry_run: bool) -> Any:
    resource = dyn.resources.get(api_version=doc["apiVersion"], kind=doc["kind"])
    kwargs: dict[str, Any] = {"field_manager": FIELD_MANAGER, "force_conflicts": True}
    if dry_run:
        kwargs["dry_run"] = "All"
    return resource.server_side_apply(
        body=doc, namespace=doc["metadata"].get("namespace"), **kwargs)


def _ensure_namespace(api: Any, name: str, labels: dict[str, str] | None = None) -> None:
    try:
        client.CoreV1Api(api).create_namespace(
            client.V1Namespace(metadata=client.V1ObjectMeta(name=name, labels=labels)))
    except ApiException as exc:
        if exc.status != 409:
            raise


def _wait_established(api: Any, name: str, timeout: float = 30) -> None:
    ext = client.ApiextensionsV1Api(api)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        conds = ext.read_custom_resource_definition(name).status.conditions or []
        if any(c.type == "Established" and c.status == "True" for c in conds):
            return
        time.sleep(0.2)
    raise AssertionError(f"CRD {name} not Established after {timeout}s")


def _install_crds(api: Any, dyn: DynamicClient, docs: list[dict[str, Any]]) -> None:
    """The chart's CRDs for real (the bed's other tests install the same generated ones), and
    the third-party ones its optional objects need."""
    crds = by_kind(docs, "CustomResourceDefinition") + THIRD_PARTY_CRDS
    assert crds
    for crd in crds:
        _apply(dyn, crd, dry_run=False)
        _wait_established(api, crd["metadata"]["name"])
    dyn.resources.invalidate_cache()


@pytest.mark.parametrize("values", [(), (PRODUCTION_VALUES,),
                                    (PRODUCTION_VALUES, EVERYTHING_VALUES),
                                    (PRODUCTION_VALUES, REPLICAS_VALUES)],
                         ids=["default", "production", "everything", "replicas"])
def test_every_object_passes_server_side_dry_run(cluster: LocalCluster,
                                                 values: tuple[Any, ...]) -> None:
    api = cluster.admin_client()
    dyn = DynamicClient(api)
    docs = render(*values)
    _install_crds(api, dyn, docs)
    # Namespaced dry-runs need their namespace to exist; other tests may have created them.
    _ensure_namespace(api, NAMESPACE)
    _ensure_namespace(api, TOKENS_NAMESPACE)

    failures = []
    rest = [d for d in docs if d["kind"] != "CustomResourceDefinition"]
    for doc in rest:
        try:
            out = _apply(dyn, doc, dry_run=True)
        except ApiException as exc:
            failures.append(f"{doc['kind']} {doc['metadata']['name']}: {exc.status} {exc.body}")
            continue
        assert out.metadata.name == doc["metadata"]["name"]
    assert not failures, "\n".join(failures)
    assert len(rest) > 25
    if EVERYTHING_VALUES in values:
        kinds = {d["kind"] for d in rest}
        assert {"Ingress", "HTTPRoute", "ServiceMonitor", "PrometheusRule"} <= kinds
    if REPLICAS_VALUES in values:
        assert len(by_kind(rest, "PodDisruptionBudget")) == 3


def test_third_party_crds_reject_what_the_real_ones_reject(cluster: LocalCluster) -> None:
    """Control for the minimal CRDs: a misspelt field or a wrong value is refused, so the dry
    run of the chart's ServiceMonitor/PrometheusRule/HTTPRoute is not vacuous."""
    api = cluster.admin_client()
    dyn = DynamicClient(api)
    _install_crds(api, dyn, render())
    _ensure_namespace(api, NAMESPACE)
    docs = render(PRODUCTION_VALUES, EVERYTHING_VALUES)
    monitor = next(d for d in docs if d["kind"] == "ServiceMonitor")
    bad_field = {**monitor, "spec": {**monitor["spec"], "endpoints": [{"portt": "http"}]}}
    route = next(d for d in docs if d["kind"] == "HTTPRoute")
    bad_value = {**route, "spec": {**route["spec"], "rules": [
        {"matches": [{"path": {"type": "Glob", "value": "/"}}]}]}}
    # Server-side apply answers an undeclared field with a 500 naming it.
    for bad, reason in ((bad_field, ".spec.endpoints[0].portt: field not declared in schema"),
                        (bad_value, "Unsupported value: \\\"Glob\\\"")):
        with pytest.raises(ApiException) as refused:
            _apply(dyn, bad, dry_run=True)
        assert reason in refused.value.body, refused.value.body


def test_pods_are_admitted_under_restricted_pod_security(cluster: LocalCluster,
                                                         unique_ns: str) -> None:
    """Each Deployment's pod template, dry-run as a Pod in a namespace enforcing `restricted`."""
    api = cluster.admin_client()
    core = client.CoreV1Api(api)
    _ensure_namespace(api, unique_ns, {"pod-security.kubernetes.io/enforce": "restricted",
                                       "pod-security.kubernetes.io/enforce-version": "latest"})
    for sa in ("janus-controller", "janus-webhook", "janus-web"):
        core.create_namespaced_service_account(
            unique_ns, client.V1ServiceAccount(metadata=client.V1ObjectMeta(name=sa)))

    def dry_run_pod(name: str, spec: dict[str, Any]) -> None:
        core.create_namespaced_pod(
            unique_ns,
            {"apiVersion": "v1", "kind": "Pod",
             "metadata": {"name": name, "namespace": unique_ns}, "spec": spec},
            dry_run="All")

    # Control: the bed really enforces Pod Security, so the checks below are not vacuous.
    with pytest.raises(ApiException) as denied:
        dry_run_pod("control", {"containers": [{"name": "c", "image": "busybox"}]})
    assert denied.value.status == 403 and "restricted" in denied.value.body

    for values in [(), (PRODUCTION_VALUES,)]:
        for dep in by_kind(render(*values), "Deployment"):
            dry_run_pod(dep["metadata"]["name"], dep["spec"]["template"]["spec"])


def _poll(check: Callable[[], bool], timeout: float = 15) -> bool:
    """RBAC changes reach the authorizer's cache a moment after the write."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return True
        time.sleep(0.2)
    return False


def _status(call: Callable[[], Any]) -> int:
    try:
        call()
    except ApiException as exc:
        return exc.status
    return 200


def test_web_service_account_reads_secrets_only_in_janus_tokens(cluster: LocalCluster) -> None:
    api = cluster.admin_client()
    dyn = DynamicClient(api)
    core = client.CoreV1Api(api)
    _ensure_namespace(api, NAMESPACE)
    _ensure_namespace(api, TOKENS_NAMESPACE)

    docs = render()
    _install_crds(api, dyn, docs)
    web_rbac = [
        d for d in docs
        if (d["kind"] == "ServiceAccount" and d["metadata"]["name"] == "janus-web")
        or (d["kind"] in ("Role", "RoleBinding", "ClusterRoleBinding")
            and (d["metadata"]["name"] == "janus-web"
                 or any(s.get("name") == "janus-web" for s in d.get("subjects", []))))
    ]
    assert {d["kind"] for d in web_rbac} == {"ServiceAccount", "Role", "RoleBinding"}

    suffix = uuid.uuid4().hex[:8]
    secret = f"janus-token-helm-{suffix}"
    created: list[tuple[str, str]] = []
    try:
        for doc in web_rbac:
            _apply(dyn, doc, dry_run=False)
        for ns in (TOKENS_NAMESPACE, NAMESPACE, "default"):
            core.create_namespaced_secret(ns, client.V1Secret(
                metadata=client.V1ObjectMeta(name=secret), string_data={"token": "x"}))
            created.append((ns, secret))
        token = core.create_namespaced_service_account_token(
            "janus-web", NAMESPACE,
            client.AuthenticationV1TokenRequest(
                spec=client.V1TokenRequestSpec(audiences=[], expiration_seconds=600)),
        ).status.token
        web = client.CoreV1Api(cluster.token_client(token))

        assert _poll(lambda: _status(lambda: web.read_namespaced_secret(
            secret, TOKENS_NAMESPACE)) == 200), "janus-web cannot read janus-tokens Secrets"
        assert _status(lambda: web.list_namespaced_secret(TOKENS_NAMESPACE)) == 200
        for ns in (NAMESPACE, "default"):
            assert _status(lambda ns=ns: web.read_namespaced_secret(secret, ns)) == 403, ns
            assert _status(lambda ns=ns: web.list_namespaced_secret(ns)) == 403, ns
        assert _status(web.list_secret_for_all_namespaces) == 403
        # Read-only in janus-tokens: the controller alone writes token Secrets.
        assert _status(lambda: web.delete_namespaced_secret(secret, TOKENS_NAMESPACE)) == 403
        custom = client.CustomObjectsApi(cluster.token_client(token))
        assert _status(lambda: custom.list_namespaced_custom_object(
            "janus.dev", "v1alpha1", NAMESPACE, "accessrequests")) == 200
    finally:
        for ns, name in created:
            core.delete_namespaced_secret(name, ns)
        rbac = client.RbacAuthorizationV1Api(api)
        for doc in web_rbac:
            name, ns = doc["metadata"]["name"], doc["metadata"].get("namespace")
            delete = {"ServiceAccount": core.delete_namespaced_service_account,
                      "Role": rbac.delete_namespaced_role,
                      "RoleBinding": rbac.delete_namespaced_role_binding}[doc["kind"]]
            try:
                delete(name, ns)
            except ApiException as exc:
                if exc.status != 404:
                    raise
