"""Soak: minutes of continuous access requests through the whole path, two target clusters.

    .venv/bin/python bench/soak.py [--minutes 10] [--interval 10] [--sample 5]

Not in CI. Every process is real and runs on its own: the GitHub simulator (bench/sim_process.py),
``janus webhook`` (the receiver, SQLite store, ledger on the default branch), ``janus controller``
(two target clusters: ``prod`` is the central cluster, ``staging`` a kubeconfig Secret pointing at
the same local API server under another name — janus/controller/clusters.py), kube-apiserver and
etcd. For MINUTES, every INTERVAL seconds alice's request PR (prod or staging, 30–120 s) is opened,
approved by bob and merged by root; at random a live grant is revoked (its file deleted in a
merged PR, ``/janus revoke`` on its PR, or by an admin on the AccessRequest) or extended (a merged
PR with a longer duration). Every SAMPLE seconds the RSS and CPU of every process, GitHub calls
(the simulator's counters) and kube API requests (``apiserver_request_total``) are sampled; the
table printed at the end gives min/median/max per process, the first minute (baseline) beside the
last, and growth between them (a leak shows as a steady climb).

At the end it waits for every grant to end and checks, printing each: no ServiceAccount,
RoleBinding or token Secret of Janus's without a live grant, in every namespace of both clusters;
every request merge granted exactly once (one ledger entry, one ``grant.active``); every extension
merge either extended its live grant, or — handled after the grant ended — was refused
(``grant-ended``: merged while the grant was live) or granted as a new grant (merged after the
end, one more ledger entry), never anything else; every ended grant in the ledger, with its end,
once per grant. Exit status 1 if any check fails. Everything it started is
stopped by PID, also on Ctrl-C.
"""

from __future__ import annotations

import argparse
import json
import random
import secrets
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

import yaml  # noqa: E402
from github import Auth, Github  # noqa: E402
from kubernetes import client  # noqa: E402
from sim_process import SimProcess  # noqa: E402

from bench.measure import api_requests, cpu_seconds, rss_mb  # noqa: E402
from janus import names, resource  # noqa: E402
from janus.dev.controlplane import LocalCluster  # noqa: E402
from janus.gitops.crs import AccessRequests  # noqa: E402
from janus.gitops.ledger_keeper import FINALIZER as LEDGER_FINALIZER  # noqa: E402
from janus.model import ledger  # noqa: E402
from janus.resource.kind import TERMINAL_PHASES  # noqa: E402
from tests.faults.receiver_process import ReceiverProcess  # noqa: E402
from tests.gitops import harness  # noqa: E402
from tests.integration.controller_env import (  # noqa: E402
    ControllerProcess,
    ensure_namespace,
    prepare_central,
    register_cluster,
)

CLUSTERS = ("prod", "staging")
NAMESPACE = "payments"
ENDED = TERMINAL_PHASES


def soak_config() -> str:
    """policies/janus.yaml with grants of seconds allowed (the receiver and the repository)."""
    doc = yaml.safe_load((ROOT / "policies" / "janus.yaml").read_text())
    doc["spec"]["duration"] = {"min": "20s", "max": "8h", "default": "1h"}
    return yaml.safe_dump(doc)


# ---- sampling ----------------------------------------------------------------------------------

@dataclass
class Sample:
    t: float
    rss: dict[str, float]
    cpu_pct: dict[str, float]
    github_calls: int
    kube_requests: float


