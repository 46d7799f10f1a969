"""GitHub's rate limits with the production client settings (issue 15 item 2).

Before: PyGithub's ``GithubRetry`` slept in the request until ``x-ratelimit-reset`` — up to an
hour in every worker and in the reconcile, file-deletion revocations included — and the tests,
all run without throttling (no retry at all), never saw it. Now (janus.gitops.ratelimit):

* no worker waits for a limit: the delivery goes back to the queue until the reset (or
  ``retry-after``), and while the limit lasts GitHub is not called at all;
* the limit is visible: ``janus_github_rate_limited_total{kind,source}``,
  ``janus_github_rate_limit_remaining`` / ``_reset_timestamp_seconds`` / ``_wait_seconds``,
  ``/readyz`` ``github`` detail (still ready: deliveries keep being accepted), one JSON log line
  ``github.rate_limited`` per pause;
* after the reset the merge is granted once, within the reset plus the deferral's jitter
  (at most 5 s) plus one handling.
"""

from __future__ import annotations

import threading
import time

import httpx
import pytest
from github import Auth, Github, GithubRetry

from tests.faults.github_support import (  # noqa: F401 - fixtures
    RECOVERY_BOUND,
    GitHubLoop,
    fault_ns,
    fault_sim,
    github_loop,
    recovered_within,
)
from tests.gitops import harness
from tests.integration.controller_env import wait_for

pytestmark = pytest.mark.k8s_real


def _ready_to_merge(loop: GitHubLoop) -> tuple[str, int]:
    name = harness.request_name()
    number = loop.open_request(name)
    loop.sim.review(loop.repo, number, "bob", "APPROVE")
    assert loop.sim.wait_for_deliveries(30) and loop.receiver.pool.wait_idle(60)
    return name, number


def test_stock_github_retry_sleeps_until_the_reset(fault_sim) -> None:  # noqa: F811
    """The fault, shown on PyGithub's own policy (what client.py used): a request under a
    primary limit does not come back before the reset."""
    sim = fault_sim[0]
    reset = sim.primary_rate_limit("dave", reset_in=15)
    gh = Github(auth=Auth.Token(sim.token("dave")), base_url=sim.base_url,
                retry=GithubRetry(total=4, backoff_factor=0.5), timeout=10)
    done = threading.Event()

    def call() -> None:
        try:
            gh.get_user("alice")
        finally:
            done.set()

    threading.Thread(target=call, daemon=True).start()
    assert not done.wait(8), "GithubRetry came back before the reset"
    assert done.wait(30) and time.time() >= reset


def test_a_primary_limit_parks_no_worker_and_is_visible(
        github_loop: GitHubLoop) -> None:  # noqa: F811
    loop = github_loop
    name, number = _ready_to_merge(loop)
    reset = loop.sim.primary_rate_limit(loop.bot, reset_in=3600)
    loop.sim.merge(loop.repo, number, actor="root")
    wait_for(lambda: loop.events("webhook.deferred"), 30, "the merge delivery put back")
    # No worker waits for the reset: both are free within seconds, the delivery is queued
    # until the reset, and the reconcile and workers leave GitHub alone meanwhile.
    wait_for(lambda: loop.receiver.pool.busy_workers == 0, 15, "idle workers")
    due = loop.receiver.store.next_due_in()
    assert due is not None and due >= reset - time.time() - 2, due
    limited = loop.events("github.rate_limited")
    assert len(limited) == 1 and limited[0]["kind"] == "primary"
    assert limited[0]["source"] == "webhook" and limited[0]["reset"] == reset
    counters = loop.bed.counters
    assert counters.get("github_rate_limited_total", kind="primary", source="webhook") == 1
    assert counters.get("github_rate_limit_remaining") == 0
    assert counters.get("github_rate_limit_reset_timestamp_seconds") == int(reset)
    assert counters.get("github_rate_limit_wait_seconds") > 3500
    assert "janus_github_rate_limited_total" in counters.render()
    ready = httpx.get(loop.receiver.url.replace("/webhooks/github", "/readyz"), timeout=10)
    assert ready.status_code == 200, ready.text  # still accepting deliveries
    github = ready.json()["github"]
    assert github["rate_limited"] is True and github["kind"] == "primary"
    assert github["retry_in_seconds"] > 3500
    # More work arrives meanwhile (a comment on the PR): accepted at once, put back without a
    # single call to GitHub, no worker parked.
    used = loop.sim.app.rate_limits.used.get(loop.bot, 0)
    deferred = len(loop.events("webhook.deferred"))
    loop.root().get_issue(number).create_comment("a note while Janus is rate limited")
    wait_for(lambda: len(loop.events("webhook.deferred")) > deferred, 30, "the comment put back")
    assert loop.sim.app.rate_limits.used.get(loop.bot, 0) == used
    assert loop.receiver.pool.busy_workers == 0
    assert not loop.granted(name)


