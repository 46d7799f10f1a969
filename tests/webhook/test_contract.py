"""The published delivery contract (webhooks/): schemas equal the shipped ones, the example
deliveries (captured from the GitHub simulator, whose deliveries are checked against GitHub's
official webhook schemas) satisfy them and are accepted by the receiver; a signed delivery
lacking a field Janus reads is refused before it is stored."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from janus.webhook.app import create_app
from janus.webhook.contract import EVENTS, contract_errors
from janus.webhook.signature import sign
from janus.webhook.store import DeliveryStore

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = sorted((ROOT / "webhooks" / "examples").glob("*.json"))
SECRET = b"example-secret-0123456789"


def test_published_schemas_are_the_shipped_ones() -> None:
    for event in EVENTS:
        published = ROOT / "webhooks" / "schemas" / f"{event}.schema.json"
        shipped = ROOT / "janus" / "webhook" / "schemas" / f"{event}.schema.json"
        assert published.read_text() == shipped.read_text(), event


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.stem)
def test_example_satisfies_the_contract_and_is_acknowledged(path: Path, tmp_path: Path) -> None:
    example = json.loads(path.read_text())
    event = example["headers"]["X-GitHub-Event"]
    assert contract_errors(event, example["payload"]) == []
    store = DeliveryStore(tmp_path / "d.sqlite")
    client = TestClient(create_app(SECRET, store))
    body = json.dumps(example["payload"]).encode()
    headers = {**example["headers"], "X-Hub-Signature-256": sign(SECRET, body)}
    response = client.post("/webhooks/github", content=body, headers=headers)
    assert response.status_code == (200 if event == "ping" else 202)


def test_signed_delivery_missing_what_janus_reads_is_400(tmp_path: Path) -> None:
    store = DeliveryStore(tmp_path / "d.sqlite")
    client = TestClient(create_app(SECRET, store))
    body = json.dumps({"action": "closed", "repository": {"full_name": "acme/access"}}).encode()
    response = client.post("/webhooks/github", content=body, headers={
        "Content-Type": "application/json", "X-GitHub-Event": "pull_request",
        "X-GitHub-Delivery": "d-x", "X-Hub-Signature-256": sign(SECRET, body)})
    assert response.status_code == 400 and "number" in response.json()["error"]
    assert store.counts() == {}


def _simulated_check_run_rerequested() -> dict:
    """A ``check_run.rerequested`` payload as the GitHub simulator builds it (its deliveries
    are validated against GitHub's official webhook schemas in tests/github_sim)."""
    from janus.dev.github_sim import GitHubSimulator

    with GitHubSimulator.start() as sim:
        sim.add_user("alice")
        sim.add_org("acme", admins=["alice"])
        repo = sim.create_repo("acme", "access", files={"README.md": "x\n"})
        app_id, _ = sim.create_app("janus-app", owner="acme")
        sim.install_app(app_id, repo)
        sha = sim.push(repo, "req", {"requests/a.yaml": "a: 1\n"}, author="alice",
                       message="r")
        with sim.world.lock:
            r = sim.world.repo(repo)
            run = sim.world.create_check_run(r, {
                "name": "janus/policy", "head_sha": sha, "conclusion": "success",
                "output": {"title": "t", "summary": "s"}}, sim.bot_login(app_id))
            assert sim.world.payloads is not None
            return sim.world.payloads.check_run(r, run, "rerequested", "alice")


def test_check_run_delivery_without_the_optional_check_suite_pull_requests_is_accepted(
        tmp_path: Path) -> None:
    """GitHub's schema makes ``check_run.check_suite.pull_requests`` optional; the contract
    once required it, so a valid delivery got 400. Janus reads ``check_run.pull_requests``."""
    from janus.dev.github_sim.contract import WebhookContract

    payload = _simulated_check_run_rerequested()
    del payload["check_run"]["check_suite"]["pull_requests"]
    assert WebhookContract.load().check("check_run", payload) == []  # valid for GitHub
    assert contract_errors("check_run", payload) == []
    store = DeliveryStore(tmp_path / "d.sqlite")
    client = TestClient(create_app(SECRET, store))
    body = json.dumps(payload).encode()
    response = client.post("/webhooks/github", content=body, headers={
        "Content-Type": "application/json", "X-GitHub-Event": "check_run",
        "X-GitHub-Delivery": "d-cr", "X-Hub-Signature-256": sign(SECRET, body)})
    assert response.status_code == 202, response.json()
