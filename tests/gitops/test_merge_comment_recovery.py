"""The merge comment survives a receiver that fails between creating the AccessRequest and
posting it (issue 15 item 2): the replay used to see "already applied" and return, so the
comment never came. Now the replay posts it — once, found by its hidden marker afterwards."""

from __future__ import annotations

import pytest

from janus.gitops import comments as comments_mod
from janus.gitops import service
from tests.gitops import harness

COMMENTS_POST = r"/issues/\d+/comments$"


def _merge_comments(bed: harness.Bed, number: int, merge: str) -> list[str]:
    marker = comments_mod.marker(f"merge:{merge}")
    return [b for b in harness.comments_of(bed.sim, bed.repo, number) if marker in b]


def _merged_request(bed: harness.Bed) -> tuple[str, int]:
    name = harness.request_name()
    number = harness.open_request_pr(bed.sim, bed.repo, name)
    bed.sim.review(bed.repo, number, "bob", "APPROVE")
    bed.sim.merge(bed.repo, number, actor="root")
    return name, number


def test_comment_lost_to_a_github_error_is_posted_by_the_replay_once(bed, gitops) -> None:
    name, number = _merged_request(bed)
    # GitHub fails exactly the merge comment's POST: the CR exists, the comment does not.
    bed.sim.fail_requests(502, method="POST", path=COMMENTS_POST, count=1)
    with pytest.raises(Exception):  # noqa: B017 - PyGithub's GithubException(502)
        gitops.process_merge(number)
    assert gitops.crs.get(harness.cr_name(name)) is not None
    merge = gitops.repo.get_pull(number).merge_commit_sha
    assert _merge_comments(bed, number, merge) == []

    gitops.process_merge(number)  # the delivery retried: "already applied"
    gitops.process_merge(number)  # and once more (a redelivery)
    posted = _merge_comments(bed, number, merge)
    assert len(posted) == 1, posted
    assert f"`{harness.request_path(name)}`" in posted[0] and "approved by bob" in posted[0]


def test_receiver_killed_right_before_the_comment_replay_posts_it_once(
        bed, gitops, monkeypatch) -> None:
    name, number = _merged_request(bed)

    class Killed(BaseException):
        """The process dying at that exact point: nothing after it runs, no handler sees it."""

    def die(*_args: object, **_kwargs: object) -> str:
        raise Killed

    monkeypatch.setattr(service.comments, "upsert", die)
    with pytest.raises(Killed):
        gitops.process_merge(number)
    monkeypatch.undo()
    assert gitops.crs.get(harness.cr_name(name)) is not None

    fresh = harness.make_gitops(bed, gitops.crs.api_client)  # the restarted receiver
    fresh.process_merge(number)
    fresh.process_merge(number)
    merge = fresh.repo.get_pull(number).merge_commit_sha
    assert len(_merge_comments(bed, number, merge)) == 1


def test_a_replay_with_its_comment_present_posts_nothing(bed, gitops) -> None:
    _name, number = _merged_request(bed)
    gitops.process_merge(number)
    merge = gitops.repo.get_pull(number).merge_commit_sha
    before = harness.comments_of(bed.sim, bed.repo, number)
    gitops.process_merge(number)
    assert harness.comments_of(bed.sim, bed.repo, number) == before
    assert len(_merge_comments(bed, number, merge)) == 1


def test_reconcile_posts_the_comment_of_a_merge_no_delivery_will_replay(bed, gitops) -> None:
    """The receiver died between the CR and the comment, and its delivery store is gone: the
    reconcile (which sees the CR and so grants nothing) posts the comment, once."""
    from janus.gitops.reconcile import Reconciler

    name, number = _merged_request(bed)
    bed.sim.fail_requests(502, method="POST", path=COMMENTS_POST, count=1)
    with pytest.raises(Exception):  # noqa: B017 - PyGithub's GithubException(502)
        gitops.process_merge(number)
    merge = gitops.repo.get_pull(number).merge_commit_sha
    assert _merge_comments(bed, number, merge) == []

    fresh = harness.make_gitops(bed, gitops.crs.api_client)  # restarted, no deliveries left
    reconciler = Reconciler(fresh)
    report = reconciler.run()
    assert report.granted == [] and gitops.crs.get(harness.cr_name(name)) is not None
    assert len(_merge_comments(bed, number, merge)) == 1
    reconciler.run()
    Reconciler(harness.make_gitops(bed, gitops.crs.api_client)).run()  # another restart
    assert len(_merge_comments(bed, number, merge)) == 1
