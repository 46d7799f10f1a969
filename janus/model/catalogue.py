"""The ClusterRole catalogue as data: the built-in roles and the escalation check (docs/design.md
§7, §9; docs/requests-and-policies.md "Roles").

**One source.** The catalogue a deployment offers is ``JanusConfig.spec.roles``: each role names
a ClusterRole, either a *built-in* one below (its rules are fixed here) or a *custom* one
``janus-*`` that carries its own ``rules``. From that one document the chart renders the
ClusterRoles installed on every target and the controller's ``bind`` ``resourceNames``
(``helm/janus/templates/_catalogue.tpl``), and the judge accepts exactly its roles;
``tests/helm/test_catalogue_single_source.py`` checks that the three agree.

The data lives here, in the model layer, because loading a ``JanusConfig`` checks every role
against it; ``janus.policy.roles`` builds the ClusterRole objects. ``pods/exec`` needs both
``get`` and ``create``: kubectl and the websocket exec client use different verbs.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

# The built-in ClusterRoles: name -> rules. Their names are reserved (a custom role may not
# reuse them with other rules).
CLUSTER_ROLE_RULES: dict[str, list[dict[str, Any]]] = {
    "janus-pod-exec": [
        {"apiGroups": [""], "resources": ["pods"], "verbs": ["get", "list"]},
        {"apiGroups": [""], "resources": ["pods/log"], "verbs": ["get"]},
        {"apiGroups": [""], "resources": ["pods/exec"], "verbs": ["get", "create"]},
        {"apiGroups": [""], "resources": ["events"], "verbs": ["list"]},
    ],
    "janus-pod-logs": [
        {"apiGroups": [""], "resources": ["pods"], "verbs": ["get", "list"]},
        {"apiGroups": [""], "resources": ["pods/log"], "verbs": ["get"]},
    ],
    "janus-pod-debug": [
        {"apiGroups": [""], "resources": ["pods"], "verbs": ["get", "list"]},
        {"apiGroups": [""], "resources": ["pods/ephemeralcontainers"],
         "verbs": ["patch", "update"]},
        {"apiGroups": [""], "resources": ["pods/attach"], "verbs": ["create", "get"]},
    ],
    "janus-view": [
        {"apiGroups": [""], "resources": ["pods", "events", "services", "configmaps"],
         "verbs": ["get", "list", "watch"]},
        {"apiGroups": ["apps"], "resources": ["deployments", "replicasets"],
         "verbs": ["get", "list", "watch"]},
        {"apiGroups": ["events.k8s.io"], "resources": ["events"],
         "verbs": ["get", "list", "watch"]},
    ],
}

BUILTIN_DESCRIPTIONS: dict[str, str] = {
    "janus-pod-exec": "exec into pods (a shell), read pods, their logs and events",
    "janus-pod-logs": "read pods and their logs",
    "janus-pod-debug": "add an ephemeral debug container (image from the allow-list) and attach",
    "janus-view": "read-only pods, deployments, replicasets, events, services, configmaps",
}

# The ClusterRole whose roles must list the debug images they allow.
DEBUG_CLUSTER_ROLE = "janus-pod-debug"
# A custom ClusterRole is named janus-* (the chart installs it, so it must never overwrite a
# ClusterRole of someone else such as cluster-admin or edit), and not one of the controller's.
CUSTOM_PREFIX = "janus-"
RESERVED_CLUSTER_ROLES = frozenset({"janus-controller", "janus-controller-target",
                                    "janus-controller-discovery", "janus-web", "janus-webhook"})

RBAC_GROUP = "rbac.authorization.k8s.io"
ESCALATING_VERBS = frozenset({"escalate", "bind", "impersonate"})
ESCALATING_RESOURCES = frozenset({"secrets", "serviceaccounts/token", "nodes/proxy"})


@dataclass(frozen=True)
class RoleDefinition:
    """One role of ``JanusConfig.spec.roles``, resolved: its ClusterRole and the rules it grants."""

    name: str
    cluster_role: str
    rules: tuple[Mapping[str, Any], ...]
    builtin: bool
    escalating: bool = False
    description: str = ""
    images: tuple[str, ...] = field(default=())  # pod-debug: the allowed debug images


def escalation_reasons(rules: Iterable[Mapping[str, Any]]) -> list[str]:
    """Why *rules* would let a grant gain more than they say (empty: they would not).

    A grant is a RoleBinding in one namespace; these are the rules with which its holder could
    reach further: wildcards (today's and every future resource), ``escalate``/``bind`` (write
    RBAC beyond one's own rules), ``impersonate``, Secrets (other ServiceAccounts' tokens, and
    Janus's own grants' credentials), RBAC objects, ``serviceaccounts/token`` (mint another
    identity's token) and ``nodes/proxy`` (the kubelet API, exec in any pod of the node).
    ``pods/exec`` is not on the list: exec into the namespace's pods is what ``pod-exec`` is for.
    """
    reasons: list[str] = []
    for index, rule in enumerate(rules):
        where = f"rules[{index}]"
        verbs = set(rule.get("verbs", ()))
        resources = set(rule.get("resources", ()))
        groups = set(rule.get("apiGroups", ()))
        if "*" in verbs:
            reasons.append(f"{where}: verb '*' (every verb, including escalate and bind)")
        if "*" in groups:
            reasons.append(f"{where}: apiGroup '*' (every API group, RBAC included)")
        if any("*" in r for r in resources):
            reasons.append(f"{where}: a '*' resource (every resource, secrets included)")
        for verb in sorted(verbs & ESCALATING_VERBS):
            reasons.append(f"{where}: verb {verb!r}")
        for res in sorted(resources & ESCALATING_RESOURCES):
            reasons.append(f"{where}: resource {res!r}")
        if RBAC_GROUP in groups:
            reasons.append(f"{where}: RBAC objects (apiGroup {RBAC_GROUP})")
    return reasons
