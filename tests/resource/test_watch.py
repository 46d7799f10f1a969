"""AccessRequestClient.watch without a server: the re-list rules, with a scripted stream."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, ClassVar

import pytest
from kubernetes import watch as k8s_watch
from kubernetes.client.exceptions import ApiException

from janus.resource import errors
from janus.resource.client import AccessRequestClient
from janus.resource.view import AccessRequestView


def _cr(name: str, rv: str, duration: str = "1h") -> dict[str, Any]:
    return {"metadata": {"name": name, "resourceVersion": rv}, "spec": {"duration": duration}}


class ScriptedWatch:
    """Stands in for kubernetes.watch.Watch: each stream() plays the next scripted step."""

    script: ClassVar[list[Any]] = []
    versions: ClassVar[list[str]] = []

    def stream(self, fn: Any, *args: Any, resource_version: str, **kwargs: Any) -> Iterator[Any]:
        ScriptedWatch.versions.append(resource_version)
        step = ScriptedWatch.script.pop(0)
        if isinstance(step, BaseException):
            raise step
        yield from step

    def stop(self) -> None:
        pass


@pytest.fixture
def crs(monkeypatch: pytest.MonkeyPatch) -> AccessRequestClient:
    client = AccessRequestClient(api_client=None, namespace="janus")
    listings = iter([([AccessRequestView.from_cr(_cr("a", "5"))], "5"),
                     ([AccessRequestView.from_cr(_cr("a", "7"))], "7")])
    monkeypatch.setattr(client, "list_with_version", lambda selector=None: next(listings))
    monkeypatch.setattr(k8s_watch, "Watch", ScriptedWatch)
    ScriptedWatch.versions = []
    return client


@pytest.mark.parametrize("error", [
    ApiException(status=504, reason="Timeout: Too large resource version: 5, current: 3"),
    ApiException(status=410, reason="Expired: too old resource version: 5 (6)"),
], ids=["504-too-large", "410-gone"])
def test_an_unusable_version_lists_again(crs: AccessRequestClient, error: ApiException) -> None:
    ScriptedWatch.script = [error, [{"type": "MODIFIED", "object": _cr("a", "8", "2h")}]]
    events = crs.watch(timeout_seconds=1)
    seen = [next(events) for _ in range(3)]
    assert [(e.type, e.view.resource_version) for e in seen] == [
        ("LISTED", "5"), ("LISTED", "7"), ("MODIFIED", "8")]
    assert seen[-1].view.duration == "2h"
    assert ScriptedWatch.versions == ["5", "7"]  # the second watch starts from the new listing


def test_the_watch_resumes_from_the_last_version_seen(crs: AccessRequestClient) -> None:
    ScriptedWatch.script = [[{"type": "MODIFIED", "object": _cr("a", "6")},
                             {"type": "BOOKMARK", "object": _cr("", "6")}],
                            [{"type": "DELETED", "object": _cr("a", "9")}]]
    events = crs.watch(timeout_seconds=1)
    seen = [next(events) for _ in range(3)]
    assert [e.type for e in seen] == ["LISTED", "MODIFIED", "DELETED"]
    assert ScriptedWatch.versions == ["5", "6"]


def test_other_failures_are_translated(crs: AccessRequestClient) -> None:
    ScriptedWatch.script = [ApiException(status=403, reason="Forbidden")]
    events = crs.watch(timeout_seconds=1)
    assert next(events).type == "LISTED"
    with pytest.raises(errors.Forbidden):
        next(events)
    ScriptedWatch.script = [ApiException(status=504, reason="Timeout: request did not complete")]
    events = crs.watch(timeout_seconds=1)
    next(events)
    with pytest.raises(errors.Unavailable):  # a 504 that is not the version case: no re-list
        next(events)
