"""The ledger end to end (issue 10): the simulator (real git) sends signed webhooks to the real
receiver, which writes AccessRequests to the real API server and the ledger to the access
repository. Phases are written through the status subresource as the controller would (the
controller's own test drives a real grant); the ledger writer, the finalizer, the watch and
every replay path are the real ones.

Hostile first: a grant that ended — and whose AccessRequest was then deleted — must never come
back, by reconcile, by a redelivery with the same id, or by the same signed body under a new id;
an old merge replayed after its window is refused on every path.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import secrets
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from kubernetes import client

from janus import resource
from janus.dev.github_sim.errors import ApiError
from janus.gitops import ledger_keeper
from janus.gitops.client import connect
from janus.gitops.crs import AccessRequests
from janus.gitops.service import GitOps
from janus.model import ledger, load_config_file
from janus.webhook.runtime import Receiver, ReceiverSettings
from tests.gitops import harness
from tests.gitops.harness import cr_name, open_request_pr, request_name, request_path
from tests.gitops.ledger_support import Outage
from tests.integration.controller_env import wait_for

pytestmark = pytest.mark.k8s_real

LEDGER_BRANCH = "janus-ledger"


@dataclasses.dataclass
class LedgerLoop:
    bed: harness.Bed
    ops: GitOps
    receiver: Receiver
    secret: bytes
    crs: AccessRequests
    janus_ns: str
    branch: str | None
    proxy: Outage | None = None

    @property
    def sim(self) -> Any:
        return self.bed.sim

    @property
    def repo(self) -> str:
        return self.bed.repo

    @property
    def ledger_ref(self) -> str:
        return self.branch or "main"

    def settle(self, timeout: float = 30) -> None:
        assert self.sim.wait_for_deliveries(timeout)
        assert self.receiver.pool.wait_idle(timeout)

    def comments(self, number: int) -> list[str]:
        return harness.comments_of(self.sim, self.repo, number)

    def entry_path(self, number: int, name: str) -> str:
        merged_at = self.sim.pull(self.repo, number)["merged_at"]
        return ledger.entry_path(merged_at, number, cr_name(name))

    def entry(self, path: str) -> ledger.Entry | None:
        try:
            data = self.sim.read_file(self.repo, path, ref=self.ledger_ref)
        except ApiError:  # the ledger branch is made by the first write
            return None
        return None if data is None else ledger.loads(path, data)

    def wait_entry(self, path: str, check: Any, what: str, timeout: float = 30) -> ledger.Entry:
        def ready() -> ledger.Entry | None:
            e = self.entry(path)
            return e if e is not None and check(e) else None
        return wait_for(ready, timeout, what)

    def set_status(self, name: str, status: dict[str, Any]) -> None:
        client.CustomObjectsApi(self.crs.api_client).patch_namespaced_custom_object_status(
            resource.GROUP, resource.VERSION, self.janus_ns, resource.PLURAL, name,
            {"status": status}, _content_type="application/merge-patch+json")

    def delete_cr(self, name: str) -> None:
        client.CustomObjectsApi(self.crs.api_client).delete_namespaced_custom_object(
            resource.GROUP, resource.VERSION, self.janus_ns, resource.PLURAL, name)

    def merge_request(self, name: str, **fields: Any) -> int:
        number = open_request_pr(self.sim, self.repo, name, **fields)
        self.sim.review(self.repo, number, "bob", "APPROVE")
        self.sim.merge(self.repo, number, actor="root")
        self.settle()
        return number

    def closed_delivery(self, number: int) -> Any:
        return [d for d in self.sim.deliveries if d.event == "pull_request"
                and d.action == "closed" and _number_of(d) == number][-1]

    def post_again(self, delivery: Any) -> int:
        """The same signed body under a new X-GitHub-Delivery (the id is not signed)."""
        headers = {k: v for k, v in delivery.headers.items()
                   if k.lower() in ("content-type", "x-github-event", "x-hub-signature-256")}
        headers["X-GitHub-Delivery"] = str(uuid.uuid4())
        return httpx.post(self.receiver.url, content=delivery.body, headers=headers).status_code


def _number_of(delivery: Any) -> int | None:
    import json

    try:
        return int(json.loads(delivery.body)["number"])
    except (ValueError, KeyError, TypeError):
        return None


def _make_loop(e2e_sim: Any, cluster: Any, janus_ns: str, tmp_path: Path, branch: str | None,
               *, outage: bool = False, status_watch: bool = True) -> LedgerLoop:
    sim, app_id, key, bot = e2e_sim
    sim.set_delivery_mode("sync")
    bed = harness.Bed(sim, app_id, key, bot)
    bed.repo = harness.new_repo(sim)
    bed.installation_id = sim.install_app(app_id, bed.repo)
    crs = AccessRequests(cluster.admin_client(), janus_ns)
    gh = connect(bed.settings())
    proxy = None
    ledger_gh = gh
    if outage:
        proxy = Outage(sim.base_url)
        ledger_gh = connect(dataclasses.replace(bed.settings(), api_url=proxy.url))
    keeper = ledger_keeper.build(ledger_gh, bed.repo, crs, default_branch="main",
                                 ledger_branch=branch, counters=bed.counters,
                                 batch_seconds=0.3)
    keeper.writer.max_backoff = 0.5
    ops = GitOps(gh, bed.repo, crs, load_config_file(harness.ROOT / "policies" / "janus.yaml"),
                 janus_login=bot, counters=bed.counters, ledger=keeper)
    secret = secrets.token_hex(20).encode()
    receiver = Receiver(ops, ReceiverSettings(secret=secret, db_path=tmp_path / "d.sqlite",
                                              port=0, reconcile_interval=0,
                                              status_watch=status_watch,
                                              status_watch_seconds=2))
    receiver.start()
    sim.add_webhook(bed.repo, receiver.url, secret.decode(), events=["*"])
    return LedgerLoop(bed, ops, receiver, secret, crs, janus_ns, branch, proxy)


@pytest.fixture(params=[None, LEDGER_BRANCH], ids=["ledger-on-main", "ledger-branch"])
def lloop(request, e2e_sim, cluster, janus_ns, tmp_path: Path) -> Iterator[LedgerLoop]:
    loop = _make_loop(e2e_sim, cluster, janus_ns, tmp_path, request.param)
    try:
        yield loop
    finally:
        loop.receiver.stop()


@pytest.fixture
def main_loop(e2e_sim, cluster, janus_ns, tmp_path: Path) -> Iterator[LedgerLoop]:
    loop = _make_loop(e2e_sim, cluster, janus_ns, tmp_path, None)
    try:
        yield loop
    finally:
        loop.receiver.stop()


@pytest.fixture
def outage_loop(e2e_sim, cluster, janus_ns, tmp_path: Path) -> Iterator[LedgerLoop]:
    loop = _make_loop(e2e_sim, cluster, janus_ns, tmp_path, None, outage=True)
    try:
        yield loop
    finally:
        loop.receiver.stop()
        assert loop.proxy is not None
        loop.proxy.stop()


def _now() -> str:
    return dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _granted(loop: LedgerLoop) -> tuple[str, int, str]:
    """A request merged, its entry recorded, the CR held by the ledger finalizer, then
    Active (as the controller writes it) and recorded so: (name, PR, entry path)."""
    name = request_name()
    number = loop.merge_request(name)
    path = loop.entry_path(number, name)
    e = loop.wait_entry(path, lambda e: True, "the entry of the merge")
    assert e.merge.commit == loop.sim.pull(loop.repo, number)["merge_commit_sha"]
    assert e.merge.approvers == ("bob",) and e.end is None
    wait_for(lambda: ledger_keeper.FINALIZER in loop.crs.get(cr_name(name)).meta.finalizers,
             15, "the ledger finalizer")
    loop.set_status(cr_name(name), {"phase": "Active", "grantedAt": _now(),
                                    "expiresAt": "2099-01-01T00:00:00Z"})
    loop.wait_entry(path, lambda e: e.granted_at is not None, "grantedAt in the entry")
    return name, number, path


def _end(loop: LedgerLoop, how: str, name: str, number: int) -> None:
    cr = cr_name(name)
    if how == "revoked":
        loop.sim.comment(loop.repo, number, "alice", "/janus revoke all done")
        loop.settle()
        view = loop.crs.get(cr)
        assert view.revocation is not None
        loop.set_status(cr, {"phase": "Revoked", "revokedAt": _now(), "revokedBy": "alice",
                             "revokedReason": "all done"})
    elif how == "expired":
        loop.set_status(cr, {"phase": "Expired"})
    elif how == "failed":
        loop.set_status(cr, {"phase": "Failed", "message": "cluster prod unreachable"})
    elif how == "deleted":
        loop.delete_cr(cr)  # while Active: held by the finalizer until recorded
    else:  # file-deletion: a merged PR deletes the request file
        branch = f"revoke/{name}"
        loop.sim.push(loop.repo, branch, {request_path(name): None}, author="alice",
                      message="revoke", base="main")
        pr = loop.sim.create_pull(loop.repo, head=branch, title="revoke", author="alice")
        loop.sim.merge(loop.repo, pr, actor="root")
        loop.settle()
        loop.set_status(cr, {"phase": "Revoked", "revokedAt": _now(), "revokedBy": "alice",
                             "revokedReason": f"{request_path(name)} deleted by PR #{pr}"})


EXPECTED = {"revoked": ("revoked", "pr-comment"), "expired": ("expired", "controller"),
            "failed": ("failed", "controller"), "deleted": ("deleted", "kubernetes"),
            "file-deletion": ("revoked", "file-deletion")}


@pytest.mark.parametrize("how", list(EXPECTED))
def test_each_ending_is_recorded_and_the_grant_never_comes_back(lloop: LedgerLoop,
                                                                how: str) -> None:
    loop = lloop
    name, number, path = _granted(loop)
    _end(loop, how, name, number)
    want_how, want_via = EXPECTED[how]
    e = loop.wait_entry(path, lambda e: e.end is not None, "the end in the ledger")
    assert (e.end.how, e.end.via) == (want_how, want_via), e.end
    if how == "revoked":
        assert e.end.by == "alice" and e.end.reason == "all done"
    if how == "failed":
        assert e.end.message == "cluster prod unreachable"
    # The commit that recorded the end removed the request file (ledger on main); with a
    # separate ledger branch the file stays where it is.
    on_main = loop.sim.read_file(loop.repo, request_path(name))
    if loop.branch is None:
        assert on_main is None
        subjects = _subjects(loop, path)
        assert subjects[0].startswith(f"janus: {want_how} alice → prod/payments (PR #{number})")
    elif how != "file-deletion":
        assert on_main is not None
    # The finalizer goes once the end is written; then deleting the CR is immediate.
    cr = cr_name(name)
    if how != "deleted":
        wait_for(lambda: ledger_keeper.FINALIZER not in loop.crs.get(cr).meta.finalizers,
                 15, "the finalizer released")
        loop.delete_cr(cr)
    wait_for(lambda: loop.crs.get(cr) is None, 15, "the CR gone")
    # Hostile: every path that could apply the old merge again.
    closed = loop.closed_delivery(number)
    loop.receiver.reconciler.run()
    loop.sim.redeliver(closed.guid)
    loop.settle()
    assert loop.post_again(closed) == 202
    loop.settle()
    loop.receiver.reconciler.run()
    time.sleep(0.5)
    assert loop.crs.get(cr) is None, "a grant that ended came back"
    if loop.branch is not None and how != "file-deletion":
        # The file is still on main: it is the ledger that refused (the PR already has its
        # merge comment, which is never posted twice).
        # (The redelivery with the same id is a duplicate to the receiver's store; the new id
        # reaches verification, and the ledger refuses it.)
        assert loop.bed.counters.get("webhook_deliveries_total", outcome="duplicate") >= 1
        assert loop.bed.counters.get("merged_requests_total", outcome="already-recorded") >= 1
        # Reconcile saw the file, found its ended entry, and now skips it on every pass.
        loop.receiver.reconciler.run()
        assert request_path(name) in {p for p, _ in loop.receiver.reconciler._ended_files}
        assert request_path(name) not in loop.receiver.reconciler.run().repaired


def test_old_merge_replayed_after_its_window_is_refused_on_every_path(main_loop) -> None:
    loop = main_loop
    name = request_name()
    number = open_request_pr(loop.sim, loop.repo, name, duration="1h")
    loop.sim.review(loop.repo, number, "bob", "APPROVE")
    loop.settle()
    loop.sim.drop_next(10)  # the merge's deliveries (closed, push) are all lost
    loop.sim.merge(loop.repo, number, actor="root")
    loop.sim.wait_for_deliveries(10)
    # ... and found again three hours later.
    pull = loop.sim.world.repo(loop.repo).pulls[number]
    pull.merged_at = (dt.datetime.now(dt.UTC) - dt.timedelta(hours=3)).strftime(
        "%Y-%m-%dT%H:%M:%SZ")
    closed = loop.closed_delivery(number)
    loop.sim.redeliver(closed.guid)
    loop.settle()
    assert loop.crs.get(cr_name(name)) is None
    assert any("its window has passed" in b for b in loop.comments(number))
    assert loop.post_again(closed) == 202
    loop.settle()
    report = loop.receiver.reconciler.run()
    assert request_path(name) in report.stale
    assert loop.crs.get(cr_name(name)) is None
    assert loop.bed.counters.get("merged_requests_total", outcome="window-passed") >= 1


def test_extension_is_recorded_in_the_grant_entry(main_loop) -> None:
    loop = main_loop
    name, first, path = _granted(loop)
    branch = f"extend/{name}"
    loop.sim.push(loop.repo, branch, {request_path(name): harness.request_yaml(name,
                                                                             duration="3h")},
                  author="alice", message="longer", base="main")
    number = loop.sim.create_pull(loop.repo, head=branch, title="longer", author="alice")
    loop.sim.review(loop.repo, number, "carol", "APPROVE")
    merge = loop.sim.merge(loop.repo, number, actor="root")
    loop.settle()
    e = loop.wait_entry(path, lambda e: e.extensions, "the extension in the entry")
    assert e.merge.pull_request == first
    assert (e.extensions[0].merge.pull_request, e.extensions[0].merge.commit,
            e.extensions[0].duration, e.extensions[0].merge.approvers) == \
        (number, merge, "3h", ("carol",))
    # Ending it removes the file as the extension left it.
    loop.set_status(cr_name(name), {"phase": "Expired"})
    loop.wait_entry(path, lambda e: e.end is not None, "the end")
    wait_for(lambda: loop.sim.read_file(loop.repo, request_path(name)) is None, 15,
             "the extended file removed")
    # Hostile: the CR deleted, the extension's merge replayed (same signed body, new id).
    wait_for(lambda: ledger_keeper.FINALIZER not in loop.crs.get(cr_name(name)).meta.finalizers,
             15, "the finalizer released")
    loop.delete_cr(cr_name(name))
    wait_for(lambda: loop.crs.get(cr_name(name)) is None, 15, "the CR gone")
    assert loop.post_again(loop.closed_delivery(number)) == 202
    loop.settle()
    assert loop.crs.get(cr_name(name)) is None
    assert loop.bed.counters.get("merged_requests_total", outcome="already-recorded") == 1


def test_github_away_across_an_expiry_holds_the_cr_until_written(outage_loop) -> None:
    loop = outage_loop
    assert loop.proxy is not None
    name, _, path = _granted(loop)
    cr = cr_name(name)
    loop.proxy.down = True
    loop.set_status(cr, {"phase": "Expired"})
    loop.delete_cr(cr)
    time.sleep(3)
    held = loop.crs.get(cr)
    assert held is not None and held.meta.deleting, "the CR must wait for the ledger"
    assert loop.bed.counters.get("ledger_pending") >= 1
    assert loop.bed.counters.get("ledger_write_failures_total", reason="unavailable") >= 1
    assert loop.entry(path).end is None
    loop.proxy.down = False
    e = loop.wait_entry(path, lambda e: e.end is not None, "the end after GitHub is back")
    assert e.end.how == "expired"
    wait_for(lambda: loop.crs.get(cr) is None, 20, "the CR released and gone")
    assert loop.sim.read_file(loop.repo, request_path(name)) is None


def _subjects(loop: LedgerLoop, path: str) -> list[str]:
    import subprocess

    out = subprocess.run(["git", "--git-dir", str(loop.sim.git_dir(loop.repo)), "log",
                          "--format=%s", loop.ledger_ref, "--", path],
                         capture_output=True, text=True, check=True).stdout
    return out.splitlines()


def test_ruleset_without_bypass_holds_the_end_until_the_app_may_write(main_loop) -> None:
    loop = main_loop
    name, _, path = _granted(loop)
    cr = cr_name(name)
    ruleset = loop.sim.world.add_ruleset(loop.repo, "protect main",
                                         ["pull_request", "non_fast_forward", "deletion"])
    loop.set_status(cr, {"phase": "Expired"})
    wait_for(lambda: loop.bed.counters.get("ledger_write_failures_total", reason="refused"),
             15, "the refusal counted")
    assert loop.ops.ledger is not None
    assert "Repository rule violations found" in (loop.ops.ledger.writer.last_error or "")
    assert loop.bed.counters.get("ledger_pending") >= 1
    held = loop.crs.get(cr)
    assert ledger_keeper.FINALIZER in held.meta.finalizers  # held meanwhile
    assert held.meta.annotations.get(ledger_keeper.STATE_ANNOTATION) == "pending"
    assert loop.entry(path).end is None
    # The documented setup: the App is the ruleset's bypass actor for its own commits.
    loop.sim.world.remove_ruleset(loop.repo, ruleset.id)
    loop.sim.world.add_ruleset(loop.repo, "protect main",
                               ["pull_request", "non_fast_forward", "deletion"],
                               bypass=[{"actor_type": "Integration",
                                        "actor_id": loop.bed.app_id, "bypass_mode": "always"}])
    e = loop.wait_entry(path, lambda e: e.end is not None, "the end once the App may write")
    assert e.end.how == "expired"
    wait_for(lambda: ledger_keeper.FINALIZER not in loop.crs.get(cr).meta.finalizers, 15,
             "the finalizer released")
    assert loop.crs.get(cr).meta.annotations[ledger_keeper.STATE_ANNOTATION] == "recorded"


def test_200_grants_expiring_together_are_batched_and_all_recorded(e2e_sim, cluster, janus_ns,
                                                                  tmp_path: Path) -> None:
    from janus.gitops.ledger_git import blob_sha
    from janus.model import load_request
    from janus.resource import Provenance

    # No status comments: there are no PRs behind these grants.
    loop = _make_loop(e2e_sim, cluster, janus_ns, tmp_path, None, status_watch=False)
    try:
        files, requests = {}, []
        for i in range(200):
            name = f"bulk{i:03d}-{uuid.uuid4().hex[:6]}"
            text = harness.request_yaml(name)
            files[request_path(name)] = text
            req, _ = load_request(request_path(name), text.encode())
            requests.append((req, blob_sha(text.encode())))
        merge = loop.sim.push(loop.repo, "main", files, author="root", message="bulk merge")
        merged_at = dt.datetime.now(dt.UTC).replace(microsecond=0)
        for i, (req, blob) in enumerate(requests):
            loop.crs.apply_grant(req, Provenance(
                repo=loop.repo, pull_request=5000 + i, merge_commit=merge, path=req.path,
                blob_sha=blob, approvers=("bob",), merged_by="root", merged_at=merged_at))
        names_ = [cr_name(r.name) for r, _ in requests]
        wait_for(lambda: all(ledger_keeper.FINALIZER in loop.crs.get(n).meta.finalizers
                             for n in names_), 90, "every CR held by the ledger finalizer")
        assert loop.ops.ledger is not None
        assert loop.ops.ledger.writer.wait_idle(60)
        before = loop.ops.ledger.writer.commits
        start = time.monotonic()
        for n in names_:
            loop.set_status(n, {"phase": "Expired"})
        wait_for(lambda: all(ledger_keeper.FINALIZER not in loop.crs.get(n).meta.finalizers
                             for n in names_), 120, "every end recorded")
        took = time.monotonic() - start
        commits = loop.ops.ledger.writer.commits - before
        for i, (req, _) in enumerate(requests):
            path = ledger.entry_path(merged_at, 5000 + i, cr_name(req.name))
            e = loop.entry(path)
            assert e is not None and e.end is not None and e.end.how == "expired", path
            assert loop.sim.read_file(loop.repo, req.path) is None
        # 200 endings written over a few seconds: a handful of commits, not 200.
        assert commits <= max(3, int(took / 2) + 2), (commits, took)
        print(f"\n200 endings: {commits} ledger commit(s), all recorded in {took:.1f} s")
    finally:
        loop.receiver.stop()


def test_real_controller_revoke_expiry_and_delete_while_active_are_recorded(
        main_loop, cluster, tmp_path: Path) -> None:
    """The real controller grants and ends; the ledger records each end, the file leaves
    ``requests/``, and a CR deleted while Active is cleaned up by the controller and recorded
    as deleted before it goes."""
    from tests.integration.controller_env import ControllerProcess, grant_objects, wait_phase
    from tests.k8s_helpers import create_namespace

    loop = main_loop
    api = cluster.admin_client()
    namespace = f"payments-{uuid.uuid4().hex[:6]}"
    create_namespace(api, namespace)
    controller = ControllerProcess(tmp_path / "ctl", cluster, loop.janus_ns,
                                   clusters=["prod", "staging"], central_name="prod").start()
    try:
        grants = {}
        for how in ("revoked", "expired", "deleted"):
            name = request_name()
            number = loop.merge_request(name, namespace=namespace)
            cr = cr_name(name, namespace=namespace)
            wait_phase(api, loop.janus_ns, cr, "Active", timeout=60)
            path = ledger.entry_path(loop.sim.pull(loop.repo, number)["merged_at"], number, cr)
            loop.wait_entry(path, lambda e: e.granted_at is not None, "grantedAt recorded")
            grants[how] = (name, number, cr, path)
        # Revoked from the PR.
        name, number, cr, path = grants["revoked"]
        loop.sim.comment(loop.repo, number, "alice", "/janus revoke done")
        loop.settle()
        wait_phase(api, loop.janus_ns, cr, "Revoked", timeout=60)
        e = loop.wait_entry(path, lambda e: e.end is not None, "the revocation recorded")
        assert (e.end.how, e.end.by, e.end.via) == ("revoked", "alice", "pr-comment")
        # Expired: the duration shortened on the CR (as an admin could), the controller ends it.
        name, number, cr, path = grants["expired"]
        loop.crs.client.patch_spec(cr, {"duration": "2s"})
        wait_phase(api, loop.janus_ns, cr, "Expired", timeout=60)
        e = loop.wait_entry(path, lambda e: e.end is not None, "the expiry recorded")
        assert e.end.how == "expired"
        # Deleted while Active: the controller removes the access, the ledger records it.
        name, number, cr, path = grants["deleted"]
        loop.delete_cr(cr)
        e = loop.wait_entry(path, lambda e: e.end is not None, "the deletion recorded")
        assert e.end.how == "deleted"
        wait_for(lambda: loop.crs.get(cr) is None, 30, "the deleted CR gone")
        wait_for(lambda: not any(grant_objects(api, namespace, cr).values()), 30,
                 "the grant's objects removed")
        for name, _, _, _ in grants.values():
            assert loop.sim.read_file(loop.repo, request_path(name, namespace=namespace)) is None
        # The story is in git: each grant's entry was written, then ended.
        for *_, path in grants.values():
            assert len(_subjects(loop, path)) >= 2
    finally:
        controller.stop()


def test_reconcile_grants_a_lost_merge_once_and_records_a_vanished_file(main_loop) -> None:
    loop = main_loop
    # A merge whose deliveries were all lost: the reconcile verifies and grants it, recorded.
    name = request_name()
    number = open_request_pr(loop.sim, loop.repo, name)
    loop.sim.review(loop.repo, number, "bob", "APPROVE")
    loop.settle()
    loop.sim.drop_next(10)
    loop.sim.merge(loop.repo, number, actor="root")
    loop.sim.wait_for_deliveries(10)
    report = loop.receiver.reconciler.run()
    assert cr_name(name) in report.granted
    path = loop.entry_path(number, name)
    loop.wait_entry(path, lambda e: e.end is None, "the reconciled grant's entry")
    assert cr_name(name) not in loop.receiver.reconciler.run().granted  # once
    # The file vanishes from main by a direct (bypass) push: reconcile revokes, and the end
    # is recorded as the reconcile's.
    loop.sim.push(loop.repo, "main", {request_path(name): None}, author="root",
                  message="remove by hand")
    loop.settle()
    report = loop.receiver.reconciler.run()
    assert cr_name(name) in report.revoked or loop.crs.get(cr_name(name)).revocation
    view = loop.crs.get(cr_name(name))
    assert view.revocation is not None and view.revocation.by == "janus-reconcile"
    loop.set_status(cr_name(name), {"phase": "Revoked", "revokedAt": _now(),
                                    "revokedBy": view.revocation.by,
                                    "revokedReason": view.revocation.reason})
    e = loop.wait_entry(path, lambda e: e.end is not None, "the end by reconcile")
    assert (e.end.how, e.end.by, e.end.via) == ("revoked", "janus-reconcile", "reconcile")


def test_pending_end_survives_a_receiver_restart(main_loop, tmp_path: Path) -> None:
    """The writer's queue is memory only: what a stopped receiver had not written comes back
    from the AccessRequests it still holds (the finalizer), at the next receiver's relist."""
    loop = main_loop
    name, _, path = _granted(loop)
    cr = cr_name(name)
    ruleset = loop.sim.world.add_ruleset(loop.repo, "protect main", ["pull_request"])
    loop.set_status(cr, {"phase": "Expired"})
    wait_for(lambda: loop.bed.counters.get("ledger_write_failures_total", reason="refused"),
             15, "the refusal")
    loop.receiver.stop()  # the pending end is lost with the process...
    loop.sim.world.remove_ruleset(loop.repo, ruleset.id)
    assert ledger_keeper.FINALIZER in loop.crs.get(cr).meta.finalizers  # ...but the CR is held
    keeper = ledger_keeper.build(connect(loop.bed.settings()), loop.repo, loop.crs,
                                 default_branch="main", counters=loop.bed.counters,
                                 batch_seconds=0.3)
    ops = GitOps(connect(loop.bed.settings()), loop.repo, loop.crs,
                 load_config_file(harness.ROOT / "policies" / "janus.yaml"),
                 janus_login=loop.bed.bot, counters=loop.bed.counters, ledger=keeper)
    again = Receiver(ops, ReceiverSettings(secret=loop.secret, db_path=tmp_path / "d2.sqlite",
                                           port=0, reconcile_interval=0,
                                           status_watch_seconds=2))
    again.start()
    try:
        e = loop.wait_entry(path, lambda e: e.end is not None, "the end after the restart")
        assert e.end.how == "expired"
        wait_for(lambda: ledger_keeper.FINALIZER not in loop.crs.get(cr).meta.finalizers, 15,
                 "the finalizer released by the new receiver")
    finally:
        again.stop()
