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
