"""The demo world lets the Janus App merge without the required reviews (it merges allowed
break-glass PRs itself, as a bypass allowance of the branch protection); nobody else can."""

from __future__ import annotations

import pytest
from github import GithubException

from janus.dev.github_sim import GitHubSimulator
from janus.dev.github_sim.demo import seed_demo
from tests.unit.model.helpers import REQUEST_TEXT

from .conftest import github


def test_only_the_janus_app_merges_without_reviews(sim: GitHubSimulator) -> None:
    world = seed_demo(sim)
    path = "requests/prod/payments/alice-payments-inc7777.yaml"
    text = REQUEST_TEXT.replace("1234", "7777").replace("spec:\n", "spec:\n  breakGlass: true\n")
    sim.push(world.repo, "req-7777", {path: text}, author="alice", message="Break-glass")
    number = sim.create_pull(world.repo, "req-7777", "Break-glass", author="alice")
    for login in ("carol", "alice"):  # a writer, the author: the review is still required
        pull = github(sim, sim.token(login)).get_repo(world.repo).get_pull(number)
        with pytest.raises(GithubException) as blocked:
            pull.merge()
        assert blocked.value.status == 405
    app = github(sim, sim.installation_token(world.installation_id))
    merged = app.get_repo(world.repo).get_pull(number).merge(sha=sim.pull(world.repo, number)
                                                             ["head"]["sha"])
    assert merged.merged
    assert sim.pull(world.repo, number)["merged_by"]["login"] == sim.bot_login(world.app_id)
