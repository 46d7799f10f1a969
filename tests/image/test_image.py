"""The container image (`make image` -> janus:dev), run under podman as Kubernetes runs it:
user 10001, read-only root filesystem, no capabilities.

* the image itself: `janus --version`, its user, entrypoint, size, nothing writable, no
  package manager, shell interpreter or compiler inside;
* `janus web` in a container serves its pages with the pinned xterm.js and htmx;
* against the local control plane: `janus controller` in a container grants an AccessRequest
  (Active), and `janus web` in a second container opens the terminal page and runs a command in
  the target pod over its WebSocket, as the browser does;
* the whole GitOps path with the GitHub simulator: a request PR approved and merged on the
  simulator reaches `janus webhook` in a container, the controller container makes it Active,
  and the web container's terminal runs a command for the requester, over the terminal
  protocol and then in Chromium (xterm.js).
"""

from __future__ import annotations

import asyncio
import json
import secrets
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml

import janus
from janus.dev.controlplane import LocalCluster
from tests.browser_support import (
    BUFFER_TEXT,
    CHROMIUM,
    collect_problems,
    launch_chromium,
    require,
    wait_for,
)
from tests.gitops import harness
from tests.image.podman import IMAGE, PODMAN, Container, image_present, podman, run_once
from tests.install.wheel_support import REPO, check_vendor_assets, free_port, wait_http
from tests.integration.controller_env import (
    create_request,
    janus_config,
    prepare_central,
    wait_phase,
)
from tests.k8s_helpers import create_namespace, create_pod
from tests.web.terminal.support import Terminal, web_kubeconfig

pytestmark = pytest.mark.image

SIZE_GOAL_MB = 200
ENTRYPOINT = ["/usr/bin/tini", "--", "/usr/local/bin/janus"]


@pytest.fixture(scope="module")
def image() -> str:
    require(PODMAN is not None, "podman is missing (scripts/install-image-tools.sh)")
    require(image_present(), f"{IMAGE} is not built (make image)")
    return IMAGE


def test_version(image: str) -> None:
    result = run_once("--version")
    assert result.returncode == 0, result.stderr
    assert janus.__version__ in result.stdout + result.stderr


def test_config_user_entrypoint_and_size(image: str) -> None:
    inspect = json.loads(podman("image", "inspect", image).stdout)[0]
    config = inspect["Config"]
    assert config["User"] == "10001:10001"
    assert config["Entrypoint"] == ENTRYPOINT
    assert "PYTHONDONTWRITEBYTECODE=1" in config["Env"]
    size_mb = inspect["Size"] / 1e6
    print(f"{image}: {size_mb:.0f} MB")
    assert size_mb < SIZE_GOAL_MB


INSIDE = """
import os, shutil
print(os.getuid(), os.getgid())
try:
    open("/usr/local/probe", "w")
    print("root filesystem writable")
except OSError:
    print("read-only")
print(sorted(t for t in ("apt", "apt-get", "dpkg", "pip", "pip3", "gcc", "cc", "make", "perl",
                         "bash", "curl", "wget") if shutil.which(t)))
print(len(open("/etc/ssl/certs/ca-certificates.crt").read()) > 100000)
"""


def test_runs_as_10001_read_only_without_build_tools(image: str) -> None:
    result = run_once("-c", INSIDE, entrypoint="/usr/bin/python3")
    assert result.returncode == 0, result.stderr
    assert result.stdout.split("\n")[:4] == ["10001 10001", "read-only", "[]", "True"], \
        result.stdout


