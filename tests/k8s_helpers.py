"""Helpers for tests on the real control plane: namespaces, pods, scoped ServiceAccounts."""

from __future__ import annotations

import json
import re
import time
from typing import Any

from kubernetes import client

from janus.dev.controlplane.cluster import NODE_NAME, LocalCluster

POD_EXEC_RULES = [
    client.V1PolicyRule(api_groups=[""], resources=["pods"], verbs=["get", "list"]),
    client.V1PolicyRule(api_groups=[""], resources=["pods/exec"], verbs=["get", "create"]),
]


def create_namespace(api: Any, name: str) -> None:
    client.CoreV1Api(api).create_namespace(
        client.V1Namespace(metadata=client.V1ObjectMeta(name=name))
    )


def create_pod(
    api: Any, namespace: str, name: str = "target", containers: tuple[str, ...] = ("app",)
) -> None:
    """A bare Pod on the kwok node (no scheduler on the bed), waited until Running."""
    core = client.CoreV1Api(api)
    core.create_namespaced_pod(
        namespace,
        client.V1Pod(
            metadata=client.V1ObjectMeta(name=name),
            spec=client.V1PodSpec(
                node_name=NODE_NAME,
                containers=[client.V1Container(name=c, image="busybox") for c in containers],
            ),
        ),
    )
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if core.read_namespaced_pod(name, namespace).status.phase == "Running":
            return
        time.sleep(0.1)
    raise AssertionError(f"pod {namespace}/{name} not Running after 30s")


def make_sa_token(
    api: Any,
    namespace: str,
    name: str,
    rules: list[client.V1PolicyRule],
    *,
    cluster_role: str | None = None,
    expiration_seconds: int = 600,
) -> str:
    """Create SA + (Cluster)Role + RoleBinding in *namespace*; return a TokenRequest token."""
    core = client.CoreV1Api(api)
    rbac = client.RbacAuthorizationV1Api(api)
    core.create_namespaced_service_account(
        namespace, client.V1ServiceAccount(metadata=client.V1ObjectMeta(name=name))
    )
    if cluster_role:
        role_ref = client.V1RoleRef(
            api_group="rbac.authorization.k8s.io", kind="ClusterRole", name=cluster_role
        )
    else:
        rbac.create_namespaced_role(
            namespace, client.V1Role(metadata=client.V1ObjectMeta(name=name), rules=rules)
        )
        role_ref = client.V1RoleRef(api_group="rbac.authorization.k8s.io", kind="Role", name=name)
    rbac.create_namespaced_role_binding(
        namespace,
        client.V1RoleBinding(
            metadata=client.V1ObjectMeta(name=name),
            role_ref=role_ref,
            subjects=[client.RbacV1Subject(kind="ServiceAccount", name=name, namespace=namespace)],
        ),
    )
    token = core.create_namespaced_service_account_token(
        name,
        namespace,
        client.AuthenticationV1TokenRequest(
            spec=client.V1TokenRequestSpec(audiences=[], expiration_seconds=expiration_seconds)
        ),
    )
    return str(token.status.token)


def token_client(cluster: LocalCluster, token: str) -> Any:
    return cluster.token_client(token)


def exec_exit_status(ws: Any) -> int:
    """The exit status of a finished exec, from the status frame on channel 3.

    A real kubelet reports a non-zero exit as reason ``NonZeroExitCode`` with an ``ExitCode``
    cause. kwok runs the command with Go's os/exec and reports ``Failure`` with the message
    ``... exit status N`` instead (k8s-testbed notes §7.4, confirmed on the bed), so both shapes
    are read; anything else is an error, never silently 0.
    """
    raw = ws.read_channel(3)
    if not raw:
        raise AssertionError("exec finished without a status frame")
    status = json.loads(raw)
    if status.get("status") == "Success":
        return 0
    for cause in (status.get("details") or {}).get("causes") or []:
        if cause.get("reason") == "ExitCode":
            return int(cause["message"])
    match = re.search(r"exit status (\d+)\b", status.get("message", ""))
    if match:
        return int(match.group(1))
    raise AssertionError(f"exec failed without an exit status: {status.get('message')}")


def handshake_status(error: Exception) -> int:
    """The HTTP status of a refused exec websocket upgrade.

    The Python client raises ``ApiException(status=0, reason="Handshake status 403 Forbidden …")``
    for a refused upgrade, so the status is read from the reason.
    """
    status = getattr(error, "status", 0)
    if status:
        return int(status)
    match = re.search(r"Handshake status (\d{3})", str(getattr(error, "reason", "")))
    if not match:
        raise AssertionError(f"not a websocket handshake failure: {error}")
    return int(match.group(1))
