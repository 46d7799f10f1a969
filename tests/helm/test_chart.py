"""The Helm chart, rendered by the pinned helm: lint, template, and what the objects allow.

These need no cluster; tests/helm/test_chart_apiserver.py lets the real API server judge them.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

import janus
from janus.controller import rbac as controller_rbac
from janus.policy import roles_render
from janus.policy.roles import CLUSTER_ROLE_RULES
from tests.helm.chart import (
    CHART,
    NAMESPACE,
    PRODUCTION_VALUES,
    TOKENS_NAMESPACE,
    by_kind,
    find,
    helm,
    load_values,
    render,
)

VARIANTS = {"default": (), "production": (PRODUCTION_VALUES,)}


@pytest.fixture(scope="module", params=sorted(VARIANTS))
def rendered(request: pytest.FixtureRequest) -> tuple[str, list[dict[str, Any]]]:
    return request.param, render(*VARIANTS[request.param])


def _values(variant: str) -> dict[str, Any]:
    values = load_values(CHART / "values.yaml")
    for f in VARIANTS[variant]:
        _merge(values, load_values(f))
    return values


def _merge(base: dict[str, Any], over: dict[str, Any]) -> None:
    for k, v in over.items():
        if isinstance(v, dict) and isinstance(base.get(k), dict):
            _merge(base[k], v)
        else:
            base[k] = v


def _pod_specs(docs: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {d["metadata"]["name"]: d["spec"]["template"]["spec"]
            for d in by_kind(docs, "Deployment")}


def _containers(spec: dict[str, Any]) -> list[dict[str, Any]]:
    return [*spec.get("initContainers", []), *spec["containers"]]


# ---- chart metadata, generated files -------------------------------------------------------


def test_chart_metadata() -> None:
    chart = yaml.safe_load((CHART / "Chart.yaml").read_text())
    assert chart["apiVersion"] == "v2"
    assert chart["version"] == "0.1.0"
    assert chart["appVersion"] == janus.__version__


def test_catalogue_file_is_up_to_date() -> None:
    assert roles_render.HELM_FILE.read_text(encoding="utf-8") == roles_render.render(), (
        "run: python -m janus.policy.roles_render"
    )


def test_controller_rbac_file_is_up_to_date() -> None:
    assert controller_rbac.HELM_FILE.read_text(encoding="utf-8") == controller_rbac.render()


@pytest.mark.parametrize("variant", sorted(VARIANTS))
def test_lint(variant: str) -> None:
    args = ["lint", str(CHART), "--strict", "--namespace", NAMESPACE]
    for f in VARIANTS[variant]:
        args += ["--values", str(f)]
    out = helm(*args)
    assert "0 chart(s) failed" in out.stdout


def test_other_namespace_is_refused() -> None:
    proc = helm("template", "janus", str(CHART), "--namespace", "default", check=False)
    assert proc.returncode != 0
    assert "install Janus into the namespace janus" in proc.stderr


def test_secrets_in_web_settings_are_refused() -> None:
    proc = helm("template", "janus", str(CHART), "--namespace", NAMESPACE,
                "--set", "web.settings.session_secret=oops", check=False)
    assert proc.returncode != 0 and "is a secret" in proc.stderr


def test_dev_login_is_refused() -> None:
    proc = helm("template", "janus", str(CHART), "--namespace", NAMESPACE,
                "--set", "web.authMode=dev", check=False)
    assert proc.returncode != 0 and "local demo only" in proc.stderr


# ---- what is rendered -----------------------------------------------------------------------


def test_objects_rendered(rendered: tuple[str, list[dict[str, Any]]]) -> None:
    variant, docs = rendered
    kinds = {(d["kind"], d["metadata"]["name"], d["metadata"].get("namespace")) for d in docs}
    for expected in [
        ("CustomResourceDefinition", "accessrequests.janus.dev", None),
        ("Namespace", NAMESPACE, None),
        ("Namespace", TOKENS_NAMESPACE, None),
        ("ServiceAccount", "janus-controller", NAMESPACE),
        ("ServiceAccount", "janus-webhook", NAMESPACE),
        ("ServiceAccount", "janus-web", NAMESPACE),
        ("Deployment", "janus-controller", NAMESPACE),
        ("Deployment", "janus-webhook", NAMESPACE),
        ("Deployment", "janus-web", NAMESPACE),
        ("Service", "janus-web", NAMESPACE),
        ("Service", "janus-webhook", NAMESPACE),
        ("ClusterRole", "janus-pod-exec", None),
        ("ClusterRole", "janus-controller-target", None),
        ("Role", "janus-web", TOKENS_NAMESPACE),
        ("Role", "janus-webhook", NAMESPACE),
    ]:
        assert expected in kinds, expected
    pdbs = {d["metadata"]["name"] for d in by_kind(docs, "PodDisruptionBudget")}
    # A budget for each component with several replicas (the controller runs 2 by default).
    assert pdbs == ({"janus-controller"} if variant == "default"
                    else {"janus-controller", "janus-web"})
    policies_cm = ("ConfigMap", "janus-policies", NAMESPACE) in kinds
    assert policies_cm == (variant == "default")


def test_controller_rbac_comes_from_the_generated_file(
    rendered: tuple[str, list[dict[str, Any]]],
) -> None:
    _, docs = rendered
    generated = [d for d in yaml.safe_load_all(controller_rbac.HELM_FILE.read_text()) if d]
    for doc in generated:
        meta = doc["metadata"]
        rendered_doc = find(docs, doc["kind"], meta["name"], meta.get("namespace"))
        # Exactly the generated object; only its labels become the chart's standard ones.
        labels = rendered_doc["metadata"]["labels"]
        assert labels["app.kubernetes.io/component"] == "controller"
        assert labels["app.kubernetes.io/managed-by"] == "Helm"
        assert rendered_doc == {**doc, "metadata": {**meta, "labels": labels}}
    for name in CLUSTER_ROLE_RULES:
        assert find(docs, "ClusterRole", name)["rules"] == CLUSTER_ROLE_RULES[name]


def test_janus_namespace_is_pod_security_restricted(
    rendered: tuple[str, list[dict[str, Any]]],
) -> None:
    _, docs = rendered
    labels = find(docs, "Namespace", NAMESPACE)["metadata"]["labels"]
    assert labels["pod-security.kubernetes.io/enforce"] == "restricted"


def test_every_container_is_locked_down(rendered: tuple[str, list[dict[str, Any]]]) -> None:
    _, docs = rendered
    specs = _pod_specs(docs)
    assert set(specs) == {"janus-controller", "janus-webhook", "janus-web"}
    for name, spec in specs.items():
        pod = spec["securityContext"]
        assert pod["runAsNonRoot"] is True and pod["runAsUser"] == 10001, name
        assert pod["seccompProfile"] == {"type": "RuntimeDefault"}, name
        assert not spec.get("hostNetwork") and not spec.get("hostPID"), name
        for c in _containers(spec):
            sc = c["securityContext"]
            assert sc["allowPrivilegeEscalation"] is False, (name, c["name"])
            assert sc["readOnlyRootFilesystem"] is True, (name, c["name"])
            assert sc["runAsNonRoot"] is True and sc["runAsUser"] == 10001, (name, c["name"])
            assert sc["capabilities"] == {"drop": ["ALL"]}, (name, c["name"])
            assert sc["seccompProfile"] == {"type": "RuntimeDefault"}, (name, c["name"])
            assert "privileged" not in sc, (name, c["name"])
            assert c.get("resources", {}).get("requests"), (name, c["name"])
        for c in spec["containers"]:
            assert c["livenessProbe"]["httpGet"]["path"] == "/healthz", name
            # Readiness: API server and database reachable (kopf's endpoint for the controller).
            ready = "/healthz" if name == "janus-controller" else "/readyz"
            assert c["readinessProbe"]["httpGet"]["path"] == ready, name


def test_images_are_pinned_by_the_values(rendered: tuple[str, list[dict[str, Any]]]) -> None:
    variant, docs = rendered
    image = _values(variant)["image"]
    expected = f"{image['repository']}:{image['tag'] or janus.__version__}"
    if image["digest"]:
        expected += f"@{image['digest']}"
    for name, spec in _pod_specs(docs).items():
        for c in _containers(spec):
            assert c["image"] == expected, (name, c["name"])


def test_deployments(rendered: tuple[str, list[dict[str, Any]]]) -> None:
    variant, docs = rendered
    values = _values(variant)
    ctrl = find(docs, "Deployment", "janus-controller", NAMESPACE)
    assert ctrl["spec"]["replicas"] == values["controller"]["replicas"]
    if variant == "default":
        assert ctrl["spec"]["replicas"] == 2
    args = ctrl["spec"]["template"]["spec"]["containers"][0]["args"]
    assert "--peering=janus-controller" in args
    assert "--standalone" not in args and "--bootstrap" not in args
    assert f"--liveness-port={values['controller']['livenessPort']}" in args
    assert (f"--metrics-port={values['controller']['metrics']['port']}" in args) == (
        values["controller"]["metrics"]["enabled"])
    web = find(docs, "Deployment", "janus-web", NAMESPACE)
    assert web["spec"]["replicas"] == values["web"]["replicas"]
    web_args = web["spec"]["template"]["spec"]["containers"][0]["args"]
    assert "--dev-login" not in web_args
    ctrl_spec = ctrl["spec"]["template"]["spec"]
    assert ctrl_spec.get("nodeSelector", {}) == values["controller"]["nodeSelector"]
    assert ctrl_spec.get("tolerations", []) == values["controller"]["tolerations"]


def test_web_settings_are_valid_and_carry_no_secret(
    rendered: tuple[str, list[dict[str, Any]]], tmp_path: Path,
) -> None:
    from janus.web.settings import WebSettings

    variant, docs = rendered
    text = find(docs, "ConfigMap", "janus-web", NAMESPACE)["data"]["web.yaml"]
    data = yaml.safe_load(text)
    for secret in ("session_secret", "github_token", "github_client_secret",
                   "oidc_client_secret", "dev_user_tokens"):
        assert secret not in data
    settings = WebSettings.from_mapping(data)  # unknown keys would raise
    assert settings.tokens_namespace == TOKENS_NAMESPACE
    assert settings.auth_mode == _values(variant)["web"]["authMode"]
    web = find(docs, "Deployment", "janus-web", NAMESPACE)["spec"]["template"]["spec"]
    env = {e["name"] for e in web["containers"][0].get("env", [])}
    if variant == "production":
        # Database URL from its Secret, merged into the settings file by the init container.
        assert {"JANUS_WEB_SESSION_SECRET", "JANUS_OIDC_CLIENT_SECRET",
                "JANUS_GITHUB_TOKEN"} <= env
        init = web["initContainers"][0]
        script = init["command"][-1]
        cfg = tmp_path / "web.yaml"
        (tmp_path / "etc").mkdir()
        (tmp_path / "etc" / "web.yaml").write_text(text)
        (tmp_path / "url").write_text("postgresql://janus:p@ss\"w'rd@db:5432/janus\n")
        script = (script.replace("/etc/janus/web/web.yaml", str(tmp_path / "etc" / "web.yaml"))
                  .replace("/etc/janus/web-db/url", str(tmp_path / "url"))
                  .replace("/run/janus-web/web.yaml", str(cfg)))
        exec(compile(script, "init", "exec"), {})  # noqa: S102 - the chart's own script
        merged = WebSettings.from_file(cfg)
        assert merged.database_url == "postgresql://janus:p@ss\"w'rd@db:5432/janus"


# ---- RBAC -----------------------------------------------------------------------------------


def _roles(docs: list[dict[str, Any]]) -> dict[tuple[str, str, str | None], dict[str, Any]]:
    return {(d["kind"], d["metadata"]["name"], d["metadata"].get("namespace")): d
            for d in docs if d["kind"] in ("Role", "ClusterRole")}


def _grants(docs: list[dict[str, Any]], sa: str) -> list[tuple[str | None, dict[str, Any]]]:
    """(namespace the rule applies in, or None for cluster-wide; rule) for every rule of *sa*."""
    roles = _roles(docs)
    out: list[tuple[str | None, dict[str, Any]]] = []
    for b in docs:
        if b["kind"] not in ("RoleBinding", "ClusterRoleBinding"):
            continue
        if not any(s["kind"] == "ServiceAccount" and s["name"] == sa
                   and s["namespace"] == NAMESPACE for s in b["subjects"]):
            continue
        ns = b["metadata"].get("namespace")
        ref = b["roleRef"]
        role = roles[(ref["kind"], ref["name"], ns if ref["kind"] == "Role" else None)]
        out += [(ns, rule) for rule in role["rules"]]
    return out


def _covers_secrets(rule: dict[str, Any]) -> bool:
    return "" in rule["apiGroups"] and ("secrets" in rule["resources"] or "*" in rule["resources"])


def test_no_wildcards_no_escalate(rendered: tuple[str, list[dict[str, Any]]]) -> None:
    _, docs = rendered
    for key, role in _roles(docs).items():
        for rule in role["rules"]:
            for field in ("verbs", "resources", "apiGroups"):
                assert "*" not in rule.get(field, []), (key, rule)
            assert not {"escalate", "impersonate"} & set(rule["verbs"]), (key, rule)
            assert not rule.get("nonResourceURLs"), (key, rule)


def test_web_reads_secrets_only_in_janus_tokens(
    rendered: tuple[str, list[dict[str, Any]]],
) -> None:
    _, docs = rendered
    grants = _grants(docs, "janus-web")
    assert grants, "janus-web is bound to nothing"
    for ns, rule in grants:
        assert ns is not None, f"janus-web holds a cluster-wide rule: {rule}"
        if _covers_secrets(rule):
            assert ns == TOKENS_NAMESPACE, rule
            assert set(rule["verbs"]) <= {"get", "list", "watch"}, rule
    verbs = {(ns, res, v) for ns, rule in grants for res in rule["resources"]
             for v in rule["verbs"]}
    assert (NAMESPACE, "accessrequests", "patch") in verbs
    assert (TOKENS_NAMESPACE, "secrets", "get") in verbs


def test_webhook_has_no_secrets_and_only_accessrequests(
    rendered: tuple[str, list[dict[str, Any]]],
) -> None:
    """AccessRequests (it creates them), and the web app's terminal session reports, which it
    reads into the ledger and deletes once recorded (never creates or edits)."""
    _, docs = rendered
    grants = _grants(docs, "janus-webhook")
    assert grants
    for ns, rule in grants:
        assert ns == NAMESPACE, rule
        if rule["resources"] == ["terminalsessions"]:
            assert set(rule["verbs"]) == {"get", "list", "watch", "delete"}, rule
            continue
        assert rule["resources"] == ["accessrequests"], rule
        assert "create" in rule["verbs"]


def test_web_reports_terminal_sessions_with_create_and_status_only(
    rendered: tuple[str, list[dict[str, Any]]],
) -> None:
    """docs/design.md §11: the web identity creates TerminalSessions and writes their status;
    it cannot read, list, edit or delete them."""
    _, docs = rendered
    verbs = {(ns, res, v) for ns, rule in _grants(docs, "janus-web")
             for res in rule["resources"] for v in rule["verbs"]
             if res.startswith("terminalsessions")}
    assert verbs == {(NAMESPACE, "terminalsessions", "create"),
                     (NAMESPACE, "terminalsessions/status", "patch")}


def test_bind_is_limited_to_the_catalogue(rendered: tuple[str, list[dict[str, Any]]]) -> None:
    _, docs = rendered
    bind_rules = [(key, rule) for key, role in _roles(docs).items() for rule in role["rules"]
                  if "bind" in rule["verbs"]]
    assert bind_rules, "the controller cannot bind the catalogue"
    for key, rule in bind_rules:
        assert key == ("ClusterRole", "janus-controller-target", None), key
        assert rule["resources"] == ["clusterroles"]
        assert rule["verbs"] == ["bind"]
        assert rule["resourceNames"] == sorted(CLUSTER_ROLE_RULES)


def test_controller_has_no_cluster_wide_secrets(
    rendered: tuple[str, list[dict[str, Any]]],
) -> None:
    _, docs = rendered
    for ns, rule in _grants(docs, "janus-controller"):
        if _covers_secrets(rule):
            assert ns in (NAMESPACE, TOKENS_NAMESPACE), rule


# ---- NetworkPolicy --------------------------------------------------------------------------


def test_network_policies(rendered: tuple[str, list[dict[str, Any]]]) -> None:
    variant, docs = rendered
    values = _values(variant)
    pols = by_kind(docs, "NetworkPolicy")
    for ns in (NAMESPACE, TOKENS_NAMESPACE):
        deny = find(docs, "NetworkPolicy", "janus-default-deny-ingress", ns)
        assert deny["spec"] == {"podSelector": {}, "policyTypes": ["Ingress"]}
    for comp in ("web", "webhook"):
        pol = find(docs, "NetworkPolicy", f"janus-{comp}-ingress", NAMESPACE)
        assert pol["spec"]["podSelector"]["matchLabels"]["app.kubernetes.io/component"] == comp
        (rule,) = pol["spec"]["ingress"]
        assert rule["ports"] == [{"protocol": "TCP", "port": values[comp]["port"]}]
        assert rule.get("from", []) == values[comp]["allowFrom"]
    selecting_controller = [
        p for p in pols
        if p["spec"]["podSelector"].get("matchLabels", {}).get("app.kubernetes.io/component")
        == "controller"
    ]
    if values["controller"]["metrics"]["enabled"]:
        (pol,) = selecting_controller
        assert [p["port"] for p in pol["spec"]["ingress"][0]["ports"]] == [
            values["controller"]["metrics"]["port"]]
    else:
        assert selecting_controller == []


def test_services_target_the_named_ports(rendered: tuple[str, list[dict[str, Any]]]) -> None:
    _, docs = rendered
    for comp in ("web", "webhook"):
        svc = find(docs, "Service", f"janus-{comp}", NAMESPACE)
        dep = find(docs, "Deployment", f"janus-{comp}", NAMESPACE)
        assert svc["spec"]["selector"].items() <= dep["spec"]["template"]["metadata"][
            "labels"].items()
        ports = {p["name"] for p in dep["spec"]["template"]["spec"]["containers"][0]["ports"]}
        assert svc["spec"]["ports"][0]["targetPort"] in ports


# ---- configuration the components read ------------------------------------------------------


def test_default_policies_load(tmp_path: Path) -> None:
    """The inline default policies are a valid set, or the controller would not start."""
    from janus.model.policy import load_policy_set

    docs = render()
    data = find(docs, "ConfigMap", "janus-policies", NAMESPACE)["data"]
    (tmp_path / "policies").mkdir()
    for name, body in data.items():
        (tmp_path / "policies" / name).write_text(body)
    policies = load_policy_set(tmp_path)
    assert _values("default")["controller"]["centralClusterName"] in policies.config.clusters
    # Roles map to ClusterRole names: all must be in the catalogue the chart installs.
    assert set(policies.config.roles.values()) <= set(CLUSTER_ROLE_RULES)


def test_production_web_settings_validate(monkeypatch: pytest.MonkeyPatch) -> None:
    """With its Secrets in the environment, the realistic web configuration starts."""
    from janus.web.settings import WebSettings

    monkeypatch.setenv("JANUS_WEB_SESSION_SECRET", "s" * 32)
    monkeypatch.setenv("JANUS_OIDC_CLIENT_SECRET", "oidc-secret")
    docs = render(PRODUCTION_VALUES)
    data = yaml.safe_load(find(docs, "ConfigMap", "janus-web", NAMESPACE)["data"]["web.yaml"])
    settings = WebSettings.from_mapping(data)
    settings.validate()
    assert settings.public_origin == "https://janus.prod.example.com"
    assert settings.admin_teams == frozenset({"acme-corp/sre"})


def test_web_reads_the_ledger_branch_the_receiver_writes() -> None:
    """One value, `webhook.ledgerBranch`, tells the receiver where to write and the web app where to
    read past grants (a web app reading the default branch would show no ended grant at all)."""
    def web_settings(*sets: str) -> dict[str, Any]:
        config = find(render(sets=sets), "ConfigMap", "janus-web", NAMESPACE)
        return dict(yaml.safe_load(config["data"]["web.yaml"]))

    assert "ledger_branch" not in web_settings()
    assert web_settings("webhook.ledgerBranch=janus-ledger")["ledger_branch"] == "janus-ledger"
    docs = render(sets=("webhook.ledgerBranch=janus-ledger",))
    receiver = find(docs, "Deployment", "janus-webhook", NAMESPACE)
    assert "--ledger-branch=janus-ledger" in " ".join(receiver["spec"]["template"]["spec"]
                                                    ["containers"][0]["args"])
