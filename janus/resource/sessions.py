"""The TerminalSession resource: how the web app reports terminal sessions for the ledger.

Every terminal session the web app opens on a grant becomes a small ``TerminalSession``
(``terminalsessions.janus.dev``, namespaced in the Janus namespace): created when the shell
opens (``spec``: which grant, its ledger entry, who, where, when — immutable), its ``status``
written once when it closes (when, why, bytes in/out, size and SHA-256 of the recording — final
once ``closedAt`` is set). The receiver, the only writer of git, reads them
(:class:`TerminalSessions`), puts each closed session into its grant's ledger entry and then
deletes the object (docs/design.md §11).

Why a resource of its own: the web app then needs ``create`` on terminalsessions and ``patch``
on ``terminalsessions/status`` only — no write to AccessRequests (the objects that decide
access), no list, no delete, and no GitHub credentials. A report outlives the AccessRequest
(which may be deleted once its end is recorded) and is not squeezed into annotations. No
token, command or terminal output is ever in it: the recording stays in the web app's database;
the ledger gets its size and SHA-256, which anyone holding the recording can check.

Like :mod:`janus.resource.client`, this is the only place that reads a TerminalSession's raw
dict; the Kubernetes client is imported only by the methods that call it.
"""

from __future__ import annotations

import builtins
import datetime as dt
import threading
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from janus import names
from janus.model import ledger
from janus.resource import errors, kind
from janus.resource.client import is_relist
from janus.resource.timefmt import fmt as format_time
from janus.resource.timefmt import parse_or_none as parse_time

KIND = "TerminalSession"
PLURAL = "terminalsessions"
REQUEST_TIMEOUT = (5, 30)
# Why a session ended, as the web app says it (janus.web.terminal.session); free-form in the
# CRD (bounded), listed here for the reader of the schema.
MAX_REASON = 64


def session_name(grant: str, session_id: str, nonce: str) -> str:
    """The TerminalSession's name: the grant, the web app's session id and a nonce (so a web
    database started afresh, whose ids begin again at 1, never collides with an old report)."""
    return f"{grant}-s{session_id}-{nonce}"[:253]


@dataclass(frozen=True)
class SessionRecord:
    """One TerminalSession as the receiver reads it."""

    name: str
    uid: str
    access_request: str
    ledger_entry: str
    session_id: str
    user: str
    cluster: str
    namespace: str
    pod: str
    container: str
    opened_at: dt.datetime
    closed_at: dt.datetime | None = None
    close_reason: str | None = None
    bytes_in: int = 0
    bytes_out: int = 0
    recording_size: int | None = None
    recording_sha256: str | None = None

    @property
    def closed(self) -> bool:
        return self.closed_at is not None

    @classmethod
    def from_cr(cls, obj: Mapping[str, Any]) -> SessionRecord:
        meta = obj.get("metadata") or {}
        spec = obj.get("spec") or {}
        status = obj.get("status") or {}
        recording = status.get("recording") or {}
        opened = parse_time(spec.get("openedAt"))
        if opened is None:
            raise ValueError(f"TerminalSession {meta.get('name')}: spec.openedAt missing")
        return cls(
            name=str(meta.get("name") or ""), uid=str(meta.get("uid") or ""),
            access_request=str(spec.get("accessRequest") or ""),
            ledger_entry=str(spec.get("ledgerEntry") or ""),
            session_id=str(spec.get("sessionId") or ""), user=str(spec.get("user") or ""),
            cluster=str(spec.get("cluster") or ""), namespace=str(spec.get("namespace") or ""),
            pod=str(spec.get("pod") or ""), container=str(spec.get("container") or ""),
            opened_at=opened, closed_at=parse_time(status.get("closedAt")),
            close_reason=status.get("closeReason") or None,
            bytes_in=int(status.get("bytesIn") or 0), bytes_out=int(status.get("bytesOut") or 0),
            recording_size=recording.get("size"), recording_sha256=recording.get("sha256"),
        )

    def to_ledger(self) -> ledger.Session:
        """The session as the ledger entry holds it."""
        recording = None
        if self.recording_sha256 and self.recording_size is not None:
            recording = ledger.Recording(sha256=self.recording_sha256,
                                         size=int(self.recording_size))
        return ledger.Session(
            id=self.session_id, user=self.user, pod=self.pod, container=self.container,
            opened=ledger.fmt_time(self.opened_at),
            closed=ledger.fmt_time(self.closed_at) if self.closed_at else None,
            close_reason=self.close_reason, bytes_in=self.bytes_in, bytes_out=self.bytes_out,
            recording=recording)


# ---- what the web app writes (pure) ------------------------------------------------------------


