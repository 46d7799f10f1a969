"""The ClusterRole catalogue: the only ClusterRoles Janus ever binds (docs/design.md §7, §9).

The built-in rules are data in ``janus.model.catalogue`` (re-exported here: loading a
``JanusConfig`` resolves its roles against them, and the model layer may not import this one).
A deployment's catalogue is its ``JanusConfig.spec.roles`` (built-ins plus custom ``janus-*``
ClusterRoles with rules): :func:`catalogue_manifests` turns it into the ClusterRoles to install on
each target (the chart renders the same from the same document; not the controller at run time,
which would need ``escalate``) and :func:`catalogue_names` into the controller's ``bind``
``resourceNames``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from janus.model import JanusConfig
from janus.model.catalogue import CLUSTER_ROLE_RULES, RoleDefinition
from janus.names import LABEL_MANAGED_BY, MANAGED_BY

__all__ = ["CLUSTER_ROLE_RULES", "catalogue_manifests", "catalogue_names",
           "cluster_role_manifest", "offers", "role_definition"]


def cluster_role_manifest(
    name: str, rules: Iterable[Mapping[str, Any]] | None = None
) -> dict[str, Any]:
    """The full ClusterRole object: *rules*, or the built-in ones (KeyError if not built in)."""
    chosen = CLUSTER_ROLE_RULES[name] if rules is None else rules
    return {
        "apiVersion": "rbac.authorization.k8s.io/v1",
        "kind": "ClusterRole",
        "metadata": {
            "name": name,
            "labels": {LABEL_MANAGED_BY: MANAGED_BY},
        },
        "rules": [{k: list(v) for k, v in rule.items()} for rule in chosen],
    }


def catalogue_manifests(config: JanusConfig) -> list[dict[str, Any]]:
    """One ClusterRole per distinct ClusterRole of ``spec.roles``, sorted by name."""
    by_name: dict[str, RoleDefinition] = {}
    for definition in config.role_definitions.values():
        by_name.setdefault(definition.cluster_role, definition)
    if not by_name:  # a JanusConfig built by hand (tests): the names only, built-in rules
        return [cluster_role_manifest(n) for n in sorted(set(config.roles.values()))
                if n in CLUSTER_ROLE_RULES]
    return [cluster_role_manifest(n, by_name[n].rules) for n in sorted(by_name)]


def catalogue_names(config: JanusConfig) -> list[str]:
    """The ClusterRoles the controller may ``bind``: exactly those of ``spec.roles``."""
    return sorted(set(config.roles.values()))


def role_definition(config: JanusConfig, role: str) -> RoleDefinition | None:
    """The resolved definition of *role*, or None when the config does not define it."""
    return config.role_definitions.get(role)


def _grants_verb(definition: RoleDefinition, resource: str, verb: str) -> bool:
    return any(resource in rule.get("resources", ()) and verb in rule.get("verbs", ())
               and "" in rule.get("apiGroups", ()) for rule in definition.rules)


def offers(config: JanusConfig | None, role: str) -> frozenset[str]:
    """What the web app offers for a grant of *role*: ``terminal`` when its rules allow exec,
    ``logs`` when they allow reading pod logs, ``view`` when they list deployments, ``debug``
    when they add ephemeral containers and attach to them. RBAC decides in the end (the grant's
    token); this avoids offering a page the token cannot use, and the terminal refuses a role
    without exec (janus.web.terminal.role_gate). Without a readable config, the built-in
    ``pod-exec`` keeps its terminal."""
    definition = config.role_definitions.get(role) if config is not None else None
    if definition is None:
        return frozenset({"terminal", "logs"}) if role == "pod-exec" else frozenset()
    found = set()
    if _grants_verb(definition, "pods/exec", "create"):
        found.add("terminal")
    if _grants_verb(definition, "pods/log", "get"):
        found.add("logs")
    if any("deployments" in rule.get("resources", ()) and "list" in rule.get("verbs", ())
           and "apps" in rule.get("apiGroups", ()) for rule in definition.rules):
        found.add("view")  # a role that reads workloads: the read-only resource view
    if (_grants_verb(definition, "pods/ephemeralcontainers", "patch")
            and _grants_verb(definition, "pods/attach", "create")):
        found.add("debug")  # a debug container, then a terminal attached to it
    return frozenset(found)
