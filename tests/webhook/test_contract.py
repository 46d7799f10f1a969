"""The published delivery contract (webhooks/): schemas equal the shipped ones, the example
deliveries (captured from the GitHub simulator, whose deliveries are checked against GitHub's
official webhook schemas) satisfy them and are accepted by the receiver; a signed delivery
lacking a field Janus reads is refused before it is stored."""

from __future__ import annotations

import json
from pathlib import Path

import fastjsonschema
import pytest
from fastapi.testclient import TestClient

from janus.webhook.app import create_app
from janus.webhook.contract import EVENTS, compiled, contract_errors, validator
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


# The contract check is compiled (fastjsonschema) with jsonschema as the judge of anything it
# refuses. These tests hold the compiled path to jsonschema's verdicts and words, as the check
# gave them before it was compiled: the same refusals with the same messages, and nothing
# accepted that jsonschema refuses, nor refused that it accepts.

def _jsonschema_errors(event: str, payload: object) -> list[str]:
    """The contract check as it was before it was compiled: jsonschema alone."""
    check = validator(event)
    assert check is not None
    return [f"{'/'.join(map(str, e.absolute_path)) or '(root)'}: {e.message}"
            for e in sorted(check.iter_errors(payload), key=lambda e: list(e.absolute_path))]


HOSTILE = [None, True, False, 0, -1, 1, 1.0, 1.5, 2**70, float("inf"), float("nan"), "", "x",
           "acme/access", "acme/access\n", "a/b/c", "0" * 40, "0" * 40 + "\n", "A" * 40,
           "created", "rerequested", "submitted", [], [{}], [{"number": 0}], [{"number": 1}],
           [{"number": True}], {}, {"number": 1}]


def _mutations(schema: dict, payload: object, path: tuple = ()):
    """*payload* with each value the schema constrains replaced by each hostile value, and
    each such key removed (the path mutated, the payload)."""
    for value in HOSTILE:
        yield path, value
    if isinstance(payload, dict):
        for key, sub in schema.get("properties", {}).items():
            if key in payload:
                without = {k: v for k, v in payload.items() if k != key}
                yield (*path, key, "(removed)"), without
                for where, mutated in _mutations(sub, payload[key], (*path, key)):
                    yield where, {**payload, key: mutated}
    if isinstance(payload, list) and "items" in schema:
        for i, item in enumerate(payload):
            for where, mutated in _mutations(schema["items"], item, (*path, i)):
                yield where, [*payload[:i], mutated, *payload[i + 1:]]


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.stem)
def test_compiled_check_gives_jsonschemas_verdicts_and_words(path: Path) -> None:
    example = json.loads(path.read_text())
    event = example["headers"]["X-GitHub-Event"]
    assert compiled(event) is not None  # the compiled path is the one under test
    check = validator(event)
    assert check is not None
    seen = refused = 0
    for where, mutated in _mutations(dict(check.schema), example["payload"]):
        expected = _jsonschema_errors(event, mutated)
        assert contract_errors(event, mutated) == expected, (where, mutated)
        seen, refused = seen + 1, refused + bool(expected)
    assert refused and refused < seen  # both verdicts were exercised


def test_check_run_compiled_check_gives_jsonschemas_verdicts_and_words() -> None:
    """No example delivery is a check_run: the simulator's is mutated instead."""
    check = validator("check_run")
    assert check is not None and compiled("check_run") is not None
    payload = _simulated_check_run_rerequested()
    for where, mutated in _mutations(dict(check.schema), payload):
        assert contract_errors("check_run", mutated) == _jsonschema_errors(
            "check_run", mutated), (where, mutated)


def _post(client: TestClient, event: str, payload: dict, delivery: str):
    body = json.dumps(payload).encode()
    return client.post("/webhooks/github", content=body, headers={
        "Content-Type": "application/json", "X-GitHub-Event": event,
        "X-GitHub-Delivery": delivery, "X-Hub-Signature-256": sign(SECRET, body)})


def test_refusal_answer_is_worded_as_before(tmp_path: Path) -> None:
    """The exact 400 answer jsonschema's messages gave before the check was compiled."""
    store = DeliveryStore(tmp_path / "d.sqlite")
    client = TestClient(create_app(SECRET, store))
    payload = {"ref": "refs/heads/main",
               "repository": {"id": True, "full_name": "acme/access; rm"}}
    response = _post(client, "push", payload, "d-words")
    assert response.status_code == 400
    assert response.json() == {"error": "the payload lacks fields Janus reads: "
                                         "repository/full_name: 'acme/access; rm' does not "
                                         "match '^[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+$'; "
                                         "repository/id: True is not of type 'integer'"}
    response = _post(client, "push", {"repository": {"full_name": "acme/access"}}, "d-root")
    assert response.status_code == 400
    assert response.json() == {"error": "the payload lacks fields Janus reads: (root): 'ref' "
                                         "is a required property; repository: 'id' is a "
                                         "required property"}
    assert store.counts() == {}


def test_what_jsonschema_accepts_is_still_acknowledged(tmp_path: Path) -> None:
    """The compiled check anchors ``$`` at the very end and so refuses a trailing newline that
    jsonschema's ``re.search`` lets through; jsonschema's verdict stands (202, as before)."""
    payload = {"ref": "refs/heads/main", "repository": {"id": 1.0,
                                                        "full_name": "acme/access\n"}}
    fast = compiled("push")
    assert fast is not None
    with pytest.raises(fastjsonschema.JsonSchemaValueException):
        fast(payload)
    assert contract_errors("push", payload) == []
    store = DeliveryStore(tmp_path / "d.sqlite")
    response = _post(TestClient(create_app(SECRET, store)), "push", payload, "d-nl")
    assert response.status_code == 202, response.json()
