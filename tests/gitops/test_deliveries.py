"""Deliveries as GitHub really sends them reach the right handler (simulator payloads, the real
dispatcher and GitOps): a renamed access repository is still ours (matched on
``repository.id``), and a fork PR's check run, whose ``pull_requests`` is empty, is found by
its head commit."""

from __future__ import annotations

import json
from typing import Any

import pytest

from janus.webhook.contract import contract_errors
from janus.webhook.dispatch import dispatch
from janus.webhook.store import Delivery
from tests.gitops import harness
from tests.gitops.harness import open_request_pr, request_name, request_path

pytestmark = pytest.mark.k8s_real


def _deliver(gitops, event: str, action: str, payload: dict[str, Any]) -> None:
    assert contract_errors(event, payload) == []
    dispatch(gitops, Delivery(f"d-{event}-{action}", event, action,
                              json.dumps(payload).encode(), 0))


def _janus_runs(bed, head: str) -> list[Any]:
    repo = bed.sim.world.repo(bed.repo)
    return [r for r in repo.check_runs.values()
            if r.head_sha == head and r.app_id == bed.app_id]


def test_delivery_for_the_renamed_access_repository_still_reaches_janus(bed, gitops) -> None:
    name = request_name()
    number = open_request_pr(bed.sim, bed.repo, name)
    assert gitops.repo.full_name == bed.repo  # read once, as a running receiver has it
    bed.repo = bed.sim.rename_repo(bed.repo, bed.repo.split("/")[1] + "-renamed", "root")
    world = bed.sim.world
    with world.lock:
        repo = world.repo(bed.repo)
        payload = world.payloads.pull_request(repo, world.pull(repo, number), "opened", "alice")
    assert payload["repository"]["full_name"] == bed.repo
    _deliver(gitops, "pull_request", "opened", payload)
    head = bed.sim.pull(bed.repo, number)["head"]["sha"]
    assert [r.conclusion for r in _janus_runs(bed, head)] == ["success"], \
        "the renamed repository's delivery was dropped"
    assert bed.repo.lower() in gitops.repo_names


def test_fork_pr_check_run_rerequested_without_pull_requests_is_rerun(bed, gitops) -> None:
    name = request_name()
    fork = bed.sim.fork(bed.repo, "alice", name=f"fork-{name}")
    bed.sim.push(fork, f"req/{name}", {request_path(name): harness.request_yaml(name)},
                 author="alice", message=f"Request {name}")
    number = bed.sim.create_pull(bed.repo, head=f"alice:req/{name}", title="fork",
                                 author="alice")
    gitops.check_pull(number)
    head = bed.sim.pull(bed.repo, number)["head"]["sha"]
    [run] = _janus_runs(bed, head)
    world = bed.sim.world
    with world.lock:
        payload = world.payloads.check_run(world.repo(bed.repo), run, "rerequested", "alice")
    assert payload["check_run"]["pull_requests"] == []  # GitHub's rule for fork PRs
    checked: list[int] = []
    real = gitops.check_pull
    gitops.check_pull = lambda n: (checked.append(n), real(n))[-1]
    _deliver(gitops, "check_run", "rerequested", payload)
    assert checked == [number], "the fork PR's re-run request was dropped"
