"""The GitHub fault tests' bed: the simulator, the real API server, and a receiver built exactly
as ``janus webhook`` builds it in production — the production client settings (retry policy,
write spacing, bounded rate-limit waits; ``throttle=True``), check runs (the App's id), the
ledger — in this process on a loopback port.

The fixtures are imported by the test modules (``from tests.faults.github_support import …``):
the folder's conftest belongs to the suite as a whole.
"""

from __future__ import annotations

import logging
import secrets
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from github import Auth, Github

from janus.dev.github_sim import GitHubSimulator
from janus.gitops import comments, ledger_keeper
from janus.gitops.client import GitHubSettings, connect
from janus.gitops.crs import AccessRequests
from janus.gitops.pr_check import CHECK_NAME
from janus.gitops.service import GitOps
from janus.model import ledger, load_config_file
from janus.webhook.runtime import Receiver, ReceiverSettings
from tests.gitops import harness
from tests.integration.controller_env import prepare_central, wait_for

# What the receiver promises after GitHub recovers from a 5xx or a timeout: the delivery's next
# attempt comes at most 30 s later (worker backoff 2, 10, 30 s), plus the handler's own calls
# and the ledger writer's backoff (at most 30 s). Generous: the machine is shared.
RECOVERY_BOUND = 90.0


@pytest.fixture(scope="module")
def fault_sim() -> Iterator[tuple[Any, int, str, str]]:
    with GitHubSimulator.start() as sim:
        harness.setup_people(sim)
        app_id, key = sim.create_app("janus-faults")
        yield sim, app_id, key, sim.bot_login(app_id)


@pytest.fixture(scope="module")
def fault_ns(cluster: Any) -> str:
    return prepare_central(cluster)


@dataclass
class GitHubLoop:
    """One access repository, its production-configured receiver, and what the tests read."""

    sim: Any
    bed: harness.Bed
    ops: GitOps
    receiver: Receiver
    crs: AccessRequests
    log: list[dict[str, Any]] = field(default_factory=list)

    @property
    def repo(self) -> str:
        return self.bed.repo

    @property
    def bot(self) -> str:
        return self.bed.bot

    def root(self) -> Any:
        """The repository as root sees it (the tests' own reads: never faulted)."""
        gh = Github(auth=Auth.Token(self.sim.token("root")), base_url=self.sim.base_url,
                    retry=None, seconds_between_requests=None, seconds_between_writes=None)
        return gh.get_repo(self.repo)

    def open_request(self, name: str) -> int:
        return harness.open_request_pr(self.sim, self.repo, name)

    def approve_and_merge(self, number: int) -> str:
        self.sim.review(self.repo, number, "bob", "APPROVE")
        return self.sim.merge(self.repo, number, actor="root")

    def merge_comments(self, number: int) -> list[str]:
        merge = self.sim.pull(self.repo, number)["merge_commit_sha"]
        needle = comments.marker(f"merge:{merge}")
        return [b for b in harness.comments_of(self.sim, self.repo, number) if needle in b]

    def check_runs(self, number: int) -> list[Any]:
        head = self.sim.pull(self.repo, number)["head"]["sha"]
        # filter=all: GitHub's default (latest) would show one run of a name however many.
        runs = self.root().get_commit(head).get_check_runs(check_name=CHECK_NAME, filter="all")
        return [r for r in runs if r.app is not None and r.app.id == self.bed.app_id]

    def statuses(self, number: int) -> list[Any]:
        """``janus/policy`` commit statuses on the head (the fallback without checks rights)."""
        head = self.sim.pull(self.repo, number)["head"]["sha"]
        with self.sim.world.lock:
            return [s for s in self.sim.world.repo(self.repo).statuses
                    if s.sha == head and s.context == CHECK_NAME]

    def ledger_entries(self, number: int, name: str) -> list[ledger.Entry]:
        """The ledger entries of this PR's request on the default branch (one file per merge:
        more than one would be a second entry for the same merge)."""
        merged_at = self.sim.pull(self.repo, number)["merged_at"]
        path = ledger.entry_path(merged_at, number, harness.cr_name(name))
        data = self.sim.read_file(self.repo, path, ref="main")
        return [] if data is None else [ledger.loads(path, data)]

    def ledger_commits(self, number: int, name: str) -> int:
        """Commits on main that touched this merge's entry."""
        merged_at = self.sim.pull(self.repo, number)["merged_at"]
        path = ledger.entry_path(merged_at, number, harness.cr_name(name))
        return sum(1 for _ in self.root().get_commits(sha="main", path=path))

    def granted(self, name: str) -> bool:
        return self.crs.get(harness.cr_name(name)) is not None

    def events(self, name: str) -> list[dict[str, Any]]:
        return [e for e in self.log if e.get("event") == name]


