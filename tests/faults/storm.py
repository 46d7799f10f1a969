"""Helpers of the control-plane fault tests: many grants at once, what is left of them, and the
faults themselves (a component of a test's own LocalCluster restarted or stopped, by its PID).

Only processes of a cluster the test started are touched: :func:`restart` replaces the
``ManagedProcess`` of that cluster (same argv, same port), :func:`stalled` sends SIGSTOP and
SIGCONT to that one PID.
"""

from __future__ import annotations

import contextlib
import os
import signal
import ssl
import time
import urllib.request
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from kubernetes import client

from janus import names, resource
from janus.dev.controlplane import LocalCluster
from janus.dev.controlplane.process import ManagedProcess
from janus.resource import timefmt
from tests.integration.controller_env import create_request


def create_many(api: Any, janus_ns: str, namespace: str, count: int, duration: str) -> list[str]:
    """*count* AccessRequests for *namespace*, created 8 at a time."""
    with ThreadPoolExecutor(8) as pool:
        return list(pool.map(lambda _: create_request(api, janus_ns, cluster="central",
                                                      namespace=namespace, duration=duration),
                             range(count)))


def statuses(api: Any, janus_ns: str) -> dict[str, dict[str, Any]]:
    """Every AccessRequest's status in *janus_ns*, by name (one list call)."""
    items = client.CustomObjectsApi(api).list_namespaced_custom_object(
        resource.GROUP, resource.VERSION, janus_ns, resource.PLURAL)["items"]
    return {i["metadata"]["name"]: i.get("status") or {} for i in items}


def in_phase(api: Any, janus_ns: str, crs: list[str], phase: str) -> bool:
    current = statuses(api, janus_ns)
    return all(current.get(n, {}).get("phase") == phase for n in crs)


def expires_at(api: Any, janus_ns: str, crs: list[str]) -> dict[str, float]:
    """Each grant's expiresAt as a wall-clock timestamp."""
    current = statuses(api, janus_ns)
    out = {}
    for name in crs:
        at = timefmt.parse_or_none(current[name].get("expiresAt"))
        assert at is not None, f"{name} has no expiresAt: {current[name]}"
        out[name] = at.timestamp()
    return out


def access_objects(api: Any, namespace: str, crs: list[str]) -> dict[str, dict[str, int]]:
    """How many ServiceAccounts, RoleBindings and token Secrets each grant of *crs* has now."""
    selector = f"{names.LABEL_MANAGED_BY}={names.MANAGED_BY}"
    core, rbac = client.CoreV1Api(api), client.RbacAuthorizationV1Api(api)
    found: dict[str, dict[str, int]] = {n: {"sa": 0, "rb": 0, "secret": 0} for n in crs}
    listings = {
        "sa": core.list_namespaced_service_account(namespace, label_selector=selector).items,
        "rb": rbac.list_namespaced_role_binding(namespace, label_selector=selector).items,
        "secret": core.list_namespaced_secret(names.TOKENS_NAMESPACE,
                                              label_selector=selector).items,
    }
    for kind, items in listings.items():
        for item in items:
            request = (item.metadata.labels or {}).get(names.LABEL_REQUEST)
            if request in found:
                found[request][kind] += 1
    return found


def left_over(api: Any, namespace: str, crs: list[str]) -> dict[str, dict[str, int]]:
    """The grants of *crs* that still have any access object."""
    return {n: c for n, c in access_objects(api, namespace, crs).items() if any(c.values())}


def wait_until(predicate: Any, timeout: float, what: str, interval: float = 0.2) -> float:
    """Poll until *predicate* is true; returns the wall-clock time it was first seen true."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return time.time()
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}")


def _process(cluster: LocalCluster, name: str) -> ManagedProcess:
    (proc,) = [p for p in cluster.processes if p.name == name]
    return proc


def restart(cluster: LocalCluster, name: str, *, down_seconds: float = 0.0,
            timeout: float = 90) -> float:
    """SIGKILL the cluster's *name* process (its PID), wait *down_seconds*, start it again with
    the same arguments and wait until it is ready. Returns the time it was ready again."""
    old = _process(cluster, name)
    old.stop(grace=0)
    time.sleep(down_seconds)
    new = ManagedProcess(name, old.argv, old.log_path)
    cluster.processes[cluster.processes.index(old)] = new
    if name == "kube-apiserver":
        _wait_ready(cluster, new, f"{cluster.server}/readyz", timeout)
    return time.time()


def _wait_ready(cluster: LocalCluster, proc: ManagedProcess, url: str, timeout: float) -> None:
    context = ssl.create_default_context(cafile=str(cluster.pki.ca_cert))
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert proc.running(), proc.log_tail()
        with contextlib.suppress(OSError):
            with urllib.request.urlopen(url, timeout=2, context=context) as resp:  # noqa: S310
                if resp.read() == b"ok":
                    return
        time.sleep(0.2)
    raise AssertionError(f"{proc.name} not ready after {timeout}s:\n{proc.log_tail()}")


@contextlib.contextmanager
def stalled(cluster: LocalCluster, name: str) -> Iterator[None]:
    """The cluster's *name* process stopped with SIGSTOP (by PID) for the block, then SIGCONT."""
    pid = _process(cluster, name).pid
    os.kill(pid, signal.SIGSTOP)
    try:
        yield
    finally:
        os.kill(pid, signal.SIGCONT)
