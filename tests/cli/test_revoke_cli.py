"""`janus revoke` and `janus grants` on the real control plane with the real CRD: without a
controller (the CR alone: write-once revocation, lookups, refusals) and with `janus controller`
running as a subprocess (``--wait`` until Revoked, the grant's objects gone)."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from kubernetes import client

from janus import names, resource
from janus.cli import main
from janus.cli.revoke import (
    AlreadyRevoked,
    format_remaining,
    patch_revocation,
    row_of,
    table,
    whoami,
)
from janus.dev.controlplane import LocalCluster
from janus.resource import AccessRequestView, crd
from tests.integration.controller_env import (
    ControllerProcess,
    create_request,
    ensure_namespace,
    get_request,
    prepare_central,
    wait_phase,
)
from tests.k8s_helpers import create_namespace

# -- pure parts -----------------------------------------------------------------------------------

NOW = dt.datetime(2026, 11, 27, 6, 0, tzinfo=dt.UTC)


def test_format_remaining() -> None:
    assert format_remaining(None, NOW) == "-"
    assert format_remaining(NOW - dt.timedelta(seconds=1), NOW) == "expired"
    assert format_remaining(NOW + dt.timedelta(seconds=42), NOW) == "42s"
    assert format_remaining(NOW + dt.timedelta(minutes=9, seconds=5), NOW) == "9m05s"
    assert format_remaining(NOW + dt.timedelta(hours=3, minutes=7), NOW) == "3h07m"


def test_rows_and_table() -> None:
    def cr(name: str, phase: str | None, **spec: Any) -> AccessRequestView:
        return AccessRequestView.from_cr({
            "metadata": {"name": name},
            "spec": {"requester": "alice", "cluster": "prod", "namespace": "payments", **spec},
            "status": {"phase": phase, "expiresAt": "2026-11-27T07:00:00Z"} if phase else {}})

    assert row_of(cr("a", "Active"), NOW).expires_in == "1h00m"
    assert row_of(cr("b", None), NOW).phase == "Approved"
    assert row_of(cr("c", "Active", revocation={"by": "bob"}), NOW).phase == "Revoking"
    assert row_of(cr("d", "Expired"), NOW).expires_in == "-"
    lines = table([row_of(cr("a-long-name", "Active"), NOW)]).splitlines()
    assert lines[0].split() == ["NAME", "REQUESTER", "CLUSTER", "NAMESPACE", "PHASE", "EXPIRES",
                                "IN"]
    assert lines[1].split() == ["a-long-name", "alice", "prod", "payments", "Active", "1h00m"]
    assert lines[0].index("REQUESTER") == lines[1].index("alice")


# -- on the real control plane, no controller -----------------------------------------------------


@pytest.fixture(scope="module")
def central(cluster: LocalCluster, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    api = cluster.admin_client()
    crd.install(api)
    janus_ns = f"janus-{uuid.uuid4().hex[:6]}"
    ensure_namespace(api, janus_ns)
    kubeconfig = tmp_path_factory.mktemp("kube") / "admin.kubeconfig"
    kubeconfig.write_text(yaml.safe_dump(cluster.kubeconfig()))
    return {"api": api, "ns": janus_ns, "kubeconfig": str(kubeconfig)}


def _cli(env: dict[str, Any], *args: str) -> int:
    command, *rest = args
    return main([command, "--kubeconfig", env["kubeconfig"], "--janus-namespace", env["ns"],
                 *rest])


def _new_cr(env: dict[str, Any], *, namespace: str | None = None, request: str | None = None,
            phase: str | None = None) -> str:
    name = create_request(env["api"], env["ns"], cluster="prod",
                          namespace=namespace or f"ns-{uuid.uuid4().hex[:6]}", request=request)
    if phase:
        client.CustomObjectsApi(env["api"]).patch_namespaced_custom_object_status(
            resource.GROUP, resource.VERSION, env["ns"], resource.PLURAL, name,
            {"status": {"phase": phase}}, _content_type="application/merge-patch+json")
    return name


def _revocation(env: dict[str, Any], name: str) -> dict[str, Any] | None:
    return (get_request(env["api"], env["ns"], name) or {}).get("spec", {}).get("revocation")


@pytest.mark.k8s_real
def test_revoke_by_cr_name_writes_the_revocation_once(
    central: dict[str, Any], capsys: pytest.CaptureFixture[str]
) -> None:
    name = _new_cr(central)
    assert _cli(central, "revoke", name, "--reason", "incident  closed", "--by", "bob") == 0
    assert "revocation recorded" in capsys.readouterr().out
    revocation = _revocation(central, name)
    assert revocation is not None
    assert (revocation["by"], revocation["reason"]) == ("bob", "incident closed")
    requested = dt.datetime.fromisoformat(revocation["requestedAt"].replace("Z", "+00:00"))
    assert abs((dt.datetime.now(dt.UTC) - requested).total_seconds()) < 60

    # A second revocation reports the first and changes nothing.
    assert _cli(central, "revoke", name, "--reason", "another reason", "--by", "carol") == 1
    err = capsys.readouterr().err
    assert "already revoked by bob" in err and "incident closed" in err
    assert _revocation(central, name) == revocation


@pytest.mark.k8s_real
def test_a_racing_second_revocation_gets_422_and_reports_the_first(
    central: dict[str, Any]
) -> None:
    """The patch itself, as if our read had come before someone else's revocation."""
    name = _new_cr(central)
    patch_revocation(central["api"], central["ns"], name, "bob", "first", dt.datetime.now(dt.UTC))
    first = _revocation(central, name)
    with pytest.raises(AlreadyRevoked, match="already revoked by bob"):
        patch_revocation(central["api"], central["ns"], name, "carol", "second",
                         dt.datetime.now(dt.UTC))
    assert _revocation(central, name) == first


