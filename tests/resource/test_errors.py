"""Kubernetes errors become janus.errors leaves, once, in janus.resource.errors.translate."""

from __future__ import annotations

import json

import pytest
import urllib3
from kubernetes.client.rest import ApiException

from janus import errors as base
from janus.resource import errors


def _api(status: int, message: str = "boom") -> ApiException:
    exc = ApiException(status=status, reason="Reason")
    exc.body = json.dumps({"message": message})
    return exc


@pytest.mark.parametrize(("status", "cls", "family"), [
    (404, errors.NotFound, base.NotFound),
    (409, errors.Conflict, base.Conflict),
    (422, errors.Rejected, base.Refused),
    (400, errors.Rejected, base.Refused),
    (403, errors.Forbidden, base.Refused),
    (401, errors.Forbidden, base.Refused),
    (500, errors.Unavailable, base.Unavailable),
    (503, errors.Unavailable, base.Unavailable),
    (429, errors.Unavailable, base.Unavailable),
])
def test_status_codes_map_onto_the_hierarchy(status: int, cls: type, family: type) -> None:
    err = errors.translate(_api(status, "the message"), "reading AccessRequest x", "x")
    assert type(err) is cls and isinstance(err, family) and isinstance(err, base.JanusError)
    assert err.status == status and err.name == "x"
    assert str(err) == f"reading AccessRequest x: {status} the message"


def test_not_found_is_also_a_lookup_error() -> None:
    assert isinstance(errors.translate(_api(404), "x"), LookupError)


def test_conflict_leaves() -> None:
    for cls in (errors.AlreadyExists, errors.AlreadyRevoked, errors.GrantEnded):
        assert issubclass(cls, errors.Conflict) and issubclass(cls, base.Conflict)


def test_connection_errors_are_unavailable() -> None:
    err = errors.translate(urllib3.exceptions.MaxRetryError(None, "/x"), "listing")
    assert isinstance(err, errors.Unavailable) and err.status is None
    assert "unreachable" in str(err)


def test_reason_never_carries_more_than_the_server_message() -> None:
    exc = ApiException(status=500, reason="Internal")
    exc.body = "not json " * 100
    assert errors.reason_of(exc) == "Internal"
    exc.body = json.dumps({"message": "m" * 1000})
    assert len(errors.reason_of(exc)) == 300