def test_after_the_reset_the_merge_is_granted_once(github_loop: GitHubLoop) -> None:  # noqa: F811
    loop = github_loop
    name, number = _ready_to_merge(loop)
    reset = loop.sim.primary_rate_limit(loop.bot, reset_in=8, status=429)
    loop.sim.merge(loop.repo, number, actor="root")
    back = time.monotonic() + (reset - time.time())
    took = recovered_within(
        lambda: loop.granted(name) and loop.merge_comments(number)
        and loop.ledger_entries(number, name), "the grant after the reset", back)
    loop.receiver.pool.wait_idle(RECOVERY_BOUND)
    assert loop.bed.counters.get("merged_requests_total", outcome="created") == 1
    assert len(loop.merge_comments(number)) == 1 and loop.ledger_commits(number, name) == 1
    assert loop.bed.counters.get("github_rate_limited_total", kind="primary",
                                 source="webhook") >= 1
    print(f"\n[primary 429] granted once, {took:.1f} s after the reset")


def test_a_secondary_limit_is_waited_out_as_retry_after_says(
        github_loop: GitHubLoop) -> None:  # noqa: F811
    loop = github_loop
    name, number = _ready_to_merge(loop)
    loop.sim.secondary_rate_limit(retry_after=6, status=403, login=loop.bot, seconds=4)
    loop.sim.merge(loop.repo, number, actor="root")
    started = time.monotonic()
    wait_for(lambda: loop.events("webhook.deferred"), 30, "the merge delivery put back")
    deferred = loop.events("webhook.deferred")[0]
    assert 6 <= deferred["wait_seconds"] <= 6.6 + 0.1
    took = recovered_within(lambda: loop.granted(name) and loop.merge_comments(number),
                            "the grant after retry-after", started + 6)
    assert loop.bed.counters.get("github_rate_limited_total", kind="secondary",
                                 source="webhook") >= 1
    assert len(loop.merge_comments(number)) == 1
    print(f"\n[secondary 403 retry-after 6] granted once, {took:.1f} s after retry-after")


def test_ledger_and_status_writes_leave_github_alone_while_limited(
        github_loop: GitHubLoop) -> None:  # noqa: F811
    """A grant goes Active under a primary limit: the ledger writer (or the status watch) meets
    the limit once, then neither calls GitHub until the reset (the writer's backoff would retry
    at 1, 2, 4 s); the entry stays pending and is written after the reset."""
    import datetime as dt

    from kubernetes import client

    from janus import resource

    loop = github_loop
    name, number = _ready_to_merge(loop)
    loop.sim.merge(loop.repo, number, actor="root")
    wait_for(lambda: loop.ledger_entries(number, name), 60, "the entry of the merge")
    assert loop.receiver.pool.wait_idle(60)
    reset = loop.sim.primary_rate_limit(loop.bot, reset_in=20)
    now = dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    client.CustomObjectsApi(loop.crs.api_client).patch_namespaced_custom_object_status(
        resource.GROUP, resource.VERSION, loop.crs.client.namespace, resource.PLURAL,
        harness.cr_name(name), {"status": {"phase": "Active", "grantedAt": now,
                                           "expiresAt": "2099-01-01T00:00:00Z"}},
        _content_type="application/merge-patch+json")
    counters = loop.bed.counters
    wait_for(lambda: sum(counters.get("github_rate_limited_total", kind="primary", source=s)
                         for s in ("ledger", "status")), 30, "the limit met by a writer")
    used = loop.sim.app.rate_limits.used.get(loop.bot, 0)
    time.sleep(7)  # nothing may happen here: the writers' own retries would fall in it
    assert loop.sim.app.rate_limits.used.get(loop.bot, 0) == used
    assert counters.get("ledger_pending") >= 1
    wait_for(lambda: loop.ledger_entries(number, name)[0].granted_at is not None,
             reset - time.time() + RECOVERY_BOUND, "grantedAt in the entry after the reset")
