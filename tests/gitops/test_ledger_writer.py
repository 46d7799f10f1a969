"""The ledger writer against the GitHub simulator (real git): batching, compare-and-swap against
a racing merge, a ruleset without bypass, GitHub away — nothing lost in any of them."""

from __future__ import annotations

import dataclasses
import subprocess
import threading
import uuid

import pytest

from janus.gitops.client import GitHubSettings, connect
from janus.gitops.ledger_git import LedgerGit, blob_sha
from janus.gitops.ledger_writer import LedgerWriter, Transition, plan
from janus.model import ledger
from tests.gitops import harness
from tests.gitops.ledger_support import Outage, entry_for


def _sha() -> str:
    return uuid.uuid4().hex + uuid.uuid4().hex[:8]


def _git(bed: harness.Bed, settings: GitHubSettings | None = None) -> LedgerGit:
    return LedgerGit(connect(settings or bed.settings()), bed.repo)


def _requests(bed: harness.Bed, count: int) -> list[tuple[str, str]]:
    """*count* request files pushed to main: (name, blob sha)."""
    files, out = {}, []
    for i in range(count):
        name = f"r{i:04d}-{uuid.uuid4().hex[:6]}"
        content = harness.request_yaml(name)
        files[harness.request_path(name)] = content
        out.append((name, blob_sha(content.encode())))
    bed.sim.push(bed.repo, "main", files, author="root", message="merge requests")
    return out


def _ended(name: str, blob: str, pr: int, how: str = "expired") -> Transition:
    e = entry_for(name, pr=pr, merge_commit=_sha(), blob=blob)
    return Transition("ended", e, e.path,
                      end=ledger.end_from(how, "2026-11-30T02:00:00Z", via="controller"))


def _log(bed: harness.Bed, *paths: str) -> list[str]:
    out = subprocess.run(["git", "--git-dir", str(bed.sim.git_dir(bed.repo)), "log",
                          "--format=%s", "main", "--", *paths],
                         capture_output=True, text=True, check=True).stdout
    return out.splitlines()


def test_plan_is_pure_and_idempotent() -> None:
    t = _ended("a", "c" * 40, 1)
    first = plan([t, t], lambda p: None, lambda p: "c" * 40, remove_requests=True)
    assert set(first.changes) == {t.path, t.entry.request.path}
    assert first.changes[t.entry.request.path] is None
    assert len(first.lines) == 1  # the same transition twice is one change
    again = plan([t], lambda p: first.entries[p], lambda p: None, remove_requests=True)
    assert again.changes == {} and again.lines == ()
    # A file re-added by a later merge (another blob) is not removed.
    other = plan([t], lambda p: None, lambda p: "d" * 40, remove_requests=True)
    assert t.entry.request.path not in other.changes


def test_applied_then_active_in_one_batch_is_one_granted_line() -> None:
    import dataclasses as dc

    e = entry_for("a", pr=3, merge_commit="a" * 40, blob="c" * 40)
    applied = Transition("applied", dc.replace(e, granted_at=None, expires_at=None), e.path)
    active = Transition("active", e, e.path)
    p = plan([applied, active], lambda p: None, lambda p: None, remove_requests=True)
    assert p.lines == ("janus: granted alice → prod/payments (PR #3) until "
                       "2026-11-30T02:00:00Z, approved by bob",)
    assert p.entries[e.path].granted_at == e.granted_at


def test_sessions_are_merged_into_an_ended_entry() -> None:
    from janus.model.ledger import Recording, Session

    t = _ended("a", "c" * 40, 4)
    ended = plan([t], lambda p: None, lambda p: None, remove_requests=True).entries[t.path]
    s = Session(id="s1", user="alice", pod="api-0", container="app",
                opened="2026-11-30T01:50:00Z", closed="2026-11-30T02:00:00Z",
                close_reason="grant-ended", bytes_in=3, bytes_out=40,
                recording=Recording(size=120, sha256="f" * 64))
    late = Transition("sessions", t.entry, t.path, sessions=(s,))
    p = plan([late, late], lambda p: ended, lambda p: None, remove_requests=True)
    assert p.entries[t.path].sessions == (s,) and p.entries[t.path].end == ended.end
    assert p.lines == ("janus: sessions of alice → prod/payments (PR #4): 1",)


def test_200_endings_in_one_second_make_one_commit_and_remove_every_file(bed) -> None:
    files = _requests(bed, 200)
    writer = LedgerWriter(_git(bed), "main", batch_seconds=0.5, counters=bed.counters)
    stop = threading.Event()
    thread = threading.Thread(target=writer.run_forever, args=(stop,), daemon=True)
    thread.start()
    try:
        transitions = [_ended(name, blob, 100 + i) for i, (name, blob) in enumerate(files)]
        for t in transitions:
            writer.submit(t)
        assert writer.wait_idle(60)
    finally:
        stop.set()
        thread.join(5)
    assert writer.commits == 1
    assert bed.counters.get("ledger_pending") == 0
    assert bed.counters.get("ledger_transitions_recorded_total") == 200
    for t in transitions:
        data = bed.sim.read_file(bed.repo, t.path)
        assert data is not None, t.path
        assert ledger.loads(t.path, data).end.how == "expired"
        assert bed.sim.read_file(bed.repo, t.entry.request.path) is None
    subject = _log(bed, "ledger")[0]
    assert subject == "janus: ledger: 200 expired"


