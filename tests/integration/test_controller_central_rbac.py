"""The shipped RBAC is enough: the controller runs with a token of its own ServiceAccount, bound
only to the Roles of janus/controller/rbac.py (central) and the target ClusterRole — not as
admin — and grants, expires and revokes without a single 403."""

from __future__ import annotations

from pathlib import Path

import pytest
from kubernetes import client
from kubernetes.client.rest import ApiException

from janus.controller import rbac
from janus.dev.controlplane import LocalCluster
from tests.integration.controller_env import (
    CATALOGUE_ROLE,
    ControllerProcess,
    create_request,
    patch_spec,
    prepare_central,
    wait_for,
    wait_phase,
)
from tests.k8s_helpers import create_namespace

pytestmark = pytest.mark.k8s_real


def test_controller_runs_with_exactly_the_shipped_rbac(cluster: LocalCluster, tmp_path: Path,
                                                        unique_ns: str) -> None:
    api = cluster.admin_client()
    janus_ns = prepare_central(cluster)
    create_namespace(api, unique_ns)
    docs = [*rbac.central_roles(janus_ns), rbac.target_cluster_role([CATALOGUE_ROLE]),
            rbac.target_binding(janus_ns)]
    # Cluster-scoped bindings are shared by every test module: point them at this namespace.
    rbac_api = client.RbacAuthorizationV1Api(api)
    for doc in docs:
        if doc["kind"] in ("ClusterRoleBinding", "RoleBinding"):
            try:
                if doc["kind"] == "ClusterRoleBinding":
                    rbac_api.delete_cluster_role_binding(doc["metadata"]["name"])
                else:
                    rbac_api.delete_namespaced_role_binding(doc["metadata"]["name"],
                                                            doc["metadata"]["namespace"])
            except ApiException as exc:
                if exc.status != 404:
                    raise
    rbac.apply(api, docs)
    core = client.CoreV1Api(api)
    core.create_namespaced_service_account(janus_ns, client.V1ServiceAccount(
        metadata=client.V1ObjectMeta(name=rbac.CONTROLLER_SA)))
    token = core.create_namespaced_service_account_token(
        rbac.CONTROLLER_SA, janus_ns, client.AuthenticationV1TokenRequest(
            spec=client.V1TokenRequestSpec(audiences=[], expiration_seconds=3600))).status.token

    # The API server's RBAC cache picks new bindings up within moments; start once it has, so
    # any 403 in the controller's log means a missing rule, not propagation delay.
    as_controller = client.AuthorizationV1Api(cluster.token_client(token))

    def allowed(namespace: str, resource: str, verb: str, group: str = "") -> bool:
        review = as_controller.create_self_subject_access_review(
            client.V1SelfSubjectAccessReview(spec=client.V1SelfSubjectAccessReviewSpec(
                resource_attributes=client.V1ResourceAttributes(
                    namespace=namespace, resource=resource, verb=verb, group=group))))
        return bool(review.status.allowed)

    wait_for(lambda: allowed(janus_ns, "accessrequests", "watch", "janus.dev")
             and allowed("janus-tokens", "secrets", "create")
             and allowed(unique_ns, "serviceaccounts", "create")
             and allowed("", "customresourcedefinitions", "list", "apiextensions.k8s.io"),
             10, "RBAC bindings to take effect")
    ctl = ControllerProcess(tmp_path, cluster, janus_ns, clusters=["central"],
                            kubeconfig=cluster.kubeconfig(token=token))
    ctl.start()
    try:
        short = create_request(api, janus_ns, cluster="central", namespace=unique_ns,
                               duration="3s")
        revoked = create_request(api, janus_ns, cluster="central", namespace=unique_ns,
                                 duration="1h")
        wait_phase(api, janus_ns, short, "Active")
        wait_phase(api, janus_ns, revoked, "Active")
        patch_spec(api, janus_ns, revoked, {"revocation": {"by": "bob", "reason": "test"}})
        wait_phase(api, janus_ns, revoked, "Revoked", timeout=10)
        wait_phase(api, janus_ns, short, "Expired", timeout=10)
        # kopf posts Events asynchronously, just after the status write.
        wait_for(lambda: {"Granted", "Expired", "Revoked"} <= {
            e.reason for e in core.list_namespaced_event(janus_ns).items}, 10, "Events")
    finally:
        ctl.stop()
        print(ctl.log()[-6000:])
    log = ctl.log()
    assert " 403 " not in log and "Forbidden" not in log, "the shipped RBAC is missing a rule"
