"""GitHub failing in the middle of a verification, a check run and a ledger write (issue 15
item 2), with the receiver on the production client settings (``throttle=True``: the retry
policy, write spacing, bounded rate-limit waits — tests/faults/github_support.py).

Promise, for every fault: once GitHub answers normally again, within ``RECOVERY_BOUND`` (90 s;
the delivery's next attempt is at most 30 s away, a rate-limited one waits for GitHub's
``retry-after`` or reset, the ledger writer backs off at most 30 s) the merge is granted exactly
once, with one merge comment, one ``janus/policy`` check run (no commit status beside it), and
one ledger entry written in one commit.
"""

from __future__ import annotations

import time
from collections.abc import Callable

import pytest

from tests.faults.github_support import (  # noqa: F401 - fixtures
    RECOVERY_BOUND,
    GitHubLoop,
    fault_ns,
    fault_sim,
    github_loop,
    recovered_within,
)
from tests.gitops import harness

pytestmark = pytest.mark.k8s_real

# Calls the merge verification makes after reading the pull request: its reviews, files and
# commits (REST), or its GraphQL query. Faulting these lands in the middle of a verification.
MID_VERIFICATION = r"/pulls/\d+/(reviews|files|commits)|^/graphql$"
CHECK_RUNS = r"/check-runs"
LEDGER_WRITES = r"/git/(trees|commits|refs)"

# name -> (method, path) -> start the fault on the bot's requests; returns when GitHub is back.
Fault = Callable[[GitHubLoop, str | None, str], float]


def _error(status: int, seconds: float) -> Fault:
    def start(loop: GitHubLoop, method: str | None, path: str) -> float:
        loop.sim.fail_requests(status, method=method, path=path, login=loop.bot,
                               seconds=seconds)
        return time.monotonic() + seconds
    return start


def _secondary(status: int, retry_after: int, seconds: float) -> Fault:
    def start(loop: GitHubLoop, method: str | None, path: str) -> float:
        loop.sim.secondary_rate_limit(retry_after=retry_after, status=status, method=method,
                                      path=path, login=loop.bot, seconds=seconds)
        return time.monotonic() + seconds
    return start


def _primary(status: int, reset_in: float) -> Fault:
    def start(loop: GitHubLoop, method: str | None, path: str) -> float:
        reset = loop.sim.primary_rate_limit(loop.bot, reset_in=reset_in, status=status)
        return time.monotonic() + (reset - time.time())
    return start


def _timeout(delay: float, count: int) -> Fault:
    """Answers held back past the client's timeout (5 s here), the request carried out."""
    def start(loop: GitHubLoop, method: str | None, path: str) -> float:
        loop.sim.slow_requests(delay, method=method, path=path, login=loop.bot, count=count)
        return time.monotonic() + delay
    return start


FAULTS: dict[str, Fault] = {
    "500": _error(500, 6),
    "502": _error(502, 8),
    "429-secondary": _secondary(429, 3, 6),
    "403-secondary": _secondary(403, 2, 5),
    "403-primary": _primary(403, 6),
    "429-primary": _primary(429, 6),
    "timeout": _timeout(7, 2),
}


def _promise(loop: GitHubLoop, name: str, number: int, back: float) -> float:
    """Granted once, one merge comment, one check run, one ledger entry in one commit; returns
    the seconds after GitHub's recovery at which all of it held."""
    took = recovered_within(
        lambda: loop.granted(name) and loop.merge_comments(number)
        and loop.ledger_entries(number, name),
        "the grant, its comment and its ledger entry", back)
    loop.receiver.pool.wait_idle(RECOVERY_BOUND)
    counters = loop.bed.counters
    assert counters.get("merged_requests_total", outcome="created") == 1
    for again in ("recreated", "extended", "unchanged"):
        assert counters.get("merged_requests_total", outcome=again) == 0, again
    assert len(loop.merge_comments(number)) == 1
    assert len(loop.check_runs(number)) == 1 and loop.statuses(number) == []
    entry = loop.ledger_entries(number, name)[0]
    assert entry.merge.approvers == ("bob",)
    assert loop.ledger_commits(number, name) == 1
    return took


def _ready_to_merge(loop: GitHubLoop) -> tuple[str, int]:
    name = harness.request_name()
    number = loop.open_request(name)
    loop.sim.review(loop.repo, number, "bob", "APPROVE")
    assert loop.sim.wait_for_deliveries(30) and loop.receiver.pool.wait_idle(60)
    assert len(loop.check_runs(number)) == 1
    return name, number


@pytest.mark.parametrize("github_loop", [5], indirect=True)
@pytest.mark.parametrize("fault", list(FAULTS))
def test_github_failing_mid_verification(
        github_loop: GitHubLoop, fault: str) -> None:  # noqa: F811
    loop = github_loop
    name, number = _ready_to_merge(loop)
    back = FAULTS[fault](loop, None, MID_VERIFICATION)
    loop.sim.merge(loop.repo, number, actor="root")
    took = _promise(loop, name, number, back)
    print(f"\n[{fault} mid-verification] granted once, {took:.1f} s after GitHub recovered")


@pytest.mark.parametrize("github_loop", [5], indirect=True)
@pytest.mark.parametrize("fault", ["502", "429-secondary", "403-secondary", "timeout"])
def test_github_failing_the_check_run(
        github_loop: GitHubLoop, fault: str) -> None:  # noqa: F811
    """The check run's write (the POST creating it) fails or times out — carried out, but the
    answer never came: one run in the end (a POST re-sent blind made two), never a commit
    status for want of a permission that was a rate limit, then the merge as usual."""
    loop = github_loop
    back = FAULTS[fault](loop, "POST", CHECK_RUNS)
    name = harness.request_name()
    number = loop.open_request(name)
    recovered_within(lambda: [r for r in loop.check_runs(number)
                              if r.conclusion == "success"], "the check run", back)
    loop.receiver.pool.wait_idle(RECOVERY_BOUND)
    assert len(loop.check_runs(number)) == 1 and loop.statuses(number) == []
    loop.approve_and_merge(number)
    took = _promise(loop, name, number, time.monotonic())
    print(f"\n[{fault} on the check run] one run; merge granted once in {took:.1f} s")


@pytest.mark.parametrize("github_loop", [5], indirect=True)
@pytest.mark.parametrize("fault", ["502", "429-secondary", "403-primary", "timeout",
                                   "timeout-on-the-ref-move"])
def test_github_failing_the_ledger_write(
        github_loop: GitHubLoop, fault: str) -> None:  # noqa: F811
    loop = github_loop
    name, number = _ready_to_merge(loop)
    if fault == "timeout-on-the-ref-move":  # the commit lands; its answer does not
        back = FAULTS["timeout"](loop, "PATCH", r"/git/refs/")
    else:
        back = FAULTS[fault](loop, None, LEDGER_WRITES)
    loop.sim.merge(loop.repo, number, actor="root")
    took = _promise(loop, name, number, back)
    print(f"\n[{fault} on the ledger write] entry written once, {took:.1f} s after recovery")
