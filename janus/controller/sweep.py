"""Startup sweep: remove grant objects whose AccessRequest no longer exists.

The finalizer covers every ordinary deletion, even one made while the controller was down. What
it cannot cover is a CR removed *around* it (finalizer stripped by hand, etcd restored from an
older backup, a namespace wiped). So, once per start, the controller lists the objects it may
have created — token Secrets in ``janus-tokens``, ServiceAccounts and RoleBindings labelled
``app.kubernetes.io/managed-by=janus`` on every configured cluster — and deletes those whose
AccessRequest is gone. Only objects annotated with *this* controller's namespace are touched, so
two Janus installations (or test runs) sharing a cluster never sweep each other's grants. Each
candidate's CR is read individually right before deleting, so a grant created during the sweep
is never mistaken for an orphan.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from kubernetes import client

from janus import names
from janus.controller import kube
from janus.controller.clusters import ClusterUnavailable
from janus.controller.grants import ANNOTATION_OWNER_NAMESPACE
from janus.controller.reconcile import Controller
from janus.logs import event

log = logging.getLogger("janus.controller")
_SELECTOR = f"{names.LABEL_MANAGED_BY}={names.MANAGED_BY},{names.LABEL_REQUEST}"


def _ours(obj: Any, namespace: str) -> str | None:
    """The CR name an object belongs to, if it was made by a controller of *namespace*."""
    meta = obj.metadata
    if (meta.annotations or {}).get(ANNOTATION_OWNER_NAMESPACE) != namespace:
        return None
    return (meta.labels or {}).get(names.LABEL_REQUEST)


async def _orphaned(ctl: Controller, cr_name: str) -> bool:
    return await kube.run(ctl.crs.find, cr_name) is None


async def sweep(ctl: Controller) -> int:
    """Delete orphans; return how many objects were removed. Never raises."""
    removed = 0
    try:
        removed += await _sweep_secrets(ctl)
    except Exception as exc:
        event(log, "sweep.failed", where="central",
              error=f"{type(exc).__name__}: {str(exc)[:200]}", level=logging.WARNING)
    for cluster in ctl.policy.clusters:
        try:
            target = await ctl.registry.get(cluster)
            removed += await _sweep_target(ctl, cluster, target.api)
        except ClusterUnavailable as exc:
            event(log, "sweep.skipped", cluster=cluster, reason=exc.message)
        except Exception as exc:
            event(log, "sweep.failed", cluster=cluster,
                  error=f"{type(exc).__name__}: {str(exc)[:200]}", level=logging.WARNING)
    event(log, "sweep.done", removed=removed)
    return removed


async def _sweep_secrets(ctl: Controller) -> int:
    core = client.CoreV1Api(ctl.central)
    found = await kube.run(core.list_namespaced_secret, names.TOKENS_NAMESPACE,
                           label_selector=_SELECTOR, _request_timeout=kube.REQUEST_TIMEOUT)
    removed = 0
    for secret in found.items:
        cr_name = _ours(secret, ctl.namespace)
        if cr_name and await _orphaned(ctl, cr_name):
            name = kube.name_of(secret)
            await kube.run(kube.ignore, (404,), core.delete_namespaced_secret,
                           name, names.TOKENS_NAMESPACE)
            event(log, "sweep.removed", request=cr_name, kind="Secret", object=name)
            removed += 1
    return removed


async def _sweep_target(ctl: Controller, cluster: str, api: Any) -> int:
    core = client.CoreV1Api(api)
    rbac = client.RbacAuthorizationV1Api(api)
    removed = 0
    kinds: tuple[tuple[str, Callable[..., kube.Listing], Callable[..., object]], ...] = (
        ("RoleBinding", rbac.list_role_binding_for_all_namespaces,
         rbac.delete_namespaced_role_binding),
        ("ServiceAccount", core.list_service_account_for_all_namespaces,
         core.delete_namespaced_service_account),
    )
    for kind, lister, deleter in kinds:
        found = await kube.run(lister, label_selector=_SELECTOR,
                               _request_timeout=kube.REQUEST_TIMEOUT)
        for obj in found.items:
            cr_name = _ours(obj, ctl.namespace)
            if cr_name and await _orphaned(ctl, cr_name):
                name, namespace = kube.name_of(obj), kube.namespace_of(obj)
                await kube.run(kube.ignore, (404,), deleter, name, namespace)
                event(log, "sweep.removed", request=cr_name, kind=kind, cluster=cluster,
                      namespace=namespace, object=name)
                removed += 1
    return removed
