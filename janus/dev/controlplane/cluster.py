"""One local cluster: PKI, ports, etcd → kube-apiserver → kwok, a fake node, an admin kubeconfig."""

from __future__ import annotations

import os
import shutil
import ssl
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from janus.dev.controlplane.binaries import Binaries
from janus.dev.controlplane.kwok_config import write_kwok_config
from janus.dev.controlplane.pki import Pki, make_pki
from janus.dev.controlplane.ports import free_port
from janus.dev.controlplane.process import ManagedProcess

NODE_NAME = "kwok-node-0"
Progress = Callable[[str], None]


class ClusterStartError(RuntimeError):
    """A component did not become ready; the message carries the tail of its log."""


def _quiet(_: str) -> None:
    pass


@dataclass
class LocalCluster:
    name: str
    workdir: Path
    server: str
    pki: Pki
    admin_kubeconfig: Path
    processes: list[ManagedProcess] = field(default_factory=list)
    owns_workdir: bool = True
    started_seconds: float = 0.0
    exec_dir: Path | None = None
    # janus dev up: a directory put first on kwok's PATH so exec'd commands resolve to shims
    # that run them in an isolated root (janus/dev/podroot.py); None: on the host, as tests want.
    exec_shims: Path | None = None

    # ---- lifecycle -------------------------------------------------------------------------

    @classmethod
    def start(
        cls,
        name: str = "janus-local",
        *,
        workdir: Path | None = None,
        binaries: Binaries | None = None,
        progress: Progress = _quiet,
        timeout: float = 90.0,
        exec_shims: Path | None = None,
    ) -> LocalCluster:
        """Start a cluster and wait until a node is Ready. On any failure, everything started so
        far is stopped again before the error propagates."""
        began = time.monotonic()
        binaries = binaries or Binaries.locate()
        owns = workdir is None
        root = Path(tempfile.mkdtemp(prefix=f"janus-{name}-")) if workdir is None else workdir
        root.mkdir(parents=True, exist_ok=True)
        pki = make_pki(root / "pki")
        api_port = free_port()
        cluster = cls(
            name=name,
            workdir=root,
            server=f"https://127.0.0.1:{api_port}",
            pki=pki,
            admin_kubeconfig=root / "admin.kubeconfig",
            owns_workdir=owns,
            exec_shims=exec_shims,
        )
        try:
            cluster._start_etcd(binaries, progress, timeout)
            cluster._start_apiserver(binaries, api_port, progress, timeout)
            cluster._write_admin_kubeconfig()
            cluster._start_kwok(binaries, progress)
            cluster._create_node(progress, timeout)
        except BaseException:
            cluster.stop()
            raise
        cluster.started_seconds = time.monotonic() - began
        progress(f"[{name}] ready at {cluster.server} in {cluster.started_seconds:.1f}s")
        return cluster

    def stop(self) -> None:
        """Stop exactly the processes this cluster started (kwok → apiserver → etcd)."""
        for proc in reversed(self.processes):
            proc.stop()
        self.processes.clear()
        if self.exec_dir is not None:
            shutil.rmtree(self.exec_dir, ignore_errors=True)
        if self.owns_workdir:
            shutil.rmtree(self.workdir, ignore_errors=True)

    def __enter__(self) -> LocalCluster:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # ---- clients ---------------------------------------------------------------------------

    def admin_client(self) -> Any:
        """A ``kubernetes.client.ApiClient`` as cluster admin (``system:masters``)."""
        from kubernetes import client

        cfg = client.Configuration()
        cfg.host = self.server
        cfg.ssl_ca_cert = str(self.pki.ca_cert)
        cfg.cert_file = str(self.pki.admin_cert)
        cfg.key_file = str(self.pki.admin_key)
        return client.ApiClient(cfg)

    def token_client(self, token: str) -> Any:
        """A ``kubernetes.client.ApiClient`` that authenticates with a bearer *token* only."""
        from kubernetes import client

        cfg = client.Configuration()
        cfg.host = self.server
        cfg.ssl_ca_cert = str(self.pki.ca_cert)
        cfg.api_key = {"authorization": token}
        cfg.api_key_prefix = {"authorization": "Bearer"}
        return client.ApiClient(cfg)

    def kubeconfig(self, *, token: str | None = None, namespace: str | None = None) -> dict:
        """A self-contained kubeconfig (CA inline): admin client cert, or a bearer token."""
        import base64

        def b64(path: Path) -> str:
            return base64.b64encode(path.read_bytes()).decode()

        user: dict[str, str] = (
            {"token": token}
            if token is not None
            else {
                "client-certificate-data": b64(self.pki.admin_cert),
                "client-key-data": b64(self.pki.admin_key),
            }
        )
        context: dict[str, str] = {"cluster": self.name, "user": self.name}
        if namespace:
            context["namespace"] = namespace
        return {
            "apiVersion": "v1",
            "kind": "Config",
            "clusters": [
                {
                    "name": self.name,
                    "cluster": {
                        "server": self.server,
                        "certificate-authority-data": b64(self.pki.ca_cert),
                    },
                }
            ],
            "users": [{"name": self.name, "user": user}],
            "contexts": [{"name": self.name, "context": context}],
            "current-context": self.name,
        }

    # ---- start steps -----------------------------------------------------------------------

    def _start_etcd(self, binaries: Binaries, progress: Progress, timeout: float) -> None:
        client_port, peer_port = free_port(), free_port()
        self.etcd_url = f"http://127.0.0.1:{client_port}"
        peer = f"http://127.0.0.1:{peer_port}"
        progress(f"[{self.name}] starting etcd on {self.etcd_url}")
        proc = self._spawn(
            "etcd",
            [
                str(binaries.etcd),
                "--name=janus",
                f"--data-dir={self.workdir / 'etcd'}",
                f"--listen-client-urls={self.etcd_url}",
                f"--advertise-client-urls={self.etcd_url}",
                f"--listen-peer-urls={peer}",
                f"--initial-advertise-peer-urls={peer}",
                f"--initial-cluster=janus={peer}",
                "--unsafe-no-fsync=true",
                "--log-level=warn",
            ],
        )
        self._wait_http(proc, f"{self.etcd_url}/health", timeout, expect=b'"health":"true"')

    def _start_apiserver(
        self, binaries: Binaries, port: int, progress: Progress, timeout: float
    ) -> None:
        progress(f"[{self.name}] starting kube-apiserver on {self.server}")
        pki = self.pki
        proc = self._spawn(
            "kube-apiserver",
            [
                str(binaries.kube_apiserver),
                f"--etcd-servers={self.etcd_url}",
                "--bind-address=127.0.0.1",
                f"--secure-port={port}",
                "--advertise-address=127.0.0.1",
                "--endpoint-reconciler-type=none",
                f"--cert-dir={self.workdir / 'pki'}",
                f"--tls-cert-file={pki.server_cert}",
                f"--tls-private-key-file={pki.server_key}",
                f"--client-ca-file={pki.ca_cert}",
                "--authorization-mode=RBAC",
                f"--service-account-issuer={self.server}",
                f"--service-account-key-file={pki.sa_public}",
                f"--service-account-signing-key-file={pki.sa_private}",
                "--service-cluster-ip-range=10.0.0.0/24",
                "--allow-privileged=true",
                # No controller-manager makes `default` ServiceAccounts, so Pod admission would
                # refuse every Pod. TokenRequest does not depend on this plugin.
                "--disable-admission-plugins=ServiceAccount",
                "--kubelet-preferred-address-types=InternalIP,Hostname",
                "--profiling=false",
                "--v=1",
            ],
        )
        self._wait_http(proc, f"{self.server}/readyz", timeout, expect=b"ok")

    def _write_admin_kubeconfig(self) -> None:
        self.admin_kubeconfig.write_text(yaml.safe_dump(self.kubeconfig()))
        self.admin_kubeconfig.chmod(0o600)

    def _start_kwok(self, binaries: Binaries, progress: Progress) -> None:
        kwok_port = free_port()
        config = self.workdir / "kwok.yaml"
        # Exec'd commands run as an unprivileged user, who cannot traverse a private workdir
        # (mkdtemp makes 0700 dirs, and a state dir may sit under /root): give them their own.
        self.exec_dir = Path(tempfile.mkdtemp(prefix=f"janus-exec-{self.name}-"))
        write_kwok_config(
            config,
            binaries.kwok_stages,
            exec_workdir=self.exec_dir,
            log_file=self.workdir / "pod.log",
        )
        progress(f"[{self.name}] starting kwok (kubelet API on 127.0.0.1:{kwok_port})")
        self._spawn(
            "kwok",
            [
                str(binaries.kwok),
                f"--kubeconfig={self.admin_kubeconfig}",
                f"--config={config}",
                "--manage-all-nodes=true",
                "--node-ip=127.0.0.1",
                "--node-name=localhost",
                f"--node-port={kwok_port}",
                f"--server-address=127.0.0.1:{kwok_port}",
                "--cidr=10.244.0.0/24",
                "--node-lease-duration-seconds=40",
            ],
            env=self._kwok_env(),
        )

    def _create_node(self, progress: Progress, timeout: float) -> None:
        from kubernetes import client

        progress(f"[{self.name}] creating node {NODE_NAME}")
        with self.admin_client() as api_client:
            core = client.CoreV1Api(api_client)
            core.create_node(
                client.V1Node(
                    metadata=client.V1ObjectMeta(
                        name=NODE_NAME,
                        annotations={"kwok.x-k8s.io/node": "fake"},
                        labels={"kubernetes.io/hostname": NODE_NAME, "type": "kwok"},
                    )
                )
            )
            deadline = time.monotonic() + timeout
            while time.monotonic() < deadline:
                self._check_alive()
                node = core.read_node(NODE_NAME)
                # A node just created has no status yet: keep waiting rather than fail.
                reported = node.status.conditions if node.status else None
                conditions = {c.type: c.status for c in reported or []}
                if conditions.get("Ready") == "True":
                    return
                time.sleep(0.2)
        raise ClusterStartError(f"[{self.name}] node {NODE_NAME} not Ready after {timeout}s"
                                + self._logs_summary())

    # ---- helpers ---------------------------------------------------------------------------

    def _kwok_env(self) -> dict[str, str] | None:
        # kwok looks an exec'd command up on its own PATH (Go's exec.Command), so the shims
        # must come first there, not in the ClusterExec's envs (those reach only the child).
        if self.exec_shims is None:
            return None
        return {**os.environ, "PATH": f"{self.exec_shims}{os.pathsep}{os.environ.get('PATH', '')}"}

    def _spawn(self, name: str, argv: list[str],
               env: dict[str, str] | None = None) -> ManagedProcess:
        proc = ManagedProcess(name, argv, self.workdir / f"{name}.log", env=env)
        self.processes.append(proc)
        return proc

    def _check_alive(self) -> None:
        for proc in self.processes:
            if not proc.running():
                raise ClusterStartError(
                    f"[{self.name}] {proc.name} exited with {proc.popen.returncode}:\n"
                    + proc.log_tail()
                )

    def _logs_summary(self) -> str:
        return "".join(f"\n--- {p.name} ---\n{p.log_tail(15)}" for p in self.processes)

    def _wait_http(self, proc: ManagedProcess, url: str, timeout: float, expect: bytes) -> None:
        context = ssl.create_default_context(cafile=str(self.pki.ca_cert))
        deadline = time.monotonic() + timeout
        last = ""
        while time.monotonic() < deadline:
            self._check_alive()
            try:
                with urllib.request.urlopen(url, timeout=2, context=context) as resp:  # noqa: S310
                    body = resp.read()
                    if expect in body:
                        return
                    last = body.decode(errors="replace")[:200]
            except (urllib.error.URLError, OSError) as exc:
                last = str(exc)
            time.sleep(0.1)
        raise ClusterStartError(
            f"[{self.name}] {proc.name} not ready at {url} after {timeout}s ({last}):\n"
            + proc.log_tail()
        )