def test_a_ledger_commit_racing_a_request_merge_loses_nothing(bed) -> None:
    (name, blob), = _requests(bed, 1)

    class Racing(LedgerGit):
        raced = False

        def move(self, branch: str, sha: str) -> None:
            if not self.raced:  # a PR merges between our read of main and our ref update
                self.raced = True
                bed.sim.push(bed.repo, "main", {"requests/prod/payments/new.yaml": "x: 1\n"},
                             author="root", message="Merge pull request #999")
            super().move(branch, sha)

    git = Racing(connect(bed.settings()), bed.repo)
    writer = LedgerWriter(git, "main", counters=bed.counters)
    t = _ended(name, blob, 7, how="revoked")
    writer.submit(t)
    assert writer.write_once()
    assert git.raced and bed.counters.get("ledger_cas_retries_total") == 1
    assert bed.sim.read_file(bed.repo, "requests/prod/payments/new.yaml") == b"x: 1\n"
    assert bed.sim.read_file(bed.repo, t.path) is not None
    assert bed.sim.read_file(bed.repo, t.entry.request.path) is None
    assert _log(bed)[1] == "Merge pull request #999"  # the merge is in history, below ours


def test_ruleset_without_bypass_is_refused_reported_and_retried(bed) -> None:
    (name, blob), = _requests(bed, 1)
    ruleset = bed.sim.world.add_ruleset(bed.repo, "main", ["pull_request"])
    writer = LedgerWriter(_git(bed), "main", counters=bed.counters)
    t = _ended(name, blob, 8)
    writer.submit(t)
    assert not writer.write_once()
    assert bed.counters.get("ledger_write_failures_total", reason="refused") == 1
    assert bed.counters.get("ledger_pending") == 1
    assert "Repository rule violations found" in (writer.last_error or "")
    assert bed.sim.read_file(bed.repo, t.path) is None
    # The admin makes the App a bypass actor: the next attempt writes it.
    bed.sim.world.remove_ruleset(bed.repo, ruleset.id)
    bed.sim.world.add_ruleset(bed.repo, "main", ["pull_request"], bypass=[
        {"actor_type": "Integration", "actor_id": bed.app_id, "bypass_mode": "always"}])
    assert writer.write_once()
    assert bed.counters.get("ledger_pending") == 0
    assert bed.sim.read_file(bed.repo, t.path) is not None


def test_github_away_keeps_transitions_pending_until_it_returns(bed) -> None:
    (name, blob), = _requests(bed, 1)
    proxy = Outage(bed.sim.base_url)
    try:
        settings = dataclasses.replace(bed.settings(), api_url=proxy.url)
        writer = LedgerWriter(_git(bed, settings), "main", batch_seconds=0.1, max_backoff=0.4,
                              counters=bed.counters)
        released: list[str] = []
        t = dataclasses.replace(_ended(name, blob, 9), on_written=lambda: released.append("x"))
        proxy.down = True
        writer.submit(t)
        stop = threading.Event()
        thread = threading.Thread(target=writer.run_forever, args=(stop,), daemon=True)
        thread.start()
        try:
            assert not writer.wait_idle(2.0)
            assert proxy.refused >= 2  # retried
            assert bed.counters.get("ledger_write_failures_total", reason="unavailable") >= 2
            assert released == []  # the finalizer would still hold the CR
            proxy.down = False
            assert writer.wait_idle(10)
        finally:
            stop.set()
            thread.join(5)
        assert released == ["x"]
        assert bed.sim.read_file(bed.repo, t.path) is not None
    finally:
        proxy.stop()


def test_a_hand_broken_entry_is_never_overwritten(bed) -> None:
    (name, blob), = _requests(bed, 1)
    t = _ended(name, blob, 10)
    bed.sim.push(bed.repo, "main", {t.path: "version: 1\nkind: Bogus\n"}, author="root",
                 message="hand edit")
    writer = LedgerWriter(_git(bed), "main", counters=bed.counters)
    writer.submit(t)
    assert not writer.write_once()
    assert "not valid" in (writer.last_error or "")
    assert bed.sim.read_file(bed.repo, t.path) == b"version: 1\nkind: Bogus\n"


@pytest.mark.parametrize("exists", [False, True])
def test_separate_ledger_branch_keeps_request_files(bed, exists: bool) -> None:
    (name, blob), = _requests(bed, 1)
    if exists:
        bed.sim.push(bed.repo, "janus-ledger", {"ledger/README.md": "ledger\n"}, author="root",
                     message="start", base="main")
    writer = LedgerWriter(_git(bed), "janus-ledger", remove_requests=False, base_branch="main",
                          counters=bed.counters)
    t = _ended(name, blob, 11)
    writer.submit(t)
    assert writer.write_once()
    assert bed.sim.read_file(bed.repo, t.path, ref="janus-ledger") is not None
    assert bed.sim.read_file(bed.repo, t.path) is None  # not on main
    assert bed.sim.read_file(bed.repo, t.entry.request.path) is not None