def test_web_in_the_image_serves_pages_with_the_pinned_assets(
    image: str, tmp_path: Path
) -> None:
    config = tmp_path / "config"
    config.mkdir()
    (config / "kubeconfig").write_text(yaml.safe_dump({
        "apiVersion": "v1", "kind": "Config",
        "clusters": [{"name": "none", "cluster": {"server": "https://127.0.0.1:9"}}],
        "users": [{"name": "none", "user": {"token": "not-a-real-token"}}],
        "contexts": [{"name": "none", "context": {"cluster": "none", "user": "none"}}],
        "current-context": "none",
    }))
    port = free_port()
    web = Container(["web", "--dev-login", "--host", "127.0.0.1", "--port", str(port),
                     "--kubeconfig", "/config/kubeconfig"],
                    log_path=tmp_path / "web.log", config_dir=config).start()
    try:
        base = f"http://127.0.0.1:{port}"
        try:
            wait_http(base + "/auth/login", 60, web.running)
        except AssertionError as exc:
            raise AssertionError(f"{exc}\n{web.log()[-3000:]}") from None
        checked = check_vendor_assets(base, "/auth/login")
        assert "/static/vendor/xterm/xterm.js" in checked
    finally:
        web.stop()


# --- against the local control plane ------------------------------------------------------------


@dataclass(frozen=True)
class WebContainer:
    """What tests.web.terminal.support.Terminal needs of a replica: its URLs."""

    port: int

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def ws_base(self) -> str:
        return f"ws://127.0.0.1:{self.port}"


@pytest.fixture(scope="module")
def deployed(
    image: str, cluster: LocalCluster, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[str, WebContainer]]:
    """The controller and the web app as containers of the image, on the local control plane."""
    workdir = tmp_path_factory.mktemp("image-e2e")
    config = workdir / "config"
    config.mkdir()
    janus_ns = prepare_central(cluster)
    (config / "controller.kubeconfig").write_text(yaml.safe_dump(cluster.kubeconfig()))
    (config / "janus.yaml").write_text(yaml.safe_dump(janus_config(["central"])))
    web_kc = web_kubeconfig(cluster, config, janus_ns)
    port = free_port()
    (config / "web.yaml").write_text(yaml.safe_dump({
        "public_url": f"http://127.0.0.1:{port}",
        "session_secret": "image-tests-session-secret-0123456789",
        "kubeconfig": f"/config/{web_kc.name}",
        "janus_namespace": janus_ns,
        "database_url": "sqlite:////data/web.db",
        "repo": "acme/access",
        "auth_mode": "proxy",
        "proxy_addresses": ["127.0.0.1"],
        # No GitHub here to confirm organization membership (the whole-path test below has one).
        "login_open_to_any_github_user": True,
    }))
    controller = Container(
        ["controller", "--config", "/config/janus.yaml", "--namespace", janus_ns, "--verbose",
         "--central-cluster-name", "central", "--standalone"],
        log_path=workdir / "controller.log", config_dir=config,
        env={"KUBECONFIG": "/config/controller.kubeconfig", "JANUS_TEST_MIN_DURATION": "1s"},
    ).start()
    web = Container(["web", "--config", "/config/web.yaml", "--host", "127.0.0.1",
                     "--port", str(port)],
                    log_path=workdir / "web.log", config_dir=config).start()
    try:
        try:
            wait_http(f"http://127.0.0.1:{port}/auth/login", 90, web.running)
        except AssertionError as exc:
            raise AssertionError(f"{exc}\n{web.log()[-3000:]}") from None
        yield janus_ns, WebContainer(port)
    finally:
        web.stop()
        controller.stop()
        print("--- controller container ---\n" + controller.log()[-4000:])
        print("--- web container ---\n" + web.log()[-4000:])


