"""Two controller replicas with kopf peering: only the highest priority acts; when it stops, the
other takes over. (A SIGKILLed leader is replaced after kopf's peering lifetime, 60 s by default;
the graceful handover is what is timed here.)"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from janus.dev.controlplane import LocalCluster
from tests.integration.controller_env import (
    ControllerProcess,
    create_request,
    prepare_central,
    wait_phase,
)
from tests.k8s_helpers import create_namespace

pytestmark = pytest.mark.k8s_real


def _granted(log: str) -> set[str]:
    return set(re.findall(r'"request": "([^"]+)", "event": "grant.active"', log))


def test_two_replicas_never_act_on_the_same_grant(cluster: LocalCluster, tmp_path: Path,
                                                  unique_ns: str) -> None:
    api = cluster.admin_client()
    janus_ns = prepare_central(cluster)
    create_namespace(api, unique_ns)
    peering = ["--peering", "janus-ha"]
    leader = ControllerProcess(tmp_path, cluster, janus_ns, clusters=["central"],
                               extra_args=[*peering, "--priority", "200"], tag="leader")
    standby = ControllerProcess(tmp_path, cluster, janus_ns, clusters=["central"],
                                extra_args=[*peering, "--priority", "100"], tag="standby")
    try:
        leader.start()
        leader.wait_log("Keep-alive in 'janus-ha'")  # registered in the peering object
        standby.start()
        # The standby starts paused and announces itself; it resumes only when the leader goes.
        standby.wait_log("Keep-alive in 'janus-ha'", timeout=30)

        first = [create_request(api, janus_ns, cluster="central", namespace=unique_ns,
                                request=f"ha-{i}") for i in range(5)]
        for name in first:
            wait_phase(api, janus_ns, name, "Active")
        assert _granted(leader.log()) == set(first)
        assert _granted(standby.log()) == set()
        assert "Resuming operations" not in standby.log()

        leader.stop()
        standby.wait_log("Resuming operations", timeout=30)
        late = create_request(api, janus_ns, cluster="central", namespace=unique_ns,
                              request="ha-late")
        wait_phase(api, janus_ns, late, "Active")
        assert _granted(standby.log()) == {late}
    finally:
        leader.stop()
        standby.stop()
        print("--- leader ---\n" + leader.log()[-4000:])
        print("--- standby ---\n" + standby.log()[-4000:])


def _expired(log: str) -> set[str]:
    return set(re.findall(r'"request": "([^"]+)", "event": "grant.expired"', log))


def test_a_replica_paused_by_a_higher_priority_one_drops_its_armed_timers(
        cluster: LocalCluster, tmp_path: Path, unique_ns: str) -> None:
    """The timer queue is Janus's own, not kopf's: a leader that is paused by a newcomer of
    higher priority must stop acting on the expiries it had already scheduled."""
    api = cluster.admin_client()
    janus_ns = prepare_central(cluster)
    create_namespace(api, unique_ns)
    peering = ["--peering", "janus-ha-pause"]
    old = ControllerProcess(tmp_path, cluster, janus_ns, clusters=["central"],
                            extra_args=[*peering, "--priority", "100"], tag="old")
    new = ControllerProcess(tmp_path, cluster, janus_ns, clusters=["central"],
                            extra_args=[*peering, "--priority", "200"], tag="new")
    try:
        old.start()
        old.wait_log("Keep-alive in 'janus-ha-pause'")
        grants = [create_request(api, janus_ns, cluster="central", namespace=unique_ns,
                                 request=f"pause-{i}", duration="45s") for i in range(3)]
        for name in grants:
            wait_phase(api, janus_ns, name, "Active")
            # The line follows the status write: the watch can show Active before it is logged.
            old.wait_log(f'"request": "{name}", "event": "grant.active"', timeout=30)
        assert _granted(old.log()) == set(grants)  # the old leader armed their expiry timers
        new.start()
        old.wait_log('"event": "controller.paused"', timeout=40)
        assert not _expired(old.log()), "paused only after the expiries: the test proves nothing"
        for name in grants:
            wait_phase(api, janus_ns, name, "Expired", timeout=90)
        assert _expired(new.log()) == set(grants)
        assert _expired(old.log()) == set()
    finally:
        old.stop()
        new.stop()
        print("--- old ---\n" + old.log()[-4000:])
        print("--- new ---\n" + new.log()[-4000:])
