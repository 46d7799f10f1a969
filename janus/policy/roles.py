"""The ClusterRole catalogue: the only ClusterRoles Janus ever binds (docs/design.md §7, §9).

The rules are data in ``janus.model.catalogue`` (re-exported here: loading a ``JanusConfig``
checks role names against them, and the model layer may not import this one). What installs them
on each target cluster (the chart, or ``janus controller --bootstrap`` / ``janus dev up`` locally;
not the controller at run time, which would need ``escalate``) and the controller's RBAC (``bind``
on exactly these ``resourceNames``) ship the same rules.
"""

from __future__ import annotations

from typing import Any

from janus.model.catalogue import CLUSTER_ROLE_RULES
from janus.names import LABEL_MANAGED_BY, MANAGED_BY

__all__ = ["CLUSTER_ROLE_RULES", "cluster_role_manifest"]


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
