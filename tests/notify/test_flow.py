"""Notifications on the real components: the GitHub simulator delivers signed webhooks to the
real receiver (``janus.webhook.runtime.Receiver``, notifications configured as
``janus webhook --notifications`` does), which writes AccessRequests to the real API server;
the real controller grants and revokes. The notifications land on a signed-webhook receiver and
an SMTP server on loopback.

Request PR opened → the deciding policy's approvers are told; merged → granted (by whom,
approved by whom); ``/janus revoke`` → revoked, with who and why; a merge without approval →
refused, naming the step. Every payload is signed, matches the schema, and carries no token.
"""

from __future__ import annotations

import base64
import json
import secrets
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft202012Validator
from kubernetes import client

from janus import names
from janus.dev.github_sim import GitHubSimulator
from janus.gitops.client import connect
from janus.gitops.crs import AccessRequests
from janus.gitops.service import GitOps
from janus.model import load_config_file
from janus.notify import channels
from janus.webhook.runtime import Receiver, ReceiverSettings
from tests.gitops import harness
from tests.gitops.harness import cr_name, open_request_pr, request_name
from tests.integration.controller_env import ControllerProcess, prepare_central, wait_phase
from tests.k8s_helpers import create_namespace, create_pod
from tests.notify.receivers import HttpReceiver, http_receiver, smtp_server, wait_for
from tests.notify.support import SECRET, config

pytestmark = pytest.mark.k8s_real

ROOT = Path(__file__).resolve().parents[2]
SCHEMA = Draft202012Validator(json.loads((ROOT / "janus/notify/event.schema.json").read_text()))


@pytest.fixture(scope="module")
def sim() -> Iterator[tuple[Any, int, str, str]]:
    with GitHubSimulator.start() as s:
        harness.setup_people(s)
        app_id, key = s.create_app("janus-notify")
        yield s, app_id, key, s.bot_login(app_id)


def _events(hook: HttpReceiver, kind: str) -> list[dict[str, Any]]:
    return [r.json() for r in hook.received if r.json()["kind"] == kind]


