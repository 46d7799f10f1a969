"""Helpers for tests on the real control plane: namespaces, pods, scoped ServiceAccounts."""

from __future__ import annotations

import json
import re
import time
from typing import Any

from kubernetes import client
from kubernetes.client.rest import ApiException

from janus import resource
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
    ``... exit status N`` instead (seen on the local control plane), so both shapes
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


# ---- grants as the controller makes them (used by the terminal tests) -----------------------

GRANT_CLUSTER_ROLE = "janus-pod-exec"


def ensure_cluster_role(api: Any, name: str, rules: list[client.V1PolicyRule]) -> None:
    from kubernetes.client.rest import ApiException

    try:
        client.RbacAuthorizationV1Api(api).create_cluster_role(
            client.V1ClusterRole(metadata=client.V1ObjectMeta(name=name), rules=rules)
        )
    except ApiException as exc:
        if exc.status != 409:
            raise


def ensure_namespace(api: Any, name: str) -> None:
    from kubernetes.client.rest import ApiException

    try:
        create_namespace(api, name)
    except ApiException as exc:
        if exc.status != 409:
            raise


def make_grant_secret(
    cluster: LocalCluster,
    *,
    cr_name: str,
    requester: str,
    namespace: str,
    cluster_name: str = "central",
    expires_at: str = "",
    expiration_seconds: int = 600,
) -> str:
    """What the controller does for a grant, on *cluster*: SA + RoleBinding to the pod-exec
    ClusterRole in *namespace*, a TokenRequest token, and the token Secret in `janus-tokens`
    with the contract's keys (token, server, ca, cluster, namespace, expiresAt) and labels.
    Returns the Secret's name."""
    import base64

    from janus import names

    api = cluster.admin_client()
    ensure_cluster_role(api, GRANT_CLUSTER_ROLE, POD_EXEC_RULES)
    ensure_namespace(api, names.TOKENS_NAMESPACE)
    sa = names.service_account_name(requester, cr_name)
    token = make_sa_token(
        api, namespace, sa, [], cluster_role=GRANT_CLUSTER_ROLE,
        expiration_seconds=expiration_seconds,
    )
    data = {
        "token": token,
        "server": cluster.server,
        "ca": cluster.pki.ca_cert.read_text(),
        "cluster": cluster_name,
        "namespace": namespace,
        "expiresAt": expires_at,
    }
    secret_name = names.token_secret_name(cr_name)
    client.CoreV1Api(api).create_namespaced_secret(
        names.TOKENS_NAMESPACE,
        client.V1Secret(
            metadata=client.V1ObjectMeta(
                name=secret_name, labels=names.grant_labels(cr_name, requester, cluster_name)
            ),
            type="Opaque",
            data={k: base64.b64encode(v.encode()).decode() for k, v in data.items()},
        ),
    )
    return secret_name


def create_access_request(
    cluster: LocalCluster,
    *,
    request_name: str,
    requester: str,
    namespace: str,
    cluster_name: str = "central",
    phase: str = "Active",
    expires_at: str = "",
    pull_request: int | None = None,
) -> str:
    """An AccessRequest CR in `janus` (CRD installed on first use) with the given status, as
    the receiver and the controller would leave it. Returns the CR name."""
    from janus import names, resource
    from janus.resource import crd

    api = cluster.admin_client()
    crd.install(api)
    ensure_namespace(api, names.JANUS_NAMESPACE)
    cr_name = names.access_request_name(cluster_name, namespace, request_name)
    spec: dict[str, Any] = {
        "requestName": request_name,
        "requester": requester,
        "cluster": cluster_name,
        "namespace": namespace,
        "role": "pod-exec",
        "duration": "1h",
        "reason": "terminal test grant",
    }
    if pull_request is not None:
        spec["provenance"] = {"repo": "acme/access", "pullRequest": pull_request}
    custom = client.CustomObjectsApi(api)
    custom.create_namespaced_custom_object(
        resource.GROUP, resource.VERSION, names.JANUS_NAMESPACE, resource.PLURAL,
        {"apiVersion": resource.API_VERSION, "kind": resource.KIND,
         "metadata": {"name": cr_name}, "spec": spec},
    )
    status: dict[str, Any] = {"phase": phase}
    if expires_at:
        status["expiresAt"] = expires_at
    custom.patch_namespaced_custom_object_status(
        resource.GROUP, resource.VERSION, names.JANUS_NAMESPACE, resource.PLURAL, cr_name,
        {"status": status},
    )
    return cr_name


def raw_access_request(api: Any, namespace: str, name: str) -> dict[str, Any] | None:
    """The AccessRequest *name* in *namespace* exactly as the API server stores it (None if
    absent)."""
    try:
        return client.CustomObjectsApi(api).get_namespaced_custom_object(
            resource.GROUP, resource.VERSION, namespace, resource.PLURAL, name)
    except ApiException as exc:
        if exc.status == 404:
            return None
        raise
