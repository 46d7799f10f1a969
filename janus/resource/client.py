"""``AccessRequestClient``: every read and write of AccessRequests, over CustomObjectsApi.

Blocking calls (the controller runs them off its event loop). Each method returns
:class:`~janus.resource.view.AccessRequestView` objects, never raw dicts, and raises only the
errors of :mod:`janus.resource.errors` — the Kubernetes client's ``ApiException`` is translated
here, once.

Writes:

* :meth:`create` — the receiver's new grant;
* :meth:`patch_spec` — a merge patch of ``spec`` (extension, new provenance);
* :meth:`request_revocation` — the one place ``spec.revocation`` is written (write-once);
* :meth:`write_status` — the controller's status, always a compare-and-set on resourceVersion;
* :meth:`set_annotation`, :meth:`delete` — the receiver's bookkeeping.
"""

from __future__ import annotations

import builtins
import datetime as dt
import threading
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any, TypeVar

from janus import names
from janus.resource import errors, kind, timefmt
from janus.resource.view import AccessRequestView

T = TypeVar("T")

MERGE_PATCH = "application/merge-patch+json"
# (connect, read) seconds: a hung API server must fail into the caller's retry path.
REQUEST_TIMEOUT = (3.0, 15.0)
# spec.revocation limits of the CRD schema: longer text is cut, never refused.
REVOCATION_BY_MAX, REVOCATION_REASON_MAX = 100, 500
_REVOKE_RETRIES = 5
# Which path a revocation took (web, cli, pr-comment, file-deletion, reconcile), for the ledger.
REVOKED_VIA = "janus.dev/revoked-via"


@dataclass(frozen=True)
class WatchEvent:
    """One change seen by :meth:`AccessRequestClient.watch`.

    ``type`` is ``ADDED``, ``MODIFIED`` or ``DELETED`` as the API server reports it, or
    ``LISTED`` for each object of a (re-)listing — after a start, a 410 Gone or a 504 "Too large
    resource version", so a consumer that handles LISTED never misses a state.
    """

    type: str
    view: AccessRequestView


def is_relist(exc: BaseException) -> bool:
    """410 Gone (our version was compacted) or 504 "Too large resource version" (the watch
    cache is behind the version we asked for): list again and carry on."""
    from kubernetes.client.exceptions import ApiException

    if not isinstance(exc, ApiException):
        return False
    # As an ERROR event the message is in reason; as the watch request's HTTP status, in body.
    said = f"{exc.reason or ''} {exc.body or ''}".lower()
    return exc.status == 410 or (exc.status == 504 and "too large resource version" in said)


