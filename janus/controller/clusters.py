"""Target clusters: kubeconfig Secrets labelled ``janus.dev/cluster=<name>``, plus the central one.

A client is built on first use from the Secret's ``kubeconfig`` key and cached together with the
Secret's resourceVersion. The kopf handler on those Secrets calls :meth:`Registry.invalidate`
whenever one is added, changed or deleted, so a rotated credential or a moved API server is
picked up without a restart. The central cluster (``--central-cluster-name``) uses the
controller's own connection and needs no Secret.

The kubeconfig is loaded from memory; nothing but the CA is ever written to disk (by the
Kubernetes client, as it needs a file for TLS verification).
"""

from __future__ import annotations

import asyncio
import base64
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from kubernetes import client, config

from janus import names
from janus.controller import kube

KUBECONFIG_KEY = "kubeconfig"


class ClusterUnavailable(Exception):
    """No usable connection to a target cluster right now; the grant retries with backoff."""

    def __init__(self, cluster: str, message: str) -> None:
        super().__init__(f"cluster {cluster!r}: {message}")
        self.cluster = cluster
        self.message = message


@dataclass(frozen=True)
class Target:
    name: str
    api: Any  # kubernetes.client.ApiClient
    server: str
    ca_pem: str
    version: str  # resourceVersion of the kubeconfig Secret ("central" for the central cluster)


def _tune(api: Any) -> Any:
    api.configuration.connection_pool_maxsize = kube.POOL_SIZE
    # Re-create the pool manager so the new size takes effect.
    api.rest_client = type(api.rest_client)(api.configuration)
    return api


def _ca_pem(configuration: Any) -> str:
    path = configuration.ssl_ca_cert
    return Path(path).read_text(encoding="utf-8") if path else ""


def target_from_kubeconfig(name: str, text: str, version: str) -> Target:
    """Build a Target from kubeconfig text (current context)."""
    try:
        doc = yaml.safe_load(text)
        api = config.new_client_from_config_dict(doc)
    except Exception as exc:  # any malformed kubeconfig is a configuration problem, not a crash
        raise ClusterUnavailable(name, f"invalid kubeconfig: {type(exc).__name__}") from None
    api = _tune(api)
    ca = _ca_pem(api.configuration)
    if not ca:
        # Inline data is decoded by the loader into a temp file; be explicit for odd kubeconfigs.
        for entry in doc.get("clusters") or []:
            data = (entry.get("cluster") or {}).get("certificate-authority-data")
            if data:
                ca = base64.b64decode(data).decode()
                break
    return Target(name=name, api=api, server=api.configuration.host, ca_pem=ca, version=version)


class Registry:
    def __init__(
        self,
        central_api: Any,
        namespace: str,
        central_name: str | None = None,
    ) -> None:
        self.central_api = central_api
        self.namespace = namespace
        self.central_name = central_name
        self._cache: dict[str, Target] = {}
        self._lock = threading.Lock()
        self._loading: dict[str, asyncio.Lock] = {}

    def central_target(self) -> Target:
        cfg = self.central_api.configuration
        return Target(self.central_name or "central", self.central_api, cfg.host, _ca_pem(cfg),
                      "central")

    def invalidate(self, cluster: str | None = None) -> None:
        with self._lock:
            if cluster is None:
                self._cache.clear()
            else:
                self._cache.pop(cluster, None)

    async def get(self, cluster: str) -> Target:
        if cluster == self.central_name:
            return self.central_target()
        cached = self._cache.get(cluster)
        if cached is not None:
            return cached
        # One load per cluster at a time: 200 grants arriving together read the Secret once.
        lock = self._loading.setdefault(cluster, asyncio.Lock())
        async with lock:
            cached = self._cache.get(cluster)
            if cached is not None:
                return cached
            target = await kube.run(self._load, cluster)
            with self._lock:
                self._cache[cluster] = target
            return target

    def _load(self, cluster: str) -> Target:
        core = client.CoreV1Api(self.central_api)
        try:
            found = core.list_namespaced_secret(
                self.namespace, label_selector=f"{names.LABEL_CLUSTER}={cluster}",
                _request_timeout=kube.REQUEST_TIMEOUT,
            ).items
        except client.ApiException as exc:
            raise ClusterUnavailable(cluster, f"cannot read kubeconfig Secrets: {exc.status}") \
                from None
        if not found:
            raise ClusterUnavailable(
                cluster,
                f"no Secret labelled {names.LABEL_CLUSTER}={cluster} in namespace "
                f"{self.namespace}",
            )
        if len(found) > 1:
            listed = ", ".join(sorted(kube.name_of(s) for s in found))
            raise ClusterUnavailable(cluster, f"several kubeconfig Secrets ({listed})")
        secret = found[0]
        raw = (secret.data or {}).get(KUBECONFIG_KEY)
        if not raw:
            raise ClusterUnavailable(
                cluster, f"Secret {kube.name_of(secret)} has no {KUBECONFIG_KEY!r} key"
            )
        text = base64.b64decode(raw).decode("utf-8", errors="replace")
        version = secret.metadata.resource_version if secret.metadata is not None else None
        return target_from_kubeconfig(cluster, text, version or "")