def test_controller_grants_and_the_terminal_runs_a_command(
    deployed: tuple[str, WebContainer], cluster: LocalCluster
) -> None:
    janus_ns, web = deployed
    api = cluster.admin_client()
    namespace = f"t-{uuid.uuid4().hex[:10]}"
    create_namespace(api, namespace)
    create_pod(api, namespace)
    cr_name = create_request(api, janus_ns, cluster="central", namespace=namespace,
                             requester="alice", duration="1h")
    wait_phase(api, janus_ns, cr_name, "Active", timeout=60)

    # The terminal page, as alice behind the trusted proxy, with its assets (xterm.js: 200, pinned).
    checked = check_vendor_assets(web.base, f"/terminal/{cr_name}", {"X-Forwarded-User": "alice"})
    assert "/static/vendor/xterm/xterm.js" in checked

    async def command() -> None:
        term = await Terminal.open(web, cr_name, "alice")  # type: ignore[arg-type]
        await term.wait_control("connected")
        await term.type("echo from-the-image-$((6*7))\n")
        await term.wait_output(r"from-the-image-42")

    asyncio.run(command())


# --- the whole path: PR on the GitHub simulator -> receiver -> controller -> terminal ------------


@pytest.fixture(scope="module")
def github_sim() -> Iterator[tuple[Any, int, str]]:
    """The GitHub simulator on 127.0.0.1 (in this process), with acme's people and a Janus App."""
    from janus.dev.github_sim import GitHubSimulator

    with GitHubSimulator.start() as sim:
        harness.setup_people(sim)
        app_id, key = sim.create_app("janus-image")
        yield sim, app_id, key


