"""Branch protection through PyGithub, required checks pinned to an App, statuses, and the
commit facts Janus must not over-trust (author is whatever the API caller said)."""

from __future__ import annotations

import pytest
from github import Auth, Github, GithubException, InputGitAuthor

from .conftest import Scene
from .test_flow import open_request


def _bot(scene: Scene) -> Github:
    return Github(auth=Auth.Token(scene.sim.installation_token(scene.installation_id)),
                  base_url=scene.sim.base_url, retry=None, seconds_between_requests=None,
                  seconds_between_writes=None)


def test_edit_protection_and_required_check_pinned_to_app(scene: Scene) -> None:
    admin_repo = scene.repo_as("root")
    main = admin_repo.get_branch("main")
    main.edit_protection(required_approving_review_count=1, require_code_owner_reviews=True,
                         dismiss_stale_reviews=True, checks=[("janus-policy", scene.app_id)])
    protection = main.get_protection()
    reviews = protection.required_pull_request_reviews
    assert reviews.required_approving_review_count == 1 and reviews.require_code_owner_reviews
    assert protection.required_status_checks.contexts == ["janus-policy"]

    _, pr = open_request(scene)
    assert pr.mergeable_state == "blocked"
    scene.repo_as("bob").get_pull(pr.number).create_review(event="APPROVE")
    carol = scene.repo_as("carol").get_pull(pr.number)
    with pytest.raises(GithubException) as missing:
        carol.merge()
    assert missing.value.status == 405 and "janus-policy" in missing.value.data["message"]
    # A commit status of the same name from a writer does not satisfy an App-pinned check.
    scene.repo_as("alice").get_commit(pr.head.sha).create_status(
        "success", context="janus-policy", description="spoofed")
    with pytest.raises(GithubException):
        carol.merge()
    combined = scene.repo_as("alice").get_commit(pr.head.sha).get_combined_status()
    assert combined.state == "success" and combined.statuses[0].context == "janus-policy"
    _bot(scene).get_repo(scene.repo).create_check_run(
        "janus-policy", pr.head.sha, conclusion="success",
        output={"title": "ok", "summary": "plan"})
    assert scene.repo_as("carol").get_pull(pr.number).mergeable_state == "clean"
    assert carol.merge().merged


def test_api_commit_author_is_what_the_caller_claims(scene: Scene) -> None:
    bot_repo = _bot(scene).get_repo(scene.repo)
    result = bot_repo.create_file("requests/x.yaml", "on behalf of alice", "a: 1\n",
                                  branch="main",
                                  author=InputGitAuthor("Alice", "alice@users.noreply.example"))
    commit = bot_repo.get_commit(result["commit"].sha)
    assert commit.author.login == "alice"  # the e-mail maps to alice, not to the bot
    assert commit.commit.committer.name == "Alice"


def test_deleting_the_head_branch_closes_the_pull_request(scene: Scene) -> None:
    repo, pr = open_request(scene)
    repo.get_git_ref("heads/req-1").delete()
    closed = repo.get_pull(pr.number)
    assert closed.state == "closed" and not closed.merged
    with pytest.raises(GithubException) as reopen:
        closed.edit(state="open")
    assert reopen.value.status == 422
