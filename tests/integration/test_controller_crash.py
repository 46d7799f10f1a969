"""Crash safety: the controller SIGKILLed (or crashed at a named step) converges on restart,
without orphans, and grants that expired while it was down are removed at once."""

from __future__ import annotations

import base64
import time
from pathlib import Path

import pytest
from kubernetes import client

from janus import names, resource
from janus.dev.controlplane import LocalCluster
from janus.resource import timefmt
from tests.integration.controller_env import (
    ControllerProcess,
    create_request,
    get_request,
    grant_objects,
    prepare_central,
    wait_for,
    wait_phase,
)
from tests.k8s_helpers import create_namespace, create_pod

pytestmark = pytest.mark.k8s_real


NONE: dict[str, list[str]] = {"sa": [], "rb": [], "secret": []}


@pytest.fixture
def setup(cluster: LocalCluster, tmp_path: Path, unique_ns: str) -> dict:
    api = cluster.admin_client()
    janus_ns = prepare_central(cluster)
    create_namespace(api, unique_ns)
    create_pod(api, unique_ns)
    ctl = ControllerProcess(tmp_path, cluster, janus_ns, clusters=["central"])
    yield {"api": api, "janus_ns": janus_ns, "ns": unique_ns, "ctl": ctl}
    ctl.stop()
    print(ctl.log()[-8000:])


@pytest.mark.parametrize("step", ["serviceaccount", "rolebinding", "token", "secret"])
def test_crash_between_grant_steps_converges_on_restart(setup: dict, step: str) -> None:
    api, janus_ns, ns, ctl = setup["api"], setup["janus_ns"], setup["ns"], setup["ctl"]
    ctl.start(JANUS_TEST_CRASH_AFTER=step)
    name = create_request(api, janus_ns, cluster="central", namespace=ns, duration="1h")
    assert ctl.wait_exit(timeout=30) == 137
    cr = get_request(api, janus_ns, name)
    assert not (cr.get("status") or {}).get("phase")  # nothing recorded before it is done
    partial = grant_objects(api, ns, name)
    assert partial["sa"]  # the step before the crash did happen
    if step == "serviceaccount":
        assert partial["rb"] == []

    ctl.start()  # no crash point this time
    cr = wait_phase(api, janus_ns, name, "Active")
    sa = names.service_account_name("alice", name)
    assert grant_objects(api, ns, name) == {"sa": [sa], "rb": [sa],
                                            "secret": [names.token_secret_name(name)]}
    secret = client.CoreV1Api(api).read_namespaced_secret(names.token_secret_name(name),
                                                          names.TOKENS_NAMESPACE)
    assert base64.b64decode(secret.data["expiresAt"]).decode() == cr["status"]["expiresAt"]


def test_crash_during_expiry_converges_on_restart(setup: dict) -> None:
    step = "cleanup"
    api, janus_ns, ns, ctl = setup["api"], setup["janus_ns"], setup["ns"], setup["ctl"]
    ctl.start(JANUS_TEST_CRASH_AFTER=step)
    name = create_request(api, janus_ns, cluster="central", namespace=ns, duration="3s")
    wait_phase(api, janus_ns, name, "Active")
    assert ctl.wait_exit(timeout=30) == 137
    assert get_request(api, janus_ns, name)["status"]["phase"] == "Active"  # not yet recorded
    ctl.start()
    wait_phase(api, janus_ns, name, "Expired", timeout=30)
    assert grant_objects(api, ns, name) == NONE


def test_controller_down_across_an_expiry_removes_at_restart(setup: dict) -> None:
    api, janus_ns, ns, ctl = setup["api"], setup["janus_ns"], setup["ns"], setup["ctl"]
    ctl.start()
    name = create_request(api, janus_ns, cluster="central", namespace=ns, duration="3s")
    cr = wait_phase(api, janus_ns, name, "Active")
    ctl.kill()
    expires = timefmt.parse(cr["status"]["expiresAt"])
    time.sleep(max(0.0, (expires - timefmt.now()).total_seconds()) + 2)
    assert grant_objects(api, ns, name)["sa"]  # nobody removed it: the controller was down
    restarted = time.monotonic()
    ctl.start()
    wait_phase(api, janus_ns, name, "Expired", timeout=30)
    assert grant_objects(api, ns, name) == NONE
    # "At once": bounded by process start-up (imports, kopf login and first listing).
    assert time.monotonic() - restarted < 15


def test_cr_deleted_while_controller_down_is_cleaned_up_at_restart(setup: dict) -> None:
    api, janus_ns, ns, ctl = setup["api"], setup["janus_ns"], setup["ns"], setup["ctl"]
    ctl.start()
    name = create_request(api, janus_ns, cluster="central", namespace=ns, duration="1h")
    wait_phase(api, janus_ns, name, "Active")
    ctl.kill()
    client.CustomObjectsApi(api).delete_namespaced_custom_object(
        resource.GROUP, resource.VERSION, janus_ns, resource.PLURAL, name)
    time.sleep(1)
    assert get_request(api, janus_ns, name) is not None  # held by the finalizer
    ctl.start()
    wait_for(lambda: get_request(api, janus_ns, name) is None, 30, "CR gone")
    assert grant_objects(api, ns, name) == NONE


def test_cr_removed_around_the_finalizer_is_swept_at_restart(setup: dict) -> None:
    """An AccessRequest deleted with its finalizer stripped by hand while the controller was
    down leaves objects no finalizer will ever clean: the startup sweep removes them."""
    api, janus_ns, ns, ctl = setup["api"], setup["janus_ns"], setup["ns"], setup["ctl"]
    ctl.start()
    name = create_request(api, janus_ns, cluster="central", namespace=ns, duration="1h")
    wait_phase(api, janus_ns, name, "Active")
    ctl.kill()
    custom = client.CustomObjectsApi(api)
    custom.patch_namespaced_custom_object(
        resource.GROUP, resource.VERSION, janus_ns, resource.PLURAL, name,
        {"metadata": {"finalizers": None}}, _content_type="application/merge-patch+json")
    custom.delete_namespaced_custom_object(resource.GROUP, resource.VERSION, janus_ns,
                                           resource.PLURAL, name)
    wait_for(lambda: get_request(api, janus_ns, name) is None, 10, "CR gone")
    assert grant_objects(api, ns, name) != NONE  # orphaned
    ctl.start()
    wait_for(lambda: grant_objects(api, ns, name) == NONE, 30, "orphans swept")
    ctl.wait_log('"event": "sweep.done"')
