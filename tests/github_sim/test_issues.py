"""Plain issues on the simulator (what Janus's break-glass retrospective review uses): open with
labels and assignees, comment, label, close; the `issues` and `issue_comment` webhooks; the
permission rules. Every response and delivery is checked against @octokit's descriptions by the
`sim` fixture."""

from __future__ import annotations

import pytest
from github import GithubException

from .conftest import Scene


def test_issue_lifecycle_with_webhooks(scene: Scene) -> None:
    repo = scene.repo_as("root")
    issue = repo.create_issue("Break-glass review: alice", body="please review",
                              assignees=["bob", "carol", "nobody-here"],
                              labels=["janus-break-glass"])
    assert issue.number == 1 and issue.pull_request is None
    assert sorted(a.login for a in issue.assignees) == ["bob", "carol"]  # unknown dropped
    assert [lb.name for lb in issue.labels] == ["janus-break-glass"]
    # Shares the number sequence with pull requests; the pulls API does not list it.
    assert repo.get_pulls(state="all").totalCount == 0
    with pytest.raises(GithubException) as caught:
        repo.get_pull(1)
    assert caught.value.status == 404

    scene.repo_as("bob").get_issue(1).create_comment("/janus ack looked fine")
    issue.add_to_labels("janus-break-glass-overdue")
    listed = repo.get_issues(state="open", labels=[repo.get_label("janus-break-glass")])
    assert [i.number for i in listed] == [1]
    issue.edit(state="closed")
    assert repo.get_issue(1).state == "closed"
    assert [i.number for i in repo.get_issues(state="open")] == []
    assert [i.number for i in repo.get_issues(state="closed")] == [1]
    scene.sim.wait_for_deliveries()
    events = scene.receiver.events()
    assert ("issues", "opened") in events and ("issues", "assigned") in events
    assert ("issues", "labeled") in events and ("issues", "closed") in events
    assert ("issue_comment", "created") in events
    comment = [d for d in scene.receiver.received if d.event == "issue_comment"][-1].json
    assert "pull_request" not in comment["issue"]
    assert comment["issue"]["html_url"].endswith("/issues/1")


def test_reader_may_open_but_not_label_assign_or_close_others(scene: Scene) -> None:
    opened = scene.repo_as("root").create_issue("review", assignees=["bob"])
    mallory = scene.repo_as("mallory")  # read access
    own = mallory.create_issue("mine", labels=["x"], assignees=["bob"])
    assert own.labels == [] and own.assignees == []  # silently dropped, as on GitHub
    theirs = mallory.get_issue(opened.number)
    with pytest.raises(GithubException) as caught:
        theirs.edit(state="closed")
    assert caught.value.status == 403
    with pytest.raises(GithubException):
        theirs.add_to_labels("janus-break-glass-acknowledged")
    assert scene.repo_as("root").get_issue(opened.number).state == "open"
    own.edit(state="closed")  # the author may close their own issue
    assert scene.repo_as("root").get_issue(own.number).state == "closed"