def test_opened_granted_revoked_and_refused_are_notified(sim, cluster, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    s, app_id, key, bot = sim
    s.set_delivery_mode("sync")
    janus_ns = prepare_central(cluster)
    bed = harness.Bed(s, app_id, key, bot)
    bed.repo = harness.new_repo(s)
    bed.installation_id = s.install_app(app_id, bed.repo)
    api = cluster.admin_client()
    namespace = f"payments-{uuid.uuid4().hex[:6]}"
    create_namespace(api, namespace)
    create_pod(api, namespace)
    with http_receiver() as hook, smtp_server() as (smtp_port, box):
        # Routing: everything about payments namespaces to the signed webhook; the
        # payments-prod policy's events to e-mail (the CR events find the policy recorded
        # with the request's opening).
        notify = config(tmp_path, webhook=hook.url, smtp_port=smtp_port, routes=[
            {"match": {"namespaces": [namespace]}, "channels": ["hook"]},
            {"match": {"policies": ["payments-prod"]}, "channels": ["mail"]},
            # A refused merge is about the PR (no scope is trusted then): routed by its kind.
            {"match": {"events": ["merge.refused", "request.changes_requested"]},
             "channels": ["hook"]}])
        ops = GitOps(connect(bed.settings()), bed.repo, AccessRequests(api, janus_ns),
                     load_config_file(ROOT / "policies" / "janus.yaml"), janus_login=bot,
                     counters=bed.counters)
        secret = secrets.token_hex(20).encode()
        receiver = Receiver(ops, ReceiverSettings(
            secret=secret, db_path=tmp_path / "d.sqlite", port=0, reconcile_interval=0,
            status_watch_seconds=2, notifications=notify))
        receiver.start()
        s.add_webhook(bed.repo, receiver.url, secret.decode(), events=["*"])
        controller = ControllerProcess(tmp_path / "ctl", cluster, janus_ns,
                                       clusters=["prod", "staging"], central_name="prod").start()
        try:
            _flow(s, bed, receiver, api, janus_ns, namespace, hook, box)
        finally:
            controller.stop()
            receiver.stop()


def _settle(s: Any, receiver: Receiver) -> None:
    assert s.wait_for_deliveries(30)
    assert receiver.pool.wait_idle(30)


def _flow(s: Any, bed: harness.Bed, receiver: Receiver, api: Any, janus_ns: str,
          namespace: str, hook: HttpReceiver, box: Any) -> None:
    repo = bed.repo
    name = request_name()
    number = open_request_pr(s, repo, name, namespace=namespace)
    _settle(s, receiver)
    assert wait_for(lambda: len(_events(hook, "request.opened")) == 1, 20)
    [opened] = _events(hook, "request.opened")
    assert opened["audience"] == ["acme/payments-leads"]
    assert opened["request"]["policy"] == "payments-prod"
    assert opened["request"]["requester"] == "alice"
    assert opened["request"]["namespace"] == namespace
    assert opened["links"]["pull"].endswith(f"/pull/{number}")
    # The approvers' team has an address: they get the mail.
    assert wait_for(lambda: any("leads@example.com" in rc for _, rc in box.envelopes), 20)

    # Changes requested: the requester hears it (the review is re-read from the API).
    s.review(repo, number, "carol", "REQUEST_CHANGES", body="say which pod")
    _settle(s, receiver)
    assert wait_for(lambda: len(_events(hook, "request.changes_requested")) == 1, 20)
    [changes] = _events(hook, "request.changes_requested")
    assert (changes["actor"], changes["why"], changes["audience"]) == \
        ("carol", "say which pod", ["alice"])

    s.review(repo, number, "carol", "APPROVE")
    s.review(repo, number, "bob", "APPROVE")
    s.merge(repo, number, actor="root")
    _settle(s, receiver)
    name_cr = cr_name(name, namespace=namespace)
    wait_phase(api, janus_ns, name_cr, "Active", timeout=60)
    assert wait_for(lambda: len(_events(hook, "grant.granted")) == 1, 20)
    [granted] = _events(hook, "grant.granted")
    assert granted["actor"] == "root" and "approved by" in granted["why"]
    assert granted["audience"] == ["alice"] and granted["expiresAt"]
    assert granted["request"]["policy"] == "payments-prod"  # remembered from the opening

    s.comment(repo, number, "alice", "/janus revoke all done")
    _settle(s, receiver)
    wait_phase(api, janus_ns, name_cr, "Revoked", timeout=60)
    assert wait_for(lambda: len(_events(hook, "grant.revoked")) == 1, 20)
    [revoked] = _events(hook, "grant.revoked")
    assert revoked["actor"] == "alice" and "all done" in (revoked["why"] or "")

    # A merge without the required approval: refused, and the requester is told which step.
    other = request_name()
    refused_pr = open_request_pr(s, repo, other, namespace=namespace)
    _settle(s, receiver)
    s.merge(repo, refused_pr, actor="root")
    _settle(s, receiver)
    assert wait_for(lambda: len(_events(hook, "merge.refused")) == 1, 20)
    [refused] = _events(hook, "merge.refused")
    assert refused["step"] and refused["request"]["pullRequest"] == refused_pr

    # Every delivery signed and valid; each event once; never the token.
    token = base64.b64decode(client.CoreV1Api(api).read_namespaced_secret(
        names.token_secret_name(name_cr), names.TOKENS_NAMESPACE).data["token"]).decode() \
        if _secret_exists(api, name_cr) else None
    ids = [r.headers["X-Janus-Event"] for r in hook.received]
    assert len(ids) == len(set(ids))
    for r in hook.received:
        assert channels.verify(SECRET.encode(), r.headers["X-Janus-Timestamp"], r.body,
                               r.headers["X-Janus-Signature"])
        assert list(SCHEMA.iter_errors(r.json())) == []
        assert token is None or token.encode() not in r.body
    for message in box.messages:
        assert token is None or token not in message.as_string()
    # The receiver's metrics count what was sent.
    assert bed.counters.get("notifications_total", channel="webhook", outcome="sent") \
        == len(hook.received)


def _secret_exists(api: Any, name_cr: str) -> bool:
    try:
        client.CoreV1Api(api).read_namespaced_secret(names.token_secret_name(name_cr),
                                                     names.TOKENS_NAMESPACE)
    except client.ApiException:
        return False
    return True
