"""The ClusterRole catalogue as data: the only ClusterRoles Janus binds (docs/design.md §7, §9).

The data lives here, in the model layer, because loading a ``JanusConfig`` checks that every role
names a catalogue entry; ``janus.policy.roles`` builds the ClusterRole objects from it. What
installs them on each target cluster (the chart, or ``janus controller --bootstrap`` /
``janus dev up`` locally) and the controller's RBAC (``bind`` on exactly these ``resourceNames``)
ship the same rules. ``pods/exec`` needs both ``get`` and ``create``: kubectl and the websocket
exec client use different verbs.
"""

from __future__ import annotations

from typing import Any

CLUSTER_ROLE_RULES: dict[str, list[dict[str, Any]]] = {
    "janus-pod-exec": [
        {"apiGroups": [""], "resources": ["pods"], "verbs": ["get", "list"]},
        {"apiGroups": [""], "resources": ["pods/log"], "verbs": ["get"]},
        {"apiGroups": [""], "resources": ["pods/exec"], "verbs": ["get", "create"]},
        {"apiGroups": [""], "resources": ["events"], "verbs": ["list"]},
    ],
}
