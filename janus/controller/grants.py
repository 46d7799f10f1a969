"""The objects of one grant, each step idempotent (blocking calls; run them via ``kube.run``).

On the target cluster: ServiceAccount ``janus-<requester>-<hash>`` and a RoleBinding of the same
name to the role's ClusterRole, both in the requested namespace. On the central cluster: the
token Secret ``janus-token-<cr-name>`` in ``janus-tokens``. All carry ``names.grant_labels``, and
removal works from those labels as well as from the deterministic names, so nothing a crashed
run created can escape cleanup (the original tool deleted Secrets by a name it never created).

No function here returns or logs the token except :func:`mint_token`, whose result goes straight
into :func:`write_token_secret`.
"""

from __future__ import annotations

import base64
import datetime as dt
from dataclasses import dataclass
from typing import Any

from kubernetes import client
from kubernetes.client.rest import ApiException

from janus import names
from janus.controller import kube
from janus.controller.clusters import ClusterUnavailable
from janus.resource import timefmt

MIN_TOKEN_SECONDS = 600  # the TokenRequest API's own minimum
ANNOTATION_OWNER_NAMESPACE = "janus.dev/request-namespace"


@dataclass(frozen=True)
class GrantObjects:
    cr_name: str
    requester: str
    cluster: str
    namespace: str
    cluster_role: str
    owner_namespace: str = names.JANUS_NAMESPACE  # where the AccessRequest lives

    @property
    def annotations(self) -> dict[str, str]:
        # Labels hold only the CR name; the sweep needs the CR's namespace too, and must never
        # touch objects of another Janus installation sharing the cluster.
        return {ANNOTATION_OWNER_NAMESPACE: self.owner_namespace}

    @property
    def service_account(self) -> str:
        return names.service_account_name(self.requester, self.cr_name)

    @property
    def role_binding(self) -> str:
        return names.role_binding_name(self.requester, self.cr_name)

    @property
    def token_secret(self) -> str:
        return names.token_secret_name(self.cr_name)

    @property
    def labels(self) -> dict[str, str]:
        return names.grant_labels(self.cr_name, self.requester, self.cluster)

    @property
    def selector(self) -> str:
        return f"{names.LABEL_REQUEST}={self.cr_name}"


T = kube.REQUEST_TIMEOUT


def ensure_service_account(api: Any, g: GrantObjects) -> None:
    body = client.V1ServiceAccount(
        metadata=client.V1ObjectMeta(name=g.service_account, labels=g.labels,
                                     annotations=g.annotations),
        automount_service_account_token=False,
    )
    kube.ignore((409,), client.CoreV1Api(api).create_namespaced_service_account,
                g.namespace, body, _request_timeout=T)


def ensure_role_binding(api: Any, g: GrantObjects) -> None:
    rbac = client.RbacAuthorizationV1Api(api)
    body = client.V1RoleBinding(
        metadata=client.V1ObjectMeta(name=g.role_binding, labels=g.labels,
                                     annotations=g.annotations),
        role_ref=client.V1RoleRef(api_group="rbac.authorization.k8s.io", kind="ClusterRole",
                                  name=g.cluster_role),
        subjects=[client.RbacV1Subject(kind="ServiceAccount", name=g.service_account,
                                       namespace=g.namespace)],
    )
    try:
        rbac.create_namespaced_role_binding(g.namespace, body, _request_timeout=T)
    except ApiException as exc:
        if exc.status != 409:
            raise
        # roleRef is immutable: a binding left with another role (catalogue changed between a
        # crash and the restart) is replaced, never trusted.
        current = rbac.read_namespaced_role_binding(g.role_binding, g.namespace,
                                                    _request_timeout=T)
        if current.role_ref.name != g.cluster_role or not current.subjects:
            kube.ignore((404,), rbac.delete_namespaced_role_binding, g.role_binding,
                        g.namespace, _request_timeout=T)
            rbac.create_namespaced_role_binding(g.namespace, body, _request_timeout=T)


def token_seconds(expires_at: dt.datetime, now: dt.datetime) -> int:
    remaining = int((expires_at - now).total_seconds() + 0.999)
    return max(MIN_TOKEN_SECONDS, remaining)


def mint_token(api: Any, g: GrantObjects, seconds: int) -> str:
    request = client.AuthenticationV1TokenRequest(
        spec=client.V1TokenRequestSpec(audiences=[], expiration_seconds=seconds)
    )
    result = client.CoreV1Api(api).create_namespaced_service_account_token(
        g.service_account, g.namespace, request, _request_timeout=T
    )
    # str(None) would be stored as the grant's token: a TokenRequest answered without one is
    # the cluster failing, and the grant retries with backoff.
    if result.status is None or not result.status.token:
        raise ClusterUnavailable(g.cluster, f"no token issued for {g.service_account}")
    return result.status.token


