"""Webhook deliveries: signatures, headers, and the delivery controls tests rely on."""

from __future__ import annotations

import hashlib
import hmac
import json
import time
import uuid

from janus.dev.github_sim import GitHubSimulator, sign_sha256, verify_sha256

from .conftest import SECRET, Scene, github
from .receiver import Receiver


def test_signature_matches_the_github_docs_vector() -> None:
    expected = "757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17"
    assert sign_sha256("It's a Secret to Everybody", b"Hello, World!") == f"sha256={expected}"
    assert verify_sha256("It's a Secret to Everybody", b"Hello, World!", f"sha256={expected}")
    assert not verify_sha256("wrong", b"Hello, World!", f"sha256={expected}")
    assert not verify_sha256("It's a Secret to Everybody", b"Hello, World!", None)


def test_every_delivery_is_signed_over_the_raw_body(scene: Scene) -> None:
    scene.sim.push(scene.repo, "b", {"a.txt": "1"}, author="alice", message="m")
    assert scene.receiver.received, "ping and push were delivered"
    first = scene.receiver.received[0]
    assert first.event == "ping" and first.json["hook_id"] == scene.hook_id
    for item in scene.receiver.received:
        h = item.headers
        mac = hmac.new(SECRET.encode(), item.body, hashlib.sha256).hexdigest()
        assert h["X-Hub-Signature-256"] == f"sha256={mac}"
        assert h["X-Hub-Signature"].startswith("sha1=")
        assert h["User-Agent"].startswith("GitHub-Hookshot/")
        assert h["Content-Type"] == "application/json"
        assert h["X-GitHub-Hook-ID"] == str(scene.hook_id)
        assert uuid.UUID(h["X-GitHub-Delivery"])
    push = scene.receiver.received[-1]
    assert push.event == "push" and push.json["ref"] == "refs/heads/b"
    assert push.json["created"] is True and push.json["commits"][0]["added"] == ["a.txt"]


def test_hook_without_secret_is_unsigned(sim: GitHubSimulator, receiver: Receiver) -> None:
    sim.add_user("o")
    repo = sim.create_repo("o", "r", files={"x": "1"})
    sim.add_webhook(repo, receiver.url, None, ["push"])
    assert "X-Hub-Signature-256" not in receiver.received[0].headers


def test_events_filter(sim: GitHubSimulator, receiver: Receiver) -> None:
    sim.add_user("o")
    repo = sim.create_repo("o", "r", files={"x": "1"})
    sim.add_webhook(repo, receiver.url, "s", ["pull_request"])
    sim.push(repo, "b", {"y": "2"}, author="o", message="m")
    sim.create_pull(repo, "b", "t", author="o")
    assert receiver.events() == [("ping", None), ("pull_request", "opened")]


def test_hold_reorder_drop_duplicate_and_redeliver(scene: Scene) -> None:
    sim, rx = scene.sim, scene.receiver
    rx.received.clear()
    sim.set_delivery_mode("hold")
    sim.push(scene.repo, "b1", {"a": "1"}, author="alice", message="one")
    sim.push(scene.repo, "b2", {"b": "2"}, author="alice", message="two")
    assert rx.received == [] and len(sim.held_deliveries()) == 2
    released = sim.release_held("reverse")
    assert [r.json["ref"] for r in rx.received] == ["refs/heads/b2", "refs/heads/b1"]
    assert [d.state for d in released] == ["delivered", "delivered"]

    sim.set_delivery_mode("sync")
    rx.received.clear()
    sim.drop_next(1, event="push")
    sim.push(scene.repo, "b3", {"c": "3"}, author="alice", message="three")
    assert rx.received == []
    assert sim.deliveries[-1].state == "dropped"

    sim.duplicate_next(1)
    sim.push(scene.repo, "b4", {"d": "4"}, author="alice", message="four")
    guids = [r.headers["X-GitHub-Delivery"] for r in rx.received]
    assert len(guids) == 2 and guids[0] == guids[1]

    dropped = next(d for d in sim.deliveries if d.state == "dropped")
    again = sim.redeliver(dropped.guid)
    assert again.redelivery and again.guid == dropped.guid and again.id != dropped.id
    assert rx.received[-1].headers["X-GitHub-Delivery"] == dropped.guid
    assert rx.received[-1].json["ref"] == "refs/heads/b3"
    by_id = sim.redeliver(dropped.id)  # the numeric REST id works too
    assert by_id.guid == dropped.guid and len(rx.received) == 4


def test_failed_delivery_is_logged_not_retried(scene: Scene) -> None:
    scene.receiver.status = 500
    scene.sim.push(scene.repo, "b", {"a": "1"}, author="alice", message="m")
    last = scene.sim.deliveries[-1]
    assert last.state == "failed" and last.status_code == 500 and len(last.attempts) == 1
    repo = scene.repo_as("root")
    items = list(repo.get_hook_deliveries(scene.hook_id))
    assert items[0].status_code == 500 and items[0].event == "push"
    detail = repo.get_hook_delivery(scene.hook_id, items[0].id)
    assert detail.request.payload["ref"] == "refs/heads/b"


