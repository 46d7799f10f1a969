"""CLI conventions: ``-o/--output json|yaml`` on commands that print data, shell completion
generated from the parser (bash, zsh), and the ``kubectl-janus`` plugin on PATH."""

from __future__ import annotations

import datetime as dt
import json
import os
import shutil
import subprocess
import sys
import textwrap
import uuid
from pathlib import Path
from typing import Any

import pytest
import yaml

from janus.cli import build_parser, main
from janus.cli.completion import candidates, walk
from janus.cli.output import render
from janus.cli.revoke import grant_data, row_of
from janus.resource import AccessRequestView
from tests.unit.model.helpers import REQUEST_TEXT, policy_files

BIN = Path(sys.executable).parent
NOW = dt.datetime(2026, 11, 27, 6, 0, tzinfo=dt.UTC)


# -- -o/--output ----------------------------------------------------------------------------------


def test_render_json_and_yaml_keep_order_and_unicode() -> None:
    data = {"b": [1, "é"], "a": None}
    assert render(data, "json") == '{\n  "b": [\n    1,\n    "é"\n  ],\n  "a": null\n}\n'
    assert render(data, "yaml") == "b:\n- 1\n- é\na: null\n"
    with pytest.raises(ValueError):
        render(data, "xml")


def test_every_data_command_takes_o_json_yaml() -> None:
    nodes = walk(build_parser())
    for command in ("grants", "plan"):
        assert {"-o", "--output"} <= set(nodes[command].options), command
        assert nodes[command].choices["-o"] == ["json", "yaml"]


def test_grant_data_has_the_table_and_the_times() -> None:
    cr = AccessRequestView.from_cr({
        "metadata": {"name": "alice-x"},
        "spec": {"requester": "alice", "cluster": "prod", "namespace": "payments",
                 "role": "debug"},
        "status": {"phase": "Active", "grantedAt": "2026-11-27T05:00:00Z",
                   "expiresAt": "2026-11-27T07:00:00Z"}})
    data = grant_data(cr, row_of(cr, NOW))
    assert data == {"name": "alice-x", "requester": "alice", "cluster": "prod",
                    "namespace": "payments", "role": "debug", "phase": "Active",
                    "grantedAt": "2026-11-27T05:00:00Z", "expiresAt": "2026-11-27T07:00:00Z",
                    "expiresIn": "1h00m", "revokedBy": None, "revokedAt": None}


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    for path, data in policy_files().items():
        (tmp_path / path).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / path).write_bytes(data)
    request = tmp_path / "requests/prod/payments/alice-payments-inc1234.yaml"
    request.parent.mkdir(parents=True, exist_ok=True)
    request.write_text(REQUEST_TEXT)
    return tmp_path


@pytest.mark.parametrize("fmt", ["json", "yaml"])
def test_plan_output(repo: Path, fmt: str, capsys: pytest.CaptureFixture[str]) -> None:
    path = str(repo / "requests/prod/payments/alice-payments-inc1234.yaml")
    assert main(["plan", "--repo", str(repo), "-o", fmt, path]) == 0
    out = capsys.readouterr().out
    data = json.loads(out) if fmt == "json" else yaml.safe_load(out)
    [entry] = data["requests"]
    assert entry["path"] == "requests/prod/payments/alice-payments-inc1234.yaml"
    assert entry["policy"] == "payments-prod"
    assert entry["approval"].startswith("1 approval from @acme/payments-leads")
    assert [o["kind"] for o in entry["objects"]] == ["ServiceAccount", "RoleBinding", "Secret"]
    # The human default is unchanged: YAML documents with a comment.
    assert main(["plan", "--repo", str(repo), path]) == 0
    assert capsys.readouterr().out.startswith("# requests/prod/payments/")