@pytest.mark.k8s_real
def test_default_by_is_the_api_servers_view_of_us(central: dict[str, Any]) -> None:
    name = _new_cr(central)
    assert _cli(central, "revoke", name, "--reason", "rotation done") == 0
    me = whoami(central["api"])
    assert me  # the bed's API server supports SelfSubjectReview
    assert _revocation(central, name)["by"] == me  # type: ignore[index]


@pytest.mark.k8s_real
def test_revoke_by_request_name(central: dict[str, Any],
                                capsys: pytest.CaptureFixture[str]) -> None:
    request = f"alice-{uuid.uuid4().hex[:6]}"
    one = _new_cr(central, namespace="payments", request=request)
    two = _new_cr(central, namespace="payments-api", request=request)
    # Ambiguous: the same request file stem in two namespaces. Nothing is revoked.
    assert _cli(central, "revoke", request, "--reason", "done", "--by", "bob") == 1
    err = capsys.readouterr().err
    assert one in err and two in err and "--namespace" in err
    assert _revocation(central, one) is None and _revocation(central, two) is None
    # Narrowed by --namespace alone, or by --cluster and --namespace (the derived CR name).
    assert _cli(central, "revoke", request, "--namespace", "payments-api", "--reason", "done",
                "--by", "bob") == 0
    assert _revocation(central, two) is not None and _revocation(central, one) is None
    assert _cli(central, "revoke", request, "--cluster", "prod", "--namespace", "payments",
                "--reason", "done", "--by", "bob") == 0
    assert _revocation(central, one) is not None
    # A CR name with a filter it does not match is not that grant.
    three = _new_cr(central, namespace="payments-db")
    assert _cli(central, "revoke", three, "--namespace", "payments", "--reason", "done") == 1
    assert "no grant named" in capsys.readouterr().err
    assert _cli(central, "revoke", three, "--namespace", "payments-db", "--reason", "done",
                "--by", "bob") == 0
    assert _revocation(central, three) is not None


@pytest.mark.k8s_real
@pytest.mark.parametrize(("args", "expected"), [
    (["no-such-grant", "--reason", "done"], "no grant named 'no-such-grant'"),
    (["x", "--reason", "done", "--cluster", "prod", "--namespace", "nope"], "no grant named"),
    (["x", "--reason", "   "], "--reason is empty"),
    (["x", "--reason", "r" * 501], "at most 500"),
    (["x", "--reason", "done", "--by", ""], "--by is empty"),
])
def test_unknown_grants_and_bad_arguments_are_clear_errors(
    central: dict[str, Any], capsys: pytest.CaptureFixture[str], args: list[str], expected: str
) -> None:
    before = client.CustomObjectsApi(central["api"]).list_namespaced_custom_object(
        resource.GROUP, resource.VERSION, central["ns"], resource.PLURAL)["items"]
    assert _cli(central, "revoke", *args) == 1
    assert expected in capsys.readouterr().err
    after = client.CustomObjectsApi(central["api"]).list_namespaced_custom_object(
        resource.GROUP, resource.VERSION, central["ns"], resource.PLURAL)["items"]
    assert after == before