def opened_body(*, name: str, namespace: str, access_request: str, ledger_entry: str,
                session_id: str, user: str, cluster: str, target_namespace: str, pod: str,
                container: str, opened_at: dt.datetime) -> dict[str, Any]:
    """The TerminalSession the web app creates when a shell opens."""
    spec: dict[str, Any] = {
        "accessRequest": access_request, "sessionId": session_id, "user": user,
        "cluster": cluster, "namespace": target_namespace, "pod": pod, "container": container,
        "openedAt": format_time(opened_at),
    }
    if ledger_entry:
        spec["ledgerEntry"] = ledger_entry
    return {
        "apiVersion": kind.API_VERSION, "kind": KIND,
        "metadata": {"name": name, "namespace": namespace,
                     "labels": {names.LABEL_REQUEST: access_request}},
        "spec": spec,
    }


def closed_status(*, closed_at: dt.datetime, reason: str, bytes_in: int, bytes_out: int,
                  recording_size: int | None, recording_sha256: str | None) -> dict[str, Any]:
    """The status the web app writes once when the session closes (a merge patch body)."""
    status: dict[str, Any] = {"closedAt": format_time(closed_at),
                              "closeReason": reason[:MAX_REASON], "bytesIn": int(bytes_in),
                              "bytesOut": int(bytes_out)}
    if recording_sha256 and recording_size is not None:
        status["recording"] = {"size": int(recording_size), "sha256": recording_sha256}
    return {"status": status}


def path(namespace: str, name: str | None = None, *, status: bool = False) -> str:
    """The API path of the TerminalSessions of *namespace* (or of one, or its status)."""
    base = f"/apis/{kind.GROUP}/{kind.VERSION}/namespaces/{namespace}/{PLURAL}"
    if name is None:
        return base
    return f"{base}/{name}/status" if status else f"{base}/{name}"


# ---- the CRD -----------------------------------------------------------------------------------


def _str(max_length: int, **extra: Any) -> dict[str, Any]:
    return {"type": "string", "maxLength": max_length, **extra}


def terminal_session_crd() -> dict[str, Any]:
    """The TerminalSession CRD (rendered by :mod:`janus.resource.crd`)."""
    dns = r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$"
    spec = {
        "type": "object",
        "required": ["accessRequest", "sessionId", "user", "cluster", "namespace", "pod",
                     "container", "openedAt"],
        "x-kubernetes-validations": [
            {"rule": "self == oldSelf", "message": "spec is immutable"},
        ],
        "properties": {
            "accessRequest": _str(63, pattern=dns, description="The grant (AccessRequest)."),
            "ledgerEntry": _str(300, pattern=r"^ledger/[-A-Za-z0-9_./]+\.yaml$",
                                description="The grant's ledger entry (its CR annotation)."),
            "sessionId": _str(40, pattern=r"^[A-Za-z0-9-]+$",
                              description="The web app's session id (its recording)."),
            "user": _str(39, pattern=r"^[A-Za-z0-9]([A-Za-z0-9-]{0,38})$"),
            "cluster": _str(63, pattern=dns),
            "namespace": _str(63, pattern=dns),
            "pod": _str(253, pattern=r"^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$"),
            "container": _str(63, pattern=dns),
            "openedAt": {"type": "string", "format": "date-time"},
        },
    }
    status = {
        "type": "object",
        "required": ["closedAt", "closeReason"],
        "x-kubernetes-validations": [
            {"rule": "self == oldSelf", "message": "a closed session's report is final"},
        ],
        "properties": {
            "closedAt": {"type": "string", "format": "date-time"},
            "closeReason": _str(MAX_REASON, pattern=r"^[a-z0-9-]+$"),
            "bytesIn": {"type": "integer", "minimum": 0},
            "bytesOut": {"type": "integer", "minimum": 0},
            "recording": {
                "type": "object",
                "required": ["size", "sha256"],
                "properties": {
                    "size": {"type": "integer", "minimum": 0},
                    "sha256": _str(64, pattern=r"^[0-9a-f]{64}$"),
                },
            },
        },
    }
    columns = [("Grant", ".spec.accessRequest"), ("User", ".spec.user"), ("Pod", ".spec.pod"),
               ("Closed", ".status.closedAt"), ("Reason", ".status.closeReason")]
    return {
        "apiVersion": "apiextensions.k8s.io/v1",
        "kind": "CustomResourceDefinition",
        "metadata": {"name": f"{PLURAL}.{kind.GROUP}"},
        "spec": {
            "group": kind.GROUP,
            "scope": "Namespaced",
            "names": {"kind": KIND, "plural": PLURAL, "singular": "terminalsession",
                      "listKind": f"{KIND}List", "categories": ["janus"]},
            "versions": [{
                "name": kind.VERSION, "served": True, "storage": True,
                "subresources": {"status": {}},
                "additionalPrinterColumns": [
                    *[{"name": n, "type": "string", "jsonPath": p} for n, p in columns],
                    {"name": "Age", "type": "date", "jsonPath": ".metadata.creationTimestamp"},
                ],
                "schema": {"openAPIV3Schema": {
                    "type": "object",
                    "required": ["spec"],
                    "properties": {"apiVersion": {"type": "string"}, "kind": {"type": "string"},
                                   "metadata": {"type": "object"}, "spec": spec,
                                   "status": status},
                }},
            }],
        },
    }


