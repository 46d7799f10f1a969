"""The debug flow in a real browser (Debian's Chromium via Playwright), issue 13 item 1: My
access offers 'Debug container' for a pod-debug grant; the page lists the pods and the
allow-listed images; starting one adds an ephemeral container with the grant's token and
attaches a terminal to it, which shows what kwok's attach streams (a real kubelet would show the
debug container's shell). No console error (the CSP forbids inline script and unnonced styles).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from kubernetes import client

from janus.dev.controlplane import LocalCluster
from janus.dev.controlplane.kwok_config import ATTACH_FILE
from tests.browser_support import (
    CHROMIUM,
    VENDOR,
    collect_problems,
    dev_sign_in,
    launch_chromium,
    require,
    wait_for,
)
from tests.web.terminal.support import AppServer
from tests.web.terminal.test_role_gate import GATE_CONFIG, _grant_of

pytestmark = pytest.mark.k8s_real

SCREEN = """() => { const b = window.janusDebug.term.buffer.active; const out = [];
  for (let i = 0; i < b.length; i++) out.push(b.getLine(i).translateToString(true));
  return out.join("\\n"); }"""


@pytest.fixture(scope="module")
def dev_replica(web_kube: Path, terminal_dir: Path) -> Iterator[AppServer]:
    repo = terminal_dir / "debug-browser-access"
    (repo / "policies").mkdir(parents=True, exist_ok=True)
    (repo / "policies" / "janus.yaml").write_text(GATE_CONFIG)
    with AppServer.running(web_kube, terminal_dir / "debug-browser.db", auth_mode="dev",
                           access_repo_dir=repo) as replica:
        yield replica


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    require(CHROMIUM.exists(), "no /usr/bin/chromium (make browser installs it)")
    require((VENDOR / "xterm" / "xterm.js").exists(), "no vendored assets (make assets)")
    with launch_chromium() as chromium:
        yield chromium


def test_debug_flow_in_chromium(
    browser, dev_replica: AppServer, make_grant, cluster: LocalCluster,
) -> None:
    grant = _grant_of(cluster, make_grant, "pod-debug")
    context = browser.new_context()
    page = context.new_page()
    problems: list[str] = []
    collect_problems(page, problems)
    page.on("response",  # which resource answered 404, should one
            lambda r: problems.append(f"{r.status} {r.url}") if r.status == 404 else None)
    try:
        dev_sign_in(page, f"{dev_replica.base}/", "alice")
        row = page.locator(f"#grant-{grant.cr_name}")
        wait_for(lambda: row.count() == 1, 10, "the grant on My access")
        assert row.locator("[data-testid=open-debug]").count() == 1
        assert row.locator("text=Open terminal").count() == 0  # pod-debug has no exec
        row.locator("[data-testid=open-debug]").click()
        page.wait_for_url(f"**/debug/{grant.cr_name}")
        options = page.locator("[data-testid=debug-target] option")
        wait_for(lambda: options.count() == 2, 10, "pods listed")
        assert page.locator("[data-testid=debug-image] option").all_text_contents() == [
            "busybox:1.36"]
        page.select_option("[data-testid=debug-target]", "target/app")
        page.click("[data-testid=debug-start]")
        status = page.locator("[data-testid=debug-status]")
        wait_for(lambda: (status.text_content() or "").startswith("Attached: target/janus-debug-"),
                 30, "the terminal attached")
        container = (status.text_content() or "").split("target/")[1].strip()
        pod = client.CoreV1Api(cluster.admin_client()).read_namespaced_pod(
            "target", grant.namespace)
        [added] = [c for c in pod.spec.ephemeral_containers or [] if c.name == container]
        assert added.image == "busybox:1.36" and added.target_container_name == "app"
        marker = f"kwok-attach-{container}"
        with (cluster.workdir / ATTACH_FILE).open("a") as f:
            f.write(f"2026-01-01T00:00:00Z stdout F {marker}\n")
        wait_for(lambda: marker in str(page.evaluate(SCREEN)), 30, "the attached stream")
        assert not problems, problems

        # The terminal URL of the same grant says what the role allows and links here.
        page.goto(f"{dev_replica.base}/terminal/{grant.cr_name}")
        refusal = page.locator("[data-testid=role-refusal]")
        assert "does not allow a terminal (exec) into pods" in (refusal.text_content() or "")
        assert page.get_attribute("[data-testid=role-offer]", "href") == (
            f"/debug/{grant.cr_name}")
    finally:
        context.close()
