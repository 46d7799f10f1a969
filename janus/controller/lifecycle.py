"""What to do next with one AccessRequest: a pure function of the CR, the policy and the clock.

    Approved ──grant──▶ Active ──expiresAt──▶ Expired
        │                  │ ╰──spec.revocation──▶ Revoked
        ╰──refused─────────┴──────────────────────▶ Failed

Terminal phases are final: :func:`plan` returns :class:`Done` for them whatever the spec says,
so a revocation arriving after expiry (or an expiry timer firing after a revocation) changes
nothing. The clock starts at grant: ``expiresAt = grantedAt + spec.duration``, recomputed on
every pass, which is how an extension (or a shortening) takes effect.

The input is the typed :class:`~janus.resource.AccessRequestView`, never the raw CR.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass
from typing import Protocol

from janus import names
from janus.resource import AccessRequestView

# Namespaces of the central cluster that no grant may ever reach, whatever the JanusConfig says:
# exec there yields the controller's and every grant's credentials.
ALWAYS_EXCLUDED_ON_CENTRAL = frozenset({names.JANUS_NAMESPACE, names.TOKENS_NAMESPACE})


class Policy(Protocol):
    """The part of JanusConfig the controller needs (janus.model.JanusConfig satisfies it).

    Read-only members: the controller never changes the policy, and a frozen JanusConfig has
    no settable attributes."""

    @property
    def clusters(self) -> Collection[str]: ...
    @property
    def excluded_namespaces(self) -> frozenset[str]: ...
    @property
    def duration_min(self) -> dt.timedelta: ...
    @property
    def duration_max(self) -> dt.timedelta: ...
    @property
    def roles(self) -> Mapping[str, str]: ...


@dataclass(frozen=True)
class Done:
    """Terminal: nothing left to do, ever."""


@dataclass(frozen=True)
class Fail:
    message: str


@dataclass(frozen=True)
class GrantAccess:
    """Approved and allowed: create the ServiceAccount and RoleBinding, mint the token."""

    cluster_role: str
    duration: dt.timedelta


@dataclass(frozen=True)
class Expire:
    pass


@dataclass(frozen=True)
class Revoke:
    by: str
    reason: str


@dataclass(frozen=True)
class Extend:
    expires_at: dt.datetime


@dataclass(frozen=True)
class Wait:
    until: dt.datetime
    warning: str | None = None


Action = Done | Fail | GrantAccess | Expire | Revoke | Extend | Wait


def refusal(
    request: AccessRequestView,
    policy: Policy,
    parse_duration: Callable[[str], dt.timedelta],
    central_cluster: str | None,
    janus_namespace: str,
) -> str | None:
    """Why this request can never be granted by this controller, or None."""
    cluster, namespace, role = request.cluster, request.namespace, request.role
    if cluster not in set(policy.clusters):
        return f"cluster {cluster!r} is not one of JanusConfig.spec.clusters"
    if namespace in policy.excluded_namespaces:
        return f"namespace {namespace!r} is excluded by JanusConfig and can never be granted"
    if cluster == central_cluster and namespace in (ALWAYS_EXCLUDED_ON_CENTRAL | {janus_namespace}):
        return f"namespace {namespace!r} holds Janus itself and can never be granted"
    if role not in policy.roles:
        return f"role {role!r} is not in the JanusConfig role catalogue"
    try:
        duration = parse_duration(request.duration)
    except ValueError as exc:
        return f"invalid duration: {exc}"
    problem = duration_problem(duration, policy)
    return problem


def duration_problem(duration: dt.timedelta, policy: Policy) -> str | None:
    if duration < policy.duration_min:
        return f"duration {duration} is below the minimum {policy.duration_min}"
    if duration > policy.duration_max:
        return f"duration {duration} is above the maximum {policy.duration_max}"
    return None


def plan(
    request: AccessRequestView,
    now: dt.datetime,
    policy: Policy,
    parse_duration: Callable[[str], dt.timedelta],
    *,
    central_cluster: str | None = None,
    janus_namespace: str = names.JANUS_NAMESPACE,
) -> Action:
    if request.terminal:
        return Done()
    if request.revocation is not None:
        return Revoke(by=request.revocation.by, reason=request.revocation.reason)

    if request.phase == "Approved":
        problem = refusal(request, policy, parse_duration, central_cluster, janus_namespace)
        if problem:
            return Fail(problem)
        return GrantAccess(cluster_role=policy.roles[request.role],
                           duration=parse_duration(request.duration))

    # Active.
    granted_at, expires_at = request.granted_at, request.expires_at
    if granted_at is None or expires_at is None:
        # Cannot happen through this controller (both are written with the phase); expire
        # rather than guess how long access was meant to last.
        return Expire()
    try:
        duration = parse_duration(request.duration)
    except ValueError:
        duration = expires_at - granted_at
    target = granted_at + duration
    warning = None
    if target != expires_at:
        problem = duration_problem(duration, policy)
        if problem:
            # An out-of-bounds extension is refused; the grant keeps its current expiry.
            warning = f"extension refused: {problem}"
            target = expires_at
    if now >= target:
        return Expire()
    if target != expires_at:
        return Extend(expires_at=target)
    return Wait(until=target, warning=warning)
