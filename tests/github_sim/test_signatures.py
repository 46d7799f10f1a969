"""Commit signatures as GitHub reports them: a commit made through the contents API (no custom
committer) is signed by GitHub and ``verified``; a pushed commit is ``unsigned`` whatever name
and e-mail it carries — even the App's own."""

from __future__ import annotations

from github import Auth, Github

from .conftest import Scene


def test_api_commit_is_verified_and_a_forged_push_is_not(scene: Scene) -> None:
    bot = Github(auth=Auth.Token(scene.sim.installation_token(scene.installation_id)),
                 base_url=scene.sim.base_url, retry=None, seconds_between_requests=None,
                 seconds_between_writes=None)
    repo = bot.get_repo(scene.repo)
    made = repo.create_file("requests/a.yaml", "by the App", "a: 1\n", branch="main")
    commit = repo.get_commit(made["commit"].sha)
    assert commit.commit.verification.verified is True
    assert commit.commit.verification.reason == "valid"
    assert commit.committer.login == "janus-app[bot]"
    # Anyone who can push can write the bot's name and e-mail into a commit:
    forged = scene.sim.push(scene.repo, "main", {"requests/b.yaml": "b: 1\n"},
                            author="janus-app[bot]", message="looks like the App")
    pushed = repo.get_commit(forged)
    assert pushed.committer.login == "janus-app[bot]"  # mapped by e-mail, as on GitHub
    assert pushed.commit.verification.verified is False
    assert pushed.commit.verification.reason == "unsigned"
