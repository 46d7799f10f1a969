"""Fixtures: a simulator per test whose every REST response and webhook delivery is checked
against GitHub's official OpenAPI descriptions when the test ends."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from github import Github

from janus.dev.github_sim import GitHubSimulator
from janus.dev.github_sim.contract import RestContract, WebhookContract

from .receiver import Receiver

SECRET = "It's a Secret to Everybody"
CODEOWNERS = """\
*                          @acme/sre
/requests/prod/payments/   @acme/payments-leads
/policies/                 @acme/sre
"""
COUNTS = {"responses": 0, "deliveries": 0}


@pytest.fixture(scope="session")
def contracts() -> tuple[RestContract, WebhookContract]:
    # First use on a fresh machine runs `npm install` into ~/.cache/janus/npm (see specs.py).
    return RestContract.load(), WebhookContract.load()


@pytest.fixture
def sim(contracts: tuple[RestContract, WebhookContract]) -> Iterator[GitHubSimulator]:
    rest, hooks = contracts
    simulator = GitHubSimulator.start()
    simulator.recorder.enabled = True
    try:
        yield simulator
        simulator.wait_for_deliveries()
    finally:
        simulator.stop()
    problems = []
    for ex in simulator.recorder.exchanges:
        if ex.status >= 500:
            problems.append(f"{ex.method} {ex.path} -> {ex.status}: a simulator bug")
        problems += rest.check(ex.method, ex.path, ex.status, ex.body)
    for delivery in simulator.deliveries:
        problems += hooks.check(delivery.event, delivery.payload, delivery.headers)
    COUNTS["responses"] += len(simulator.recorder.exchanges)
    COUNTS["deliveries"] += len(simulator.deliveries)
    if problems:
        shown = "\n".join(f"  {p}" for p in problems[:40])
        pytest.fail(f"{len(problems)} contract violation(s):\n{shown}", pytrace=False)


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    r = Receiver().start()
    yield r
    r.stop()


def github(sim: GitHubSimulator, token: str) -> Github:
    return sim.client(token=token)


@dataclass
class Scene:
    """An access repository like Janus's: org acme, leads team, an admin, a requester, an App."""

    sim: GitHubSimulator
    repo: str
    receiver: Receiver
    hook_id: int
    app_id: int
    private_key: str
    installation_id: int

    def gh(self, login: str) -> Github:
        return github(self.sim, self.sim.token(login))

    def repo_as(self, login: str) -> Any:
        return self.gh(login).get_repo(self.repo)


@pytest.fixture
def scene(sim: GitHubSimulator, receiver: Receiver) -> Scene:
    for login in ("alice", "bob", "carol", "root", "mallory"):
        sim.add_user(login, name=login.title())
    sim.add_org("acme", admins=["root"])
    sim.add_team("acme", "payments-leads", members=["bob", "carol"])
    sim.add_team("acme", "sre", members=["root"])
    repo = sim.create_repo(
        "acme", "access",
        files={".github/CODEOWNERS": CODEOWNERS, "policies/janus.yaml": "kind: JanusConfig\n",
               "requests/README.md": "Requests live here.\n"},
        collaborators={"alice": "write", "mallory": "read"},
        teams={"acme/payments-leads": "write", "acme/sre": "admin"},
    )
    app_id, key = sim.create_app("janus-app", owner="acme")
    inst = sim.install_app(app_id, repo)
    hook_id = sim.add_webhook(repo, receiver.url, SECRET, ["*"])
    return Scene(sim, repo, receiver, hook_id, app_id, key, inst)


def pytest_terminal_summary(terminalreporter: Any) -> None:
    if COUNTS["responses"] or COUNTS["deliveries"]:
        terminalreporter.write_line(
            f"github_sim contract: validated {COUNTS['responses']} REST responses against "
            f"@octokit/openapi and {COUNTS['deliveries']} webhook deliveries against "
            "@octokit/openapi-webhooks")