def test_background_mode_and_callbacks_into_the_simulator(scene: Scene) -> None:
    # A receiver that reads the PR back from the API while handling the delivery, as Janus
    # does: the simulator must not hold its lock while delivering.
    seen: list[str] = []

    def on_request(item) -> None:
        if item.event == "pull_request":
            pr = scene.repo_as("bob").get_pull(item.json["number"])
            seen.append(pr.head.sha)

    scene.receiver.on_request = on_request
    for mode in ("sync", "background"):
        scene.sim.set_delivery_mode(mode)
        branch = f"cb-{mode}"
        scene.sim.push(scene.repo, branch, {f"{mode}.txt": "x"}, author="alice", message="m")
        number = scene.sim.create_pull(scene.repo, branch, "t", author="alice")
        assert scene.sim.wait_for_deliveries(10)
        assert seen[-1] == scene.sim.pull(scene.repo, number)["head"]["sha"]


def test_rest_redelivery_keeps_the_guid(scene: Scene) -> None:
    gh = github(scene.sim, scene.sim.token("root"))
    repo = gh.get_repo(scene.repo)
    first = list(repo.get_hook_deliveries(scene.hook_id))[-1]  # the ping
    gh.requester.requestJsonAndCheck(
        "POST", f"{repo.url}/hooks/{scene.hook_id}/deliveries/{first.id}/attempts")
    scene.sim.wait_for_deliveries()
    for _ in range(100):
        if len(scene.receiver.received) >= 2:
            break
        time.sleep(0.02)
    assert [r.headers["X-GitHub-Delivery"] for r in scene.receiver.received] == [first.guid] * 2
    assert json.loads(scene.receiver.received[1].body)["zen"]


def test_app_webhook_carries_the_installation(sim: GitHubSimulator, receiver: Receiver) -> None:
    sim.add_user("o")
    repo = sim.create_repo("o", "r", files={"x": "1"})
    other = sim.create_repo("o", "elsewhere", files={"x": "1"})
    app_id, key = sim.create_app("janus-app", owner="o", webhook_url=receiver.url,
                                 webhook_secret="s3")
    inst = sim.install_app(app_id, repo)
    sim.push(repo, "b", {"y": "2"}, author="o", message="m")
    sim.push(other, "b", {"y": "2"}, author="o", message="m")  # not installed there
    sim.create_pull(repo, "b", "t", author="o")
    assert receiver.events() == [("push", None), ("check_suite", "requested"),
                                 ("pull_request", "opened")]
    for item in receiver.received:
        assert item.json["installation"]["id"] == inst
        assert item.headers["X-GitHub-Hook-Installation-Target-Type"] == "integration"
        assert item.headers["X-GitHub-Hook-Installation-Target-ID"] == str(app_id)
        assert verify_sha256("s3", item.body, item.headers["X-Hub-Signature-256"])
    from github import Auth, GithubIntegration

    integration = GithubIntegration(auth=Auth.AppAuth(app_id, key), base_url=sim.base_url)
    _, listed = integration.requester.requestJsonAndCheck("GET", "/app/hook/deliveries")
    assert [d["event"] for d in listed] == ["pull_request", "check_suite", "push"]
    assert listed[0]["installation_id"] == inst


def test_check_suite_requested_and_rerequests_go_to_the_app(
        sim: GitHubSimulator, receiver: Receiver) -> None:
    repo_hook = Receiver().start()
    try:
        sim.add_user("o")
        repo = sim.create_repo("o", "r", files={"x": "1"})
        sim.add_webhook(repo, repo_hook.url, "s", ["*"])
        app_id, _ = sim.create_app("janus-app", owner="o", webhook_url=receiver.url,
                                   webhook_secret="s3")
        inst = sim.install_app(app_id, repo)
        head = sim.push(repo, "b", {"y": "2"}, author="o", message="m")
        requested = [r.json for r in receiver.received if r.event == "check_suite"]
        assert [(p["action"], p["check_suite"]["head_sha"]) for p in requested] == [
            ("requested", head)]
        suite_id = requested[0]["check_suite"]["id"]

        bot = sim.client(token=sim.installation_token(inst)).get_repo(repo)
        run = bot.create_check_run("janus-policy", head, conclusion="failure",
                                   output={"title": "denied", "summary": "no policy"})
        assert run.raw_data["check_suite"]["id"] == suite_id
        suite = bot.get_check_suite(suite_id)
        assert suite.conclusion == "failure" and suite.latest_check_runs_count == 1
        owner = sim.client("o")
        owner.requester.requestJsonAndCheck("POST", f"/repos/{repo}/check-runs/{run.id}/rerequest")
        suite.rerequest()
        app_events = [(r.event, r.json.get("action")) for r in receiver.received]
        assert ("check_run", "rerequested") in app_events
        assert ("check_suite", "rerequested") in app_events
        repo_events = [(r.event, r.json.get("action")) for r in repo_hook.received]
        assert ("check_suite", "completed") in repo_events
        assert not any(a in ("requested", "rerequested") for _, a in repo_events)
    finally:
        repo_hook.stop()
