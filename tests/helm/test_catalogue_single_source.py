"""The role catalogue has one source, the JanusConfig's spec.roles (issue 13 item 1).

From it the chart renders the ClusterRoles every target installs and the controller's ``bind``
``resourceNames``, and the judge accepts exactly its roles: these tests render the pinned chart
with several catalogues and check that the three cannot drift apart.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from janus.model import load_config_file
from janus.model.policy import JanusConfig
from janus.policy.roles import catalogue_manifests, catalogue_names
from tests.helm.chart import CHART, by_kind, find, helm, load_values, render

CUSTOM_CONFIG = """\
apiVersion: janus.dev/v1alpha1
kind: JanusConfig
metadata: {name: janus}
spec:
  clusters: [central]
  duration: {min: 10m, max: 8h, default: 1h}
  roles:
    pod-logs: {clusterRole: janus-pod-logs}
    cronjobs:
      clusterRole: janus-cronjobs
      description: read and trigger the payments cron jobs
      rules:
        - {apiGroups: [batch], resources: [cronjobs, jobs], verbs: [get, list, create]}
    secrets-read:
      clusterRole: janus-secrets-read
      escalating: true
      rules:
        - {apiGroups: [""], resources: [secrets], verbs: [get]}
  admins: {teams: [acme/sre]}
"""


def _values_file(tmp_path: Path, config: str, **policies: Any) -> Path:
    path = tmp_path / "values.yaml"
    path.write_text(yaml.safe_dump({"policies": {"files": {"janus.yaml": config}, **policies}}))
    return path


def _config(tmp_path: Path, text: str) -> JanusConfig:
    path = tmp_path / "janus.yaml"
    path.write_text(text)
    return load_config_file(path)


def _catalogue(docs: list[dict[str, Any]]) -> dict[str, list[dict[str, Any]]]:
    return {d["metadata"]["name"]: d["rules"] for d in by_kind(docs, "ClusterRole")
            if d["metadata"]["labels"]["app.kubernetes.io/component"] == "catalogue"}


def _bind_names(docs: list[dict[str, Any]]) -> list[str]:
    role = find(docs, "ClusterRole", "janus-controller-target")
    [rule] = [r for r in role["rules"] if "bind" in r["verbs"]]
    return list(rule["resourceNames"])


def _normal(rules: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [{k: sorted(v) for k, v in r.items() if v} for r in rules]


def _assert_one_source(docs: list[dict[str, Any]], config: JanusConfig) -> None:
    installed = _catalogue(docs)
    expected = {m["metadata"]["name"]: m["rules"] for m in catalogue_manifests(config)}
    assert sorted(installed) == sorted(expected)
    for name, rules in expected.items():
        assert _normal(installed[name]) == _normal(rules), name
    # The controller may bind exactly what is installed, which is exactly what the judge names.
    assert _bind_names(docs) == sorted(installed) == catalogue_names(config)
    assert set(config.roles.values()) == set(installed)


def test_default_values(tmp_path: Path) -> None:
    docs = render()
    config_text = load_values(CHART / "values.yaml")["policies"]["files"]["janus.yaml"]
    config = _config(tmp_path, config_text)
    assert set(config.roles) == {"pod-exec", "pod-logs", "pod-debug", "view"}
    assert config.role_definitions["pod-debug"].images == ("busybox:1.36",)
    _assert_one_source(docs, config)


def test_custom_roles_from_the_inline_janusconfig(tmp_path: Path) -> None:
    docs = render(_values_file(tmp_path, CUSTOM_CONFIG))
    config = _config(tmp_path, CUSTOM_CONFIG)
    _assert_one_source(docs, config)
    assert "janus-pod-exec" not in _catalogue(docs)  # not in this catalogue: not installed
    assert _catalogue(docs)["janus-cronjobs"] == [
        {"apiGroups": ["batch"], "resources": ["cronjobs", "jobs"],
         "verbs": ["get", "list", "create"]}]


def test_existing_configmap_takes_the_roles_value(tmp_path: Path) -> None:
    spec_roles = yaml.safe_load(CUSTOM_CONFIG)["spec"]["roles"]
    values = tmp_path / "v.yaml"
    values.write_text(yaml.safe_dump(
        {"policies": {"existingConfigMap": "access-policies", "roles": spec_roles}}))
    docs = render(values)
    _assert_one_source(docs, _config(tmp_path, CUSTOM_CONFIG))


def test_existing_configmap_without_roles_installs_the_builtins() -> None:
    values = Path(__file__).with_name("values-production.yaml")
    docs = render(values)
    assert sorted(_catalogue(docs)) == ["janus-pod-debug", "janus-pod-exec", "janus-pod-logs",
                                        "janus-view"]
    assert _bind_names(docs) == sorted(_catalogue(docs))


@pytest.mark.parametrize(("role", "message"), [
    ("{clusterRole: cluster-admin}", "accepted: a built-in one or a custom janus-<name>"),
    ("{clusterRole: edit, rules: [{apiGroups: [''], resources: [pods], verbs: [get]}]}",
     "accepted: a built-in one"),
    ("{clusterRole: janus-controller-target, rules: [{apiGroups: [''], resources: [pods], "
     "verbs: [get]}]}", "accepted: a built-in one"),
    ("{clusterRole: janus-custom}", "a custom ClusterRole needs rules"),
    ("{clusterRole: janus-pod-exec, rules: [{apiGroups: [''], resources: [pods], "
     "verbs: [delete]}]}", "whose rules are fixed"),
])
def test_the_chart_refuses_a_role_it_must_not_install(
    tmp_path: Path, role: str, message: str,
) -> None:
    config = CUSTOM_CONFIG.replace("pod-logs: {clusterRole: janus-pod-logs}", f"bad: {role}")
    values = _values_file(tmp_path, config)
    proc = helm("template", "janus", str(CHART), "--namespace", "janus", "--values",
                str(values), check=False)
    assert proc.returncode != 0
    assert message in proc.stderr
