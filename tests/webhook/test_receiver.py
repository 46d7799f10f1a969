"""The receiver's front door: signature, limits, content types, ping, dedupe, persistence."""

from __future__ import annotations

import json
from pathlib import Path
from urllib.parse import urlencode

import pytest
from fastapi.testclient import TestClient

from janus.gitops.metrics import Counters
from janus.webhook.app import create_app, metrics_app
from janus.webhook.signature import sign, signature_valid
from janus.webhook.store import DeliveryStore

SECRET = b"It's a Secret to Everybody"


def test_signature_matches_githubs_documented_vector() -> None:
    header = "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17"
    assert sign(SECRET, b"Hello, World!") == header
    assert signature_valid(SECRET, b"Hello, World!", header)


@pytest.mark.parametrize("header", [
    None, "", "sha256=", "sha1=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17",
    "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e18",
    "sha256=ÿÿ", "SHA256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17",
])
def test_signature_rejects_missing_or_wrong(header: str | None) -> None:
    assert not signature_valid(SECRET, b"Hello, World!", header)


def test_signature_is_over_the_exact_bytes() -> None:
    body = b'{"a": 1}'
    assert not signature_valid(SECRET, b'{"a":1}', sign(SECRET, body))


@pytest.fixture
def store(tmp_path: Path) -> DeliveryStore:
    return DeliveryStore(tmp_path / "deliveries.sqlite")


@pytest.fixture
def counters() -> Counters:
    return Counters()


@pytest.fixture
def client(store: DeliveryStore, counters: Counters) -> TestClient:
    return TestClient(create_app(SECRET, store, max_body=4096, counters=counters))


def _post(client: TestClient, payload: dict, *, event: str = "pull_request",
          delivery: str = "d-1", secret: bytes | None = SECRET, form: bool = False,
          content_type: str | None = None, signature: str | None = None):
    if form:
        body = urlencode({"payload": json.dumps(payload)}).encode()
        ctype = "application/x-www-form-urlencoded"
    else:
        body = json.dumps(payload).encode()
        ctype = "application/json"
    headers = {"Content-Type": content_type or ctype, "X-GitHub-Event": event,
               "X-GitHub-Delivery": delivery}
    if signature is not None:
        headers["X-Hub-Signature-256"] = signature
    elif secret is not None:
        headers["X-Hub-Signature-256"] = sign(secret, body)
    return client.post("/webhooks/github", content=body, headers=headers)


OPENED = {"action": "opened", "number": 1,
          "repository": {"id": 1296269, "full_name": "acme/access"}}


def test_signed_delivery_is_stored_and_acknowledged(client, store) -> None:
    response = _post(client, OPENED)
    assert response.status_code == 202
    delivery = store.claim()
    assert delivery is not None
    assert (delivery.id, delivery.event, delivery.action) == ("d-1", "pull_request", "opened")
    assert json.loads(delivery.body) == OPENED


@pytest.mark.parametrize("secret,signature", [
    (None, None), (b"wrong secret", None), (SECRET, "sha256=" + "0" * 64),
])
def test_unsigned_or_wrongly_signed_delivery_is_401_and_leaves_nothing(
    client, store, counters, secret, signature
) -> None:
    response = _post(client, OPENED, secret=secret, signature=signature)
    assert response.status_code == 401
    assert store.counts() == {}
    assert counters.get("webhook_deliveries_total", outcome="bad_signature") == 1


def test_replayed_delivery_is_acknowledged_once_and_stored_once(client, store, counters) -> None:
    assert _post(client, OPENED).json() == {"accepted": "d-1"}
    assert _post(client, OPENED).json() == {"duplicate": "d-1"}
    assert store.counts() == {"pending": 1}
    assert counters.get("webhook_deliveries_total", outcome="duplicate") == 1


def test_form_encoded_delivery_is_accepted(client, store) -> None:
    assert _post(client, OPENED, form=True).status_code == 202
    delivery = store.claim()
    assert delivery is not None and json.loads(delivery.body) == OPENED


def test_other_content_types_are_415(client, store) -> None:
    response = _post(client, OPENED, content_type="text/plain")
    assert response.status_code == 415
    assert store.counts() == {}


def test_oversized_body_is_413_before_anything_else(client, store) -> None:
    response = _post(client, {"action": "opened", "padding": "x" * 5000})
    assert response.status_code == 413
    assert store.counts() == {}


