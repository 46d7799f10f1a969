"""The approval groups' tally follows the reviews (issue 13 item 2): a review submitted or
dismissed on the simulator is delivered to the real receiver (signature, triage, contract,
store), dispatched as the workers do, and the check run and the plan comment show the new
tally — without anyone running the PR check by hand. A PR under an old-style policy is not
published again on a review."""

from __future__ import annotations

import contextlib
import secrets
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import uvicorn

from janus.dev.controlplane.ports import free_port
from janus.gitops.pr_check import refresh_tallies
from janus.webhook.app import create_app
from janus.webhook.dispatch import dispatch
from janus.webhook.store import DeliveryStore
from tests.browser_support import wait_for
from tests.gitops import harness
from tests.gitops.harness import open_request_pr, request_name
from tests.gitops.test_merge_sod import sod_bed, sod_gitops  # noqa: F401 - fixtures

pytestmark = pytest.mark.k8s_real


@contextlib.contextmanager
def _receiver(bed, directory: Path) -> Iterator[DeliveryStore]:
    """``janus webhook``'s receiver app on 127.0.0.1, fed by a second simulator App installed
    on the bed's repository that subscribes to pull_request_review."""
    store = DeliveryStore(directory / "deliveries.sqlite")
    secret = secrets.token_hex(16)
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(create_app(secret.encode(), store), host="127.0.0.1",
                                           port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    try:
        wait_for(lambda: server.started, 30, "the receiver started")
        hook_app, _ = bed.sim.create_app(f"hooks-{secrets.token_hex(3)}",
                                         events=["pull_request_review"],
                                         webhook_url=f"http://127.0.0.1:{port}/webhooks/github",
                                         webhook_secret=secret)
        bed.sim.install_app(hook_app, bed.repo)
        yield store
    finally:
        server.should_exit = True
        thread.join(10)


@pytest.fixture
def receiver(sod_bed, tmp_path: Path) -> Iterator[DeliveryStore]:  # noqa: F811
    with _receiver(sod_bed[0], tmp_path) as store:
        yield store


@pytest.fixture
def receiver_plain(bed, tmp_path: Path) -> Iterator[DeliveryStore]:
    with _receiver(bed, tmp_path) as store:
        yield store


def _work(store: DeliveryStore, gitops, seconds: float = 30) -> list[str]:
    """What a worker does: claim each stored delivery and dispatch it; the actions seen."""
    seen: list[str] = []
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        delivery = store.claim()
        if delivery is None:
            if seen:
                return seen
            time.sleep(0.1)
            continue
        dispatch(gitops, delivery)
        store.finish(delivery.id)
        seen.append(f"{delivery.event}.{delivery.action}")
    return seen


def _plan(bed, number: int) -> str:
    plans = [b for b in harness.comments_of(bed.sim, bed.repo, number) if "janus:plan" in b]
    assert len(plans) == 1, plans
    return plans[0]


def _summary(bed, head: str) -> str:
    runs = [r for r in bed.sim.world.repo(bed.repo).check_runs.values() if r.head_sha == head]
    assert len(runs) == 1, runs
    return str(runs[0].output["summary"])


def test_reviews_submitted_and_dismissed_refresh_the_tally(
    sod_bed, sod_gitops, receiver,  # noqa: F811
) -> None:
    bed, _ = sod_bed
    number = open_request_pr(bed.sim, bed.repo, request_name())
    sod_gitops.check_pull(number)  # the pull_request delivery's work (not under test here)
    head = bed.sim.pull(bed.repo, number)["head"]["sha"]
    so_far = f"approvals so far on `{head[:12]}`: "

    def shows(tally: str) -> bool:
        return so_far + tally in _plan(bed, number) and so_far + tally in _summary(bed, head)

    assert shows("SRE: 0/1, payments-leads: 0/1")
    bed.sim.review(bed.repo, number, "sam", "APPROVE")
    assert _work(receiver, sod_gitops) == ["pull_request_review.submitted"]
    assert shows("SRE: 1/1 ✓, payments-leads: 0/1")
    carol = bed.sim.review(bed.repo, number, "carol", "APPROVE")
    assert _work(receiver, sod_gitops) == ["pull_request_review.submitted"]
    assert shows("SRE: 1/1 ✓, payments-leads: 1/1 ✓")
    bed.sim.dismiss_review(bed.repo, number, carol, "root", "not this one")
    assert _work(receiver, sod_gitops) == ["pull_request_review.dismissed"]
    assert shows("SRE: 1/1 ✓, payments-leads: 0/1")
    # A comment is a review too (submitted, COMMENTED): it changes no tally, and says so.
    bed.sim.review(bed.repo, number, "carol", "COMMENT", "looking")
    assert _work(receiver, sod_gitops) == ["pull_request_review.submitted"]
    assert shows("SRE: 1/1 ✓, payments-leads: 0/1")


def test_an_old_style_policy_is_not_published_again(bed, gitops, receiver_plain) -> None:
    number = open_request_pr(bed.sim, bed.repo, request_name())
    gitops.check_pull(number)
    assert "approvals so far" not in _plan(bed, number)
    bed.sim.review(bed.repo, number, "carol", "APPROVE")
    assert _work(receiver_plain, gitops) == ["pull_request_review.submitted"]
    # The check does not depend on reviews here: nothing to publish again.
    pull = gitops.repo.get_pull(number)
    assert refresh_tallies(gitops.repo, pull, gitops.membership_for, gitops.janus_login,
                           app_id=gitops.app_id) is False
