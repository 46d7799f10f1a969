"""The chart's notifications: off by default; with ``webhook.notifications.existingSecret`` the
receiver gets ``--notifications`` and the Secret mounted read-only (the file and the secrets it
names), and nothing of it on the command line."""

from __future__ import annotations

from typing import Any

from tests.helm.chart import NAMESPACE, PRODUCTION_VALUES, find, render


def _webhook_pod(docs: list[dict[str, Any]]) -> dict[str, Any]:
    return find(docs, "Deployment", "janus-webhook", NAMESPACE)["spec"]["template"]["spec"]


def test_notifications_off_by_default() -> None:
    pod = _webhook_pod(render(PRODUCTION_VALUES))
    assert not any(a.startswith("--notifications") for a in pod["containers"][0]["args"])
    assert "notifications" not in {v["name"] for v in pod["volumes"]}


def test_notifications_secret_is_mounted_and_passed() -> None:
    pod = _webhook_pod(render(PRODUCTION_VALUES, sets=(
        "webhook.notifications.existingSecret=janus-notifications",
        "webhook.notifications.configKey=notify.yaml")))
    container = pod["containers"][0]
    assert "--notifications=/etc/janus/notifications/notify.yaml" in container["args"]
    assert {"name": "notifications", "mountPath": "/etc/janus/notifications",
            "readOnly": True} in container["volumeMounts"]
    [volume] = [v for v in pod["volumes"] if v["name"] == "notifications"]
    assert volume["secret"] == {"secretName": "janus-notifications", "defaultMode": 0o440}
