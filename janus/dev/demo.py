"""``janus dev up``: the whole Janus flow on this machine, on embedded defaults.

What it starts, in order (progress lines on stderr; everything listens on 127.0.0.1):

1. two real clusters, ``prod`` (central cluster and a target) and ``staging`` (a second target),
   each etcd + kube-apiserver + kwok, with demo namespaces and pods;
2. the Janus objects a Helm install would create: CRDs, the ``janus`` and ``janus-tokens``
   namespaces, the catalogue ClusterRoles on both targets, the controller's least-privilege
   RBAC, and the ``staging`` kubeconfig Secret (a token of the controller's ServiceAccount there,
   not an admin credential);
3. the GitHub simulator with the demo organisation and the access repository seeded from this
   project's ``policies/``, ``requests/`` and ``.github/CODEOWNERS``;
4. ``janus controller``, ``janus webhook`` and ``janus web`` as child processes, each with a log
   file under the state directory.

Ctrl-C (or SIGTERM) stops exactly what was started, children first.
"""

from __future__ import annotations

import base64
import json
import os
import secrets
import shutil
import sys
import time
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml

from janus import names
from janus.dev.controlplane import LocalCluster
from janus.dev.controlplane.ports import free_port
from janus.dev.controlplane.process import ManagedProcess

if TYPE_CHECKING:
    from janus.dev.github_sim.demo import DemoWorld

REPO_ROOT = Path(__file__).resolve().parents[2]
# The demo's access repository is this project's template plus a non-exec role: pod-logs in the
# catalogue and in payments-prod (the project's own example keeps one role, so `janus request`
# needs no --role there). Written to <state>/template; the controller and receiver read its
# JanusConfig, the simulator's repository is seeded from it.
DEMO_EDITS = {
    "policies/janus.yaml": ("    pod-exec: {clusterRole: janus-pod-exec}\n",
                            "    pod-exec: {clusterRole: janus-pod-exec}\n"
                            "    pod-logs: {clusterRole: janus-pod-logs}\n"),
    "policies/payments-prod.yaml": ("  roles: [pod-exec]\n", "  roles: [pod-exec, pod-logs]\n"),
}

# Namespaces (and pods in them) the demo policies grant on each cluster.
DEMO_WORKLOADS: dict[str, dict[str, list[tuple[str, tuple[str, ...]]]]] = {
    "prod": {
        "payments": [("checkout-7d9f", ("app", "istio-proxy")), ("ledger-0", ("app",))],
        "payments-api": [("api-5c6b", ("app",))],
    },
    "staging": {"payments": [("checkout-staging", ("app",))]},
}
CONTROLLER_TOKEN_SECONDS = 7 * 24 * 3600

# Who the demo users are and what each may do, shown on the dev login page (janus web's
# dev_login_users) so a newcomer knows whom to sign in as. Matches github_sim/demo.py's seed,
# policies/ and .github/CODEOWNERS.
DEMO_USERS: dict[str, str] = {
    "alice": "payments developer: requests access (prod/payments up to 4h with an INC- ticket)",
    "bob": "payments lead: approves and merges alice's prod/payments requests",
    "carol": "payments lead: approves and merges like bob",
    "root": "SRE and org admin: the admin view, revokes any grant",
}
# The request the printed instructions walk through. Its ticket differs from the seeded
# requests/prod/payments/alice-payments-inc1234.yaml, so the CLI example names another file.
DEMO_FORM = {
    "Cluster": "prod",
    "Namespaces": "payments",
    "Role": "pod-exec",
    "Duration": "1h",
    "Reason": "INC-4242: checkout pods restart in a loop",
    "Ticket": "INC-4242",
}

# A request for a non-exec role, opened by alice as a pull request once everything runs: the
# instructions walk through approving it and reading the pod's log in the log viewer.
DEMO_LOGS_NAME = "alice-payments-logs-inc5151"
DEMO_LOGS_REQUEST = f"""\
apiVersion: janus.dev/v1alpha1
kind: AccessRequest
metadata:
  name: {DEMO_LOGS_NAME}
spec:
  requester: alice
  cluster: prod
  namespace: payments
  role: pod-logs
  duration: 1h
  reason: "INC-5151: read the checkout logs, no shell needed"
  ticket: INC-5151
"""

Progress = Callable[[str], None]


