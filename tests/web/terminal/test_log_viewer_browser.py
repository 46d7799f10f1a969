"""The log viewer in a real browser (Debian's Chromium via Playwright): pick a container, read the
log through the grant's token, download it; once the grant is revoked the viewer says so. No
console error (the CSP forbids inline script: a violation would show here)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from kubernetes import client

from janus import names, resource
from janus.dev.controlplane import LocalCluster
from tests.browser_support import (
    CHROMIUM,
    collect_problems,
    dev_sign_in,
    launch_chromium,
    require,
    wait_for,
)
from tests.web.terminal.support import AppServer
from tests.web.terminal.test_log_viewer import _as_pod_logs

pytestmark = pytest.mark.k8s_real


@pytest.fixture(scope="module")
def dev_replica(web_kube: Path, terminal_dir: Path) -> Iterator[AppServer]:
    with AppServer.running(web_kube, terminal_dir / "logs-browser.db", auth_mode="dev") as replica:
        yield replica


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    require(CHROMIUM.exists(), "no /usr/bin/chromium (make browser installs it)")
    with launch_chromium() as chromium:
        yield chromium


def test_log_viewer_in_chromium(
    browser, dev_replica: AppServer, make_grant, cluster: LocalCluster, tmp_path: Path,
) -> None:
    grant = make_grant()
    _as_pod_logs(cluster, grant)
    context = browser.new_context(accept_downloads=True)
    page = context.new_page()
    problems: list[str] = []
    collect_problems(page, problems)
    try:
        dev_sign_in(page, f"{dev_replica.base}/logs/{grant.cr_name}", "alice")
        target = page.locator("[data-testid=logs-target] option")
        wait_for(lambda: target.count() == 2, 10, "containers listed")
        assert target.all_text_contents() == ["target / app", "target / sidecar"]
        page.select_option("[data-testid=logs-target]", "target/sidecar")
        page.click("#logs-show")
        output = page.locator("[data-testid=logs-output]")
        wait_for(lambda: "ready" in (output.text_content() or ""), 10, "the log")
        assert "janus test pod started" in (output.text_content() or "")
        href = page.get_attribute("[data-testid=logs-download]", "href") or ""
        assert "container=sidecar" in href and "download=true" in href
        with page.expect_download() as info:
            page.click("[data-testid=logs-download]")
        saved = tmp_path / "log.txt"
        info.value.save_as(saved)
        assert saved.read_text().splitlines()[-1] == "ready"
        assert info.value.suggested_filename.endswith("-target-sidecar.log")
        assert not problems, problems

        client.CustomObjectsApi(cluster.admin_client()).patch_namespaced_custom_object_status(
            resource.GROUP, resource.VERSION, names.JANUS_NAMESPACE, resource.PLURAL,
            grant.cr_name, {"status": {"phase": "Revoked"}})
        page.click("#logs-show")
        status = page.locator("#logs-status")
        wait_for(lambda: "409" in (status.text_content() or ""), 10, "the refusal")
        assert "Revoked" in (status.text_content() or "")
    finally:
        context.close()


def test_resource_view_in_chromium(
    browser, dev_replica: AppServer, make_grant, cluster: LocalCluster,
) -> None:
    grant = make_grant()
    _as_pod_logs(cluster, grant, "janus-view")
    context = browser.new_context()
    page = context.new_page()
    problems: list[str] = []
    collect_problems(page, problems)
    try:
        dev_sign_in(page, f"{dev_replica.base}/view/{grant.cr_name}", "alice")
        pods = page.locator("[data-testid=view-pods]")
        wait_for(lambda: "target" in (pods.text_content() or ""), 10, "pods listed")
        assert "Running" in (pods.text_content() or "")
        for kind in ("deployments", "replicasets", "services", "configmaps", "events"):
            box = page.locator(f"[data-testid=view-{kind}]")
            wait_for(lambda box=box: "loading" not in (box.text_content() or ""), 10, kind)
            assert "not allowed" not in (box.text_content() or ""), kind
        assert page.locator("[data-testid=view-secrets]").count() == 0
        assert not problems, problems
    finally:
        context.close()