class _Events(logging.Handler):
    """Every ``janus.logs.event`` line of the receiver, as the dict it logs."""

    def __init__(self, sink: list[dict[str, Any]]) -> None:
        super().__init__(logging.INFO)
        self.sink = sink

    def emit(self, record: logging.LogRecord) -> None:
        name = getattr(record, "event", None)
        if name:
            self.sink.append({"event": name, **(getattr(record, "fields", None) or {})})


def production_settings(bed: harness.Bed, timeout: int = 15) -> GitHubSettings:
    """What ``janus webhook`` runs with (no ``--no-throttle``): retries, write spacing, bounded
    rate-limit waits. Only the request timeout may be shortened by a test."""
    return GitHubSettings(api_url=bed.sim.base_url, app_id=bed.app_id, app_key=bed.app_key,
                          installation_id=bed.installation_id, throttle=True, timeout=timeout)


@pytest.fixture
def github_loop(fault_sim: Any, cluster: Any, fault_ns: str, tmp_path: Path,
                request: pytest.FixtureRequest) -> Iterator[GitHubLoop]:
    sim, app_id, key, bot = fault_sim
    sim.set_delivery_mode("sync")
    bed = harness.Bed(sim, app_id, key, bot)
    bed.repo = harness.new_repo(sim)
    bed.installation_id = sim.install_app(app_id, bed.repo)
    timeout = getattr(request, "param", 15)
    gh = connect(production_settings(bed, timeout))
    crs = AccessRequests(cluster.admin_client(), fault_ns)
    keeper = ledger_keeper.build(gh, bed.repo, crs, default_branch="main",
                                 counters=bed.counters, batch_seconds=0.3)
    ops = GitOps(gh, bed.repo, crs, load_config_file(harness.ROOT / "policies" / "janus.yaml"),
                 janus_login=bot, app_id=app_id, counters=bed.counters, ledger=keeper)
    secret = secrets.token_hex(20)
    receiver = Receiver(ops, ReceiverSettings(secret=secret.encode(),
                                              db_path=tmp_path / "d.sqlite", port=0,
                                              reconcile_interval=0, status_watch_seconds=2))
    sink: list[dict[str, Any]] = []
    handler = _Events(sink)
    logging.getLogger("janus").addHandler(handler)
    receiver.start()
    sim.add_webhook(bed.repo, receiver.url, secret, events=["*"])
    try:
        yield GitHubLoop(sim, bed, ops, receiver, crs, sink)
    finally:
        sim.clear_faults()
        receiver.stop()
        logging.getLogger("janus").removeHandler(handler)


def recovered_within(check: Any, what: str, since: float, bound: float = RECOVERY_BOUND) -> float:
    """Wait for *check* (GitHub has answered normally since *since*, a monotonic time); return
    how long after the recovery it held. Fails past *bound*."""
    wait_for(check, max(1.0, since + bound - time.monotonic()), what, interval=0.2)
    return time.monotonic() - since


__all__ = ["RECOVERY_BOUND", "GitHubLoop", "fault_ns", "fault_sim", "github_loop",
           "production_settings", "recovered_within"]
