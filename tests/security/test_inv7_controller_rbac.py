"""§9 invariant 7: the controller's RBAC allows binding only the catalogue's ClusterRoles.

tests/integration/test_controller_multicluster.py proves on a real API server that the controller
identity cannot RoleBind cluster-admin or a twin of the catalogue role under another name. These
are the other doors to the same room, tried with the controller's real token (the shipped target
ClusterRole from janus.controller.rbac): binding a namespaced Role instead of a ClusterRole, a
ClusterRoleBinding (the catalogue role cluster-wide, kube-system included), writing a Role of its
own, and rewriting the catalogue ClusterRole itself. Every one must be 403; the one legitimate
action (a RoleBinding to the catalogue role) succeeds as the control.
"""

from __future__ import annotations

from typing import Any

import pytest
from kubernetes import client
from kubernetes.client.rest import ApiException

from janus.dev.controlplane import LocalCluster
from tests.integration.controller_env import CATALOGUE_ROLE
from tests.integration.test_controller_multicluster import _controller_token
from tests.k8s_helpers import create_namespace

pytestmark = pytest.mark.k8s_real

RBAC_GROUP = "rbac.authorization.k8s.io"
EXEC_RULES = [client.V1PolicyRule(api_groups=[""], resources=["pods", "pods/exec"],
                                  verbs=["get", "list", "create"])]


def _subject(ns: str) -> list[client.RbacV1Subject]:
    return [client.RbacV1Subject(kind="ServiceAccount", name="someone", namespace=ns)]


def _forbidden(call: Any, *args: Any) -> int:
    with pytest.raises(ApiException) as err:
        call(*args)
    return err.value.status


def test_controller_cannot_reach_beyond_the_catalogue_by_any_other_rbac_door(
        second_cluster: LocalCluster, unique_ns: str) -> None:
    admin = client.RbacAuthorizationV1Api(second_cluster.admin_client())
    create_namespace(second_cluster.admin_client(), unique_ns)
    # A namespaced Role with exec rights, made by an admin: binding it would grant exec without
    # the catalogue ClusterRole ever being named.
    admin.create_namespaced_role(unique_ns, client.V1Role(
        metadata=client.V1ObjectMeta(name="sneaky"), rules=EXEC_RULES))
    as_ctl = client.RbacAuthorizationV1Api(
        second_cluster.token_client(_controller_token(second_cluster)))

    # Control: the one thing it may do.
    as_ctl.create_namespaced_role_binding(unique_ns, client.V1RoleBinding(
        metadata=client.V1ObjectMeta(name="ok"), subjects=_subject(unique_ns),
        role_ref=client.V1RoleRef(api_group=RBAC_GROUP, kind="ClusterRole", name=CATALOGUE_ROLE)))

    assert _forbidden(as_ctl.create_namespaced_role_binding, unique_ns, client.V1RoleBinding(
        metadata=client.V1ObjectMeta(name="via-role"), subjects=_subject(unique_ns),
        role_ref=client.V1RoleRef(api_group=RBAC_GROUP, kind="Role", name="sneaky"))) == 403
    assert _forbidden(as_ctl.create_cluster_role_binding, client.V1ClusterRoleBinding(
        metadata=client.V1ObjectMeta(name=f"everywhere-{unique_ns}"),
        subjects=_subject(unique_ns),
        role_ref=client.V1RoleRef(api_group=RBAC_GROUP, kind="ClusterRole",
                                  name=CATALOGUE_ROLE))) == 403
    assert _forbidden(as_ctl.create_namespaced_role, unique_ns, client.V1Role(
        metadata=client.V1ObjectMeta(name="own"), rules=EXEC_RULES)) == 403
    assert _forbidden(as_ctl.patch_cluster_role, CATALOGUE_ROLE,
                      {"rules": [{"apiGroups": ["*"], "resources": ["*"],
                                  "verbs": ["*"]}]}) == 403
    assert _forbidden(as_ctl.create_cluster_role, client.V1ClusterRole(
        metadata=client.V1ObjectMeta(name=f"own-{unique_ns}"), rules=EXEC_RULES)) == 403
