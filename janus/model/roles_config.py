"""``JanusConfig.spec.roles`` resolved into :class:`RoleDefinition` objects, with the problems.

Rules written down here (rule ids in brackets; each message says what would be accepted):

* A role naming a built-in ClusterRole (``janus-pod-exec``, ``janus-pod-logs``,
  ``janus-pod-debug``, ``janus-view``) gets its fixed rules and may not carry ``rules``
  [config.role-rules].
* Any other ClusterRole is a custom one: named ``janus-*`` (the chart installs it and must not
  overwrite someone else's ClusterRole), not one of Janus's own ClusterRoles, with ``rules``
  [config.cluster-role].
* Rules that would let a grant escalate (:func:`janus.model.catalogue.escalation_reasons`) are
  refused unless the role says ``escalating: true`` [config.role-escalating].
* Two roles naming the same custom ClusterRole must carry the same rules: one ClusterRole has
  one set of rules [config.cluster-role-conflict].
* A ``janus-pod-debug`` role lists its allowed debug ``images``; no other role may
  [config.role-images].
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from janus.model import schema
from janus.model.catalogue import (
    BUILTIN_DESCRIPTIONS,
    CLUSTER_ROLE_RULES,
    CUSTOM_PREFIX,
    DEBUG_CLUSTER_ROLE,
    RESERVED_CLUSTER_ROLES,
    RoleDefinition,
    escalation_reasons,
)
from janus.model.problems import Problem
from janus.model.safe_yaml import Marks


def _canonical(rules: Any) -> tuple[Mapping[str, Any], ...]:
    """Rules as the API server stores them: the keys in a fixed order, empty lists dropped."""
    out = []
    for rule in rules:
        canon: dict[str, Any] = {}
        for key in ("apiGroups", "resources", "resourceNames", "verbs"):
            if rule.get(key):
                canon[key] = list(rule[key])
        out.append(canon)
    return tuple(out)


# Records one problem at spec.roles.<role>[.<key>]: (role, key or None, rule id, message).
_At = Callable[[str, str | None, str, str], None]
_Rules = tuple[Mapping[str, Any], ...]


def build_roles(
    path: str, spec_roles: Mapping[str, Any], marks: Marks
) -> tuple[dict[str, RoleDefinition], list[Problem]]:
    """Resolve every role of ``spec.roles`` (already schema-checked).

    A role whose ClusterRole is unusable is left out (its rules are unknown, so nothing else
    about it can be judged); for any other problem the role is reported and still kept."""
    problems: list[Problem] = []
    roles: dict[str, RoleDefinition] = {}
    # Custom ClusterRole -> (first role naming it, its rules), to catch conflicting definitions.
    custom_rules: dict[str, tuple[str, _Rules]] = {}

    def at(role: str, key: str | None, rule: str, message: str) -> None:
        where = ("spec", "roles", role) + ((key,) if key else ())
        problems.append(Problem(path, *schema.mark_of(marks, where), rule, message))

    for name, entry in spec_roles.items():
        cluster_role = entry["clusterRole"]
        builtin = cluster_role in CLUSTER_ROLE_RULES
        images = tuple(entry.get("images", ()))
        if builtin:
            rules = _builtin_rules(name, entry, at)
        else:
            custom = _custom_rules(name, entry, custom_rules, at)
            if custom is None:
                continue
            rules = custom
        escalating = bool(entry.get("escalating", False))
        _check_escalation(name, rules, escalating, at)
        _check_images(name, cluster_role, images, at)
        roles[name] = RoleDefinition(
            name=name,
            cluster_role=cluster_role,
            rules=rules,
            builtin=builtin,
            escalating=escalating,
            description=entry.get("description") or BUILTIN_DESCRIPTIONS.get(cluster_role, ""),
            images=images,
        )
    return roles, problems


def _builtin_names() -> str:
    """The built-in ClusterRoles, for messages that say what would be accepted."""
    return ", ".join(sorted(CLUSTER_ROLE_RULES))


def _builtin_rules(name: str, entry: Mapping[str, Any], at: _At) -> _Rules:
    """A built-in ClusterRole's fixed rules; a role may not carry its own [config.role-rules]."""
    cluster_role = entry["clusterRole"]
    if "rules" in entry:
        at(name, "rules", "config.role-rules", (
            f"role {name!r} names the built-in ClusterRole {cluster_role!r}, whose rules "
            "are fixed; remove 'rules', or name a custom ClusterRole (janus-<name>, not "
            f"one of {_builtin_names()}) to define your own"
        ))
    return _canonical(CLUSTER_ROLE_RULES[cluster_role])


def _custom_rules(name: str, entry: Mapping[str, Any],
                  custom_rules: dict[str, tuple[str, _Rules]], at: _At) -> _Rules | None:
    """A custom ClusterRole's rules, or None when the role cannot be used [config.cluster-role].

    Records the first definition of each custom ClusterRole in *custom_rules*: a later role
    naming it with other rules is a conflict [config.cluster-role-conflict]."""
    cluster_role = entry["clusterRole"]
    if not cluster_role.startswith(CUSTOM_PREFIX) or cluster_role in RESERVED_CLUSTER_ROLES:
        at(name, "clusterRole", "config.cluster-role", (
            f"role {name!r} names ClusterRole {cluster_role!r}, which Janus may not "
            f"install or bind; accepted: a built-in ({_builtin_names()}) or a custom ClusterRole "
            "named janus-<name> with 'rules' (not one of Janus's own: "
            f"{', '.join(sorted(RESERVED_CLUSTER_ROLES))})"
        ))
        return None
    if not entry.get("rules"):
        at(name, None, "config.cluster-role", (
            f"role {name!r} names ClusterRole {cluster_role!r}, which is not built in "
            f"({_builtin_names()}); a custom ClusterRole needs 'rules' (apiGroups, resources, "
            "verbs) saying what it grants"
        ))
        return None
    rules = _canonical(entry["rules"])
    previous = custom_rules.setdefault(cluster_role, (name, rules))
    if previous[1] != rules:
        at(name, "rules", "config.cluster-role-conflict", (
            f"roles {previous[0]!r} and {name!r} both name ClusterRole {cluster_role!r} "
            "with different rules; one ClusterRole has one set of rules: give each its "
            "own ClusterRole name, or the same rules"
        ))
    return rules


def _check_escalation(name: str, rules: _Rules, escalating: bool, at: _At) -> None:
    """Escalating rules only with ``escalating: true`` [config.role-escalating]."""
    reasons = escalation_reasons(rules)
    if reasons and not escalating:
        at(name, "rules", "config.role-escalating", (
            f"role {name!r} would let a grant escalate: {'; '.join(reasons)}. Accepted: "
            "rules without these, or 'escalating: true' on the role if admins mean to "
            "grant them (the plan comment then says so)"
        ))


def _check_images(name: str, cluster_role: str, images: tuple[str, ...], at: _At) -> None:
    """Debug images exactly on a debug role: required there, refused elsewhere
    [config.role-images]."""
    if cluster_role == DEBUG_CLUSTER_ROLE and not images:
        at(name, None, "config.role-images", (
            f"role {name!r} grants debug containers but lists no 'images'; the allow-list "
            "of debug images (e.g. images: [busybox:1.36]) is required"
        ))
    if cluster_role != DEBUG_CLUSTER_ROLE and images:
        at(name, "images", "config.role-images", (
            f"role {name!r} lists 'images' but only a {DEBUG_CLUSTER_ROLE} role starts "
            "debug containers; remove 'images'"
        ))
