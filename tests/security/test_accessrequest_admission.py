"""Issue 11 item 8 / §9 "only the receiver's identity creates AccessRequests (plus an explicit,
recorded admin path); the web identity can only revoke": the ValidatingAdmissionPolicy from
janus.resource.admission on the real API server, exercised with real ServiceAccount tokens of
``janus-webhook``, ``janus-web`` and ``janus-controller`` holding the chart's RBAC.

The gap is measured first, with RBAC alone: the web identity raises ``spec.duration`` (an
extension the controller would honour), the receiver creates an AccessRequest without provenance,
the controller identity rewrites the spec, and any identity RBAC lets create (here the web one,
given ``create`` as an over-broad Role would) creates a grant. Then, with the policy bound (to
this test's own Janus namespace only, so the other tests on the session cluster never see it),
each of those is refused with 403 while every legitimate write passes, the admin path needs its
annotation, and a whole grant (receiver creates, controller grants, web revokes) still works.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from kubernetes import client
from kubernetes.client.rest import ApiException

from janus import names, resource
from janus.controller import rbac
from janus.dev.controlplane import LocalCluster
from janus.resource import admission
from janus.resource.client import AccessRequestClient
from tests.integration.controller_env import (
    CATALOGUE_ROLE,
    ControllerProcess,
    grant_objects,
    prepare_central,
    register_cluster,
    wait_phase,
)
from tests.k8s_helpers import create_namespace, create_pod

pytestmark = pytest.mark.k8s_real

# The chart's Roles for the receiver and the web app (helm/janus/templates/webhook-rbac.yaml and
# web-rbac.yaml), verbs on accessrequests.
CHART_VERBS = {
    admission.RECEIVER_SA: ["create", "get", "list", "watch", "patch", "delete"],
    admission.WEB_SA: ["get", "list", "watch", "patch"],
}
PROVENANCE = {"repo": "acme/access", "pullRequest": 7, "mergeCommit": "a" * 40,
              "path": "requests/prod/payments/req.yaml"}


def test_admission_file_is_up_to_date() -> None:
    assert admission.HELM_FILE.read_text(encoding="utf-8") == admission.render(), \
        "run: python -m janus.resource.admission"


def test_chart_renders_the_policy_with_its_labels() -> None:
    from tests.helm.chart import by_kind, render

    docs = render()
    pol = [d for d in by_kind(docs, "ValidatingAdmissionPolicy")
           if d["metadata"]["name"] == admission.POLICY_NAME]
    bnd = [d for d in by_kind(docs, "ValidatingAdmissionPolicyBinding")
           if d["metadata"]["name"] == admission.POLICY_NAME]
    assert len(pol) == len(bnd) == 1
    assert pol[0]["spec"] == admission.policy()["spec"]
    assert bnd[0]["spec"] == admission.binding()["spec"]
    for doc in (pol[0], bnd[0]):
        assert doc["metadata"]["labels"]["app.kubernetes.io/name"] == "janus"


def _cr(request: str, *, provenance: dict[str, Any] | None = None,
        annotations: dict[str, str] | None = None, namespace: str = "payments",
        cluster: str = "prod", duration: str = "1h") -> dict[str, Any]:
    spec: dict[str, Any] = {"requestName": request, "requester": "alice", "cluster": cluster,
                            "namespace": namespace, "role": "pod-exec", "duration": duration,
                            "reason": "INC-1: admission test"}
    if provenance:
        spec["provenance"] = provenance
    return {"apiVersion": resource.API_VERSION, "kind": resource.KIND,
            "metadata": {"name": names.access_request_name(cluster, namespace, request),
                         "annotations": annotations or {}},
            "spec": spec}


class Bed:
    """The Janus namespace, the three ServiceAccounts with their RBAC, a client for each."""

    def __init__(self, cluster: LocalCluster) -> None:
        self.cluster = cluster
        self.api = cluster.admin_client()
        self.ns = prepare_central(cluster)
        self.policy = f"{admission.POLICY_NAME}-{self.ns}"
        self.cleanup: list[Callable[[], Any]] = []
        core = client.CoreV1Api(self.api)
        for sa in (admission.RECEIVER_SA, admission.WEB_SA, admission.CONTROLLER_SA):
            core.create_namespaced_service_account(
                self.ns, client.V1ServiceAccount(metadata=client.V1ObjectMeta(name=sa)))
        for sa, verbs in CHART_VERBS.items():
            self._role(sa, verbs)
        # The controller's central RBAC as generated (cluster-scoped and janus-tokens objects
        # renamed for this namespace, so parallel tests keep theirs).
        docs = rbac.central_roles(self.ns)
        for doc in docs:
            if doc["metadata"].get("namespace") != self.ns:
                doc["metadata"]["name"] += f"-{self.ns}"
                if "roleRef" in doc:
                    doc["roleRef"]["name"] += f"-{self.ns}"
        target = rbac.target_cluster_role([CATALOGUE_ROLE])
        target["metadata"]["name"] += f"-{self.ns}"
        crb = rbac.target_binding(self.ns)
        crb["metadata"]["name"] += f"-{self.ns}"
        crb["roleRef"]["name"] = target["metadata"]["name"]
        rbac.apply(self.api, [*docs, target, crb])
        for doc in [*docs, target, crb]:
            if doc["metadata"].get("namespace") in (None, names.TOKENS_NAMESPACE):
                self.cleanup.append(lambda d=doc: self._delete_rbac(d))
        self.tokens = {sa: core.create_namespaced_service_account_token(
            sa, self.ns, client.AuthenticationV1TokenRequest(
                spec=client.V1TokenRequestSpec(audiences=[], expiration_seconds=3600))
        ).status.token for sa in (admission.RECEIVER_SA, admission.WEB_SA,
                                  admission.CONTROLLER_SA)}
        self.objects = {sa: client.CustomObjectsApi(cluster.token_client(token))
                        for sa, token in self.tokens.items()}
        self.admin = client.CustomObjectsApi(self.api)

    def _role(self, sa: str, verbs: list[str], name: str | None = None) -> None:
        rbac_api = client.RbacAuthorizationV1Api(self.api)
        name = name or sa
        rbac_api.create_namespaced_role(self.ns, client.V1Role(
            metadata=client.V1ObjectMeta(name=name),
            rules=[client.V1PolicyRule(api_groups=[resource.GROUP], resources=[resource.PLURAL],
                                       verbs=verbs)]))
        rbac_api.create_namespaced_role_binding(self.ns, client.V1RoleBinding(
            metadata=client.V1ObjectMeta(name=name),
            role_ref=client.V1RoleRef(api_group="rbac.authorization.k8s.io", kind="Role",
                                      name=name),
            subjects=[client.RbacV1Subject(kind="ServiceAccount", name=sa, namespace=self.ns)]))

    def _delete_rbac(self, doc: dict[str, Any]) -> None:
        rbac_api = client.RbacAuthorizationV1Api(self.api)
        name, ns = doc["metadata"]["name"], doc["metadata"].get("namespace")
        call = {("ClusterRole", None): lambda: rbac_api.delete_cluster_role(name),
                ("ClusterRoleBinding", None): lambda: rbac_api.delete_cluster_role_binding(name),
                ("Role", ns): lambda: rbac_api.delete_namespaced_role(name, ns),
                ("RoleBinding", ns): lambda: rbac_api.delete_namespaced_role_binding(name, ns),
                }[(doc["kind"], ns)]
        call()

    # -- writes as an identity ------------------------------------------------------------
    def create(self, who: str, body: dict[str, Any]) -> dict[str, Any]:
        api = self.admin if who == "admin" else self.objects[who]
        return api.create_namespaced_custom_object(resource.GROUP, resource.VERSION, self.ns,
                                                   resource.PLURAL, body)

    def patch(self, who: str, name: str, body: dict[str, Any], *,
              status: bool = False) -> dict[str, Any]:
        api = self.admin if who == "admin" else self.objects[who]
        call = (api.patch_namespaced_custom_object_status if status
                else api.patch_namespaced_custom_object)
        return call(resource.GROUP, resource.VERSION, self.ns, resource.PLURAL, name, body,
                    _content_type="application/merge-patch+json")

    def delete(self, who: str, name: str) -> None:
        api = self.admin if who == "admin" else self.objects[who]
        api.delete_namespaced_custom_object(resource.GROUP, resource.VERSION, self.ns,
                                            resource.PLURAL, name)

    def read(self, name: str) -> dict[str, Any]:
        return self.admin.get_namespaced_custom_object(resource.GROUP, resource.VERSION,
                                                       self.ns, resource.PLURAL, name)

    def denied(self, call: Callable[..., Any], *args: Any, **kwargs: Any) -> str:
        """403 from this policy (its name in the answer, not RBAC's)."""
        with pytest.raises(ApiException) as err:
            call(*args, **kwargs)
        assert err.value.status == 403, err.value.body
        assert self.policy in (err.value.body or ""), err.value.body
        return err.value.body or ""

    @staticmethod
    def forbidden(call: Callable[..., Any], *args: Any, **kwargs: Any) -> None:
        """403, whoever says it (RBAC already refuses these; the policy would too)."""
        with pytest.raises(ApiException) as err:
            call(*args, **kwargs)
        assert err.value.status == 403, err.value.body


@pytest.fixture(scope="module")
def bed(cluster: LocalCluster) -> Iterator[Bed]:
    b = Bed(cluster)
    # Over-broad RBAC, as an operator might grant: the web identity may create. Only the
    # admission policy stands between it and a grant.
    b._role(admission.WEB_SA, ["create"], name="too-broad")
    yield b
    for call in reversed(b.cleanup):
        try:
            call()
        except ApiException as exc:
            if exc.status != 404:
                raise


@pytest.fixture(scope="module")
def policed(bed: Bed) -> Iterator[Bed]:
    adm = client.AdmissionregistrationV1Api(bed.api)
    adm.create_validating_admission_policy(admission.policy(name=bed.policy))
    adm.create_validating_admission_policy_binding(
        admission.binding(bed.policy, namespace=bed.ns))
    # The policy reaches the admission plugin asynchronously: wait until it bites.
    deadline = time.monotonic() + 30
    probe = _cr(f"probe-{uuid.uuid4().hex[:6]}", provenance=PROVENANCE)
    while True:
        try:
            bed.create(admission.WEB_SA, probe)
        except ApiException as exc:
            if exc.status == 403 and bed.policy in (exc.body or ""):
                break
            raise
        bed.delete("admin", probe["metadata"]["name"])
        assert time.monotonic() < deadline, "the admission policy never took effect"
        time.sleep(0.3)
    yield bed
    for call in (lambda: adm.delete_validating_admission_policy_binding(bed.policy),
                 lambda: adm.delete_validating_admission_policy(bed.policy)):
        try:
            call()
        except ApiException as exc:
            if exc.status != 404:
                raise


def _name(body: dict[str, Any]) -> str:
    return str(body["metadata"]["name"])


def _req() -> str:
    return f"req-{uuid.uuid4().hex[:8]}"


def test_gap_with_rbac_alone(bed: Bed) -> None:
    """Without the policy every hole is open (this is what the policy closes)."""
    web_made = bed.create(admission.WEB_SA, _cr(_req(), provenance=PROVENANCE))
    bare = bed.create(admission.RECEIVER_SA, _cr(_req()))
    assert "provenance" not in bare["spec"]
    raised = bed.patch(admission.WEB_SA, _name(bare), {"spec": {"duration": "720h"}})
    assert raised["spec"]["duration"] == "720h"
    rewritten = bed.patch(admission.CONTROLLER_SA, _name(bare), {"spec": {"reason": "mine"}})
    assert rewritten["spec"]["reason"] == "mine"
    for made in (web_made, bare):
        bed.delete("admin", _name(made))


def test_only_the_receiver_creates_and_only_with_provenance(policed: Bed) -> None:
    b = policed
    body = b.denied(b.create, admission.WEB_SA, _cr(_req(), provenance=PROVENANCE))
    assert "only the Janus webhook receiver creates" in body
    assert "provenance" in b.denied(b.create, admission.RECEIVER_SA, _cr(_req()))
    partial = {k: v for k, v in PROVENANCE.items() if k != "mergeCommit"}
    b.denied(b.create, admission.RECEIVER_SA, _cr(_req(), provenance=partial))
    made = b.create(admission.RECEIVER_SA, _cr(_req(), provenance=PROVENANCE))
    assert made["spec"]["provenance"]["pullRequest"] == 7
    b.delete(admission.RECEIVER_SA, _name(made))


def test_web_may_only_revoke(policed: Bed) -> None:
    b = policed
    name = _name(b.create(admission.RECEIVER_SA, _cr(_req(), provenance=PROVENANCE)))
    assert "may only set spec.revocation" in b.denied(
        b.patch, admission.WEB_SA, name, {"spec": {"duration": "720h"}})
    b.denied(b.patch, admission.WEB_SA, name, {"spec": {"provenance": {"pullRequest": 8}}})
    b.denied(b.patch, admission.WEB_SA, name, {"metadata": {"finalizers": ["x.dev/hold"]}})
    b.denied(b.patch, admission.WEB_SA, name, {"metadata": {"labels": {"a": "b"}}})
    b.denied(b.patch, admission.WEB_SA, name, {"metadata": {"annotations": {
        "janus.dev/ledger": "recorded"}}})
    b.forbidden(b.patch, admission.WEB_SA, name, {"status": {"phase": "Active"}}, status=True)
    b.forbidden(b.delete, admission.WEB_SA, name)
    # Its revocation, the way the web app writes it (the revoked-via annotation included).
    web = AccessRequestClient(b.cluster.token_client(b.tokens[admission.WEB_SA]), b.ns)
    web.request_revocation(name, "bob", "done", via="web")
    cr = b.read(name)
    assert cr["spec"]["revocation"]["by"] == "bob"
    assert cr["spec"]["duration"] == "1h"
    assert cr["metadata"]["annotations"]["janus.dev/revoked-via"] == "web"


def test_controller_writes_status_and_its_finalizer_only(policed: Bed) -> None:
    b = policed
    ctl = admission.CONTROLLER_SA
    name = _name(b.create(admission.RECEIVER_SA, _cr(_req(), provenance=PROVENANCE)))
    assert "writes only status" in b.denied(b.patch, ctl, name, {"spec": {"duration": "9h"}})
    b.denied(b.patch, ctl, name, {"spec": {"revocation": {"by": "x", "reason": "y",
                                                          "requestedAt": "2026-01-01T00:00:00Z"}}})
    b.denied(b.patch, ctl, name, {"metadata": {"finalizers": ["janus.dev/ledger"]}})
    b.denied(b.patch, ctl, name, {"metadata": {"annotations": {"janus.dev/ledger": "x"}}})
    b.forbidden(b.create, ctl, _cr(_req(), provenance=PROVENANCE))
    out = b.patch(ctl, name, {"status": {"phase": "Approved", "message": "admission test"}},
                  status=True)
    assert out["status"]["phase"] == "Approved"
    b.patch(ctl, name, {"metadata": {"finalizers": [admission.CONTROLLER_FINALIZER],
                                     "annotations": {"kopf.janus.dev/cleanup": "{}"}}})
    b.patch(ctl, name, {"metadata": {"finalizers": []}})
    assert not b.read(name).get("metadata", {}).get("finalizers")
    # Nobody else writes status.
    b.forbidden(b.patch, admission.RECEIVER_SA, name, {"status": {"phase": "Active"}},
                status=True)
    b.delete(admission.RECEIVER_SA, name)


def test_receiver_extends_revokes_holds_its_finalizer_and_deletes(policed: Bed) -> None:
    b = policed
    rcv = admission.RECEIVER_SA
    name = _name(b.create(rcv, _cr(_req(), provenance=PROVENANCE)))
    b.patch(rcv, name, {"spec": {"duration": "2h", "reason": "INC-2",
                                 "provenance": {**PROVENANCE, "pullRequest": 9}}})
    assert b.read(name)["spec"]["duration"] == "2h"
    assert "may only extend" in b.denied(b.patch, rcv, name, {"spec": {"provenance": None}})
    b.denied(b.patch, rcv, name, {"metadata": {"finalizers": ["x.dev/other"]}})
    b.patch(rcv, name, {"metadata": {"finalizers": [admission.LEDGER_FINALIZER],
                                     "annotations": {"janus.dev/ledger": "pending"}}})
    b.patch(rcv, name, {"spec": {"revocation": {"by": "carol", "reason": "r",
                                                "requestedAt": "2026-01-01T00:00:00Z"}}})
    b.patch(rcv, name, {"metadata": {"finalizers": []}})
    b.delete(rcv, name)


def test_any_other_identity_may_only_revoke(policed: Bed) -> None:
    """`janus revoke` runs with an operator's own credentials: a ServiceAccount that RBAC lets
    patch AccessRequests (not a Janus identity, not an admin) may set spec.revocation only."""
    b = policed
    core = client.CoreV1Api(b.api)
    core.create_namespaced_service_account(
        b.ns, client.V1ServiceAccount(metadata=client.V1ObjectMeta(name="operator")))
    b._role("operator", ["get", "list", "patch", "create", "delete"])
    token = core.create_namespaced_service_account_token(
        "operator", b.ns, client.AuthenticationV1TokenRequest(
            spec=client.V1TokenRequestSpec(audiences=[], expiration_seconds=600))).status.token
    b.objects["operator"] = client.CustomObjectsApi(b.cluster.token_client(token))
    name = _name(b.create(admission.RECEIVER_SA, _cr(_req(), provenance=PROVENANCE)))
    assert "may only set spec.revocation" in b.denied(
        b.patch, "operator", name, {"spec": {"duration": "720h"}})
    b.denied(b.patch, "operator", name, {"metadata": {"finalizers": ["x.dev/hold"]}})
    b.denied(b.create, "operator", _cr(_req(), provenance=PROVENANCE))
    operator = AccessRequestClient(b.cluster.token_client(token), b.ns)
    operator.request_revocation(name, "root", "INC-9", via="cli")
    assert b.read(name)["spec"]["revocation"]["by"] == "root"
    b.delete("operator", name)


def test_admin_path_is_explicit_and_recorded(policed: Bed) -> None:
    b = policed
    assert "janus.dev/created-by-admin" in b.denied(b.create, "admin", _cr(_req()))
    made = b.create("admin", _cr(_req(), annotations={
        admission.ADMIN_ANNOTATION: "root: INC-9 break-glass, GitHub down"}))
    name = _name(made)
    b.patch("admin", name, {"spec": {"duration": "4h"}})
    b.patch("admin", name, {"status": {"phase": "Approved"}}, status=True)
    b.delete("admin", name)


def test_a_whole_grant_under_the_policy(policed: Bed, unique_ns: str, tmp_path: Path) -> None:
    """Receiver creates, the controller (as its ServiceAccount, central and target) grants, the
    web identity revokes, the controller removes the access."""
    b = policed
    create_namespace(b.api, unique_ns)
    create_pod(b.api, unique_ns)
    ctl_kubeconfig = b.cluster.kubeconfig(token=b.tokens[admission.CONTROLLER_SA])
    register_cluster(b.cluster, b.ns, "tgt", ctl_kubeconfig)
    ctl = ControllerProcess(tmp_path, b.cluster, b.ns, clusters=["central", "tgt"],
                            kubeconfig=ctl_kubeconfig).start()
    try:
        name = _name(b.create(admission.RECEIVER_SA, _cr(
            _req(), provenance=PROVENANCE, cluster="tgt", namespace=unique_ns)))
        wait_phase(b.api, b.ns, name, "Active", timeout=30)
        sa = names.service_account_name("alice", name)
        assert grant_objects(b.api, unique_ns, name)["sa"] == [sa]
        web = AccessRequestClient(b.cluster.token_client(b.tokens[admission.WEB_SA]), b.ns)
        web.request_revocation(name, "bob", "done", via="web")
        wait_phase(b.api, b.ns, name, "Revoked", timeout=30)
        assert grant_objects(b.api, unique_ns, name)["sa"] == []
        assert b.policy not in ctl.log()
    finally:
        ctl.stop()
        print(ctl.log()[-6000:])


def test_the_receivers_own_writes_pass(policed: Bed) -> None:
    """The receiver's real code (janus.gitops.crs.AccessRequests) with its token: create with
    provenance, an extension from a later merge, the ledger finalizer and annotation, a
    revocation, removal of the finalizer, a delete."""
    import dataclasses
    import datetime as dt

    from janus.gitops.crs import AccessRequests
    from janus.resource.view import Provenance
    from tests.unit.model.helpers import make_request

    b = policed
    crs = AccessRequests(b.cluster.token_client(b.tokens[admission.RECEIVER_SA]), b.ns)
    request = make_request()
    first = Provenance(repo="acme/access", pull_request=7, merge_commit="a" * 40,
                       path="requests/prod/payments/alice-payments-inc1234.yaml",
                       blob_sha="b" * 40, approvers=("bob",), merged_by="bob",
                       merged_at=dt.datetime(2026, 1, 1, tzinfo=dt.UTC))
    assert crs.apply_grant(request, first) == "created"
    name = names.access_request_name(request.cluster, request.namespace, request.name)
    longer = make_request(duration="3h")
    later = dataclasses.replace(first, pull_request=8, merge_commit="c" * 40)
    assert crs.apply_grant(longer, later) == "extended"
    assert b.read(name)["spec"]["duration"] == "3h"
    crs.client.set_finalizer(name, admission.LEDGER_FINALIZER, True)
    view = crs.client.get(name)
    crs.client.set_annotation(name, "janus.dev/ledger", "pending", view.resource_version)
    crs.client.request_revocation(name, "alice", "done", via="file-deletion")
    crs.client.set_finalizer(name, admission.LEDGER_FINALIZER, False)
    crs.client.delete(name)
