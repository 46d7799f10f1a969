"""lifecycle.plan: the whole state machine as a pure function of CR, policy and clock."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

import pytest

from janus.controller import lifecycle
from janus.model import parse_duration
from janus.resource import AccessRequestView, timefmt

T0 = dt.datetime(2026, 1, 1, 12, 0, 0, tzinfo=dt.UTC)


@dataclass
class Policy:
    clusters: tuple[str, ...] = ("prod", "central")
    excluded_namespaces: frozenset[str] = frozenset({"kube-system"})
    duration_min: dt.timedelta = dt.timedelta(seconds=1)
    duration_max: dt.timedelta = dt.timedelta(hours=8)
    roles: dict[str, str] = field(default_factory=lambda: {"pod-exec": "janus-pod-exec"})


def cr(phase: str | None = None, duration: str = "1h", **spec_extra: object) -> dict:
    status: dict = {}
    if phase:
        status["phase"] = phase
    if phase == "Active":
        status |= {"grantedAt": timefmt.fmt(T0),
                   "expiresAt": timefmt.fmt(T0 + dt.timedelta(hours=1))}
    spec = {"requester": "alice", "cluster": "prod", "namespace": "payments", "role": "pod-exec",
            "duration": duration, **spec_extra}
    return {"metadata": {"name": "x"}, "spec": spec, "status": status}


def plan(obj: dict, now: dt.datetime = T0, **kw: object) -> lifecycle.Action:
    view = AccessRequestView.from_cr(obj)
    return lifecycle.plan(view, now, Policy(), parse_duration, **kw)  # type: ignore[arg-type]


def test_no_phase_is_approved_and_grants_with_the_catalogue_role() -> None:
    assert plan(cr()) == lifecycle.GrantAccess(cluster_role="janus-pod-exec",
                                               duration=dt.timedelta(hours=1))


@pytest.mark.parametrize(("spec", "words"), [
    ({"namespace": "kube-system"}, "excluded"),
    ({"cluster": "nowhere"}, "not one of"),
    ({"role": "cluster-admin"}, "catalogue"),
    ({"duration": "9h"}, "above the maximum"),
])
def test_refusals(spec: dict, words: str) -> None:
    action = plan(cr(**spec))
    assert isinstance(action, lifecycle.Fail) and words in action.message


def test_janus_namespaces_on_the_central_cluster_are_refused_whatever_the_config() -> None:
    action = plan(cr(cluster="central", namespace="janus-tokens"), central_cluster="central")
    assert isinstance(action, lifecycle.Fail)
    action = plan(cr(cluster="central", namespace="my-janus"), central_cluster="central",
                  janus_namespace="my-janus")
    assert isinstance(action, lifecycle.Fail)


@pytest.mark.parametrize("phase", ["Expired", "Revoked", "Failed"])
def test_terminal_phases_are_final_even_with_a_revocation(phase: str) -> None:
    assert plan(cr(phase, revocation={"by": "bob"})) == lifecycle.Done()


def test_revocation_wins_over_everything_live() -> None:
    for phase in (None, "Active"):
        assert plan(cr(phase, revocation={"by": "bob", "reason": "r"})) == \
            lifecycle.Revoke(by="bob", reason="r")


def test_active_waits_until_expires_at_then_expires() -> None:
    assert plan(cr("Active")) == lifecycle.Wait(until=T0 + dt.timedelta(hours=1))
    assert plan(cr("Active"), now=T0 + dt.timedelta(hours=1)) == lifecycle.Expire()


def test_extension_moves_expiry_from_granted_at() -> None:
    assert plan(cr("Active", duration="2h"), now=T0 + dt.timedelta(minutes=30)) == \
        lifecycle.Extend(expires_at=T0 + dt.timedelta(hours=2))


def test_shortening_into_the_past_expires_now() -> None:
    assert plan(cr("Active", duration="10m"), now=T0 + dt.timedelta(minutes=30)) == \
        lifecycle.Expire()


def test_extension_beyond_the_maximum_is_refused_and_keeps_the_expiry() -> None:
    action = plan(cr("Active", duration="9h"), now=T0 + dt.timedelta(minutes=30))
    assert isinstance(action, lifecycle.Wait)
    assert action.until == T0 + dt.timedelta(hours=1)
    assert action.warning and "extension refused" in action.warning


# ---- never live forever, bounds at their edges (issue 11 item 12: mutants survived here) ----

def _active(**status: object) -> dict:
    obj = cr("Active")
    for key, value in status.items():
        if value is None:
            obj["status"].pop(key)
        else:
            obj["status"][key] = value
    return obj


@pytest.mark.parametrize("missing", ["grantedAt", "expiresAt"])
def test_active_without_granted_at_or_expires_at_expires_at_once(missing: str) -> None:
    assert plan(_active(**{missing: None})) == lifecycle.Expire()
    assert plan(_active(grantedAt=None, expiresAt=None)) == lifecycle.Expire()


def test_active_with_an_unparsable_duration_keeps_its_expiry_and_then_ends() -> None:
    obj = _active()
    obj["spec"]["duration"] = "forever"
    assert plan(obj) == lifecycle.Wait(until=T0 + dt.timedelta(hours=1))
    assert plan(obj, now=T0 + dt.timedelta(minutes=59)) == \
        lifecycle.Wait(until=T0 + dt.timedelta(hours=1))
    assert plan(obj, now=T0 + dt.timedelta(hours=1)) == lifecycle.Expire()


def _plan_with(obj: dict, policy: Policy, **kw: object) -> lifecycle.Action:
    view = AccessRequestView.from_cr(obj)
    return lifecycle.plan(view, T0, policy, parse_duration, **kw)  # type: ignore[arg-type]


def test_the_minimum_duration_is_enforced_and_the_bounds_themselves_are_allowed() -> None:
    policy = Policy(duration_min=dt.timedelta(minutes=5), duration_max=dt.timedelta(hours=2))
    below = _plan_with(cr(duration="4m"), policy)
    assert below == lifecycle.Fail("duration 0:04:00 is below the minimum 0:05:00")
    above = _plan_with(cr(duration="2h1m"), policy)
    assert above == lifecycle.Fail("duration 2:01:00 is above the maximum 2:00:00")
    for edge in ("5m", "2h"):
        assert _plan_with(cr(duration=edge), policy) == lifecycle.GrantAccess(
            cluster_role="janus-pod-exec", duration=parse_duration(edge))
    # An extension exactly to the maximum is taken; below the minimum it is refused.
    extended = _active()
    extended["spec"]["duration"] = "2h"
    assert _plan_with(extended, policy) == lifecycle.Extend(expires_at=T0 + dt.timedelta(hours=2))
    shortened = _active()
    shortened["spec"]["duration"] = "4m"
    assert _plan_with(shortened, policy) == lifecycle.Wait(
        until=T0 + dt.timedelta(hours=1),
        warning="extension refused: duration 0:04:00 is below the minimum 0:05:00")


def test_janus_namespaces_are_refused_only_on_the_central_cluster() -> None:
    grant = lifecycle.GrantAccess(cluster_role="janus-pod-exec", duration=dt.timedelta(hours=1))
    # The central cluster's ordinary namespaces are granted ...
    assert plan(cr(cluster="central"), central_cluster="central") == grant
    # ... and a namespace called janus-tokens on another cluster is just a namespace.
    assert plan(cr(namespace="janus-tokens"), central_cluster="central") == grant
    action = plan(cr(cluster="central", namespace="janus"), central_cluster="central")
    assert action == lifecycle.Fail("namespace 'janus' holds Janus itself and can never be "
                                    "granted")
