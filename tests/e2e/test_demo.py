"""`make demo` works: `janus dev up` starts the whole flow, a by-hand request PR approved and
merged on the simulator becomes an Active grant, and Ctrl-C stops every process it started."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml
from github import Auth, Github
from kubernetes import client, config

from janus.dev.controlplane.ports import free_port

pytestmark = pytest.mark.k8s_real

REQUEST = """\
apiVersion: janus.dev/v1alpha1
kind: AccessRequest
metadata:
  name: alice-payments-demo
spec:
  requester: alice
  cluster: prod
  namespace: payments
  role: pod-exec
  duration: 10m
  reason: "INC-4242: checkout pods restart in a loop"
  ticket: INC-4242
"""


def _processes_mentioning(text: str) -> list[int]:
    pids = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode()
        except OSError:
            continue
        if text in cmdline:
            pids.append(int(entry.name))
    return pids


def _github(state: dict, login: str) -> Github:
    return Github(auth=Auth.Token(state["tokens"][login]), base_url=state["base_url"],
                  retry=None, seconds_between_requests=None, seconds_between_writes=None,
                  timeout=10)


def test_demo_runs_the_whole_flow_and_stops_cleanly(tmp_path: Path) -> None:
    state_dir = tmp_path / "demo"
    web_port = free_port()
    demo = subprocess.Popen(
        [sys.executable, "-m", "janus", "dev", "up", "--state-dir", str(state_dir),
         "--web-port", str(web_port)],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )
    output: list[str] = []
    try:
        deadline = time.monotonic() + 180
        assert demo.stdout is not None
        while time.monotonic() < deadline:
            line = demo.stdout.readline()
            if not line:
                break
            output.append(line)
            if "Press Ctrl-C" in line:
                break
        assert any("Press Ctrl-C" in line for line in output), "".join(output)
        assert any("[prod] ready" in line for line in output)  # progress was printed

        state = json.loads((state_dir / "github-sim.json").read_text())
        repo = _github(state, "alice").get_repo(state["repo"])
        main = repo.get_git_ref("heads/main")
        repo.create_git_ref("refs/heads/alice-payments-demo", main.object.sha)
        repo.create_file("requests/prod/payments/alice-payments-demo.yaml", "Request access",
                         REQUEST, branch="alice-payments-demo")
        pr = repo.create_pull(base="main", head="alice-payments-demo",
                              title="Access: prod/payments", body="INC-4242")
        bob_pr = _github(state, "bob").get_repo(state["repo"]).get_pull(pr.number)
        bob_pr.create_review(event="APPROVE")
        bob_pr.merge()

        api = config.new_client_from_config(str(state_dir / "prod" / "admin.kubeconfig"))
        custom = client.CustomObjectsApi(api)
        phase = None
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and phase != "Active":
            items = custom.list_namespaced_custom_object(
                "janus.dev", "v1alpha1", "janus", "accessrequests")["items"]
            phases = [i.get("status", {}).get("phase") for i in items]
            phase = phases[0] if phases else None
            time.sleep(0.5)
        assert phase == "Active", (state_dir / "logs" / "webhook.log").read_text()[-3000:]
        item = items[0]
        assert item["spec"]["provenance"]["approvers"] == ["bob"]
        secrets = client.CoreV1Api(api).list_namespaced_secret(
            "janus-tokens", label_selector="janus.dev/request").items
        assert [s.metadata.name for s in secrets] == [f"janus-token-{item['metadata']['name']}"]
        # The demo's credentials are private to the user running it.
        for private in ("github-sim.json", "github-app.pem", "webhook-secret",
                        "controller.kubeconfig"):
            assert (state_dir / private).stat().st_mode & 0o077 == 0, private
        assert yaml.safe_load((state_dir / "controller.kubeconfig").read_text())["users"][0][
            "user"].keys() == {"token"}  # the controller runs as its ServiceAccount, not admin
        # The ledger (issue 10): git log of the access repository tells the request, the grant
        # and its end; the ended request leaves requests/.
        _github(state, "alice").get_repo(state["repo"]).get_pull(pr.number) \
            .create_issue_comment("/janus revoke demo done")
        ended = f"janus: revoked alice → prod/payments (PR #{pr.number}) by alice: demo done"
        deadline = time.monotonic() + 60
        lines: list[str] = []  # every line of the recent commit messages (a batch has several)
        while time.monotonic() < deadline and ended not in lines:
            lines = [line for c in repo.get_commits(sha="main")[:8]
                     for line in c.commit.message.splitlines()]
            time.sleep(0.5)
        assert ended in lines, lines
        assert any(s.startswith(f"janus: granted alice → prod/payments (PR #{pr.number})")
                   for s in lines), lines
        assert any(f"#{pr.number}" in s and s.startswith("Merge pull request") for s in lines)
        paths = [e.path for e in repo.get_git_tree("main", recursive=True).tree]
        assert "requests/prod/payments/alice-payments-demo.yaml" not in paths
        assert any(p.startswith("ledger/") and p.endswith(f"-pr{pr.number}-"
                                                          f"{item['metadata']['name']}.yaml")
                   for p in paths), paths
        # The same story in plain git, where the demo says the access repository lives.
        repo_dir = state_dir / "github" / "repos" / "acme__access.git"
        printed = f"git --git-dir {repo_dir} log --oneline main"
        assert any(printed in line for line in output), "".join(output)
        log = subprocess.run(["git", "--git-dir", str(repo_dir), "log", "--format=%B", "main"],
                             capture_output=True, text=True, check=True).stdout.splitlines()
        assert any(line.startswith(f"Merge pull request #{pr.number}") for line in log), log
        assert any(line.startswith(f"janus: granted alice → prod/payments (PR #{pr.number})")
                   for line in log), log
        assert ended in log, log
    finally:
        demo.send_signal(signal.SIGINT)
        try:
            demo.wait(timeout=60)
        finally:
            if demo.poll() is None:
                demo.kill()
    assert demo.returncode == 0
    time.sleep(0.5)
    leftovers = [pid for pid in _processes_mentioning(str(state_dir)) if pid != os.getpid()]
    assert leftovers == [], f"processes left running: {leftovers}"
