"""The GitOps loop end to end: the simulator sends signed webhooks to the real receiver over
HTTP; the receiver verifies and writes AccessRequests to the real API server; for the whole path
the real controller grants, and the token execs into a pod.

Hostile delivery paths: forged signatures, replays, out-of-order and dropped deliveries.
"""

from __future__ import annotations

import base64
import json
import uuid

import httpx
import pytest
from kubernetes import client
from kubernetes.stream import stream

from janus import names
from janus.webhook.signature import sign
from tests.gitops import harness
from tests.gitops.harness import cr_name, open_request_pr, request_name
from tests.integration.controller_env import ControllerProcess, wait_for, wait_phase
from tests.k8s_helpers import create_namespace, create_pod

pytestmark = pytest.mark.k8s_real


def _comments(loop, number: int) -> list[str]:
    return harness.comments_of(loop.bed.sim, loop.bed.repo, number)


def test_whole_path_open_check_approve_merge_active_token_execs(loop, cluster, tmp_path) -> None:
    sim, repo = loop.bed.sim, loop.bed.repo
    namespace = f"payments-{uuid.uuid4().hex[:6]}"
    api = cluster.admin_client()
    create_namespace(api, namespace)
    create_pod(api, namespace)
    controller = ControllerProcess(tmp_path / "ctl", cluster, loop.janus_ns,
                                   clusters=["prod", "staging"], central_name="prod").start()
    try:
        name = request_name()
        number = open_request_pr(sim, repo, name, namespace=namespace)
        loop.settle()
        head = sim.pull(repo, number)["head"]["sha"]
        runs = sim.world.repo(repo).check_runs.values()
        assert [(r.name, r.conclusion) for r in runs if r.head_sha == head] == \
            [("janus/policy", "success")]
        assert any("janus:plan" in b and "kind: RoleBinding" in b for b in _comments(loop,
                                                                                  number))
        sim.review(repo, number, "bob", "APPROVE")
        sim.merge(repo, number, actor="root")
        loop.settle()
        name_cr = cr_name(name, namespace=namespace)
        cr = wait_phase(api, loop.janus_ns, name_cr, "Active", timeout=60)
        assert cr["spec"]["provenance"]["approvers"] == ["bob"]
        wait_for(lambda: any("Access granted" in b for b in _comments(loop, number)), 20,
                 "the granted comment")
        secret = client.CoreV1Api(api).read_namespaced_secret(
            names.token_secret_name(name_cr), names.TOKENS_NAMESPACE)
        token = base64.b64decode(secret.data["token"]).decode()
        output = stream(client.CoreV1Api(cluster.token_client(token))
                        .connect_get_namespaced_pod_exec, "target", namespace, container="app",
                        command=["sh", "-c", "echo via-janus"], stderr=True, stdin=False,
                        stdout=True, tty=False)
        assert "via-janus" in output
        # No token anywhere on GitHub.
        assert all(token not in b for b in _comments(loop, number))
        # Revoke from the PR: the controller removes the grant and the PR hears about it.
        sim.comment(repo, number, "alice", "/janus revoke all done")
        loop.settle()
        wait_phase(api, loop.janus_ns, name_cr, "Revoked", timeout=60)
        wait_for(lambda: any("Access revoked" in b for b in _comments(loop, number)), 20,
                 "the revoked comment")
    finally:
        controller.stop()


def _forged_merge_payload(loop, number: int) -> bytes:
    return json.dumps({"action": "closed", "number": number,
                       "pull_request": {"number": number, "merged": True},
                       "repository": {"id": loop.bed.sim.world.repo(loop.bed.repo).id,
                                      "full_name": loop.bed.repo}}).encode()


