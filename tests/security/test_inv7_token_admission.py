"""§9 invariant 7, the part RBAC cannot express: the controller's target ClusterRole grants
``serviceaccounts/token create`` (and ServiceAccount/RoleBinding create/delete) for any name in
any namespace, because grant names are dynamic. The ValidatingAdmissionPolicy from
janus.controller.admission narrows it, on the real API server: the controller identity (the
shipped target ClusterRole, a real ServiceAccount token) is first shown to mint a kube-system
token with RBAC alone; with the policy it gets tokens only for ``janus-*`` ServiceAccounts outside
the system namespaces, creates/deletes only ``janus-*`` objects, an admin is unaffected, and a
whole controller grant (Active, then Expired) still works.

The policy is bound only for the ServiceAccount of this test's own Janus namespace and deleted at
the end, so the other tests on the session cluster never see it.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from kubernetes import client
from kubernetes.client.rest import ApiException

from janus import names
from janus.controller import admission, rbac
from janus.dev.controlplane import LocalCluster
from tests.integration.controller_env import (
    CATALOGUE_ROLE,
    ControllerProcess,
    create_request,
    grant_objects,
    prepare_central,
    register_cluster,
    wait_phase,
)
from tests.k8s_helpers import create_namespace, create_pod

GRANT_SA = "janus-alice-1234abcd"


def test_admission_file_is_up_to_date() -> None:
    assert admission.HELM_FILE.read_text(encoding="utf-8") == admission.render(), \
        "run: python -m janus.controller.admission"


def _token_request() -> client.AuthenticationV1TokenRequest:
    return client.AuthenticationV1TokenRequest(
        spec=client.V1TokenRequestSpec(audiences=[], expiration_seconds=600))


def _sa(name: str) -> client.V1ServiceAccount:
    return client.V1ServiceAccount(metadata=client.V1ObjectMeta(name=name))


def _rb(name: str, ns: str) -> client.V1RoleBinding:
    return client.V1RoleBinding(
        metadata=client.V1ObjectMeta(name=name),
        role_ref=client.V1RoleRef(api_group="rbac.authorization.k8s.io", kind="ClusterRole",
                                  name=CATALOGUE_ROLE),
        subjects=[client.RbacV1Subject(kind="ServiceAccount", name=GRANT_SA, namespace=ns)])


def _denied(policy_name: str, call: Callable[..., Any], *args: Any) -> None:
    with pytest.raises(ApiException) as err:
        call(*args)
    assert err.value.status == 403, err.value.body
    assert policy_name in (err.value.body or ""), err.value.body


def _wait_denied(policy_name: str, call: Callable[..., Any], *args: Any) -> None:
    """The policy reaches the admission plugin asynchronously: wait until it bites."""
    deadline = time.monotonic() + 20
    while True:
        try:
            call(*args)
        except ApiException as exc:
            if exc.status == 403 and policy_name in (exc.body or ""):
                return
            raise
        assert time.monotonic() < deadline, "the admission policy never took effect"
        time.sleep(0.2)


@pytest.mark.k8s_real
def test_controller_tokens_only_for_janus_service_accounts_outside_system_namespaces(
        cluster: LocalCluster, unique_ns: str, tmp_path: Path) -> None:
    api = cluster.admin_client()
    core = client.CoreV1Api(api)
    rbac_api = client.RbacAuthorizationV1Api(api)
    adm = client.AdmissionregistrationV1Api(api)

    janus_ns = prepare_central(cluster)
    crb_name = f"{rbac.TARGET_CLUSTER_ROLE}-{janus_ns}"
    policy_name = f"{admission.POLICY_NAME}-{janus_ns}"
    rbac.apply(api, [rbac.target_cluster_role([CATALOGUE_ROLE])])
    crb = rbac.target_binding(janus_ns)
    crb["metadata"]["name"] = crb_name
    rbac_api.create_cluster_role_binding(crb)
    core.create_namespaced_service_account(janus_ns, _sa(rbac.CONTROLLER_SA))
    token = core.create_namespaced_service_account_token(
        rbac.CONTROLLER_SA, janus_ns, _token_request()).status.token
    as_ctl = cluster.token_client(token)
    ctl_core = client.CoreV1Api(as_ctl)
    ctl_rbac = client.RbacAuthorizationV1Api(as_ctl)

    create_namespace(api, unique_ns)
    create_pod(api, unique_ns)
    for ns, sa in ((unique_ns, GRANT_SA), (unique_ns, "app"), ("kube-system", "app"),
                   ("kube-system", GRANT_SA)):
        try:
            core.create_namespaced_service_account(ns, _sa(sa))
        except ApiException as exc:
            if exc.status != 409:
                raise
    core.create_namespaced_service_account(unique_ns, _sa("doomed"))
    rbac_api.create_namespaced_role_binding(unique_ns, _rb("doomed", unique_ns))

    # The gap, measured: with RBAC alone the controller identity mints a kube-system token.
    assert ctl_core.create_namespaced_service_account_token(
        "app", "kube-system", _token_request()).status.token

    ctl = None
    try:
        adm.create_validating_admission_policy(
            admission.policy(janus_ns, name=policy_name))
        adm.create_validating_admission_policy_binding(admission.binding(policy_name))
        _wait_denied(policy_name, ctl_core.create_namespaced_service_account_token,
                     "app", "kube-system", _token_request())

        # serviceaccounts/token: only janus-* names, never in the system namespaces.
        assert ctl_core.create_namespaced_service_account_token(
            GRANT_SA, unique_ns, _token_request()).status.token
        _denied(policy_name, ctl_core.create_namespaced_service_account_token,
                "app", unique_ns, _token_request())
        _denied(policy_name, ctl_core.create_namespaced_service_account_token,
                GRANT_SA, "kube-system", _token_request())
        _denied(policy_name, ctl_core.create_namespaced_service_account_token,
                "app", "kube-system", _token_request())

        # ServiceAccounts and RoleBindings: create and delete only janus-* names.
        ctl_core.create_namespaced_service_account(unique_ns, _sa("janus-bob-00000000"))
        ctl_core.delete_namespaced_service_account("janus-bob-00000000", unique_ns)
        ctl_rbac.create_namespaced_role_binding(unique_ns, _rb("janus-bob-00000000", unique_ns))
        ctl_rbac.delete_namespaced_role_binding("janus-bob-00000000", unique_ns)
        _denied(policy_name, ctl_core.create_namespaced_service_account, unique_ns, _sa("evil"))
        _denied(policy_name, ctl_core.delete_namespaced_service_account, "doomed", unique_ns)
        _denied(policy_name, ctl_rbac.create_namespaced_role_binding, unique_ns,
                _rb("evil", unique_ns))
        _denied(policy_name, ctl_rbac.delete_namespaced_role_binding, "doomed", unique_ns)
        _denied(policy_name, ctl_core.create_namespaced_service_account, "kube-system",
                _sa("janus-bob-00000000"))
        assert core.read_namespaced_service_account("doomed", unique_ns)
        assert rbac_api.read_namespaced_role_binding("doomed", unique_ns)

        # An admin is untouched.
        assert core.create_namespaced_service_account_token(
            "app", "kube-system", _token_request()).status.token
        core.delete_namespaced_service_account("doomed", unique_ns)

        # A whole grant through the controller identity, with the policy in force.
        register_cluster(cluster, janus_ns, "tgt", cluster.kubeconfig(token=token))
        ctl = ControllerProcess(tmp_path, cluster, janus_ns,
                                clusters=["central", "tgt"]).start()
        name = create_request(api, janus_ns, cluster="tgt", namespace=unique_ns,
                              duration="3s")
        wait_phase(api, janus_ns, name, "Active", timeout=30)
        sa = names.service_account_name("alice", name)
        objs = grant_objects(api, unique_ns, name)
        assert (objs["sa"], objs["rb"]) == ([sa], [sa])
        wait_phase(api, janus_ns, name, "Expired", timeout=30)
        objs = grant_objects(api, unique_ns, name)
        assert (objs["sa"], objs["rb"]) == ([], [])
        assert "ValidatingAdmissionPolicy" not in ctl.log()
    finally:
        if ctl is not None:
            ctl.stop()
            print(ctl.log()[-6000:])
        for call in (lambda: adm.delete_validating_admission_policy_binding(policy_name),
                     lambda: adm.delete_validating_admission_policy(policy_name),
                     lambda: rbac_api.delete_cluster_role_binding(crb_name)):
            try:
                call()
            except ApiException as exc:
                if exc.status != 404:
                    raise