def test_a_request_pr_becomes_active_and_its_terminal_runs_a_command(
    image: str, cluster: LocalCluster, github_sim: tuple[Any, int, str],
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    sim, app_id, key = github_sim
    sim.set_delivery_mode("sync")
    workdir = tmp_path_factory.mktemp("image-gitops")
    config = workdir / "config"
    config.mkdir()
    janus_ns = prepare_central(cluster)
    repo = harness.new_repo(sim)
    installation = sim.install_app(app_id, repo)
    secret = secrets.token_hex(20)
    # The cluster serves as "prod", the cluster the repository's requests name.
    kubeconfig = yaml.safe_dump(cluster.kubeconfig())
    files = {"app.pem": key, "webhook-secret": secret, "admin.kubeconfig": kubeconfig,
             "janus.yaml": (REPO / "policies" / "janus.yaml").read_text(),
             # A JanusConfig file must be named after its metadata.name: janus.yaml.
             "controller/janus.yaml": yaml.safe_dump(janus_config(["prod"]))}
    for name, text in files.items():
        (config / name).parent.mkdir(exist_ok=True)
        (config / name).write_text(text)
    web_kc = web_kubeconfig(cluster, config, janus_ns)
    receiver_port, web_port = free_port(), free_port()
    (config / "web.yaml").write_text(yaml.safe_dump({
        "public_url": f"http://127.0.0.1:{web_port}",
        "session_secret": "image-tests-session-secret-0123456789",
        "kubeconfig": f"/config/{web_kc.name}", "janus_namespace": janus_ns,
        "database_url": "sqlite:////data/web.db", "repo": repo,
        "auth_mode": "proxy", "proxy_addresses": ["127.0.0.1"],
        # Only the repository's organization (acme) gets in: asked of the simulator.
        "github_api_url": sim.base_url,
    }))
    receiver = Container(
        ["webhook", "--config", "/config/janus.yaml", "--repo", repo,
         "--github-api-url", sim.base_url, "--app-id", str(app_id),
         "--app-key", "/config/app.pem", "--installation-id", str(installation),
         "--no-throttle", "--secret-file", "/config/webhook-secret",
         "--kubeconfig", "/config/admin.kubeconfig", "--namespace", janus_ns,
         "--host", "127.0.0.1", "--port", str(receiver_port), "--db", "/data/deliveries.sqlite",
         "--reconcile-interval", "0"],
        log_path=workdir / "receiver.log", config_dir=config)
    controller = Container(
        ["controller", "--config", "/config/controller/janus.yaml", "--namespace", janus_ns,
         "--central-cluster-name", "prod", "--standalone"],
        log_path=workdir / "controller.log", config_dir=config,
        env={"KUBECONFIG": "/config/admin.kubeconfig"})
    web = Container(["web", "--config", "/config/web.yaml", "--host", "127.0.0.1",
                     "--port", str(web_port)], log_path=workdir / "web.log", config_dir=config,
                    secret_env={"JANUS_GITHUB_TOKEN": sim.token("root")})
    containers = [receiver.start(), controller.start(), web.start()]
    try:
        for name, url, container in (
            ("receiver", f"http://127.0.0.1:{receiver_port}/healthz", receiver),
            ("web", f"http://127.0.0.1:{web_port}/healthz", web),
        ):
            try:
                wait_http(url, 90, container.running)
            except AssertionError as exc:
                raise AssertionError(f"{name}: {exc}\n{container.log()[-3000:]}") from None
        sim.add_webhook(repo, f"http://127.0.0.1:{receiver_port}/webhooks/github", secret,
                        events=["*"])
        api = cluster.admin_client()
        namespace = f"payments-{uuid.uuid4().hex[:8]}"
        create_namespace(api, namespace)
        create_pod(api, namespace)

        name = harness.request_name()
        number = harness.open_request_pr(sim, repo, name, namespace=namespace)
        sim.review(repo, number, "bob", "APPROVE")
        sim.merge(repo, number, actor="root")
        cr = harness.cr_name(name, "prod", namespace)
        wait_phase(api, janus_ns, cr, "Active", timeout=90)

        checked = check_vendor_assets(f"http://127.0.0.1:{web_port}", f"/terminal/{cr}",
                                      {"X-Forwarded-User": "alice"})
        assert "/static/vendor/xterm/xterm.js" in checked

        async def command() -> None:
            term = await Terminal.open(WebContainer(web_port), cr, "alice")  # type: ignore[arg-type]
            await term.wait_control("connected")
            await term.type("echo via-pull-request-$((40+2))\n")
            await term.wait_output(r"via-pull-request-42")

        asyncio.run(command())
        # And in the browser: alice (behind the trusted proxy) opens the terminal page in
        # Chromium, connects to the pod and runs a command in xterm.js.
        require(CHROMIUM.exists(), f"{CHROMIUM} is missing (make browser)")
        browser_terminal(f"http://127.0.0.1:{web_port}/terminal/{cr}", "alice")
    finally:
        for container in reversed(containers):
            container.stop()
        for container in containers:
            print(f"--- {container.log_path.name} ---\n{container.log()[-3000:]}")
    logs = "".join(c.log() for c in containers)
    assert secret not in logs and "BEGIN" not in logs  # no secret in any container's output


def browser_terminal(url: str, login: str) -> None:
    """Open *url* in Chromium as *login* (the proxy header), connect pane 0, run a command."""
    problems: list[str] = []
    with launch_chromium() as chromium:
        context = chromium.new_context(  # type: ignore[attr-defined]
            viewport={"width": 1200, "height": 800},
            extra_http_headers={"X-Forwarded-User": login})
        page = context.new_page()
        collect_problems(page, problems)
        page.goto(url)
        pane = page.locator(".term-workspace:not([hidden]) .term-pane").first
        wait_for(lambda: pane.locator(".term-pod option").count() > 0, 15, "pods listed")
        pane.locator(".term-pod").select_option(index=0)
        pane.locator(".term-connect").click()
        wait_for(lambda: "Connected" in (pane.locator(".term-status").text_content() or ""),
                 20, "connected")
        screen = lambda: str(page.evaluate(BUFFER_TEXT, 0))  # noqa: E731
        wait_for(lambda: "$ " in screen(), 15, "a prompt")
        page.locator('[data-pane-index="0"] .xterm-helper-textarea').focus()
        page.keyboard.type("echo in-chromium-$((6*7))")
        page.keyboard.press("Enter")
        wait_for(lambda: "in-chromium-42" in screen(), 10, "the command's output")
        context.close()
    assert not problems, problems