def test_unsigned_and_wrongly_signed_deliveries_change_nothing(loop) -> None:
    sim, repo = loop.bed.sim, loop.bed.repo
    name = request_name()
    number = open_request_pr(sim, repo, name)
    loop.settle()
    body = _forged_merge_payload(loop, number)
    headers = {"Content-Type": "application/json", "X-GitHub-Event": "pull_request"}
    for i, signature in enumerate([None, sign(b"not the secret", body), "sha256=00"]):
        h = {**headers, "X-GitHub-Delivery": f"forged-{i}"}
        if signature:
            h["X-Hub-Signature-256"] = signature
        assert httpx.post(loop.receiver.url, content=body, headers=h).status_code == 401
        assert loop.receiver.store.state_of(f"forged-{i}") is None
    assert loop.crs.get(cr_name(name)) is None
    # Even correctly signed, a "merged" payload for an unmerged PR is only a hint: the API says
    # the PR is open, so nothing is granted.
    h = {**headers, "X-GitHub-Delivery": "signed-lie", "X-Hub-Signature-256":
         sign(loop.secret, body)}
    assert httpx.post(loop.receiver.url, content=body, headers=h).status_code == 202
    loop.settle()
    assert loop.crs.get(cr_name(name)) is None


def test_replayed_merge_delivery_does_nothing_twice(loop) -> None:
    sim, repo = loop.bed.sim, loop.bed.repo
    name = request_name()
    number = open_request_pr(sim, repo, name)
    sim.review(repo, number, "bob", "APPROVE")
    sim.merge(repo, number, actor="root")
    loop.settle()
    created = loop.crs.get(cr_name(name))
    assert created is not None
    closed = [d for d in sim.deliveries if d.event == "pull_request" and d.action == "closed"
              and d.payload["number"] == number]
    sim.redeliver(closed[-1].guid)
    loop.settle()
    assert loop.bed.counters.get("webhook_deliveries_total", outcome="duplicate") >= 1
    assert loop.crs.get(cr_name(name)).resource_version == created.resource_version
    assert sum("verified" in b for b in _comments(loop, number)) == 1


def test_deliveries_out_of_order_still_grant(loop) -> None:
    sim, repo = loop.bed.sim, loop.bed.repo
    sim.set_delivery_mode("hold")
    name = request_name()
    number = open_request_pr(sim, repo, name)
    sim.review(repo, number, "bob", "APPROVE")
    sim.merge(repo, number, actor="root")
    held = sim.held_deliveries()
    assert [d.event for d in held].count("pull_request") >= 2
    sim.release_held("reverse")  # closed before opened
    loop.settle()
    assert loop.crs.get(cr_name(name)) is not None


def test_dropped_merge_delivery_is_recovered_by_the_push_triggered_reconcile(loop) -> None:
    sim, repo = loop.bed.sim, loop.bed.repo
    name = request_name()
    number = open_request_pr(sim, repo, name)
    sim.review(repo, number, "bob", "APPROVE")
    loop.settle()
    sim.drop_next(1, event="pull_request")  # the pull_request.closed delivery is lost
    sim.merge(repo, number, actor="root")
    loop.settle()
    # The push to main still arrived: the receiver's reconcile finds the merged file without a
    # CR and runs the full verification.
    wait_for(lambda: loop.crs.get(cr_name(name)), 30, "the reconcile to grant")
    cr = harness.raw_cr(loop.crs.api_client, cr_name(name), loop.janus_ns)
    assert cr["spec"]["provenance"]["pullRequest"] == number
    wait_for(lambda: loop.bed.counters.get("reconcile_grants_total") == 1, 10,
             "the reconcile to count its grant")


def test_dropped_delivery_of_a_refused_merge_stays_refused(loop) -> None:
    sim, repo = loop.bed.sim, loop.bed.repo
    name = request_name()
    number = open_request_pr(sim, repo, name)
    sim.review(repo, number, "dave", "APPROVE")  # not an owner
    sim.drop_next(1, event="pull_request")
    sim.merge(repo, number, actor="root")
    loop.settle()
    wait_for(lambda: any("`approvals`" in b for b in _comments(loop, number)), 30,
             "the refusal comment from the reconcile")
    loop.receiver.reconciler.run()  # and again: still nothing, no second comment
    assert loop.crs.get(cr_name(name)) is None
    assert sum("nothing granted" in b for b in _comments(loop, number)) == 1
