"""The access cut (``Controller.cut_access``): the RoleBinding delete a due expiry starts before a
timer-queue worker takes the grant, against the real API server, in-process.

Hostile cases: the watch's body said "expired" but the grant was extended meanwhile — the pass
that follows must put the RoleBinding back, not leave an Active grant without access; an expiry
after a cut removes everything, is recorded once, and leaves no cut behind; a grant that is not
due is never cut.
"""

from __future__ import annotations

import asyncio
import dataclasses
import time
from pathlib import Path
from typing import Any

import pytest
import yaml

from janus.controller.clusters import Registry
from janus.controller.reconcile import Controller
from janus.dev.controlplane import LocalCluster
from janus.model import load_config_file, parse_duration
from janus.resource import AccessRequestView
from tests.integration.controller_env import (
    create_request,
    ensure_namespace,
    grant_objects,
    janus_config,
    patch_spec,
    prepare_central,
)


@pytest.fixture
def env(cluster: LocalCluster, tmp_path: Path) -> dict[str, Any]:
    api = cluster.admin_client()
    janus_ns = prepare_central(cluster)
    workload = f"cut-{janus_ns[-6:]}"
    ensure_namespace(api, workload)
    path = tmp_path / "janus.yaml"
    path.write_text(yaml.safe_dump(janus_config(["central"])))
    policy = dataclasses.replace(load_config_file(path), duration_min=parse_duration("1s"))
    events: list[tuple[str, str]] = []
    ctl = Controller(central=api, registry=Registry(api, janus_ns, "central"), policy=policy,
                     parse_duration=parse_duration, namespace=janus_ns, central_cluster="central",
                     events=lambda cr, type_, reason, message: events.append((cr.name, reason)))
    return {"api": api, "ns": janus_ns, "workload": workload, "ctl": ctl, "events": events}


async def _granted(env: dict[str, Any], duration: str) -> AccessRequestView:
    ctl: Controller = env["ctl"]
    name = create_request(env["api"], env["ns"], cluster="central", namespace=env["workload"],
                          duration=duration)
    cr = ctl.crs.find(name)
    assert cr is not None
    outcome = await ctl.step(cr)
    assert outcome.latest is not None and outcome.latest.phase == "Active"
    return outcome.latest


async def _past(cr: AccessRequestView) -> None:
    assert cr.expires_at is not None
    await asyncio.sleep(max(0.0, cr.expires_at.timestamp() - time.time()) + 0.05)


def test_an_extension_seen_after_the_cut_puts_the_role_binding_back(env: dict[str, Any]) -> None:
    async def main() -> None:
        ctl: Controller = env["ctl"]
        stale = await _granted(env, "2s")
        name = stale.name
        await _past(stale)
        patch_spec(env["api"], env["ns"], name, {"duration": "1h"})  # extended, watch not yet
        ctl.cut_access(stale)  # what the timer hook does with the body the watch showed
        assert await ctl.cuts[name]
        assert grant_objects(env["api"], env["workload"], name)["rb"] == []  # cut happened
        fresh = ctl.crs.find(name)
        assert fresh is not None
        outcome = await ctl.step(fresh)
        assert outcome.latest is not None and outcome.latest.phase == "Active"
        assert outcome.latest.expires_at is not None and stale.expires_at is not None
        assert outcome.latest.expires_at > stale.expires_at
        objects = grant_objects(env["api"], env["workload"], name)
        assert objects["rb"] and objects["sa"] and objects["secret"], objects
        assert name not in ctl.cuts

    asyncio.run(main())


def test_an_expiry_after_the_cut_removes_everything_once(env: dict[str, Any]) -> None:
    async def main() -> None:
        ctl: Controller = env["ctl"]
        cr = await _granted(env, "2s")
        assert not ctl.ends_access(cr)
        ctl.cut_access(cr)  # not due: never cut
        assert cr.name not in ctl.cuts
        assert grant_objects(env["api"], env["workload"], cr.name)["rb"]
        await _past(cr)
        assert ctl.ends_access(cr)
        ctl.cut_access(cr)
        ctl.cut_access(cr)  # twice: one delete
        outcome = await ctl.step(cr)
        assert outcome.done and outcome.latest is not None
        assert outcome.latest.phase == "Expired"
        assert grant_objects(env["api"], env["workload"], cr.name) == {
            "sa": [], "rb": [], "secret": []}
        assert cr.name not in ctl.cuts
        assert [r for n, r in env["events"] if n == cr.name] == ["Granted", "Expired"]

    asyncio.run(main())
