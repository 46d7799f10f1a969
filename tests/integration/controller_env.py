"""Running `janus controller` as a real subprocess against the local control plane.

The controller gets its own kubeconfig file (admin, or a scoped token), its own JanusConfig and a
Janus namespace unique to the test module, so controller tests never see other modules' CRs. The
process can be stopped gracefully, SIGKILLed, or crashed at a named step
(``JANUS_TEST_CRASH_AFTER``), and its combined output is kept for the no-token scan.
"""

from __future__ import annotations

import base64
import os
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import Any

import yaml
from kubernetes import client
from kubernetes.client.rest import ApiException

from janus import names, resource
from janus.dev.controlplane import LocalCluster
from janus.policy.roles import cluster_role_manifest
from janus.resource import crd
from tests.k8s_helpers import raw_access_request

ROOT = Path(__file__).resolve().parents[2]
CATALOGUE_ROLE = "janus-pod-exec"


def janus_config(clusters: list[str]) -> dict[str, Any]:
    return {
        "apiVersion": "janus.dev/v1alpha1",
        "kind": "JanusConfig",
        "metadata": {"name": "janus"},
        "spec": {
            "clusters": clusters,
            "excludedNamespaces": ["kube-system", "kube-public", "janus", "janus-tokens",
                                   "forbidden-ns"],
            "duration": {"min": "10m", "max": "8h", "default": "1h"},
            "roles": {"pod-exec": {"clusterRole": CATALOGUE_ROLE}},
            "admins": {"teams": ["acme/sre"], "users": []},
            "pendingTimeout": "24h",
        },
    }


def ensure_namespace(api: Any, name: str) -> None:
    try:
        client.CoreV1Api(api).create_namespace(
            client.V1Namespace(metadata=client.V1ObjectMeta(name=name)))
    except ApiException as exc:
        if exc.status != 409:
            raise


def ensure_catalogue_role(api: Any) -> None:
    try:
        client.RbacAuthorizationV1Api(api).create_cluster_role(
            cluster_role_manifest(CATALOGUE_ROLE))
    except ApiException as exc:
        if exc.status != 409:
            raise


def prepare_central(cluster: LocalCluster) -> str:
    """CRDs, a fresh Janus namespace, janus-tokens, the catalogue role. Returns the namespace."""
    api = cluster.admin_client()
    crd.install(api, peering=True)
    ns = f"janus-{uuid.uuid4().hex[:6]}"
    ensure_namespace(api, ns)
    ensure_namespace(api, names.TOKENS_NAMESPACE)
    ensure_catalogue_role(api)
    return ns


def register_cluster(central: LocalCluster, janus_ns: str, name: str,
                     kubeconfig: dict[str, Any]) -> str:
    secret_name = f"cluster-{name}"
    body = client.V1Secret(
        metadata=client.V1ObjectMeta(name=secret_name, labels={names.LABEL_CLUSTER: name}),
        data={"kubeconfig": base64.b64encode(yaml.safe_dump(kubeconfig).encode()).decode()},
    )
    core = client.CoreV1Api(central.admin_client())
    try:
        core.create_namespaced_secret(janus_ns, body)
    except ApiException as exc:
        if exc.status != 409:
            raise
        core.replace_namespaced_secret(secret_name, janus_ns, body)
    return secret_name


def create_request(api: Any, janus_ns: str, *, cluster: str, namespace: str,
                   requester: str = "alice", duration: str = "1h", role: str = "pod-exec",
                   request: str | None = None) -> str:
    request = request or f"req-{uuid.uuid4().hex[:8]}"
    name = names.access_request_name(cluster, namespace, request)
    body = {
        "apiVersion": resource.API_VERSION, "kind": resource.KIND,
        "metadata": {"name": name, "namespace": janus_ns},
        "spec": {"requestName": request, "requester": requester, "cluster": cluster,
                 "namespace": namespace, "role": role, "duration": duration,
                 "reason": "INC-1: controller integration test"},
    }
    client.CustomObjectsApi(api).create_namespaced_custom_object(
        resource.GROUP, resource.VERSION, janus_ns, resource.PLURAL, body)
    return name


