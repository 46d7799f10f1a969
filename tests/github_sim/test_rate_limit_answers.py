"""The simulator's rate limits and request faults answer as GitHub documents them
(docs.github.com, "Rate limits for the REST API"), and Janus's production client
(``janus.gitops.client.retry_policy``) waits for none of them longer than its bound."""

from __future__ import annotations

import time

import pytest
from github import Auth, Github, GithubException

from janus.gitops import ratelimit
from janus.gitops.client import retry_policy

from .conftest import Scene


def _production(scene: Scene, login: str) -> Github:
    """bob's client with the receiver's production retry (throttle on)."""
    return Github(auth=Auth.Token(scene.sim.token(login)), base_url=scene.sim.base_url,
                  retry=retry_policy(max_rate_limit_wait=2.0), timeout=10,
                  seconds_between_writes=0.8)


@pytest.mark.parametrize("status", [403, 429])
def test_primary_limit_answers_with_remaining_zero_and_reset_then_lifts(
        scene: Scene, status: int) -> None:
    gh = scene.gh("bob")
    reset = scene.sim.primary_rate_limit("bob", reset_in=3, status=status)
    with pytest.raises(GithubException) as limited:
        gh.get_repo(scene.repo)
    headers = limited.value.headers
    assert limited.value.status == status
    assert headers["x-ratelimit-remaining"] == "0" and int(headers["x-ratelimit-reset"]) == reset
    assert "retry-after" not in headers
    assert str(limited.value.data["message"]).startswith("API rate limit exceeded")
    found = ratelimit.classify(limited.value)
    assert found is not None and found.kind == "primary" and 0 < found.wait <= 5
    assert gh.get_rate_limit().resources.core.remaining == 0
    deadline = time.monotonic() + 15
    while time.time() < reset + 1 and time.monotonic() < deadline:
        time.sleep(0.2)
    assert gh.get_repo(scene.repo).full_name == scene.repo  # lifted at the reset


@pytest.mark.parametrize("status", [403, 429])
def test_secondary_limit_answers_with_retry_after_and_requests_remaining(
        scene: Scene, status: int) -> None:
    gh = scene.gh("bob")
    scene.sim.secondary_rate_limit(retry_after=30, status=status, login="bob", count=1)
    with pytest.raises(GithubException) as limited:
        gh.get_repo(scene.repo)
    headers = limited.value.headers
    assert limited.value.status == status and headers["retry-after"] == "30"
    assert int(headers["x-ratelimit-remaining"]) > 0
    assert str(limited.value.data["message"]).startswith("You have exceeded a secondary rate")
    found = ratelimit.classify(limited.value)
    assert found is not None and (found.kind, found.wait) == ("secondary", 30)
    assert gh.get_repo(scene.repo).full_name == scene.repo  # count=1: used up
    scene.sim.secondary_rate_limit(retry_after=None, login="bob", count=1)
    with pytest.raises(GithubException) as unsaid:
        gh.get_repo(scene.repo)
    assert "retry-after" not in unsaid.value.headers
    assert ratelimit.classify(unsaid.value) == ratelimit.Limited(
        "secondary", ratelimit.SECONDARY_DEFAULT_WAIT, unsaid.value.headers and
        float(unsaid.value.headers["x-ratelimit-reset"]),
        int(unsaid.value.headers["x-ratelimit-remaining"]), 5000)


def test_a_permission_403_is_not_a_rate_limit(scene: Scene) -> None:
    app_jwt_only = scene.gh("bob")
    with pytest.raises(GithubException) as refused:  # hooks are for admins; bob writes
        app_jwt_only.get_repo(scene.repo).get_hooks()[0]
    assert refused.value.status in (403, 404) and ratelimit.classify(refused.value) is None
    denied = GithubException(403, {"message": "Resource not accessible by integration"},
                             {"x-ratelimit-remaining": "4999", "x-ratelimit-reset": "1"})
    assert ratelimit.classify(denied) is None


@pytest.mark.parametrize(("kind", "status"), [("primary", 403), ("primary", 429),
                                              ("secondary", 403), ("secondary", 429)])
def test_the_production_client_never_sleeps_a_long_limit_out(
        scene: Scene, kind: str, status: int) -> None:
    """PyGithub's stock GithubRetry slept until the reset (or the retry-after) in the request:
    an hour of a worker. The production policy raises at once with GitHub's answer."""
    if kind == "primary":
        scene.sim.primary_rate_limit("bob", reset_in=3600, status=status)
    else:
        scene.sim.secondary_rate_limit(retry_after=3600, status=status, login="bob")
    gh = _production(scene, "bob")
    started = time.monotonic()
    with pytest.raises(GithubException) as limited:
        gh.get_repo(scene.repo)
    took = time.monotonic() - started
    found = ratelimit.classify(limited.value)
    assert found is not None and found.kind == kind and found.wait > 3000
    assert took < 60, f"the client waited {took:.0f} s for a rate limit"


def test_the_production_client_waits_a_short_retry_after_then_succeeds(scene: Scene) -> None:
    scene.sim.secondary_rate_limit(retry_after=1, login="bob", count=1)
    assert _production(scene, "bob").get_repo(scene.repo).full_name == scene.repo


def test_server_errors_on_reads_are_retried_writes_are_not_resent(scene: Scene) -> None:
    """A 502 on a read: re-sent (four times at most). On a POST: not re-sent by the
    transport — the handler looks before it creates again."""
    gh = _production(scene, "bob")
    scene.sim.fail_requests(502, method="GET", path=r"^/repos/", login="bob", count=2)
    assert gh.get_repo(scene.repo).full_name == scene.repo
    repo = gh.get_repo(scene.repo)
    scene.sim.fail_requests(502, method="POST", path=r"/issues$", login="bob", count=1)
    with pytest.raises(GithubException) as failed:
        repo.create_issue("once")
    assert failed.value.status == 502
    assert [i.title for i in repo.get_issues(state="all")].count("once") == 0


def test_a_slow_write_is_carried_out_though_the_client_gave_up(scene: Scene) -> None:
    gh = Github(auth=Auth.Token(scene.sim.token("bob")), base_url=scene.sim.base_url,
                retry=retry_policy(), timeout=1)
    repo = gh.get_repo(scene.repo)
    scene.sim.slow_requests(2.5, method="POST", path=r"/issues$", login="bob", count=1)
    with pytest.raises(Exception):  # noqa: B017 - requests' ReadTimeout/ConnectionError
        repo.create_issue("late")
    deadline = time.monotonic() + 10
    titles: list[str] = []
    while time.monotonic() < deadline:
        titles = [i.title for i in repo.get_issues(state="all")]
        if "late" in titles:
            break
        time.sleep(0.2)
    assert titles.count("late") == 1  # carried out once; the transport did not send it again
