"""Issue 13 item 4, the outage path: `janus break-glass` creates the AccessRequest directly
through the admission rules' explicit admin path, on the real API server with the
ValidatingAdmissionPolicy bound and the real controller granting it. Hostile first: an identity
that RBAC lets create but that is not a cluster admin, a requester the policy's breakGlass does
not list, a duration past its maxDuration. Then a cluster admin's grant: labelled break-glass,
annotated with who and why, Active with its ServiceAccount on the target."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest
import yaml
from kubernetes import client

from janus import names, resource
from janus.cli import main
from janus.resource import admission
from tests.integration.controller_env import (
    ControllerProcess,
    grant_objects,
    register_cluster,
    wait_phase,
)
from tests.k8s_helpers import create_namespace, create_pod
from tests.security.test_accessrequest_admission import Bed, bed, policed  # noqa: F401

pytestmark = pytest.mark.k8s_real

ROOT = Path(__file__).resolve().parents[2]


def _kubeconfig(path: Path, config: dict) -> Path:
    path.write_text(yaml.safe_dump(config))
    return path


def _args(b: Bed, ns: str, **over: str) -> list[str]:
    values = {"requester": "alice", "cluster": "prod", "namespace": ns, "duration": "30m",
              "reason": "INC-9: GitHub is down and payments are stuck", "ticket": "INC-9"}
    values.update(over)
    out = ["break-glass", "--repo", str(ROOT), "--janus-namespace", b.ns]
    for key, value in values.items():
        out += [f"--{key}", value]
    return out


def _break_glass_crs(b: Bed) -> list[dict]:
    found = client.CustomObjectsApi(b.api).list_namespaced_custom_object(
        resource.GROUP, resource.VERSION, b.ns, resource.PLURAL,
        label_selector=f"{names.LABEL_BREAK_GLASS}=true")
    return list(found["items"])


def test_outage_break_glass_admin_only_policy_bound_and_granted(
    policed: Bed, tmp_path: Path, capsys: pytest.CaptureFixture[str]  # noqa: F811
) -> None:
    b = policed
    ns = f"payments-{uuid.uuid4().hex[:6]}"  # covered by payments-prod's "payments-*"
    create_namespace(b.api, ns)
    create_pod(b.api, ns)
    web = _kubeconfig(tmp_path / "web", b.cluster.kubeconfig(token=b.tokens[admission.WEB_SA]))
    admin = _kubeconfig(tmp_path / "admin", b.cluster.kubeconfig())

    # Not a cluster admin (RBAC lets it create: only the admission policy stops it).
    assert main([*_args(b, ns), "--kubeconfig", str(web)]) == 2
    err = capsys.readouterr().err
    assert "only cluster admins" in err and b.policy in err
    # The policy's breakGlass does not list dave; 2h is past its maxDuration (1h).
    assert main([*_args(b, ns, requester="dave"), "--kubeconfig", str(admin)]) == 1
    assert "break-glass.requester" in capsys.readouterr().err
    assert main([*_args(b, ns, duration="2h"), "--kubeconfig", str(admin)]) == 1
    assert "break-glass.max-duration" in capsys.readouterr().err
    assert _break_glass_crs(b) == []

    ctl_kubeconfig = b.cluster.kubeconfig(token=b.tokens[admission.CONTROLLER_SA])
    register_cluster(b.cluster, b.ns, "prod", ctl_kubeconfig)
    ctl = ControllerProcess(tmp_path, b.cluster, b.ns, clusters=["central", "prod"],
                            kubeconfig=ctl_kubeconfig).start()
    try:
        assert main([*_args(b, ns), "--kubeconfig", str(admin), "--by", "root"]) == 0
        assert "break-glass" in capsys.readouterr().out
        [made] = _break_glass_crs(b)
        name = made["metadata"]["name"]
        assert made["metadata"]["annotations"][admission.ADMIN_ANNOTATION].startswith(
            "root: INC-9: GitHub is down")
        assert "provenance" not in made["spec"] and made["spec"]["duration"] == "30m"
        wait_phase(b.api, b.ns, name, "Active", timeout=30)
        assert grant_objects(b.api, ns, name)["sa"] == [names.service_account_name("alice",
                                                                                    name)]
    finally:
        ctl.stop()