@dataclass
class DemoEnvironment:
    """Everything ``janus dev up`` started, so it can all be stopped again."""

    state_dir: Path
    clusters: dict[str, LocalCluster] = field(default_factory=dict)
    processes: list[ManagedProcess] = field(default_factory=list)
    simulator: Any = None
    # janus dev up --postgres: one PostgreSQL server for the receiver's and the web app's data.
    postgres: Any = None
    urls: dict[str, str] = field(default_factory=dict)
    # The demo pods' isolated root and its exec shims (janus/dev/podroot.py); None: on the host.
    pod_root: Path | None = None
    # The access repository's bare git repository (the simulator keeps it in the state dir, so
    # `git log` shows the ledger — also after the demo stopped).
    access_repo_dir: Path | None = None

    def stop(self, progress: Progress) -> None:
        for proc in reversed(self.processes):
            progress(f"[demo] stopping {proc.name}")
            proc.stop()
        self.processes.clear()
        if self.postgres is not None:
            progress("[demo] stopping PostgreSQL")
            self.postgres.stop()
            self.postgres = None
        if self.simulator is not None:
            progress("[demo] stopping the GitHub simulator")
            self.simulator.stop()
            self.simulator = None
        for name, cluster in reversed(list(self.clusters.items())):
            progress(f"[{name}] stopping")
            cluster.stop()
        self.clusters.clear()
        if self.pod_root is not None:
            shutil.rmtree(self.pod_root, ignore_errors=True)
            self.pod_root = None


