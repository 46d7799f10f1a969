"""The shipped CRD and RBAC files are exactly what the Python sources render."""

from __future__ import annotations

import datetime as dt

import yaml

from janus.controller import rbac, status
from janus.resource import crd


def test_crd_files_are_up_to_date() -> None:
    for filename in crd.RENDERED:
        shipped = (crd.HELM_CRDS_DIR / filename).read_text(encoding="utf-8")
        assert shipped == crd.render(filename), f"run: python -m janus.resource.crd ({filename})"


def test_rbac_file_is_up_to_date() -> None:
    assert rbac.HELM_FILE.read_text(encoding="utf-8") == rbac.render(), \
        "run: python -m janus.controller.rbac"


def test_crd_spec_is_strict_and_has_the_contract_fields() -> None:
    doc = crd.access_request_crd()
    version = doc["spec"]["versions"][0]
    schema = version["schema"]["openAPIV3Schema"]
    spec = schema["properties"]["spec"]
    assert "x-kubernetes-preserve-unknown-fields" not in yaml.safe_dump(spec)
    assert set(spec["properties"]) == {"requestName", "requester", "cluster", "namespace",
                                       "role", "duration", "reason", "ticket", "provenance",
                                       "revocation"}
    assert version["subresources"] == {"status": {}}
    columns = [c["name"] for c in version["additionalPrinterColumns"]]
    assert columns[:5] == ["Requester", "Cluster", "Namespace", "Phase", "Expires"]


def test_target_rbac_binds_only_the_catalogue() -> None:
    rules = rbac.target_rules(["janus-pod-exec"])
    binds = [r for r in rules if "bind" in r["verbs"]]
    assert binds == [{"apiGroups": ["rbac.authorization.k8s.io"], "resources": ["clusterroles"],
                      "verbs": ["bind"], "resourceNames": ["janus-pod-exec"]}]
    flat = yaml.safe_dump(rules)
    assert "escalate" not in flat and "'*'" not in flat and "secrets" not in flat


def test_condition_keeps_transition_time_unless_status_flips() -> None:
    t0 = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
    t1 = t0 + dt.timedelta(minutes=5)
    conds = status.condition(None, "ClusterReachable", False, "Unavailable", "down", t0)
    again = status.condition(conds, "ClusterReachable", False, "Unavailable", "still", t1)
    assert again[0]["lastTransitionTime"] == "2026-01-01T00:00:00Z"
    flipped = status.condition(again, "ClusterReachable", True, "Reachable", "up", t1)
    assert flipped[0]["lastTransitionTime"] == "2026-01-01T00:05:00Z"
