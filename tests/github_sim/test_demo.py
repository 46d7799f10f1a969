"""The demo world: the project's own policies and CODEOWNERS, protection as recommended."""

from __future__ import annotations

import pytest
from github import GithubException

from janus.dev.github_sim import GitHubSimulator
from janus.dev.github_sim.demo import seed_demo
from tests.unit.model.helpers import REQUEST_TEXT

from .conftest import github


def test_demo_world_enforces_code_owner_review(sim: GitHubSimulator) -> None:
    world = seed_demo(sim)
    assert sim.read_file(world.repo, ".github/CODEOWNERS")
    path = "requests/prod/payments/alice-payments-inc9999.yaml"
    sim.push(world.repo, "req-9999", {path: REQUEST_TEXT.replace("1234", "9999")}, author="alice",
             message="Request")
    number = sim.create_pull(world.repo, "req-9999", "Access", author="alice")
    requested = {t["slug"] for t in sim.pull(world.repo, number)["requested_teams"]}
    assert requested == {"payments-leads", "sre"}
    carol = github(sim, sim.token("carol")).get_repo(world.repo).get_pull(number)
    with pytest.raises(GithubException) as blocked:
        carol.merge()
    assert blocked.value.status == 405
    sim.review(world.repo, number, "bob", "APPROVE")
    assert carol.merge().merged