class AccessRequestClient:
    """The AccessRequests of one namespace (default ``janus``) of the central cluster."""

    def __init__(self, api_client: Any, namespace: str = names.JANUS_NAMESPACE, *,
                 field_manager: str | None = None,
                 request_timeout: Any = REQUEST_TIMEOUT) -> None:
        from kubernetes import client

        self.api_client = api_client
        self.api = client.CustomObjectsApi(api_client)
        self.namespace = namespace
        self.field_manager = field_manager
        self.request_timeout = request_timeout

    # ---- plumbing --------------------------------------------------------------------------

    def _args(self) -> tuple[str, str, str, str]:
        return kind.GROUP, kind.VERSION, self.namespace, kind.PLURAL

    def _call(self, doing: str, name: str | None, fn: Callable[..., T], *args: Any,
              **kwargs: Any) -> T:
        """Call the Kubernetes client; translate its errors (the one place that does)."""
        import urllib3
        from kubernetes.client.exceptions import ApiException

        try:
            return fn(*args, **kwargs)
        except (ApiException, urllib3.exceptions.HTTPError, OSError) as exc:
            raise errors.translate(exc, doing, name) from None

    def _object(self, doing: str, name: str | None, fn: Callable[..., object], *args: Any,
                **kwargs: Any) -> Mapping[str, Any]:
        """:meth:`_call` for calls that answer with one JSON object (a CR or a list)."""
        result = self._call(doing, name, fn, *args, **kwargs)
        if not isinstance(result, Mapping):
            raise errors.Unavailable(f"{doing}: unexpected answer ({type(result).__name__})",
                                     name=name)
        return result

    def _write_kwargs(self) -> dict[str, Any]:
        kwargs: dict[str, Any] = {"_request_timeout": self.request_timeout}
        if self.field_manager:
            kwargs["field_manager"] = self.field_manager
        return kwargs

    # ---- reads -----------------------------------------------------------------------------

    def get(self, name: str) -> AccessRequestView:
        """The AccessRequest *name*; :class:`~janus.resource.errors.NotFound` if there is none."""
        obj = self._object(f"reading AccessRequest {name}", name,
                           self.api.get_namespaced_custom_object, *self._args(), name,
                           _request_timeout=self.request_timeout)
        return AccessRequestView.from_cr(obj)

    def find(self, name: str) -> AccessRequestView | None:
        """:meth:`get`, with None for an AccessRequest that does not exist."""
        try:
            return self.get(name)
        except errors.NotFound:
            return None

    def list(self, label_selector: str | None = None) -> builtins.list[AccessRequestView]:
        """Every AccessRequest of the namespace (matching *label_selector*, if given)."""
        return self.list_with_version(label_selector)[0]

    def list_with_version(self, label_selector: str | None = None
                          ) -> tuple[builtins.list[AccessRequestView], str]:
        """:meth:`list`, and the listing's resourceVersion (to watch from)."""
        kwargs: dict[str, Any] = {"_request_timeout": self.request_timeout}
        if label_selector:
            kwargs["label_selector"] = label_selector
        result = self._object(f"listing AccessRequests in {self.namespace}", None,
                              self.api.list_namespaced_custom_object, *self._args(), **kwargs)
        items = [AccessRequestView.from_cr(item) for item in result.get("items") or []]
        version = str((result.get("metadata") or {}).get("resourceVersion") or "")
        return items, version

    def watch(self, *, stop: threading.Event | None = None, timeout_seconds: int = 30,
              label_selector: str | None = None) -> Iterator[WatchEvent]:
        """List (each object as a ``LISTED`` event), then stream changes, until *stop* is set.

        Each watch request lasts *timeout_seconds* (which also bounds how long a *stop* takes to
        be noticed) and resumes from the last version seen. A 410 Gone or a 504 "Too large
        resource version" lists again. Any other failure raises (translated); call again to
        resume, which lists first.
        """
        from kubernetes import watch

        # kubernetes.watch carries no type annotations; named here with what we rely on.
        new_watch: Callable[[], Any] = watch.Watch
        stop = stop or threading.Event()
        while not stop.is_set():
            items, version = self.list_with_version(label_selector)
            for view in items:
                yield WatchEvent("LISTED", view)
            kwargs: dict[str, Any] = {"timeout_seconds": timeout_seconds}
            if label_selector:
                kwargs["label_selector"] = label_selector
            try:
                while not stop.is_set():
                    w = new_watch()
                    for change in w.stream(self.api.list_namespaced_custom_object,
                                           *self._args(), resource_version=version, **kwargs):
                        if stop.is_set():
                            w.stop()
                            break
                        obj = change.get("object") or {}
                        view = AccessRequestView.from_cr(obj)
                        version = view.resource_version or version
                        if change.get("type") in ("ADDED", "MODIFIED", "DELETED"):
                            yield WatchEvent(str(change["type"]), view)
            except Exception as exc:
                if is_relist(exc):
                    continue
                import urllib3
                from kubernetes.client.exceptions import ApiException

                if isinstance(exc, ApiException | urllib3.exceptions.HTTPError | OSError):
                    raise errors.translate(exc, f"watching AccessRequests in {self.namespace}",
                                           None) from None
                raise

    # ---- writes ----------------------------------------------------------------------------

    def create(self, name: str, spec: Mapping[str, Any], *,
               labels: Mapping[str, str] | None = None,
               annotations: Mapping[str, str] | None = None) -> AccessRequestView:
        """Create the AccessRequest *name*; :class:`~janus.resource.errors.AlreadyExists` when
        one of that name is there already."""
        metadata: dict[str, Any] = {"name": name, "namespace": self.namespace,
                                    "labels": dict(labels or {})}
        if annotations:
            metadata["annotations"] = dict(annotations)
        body = {
            "apiVersion": kind.API_VERSION,
            "kind": kind.KIND,
            "metadata": metadata,
            "spec": dict(spec),
        }
        try:
            obj = self._object(f"creating AccessRequest {name}", name,
                               self.api.create_namespaced_custom_object, *self._args(), body,
                               **self._write_kwargs())
        except errors.Conflict as exc:
            raise errors.AlreadyExists(str(exc), name=name, status=exc.status) from None
        return AccessRequestView.from_cr(obj)

    def _merge_patch(self, doing: str, name: str, body: Mapping[str, Any]) -> AccessRequestView:
        obj = self._object(doing, name, self.api.patch_namespaced_custom_object, *self._args(),
                           name, dict(body), _content_type=MERGE_PATCH, **self._write_kwargs())
        return AccessRequestView.from_cr(obj)

    def patch_spec(self, name: str, changes: Mapping[str, Any], *,
                   resource_version: str | None = None) -> AccessRequestView:
        """Merge-patch ``spec`` (a None value removes the key). With *resource_version*, a
        compare-and-set: :class:`~janus.resource.errors.Conflict` if the CR changed."""
        body: dict[str, Any] = {"spec": dict(changes)}
        if resource_version:
            body["metadata"] = {"resourceVersion": resource_version}
        return self._merge_patch(f"patching AccessRequest {name}", name, body)

    def request_revocation(self, name: str, by: str, reason: str,
                           now: dt.datetime | None = None, *,
                           via: str | None = None) -> AccessRequestView:
        """Set ``spec.revocation = {by, reason, requestedAt}``: the controller then removes the
        grant. Written once, ever (a CRD rule), and only on a grant that is not over.

        Raises :class:`~janus.resource.errors.AlreadyRevoked` when a revocation is already set
        (the view of it is in ``exc.current``), :class:`~janus.resource.errors.GrantEnded` when
        the grant is Expired/Revoked/Failed, NotFound when there is no such AccessRequest.
        *by* and *reason* are cut to the schema's limits. *via* (web, cli, pr-comment,
        file-deletion, reconcile) is written in the same patch as the annotation
        ``janus.dev/revoked-via``: the ledger records which path the revocation took.
        """
        revocation = {
            "by": by[:REVOCATION_BY_MAX],
            "reason": reason[:REVOCATION_REASON_MAX],
            "requestedAt": timefmt.fmt(now or timefmt.now()),
        }
        for _ in range(_REVOKE_RETRIES):
            current = self.get(name)
            self._check_revocable(current)
            metadata: dict[str, Any] = {"resourceVersion": current.resource_version}
            if via:
                metadata["annotations"] = {REVOKED_VIA: via}
            body = {"metadata": metadata, "spec": {"revocation": revocation}}
            try:
                return self._merge_patch(f"revoking AccessRequest {name}", name, body)
            except errors.Conflict:
                continue  # changed meanwhile (perhaps revoked by someone else): look again
            except errors.Rejected:
                # The CRD's write-once rule: someone revoked it between our read and write.
                fresh = self.get(name)
                self._check_revocable(fresh)
                raise
        raise errors.Conflict(f"AccessRequest {name} kept changing while being revoked",
                              name=name, status=409)

    @staticmethod
    def _check_revocable(view: AccessRequestView) -> None:
        if view.revocation is not None:
            raise errors.AlreadyRevoked(
                f"AccessRequest {view.name} was already revoked by {view.revocation.by or '?'}",
                name=view.name, current=view)
        if view.terminal:
            raise errors.GrantEnded(
                f"AccessRequest {view.name} has already ended (phase {view.phase})",
                name=view.name, current=view)

    def write_status(self, name: str, resource_version: str,
                     status: Mapping[str, Any]) -> AccessRequestView:
        """Merge-patch ``status`` as a compare-and-set on *resource_version*; return the new
        object. :class:`~janus.resource.errors.Conflict` if the CR changed since it was read."""
        body = {"metadata": {"resourceVersion": resource_version}, "status": dict(status)}
        obj = self._object(f"writing the status of AccessRequest {name}", name,
                           self.api.patch_namespaced_custom_object_status, *self._args(), name,
                           body, _content_type=MERGE_PATCH,
                           _request_timeout=self.request_timeout)
        return AccessRequestView.from_cr(obj)

    def set_annotation(self, name: str, key: str, value: str,
                       resource_version: str) -> AccessRequestView:
        """Set one annotation as a compare-and-set on *resource_version*."""
        body = {"metadata": {"annotations": {key: value}, "resourceVersion": resource_version}}
        return self._merge_patch(f"annotating AccessRequest {name}", name, body)

    def set_finalizer(self, name: str, finalizer: str, present: bool) -> AccessRequestView | None:
        """Add (*present*) or remove *finalizer* in ``metadata.finalizers``, as a compare-and-set
        (a merge patch replaces the whole list, so another owner's finalizer written meanwhile
        must not be lost); None when the CR is gone. Retries on a lost race."""
        for _ in range(_REVOKE_RETRIES):
            current = self.find(name)
            if current is None:
                return None
            have = list(current.meta.finalizers)
            if (finalizer in have) == present:
                return current
            wanted = [*have, finalizer] if present else [f for f in have if f != finalizer]
            body = {"metadata": {"finalizers": wanted,
                                 "resourceVersion": current.resource_version}}
            try:
                return self._merge_patch(f"updating the finalizers of AccessRequest {name}",
                                         name, body)
            except errors.Conflict:
                continue
            except errors.NotFound:
                return None
        raise errors.Conflict(f"AccessRequest {name} kept changing while its finalizers were "
                              "updated", name=name, status=409)

    def delete(self, name: str, *, uid: str | None = None) -> None:
        """Delete the AccessRequest (only the object with *uid*, if given). Gone already is
        fine; a different object of that name (uid precondition failed) is left alone."""
        from kubernetes import client

        kwargs: dict[str, Any] = {"_request_timeout": self.request_timeout}
        if uid:
            kwargs["body"] = client.V1DeleteOptions(preconditions=client.V1Preconditions(uid=uid))
        try:
            self._call(f"deleting AccessRequest {name}", name,
                       self.api.delete_namespaced_custom_object, *self._args(), name, **kwargs)
        except (errors.NotFound, errors.Conflict):
            pass
