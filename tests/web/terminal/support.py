"""Test support for the terminal: the central cluster set up like a deployment (CRD,
namespaces, a web ServiceAccount with only the web app's RBAC), the web app served by real
uvicorn servers on 127.0.0.1 (one per replica), and a websocket client speaking the terminal
protocol."""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import json
import re
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import uvicorn
import yaml
from kubernetes import client
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed
from websockets.typing import Origin

from janus import names, resource
from janus.dev.controlplane import LocalCluster
from janus.dev.controlplane.ports import free_port
from janus.resource import crd
from janus.web.app import create_app
from janus.web.settings import WebSettings
from tests.k8s_helpers import ensure_namespace

WEB_SA = "janus-web-test"
ADMIN = "root-admin"


def rfc3339(moment: dt.datetime) -> str:
    return moment.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def in_seconds(seconds: float) -> str:
    return rfc3339(dt.datetime.now(dt.UTC) + dt.timedelta(seconds=seconds))


def web_kubeconfig(
    cluster: LocalCluster, directory: Path, janus_ns: str = names.JANUS_NAMESPACE
) -> Path:
    """A kubeconfig for a ServiceAccount with the web app's RBAC only: AccessRequests in
    *janus_ns* (read, watch, patch for revoke) and Secrets in `janus-tokens` (read, watch)."""
    api = cluster.admin_client()
    crd.install(api)
    for ns in (janus_ns, names.TOKENS_NAMESPACE):
        ensure_namespace(api, ns)
    core, rbac = client.CoreV1Api(api), client.RbacAuthorizationV1Api(api)
    path = directory / f"web-{janus_ns}.kubeconfig"
    if path.exists():
        return path
    try:
        core.create_namespaced_service_account(
            janus_ns,
            client.V1ServiceAccount(metadata=client.V1ObjectMeta(name=WEB_SA)),
        )
    except client.ApiException as exc:
        if exc.status != 409:
            raise
    grants = [
        (janus_ns, [client.V1PolicyRule(
            api_groups=[resource.GROUP], resources=[resource.PLURAL, f"{resource.PLURAL}/status"],
            verbs=["get", "list", "watch", "patch"]),
            # The chart's TerminalSession rights (helm/janus/templates/web-rbac.yaml).
            client.V1PolicyRule(api_groups=[resource.GROUP], resources=["terminalsessions"],
                                verbs=["create"]),
            client.V1PolicyRule(api_groups=[resource.GROUP],
                                resources=["terminalsessions/status"], verbs=["patch"])]),
        (names.TOKENS_NAMESPACE, [client.V1PolicyRule(
            api_groups=[""], resources=["secrets"], verbs=["get", "list", "watch"])]),
    ]
    for ns, rules in grants:
        try:
            role = f"{WEB_SA}-{janus_ns}"
            rbac.create_namespaced_role(
                ns, client.V1Role(metadata=client.V1ObjectMeta(name=role), rules=rules))
            rbac.create_namespaced_role_binding(ns, client.V1RoleBinding(
                metadata=client.V1ObjectMeta(name=role),
                role_ref=client.V1RoleRef(api_group="rbac.authorization.k8s.io", kind="Role",
                                          name=role),
                subjects=[client.RbacV1Subject(kind="ServiceAccount", name=WEB_SA,
                                               namespace=janus_ns)]))
        except client.ApiException as exc:
            if exc.status != 409:
                raise
    token = core.create_namespaced_service_account_token(
        WEB_SA, janus_ns,
        client.AuthenticationV1TokenRequest(spec=client.V1TokenRequestSpec(
            audiences=[], expiration_seconds=3600)),
    ).status.token
    path.write_text(yaml.safe_dump(cluster.kubeconfig(token=token)))
    return path


