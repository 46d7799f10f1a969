"""What a grant will create, for reviewers to see before they approve (``janus plan``).

The objects carry the same names and labels the controller uses (:mod:`janus.names`). The token
Secret is shown as a shape only: its values are placeholders, and no token exists at plan time.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from janus.model import JanusConfig, Request, format_duration
from janus.names import (
    TOKENS_NAMESPACE,
    access_request_name,
    grant_labels,
    role_binding_name,
    service_account_name,
    token_secret_name,
)

MINTED_AT_GRANT = "<minted at grant>"


def plan_objects(request: Request, config: JanusConfig) -> list[dict[str, Any]]:
    """ServiceAccount and RoleBinding in the target namespace, and the token Secret's shape."""
    cr_name = access_request_name(request.cluster, request.namespace, request.name)
    sa_name = service_account_name(request.requester, cr_name)
    labels = grant_labels(cr_name, request.requester, request.cluster)
    service_account = {
        "apiVersion": "v1",
        "kind": "ServiceAccount",
        "metadata": {"name": sa_name, "namespace": request.namespace, "labels": dict(labels)},
    }
    role_binding = {
        "apiVersion": "rbac.authorization.k8s.io/v1",
        "kind": "RoleBinding",
        "metadata": {
            "name": role_binding_name(request.requester, cr_name),
            "namespace": request.namespace,
            "labels": dict(labels),
        },
        "roleRef": {
            "apiGroup": "rbac.authorization.k8s.io",
            "kind": "ClusterRole",
            "name": config.roles[request.role],
        },
        "subjects": [{"kind": "ServiceAccount", "name": sa_name, "namespace": request.namespace}],
    }
    token_secret = {
        "apiVersion": "v1",
        "kind": "Secret",
        "type": "Opaque",
        "metadata": {
            "name": token_secret_name(cr_name),
            "namespace": TOKENS_NAMESPACE,
            "labels": dict(labels),
        },
        "stringData": {
            "token": MINTED_AT_GRANT,
            "server": f"<API server URL of cluster {request.cluster}>",
            "ca": f"<CA bundle of cluster {request.cluster}>",
            "cluster": request.cluster,
            "namespace": request.namespace,
            "expiresAt": f"<grant time + {format_duration(request.duration)}>",
        },
    }
    return [service_account, role_binding, token_secret]


def _rule_text(rule: Mapping[str, Any]) -> str:
    groups = ", ".join(g or "core" for g in rule.get("apiGroups", ()))
    text = (f"{', '.join(rule.get('verbs', ()))} on {', '.join(rule.get('resources', ()))} "
            f"({groups})")
    if rule.get("resourceNames"):
        text += f" named {', '.join(rule['resourceNames'])}"
    return text


def role_lines(request: Request, config: JanusConfig) -> list[str]:
    """What the requested role grants, for reviewers: one line per rule (the plan comment,
    ``janus plan``). Empty when the config carries no resolved definition of the role."""
    definition = config.role_definitions.get(request.role)
    if definition is None:
        return []
    head = f"role {definition.name} → ClusterRole {definition.cluster_role}"
    if definition.description:
        head += f" ({definition.description})"
    lines = [head + f", in namespace {request.namespace} only:"]
    lines += [f"  {_rule_text(rule)}" for rule in definition.rules]
    if definition.images:
        lines.append(f"  debug images allowed: {', '.join(definition.images)}")
    if definition.escalating:
        lines.append("  ESCALATING: admins marked these rules as able to reach beyond them "
                     "(secrets, RBAC, wildcards, ...)")
    return lines
