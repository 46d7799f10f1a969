"""The ClusterRole catalogue: the only ClusterRoles Janus ever binds (DESIGN §7, §9).

Kept as data so that what installs them on each target cluster (the chart, or
``janus controller --bootstrap`` / ``janus dev up`` locally; not the controller at run time,
which would need ``escalate``) and the controller's RBAC (``bind`` on exactly these
``resourceNames``) ship the same rules. ``pods/exec`` needs both
``get`` and ``create``: kubectl and the websocket exec client use different verbs.
"""

from __future__ import annotations

from typing import Any

from janus.names import LABEL_MANAGED_BY, MANAGED_BY

CLUSTER_ROLE_RULES: dict[str, list[dict[str, Any]]] = {
    "janus-pod-exec": [
        {"apiGroups": [""], "resources": ["pods"], "verbs": ["get", "list"]},
        {"apiGroups": [""], "resources": ["pods/log"], "verbs": ["get"]},
        {"apiGroups": [""], "resources": ["pods/exec"], "verbs": ["get", "create"]},
        {"apiGroups": [""], "resources": ["events"], "verbs": ["list"]},
    ],
}


def cluster_role_manifest(name: str) -> dict[str, Any]:
    """The full ClusterRole object for a catalogue entry (KeyError if it is not one)."""
    return {
        "apiVersion": "rbac.authorization.k8s.io/v1",
        "kind": "ClusterRole",
        "metadata": {
            "name": name,
            "labels": {LABEL_MANAGED_BY: MANAGED_BY},
        },
        "rules": [dict(rule) for rule in CLUSTER_ROLE_RULES[name]],
    }