def test_ping_is_200_and_not_queued(client, store) -> None:
    response = _post(client, {"zen": "Keep it logically awesome.", "hook_id": 7}, event="ping")
    assert response.status_code == 200
    assert store.counts() == {}


def test_unknown_event_or_action_is_acknowledged_but_not_queued(client, store) -> None:
    assert _post(client, {"action": "labeled"}, delivery="a").status_code == 202
    assert _post(client, {"action": "created"}, event="star", delivery="b").status_code == 202
    assert store.counts() == {}


def test_signed_but_malformed_body_is_400(client, store) -> None:
    body = b"[1, 2]"
    response = client.post("/webhooks/github", content=body, headers={
        "Content-Type": "application/json", "X-GitHub-Event": "push",
        "X-GitHub-Delivery": "x", "X-Hub-Signature-256": sign(SECRET, body)})
    assert response.status_code == 400
    assert store.counts() == {}


def test_store_survives_a_restart_and_requeues_claimed_work(tmp_path: Path) -> None:
    path = tmp_path / "d.sqlite"
    first = DeliveryStore(path)
    assert first.add("d-9", "push", None, b"{}")
    assert first.claim() is not None  # claimed, then the process "dies"
    first.close()
    second = DeliveryStore(path)
    assert not second.add("d-9", "push", None, b"{}")  # still a duplicate after restart
    again = second.claim()
    assert again is not None and again.id == "d-9" and again.attempts == 2


def test_metrics_endpoint_renders_counters(client, counters: Counters) -> None:
    _post(client, OPENED)
    assert client.get("/metrics").status_code == 404  # never on the public app
    text = TestClient(metrics_app(counters)).get("/metrics").text
    assert 'janus_webhook_deliveries_total{outcome="accepted"} 1' in text


def test_the_fast_path_answers_exactly_as_fastapis_route(tmp_path: Path) -> None:
    """``POST /webhooks/github`` skips FastAPI's stack (``_ReceiverApp``); the same requests
    through FastAPI's own route get the same statuses, bodies and stored rows."""
    answers = {}
    for fast in (True, False):
        store = DeliveryStore(tmp_path / f"{fast}.sqlite")
        app = create_app(SECRET, store, max_body=4096, counters=Counters())
        if not fast:
            app.receiver = None  # type: ignore[attr-defined]
        through_fastapi: list[str] = []

        @app.middleware("http")
        async def seen(request, call_next, through_fastapi=through_fastapi):  # type: ignore[no-untyped-def]
            through_fastapi.append(f"{request.method} {request.url.path}")
            return await call_next(request)

        client = TestClient(app, raise_server_exceptions=False)
        responses = [
            _post(client, OPENED),
            _post(client, OPENED),  # a redelivery
            _post(client, OPENED, delivery="d-2", form=True),
            _post(client, OPENED, delivery="d-3", secret=b"wrong"),
            _post(client, OPENED, delivery="d-4", content_type="text/plain"),
            _post(client, {"action": "opened", "padding": "x" * 5000}, delivery="d-5"),
            _post(client, {"zen": "hi", "hook_id": 1}, event="ping", delivery="d-6"),
            _post(client, {**OPENED, "action": "labeled"}, delivery="d-7"),
            _post(client, {"action": "opened"}, delivery="d-8"),
            _post(client, OPENED, delivery=""),
            client.get("/webhooks/github"),
            client.post("/webhooks/gitlab", content=b"{}"),
        ]
        store.close()
        answers[fast] = [(r.status_code, r.text) for r in responses]
        posts = through_fastapi.count("POST /webhooks/github")
        assert posts == (0 if fast else 10), through_fastapi
    assert answers[True] == answers[False]
    assert [status for status, _ in answers[True]] == [
        202, 202, 202, 401, 415, 413, 200, 202, 400, 400, 405, 404]


def test_a_store_failure_is_a_500_on_the_fast_path(tmp_path: Path) -> None:
    store = DeliveryStore(tmp_path / "deliveries.sqlite")
    client = TestClient(create_app(SECRET, store, counters=Counters()),
                        raise_server_exceptions=False)
    store.close()  # every write now raises
    response = _post(client, OPENED)
    assert (response.status_code, response.text) == (500, "Internal Server Error")
