"""What can go wrong talking to the AccessRequest API, as ``janus.errors`` leaves.

The Kubernetes client's ``ApiException`` (and urllib3's connection errors) are translated here,
once, by :func:`translate`; nothing above ``janus.resource`` sees them. Each error keeps the HTTP
status (None when the server was never reached) and the API server's short message, never the
request body.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

from janus import errors

if TYPE_CHECKING:
    from janus.resource.view import AccessRequestView


class AccessRequestError(errors.JanusError):
    """Base of the AccessRequest API errors: the CR name, the HTTP status, the CR as found."""

    def __init__(self, message: str, *, name: str | None = None, status: int | None = None,
                 current: AccessRequestView | None = None):
        super().__init__(message)
        self.name = name
        self.status = status
        # The CR as the error found it, where the caller may want to report it (AlreadyRevoked:
        # who revoked, when; GrantEnded: the phase).
        self.current = current


class NotFound(AccessRequestError, errors.NotFound, LookupError):
    """No such AccessRequest (404), or the CRD is not installed."""


class Conflict(AccessRequestError, errors.Conflict):
    """The CR changed since it was read (409 on a compare-and-set): re-read and decide again."""


class AlreadyExists(Conflict):
    """A create found an AccessRequest of that name already there (409)."""


class AlreadyRevoked(Conflict):
    """``spec.revocation`` is already set; it is write-once (CRD rule), so nothing was written."""


class GrantEnded(Conflict):
    """The grant is already Expired, Revoked or Failed: there is no access left to revoke."""


class Rejected(AccessRequestError, errors.Refused):
    """The API server refused the write as invalid (400/422: schema or CEL rule)."""


class Forbidden(AccessRequestError, errors.Refused):
    """The credentials lack the permission (401/403)."""


class Unavailable(AccessRequestError, errors.Unavailable):
    """The API server cannot be reached or answered with a server error; retry later."""


def reason_of(exc: object) -> str:
    """The API server's short ``message`` (or the HTTP reason), never the request body."""
    body = getattr(exc, "body", None)
    reason = str(getattr(exc, "reason", "") or "")
    try:
        message = json.loads(body or "{}").get("message")
    except (TypeError, ValueError, AttributeError):
        message = None
    return str(message or reason or type(exc).__name__)[:300]


def translate(exc: BaseException, doing: str, name: str | None = None) -> AccessRequestError:
    """The Janus error for *exc*, raised by the Kubernetes client while *doing* (a phrase such
    as ``"reading AccessRequest x"``)."""
    from kubernetes.client.exceptions import ApiException

    if not isinstance(exc, ApiException):
        # urllib3/socket errors: the server was never reached.
        return Unavailable(f"{doing}: API server unreachable ({type(exc).__name__})",
                           name=name, status=None)
    status = exc.status
    text = f"{doing}: {status} {reason_of(exc)}"
    if status == 404:
        return NotFound(text, name=name, status=status)
    if status == 409:
        return Conflict(text, name=name, status=status)
    if status in (400, 422):
        return Rejected(text, name=name, status=status)
    if status in (401, 403):
        return Forbidden(text, name=name, status=status)
    return Unavailable(text, name=name, status=status)
