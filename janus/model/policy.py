"""Policy documents (docs/design.md §4): one ``JanusConfig``, any number of ``AccessPolicy`` files.

The policy set is trusted only after it is valid: every file passes the safe loader and its
schema, and the set passes cross checks (exactly one JanusConfig, policies name known clusters
and roles, limits inside the global bounds, ticket patterns compile, approvals can be met). Any
problem raises :class:`ConfigError` with all problems found — an invalid policy set is a
configuration error, never a pass.

Decisions written down here:

* ``janus`` and ``janus-tokens`` are always excluded, whatever ``excludedNamespaces`` says: the
  tokens of every grant live there.
* Each file's ``metadata.name`` equals its file name without ``.yaml``, like request files, so a
  reviewer can trust the name in the diff header.
* A role's ``clusterRole`` is a built-in one or a custom ``janus-*`` one with rules, never one
  whose rules would let a grant escalate unless marked ``escalating: true``
  (:mod:`janus.model.roles_config`); the controller may bind nothing else (docs/design.md §9).
* A policy's exact namespaces must not be excluded ones (it would promise what is never granted);
  globs may cover excluded namespaces, which are refused at evaluation.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any

from janus.model import schema
from janus.model.catalogue import RoleDefinition
from janus.model.durations import format_duration, parse_duration
from janus.model.matching import max_assignment
from janus.model.problems import Problem
from janus.model.roles_config import build_roles
from janus.model.safe_yaml import Marks, YamlError, load
from janus.names import JANUS_NAMESPACE, TOKENS_NAMESPACE

POLICIES_DIR = "policies"
ALWAYS_EXCLUDED = frozenset({JANUS_NAMESPACE, TOKENS_NAMESPACE})
# TokenRequest refuses expirationSeconds below 600.
TOKEN_MIN_DURATION = dt.timedelta(minutes=10)
DEFAULT_PENDING_TIMEOUT = dt.timedelta(hours=24)
_API_VERSION = "janus.dev/v1alpha1"


class ConfigError(Exception):
    """The policy set (or JanusConfig) is invalid; ``problems`` lists every finding."""

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = problems
        lines = "\n".join(p.format() for p in problems[:20])
        more = f"\n... and {len(problems) - 20} more" if len(problems) > 20 else ""
        super().__init__(f"invalid policy configuration:\n{lines}{more}")


@dataclass(frozen=True)
class JanusConfig:
    clusters: tuple[str, ...]
    excluded_namespaces: frozenset[str]
    duration_min: dt.timedelta
    duration_max: dt.timedelta
    duration_default: dt.timedelta
    roles: Mapping[str, str]  # role name -> ClusterRole name
    admin_users: frozenset[str]  # lower-cased logins
    admin_teams: frozenset[str]  # lower-cased "org/slug"
    pending_timeout: dt.timedelta
    path: str = f"{POLICIES_DIR}/janus.yaml"
    # role name -> its resolved definition (ClusterRole, rules, escalating, debug images).
    role_definitions: Mapping[str, RoleDefinition] = field(
        default_factory=lambda: MappingProxyType({}))


@dataclass(frozen=True)
class ApproverGroup:
    """One approval group: ``required`` distinct reviewers, each one of ``users`` or a member of
    one of ``teams`` (lower-cased). ``label`` names it in messages ("sre: 1/1 ✓")."""

    label: str
    users: frozenset[str]
    teams: frozenset[str]
    required: int

    def who(self) -> str:
        names = sorted(f"@{t}" for t in self.teams) + sorted(f"@{u}" for u in self.users)
        return ", ".join(names) or "nobody"


@dataclass(frozen=True)
class BreakGlass:
    """A policy's ``breakGlass``: who may have a request merged and granted at once without
    approval (``requester_*``), for how long at most, who reviews it afterwards
    (``reviewer_*``) and within how long before it is flagged overdue. Lower-cased."""

    requester_users: frozenset[str]
    requester_teams: frozenset[str]
    max_duration: dt.timedelta
    review_within: dt.timedelta
    reviewer_users: frozenset[str]
    reviewer_teams: frozenset[str]

    def lists_requester(self, login: str, teams: frozenset[str]) -> bool:
        return login.lower() in self.requester_users or bool(teams & self.requester_teams)

    def lists_reviewer(self, login: str, teams: frozenset[str]) -> bool:
        return login.lower() in self.reviewer_users or bool(teams & self.reviewer_teams)

    def requesters_text(self) -> str:
        return _who(self.requester_teams, self.requester_users)

    def reviewers_text(self) -> str:
        return _who(self.reviewer_teams, self.reviewer_users)


def _who(teams: frozenset[str], users: frozenset[str]) -> str:
    return ", ".join(sorted(f"@{t}" for t in teams) + sorted(f"@{u}" for u in users)) or "nobody"


@dataclass(frozen=True)
class AccessPolicy:
    """One AccessPolicy. Logins and teams are lower-cased: GitHub compares them that way.

    ``approver_users``/``approver_teams`` are the union over ``approver_groups`` and
    ``required`` their total, so CODEOWNERS and team lookups need not know about groups. The
    old ``{users, teams, required}`` form is one group.
    """

    name: str
    clusters: tuple[str, ...]
    namespaces: tuple[str, ...]  # exact names or globs with * and ?
    roles: tuple[str, ...]
    requester_users: frozenset[str]
    requester_teams: frozenset[str]
    approver_users: frozenset[str]
    approver_teams: frozenset[str]
    required: int
    max_duration: dt.timedelta
    ticket_pattern: re.Pattern[str] | None
    path: str = ""
    approver_groups: tuple[ApproverGroup, ...] = ()
    # Approvers sharing one of the policy's listed teams with the requester do not count.
    exclude_requester_teams: bool = False
    # Emergency access without approval, reviewed afterwards; None: not allowed here.
    break_glass: BreakGlass | None = None

    @property
    def groups(self) -> tuple[ApproverGroup, ...]:
        """The approval groups; a policy built without any is one group of its approvers."""
        if self.approver_groups:
            return self.approver_groups
        return (ApproverGroup(_default_label(self.approver_teams, self.approver_users),
                              self.approver_users, self.approver_teams, self.required),)

    def covers_namespace(self, namespace: str) -> bool:
        return any(namespace_matches(pattern, namespace) for pattern in self.namespaces)


@dataclass(frozen=True)
class PolicySet:
    config: JanusConfig
    policies: tuple[AccessPolicy, ...]
    # (cluster, namespace) -> covering policies; a repository has many requests per namespace,
    # so `janus validate` over thousands of files asks the same question again and again.
    _covering: dict[tuple[str, str], tuple[AccessPolicy, ...]] = field(
        default_factory=dict, init=False, repr=False, compare=False, hash=False
    )

    def policy(self, name: str) -> AccessPolicy | None:
        return next((p for p in self.policies if p.name == name), None)

    _index: dict[str, _ClusterIndex] = field(
        default_factory=dict, init=False, repr=False, compare=False, hash=False
    )

    def __post_init__(self) -> None:
        for order, policy in enumerate(self.policies):
            for cluster in policy.clusters:
                index = self._index.setdefault(cluster, _ClusterIndex({}, {}))
                for pattern in policy.namespaces:
                    if is_glob(pattern):
                        prefix = re.split(r"[*?]", pattern, maxsplit=1)[0]
                        index.globs.setdefault(prefix, []).append((order, pattern, policy))
                    else:
                        index.exact.setdefault(pattern, []).append((order, policy))

    def covering(self, cluster: str, namespace: str) -> tuple[AccessPolicy, ...]:
        """The policies whose clusters and namespaces (exact or glob) cover the pair, in file
        order. Same answer as checking every policy, found through an index by exact name
        and by the literal prefix of each glob."""
        key = (cluster, namespace)
        found = self._covering.get(key)
        if found is None:
            found = self._lookup(cluster, namespace)
            if len(self._covering) < 100_000:  # bounded: names come from untrusted files
                self._covering[key] = found
        return found

    def _lookup(self, cluster: str, namespace: str) -> tuple[AccessPolicy, ...]:
        index = self._index.get(cluster)
        if index is None:
            return ()
        hits: dict[int, AccessPolicy] = dict(index.exact.get(namespace, ()))
        for end in range(len(namespace) + 1):
            for order, pattern, policy in index.globs.get(namespace[:end], ()):
                if order not in hits and namespace_matches(pattern, namespace):
                    hits[order] = policy
        return tuple(hits[order] for order in sorted(hits))


@dataclass
class _ClusterIndex:
    exact: dict[str, list[tuple[int, AccessPolicy]]]
    globs: dict[str, list[tuple[int, str, AccessPolicy]]]


def is_glob(pattern: str) -> bool:
    return "*" in pattern or "?" in pattern


def _glob_regex(pattern: str) -> re.Pattern[str]:
    return re.compile("".join(
        "[^/]*" if ch == "*" else "[^/]" if ch == "?" else re.escape(ch) for ch in pattern
    ))


_glob_cache: dict[str, re.Pattern[str]] = {}


def namespace_matches(pattern: str, namespace: str) -> bool:
    """Exact name, or a glob where ``*`` is any run of characters and ``?`` one character."""
    if not is_glob(pattern):
        return pattern == namespace
    compiled = _glob_cache.get(pattern)
    if compiled is None:
        compiled = _glob_cache[pattern] = _glob_regex(pattern)
    return compiled.fullmatch(namespace) is not None


# -- loading --------------------------------------------------------------------------------------


def load_policy_set(repo_dir: Path) -> PolicySet:
    """Read ``repo_dir/policies/*.yaml`` and return the valid policy set, or raise ConfigError."""
    folder = Path(repo_dir) / POLICIES_DIR
    if not folder.is_dir():
        raise ConfigError([Problem(POLICIES_DIR, None, None, "config.missing", (
            f"no {POLICIES_DIR}/ folder in {repo_dir}; a JanusConfig is expected at "
            f"{POLICIES_DIR}/janus.yaml"
        ))])
    files = {
        f"{POLICIES_DIR}/{entry.name}": entry.read_bytes()
        for entry in sorted(folder.iterdir())
        if entry.is_file() and entry.suffix == ".yaml"
    }
    return load_policy_set_from_files(files)


def load_policy_set_from_files(files: Mapping[str, bytes]) -> PolicySet:
    """Build the policy set from ``{"policies/janus.yaml": b"...", ...}``.

    Only keys directly under ``policies/`` ending in ``.yaml`` are read; the webhook receiver
    passes the files of the PR's base commit.
    """
    problems: list[Problem] = []
    configs: list[tuple[str, dict[str, Any], Marks]] = []
    policies: list[tuple[str, dict[str, Any], Marks]] = []
    saw_config = False
    for path in sorted(files):
        parts = path.split("/")
        if len(parts) != 2 or parts[0] != POLICIES_DIR or not parts[1].endswith(".yaml"):
            continue
        kind, document, marks, found = _load_document(path, files[path])
        problems += found
        saw_config = saw_config or kind == "JanusConfig"
        if found:
            continue
        if kind == "JanusConfig":
            configs.append((path, document, marks))
        elif kind == "AccessPolicy":
            policies.append((path, document, marks))
    if not saw_config:
        problems.append(Problem(f"{POLICIES_DIR}/janus.yaml", None, None, "config.missing", (
            "no JanusConfig found; exactly one file in policies/ with kind JanusConfig is "
            "accepted"
        )))
    for path, _, _ in configs[1:]:
        problems.append(Problem(path, 1, 1, "config.duplicate", (
            f"a second JanusConfig (the first is {configs[0][0]}); exactly one is accepted"
        )))
    config = None
    if configs:
        config, found = _build_config(*configs[0])
        problems += found
    built: list[AccessPolicy] = []
    if config is not None:
        # Names are unique: each equals its file's stem (checked in _load_document).
        for path, document, marks in policies:
            policy, found = _build_policy(path, document, marks, config)
            problems += found
            if policy is not None:
                built.append(policy)
    if problems or config is None:
        raise ConfigError(problems)
    return PolicySet(config=config, policies=tuple(built))


def load_config_file(path: Path) -> JanusConfig:
    """Read just the JanusConfig (what the controller needs); raise ConfigError if invalid."""
    shown = f"{POLICIES_DIR}/{Path(path).name}"
    try:
        data = Path(path).read_bytes()
    except OSError as exc:
        raise ConfigError([Problem(shown, None, None, "config.missing", (
            f"cannot read {path}: {exc.strerror}; a JanusConfig file is expected"
        ))]) from None
    kind, document, marks, problems = _load_document(shown, data)
    if kind == "AccessPolicy":
        problems.insert(0, Problem(shown, 1, 1, "config.kind", (
            f"kind is {kind!r}; a JanusConfig is expected in this file"
        )))
    if problems:
        raise ConfigError(problems)
    config, problems = _build_config(shown, document, marks)
    if config is None or problems:
        raise ConfigError(problems)
    return config


def _load_document(path: str, data: bytes) -> tuple[str | None, Any, Marks, list[Problem]]:
    """Safe-load and schema-check one policy file; the kind decides the schema.

    Builders may trust the document only when no problem is returned.
    """
    try:
        document, marks = load(path, data)
    except YamlError as exc:
        return None, None, {}, [exc.problem]
    kind = document.get("kind") if isinstance(document, dict) else None
    if kind not in ("JanusConfig", "AccessPolicy"):
        return None, None, {}, [Problem(path, *schema.mark_of(marks, ("kind",)), "config.kind", (
            f"kind is {kind!r}; files in policies/ must be a JanusConfig or an AccessPolicy "
            f"(apiVersion {_API_VERSION})"
        ))]
    problems = schema.validate(kind, document, path, marks)
    name = document.get("metadata", {}).get("name") if isinstance(
        document.get("metadata"), dict) else None
    stem = path.rsplit("/", 1)[-1].removesuffix(".yaml")
    if isinstance(name, str) and name != stem:
        problems.append(Problem(path, *schema.mark_of(marks, ("metadata", "name")), "path.name", (
            f"metadata.name is {name!r} but must equal the file name without '.yaml', {stem!r}"
        )))
    return kind, document, marks, problems


def _lower(values: Any) -> frozenset[str]:
    return frozenset(v.lower() for v in values or ())


def _at(path: str, marks: Marks, field: tuple[str | int, ...], rule: str, msg: str) -> Problem:
    return Problem(path, *schema.mark_of(marks, field), rule, msg)


def _build_config(
    path: str, document: dict[str, Any], marks: Marks
) -> tuple[JanusConfig | None, list[Problem]]:
    spec = document.get("spec", {})  # present: the schema requires it
    problems: list[Problem] = []
    bounds = {k: parse_duration(v) for k, v in spec["duration"].items()}
    if bounds["min"] < TOKEN_MIN_DURATION:
        problems.append(_at(path, marks, ("spec", "duration", "min"), "config.duration", (
            f"duration.min {format_duration(bounds['min'])} is below "
            f"{format_duration(TOKEN_MIN_DURATION)}, the shortest token the TokenRequest API "
            "issues; 10m or more is accepted"
        )))
    if not bounds["min"] <= bounds["default"] <= bounds["max"]:
        problems.append(_at(path, marks, ("spec", "duration"), "config.duration", (
            "duration bounds must satisfy min <= default <= max; got "
            f"min {spec['duration']['min']}, default {spec['duration']['default']}, "
            f"max {spec['duration']['max']}"
        )))
    roles = {name: entry["clusterRole"] for name, entry in spec["roles"].items()}
    definitions, found = build_roles(path, spec["roles"], marks)
    problems += found
    admins = spec["admins"]
    if not admins.get("users") and not admins.get("teams"):
        problems.append(_at(path, marks, ("spec", "admins"), "config.admins", (
            "admins lists nobody; at least one user or team is accepted (admins own "
            "policies/ and .github/ in CODEOWNERS)"
        )))
    pending = spec.get("pendingTimeout")
    config = JanusConfig(
        clusters=tuple(spec["clusters"]),
        excluded_namespaces=frozenset(spec.get("excludedNamespaces", ())) | ALWAYS_EXCLUDED,
        duration_min=bounds["min"],
        duration_max=bounds["max"],
        duration_default=bounds["default"],
        roles=MappingProxyType(roles),
        admin_users=_lower(admins.get("users")),
        admin_teams=_lower(admins.get("teams")),
        pending_timeout=parse_duration(pending) if pending else DEFAULT_PENDING_TIMEOUT,
        path=path,
        role_definitions=MappingProxyType(definitions),
    )
    return config, problems


def _build_policy(
    path: str, document: dict[str, Any], marks: Marks, config: JanusConfig
) -> tuple[AccessPolicy | None, list[Problem]]:
    spec = document.get("spec", {})  # present: the schema requires it
    problems: list[Problem] = []
    for i, cluster in enumerate(spec["clusters"]):
        if cluster not in config.clusters:
            problems.append(_at(path, marks, ("spec", "clusters", i), "policy.cluster", (
                f"cluster {cluster!r} is not in JanusConfig spec.clusters; accepted: "
                f"{', '.join(config.clusters)}"
            )))
    for i, role in enumerate(spec["roles"]):
        if role not in config.roles:
            problems.append(_at(path, marks, ("spec", "roles", i), "policy.role", (
                f"role {role!r} is not in JanusConfig spec.roles; accepted: "
                f"{', '.join(sorted(config.roles))}"
            )))
    for i, namespace in enumerate(spec["namespaces"]):
        if not is_glob(namespace) and namespace in config.excluded_namespaces:
            problems.append(_at(path, marks, ("spec", "namespaces", i), "policy.excluded", (
                f"namespace {namespace!r} is excluded by JanusConfig and can never be granted; "
                "remove it from this policy"
            )))
    requesters = spec["requesters"]
    if not requesters.get("users") and not requesters.get("teams"):
        problems.append(_at(path, marks, ("spec", "requesters"), "policy.requesters", (
            "requesters lists nobody; at least one user or team is accepted"
        )))
    groups, found = _build_approvers(path, spec["approvers"], marks)
    problems += found
    max_duration = parse_duration(spec["maxDuration"])
    if not config.duration_min <= max_duration <= config.duration_max:
        problems.append(_at(path, marks, ("spec", "maxDuration"), "policy.max-duration", (
            f"maxDuration {spec['maxDuration']} is outside the global bounds; between "
            f"{format_duration(config.duration_min)} and "
            f"{format_duration(config.duration_max)} is accepted"
        )))
    ticket_pattern = None
    if "ticketPattern" in spec:
        try:
            ticket_pattern = re.compile(spec["ticketPattern"])
        except re.error as exc:
            problems.append(_at(path, marks, ("spec", "ticketPattern"), "policy.ticket-pattern", (
                f"ticketPattern is not a valid regular expression ({exc}); a Python regular "
                "expression such as '^INC-[0-9]+$' is accepted"
            )))
    break_glass = None
    if "breakGlass" in spec:
        break_glass, found = _build_break_glass(path, spec["breakGlass"], marks, max_duration)
        problems += found
    if problems:
        return None, problems
    return AccessPolicy(
        name=document["metadata"]["name"],
        clusters=tuple(spec["clusters"]),
        namespaces=tuple(spec["namespaces"]),
        roles=tuple(spec["roles"]),
        requester_users=_lower(requesters.get("users")),
        requester_teams=_lower(requesters.get("teams")),
        approver_users=frozenset().union(*(g.users for g in groups)),
        approver_teams=frozenset().union(*(g.teams for g in groups)),
        required=sum(g.required for g in groups),
        max_duration=max_duration,
        ticket_pattern=ticket_pattern,
        path=path,
        # The inline form stays "no groups" (see AccessPolicy.groups), as before groups existed.
        approver_groups=groups if "allOf" in spec["approvers"] else (),
        exclude_requester_teams=spec["approvers"].get("excludeRequesterTeams", False),
        break_glass=break_glass,
    ), []


def _build_break_glass(
    path: str, entry: dict[str, Any], marks: Marks, policy_max: dt.timedelta
) -> tuple[BreakGlass | None, list[Problem]]:
    """``spec.breakGlass`` (schema-valid): somebody may break the glass, somebody reviews, and
    the emergency grant is no longer than a normal one could be."""
    where = ("spec", "breakGlass")
    problems: list[Problem] = []
    for key, what in (("requesters", "may break the glass"), ("reviewers", "reviews")):
        if not entry[key].get("users") and not entry[key].get("teams"):
            problems.append(_at(path, marks, (*where, key), "policy.break-glass", (
                f"breakGlass.{key} lists nobody; at least one user or team who {what} "
                "is accepted"
            )))
    max_duration = parse_duration(entry["maxDuration"])
    if max_duration > policy_max:
        problems.append(_at(path, marks, (*where, "maxDuration"), "policy.break-glass", (
            f"breakGlass.maxDuration {entry['maxDuration']} is longer than the policy's "
            f"maxDuration; at most {format_duration(policy_max)} is accepted"
        )))
    if max_duration < TOKEN_MIN_DURATION:
        problems.append(_at(path, marks, (*where, "maxDuration"), "policy.break-glass", (
            f"breakGlass.maxDuration {entry['maxDuration']} is shorter than the shortest "
            f"grant; {format_duration(TOKEN_MIN_DURATION)} or more is accepted"
        )))
    review_within = parse_duration(entry["reviewWithin"])
    if review_within <= dt.timedelta(0):
        problems.append(_at(path, marks, (*where, "reviewWithin"), "policy.break-glass", (
            f"breakGlass.reviewWithin {entry['reviewWithin']} is not positive; a duration "
            "such as '24h' is accepted"
        )))
    if problems:
        return None, problems
    return BreakGlass(
        requester_users=_lower(entry["requesters"].get("users")),
        requester_teams=_lower(entry["requesters"].get("teams")),
        max_duration=max_duration,
        review_within=review_within,
        reviewer_users=_lower(entry["reviewers"].get("users")),
        reviewer_teams=_lower(entry["reviewers"].get("teams")),
    ), []


# -- approval groups ------------------------------------------------------------------------------

_ONE_GROUP = "approvers: {users: [...], teams: [...], required: N}"
_GROUPS = "approvers: {allOf: [{teams: [...], required: N}, ...]}"
MAX_TOTAL_APPROVALS = 10


def _default_label(teams: frozenset[str], users: frozenset[str]) -> str:
    """A group's name in messages: its teams' slugs, then its users ("payments-leads")."""
    return "+".join([*sorted(t.split("/", 1)[-1] for t in teams), *sorted(users)]) or "nobody"


def _build_approvers(
    path: str, approvers: dict[str, Any], marks: Marks
) -> tuple[tuple[ApproverGroup, ...], list[Problem]]:
    """The approval groups of ``spec.approvers`` (schema-valid), or problems saying which of the
    two forms is accepted: one group inline, or ``allOf`` groups (one person counts once)."""
    where = ("spec", "approvers")
    inline = [key for key in ("users", "teams", "required") if key in approvers]
    if "allOf" in approvers and inline:
        return (), [_at(path, marks, (*where, "allOf"), "policy.approvers", (
            f"approvers mixes allOf with {', '.join(inline)}; either {_ONE_GROUP} (one group) "
            f"or {_GROUPS} (every group must approve) is accepted, not both"
        ))]
    if "allOf" not in approvers and "required" not in approvers:
        return (), [_at(path, marks, where, "policy.approvers", (
            f"approvers has neither required nor allOf; {_ONE_GROUP} or {_GROUPS} is accepted"
        ))]
    entries = approvers["allOf"] if "allOf" in approvers else [approvers]
    problems: list[Problem] = []
    groups: list[ApproverGroup] = []
    for i, entry in enumerate(entries):
        at = (*where, "allOf", i) if "allOf" in approvers else where
        name = f"approvers.allOf[{i}]" if "allOf" in approvers else "approvers"
        users, teams = _lower(entry.get("users")), _lower(entry.get("teams"))
        if not users and not teams:
            problems.append(_at(path, marks, at, "policy.approvers", (
                f"{name} lists nobody; at least one user or team is accepted"
            )))
        elif not teams and entry["required"] > len(users):
            problems.append(_at(path, marks, (*at, "required"), "policy.approvers", (
                f"{name}: required is {entry['required']} but only {len(users)} approver "
                f"user(s) are listed and no team; at most {len(users)} is accepted, or add "
                "approvers"
            )))
        groups.append(ApproverGroup(entry.get("name") or _default_label(teams, users),
                                    users, teams, entry["required"]))
    labels = [g.label for g in groups]
    for i, label in enumerate(labels):
        if label in labels[:i]:
            problems.append(_at(path, marks, (*where, "allOf", i), "policy.approvers", (
                f"approvers.allOf[{i}] is named {label!r} like an earlier group; give each "
                "group a distinct name (name: ...) so messages can tell them apart"
            )))
    total = sum(g.required for g in groups)
    if total > MAX_TOTAL_APPROVALS:
        problems.append(_at(path, marks, (*where, "allOf"), "policy.approvers", (
            f"the groups require {total} approvals in all; at most {MAX_TOTAL_APPROVALS} "
            "is accepted"
        )))
    if not problems and not _user_groups_satisfiable(groups):
        problems.append(_at(path, marks, (*where, "allOf"), "policy.approvers", (
            "the groups that list only users can never all be satisfied: one person counts "
            "once across groups, and they share too few distinct users; add users or teams"
        )))
    return tuple(groups), problems


def _user_groups_satisfiable(groups: list[ApproverGroup]) -> bool:
    """Whether the user-only groups (teams may grow; lists cannot) can all be filled by
    distinct people at once: a maximum bipartite matching of users to group seats."""
    closed = [g for g in groups if not g.teams]
    seats = [(i, g.required) for i, g in enumerate(closed)]
    people = {u: [i for i, g in enumerate(closed) if u in g.users]
              for g in closed for u in sorted(g.users)}
    assigned = max_assignment(sorted(people), people, dict(seats))
    return len(assigned) == sum(g.required for g in closed)
