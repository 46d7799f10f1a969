"""Several receiver replicas (issue 15 item 1), rendered by the pinned helm: only with a shared
database (webhook.database: a Secret with a PostgreSQL URL, handed over in the environment);
more than one replica on SQLite is refused with a message that says what to set."""

from __future__ import annotations

from typing import Any

from tests.helm.chart import CHART, NAMESPACE, PRODUCTION_VALUES, find, helm, render


def _receiver(docs: list[dict[str, Any]]) -> dict[str, Any]:
    return find(docs, "Deployment", "janus-webhook", NAMESPACE)


def _container(deployment: dict[str, Any]) -> dict[str, Any]:
    return deployment["spec"]["template"]["spec"]["containers"][0]


def test_one_replica_on_sqlite_by_default() -> None:
    deployment = _receiver(render(PRODUCTION_VALUES))
    container = _container(deployment)
    assert deployment["spec"]["replicas"] == 1
    assert "--db=/var/lib/janus/webhook.db" in container["args"]
    assert "--lease-seconds=60" in container["args"]
    assert "JANUS_WEBHOOK_DATABASE_URL" not in {e["name"] for e in container.get("env", [])}


def test_several_replicas_without_a_database_are_refused() -> None:
    proc = helm("template", "janus", str(CHART), "--namespace", NAMESPACE,
                "--values", str(PRODUCTION_VALUES), "--set", "webhook.replicas=2", check=False)
    assert proc.returncode != 0
    assert "webhook.replicas is 2" in proc.stderr
    assert "webhook.database.existingSecret" in proc.stderr


def test_several_replicas_share_the_database_from_a_secret() -> None:
    docs = render(PRODUCTION_VALUES, sets=(
        "webhook.replicas=3", "webhook.database.existingSecret=janus-webhook-db",
        "webhook.leaseSeconds=30", "webhook.persistence.existingClaim=old-claim"))
    deployment = _receiver(docs)
    container = _container(deployment)
    assert deployment["spec"]["replicas"] == 3
    # A shared database, not a ReadWriteOnce volume: pods may overlap during a rollout.
    assert deployment["spec"]["strategy"]["type"] == "RollingUpdate"
    env = {e["name"]: e for e in container["env"]}
    assert env["JANUS_WEBHOOK_DATABASE_URL"]["valueFrom"]["secretKeyRef"] == {
        "name": "janus-webhook-db", "key": "database-url"}
    assert not any(a.startswith("--db") for a in container["args"])  # no URL in the args
    assert "--lease-seconds=30" in container["args"]


def test_lease_must_be_positive() -> None:
    proc = helm("template", "janus", str(CHART), "--namespace", NAMESPACE,
                "--values", str(PRODUCTION_VALUES), "--set", "webhook.leaseSeconds=0",
                check=False)
    assert proc.returncode != 0 and "leaseSeconds" in proc.stderr