@dataclass
class AppServer:
    """One replica: the real app in a real uvicorn server on 127.0.0.1, in its own thread."""

    settings: WebSettings
    port: int
    server: uvicorn.Server
    thread: threading.Thread
    app: Any = field(repr=False)

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def ws_base(self) -> str:
        return f"ws://127.0.0.1:{self.port}"

    @classmethod
    def start(
        cls, kubeconfig: Path, database: Path | str, *, idle_timeout: int = 900,
        auth_mode: str = "proxy", janus_namespace: str = names.JANUS_NAMESPACE,
        **overrides: Any,
    ) -> AppServer:
        port = free_port()
        # No GitHub here: the organization gate is tested in tests/web/test_login_gate.py.
        overrides.setdefault("login_open_to_any_github_user", True)
        settings = WebSettings(
            public_url=f"http://127.0.0.1:{port}",
            session_secret="terminal-tests-session-secret-0123456789",
            kubeconfig=kubeconfig,
            janus_namespace=janus_namespace,
            # A SQLite file, or a database URL (PostgreSQL: tests/web/terminal/test_postgres.py).
            database_url=str(database) if "://" in str(database) else f"sqlite:///{database}",
            idle_timeout_seconds=idle_timeout,
            repo="acme/access",
            auth_mode=auth_mode,  # type: ignore[arg-type]
            proxy_addresses=("127.0.0.1",),
            admin_users=frozenset({ADMIN}),
            **overrides,
        )
        app = create_app(settings)
        config = uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning",
                                ws="websockets-sansio", lifespan="on")
        server = uvicorn.Server(config)
        thread = threading.Thread(target=server.run, name=f"uvicorn-{port}", daemon=True)
        thread.start()
        replica = cls(settings, port, server, thread, app)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            runtime = getattr(app.state, "terminal", None)
            if server.started and runtime is not None and runtime.watcher.ready.is_set():
                return replica
            time.sleep(0.05)
        replica.stop()
        raise AssertionError("web app did not start (or its grant watcher is not ready)")

    @classmethod
    @contextlib.contextmanager
    def running(cls, kubeconfig: Path, database: Path | str,
                **options: Any) -> Iterator[AppServer]:
        """:meth:`start` for the length of a ``with`` block (a module fixture's whole life)."""
        replica = cls.start(kubeconfig, database, **options)
        try:
            yield replica
        finally:
            replica.stop()

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=15)

    def has_sessions(self, cr_name: str) -> bool:
        return cr_name in self.app.state.terminal.registry.grants()


@contextlib.contextmanager
def two_replicas(kubeconfig: Path, database: Path | str) -> Iterator[tuple[AppServer, AppServer]]:
    """Two replicas of the web app sharing one database, as a Deployment with 2 pods would; the
    first is stopped when the second does not start."""
    first = AppServer.start(kubeconfig, database)
    try:
        second = AppServer.start(kubeconfig, database)
    except BaseException:
        first.stop()
        raise
    try:
        yield first, second
    finally:
        first.stop()
        second.stop()


@dataclass
class Terminal:
    """A websocket client speaking the terminal protocol, as the browser does."""

    ws: ClientConnection
    output: bytearray = field(default_factory=bytearray)
    controls: list[dict[str, Any]] = field(default_factory=list)
    close_code: int | None = None

    @classmethod
    async def open(
        cls, replica: AppServer, cr_name: str, user: str, *, pod: str = "target",
        container: str = "app", cols: int = 80, rows: int = 24, origin: str | None = None,
    ) -> Terminal:
        ws = await connect(
            f"{replica.ws_base}/ws/terminal/{cr_name}",
            origin=Origin(origin or replica.base),
            additional_headers={"X-Forwarded-User": user},
            max_size=None,
            compression=None,
        )
        # The server may already have refused (and closed); its reason is still readable.
        with contextlib.suppress(ConnectionClosed):
            await ws.send(json.dumps(
                {"type": "open", "pod": pod, "container": container, "cols": cols, "rows": rows}))
        return cls(ws)

    async def _next(self, seconds: float) -> bool:
        try:
            message = await asyncio.wait_for(self.ws.recv(), seconds)
        except TimeoutError:
            return True
        except Exception:
            self.close_code = self.ws.close_code
            return False
        if isinstance(message, bytes):
            self.output.extend(message)
        else:
            self.controls.append(json.loads(message))
        return True

    def control(self, kind: str) -> dict[str, Any] | None:
        return next((c for c in self.controls if c.get("type") == kind), None)

    async def wait_control(self, kind: str, seconds: float = 15) -> dict[str, Any]:
        deadline = time.monotonic() + seconds
        while self.control(kind) is None:
            left = deadline - time.monotonic()
            if left <= 0 or not await self._next(left):
                break
        found = self.control(kind)
        assert found is not None, f"no {kind!r} message; got {self.controls}"
        return found

    async def wait_output(self, pattern: str, seconds: float = 15) -> re.Match[str]:
        regex = re.compile(pattern)
        deadline = time.monotonic() + seconds
        while True:
            match = regex.search(self.output.decode(errors="replace"))
            if match:
                return match
            left = deadline - time.monotonic()
            if left <= 0 or not await self._next(min(left, 1.0)):
                text = self.output.decode(errors="replace")[-500:]
                raise AssertionError(f"{pattern!r} not in output; tail: {text!r}")

    async def wait_closed(self, seconds: float = 15) -> dict[str, Any]:
        """The `closed` control message, once the socket has closed too."""
        deadline = time.monotonic() + seconds
        while self.close_code is None and time.monotonic() < deadline:
            await self._next(deadline - time.monotonic())
        closed = self.control("closed")
        assert closed is not None, f"no closed message; got {self.controls}"
        return closed

    async def type(self, text: str | bytes) -> None:
        await self.ws.send(text.encode() if isinstance(text, str) else text)

    async def resize(self, cols: int, rows: int) -> None:
        await self.ws.send(json.dumps({"type": "resize", "cols": cols, "rows": rows}))

    async def close(self) -> None:
        await self.ws.close()
