"""The controller's own RBAC, as data (docs/design.md §9), rendered to ``helm/janus/files/``.

On each **target** cluster the controller may only: create/delete ServiceAccounts and
RoleBindings, request tokens for ServiceAccounts, and ``bind`` exactly the catalogue's
ClusterRoles (``resourceNames``). It holds none of the permissions of those roles itself and has
no ``escalate``: the API server refuses (403) any RoleBinding to another role, ``cluster-admin``
included — ``tests/integration/test_controller_multicluster.py`` proves it on the real API
server.

RBAC cannot limit ``serviceaccounts/token create`` or ``serviceaccounts`` to names with a
prefix, so on its own this role would let a stolen controller credential mint tokens for any
ServiceAccount of the target. The ValidatingAdmissionPolicy of :mod:`janus.controller.admission`
(apply it on every target) narrows the controller's identity to ``janus-*`` names outside the
system and Janus namespaces; what remains is the other grants' ServiceAccounts. Keep target
kubeconfig credentials short-lived and the Janus namespace unreadable to anyone else.

On the **central** cluster: AccessRequests and kubeconfig Secrets in the Janus namespace, token
Secrets in ``janus-tokens`` only, Events, kopf's peering object; no cluster-wide Secret access.
The catalogue ClusterRoles themselves are installed on each target by the chart/admin (from
``janus.policy.roles``), not by the controller, which would need ``escalate`` to do so.

    python -m janus.controller.rbac      # rewrite helm/janus/files/controller-rbac.yaml
"""

from __future__ import annotations

import sys
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import yaml

from janus import names, resource

TARGET_CLUSTER_ROLE = "janus-controller-target"
CENTRAL_ROLE = "janus-controller"
CONTROLLER_SA = "janus-controller"
_LABELS = {names.LABEL_MANAGED_BY: names.MANAGED_BY}


def _meta(name: str, namespace: str | None = None) -> dict[str, Any]:
    meta: dict[str, Any] = {"name": name, "labels": dict(_LABELS)}
    if namespace:
        meta["namespace"] = namespace
    return meta


def target_rules(catalogue: Iterable[str]) -> list[dict[str, Any]]:
    return [
        {"apiGroups": [""], "resources": ["serviceaccounts"],
         "verbs": ["get", "list", "create", "delete"]},
        {"apiGroups": [""], "resources": ["serviceaccounts/token"], "verbs": ["create"]},
        {"apiGroups": ["rbac.authorization.k8s.io"], "resources": ["rolebindings"],
         "verbs": ["get", "list", "create", "delete"]},
        {"apiGroups": ["rbac.authorization.k8s.io"], "resources": ["clusterroles"],
         "verbs": ["bind"], "resourceNames": sorted(set(catalogue))},
    ]


def target_cluster_role(catalogue: Iterable[str]) -> dict[str, Any]:
    return {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRole",
            "metadata": _meta(TARGET_CLUSTER_ROLE), "rules": target_rules(catalogue)}


def target_binding(sa_namespace: str, sa_name: str = CONTROLLER_SA) -> dict[str, Any]:
    return {
        "apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRoleBinding",
        "metadata": _meta(TARGET_CLUSTER_ROLE),
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole",
                    "name": TARGET_CLUSTER_ROLE},
        "subjects": [{"kind": "ServiceAccount", "name": sa_name, "namespace": sa_namespace}],
    }


def central_roles(namespace: str = names.JANUS_NAMESPACE) -> list[dict[str, Any]]:
    """Roles (not ClusterRoles) in the two central namespaces, plus kopf's discovery needs."""
    janus_rules = [
        {"apiGroups": [resource.GROUP], "resources": [resource.PLURAL],
         "verbs": ["get", "list", "watch", "patch", "update"]},
        {"apiGroups": [resource.GROUP], "resources": [f"{resource.PLURAL}/status"],
         "verbs": ["get", "patch", "update"]},
        {"apiGroups": [""], "resources": ["secrets"], "verbs": ["get", "list", "watch"]},
        {"apiGroups": ["", "events.k8s.io"], "resources": ["events"],
         "verbs": ["create", "patch"]},
        {"apiGroups": ["kopf.dev"], "resources": ["kopfpeerings"],
         "verbs": ["get", "list", "watch", "patch", "create"]},
    ]
    token_rules = [
        {"apiGroups": [""], "resources": ["secrets"],
         "verbs": ["get", "list", "create", "update", "patch", "delete"]},
    ]
    cluster_rules = [
        # kopf's runtime observation of CRDs and namespaces.
        {"apiGroups": ["apiextensions.k8s.io"], "resources": ["customresourcedefinitions"],
         "verbs": ["list", "watch"]},
        {"apiGroups": [""], "resources": ["namespaces"], "verbs": ["list", "watch"]},
    ]
    out: list[dict[str, Any]] = []
    for role_ns, rules in ((namespace, janus_rules), (names.TOKENS_NAMESPACE, token_rules)):
        out.append({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "Role",
                    "metadata": _meta(CENTRAL_ROLE, role_ns), "rules": rules})
        out.append({
            "apiVersion": "rbac.authorization.k8s.io/v1", "kind": "RoleBinding",
            "metadata": _meta(CENTRAL_ROLE, role_ns),
            "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role",
                        "name": CENTRAL_ROLE},
            "subjects": [{"kind": "ServiceAccount", "name": CONTROLLER_SA,
                          "namespace": namespace}],
        })
    out.append({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRole",
                "metadata": _meta(f"{CENTRAL_ROLE}-discovery"), "rules": cluster_rules})
    out.append({
        "apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRoleBinding",
        "metadata": _meta(f"{CENTRAL_ROLE}-discovery"),
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole",
                    "name": f"{CENTRAL_ROLE}-discovery"},
        "subjects": [{"kind": "ServiceAccount", "name": CONTROLLER_SA, "namespace": namespace}],
    })
    return out


def default_catalogue() -> list[str]:
    from janus.policy.roles import CLUSTER_ROLE_RULES

    return sorted(CLUSTER_ROLE_RULES)


HELM_FILE = Path(__file__).resolve().parents[2] / "helm/janus/files/controller-rbac.yaml"
HEADER = "# Generated from janus/controller/rbac.py (python -m janus.controller.rbac).\n"


def render() -> str:
    catalogue = default_catalogue()
    docs = [*central_roles(), target_cluster_role(catalogue),
            target_binding(names.JANUS_NAMESPACE)]
    return HEADER + yaml.safe_dump_all(docs, sort_keys=False)


def apply(api: Any, docs: Iterable[dict[str, Any]]) -> None:
    """Create-or-replace RBAC documents (tests and ``janus dev``)."""
    from kubernetes import client, utils
    from kubernetes.client.rest import ApiException

    rbac = client.RbacAuthorizationV1Api(api)
    for doc in docs:
        try:
            utils.create_from_dict(api, doc)
        except (utils.FailToCreateError, ApiException) as exc:
            if "AlreadyExists" not in str(exc) and "409" not in str(exc):
                raise
            kind, name = doc["kind"], doc["metadata"]["name"]
            ns = doc["metadata"].get("namespace")
            if kind == "ClusterRole":
                rbac.replace_cluster_role(name, client.V1ClusterRole.model_validate(doc))
            elif kind == "Role":
                rbac.replace_namespaced_role(name, ns, client.V1Role.model_validate(doc))


if __name__ == "__main__":  # pragma: no cover
    HELM_FILE.parent.mkdir(parents=True, exist_ok=True)
    HELM_FILE.write_text(render(), encoding="utf-8")
    sys.stdout.write(f"wrote {HELM_FILE}\n")