def test_plan_output_of_an_invalid_request(repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bad = repo / "requests/prod/payments/bad.yaml"
    bad.write_text("a: 1\n")
    assert main(["plan", "--repo", str(repo), "--output", "json", str(bad)]) == 1
    out, err = capsys.readouterr()
    assert json.loads(out) == {"requests": []} and "bad.yaml" in err


@pytest.mark.k8s_real
def test_grants_output_json_and_yaml(cluster: Any, tmp_path: Path,
                                     capsys: pytest.CaptureFixture[str]) -> None:
    from janus.resource import crd
    from tests.integration.controller_env import create_request, ensure_namespace

    api = cluster.admin_client()
    crd.install(api)
    janus_ns = f"janus-{uuid.uuid4().hex[:6]}"
    ensure_namespace(api, janus_ns)
    kubeconfig = tmp_path / "admin.kubeconfig"
    kubeconfig.write_text(yaml.safe_dump(cluster.kubeconfig()))
    name = create_request(api, janus_ns, cluster="prod", namespace="payments")
    common = ["--kubeconfig", str(kubeconfig), "--janus-namespace", janus_ns]
    assert main(["grants", *common, "-o", "json"]) == 0
    grants = json.loads(capsys.readouterr().out)["grants"]
    assert [(g["name"], g["cluster"], g["namespace"], g["phase"]) for g in grants] == [
        (name, "prod", "payments", "Approved")]
    assert main(["grants", *common, "-o", "yaml"]) == 0
    assert yaml.safe_load(capsys.readouterr().out)["grants"] == grants
    # Nothing live in another namespace: still a document, not a message.
    other = f"janus-{uuid.uuid4().hex[:6]}"
    ensure_namespace(api, other)
    assert main(["grants", "--kubeconfig", str(kubeconfig), "--janus-namespace", other,
                 "-o", "json"]) == 0
    assert json.loads(capsys.readouterr().out) == {"grants": []}


# -- completion -----------------------------------------------------------------------------------


def _bash_complete(script: str, command: str, line: str) -> list[str]:
    """COMPREPLY for *line* (ending where TAB is pressed) under the generated script."""
    words = line.split(" ")
    probe = textwrap.dedent(f"""\
        {script}
        COMP_WORDS=({" ".join(repr(w) if w else "''" for w in words)})
        COMP_CWORD={len(words) - 1}
        _{command.replace("-", "_")}_complete
        printf '%s\\n' "${{COMPREPLY[@]}}"
        """)
    out = subprocess.run(["bash", "--norc", "--noprofile"], input=probe, text=True,
                         capture_output=True, check=True).stdout
    return [w for w in out.splitlines() if w]


def test_bash_completion_from_the_parser(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["completion", "bash"]) == 0
    script = capsys.readouterr().out
    assert "complete -o default -F _janus_complete janus" in script
    assert _bash_complete(script, "janus", "janus gr") == ["grants"]
    assert set(_bash_complete(script, "janus", "janus dev ")) == {"up", "cluster"}
    assert _bash_complete(script, "janus", "janus grants -o ") == ["json", "yaml"]
    assert _bash_complete(script, "janus", "janus validate --format j") == ["json"]
    assert "--all" in _bash_complete(script, "janus", "janus grants --")
    # An option's value is skipped when finding the command path.
    assert _bash_complete(script, "janus", "janus grants --kubeconfig kc --a") == ["--all"]
    assert set(_bash_complete(script, "janus", "janus completion ")) == {"bash", "zsh"}
    # kubectl-janus: only the plugin's commands.
    assert set(_bash_complete(script, "kubectl-janus", "kubectl-janus ")) == {
        "request", "revoke", "grants"}


def test_zsh_completion_loads(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    assert main(["completion", "zsh"]) == 0
    script = capsys.readouterr().out
    assert script.startswith("#compdef janus kubectl-janus\n")
    assert "bashcompinit" in script
    zsh = shutil.which("zsh")
    if zsh is None:
        pytest.skip("zsh is not installed here (the script is the bash one under bashcompinit)")
    (tmp_path / "_janus").write_text(script)
    subprocess.run([zsh, "-f", "-c", f"autoload -U compinit && compinit -u && "
                    f"source {tmp_path / '_janus'} && whence -w _janus_complete"],
                   check=True, capture_output=True)


def test_python_candidates_agree_with_the_script() -> None:
    nodes = walk(build_parser())
    assert candidates(nodes, ["gr"]) == ["grants"]
    assert candidates(nodes, ["grants", "-o", ""]) == ["json", "yaml"]
    assert candidates(nodes, ["grants", "--kubeconfig", ""]) == []
    assert candidates(nodes, ["dev", "u"]) == ["up"]


# -- kubectl plugin -------------------------------------------------------------------------------


def _path_env() -> dict[str, str]:
    return {**os.environ, "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}"}


def test_kubectl_janus_runs_from_the_venv_bin() -> None:
    plugin = BIN / "kubectl-janus"
    assert plugin.exists(), "kubectl-janus missing: reinstall (make venv)"
    done = subprocess.run([str(plugin), "grants", "--help"], capture_output=True, text=True,
                          check=True)
    assert done.stdout.startswith("usage: kubectl janus grants")
    assert "-o FORMAT, --output FORMAT" in done.stdout
    top = subprocess.run([str(plugin), "--help"], capture_output=True, text=True, check=True)
    commands = {line.split()[0] for line in top.stdout.splitlines()
                if line.startswith("    ") and not line.startswith("     ")}
    assert commands == {"request", "revoke", "grants"}
    bad = subprocess.run([str(plugin), "nope"], capture_output=True, text=True)
    assert bad.returncode == 2 and "kubectl janus" in bad.stderr


def test_kubectl_finds_the_plugin_on_path() -> None:
    kubectl = shutil.which("kubectl", path=_path_env()["PATH"])
    if kubectl is None:
        pytest.skip("no kubectl here")
    done = subprocess.run([kubectl, "janus", "revoke", "--help"], capture_output=True,
                          text=True, env=_path_env(), timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("usage: kubectl janus revoke")


def test_kubectl_complete_janus_answers_like_cobra() -> None:
    helper = BIN / "kubectl_complete-janus"
    assert helper.exists()
    done = subprocess.run([str(helper), "grants", "-o", ""], capture_output=True, text=True,
                          check=True)
    assert done.stdout.splitlines() == ["json", "yaml", ":4"]
