"""Async reads and watches on the central cluster, with the web app's own identity.

The web app's identity reads AccessRequest CRs in the Janus namespace and token Secrets in
`janus-tokens` — nothing else. It is never used to exec: that is done with the grant's token
(janus.web.terminal.exec_stream).

httpx is used directly instead of the thread-bridged sync kubernetes client so that watches are
plain asyncio tasks that cancel cleanly on shutdown. The kubernetes package still does the
work of understanding kubeconfig files and in-cluster configuration.
"""

from __future__ import annotations

import json
import ssl
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
from kubernetes import client as k8s_client

from janus import resource
from janus.resource import AccessRequestView, sessions
from janus.resource.kube import central_client

# Metadata only: a watch on Secrets must not pull every grant's token into this process.
PARTIAL_METADATA = "application/json;as=PartialObjectMetadata;g=meta.k8s.io;v=v1"
PARTIAL_METADATA_LIST = "application/json;as=PartialObjectMetadataList;g=meta.k8s.io;v=v1"


class CentralApiError(RuntimeError):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(f"{status}: {message}")
        self.status = status


class WatchExpired(Exception):
    """The watch's resourceVersion is too old (410 Gone), or newer than the API server's watch
    cache (504 "Too large resource version"): list again."""


def _relist(code: int, message: str) -> bool:
    return code == 410 or (code == 504 and "too large resource version" in message.lower())


def load_configuration(kubeconfig: Path | None) -> k8s_client.Configuration:
    """The central cluster's connection settings, found as every process finds them
    (:func:`janus.resource.kube.central_client`: the kubeconfig given, else ``KUBECONFIG``,
    else in-cluster)."""
    configuration: k8s_client.Configuration = central_client(kubeconfig).configuration
    return configuration


def _ssl_context(configuration: k8s_client.Configuration) -> ssl.SSLContext | bool:
    if not configuration.verify_ssl:
        return False
    context = ssl.create_default_context(cafile=configuration.ssl_ca_cert)
    if configuration.cert_file:
        context.load_cert_chain(configuration.cert_file, configuration.key_file)
    return context


class CentralApi:
    """A small async client for the few central-cluster calls the terminal makes."""

    def __init__(self, configuration: k8s_client.Configuration) -> None:
        self._configuration = configuration
        self._http = httpx.AsyncClient(
            base_url=configuration.host,
            verify=_ssl_context(configuration),
            timeout=httpx.Timeout(10.0, read=None),
        )

    async def aclose(self) -> None:
        await self._http.aclose()

    def _headers(self, accept: str = "application/json") -> dict[str, str]:
        headers = {"Accept": accept}
        # Called per request: in-cluster tokens rotate and the refresh hook re-reads them.
        # kubernetes>=36 keys the token as "BearerToken" (older releases: "authorization").
        auth = self._configuration.get_api_key_with_prefix("BearerToken", alias="authorization")
        if auth:
            headers["Authorization"] = auth
        return headers

    async def _get(self, path: str, params: dict[str, str] | None = None) -> dict[str, Any] | None:
        response = await self._http.get(path, params=params, headers=self._headers())
        if response.status_code == 404:
            return None
        if response.status_code >= 400:
            raise CentralApiError(response.status_code, response.text[:300])
        return response.json()

    # ---- reads -------------------------------------------------------------------------------

    def _cr_path(self, namespace: str) -> str:
        return f"/apis/{resource.GROUP}/{resource.VERSION}/namespaces/{namespace}/{resource.PLURAL}"

    async def get_access_request(self, namespace: str, name: str) -> AccessRequestView | None:
        obj = await self._get(f"{self._cr_path(namespace)}/{name}")
        return AccessRequestView.from_cr(obj) if obj else None

    async def list_access_requests(self, namespace: str) -> list[AccessRequestView]:
        body = await self._get(self._cr_path(namespace))
        return [AccessRequestView.from_cr(item) for item in (body or {}).get("items") or []]

    async def get_secret(self, namespace: str, name: str) -> dict[str, Any] | None:
        return await self._get(f"/api/v1/namespaces/{namespace}/secrets/{name}")

    # ---- terminal session reports (janus.resource.sessions) ----------------------------------

    async def _write(self, method: str, path: str, body: dict[str, Any],
                     content_type: str = "application/json") -> dict[str, Any]:
        headers = {**self._headers(), "Content-Type": content_type}
        response = await self._http.request(method, path, content=json.dumps(body),
                                            headers=headers)
        if response.status_code >= 400:
            raise CentralApiError(response.status_code, response.text[:300])
        result: dict[str, Any] = response.json()
        return result

    async def create_terminal_session(self, namespace: str, body: dict[str, Any]
                                      ) -> dict[str, Any]:
        """Create a TerminalSession (the web identity may create them, nothing more)."""
        return await self._write("POST", sessions.path(namespace), body)

    async def close_terminal_session(self, namespace: str, name: str,
                                     status: dict[str, Any]) -> dict[str, Any]:
        """Write a TerminalSession's closing report (its status subresource, once)."""
        return await self._write("PATCH", sessions.path(namespace, name, status=True), status,
                                 "application/merge-patch+json")

    # ---- watches -----------------------------------------------------------------------------

    async def list_objects(
        self, path: str, label_selector: str | None = None, *, metadata_only: bool = False
    ) -> tuple[list[dict[str, Any]], str]:
        """Items and the list's resourceVersion, to start a watch from."""
        params = {"labelSelector": label_selector} if label_selector else {}
        accept = PARTIAL_METADATA_LIST if metadata_only else "application/json"
        response = await self._http.get(path, params=params, headers=self._headers(accept))
        if response.status_code >= 400:
            raise CentralApiError(response.status_code, response.text[:300])
        body = response.json()
        return list(body.get("items") or []), body["metadata"]["resourceVersion"]

    async def watch(
        self,
        path: str,
        resource_version: str,
        *,
        label_selector: str | None = None,
        metadata_only: bool = False,
        timeout_seconds: int = 300,
    ) -> AsyncIterator[tuple[str, dict[str, Any]]]:
        """Yield (type, object) watch events until the server ends the watch."""
        params = {
            "watch": "1",
            "resourceVersion": resource_version,
            "allowWatchBookmarks": "true",
            "timeoutSeconds": str(timeout_seconds),
        }
        if label_selector:
            params["labelSelector"] = label_selector
        accept = PARTIAL_METADATA if metadata_only else "application/json"
        async with self._http.stream(
            "GET", path, params=params, headers=self._headers(accept)
        ) as response:
            if response.status_code >= 400:
                await response.aread()
                if _relist(response.status_code, response.text):
                    raise WatchExpired()
                raise CentralApiError(response.status_code, response.text[:300])
            async for line in response.aiter_lines():
                if not line.strip():
                    continue
                item = json.loads(line)
                kind, obj = item.get("type", ""), item.get("object", {})
                if kind == "ERROR":
                    if _relist(int(obj.get("code") or 0), str(obj.get("message") or "")):
                        raise WatchExpired()
                    raise CentralApiError(int(obj.get("code") or 500), str(obj.get("message")))
                yield kind, obj