def get_request(api: Any, janus_ns: str, name: str) -> dict[str, Any] | None:
    return raw_access_request(api, janus_ns, name)


def patch_spec(api: Any, janus_ns: str, name: str, spec: dict[str, Any]) -> None:
    client.CustomObjectsApi(api).patch_namespaced_custom_object(
        resource.GROUP, resource.VERSION, janus_ns, resource.PLURAL, name, {"spec": spec},
        _content_type="application/merge-patch+json")



def grant_objects(api: Any, namespace: str, cr_name: str) -> dict[str, list[str]]:
    """The names of a grant's ServiceAccounts and RoleBindings in *namespace* and its token
    Secrets, found by the request label."""
    sel = f"{names.LABEL_REQUEST}={cr_name}"
    core = client.CoreV1Api(api)
    rbac = client.RbacAuthorizationV1Api(api)
    return {
        "sa": [o.metadata.name for o in core.list_namespaced_service_account(
            namespace, label_selector=sel).items],
        "rb": [o.metadata.name for o in rbac.list_namespaced_role_binding(
            namespace, label_selector=sel).items],
        "secret": [o.metadata.name for o in core.list_namespaced_secret(
            names.TOKENS_NAMESPACE, label_selector=sel).items],
    }


def wait_for(predicate: Any, timeout: float, what: str, interval: float = 0.05) -> Any:
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        last = predicate()
        if last:
            return last
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout}s waiting for {what} (last: {last!r})")


def wait_phase(api: Any, janus_ns: str, name: str, phase: str, timeout: float = 20) -> dict:
    def check() -> dict | None:
        cr = get_request(api, janus_ns, name)
        return cr if cr and (cr.get("status") or {}).get("phase") == phase else None

    try:
        return wait_for(check, timeout, f"{name} to be {phase}")
    except AssertionError:
        cr = get_request(api, janus_ns, name)
        raise AssertionError(f"{name} not {phase} after {timeout}s: {(cr or {}).get('status')}") \
            from None


class ControllerProcess:
    """``python -m janus controller`` with its own kubeconfig, config and log file."""

    def __init__(self, workdir: Path, central: LocalCluster, janus_ns: str, *,
                 clusters: list[str], central_name: str | None = "central",
                 kubeconfig: dict[str, Any] | None = None, extra_args: list[str] | None = None,
                 env: dict[str, str] | None = None, tag: str = "ctl") -> None:
        workdir.mkdir(parents=True, exist_ok=True)
        self.kubeconfig_path = workdir / f"{tag}.kubeconfig"
        self.kubeconfig_path.write_text(yaml.safe_dump(kubeconfig or central.kubeconfig()))
        self.config_path = workdir / "janus.yaml"
        self.config_path.write_text(yaml.safe_dump(janus_config(clusters)))
        self.log_path = workdir / f"{tag}.log"
        self.args = [sys.executable, "-m", "janus", "controller", "--config",
                     str(self.config_path), "--namespace", janus_ns, "--verbose",
                     *(["--central-cluster-name", central_name] if central_name else []),
                     *(extra_args or ["--standalone"])]
        self.env = {**os.environ, "KUBECONFIG": str(self.kubeconfig_path),
                    "JANUS_TEST_MIN_DURATION": "1s", **(env or {})}
        self.proc: subprocess.Popen | None = None
        self.outputs: list[str] = []

    def start(self, **env: str) -> ControllerProcess:
        self._log = self.log_path.open("ab")
        self.proc = subprocess.Popen(self.args, cwd=ROOT, env={**self.env, **env},
                                     stdout=self._log, stderr=subprocess.STDOUT,
                                     start_new_session=True)
        return self

    def running(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def wait_exit(self, timeout: float = 30) -> int:
        assert self.proc is not None
        return self.proc.wait(timeout=timeout)

    def kill(self) -> None:
        """SIGKILL: no cleanup, no finalizer work, exactly like a node dying."""
        if self.running():
            assert self.proc is not None
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(timeout=10)

    def stop(self) -> None:
        if self.running():
            assert self.proc is not None
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(timeout=10)

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def wait_log(self, text: str, timeout: float = 30) -> None:
        wait_for(lambda: text in self.log(), timeout, f"{text!r} in controller log")