@pytest.mark.k8s_real
def test_an_ended_grant_is_not_revoked(central: dict[str, Any],
                                       capsys: pytest.CaptureFixture[str]) -> None:
    name = _new_cr(central, phase="Expired")
    assert _cli(central, "revoke", name, "--reason", "done", "--by", "bob") == 1
    assert "already ended (phase Expired)" in capsys.readouterr().err
    assert _revocation(central, name) is None


@pytest.mark.k8s_real
def test_wait_without_a_controller_times_out_clearly(
    central: dict[str, Any], capsys: pytest.CaptureFixture[str]
) -> None:
    name = _new_cr(central)
    assert _cli(central, "revoke", name, "--reason", "done", "--by", "bob", "--wait",
                "--timeout", "1") == 1
    err = capsys.readouterr().err
    assert "is recorded" in err and "is it running?" in err
    assert _revocation(central, name) is not None


@pytest.mark.k8s_real
def test_grants_table(central: dict[str, Any], capsys: pytest.CaptureFixture[str]) -> None:
    live = _new_cr(central, phase="Active")
    ended = _new_cr(central, phase="Expired")
    assert _cli(central, "grants") == 0
    out = capsys.readouterr().out
    assert out.splitlines()[0].split()[:5] == ["NAME", "REQUESTER", "CLUSTER", "NAMESPACE",
                                               "PHASE"]
    assert live in out and ended not in out
    assert _cli(central, "grants", "--all") == 0
    out = capsys.readouterr().out
    assert live in out and ended in out


def test_unreachable_kubeconfig_is_a_clear_error(tmp_path: Path,
                                                 capsys: pytest.CaptureFixture[str]) -> None:
    missing = tmp_path / "none.kubeconfig"
    assert main(["grants", "--kubeconfig", str(missing)]) == 2
    assert "no usable kubeconfig" in capsys.readouterr().err
    assert main(["revoke", "x", "--reason", "done", "--kubeconfig", str(missing)]) == 2


# -- with the controller running ------------------------------------------------------------------


@pytest.fixture(scope="module")
def controlled(cluster: LocalCluster,
               tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    janus_ns = prepare_central(cluster)
    workdir = tmp_path_factory.mktemp("controller")
    ctl = ControllerProcess(workdir, cluster, janus_ns, clusters=["central"]).start()
    try:
        yield {"api": cluster.admin_client(), "ns": janus_ns, "ctl": ctl,
               "kubeconfig": str(ctl.kubeconfig_path)}
    finally:
        ctl.stop()
        print(ctl.log()[-5000:])


@pytest.mark.k8s_real
def test_revoke_wait_until_the_controller_has_revoked(
    controlled: dict[str, Any], capsys: pytest.CaptureFixture[str]
) -> None:
    api, janus_ns = controlled["api"], controlled["ns"]
    target_ns = f"t-{uuid.uuid4().hex[:8]}"
    create_namespace(api, target_ns)
    name = create_request(api, janus_ns, cluster="central", namespace=target_ns)
    cr = wait_phase(api, janus_ns, name, "Active", timeout=30)
    bindings = client.RbacAuthorizationV1Api(api).list_namespaced_role_binding(
        target_ns, label_selector=f"{names.LABEL_REQUEST}={name}").items
    assert bindings, "the grant should have bound its ServiceAccount"

    assert _cli(controlled, "grants") == 0
    row = next(line for line in capsys.readouterr().out.splitlines() if line.startswith(name))
    assert row.split()[4:] and row.split()[4] == "Active"
    assert row.split()[5].endswith("m") or row.split()[5].endswith("s")

    assert _cli(controlled, "revoke", cr["spec"]["requestName"], "--reason", "incident closed",
                "--by", "bob", "--wait", "--timeout", "20") == 0
    out = capsys.readouterr().out
    assert f"{name}: Revoked" in out
    status = get_request(api, janus_ns, name)["status"]  # type: ignore[index]
    assert (status["phase"], status["revokedBy"], status["revokedReason"]) == (
        "Revoked", "bob", "incident closed")
    assert client.RbacAuthorizationV1Api(api).list_namespaced_role_binding(
        target_ns, label_selector=f"{names.LABEL_REQUEST}={name}").items == []

    # Revoking again: reported, not rewritten.
    assert _cli(controlled, "revoke", name, "--reason", "again", "--by", "carol") == 1
    assert "already revoked by bob" in capsys.readouterr().err