class Sampler(threading.Thread):
    def __init__(self, pids: dict[str, int], sim: SimProcess, api: Any, every: float) -> None:
        super().__init__(daemon=True)
        self.pids, self.sim, self.api, self.every = pids, sim, api, every
        self.samples: list[Sample] = []
        self.halt = threading.Event()
        self.t0 = time.monotonic()

    def github_calls(self) -> int:
        return sum(int(v) for v in (self.sim.attr("app.rate_limits.used") or {}).values())

    def run(self) -> None:
        last_cpu = {n: cpu_seconds(p, children=True) for n, p in self.pids.items()}
        last_t = time.monotonic()
        while not self.halt.wait(self.every):
            now = time.monotonic()
            cpu = {n: cpu_seconds(p, children=True) for n, p in self.pids.items()}
            span = max(1e-6, now - last_t)
            try:
                calls, kube = self.github_calls(), api_requests(self.api)
            except Exception as exc:  # a sample lost is reported, not fatal
                print(f"  sample failed: {exc}", flush=True)
                continue
            self.samples.append(Sample(
                now - self.t0, {n: rss_mb(p) for n, p in self.pids.items()},
                {n: 100 * (cpu[n] - last_cpu[n]) / span for n in self.pids}, calls, kube))
            last_cpu, last_t = cpu, now


# ---- the load ----------------------------------------------------------------------------------

@dataclass
class Request:
    name: str
    cluster: str
    number: int
    merge_sha: str
    merged_at: float
    duration: int
    cr: str
    actions: list[str] = field(default_factory=list)
    # (PR, merge commit) of later merges of the same file: extensions and requests again
    extensions: list[tuple[int, str, str]] = field(default_factory=list)  # ..., extend/again


class Driver:
    def __init__(self, sim: SimProcess, repo: str, crs: AccessRequests, rng: random.Random) -> None:
        self.sim, self.repo, self.crs, self.rng = sim, repo, crs, rng
        self.requests: list[Request] = []
        self.counts: Counter[str] = Counter()
        self.errors: list[str] = []

    def open_request(self) -> None:
        cluster = self.rng.choice(CLUSTERS)
        duration = self.rng.randint(30, 120)
        name = harness.request_name("alice")
        number = harness.open_request_pr(self.sim, self.repo, name, cluster=cluster,
                                         namespace=NAMESPACE, duration=f"{duration}s")
        self.sim.review(self.repo, number, "bob", "APPROVE")
        sha = self.sim.merge(self.repo, number, actor="root")
        self.requests.append(Request(name, cluster, number, sha, time.monotonic(), duration,
                                     harness.cr_name(name, cluster, NAMESPACE)))
        self.counts["requests merged"] += 1

    def act(self, phases: dict[str, str]) -> None:
        """Revoke or extend one Active grant with at least 20 s left, or request an ended one
        again under the same name (a new grant of the same AccessRequest), at random."""
        now = time.monotonic()
        how = self.rng.choice(("file-deletion", "comment", "admin", "extend", "extend", "again"))
        if how == "again":
            candidates = [r for r in self.requests if phases.get(r.cr) in ENDED
                          and "again" not in r.actions]
        else:
            candidates = [r for r in self.requests if phases.get(r.cr) == "Active"
                          and not r.actions and r.merged_at + r.duration - now > 20]
        if not candidates:
            return
        req = self.rng.choice(candidates)
        if how == "again":  # prefer one whose end the ledger is still writing (finalizer held)
            held = [r for r in candidates if (v := self.crs.get(r.cr)) is not None
                    and LEDGER_FINALIZER in v.meta.finalizers]
            req = self.rng.choice(held) if held else req
        req.actions.append(how)
        path = harness.request_path(req.name, req.cluster, NAMESPACE)
        if how == "again":
            # The ledger may or may not have removed the ended grant's file yet: the PR adds
            # it again or modifies it; either way it is merged after the end. While the ledger
            # finalizer still holds the ended CR the receiver retries (GrantPending) instead of
            # waiting: "receiver retries" in the report.
            branch = f"again/{req.name}"
            self.sim.push(self.repo, branch, {path: harness.request_yaml(
                req.name, cluster=req.cluster, namespace=NAMESPACE,
                duration=f"{self.rng.randint(30, 120)}s")},
                author="alice", message=f"Request {req.name} again", base="main")
            number = self.sim.create_pull(self.repo, head=branch,
                                          title=f"Request {req.name} again", author="alice")
            self.sim.review(self.repo, number, "bob", "APPROVE")
            sha = self.sim.merge(self.repo, number, actor="root")
            req.extensions.append((number, sha, how))
        elif how == "file-deletion":
            branch = f"revoke/{req.name}"
            self.sim.push(self.repo, branch, {path: None}, author="alice",
                          message=f"Revoke {req.name}", base="main")
            number = self.sim.create_pull(self.repo, head=branch, title=f"Revoke {req.name}",
                                          author="alice")
            self.sim.merge(self.repo, number, actor="root")
        elif how == "comment":
            self.sim.comment(self.repo, req.number, "alice", "/janus revoke soak: done")
        elif how == "admin":
            self.crs.revoke(req.cr, by="root", reason="soak: admin revoke")
        else:
            longer = req.duration + self.rng.randint(20, 60)
            branch = f"extend/{req.name}"
            self.sim.push(self.repo, branch, {path: harness.request_yaml(
                req.name, cluster=req.cluster, namespace=NAMESPACE, duration=f"{longer}s")},
                author="alice", message=f"Extend {req.name}", base="main")
            number = self.sim.create_pull(self.repo, head=branch, title=f"Extend {req.name}",
                                          author="alice")
            self.sim.review(self.repo, number, "bob", "APPROVE")
            sha = self.sim.merge(self.repo, number, actor="root")
            req.extensions.append((number, sha, how))
            req.duration = longer
        self.counts[f"action {how}"] += 1


