"""The web app reports terminal sessions for the ledger (issue 10, docs/design.md §11): a session
opened and closed through the real web app (uvicorn, real websocket, the real API server and kwok
exec, the web identity with the chart's RBAC) leaves a TerminalSession with the right fields, the
recording's size and SHA-256 as stored, and no token. The web identity can create such reports
and write their status, and nothing more: not read, list, edit or delete them, and not create
AccessRequests (403)."""

from __future__ import annotations

import asyncio
import base64
import datetime as dt
import json
import time
from pathlib import Path
from typing import Any

import pytest
import yaml
from kubernetes import client, config

from janus import names, resource
from janus.dev.controlplane import LocalCluster
from janus.resource import sessions
from tests.web.terminal.support import Terminal

pytestmark = pytest.mark.k8s_real


def _reports(cluster: LocalCluster, cr_name: str) -> list[dict[str, Any]]:
    return client.CustomObjectsApi(cluster.admin_client()).list_namespaced_custom_object(
        resource.GROUP, resource.VERSION, names.JANUS_NAMESPACE, sessions.PLURAL,
        label_selector=f"{names.LABEL_REQUEST}={cr_name}")["items"]


def _token(cluster: LocalCluster, secret: str) -> str:
    obj = client.CoreV1Api(cluster.admin_client()).read_namespaced_secret(
        secret, names.TOKENS_NAMESPACE)
    return base64.b64decode(obj.data["token"]).decode()


def test_a_session_through_the_web_app_is_reported_with_its_recording_digest(
        replicas, make_grant, cluster: LocalCluster) -> None:
    grant = make_grant()
    replica = replicas[0]

    async def scenario() -> int:
        term = await Terminal.open(replica, grant.cr_name, "alice")
        connected = await term.wait_control("connected")
        reports = _reports(cluster, grant.cr_name)
        # Reported at open: who, where, when; no status yet.
        assert len(reports) == 1 and "status" not in reports[0]
        await term.type("echo reported-$((6*7))\n")
        await term.wait_output(r"reported-42")
        await term.close()
        return int(connected["session"])

    session_id = asyncio.run(scenario())
    deadline = time.monotonic() + 15
    report: dict[str, Any] = {}
    while time.monotonic() < deadline:
        [report] = _reports(cluster, grant.cr_name)
        if (report.get("status") or {}).get("closedAt"):
            break
        time.sleep(0.1)
    spec, status = report["spec"], report["status"]
    assert spec["accessRequest"] == grant.cr_name and spec["sessionId"] == str(session_id)
    assert (spec["user"], spec["namespace"], spec["pod"], spec["container"]) == (
        "alice", grant.namespace, "target", "app")
    assert spec["cluster"] and spec["openedAt"] <= status["closedAt"]
    assert status["closeReason"] == "client-closed"
    assert status["bytesIn"] > 0 and status["bytesOut"] > 0
    row = replica.app.state.terminal.store.get(session_id)
    assert row is not None
    assert status["recording"] == {"size": row.recording_bytes, "sha256": row.recording_sha256}
    assert report["metadata"]["labels"][names.LABEL_REQUEST] == grant.cr_name
    # No token anywhere in it (nor the Secret's name, which is all the web app reads it by).
    text = json.dumps(report)
    assert _token(cluster, grant.secret) not in text
    assert set(report) == {"apiVersion", "kind", "metadata", "spec", "status"}
    # The receiver's reading side sees it as the ledger will hold it.
    [record] = sessions.TerminalSessions(cluster.admin_client()).sessions_of(grant.cr_name)
    held = record.to_ledger()
    assert (held.id, held.user, held.pod, held.close_reason) == (
        str(session_id), "alice", "target", "client-closed")
    assert held.recording is not None and held.recording.sha256 == row.recording_sha256


def _as_web(web_kube: Path) -> client.CustomObjectsApi:
    api = config.new_client_from_config_dict(yaml.safe_load(web_kube.read_text()))
    return client.CustomObjectsApi(api)


def _status_of(call: Any) -> int:
    try:
        call()
    except client.ApiException as exc:
        return int(exc.status)
    return 200


def test_the_web_identity_reports_sessions_and_can_do_nothing_else(
        web_kube: Path, make_grant, cluster: LocalCluster) -> None:
    grant = make_grant()
    web = _as_web(web_kube)
    args = (resource.GROUP, resource.VERSION, names.JANUS_NAMESPACE, sessions.PLURAL)
    body = sessions.opened_body(
        name=sessions.session_name(grant.cr_name, "900", "abcdef"),
        namespace=names.JANUS_NAMESPACE, access_request=grant.cr_name, ledger_entry="",
        session_id="900", user="alice", cluster="prod", target_namespace=grant.namespace,
        pod="target", container="app", opened_at=dt.datetime.now(dt.UTC))
    name = body["metadata"]["name"]
    assert _status_of(lambda: web.create_namespaced_custom_object(*args, body)) == 200
    closing = sessions.closed_status(closed_at=dt.datetime.now(dt.UTC), reason="exited",
                                     bytes_in=1, bytes_out=2, recording_size=3,
                                     recording_sha256="c" * 64)
    # Someone else's session (made by an admin): the web identity may not read or change
    # anything in it but its closing status (its RBAC is create + status patch, nothing else).
    other = {**body, "metadata": {**body["metadata"],
                                  "name": sessions.session_name(grant.cr_name, "901", "abcdef")}}
    other["spec"] = {**body["spec"], "sessionId": "901"}
    client.CustomObjectsApi(cluster.admin_client()).create_namespaced_custom_object(*args, other)
    other_name = other["metadata"]["name"]
    forbidden = {
        "get": lambda: web.get_namespaced_custom_object(*args, other_name),
        "list": lambda: web.list_namespaced_custom_object(*args),
        "edit spec": lambda: web.patch_namespaced_custom_object(
            *args, other_name, {"spec": {"user": "mallory"}}),
        "delete": lambda: web.delete_namespaced_custom_object(*args, other_name),
        "delete own": lambda: web.delete_namespaced_custom_object(*args, name),
        "create AccessRequest": lambda: web.create_namespaced_custom_object(
            resource.GROUP, resource.VERSION, names.JANUS_NAMESPACE, resource.PLURAL,
            {"apiVersion": resource.API_VERSION, "kind": resource.KIND,
             "metadata": {"name": f"{grant.cr_name[:50]}-web"},
             "spec": {"requestName": "x", "requester": "alice", "cluster": "prod",
                      "namespace": grant.namespace, "role": "pod-exec", "duration": "1h",
                      "reason": "web made this"}}),
        "delete AccessRequest": lambda: web.delete_namespaced_custom_object(
            resource.GROUP, resource.VERSION, names.JANUS_NAMESPACE, resource.PLURAL,
            grant.cr_name),
    }
    assert {what: _status_of(call) for what, call in forbidden.items()} == {
        what: 403 for what in forbidden}
    # Its own closing report, once; a second one is refused by the CRD (final once closed).
    assert _status_of(lambda: web.patch_namespaced_custom_object_status(
        *args, name, closing, _content_type="application/merge-patch+json")) == 200
    again = {"status": {**closing["status"], "bytesOut": 999}}
    assert _status_of(lambda: web.patch_namespaced_custom_object_status(
        *args, name, again, _content_type="application/merge-patch+json")) == 422
