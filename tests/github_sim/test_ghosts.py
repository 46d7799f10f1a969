"""Nulls GitHub really sends: a deleted account's comments and reviews carry ``user: null``,
and a commit whose e-mail maps to no account has ``author: {}`` (both allowed by GitHub's
description, which the `sim` fixture checks every response against)."""

from __future__ import annotations

import pytest
from github import GithubException

from .conftest import Scene
from .test_flow import open_request


def test_deleted_account_leaves_null_users_and_empty_authors(scene: Scene) -> None:
    repo, pr = open_request(scene)
    scene.sim.add_user("temp")
    scene.sim.set_collaborator(scene.repo, "temp", "write")
    scene.sim.comment(scene.repo, pr.number, "temp", "a comment")
    scene.sim.review(scene.repo, pr.number, "temp", "APPROVE")
    sha = scene.sim.push(scene.repo, "req-1", {"requests/t.txt": "t\n"}, author="temp",
                         message="by temp")
    scene.sim.delete_user("temp")
    comments = list(repo.get_pull(pr.number).get_issue_comments())
    assert [c.user for c in comments if c.body == "a comment"] == [None]
    assert [r.user for r in repo.get_pull(pr.number).get_reviews()] == [None]
    commit = repo.get_commit(sha)
    assert commit.raw_data["author"] == {} and commit.raw_data["committer"] == {}
    with pytest.raises(GithubException):  # PyGithub cannot complete a user without a URL
        commit.author.login  # noqa: B018