def _write_private(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as fh:
        fh.write(text)
    return path


def _create_workloads(cluster: LocalCluster) -> None:
    from kubernetes import client

    with cluster.admin_client() as api:
        core = client.CoreV1Api(api)
        for namespace, pods in DEMO_WORKLOADS.get(cluster.name, {}).items():
            core.create_namespace(client.V1Namespace(metadata=client.V1ObjectMeta(name=namespace)))
            for pod, containers in pods:
                core.create_namespaced_pod(
                    namespace,
                    client.V1Pod(
                        metadata=client.V1ObjectMeta(name=pod, labels={"app": pod.split("-")[0]}),
                        spec=client.V1PodSpec(
                            node_name="kwok-node-0",
                            containers=[client.V1Container(name=c, image="busybox")
                                        for c in containers],
                        ),
                    ),
                )


def _install_catalogue(cluster: LocalCluster) -> None:
    from kubernetes import client

    from janus.policy.roles import CLUSTER_ROLE_RULES, cluster_role_manifest

    with cluster.admin_client() as api:
        rbac = client.RbacAuthorizationV1Api(api)
        for role in CLUSTER_ROLE_RULES:
            try:
                rbac.create_cluster_role(
                    client.V1ClusterRole.model_validate(cluster_role_manifest(role))
                )
            except client.ApiException as exc:
                if exc.status != 409:
                    raise


def _controller_kubeconfig(cluster: LocalCluster, *, central: bool) -> dict:
    """A kubeconfig for the controller's ServiceAccount on *cluster*, bound to exactly the
    shipped RBAC (central roles where it is the central cluster, target role everywhere)."""
    from kubernetes import client

    from janus.controller import rbac
    from janus.controller.rbac import default_catalogue

    with cluster.admin_client() as api:
        core = client.CoreV1Api(api)
        for ns in (names.JANUS_NAMESPACE, names.TOKENS_NAMESPACE):
            try:
                core.create_namespace(client.V1Namespace(metadata=client.V1ObjectMeta(name=ns)))
            except client.ApiException as exc:
                if exc.status != 409:
                    raise
        try:
            core.create_namespaced_service_account(
                names.JANUS_NAMESPACE,
                client.V1ServiceAccount(metadata=client.V1ObjectMeta(name=rbac.CONTROLLER_SA)),
            )
        except client.ApiException as exc:
            if exc.status != 409:
                raise
        docs = [rbac.target_cluster_role(default_catalogue()),
                rbac.target_binding(names.JANUS_NAMESPACE)]
        if central:
            docs = [*rbac.central_roles(), *docs]
        rbac.apply(api, docs)
        issued = core.create_namespaced_service_account_token(
            rbac.CONTROLLER_SA,
            names.JANUS_NAMESPACE,
            client.AuthenticationV1TokenRequest(
                spec=client.V1TokenRequestSpec(
                    audiences=[], expiration_seconds=CONTROLLER_TOKEN_SECONDS
                )
            ),
        ).status
    if issued is None or not issued.token:
        raise RuntimeError("the API server issued no token for the controller's ServiceAccount")
    return cluster.kubeconfig(token=issued.token)


def _register_target(central: LocalCluster, name: str, kubeconfig: dict) -> None:
    """The kubeconfig Secret the controller discovers target clusters by."""
    from kubernetes import client

    body = client.V1Secret(
        metadata=client.V1ObjectMeta(
            name=f"cluster-{name}", labels={names.LABEL_CLUSTER: name}
        ),
        data={"kubeconfig": base64.b64encode(yaml.safe_dump(kubeconfig).encode()).decode()},
    )
    with central.admin_client() as api:
        client.CoreV1Api(api).create_namespaced_secret(names.JANUS_NAMESPACE, body)


def _wait_http(url: str, proc: ManagedProcess, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not proc.running():
            raise RuntimeError(f"{proc.name} exited early:\n{proc.log_tail()}")
        try:
            with urllib.request.urlopen(url, timeout=2):  # noqa: S310 - loopback URL we built
                return
        except OSError:
            time.sleep(0.2)
    raise RuntimeError(f"{proc.name} not answering at {url} after {timeout}s:\n{proc.log_tail()}")


def _spawn(env: DemoEnvironment, name: str, argv: list[str], extra_env: dict[str, str]) -> Any:
    proc = ManagedProcess(
        name, argv, env.state_dir / "logs" / f"{name}.log", env={**os.environ, **extra_env}
    )
    env.processes.append(proc)
    return proc


def _prepare_pod_root(progress: Progress) -> Path | None:
    """The demo pods' isolated root (a terminal's ``ls /`` shows it, not this machine), or None
    with a warning when bubblewrap or busybox-static is missing."""
    from janus.dev import podroot

    try:
        work = podroot.prepare()
    except podroot.IsolationUnavailable as exc:
        progress(f"[demo] WARNING: {exc}; pod shells will run on this machine's file system")
        return None
    progress("[demo] pod shells run under bubblewrap in a minimal busybox root "
             f"(cached in {podroot.default_cache()})")
    return work


@dataclass(frozen=True)
class _GitHubSide:
    """What the simulator step leaves for the receiver and the web app: where events go, the
    files holding the webhook secret, the App's key and the simulator's state."""

    sim: Any
    repo: str
    app_id: int
    installation_id: int
    webhook_port: int
    secret_file: Path
    app_key: Path
    sim_state: Path


@dataclass(frozen=True)
class _Databases:
    """Where the receiver (extra argv and environment) and the web app keep their data."""

    webhook_args: list[str]
    webhook_env: dict[str, str]
    web_database: str


def start_demo(
    state_dir: Path,
    progress: Progress,
    *,
    web_port: int = 8080,
    clusters: tuple[str, ...] = ("prod", "staging"),
    postgres: bool = False,
) -> DemoEnvironment:
    """Start the whole flow; on any failure stop what was started and re-raise. With
    *postgres* the receiver and the web app keep their data in a local PostgreSQL server (as
    several replicas of each would) instead of SQLite files."""
    _reset_state_dir(state_dir)
    env = DemoEnvironment(state_dir=state_dir)
    try:
        env.pod_root = _prepare_pod_root(progress)
        central = _start_clusters(env, clusters, progress)
        controller_kcfg = _install_janus_objects(env, central, clusters, progress)
        github = _start_simulator(env, progress)
        databases = _choose_databases(env, postgres, progress)
        _start_controller(env, central, controller_kcfg, progress)
        receiver = _start_receiver(env, central, github, databases, progress)
        web = _start_web(env, central, github, databases, web_port, progress)
        _wait_http(f"http://127.0.0.1:{github.webhook_port}/healthz", receiver)
        _wait_http(f"http://127.0.0.1:{web_port}/healthz", web)
        _record_urls(env, github, web_port)
        env.urls["logs-pr"] = _open_logs_request(env, github, progress)
        return env
    except BaseException:
        env.stop(progress)
        raise


def _janus_argv() -> list[str]:
    """The janus CLI as run by this interpreter, for the child processes."""
    return [sys.executable, "-m", "janus"]


def _reset_state_dir(state_dir: Path) -> None:
    """Start from scratch: delete the previous run's state and make the logs directory."""
    if state_dir.exists():
        shutil.rmtree(state_dir)
    (state_dir / "logs").mkdir(parents=True)


def _start_clusters(
    env: DemoEnvironment, clusters: tuple[str, ...], progress: Progress
) -> LocalCluster:
    """Start each cluster (pods exec'ing into the isolated root when there is one); return the
    central one, the first."""
    shims = env.pod_root / "bin" if env.pod_root else None
    for name in clusters:
        env.clusters[name] = LocalCluster.start(
            name, workdir=env.state_dir / name, progress=progress, exec_shims=shims
        )
    return env.clusters[clusters[0]]


def _install_janus_objects(
    env: DemoEnvironment, central: LocalCluster, clusters: tuple[str, ...], progress: Progress
) -> Path:
    """What a Helm install would create (CRDs, catalogue, RBAC, workloads, target Secrets);
    return the controller's kubeconfig file."""
    progress("[demo] installing CRDs, namespaces, catalogue ClusterRoles and RBAC")
    from janus.resource import crd

    with central.admin_client() as api:
        crd.install(api)
    controller_kubeconfigs: dict[str, dict] = {}
    for name, cluster in env.clusters.items():
        _install_catalogue(cluster)
        _create_workloads(cluster)
        controller_kubeconfigs[name] = _controller_kubeconfig(
            cluster, central=cluster is central
        )
    for name in clusters[1:]:
        _register_target(central, name, controller_kubeconfigs[name])
    return _write_private(
        env.state_dir / "controller.kubeconfig",
        yaml.safe_dump(controller_kubeconfigs[central.name]),
    )


def _start_simulator(env: DemoEnvironment, progress: Progress) -> _GitHubSide:
    """Start the GitHub simulator, seed the demo organisation, point its webhook at the
    receiver's port and write the secret, App key, token and state files."""
    from janus.dev.github_sim import GitHubSimulator
    from janus.dev.github_sim.demo import seed_demo

    state_dir = env.state_dir
    progress("[demo] starting the GitHub simulator (acme/access)")
    webhook_port = free_port()
    webhook_secret = secrets.token_hex(32)
    secret_file = _write_private(state_dir / "webhook-secret", webhook_secret)
    sim = GitHubSimulator.start(root=state_dir / "github")
    env.simulator = sim
    world = seed_demo(sim, _demo_template(state_dir))
    env.access_repo_dir = access_repo_dir(state_dir, world.repo)
    sim.set_delivery_mode("background")
    sim.add_webhook(
        world.repo, f"http://127.0.0.1:{webhook_port}/webhooks/github", webhook_secret, ["*"]
    )
    app_key, sim_state = _write_github_files(state_dir, sim, world)
    return _GitHubSide(
        sim=sim,
        repo=world.repo,
        app_id=world.app_id,
        installation_id=world.installation_id,
        webhook_port=webhook_port,
        secret_file=secret_file,
        app_key=app_key,
        sim_state=sim_state,
    )


def _write_github_files(state_dir: Path, sim: Any, world: DemoWorld) -> tuple[Path, Path]:
    """The App's private key, one token file per demo user and the simulator's state file
    (all mode 0600); return the key's and the state file's paths."""
    app_key = _write_private(state_dir / "github-app.pem", world.app_private_key)
    # One token file per demo user (mode 0600) for `janus request --token-file`.
    for login in world.users:
        _write_private(state_dir / "tokens" / login, sim.token(login) + "\n")
    sim_state = _write_private(
        state_dir / "github-sim.json",
        json.dumps(
            {
                "base_url": sim.base_url,
                "repo": world.repo,
                "app_id": world.app_id,
                "installation_id": world.installation_id,
                "tokens": {login: sim.token(login) for login in world.users},
            },
            indent=2,
        ),
    )
    return app_key, sim_state


def _choose_databases(env: DemoEnvironment, postgres: bool, progress: Progress) -> _Databases:
    """SQLite files in the state directory, or with *postgres* one database each on a local
    PostgreSQL server started here."""
    if not postgres:
        return _Databases(
            webhook_args=["--db", str(env.state_dir / "webhook.sqlite")],
            webhook_env={},
            web_database=f"sqlite:///{env.state_dir / 'web.sqlite'}",
        )
    from janus.dev.postgres import LocalPostgres

    progress("[demo] starting PostgreSQL (Debian's server, 127.0.0.1)")
    env.postgres = LocalPostgres.start()
    # The URL carries the password: the receiver gets it in its environment, the web
    # app in its settings file (mode 0600), neither on a command line.
    databases = _Databases(
        webhook_args=[],
        webhook_env={"JANUS_WEBHOOK_DATABASE_URL": env.postgres.create_database("webhook")},
        web_database=env.postgres.create_database("web"),
    )
    env.urls["postgres"] = f"{env.postgres.host}:{env.postgres.port}"
    return databases


def _start_controller(
    env: DemoEnvironment, central: LocalCluster, controller_kcfg: Path, progress: Progress
) -> None:
    """Spawn ``janus controller`` with its least-privilege kubeconfig."""
    progress("[demo] starting janus controller")
    _spawn(
        env,
        "controller",
        [*_janus_argv(), "controller", "--config", str(_config_file(env)),
         "--namespace", names.JANUS_NAMESPACE, "--central-cluster-name", central.name,
         "--standalone"],
        {"KUBECONFIG": str(controller_kcfg)},
    )


def _start_receiver(
    env: DemoEnvironment,
    central: LocalCluster,
    github: _GitHubSide,
    databases: _Databases,
    progress: Progress,
) -> Any:
    """Spawn ``janus webhook`` on the port the simulator delivers to; return its process."""
    progress(f"[demo] starting janus webhook on 127.0.0.1:{github.webhook_port}")
    return _spawn(
        env,
        "webhook",
        [*_janus_argv(), "webhook", "--config", str(_config_file(env)), "--repo", github.repo,
         "--github-api-url", github.sim.base_url, "--app-id", str(github.app_id),
         "--app-key", str(github.app_key), "--installation-id", str(github.installation_id),
         "--no-throttle", "--kubeconfig", str(central.admin_kubeconfig),
         "--namespace", names.JANUS_NAMESPACE, "--secret-file", str(github.secret_file),
         "--port", str(github.webhook_port), *databases.webhook_args,
         "--reconcile-interval", "30"],
        databases.webhook_env,
    )


def _start_web(
    env: DemoEnvironment,
    central: LocalCluster,
    github: _GitHubSide,
    databases: _Databases,
    web_port: int,
    progress: Progress,
) -> Any:
    """Write the web app's settings (mode 0600) and spawn ``janus web`` with the dev login;
    return its process."""
    progress(f"[demo] starting janus web on 127.0.0.1:{web_port}")
    web_config = _write_private(
        env.state_dir / "web.yaml",
        yaml.safe_dump(
            {
                "public_url": f"http://127.0.0.1:{web_port}",
                "database_url": databases.web_database,
                "dev_login_users": DEMO_USERS,
            }
        ),
    )
    # Policies and team membership come from the access repository on the simulator, as
    # they would from GitHub in a deployment.
    return _spawn(
        env,
        "web",
        [*_janus_argv(), "web", "--config", str(web_config), "--dev-login",
         "--host", "127.0.0.1", "--port", str(web_port),
         "--kubeconfig", str(central.admin_kubeconfig),
         "--github-sim-state", str(github.sim_state)],
        {},
    )


def _record_urls(env: DemoEnvironment, github: _GitHubSide, web_port: int) -> None:
    """The addresses the instructions print (after PostgreSQL's, when there is one)."""
    env.urls = {
        **env.urls,
        "web": f"http://127.0.0.1:{web_port}",
        "github": github.sim.base_url,
        "review": f"{github.sim.base_url}/_sim/{github.repo}",
        "webhook": f"http://127.0.0.1:{github.webhook_port}/webhooks/github",
    }


def _config_file(env: DemoEnvironment) -> Path:
    """The JanusConfig the demo's controller and receiver read (the seeded repository's)."""
    return env.state_dir / "template" / "policies" / "janus.yaml"


def _demo_template(state_dir: Path) -> Path:
    """The demo's access-repository template: the project's, with DEMO_EDITS applied."""
    from janus.dev.github_sim.demo import template_files

    root = state_dir / "template"
    for rel, data in template_files(REPO_ROOT).items():
        text = data.decode()
        if rel in DEMO_EDITS:
            old, new = DEMO_EDITS[rel]
            if old not in text:
                raise RuntimeError(f"{rel} no longer contains {old.strip()!r}; update DEMO_EDITS")
            text = text.replace(old, new, 1)
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(text, encoding="utf-8")
    return root


def _open_logs_request(env: DemoEnvironment, github: _GitHubSide, progress: Progress) -> str:
    """alice's pod-logs request as an open pull request (after the receiver is up: it checks
    the PR and writes the plan comment with the role's rules); returns its review page."""
    path = f"requests/prod/payments/{DEMO_LOGS_NAME}.yaml"
    github.sim.push(github.repo, f"req/{DEMO_LOGS_NAME}", {path: DEMO_LOGS_REQUEST},
                    author="alice", message=f"Request {DEMO_LOGS_NAME}", base="main")
    number = github.sim.create_pull(github.repo, head=f"req/{DEMO_LOGS_NAME}",
                                    title=f"Access request {DEMO_LOGS_NAME} (pod-logs)",
                                    author="alice")
    progress(f"[demo] opened alice's pod-logs request as pull request #{number}")
    return f"{env.urls['review']}/pull/{number}"


def access_repo_dir(state_dir: Path, repo: str) -> Path:
    """Where the simulator keeps *repo* (``owner/name``) of the demo as a bare git repository."""
    owner, name = repo.split("/", 1)
    return state_dir / "github" / "repos" / f"{owner}__{name}.git"


def instructions(env: DemoEnvironment) -> str:
    """What to do next, written to be followed word for word (tests/e2e/test_demo_walkthrough.py
    does exactly that in Chromium)."""
    central = next(iter(env.clusters.values()))
    fields = "\n".join(f"       {label:<11} {value}" for label, value in DEMO_FORM.items())
    janus = Path(sys.executable).with_name("janus")
    cli = janus if janus.exists() else Path("janus")
    isolation = ("a minimal busybox root under bubblewrap, not this machine's files"
                 if env.pod_root else "THIS MACHINE's files (to isolate them, install\n"
                 "     bubblewrap and busybox-static: scripts/install-bubblewrap.sh)")
    return f"""
Janus is running (everything on 127.0.0.1; state and logs in {env.state_dir}).

  Web UI            {env.urls['web']}
  GitHub simulator  {env.urls['review']}   (stands in for github.com: review and merge here)

Try it:
  1. Open {env.urls['web']} and sign in as "alice" (the sign-in page lists the demo users).
  2. Click "Request access" and fill in the form:
{fields}
     then click "Open pull request". The next page links the pull request it opened.
  3. Open that pull request on the GitHub simulator, submit the review "approve" as "bob"
     (a payments lead and code owner of requests/prod/payments/), then click "merge" as "bob".
  4. The receiver re-verifies the approval and creates the AccessRequest; the controller
     grants it. Back in the web UI (as alice, on "My access") it shows Active with a countdown.
  5. Click "Open terminal", pick pod checkout-7d9f (container app), click "Connect" and run
     ls /
     Pod shells see {isolation}.
     The session closes at expiry, or within a second when alice relinquishes the grant or an
     admin ("root") revokes it.
  6. A second request waits for review: alice's role pod-logs (read pods and their logs, no
     shell). Open {env.urls['logs-pr']}
     submit the review "approve" as "bob", then click "merge" as "bob". On "My access" the new
     grant offers "View logs" and no terminal: click "View logs", pick checkout-7d9f / app and
     click "Show".
  7. Break-glass (nobody to approve at 3 a.m.): as alice, click "Request access", fill in the
     form as in step 2 but with Duration 30m, and click "Break glass: grant now, review
     afterwards" under "Emergency: break glass" (or add --break-glass to the
     command below). Janus merges the pull request itself and grants at once: on "My access"
     the new grant shows Active. The pull request shows a BREAK-GLASS comment mentioning the
     payments leads and naming the review issue ("The retrospective review is #<number>"),
     assigned to bob and carol. bob acknowledges it (alice cannot acknowledge her own):
       curl -H "Authorization: token $(cat {env.state_dir / 'tokens' / 'bob'})" \\
         -d '{{"body": "/janus ack checked with alice: restart only"}}' \\
         {env.urls['github']}/repos/acme/access/issues/<number>/comments
     Janus replies on the issue and closes it.

The same request from the command line (token files for each demo user are in
{env.state_dir / 'tokens'}):
  {cli} request --open-pr --repo acme/access --github-api-url {env.urls['github']} \\
    --token-file {env.state_dir / 'tokens' / 'alice'} --cluster prod --namespace payments \\
    --role pod-exec --duration 30m --reason "INC-5150: queue stuck" --ticket INC-5150

Look underneath:
  export KUBECONFIG={central.admin_kubeconfig}
  kubectl -n janus get accessrequests
  tail -f {env.state_dir}/logs/*.log
  git --git-dir {env.access_repo_dir} log --oneline main   # the ledger: merges, grants, ends

State: a restart of `janus dev up` starts from scratch (clusters, pull requests, grants and
sessions are reset; {env.state_dir} is deleted and recreated).

Press Ctrl-C to stop everything.
"""
