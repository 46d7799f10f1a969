"""Break-glass through the real receiver (signed deliveries from the simulator, uvicorn on
loopback, the real API server, the ledger): alice's break-glass PR is merged by the Janus App
on its `opened` delivery, the `closed` delivery grants it (labelled break-glass, recorded in the
ledger with no approvers), the reviewers' issue opens, alice's own `/janus ack` is refused and
carol's closes it — every step a webhook, nothing called directly."""

from __future__ import annotations

import base64
import uuid

from github import Auth, Github
from kubernetes import client
from kubernetes.stream import stream

from janus import names
from janus.gitops import break_glass
from tests.browser_support import wait_for
from tests.e2e.test_ledger import main_loop  # noqa: F401
from tests.gitops.harness import cr_name, open_request_pr, request_name, request_path, request_yaml
from tests.integration.controller_env import ControllerProcess, wait_phase
from tests.k8s_helpers import create_namespace, create_pod


def _repo(loop):
    return Github(auth=Auth.Token(loop.sim.token("root")), base_url=loop.sim.base_url,
                  retry=None).get_repo(loop.repo)


def test_break_glass_merged_granted_recorded_reviewed_through_deliveries(main_loop) -> None:  # noqa: F811
    loop = main_loop
    name = request_name()
    text = request_yaml(name, duration="30m").replace("spec:\n", "spec:\n  breakGlass: true\n", 1)
    number = open_request_pr(loop.sim, loop.repo, name, files={request_path(name): text})
    wait_for(lambda: loop.sim.pull(loop.repo, number)["merged"], 60, "Janus merging it")
    pull = loop.sim.pull(loop.repo, number)
    assert pull["merged_by"]["login"] == loop.bed.bot
    cr = wait_for(lambda: loop.crs.get(cr_name(name)), 30, "the break-glass grant")
    assert cr.meta.labels.get(names.LABEL_BREAK_GLASS) == "true"
    entry = loop.wait_entry(loop.entry_path(number, name), lambda e: True, "the ledger entry")
    assert entry.merge.approvers == ()

    def reviews() -> list:
        return [i for i in _repo(loop).get_issues(state="all", labels=[break_glass.LABEL_REVIEW])
                if f"PR #{number}" in i.title]

    [review] = wait_for(reviews, 60, "the review issue")
    assert sorted(a.login for a in review.assignees) == ["bob", "carol", "rita"]

    loop.sim.comment(loop.repo, review.number, "alice", "/janus ack all fine, it was me")
    wait_for(lambda: any("can never acknowledge their own" in c.body
                         for c in _repo(loop).get_issue(review.number).get_comments()),
             60, "the refusal of alice's own ack")
    assert _repo(loop).get_issue(review.number).state == "open"
    loop.sim.comment(loop.repo, review.number, "carol",
                     "/janus ack checked with alice: INC-1234 restart only")
    wait_for(lambda: _repo(loop).get_issue(review.number).state == "closed", 60,
             "carol's ack closing the review")
    # The ledger holds it all once the receiver's writer has run: break-glass via the PR, its
    # review, and carol's acknowledgement (who, what).
    acked = loop.wait_entry(
        loop.entry_path(number, name),
        lambda e: e.break_glass is not None and e.break_glass.acknowledged is not None,
        "the acknowledgement in the ledger")
    bg = acked.break_glass
    assert bg.via == "pull-request" and bg.review_issue == review.number and bg.by is None
    assert bg.acknowledged.by == "carol"
    assert bg.acknowledged.comment == "checked with alice: INC-1234 restart only"


def test_break_glass_grant_goes_active_through_the_real_controller(loop, cluster,
                                                                   tmp_path) -> None:
    """The whole path with the controller: break-glass PR opened → merged by the App → Active
    → the grant's token execs in its namespace, with no approval anywhere."""
    sim, repo = loop.bed.sim, loop.bed.repo
    namespace = f"payments-{uuid.uuid4().hex[:6]}"
    api = cluster.admin_client()
    create_namespace(api, namespace)
    create_pod(api, namespace)
    controller = ControllerProcess(tmp_path / "ctl", cluster, loop.janus_ns,
                                   clusters=["prod", "staging"], central_name="prod").start()
    try:
        name = request_name()
        text = request_yaml(name, namespace=namespace, duration="30m").replace(
            "spec:\n", "spec:\n  breakGlass: true\n", 1)
        number = open_request_pr(sim, repo, name, namespace=namespace,
                                 files={request_path(name, namespace=namespace): text})
        wait_for(lambda: sim.pull(repo, number)["merged"], 60, "Janus merging it")
        assert sim.pull(repo, number)["merged_by"]["login"] == loop.bed.bot
        name_cr = cr_name(name, namespace=namespace)
        cr = wait_phase(api, loop.janus_ns, name_cr, "Active", timeout=60)
        assert cr["spec"]["provenance"]["approvers"] == []
        assert cr["metadata"]["labels"][names.LABEL_BREAK_GLASS] == "true"
        secret = client.CoreV1Api(api).read_namespaced_secret(
            names.token_secret_name(name_cr), names.TOKENS_NAMESPACE)
        token = base64.b64decode(secret.data["token"]).decode()
        output = stream(client.CoreV1Api(cluster.token_client(token))
                        .connect_get_namespaced_pod_exec, "target", namespace, container="app",
                        command=["sh", "-c", "echo via-break-glass"], stderr=True, stdin=False,
                        stdout=True, tty=False)
        assert "via-break-glass" in output
    finally:
        controller.stop()