# ---- what the receiver reads ---------------------------------------------------------------------


class TerminalSessions:
    """The TerminalSessions of the Janus namespace, as the receiver reads (and, once recorded,
    deletes) them. Errors are translated as for AccessRequests (:mod:`janus.resource.errors`)."""

    def __init__(self, api_client: Any, namespace: str = names.JANUS_NAMESPACE, *,
                 request_timeout: Any = REQUEST_TIMEOUT) -> None:
        from kubernetes import client

        self.api_client = api_client
        self.api = client.CustomObjectsApi(api_client)
        self.namespace = namespace
        self.request_timeout = request_timeout

    def _args(self) -> tuple[str, str, str, str]:
        return kind.GROUP, kind.VERSION, self.namespace, PLURAL

    def _call(self, doing: str, name: str | None, fn: Any, *args: Any, **kwargs: Any) -> Any:
        import urllib3
        from kubernetes.client.exceptions import ApiException

        try:
            return fn(*args, **kwargs)
        except (ApiException, urllib3.exceptions.HTTPError, OSError) as exc:
            raise errors.translate(exc, doing, name) from None

    def list_with_version(self, label_selector: str | None = None
                          ) -> tuple[builtins.list[SessionRecord], str]:
        kwargs: dict[str, Any] = {"_request_timeout": self.request_timeout}
        if label_selector:
            kwargs["label_selector"] = label_selector
        result = self._call(f"listing TerminalSessions in {self.namespace}", None,
                            self.api.list_namespaced_custom_object, *self._args(), **kwargs)
        records = []
        for item in result.get("items") or []:
            try:
                records.append(SessionRecord.from_cr(item))
            except (ValueError, TypeError):
                continue  # the schema makes this impossible; never let one stop the others
        return records, str((result.get("metadata") or {}).get("resourceVersion") or "")

    def sessions_of(self, grant_name: str) -> tuple[SessionRecord, ...]:
        """Every reported session of the grant *grant_name*, oldest first."""
        records, _ = self.list_with_version(f"{names.LABEL_REQUEST}={grant_name}")
        return tuple(sorted(records, key=lambda r: (r.opened_at, r.session_id)))

    def watch(self, stop: threading.Event, *, timeout_seconds: int = 30
              ) -> Iterator[tuple[str, SessionRecord]]:
        """List (each as ``LISTED``), then stream changes (``ADDED``/``MODIFIED``/``DELETED``)
        until the watch ends or *stop* is set; call again to go on (it lists first). A 410 Gone
        or a 504 "Too large resource version" ends the watch the same way (the next call lists
        again); other failures are raised translated."""
        import urllib3
        from kubernetes import watch
        from kubernetes.client.exceptions import ApiException

        # kubernetes.watch carries no type annotations; named here with what we rely on.
        new_watch: Callable[[], Any] = watch.Watch
        records, version = self.list_with_version()
        for record in records:
            yield "LISTED", record
        w = new_watch()
        try:
            for change in w.stream(self.api.list_namespaced_custom_object, *self._args(),
                                   resource_version=version, timeout_seconds=timeout_seconds):
                if stop.is_set():
                    w.stop()
                    return
                obj = change.get("object")
                if change.get("type") not in ("ADDED", "MODIFIED", "DELETED") \
                        or not isinstance(obj, Mapping):
                    continue
                try:
                    yield str(change["type"]), SessionRecord.from_cr(obj)
                except (ValueError, TypeError):
                    continue
        except (ApiException, urllib3.exceptions.HTTPError, OSError) as exc:
            if is_relist(exc):
                return
            raise errors.translate(exc, f"watching TerminalSessions in {self.namespace}",
                                   None) from None

    def delete(self, record: SessionRecord) -> None:
        """Delete a recorded session (only the very object read: uid precondition)."""
        from kubernetes import client

        body = client.V1DeleteOptions(preconditions=client.V1Preconditions(uid=record.uid))
        try:
            self._call(f"deleting TerminalSession {record.name}", record.name,
                       self.api.delete_namespaced_custom_object, *self._args(), record.name,
                       body=body, _request_timeout=self.request_timeout)
        except errors.NotFound:
            pass


def sessions_of(grant_name: str, api_client: Any = None,
                namespace: str = names.JANUS_NAMESPACE) -> tuple[SessionRecord, ...]:
    """The reported terminal sessions of *grant_name* (the central cluster's client by default)."""
    if api_client is None:
        from janus.resource.kube import central_client

        api_client = central_client()
    return TerminalSessions(api_client, namespace).sessions_of(grant_name)