def phases_of(api: Any, janus_ns: str) -> dict[str, str]:
    listed: Any = client.CustomObjectsApi(api).list_namespaced_custom_object(
        resource.GROUP, resource.VERSION, janus_ns, resource.PLURAL)
    items = listed["items"]
    return {i["metadata"]["name"]: (i.get("status") or {}).get("phase", "") for i in items}


# ---- the checks --------------------------------------------------------------------------------

def janus_objects(api: Any) -> list[tuple[str, ...]]:
    """(kind, namespace, name, request label, cluster label) of every object Janus manages."""
    sel = names.LABEL_REQUEST  # every object a grant creates carries it
    core, rbac = client.CoreV1Api(api), client.RbacAuthorizationV1Api(api)
    out: list[tuple[str, ...]] = []
    items: Any
    for kind, items in (
            ("ServiceAccount", core.list_service_account_for_all_namespaces(
                label_selector=sel).items),
            ("RoleBinding", rbac.list_role_binding_for_all_namespaces(label_selector=sel).items),
            ("Secret", core.list_secret_for_all_namespaces(label_selector=sel).items)):
        for o in items:
            meta: Any = o.metadata
            labels = meta.labels or {}
            out.append((kind, meta.namespace, meta.name,
                        labels.get(names.LABEL_REQUEST, ""), labels.get(names.LABEL_CLUSTER, "")))
    return out


def ledger_entries(sim: SimProcess, repo: str) -> list[ledger.Entry]:
    gh = Github(auth=Auth.Token(sim.token("root")), base_url=sim.base_url, retry=None,
                seconds_between_requests=None, seconds_between_writes=None)
    tree = gh.get_repo(repo).get_git_tree("main", recursive=True).tree
    out = []
    for item in tree:
        if item.type == "blob" and item.path.startswith("ledger/") and \
                ledger.parse_entry_path(item.path) is not None:
            data = sim.read_file(repo, item.path, ref="main")
            out.append(ledger.loads(item.path, data))
    return out


def backlog(db: Path) -> tuple[int, float]:
    """(deliveries not done, age in s of the oldest) in the receiver's store, read-only."""
    import sqlite3

    try:
        with sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=5) as conn:
            count, oldest = conn.execute(
                "SELECT count(*), min(received_at) FROM deliveries WHERE state != 'done'"
            ).fetchone()
    except sqlite3.Error:
        return -1, float("nan")
    return int(count), (time.time() - oldest) if oldest else 0.0


def controller_events(log: str) -> list[dict[str, Any]]:
    out = []
    for line in log.splitlines():
        if line.startswith("{"):
            try:
                out.append(json.loads(line))
            except ValueError:
                pass
    return out


# ---- the report --------------------------------------------------------------------------------