def _b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


def write_token_secret(
    central: Any,
    g: GrantObjects,
    *,
    token: str,
    server: str,
    ca_pem: str,
    expires_at: dt.datetime,
) -> None:
    """Create the token Secret, or replace its data (a re-grant after a crash, an extension)."""
    core = client.CoreV1Api(central)
    body = client.V1Secret(
        metadata=client.V1ObjectMeta(name=g.token_secret, labels=g.labels,
                                     annotations={**g.annotations,
                                                  "janus.dev/expires-at": timefmt.fmt(expires_at)}),
        type="Opaque",
        data={
            "token": _b64(token),
            "server": _b64(server),
            "ca": _b64(ca_pem),
            "cluster": _b64(g.cluster),
            "namespace": _b64(g.namespace),
            "expiresAt": _b64(timefmt.fmt(expires_at)),
        },
    )
    try:
        core.create_namespaced_secret(names.TOKENS_NAMESPACE, body, _request_timeout=T)
    except ApiException as exc:
        if exc.status != 409:
            raise
        core.replace_namespaced_secret(g.token_secret, names.TOKENS_NAMESPACE, body,
                                       _request_timeout=T)


def delete_token_secret(central: Any, g: GrantObjects) -> None:
    kube.ignore((404,), client.CoreV1Api(central).delete_namespaced_secret, g.token_secret,
                names.TOKENS_NAMESPACE, _request_timeout=T)


def delete_role_binding(api: Any, g: GrantObjects) -> None:
    kube.ignore((404,), client.RbacAuthorizationV1Api(api).delete_namespaced_role_binding,
                g.role_binding, g.namespace, _request_timeout=T)


def delete_service_account(api: Any, g: GrantObjects) -> None:
    kube.ignore((404,), client.CoreV1Api(api).delete_namespaced_service_account,
                g.service_account, g.namespace, _request_timeout=T)


def remove_token_secret(central: Any, g: GrantObjects, *, sweep: bool = False) -> list[str]:
    """Delete the token Secret; with *sweep*, also any stray by label, and return what is left.

    Without *sweep* (expiry, revocation: the hot path) a successful DELETE (or 404) of the one
    deterministic name is the proof: nothing else is ever created under this request.
    """
    core = client.CoreV1Api(central)
    kube.ignore((404,), core.delete_namespaced_secret, g.token_secret, names.TOKENS_NAMESPACE,
                _request_timeout=T)
    if not sweep:
        return []
    left: list[str] = []
    for _ in range(3):
        found = core.list_namespaced_secret(names.TOKENS_NAMESPACE, label_selector=g.selector,
                                            _request_timeout=T).items
        left = [f"Secret/{kube.name_of(o)}" for o in found]
        if not left:
            return []
        for stray in found:
            kube.ignore((404,), core.delete_namespaced_secret, kube.name_of(stray),
                        names.TOKENS_NAMESPACE, _request_timeout=T)
    return left


def remove_target_objects(api: Any, g: GrantObjects, *, sweep: bool = False) -> list[str]:
    """RoleBinding first (access ends), then the ServiceAccount (its tokens die with it). With
    *sweep* (finalizer, rollback), strays found by label are deleted too and what is left is
    returned; see :func:`remove_token_secret` for the hot path."""
    core = client.CoreV1Api(api)
    rbac = client.RbacAuthorizationV1Api(api)
    kube.ignore((404,), rbac.delete_namespaced_role_binding, g.role_binding, g.namespace,
                _request_timeout=T)
    kube.ignore((404,), core.delete_namespaced_service_account, g.service_account, g.namespace,
                _request_timeout=T)
    if not sweep:
        return []
    left: list[str] = []
    for _ in range(3):
        rbs = rbac.list_namespaced_role_binding(g.namespace, label_selector=g.selector,
                                                _request_timeout=T).items
        sas = core.list_namespaced_service_account(g.namespace, label_selector=g.selector,
                                                   _request_timeout=T).items
        left = [f"RoleBinding/{kube.name_of(o)}" for o in rbs]
        left += [f"ServiceAccount/{kube.name_of(o)}" for o in sas]
        if not left:
            return []
        for rb in rbs:
            kube.ignore((404,), rbac.delete_namespaced_role_binding, kube.name_of(rb),
                        g.namespace, _request_timeout=T)
        for sa in sas:
            kube.ignore((404,), core.delete_namespaced_service_account, kube.name_of(sa),
                        g.namespace, _request_timeout=T)
    return left
