"""What a grant will create, for reviewers to see before they approve (``janus plan``).

The objects carry the same names and labels the controller uses (:mod:`janus.names`). The token
Secret is shown as a shape only: its values are placeholders, and no token exists at plan time.
"""

from __future__ import annotations

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