def median(values: list[float]) -> float:
    return statistics.median(values) if values else float("nan")


def report(samples: list[Sample], names_: list[str]) -> None:
    if not samples:
        print("no samples")
        return
    end = samples[-1].t
    first = [s for s in samples if s.t <= 60] or samples[:1]
    last = [s for s in samples if s.t >= end - 60] or samples[-1:]
    print(f"\nRSS (MB), {len(samples)} samples over {end / 60:.1f} min; first minute = baseline")
    print(f"{'process':12} {'min':>8} {'median':>8} {'max':>8} {'1st min':>8} {'last min':>9} "
          f"{'growth':>8}")
    for n in names_:
        all_ = [s.rss[n] for s in samples]
        a, b = median([s.rss[n] for s in first]), median([s.rss[n] for s in last])
        print(f"{n:12} {min(all_):8.1f} {median(all_):8.1f} {max(all_):8.1f} {a:8.1f} {b:9.1f} "
              f"{b - a:+8.1f}")
    print("\nCPU (% of one core)")
    print(f"{'process':12} {'min':>8} {'median':>8} {'max':>8} {'1st min':>8} {'last min':>9}")
    for n in names_:
        all_ = [s.cpu_pct[n] for s in samples]
        print(f"{n:12} {min(all_):8.1f} {median(all_):8.1f} {max(all_):8.1f} "
              f"{median([s.cpu_pct[n] for s in first]):8.1f} "
              f"{median([s.cpu_pct[n] for s in last]):9.1f}")
    print("\nRSS (MB) per minute (median of the minute's samples), and API calls in the minute")
    minutes = int(end // 60) + 1
    print(f"{'minute':>6} " + " ".join(f"{n:>11}" for n in names_) +
          f" {'GitHub':>8} {'kube API':>9}")
    prev = samples[0]
    for m in range(minutes):
        in_m = [s for s in samples if m * 60 <= s.t < (m + 1) * 60]
        if not in_m:
            continue
        row = " ".join(f"{median([s.rss[n] for s in in_m]):11.1f}" for n in names_)
        gh, kube = in_m[-1].github_calls - prev.github_calls, in_m[-1].kube_requests - \
            prev.kube_requests
        prev = in_m[-1]
        print(f"{m + 1:6} {row} {gh:8d} {kube:9.0f}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--minutes", type=float, default=10)
    parser.add_argument("--interval", type=float, default=10.0,
                        help="seconds between requests")
    parser.add_argument("--act-every", type=float, default=9.0,
                        help="seconds between random revokes/extensions")
    parser.add_argument("--sample", type=float, default=5.0, help="seconds between samples")
    parser.add_argument("--seed", type=int, default=None)
    parser.add_argument("--workers", type=int, default=2, help="the receiver's workers")
    args = parser.parse_args()
    seed = args.seed if args.seed is not None else random.randrange(1 << 30)
    rng = random.Random(seed)

    def interrupted(*_: object) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, interrupted)
    load = subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip()
    print(f"seed {seed}; load at start: {load}", flush=True)
    workdir = Path(tempfile.mkdtemp(prefix="janus-bench-soak-"))
    print(f"workdir {workdir}; starting the control plane and the simulator ...", flush=True)
    cluster = LocalCluster.start("bench-soak")
    started: list[Any] = []
    failures: list[str] = []
    try:
        sim = SimProcess()
        started.append(sim)
        harness.setup_people(sim)
        app_id, key = sim.create_app("janus-soak")
        api = cluster.admin_client()
        janus_ns = prepare_central(cluster)
        ensure_namespace(api, NAMESPACE)
        register_cluster(cluster, janus_ns, "staging", cluster.kubeconfig())
        config = soak_config()
        (workdir / "janus.yaml").write_text(config)
        # The repository's JanusConfig allows grants of seconds, like the receiver's.
        repo = harness.new_repo(sim, extra_files={"policies/janus.yaml": config})
        installation = sim.install_app(app_id, repo)
        secret = secrets.token_hex(20)
        for fname, content in {"key": key, "secret": secret,
                               "kubeconfig": yaml.safe_dump(cluster.kubeconfig())}.items():
            (workdir / fname).write_text(content)

        receiver = ReceiverProcess(workdir, sim, app_id, installation, repo,
                                   janus_ns, tag="webhook")
        receiver.args[receiver.args.index("--config") + 1] = str(workdir / "janus.yaml")
        # `python -m janus` → bench/soak_receiver.py: the same CLI, the 10-minute floor lowered.
        receiver.args[1:3] = [str(ROOT / "bench" / "soak_receiver.py")]
        receiver.args[receiver.args.index("--workers") + 1] = str(args.workers)
        started.append(receiver)
        receiver.start()
        sim.add_webhook(repo, receiver.url, secret, events=["*"])
        sim.set_delivery_mode("background")
        controller = ControllerProcess(workdir / "ctl", cluster, janus_ns,
                                       clusters=list(CLUSTERS), central_name="prod")
        started.append(controller)
        controller.start()
        assert receiver.proc is not None and controller.proc is not None
        pids = {"receiver": receiver.proc.pid, "controller": controller.proc.pid,
                "simulator": int(sim.pid or 0)}
        for proc in cluster.processes:
            pids[proc.name] = proc.pid
        print("pids: " + ", ".join(f"{n} {p}" for n, p in pids.items()), flush=True)

        crs = AccessRequests(api, janus_ns)
        driver = Driver(sim, repo, crs, rng)
        sampler = Sampler(pids, sim, api, args.sample)
        sampler.start()
        t0 = time.monotonic()
        stop_at = t0 + args.minutes * 60
        next_req, next_act, next_progress = t0, t0 + args.act_every, t0 + 30
        phases: dict[str, str] = {}
        ever_active: set[str] = set()
        while time.monotonic() < stop_at:
            now = time.monotonic()
            try:
                if now >= next_req:
                    next_req += args.interval
                    driver.open_request()
                if now >= next_act:
                    next_act += args.act_every
                    phases = phases_of(api, janus_ns)
                    driver.act(phases)
            except (KeyboardInterrupt, SystemExit):
                raise
            except Exception as exc:  # noted, the soak goes on
                driver.errors.append(f"{type(exc).__name__}: {exc}")
                print(f"  driver error: {exc}", flush=True)
            for proc_name, child in (("receiver", receiver.proc),
                                     ("controller", controller.proc)):
                if child is not None and child.poll() is not None:
                    raise RuntimeError(f"the {proc_name} exited with {child.returncode}")
            if now >= next_progress:
                next_progress += 30
                phases = phases_of(api, janus_ns)
                ever_active |= {n for n, p in phases.items() if p == "Active"}
                by_phase = Counter(phases.values())
                last = sampler.samples[-1] if sampler.samples else None
                rss = (", ".join(f"{n} {v:.0f}" for n, v in last.rss.items()) if last else "")
                todo, age = backlog(workdir / "deliveries.sqlite")
                print(f"[{(now - t0) / 60:4.1f} min] merged {driver.counts['requests merged']}, "
                      f"CRs {dict(by_phase)}; receiver backlog {todo} (oldest {age:.0f} s); "
                      f"RSS MB: {rss}", flush=True)
            time.sleep(0.2)

        print(f"\nload stopped after {args.minutes} min; waiting for every grant to end ...",
              flush=True)
        wanted = {r.cr for r in driver.requests}
        deadline = time.monotonic() + 600

        def all_ended() -> bool:
            """The receiver has handled every delivery and every AccessRequest has ended (a
            merge handled after its window is never granted: the check below counts it)."""
            ph = phases_of(api, janus_ns)
            ever_active.update(n for n, p in ph.items() if p == "Active")
            return backlog(workdir / "deliveries.sqlite")[0] == 0 and \
                all(p in ENDED for p in ph.values())

        next_progress = time.monotonic() + 30
        while not all_ended() and time.monotonic() < deadline:
            if time.monotonic() >= next_progress:
                next_progress += 30
                todo, age = backlog(workdir / "deliveries.sqlite")
                print(f"  ... CRs {dict(Counter(phases_of(api, janus_ns).values()))}; receiver "
                      f"backlog {todo} (oldest {age:.0f} s)", flush=True)
            time.sleep(2)
        # The ledger is written after the end (batched); let the receiver catch up.
        time.sleep(10)
        sim.wait_for_deliveries(300)
        sampler.halt.set()
        sampler.join(30)
        report(sampler.samples, list(pids))

        # ---- checks ----
        print("\nchecks:")
        phases = phases_of(api, janus_ns)
        live = {n for n, p in phases.items() if p not in ENDED}
        not_ended = sorted(n for n in wanted & set(phases) if phases[n] not in ENDED)
        ok = not not_ended
        print(f"  every grant ended: {'ok' if ok else 'FAIL'} "
              f"({len(wanted & set(phases)) - len(not_ended)}/{len(wanted & set(phases))}; "
              f"not ended: {not_ended[:5]})")
        if not ok:
            failures.append("grants not ended")
        objects = janus_objects(api)
        orphans = [o for o in objects if o[3] not in live]
        by_cluster = Counter(o[4] for o in objects)
        ok = not orphans
        print(f"  no ServiceAccount/RoleBinding/token Secret without a live grant (both "
              f"clusters, all namespaces): {'ok' if ok else 'FAIL'} — {len(objects)} objects "
              f"left {dict(by_cluster)}, {len(orphans)} orphaned {orphans[:5]}")
        if not ok:
            failures.append("orphaned objects")
        never = sorted(wanted - ever_active)
        entries = ledger_entries(sim, repo)
        per_merge = Counter((e.merge.commit, e.access_request) for e in entries)
        per_cr = Counter(e.access_request for e in entries)
        activations = Counter(e.get("request") for e in controller_events(controller.log())
                              if e.get("event") == "grant.active")
        # What the receiver did with each extension merge (its first decisive outcome; a
        # replay says "unchanged"/"already-recorded"). Handled after the grant ended, an
        # extension merged while the grant was live is refused ("grant-ended"); one merged after
        # the end is a new grant ("recreated", or "created" once the old CR went) — one more
        # ledger entry and one more grant.active for that AccessRequest (janus/gitops/crs.py).
        # An ended AccessRequest may be gone by now (deleted for such a new grant), so a merge
        # is judged by the ledger and the controller's log.
        receiver_events = controller_events(receiver.log())
        outcome_of: dict[int, str] = {}
        for e in receiver_events:
            if e.get("event") in ("grant.applied", "grant.not_applied") and \
                    e.get("outcome") not in ("unchanged", "already-recorded"):
                outcome_of.setdefault(int(e.get("pull") or 0), str(e.get("outcome")))
        new_grant = {"recreated", "created"}
        regranted = Counter(r.cr for r in driver.requests for n, _, _ in r.extensions
                            if outcome_of.get(n) in new_grant)
        not_granted = sorted(r.cr for r in driver.requests
                             if per_merge[(r.merge_sha, r.cr)] == 0 and activations[r.cr] == 0)
        bad_merges = sorted(r.cr for r in driver.requests if r.cr not in not_granted and (
            per_merge[(r.merge_sha, r.cr)] != 1 or per_cr[r.cr] != 1 + regranted[r.cr]))
        not_once = sorted(r.cr for r in driver.requests if r.cr not in not_granted
                          and activations[r.cr] != 1 + regranted[r.cr])
        refused = Counter(e.get("outcome") for e in receiver_events
                          if e.get("event") == "grant.not_applied"
                          and e.get("request") in not_granted)
        ok = not not_granted and not bad_merges and not not_once
        print(f"  every merge granted exactly once (one ledger entry, one grant.active in the "
              f"controller's log): {'ok' if ok else 'FAIL'} — {len(wanted)} merges, "
              f"{len(not_granted)} never granted (the receiver's grant.not_applied outcomes: "
              f"{dict(refused)}), {len(bad_merges)} with ledger entries != 1 "
              f"{bad_merges[:5]}, {len(not_once)} granted != once "
              f"{[(n, activations[n]) for n in not_once[:5]]}; {len(never)} never seen Active "
              f"by the 30 s poll (informational)")
        if not ok:
            failures.append("merges not granted exactly once")
        extension_outcomes: Counter[str] = Counter()
        bad_extensions: list[tuple[str, int, str]] = []
        for r in driver.requests:
            for number, sha, how in r.extensions:
                outcome = outcome_of.get(number, "not handled")
                extension_outcomes[f"{how}: {outcome}"] += 1
                if outcome == "extended":
                    good = any(x.merge.commit == sha for e in entries
                               if e.access_request == r.cr for x in e.extensions)
                elif outcome in new_grant:
                    good = per_merge[(sha, r.cr)] == 1
                else:  # refused: an extension that came after the end, or past its window
                    good = outcome == "window-passed" or (
                        outcome == "grant-ended" and how == "extend")
                if not good:
                    bad_extensions.append((r.cr, number, outcome))
        ok = not bad_extensions
        print(f"  every later merge of a request (extension, or requested again after the end) "
              f"extended its grant (an extension in its ledger entry), was refused after the "
              f"end, or was granted anew (its own ledger entry): "
              f"{'ok' if ok else 'FAIL'} — outcomes {dict(extension_outcomes)}, "
              f"{len(bad_extensions)} wrong {bad_extensions[:5]}")
        if not ok:
            failures.append("extensions")
        ended_crs = {n for n, p in phases.items() if p in ENDED} | \
            {r.cr for r in driver.requests if r.cr not in phases and r.cr not in not_granted}
        unrecorded = sorted(n for n in ended_crs if not per_cr[n] or not all(
            e.ended for e in entries if e.access_request == n))
        twice = sorted(n for n, c in per_cr.items() if c > 1 + regranted[n])
        ok = not unrecorded and not twice
        ends = Counter(e.end.how for e in entries if e.end is not None)
        print(f"  every ended grant in the ledger once, with its end: {'ok' if ok else 'FAIL'} "
              f"— {len(entries)} entries, ends {dict(ends)}, {len(unrecorded)} ended without "
              f"an end recorded {unrecorded[:5]}, {len(twice)} recorded twice")
        if not ok:
            failures.append("ledger")
        extended = sum(1 for e in entries if e.extensions)
        retries = Counter(str(e.get("error", ""))[:60] for e in receiver_events
                          if e.get("event") == "webhook.retry")
        print(f"\nload: {dict(driver.counts)}; ledger entries with an extension: {extended}; "
              f"receiver retries: {sum(retries.values())} {dict(retries.most_common(3))}; "
              f"driver errors: {len(driver.errors)} {driver.errors[:3]}")
        s0, s1 = sampler.samples[0], sampler.samples[-1]
        span = max(1e-6, s1.t - s0.t)
        calls = s1.github_calls - s0.github_calls
        print(f"GitHub calls (all callers, simulator's counters): {calls}"
              f" in {span / 60:.1f} min ({calls / span:.1f}/s, "
              f"{calls / max(1, len(wanted)):.1f} per request); "
              f"kube API requests: {s1.kube_requests - s0.kube_requests:.0f} "
              f"({(s1.kube_requests - s0.kube_requests) / span:.1f}/s)")
    except KeyboardInterrupt:
        print("\ninterrupted: stopping everything", flush=True)
        failures.append("interrupted")
    except Exception as exc:
        print(f"\nsoak failed: {type(exc).__name__}: {exc}", flush=True)
        failures.append(str(exc))
    finally:
        for thing in reversed(started):
            try:
                thing.stop()
            except Exception as exc:
                print(f"stop {type(thing).__name__}: {exc}", flush=True)
        cluster.stop()
        load = subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip()
        print(f"load at end: {load}")
        print(f"logs in {workdir}")
    print("SOAK " + ("PASSED" if not failures else f"FAILED: {failures}"))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
