"""Merge benchmark: GitHub API calls per merge and merge → Active, REST-only beside GraphQL.

    .venv/bin/python bench/merge.py [--prs 20] [--deliveries 1000] [--workers 4] [--sim-serial]

The GitHub simulator runs in a process of its own (bench/sim_process.py), never in the
receiver's. In one run, for each way merge verification reads GitHub (``rest``: one request
per question, Janus before GraphQL — the baseline; ``graphql``: janus/gitops/graphql_source.py),
in rounds interleaved REST, GraphQL, GraphQL, REST (PRS/2 merges each, so a load that drifts
during the run weighs on both alike), each in a fresh repository with its own App installation:

1. *API calls per merge*: every request the receiver's App makes to the simulator (counted by
   the simulator, REST and GraphQL alike) while PRS approved PRs are merged one at a time and
   turned into AccessRequests, divided by PRS; and the calls of the verification alone
   (``verify_merge`` run again on one merged PR).
2. *Merge → Active, one at a time*: from the merge call returning to phase Active (seen by a
   watch), the next merge after the previous grant is Active. p50/p99.
3. *Merges/s back to back*: PRS merges as fast as the simulator takes them; throughput.

With ``--sim-serial`` a third column, GraphQL with the simulator answering one request at a
time (``sim.set_serial(True)``: its baseline before it answered reads concurrently), rounds
interleaved serial, REST, GraphQL, GraphQL, REST, serial. For the back-to-back merges of each
column it also prints what a merge costs: the harness's ``sim.merge`` call (merges are issued
one after the other, so it bounds the rate), webhook deliveries and the receiver's answer time,
the simulator's lock (most requests in flight, time held, per route waiting and holding: its
``spans()``), and CPU time per process from ``/proc``.

Then once: *webhook ack under a burst* — DELIVERIES signed deliveries POSTed by 32 clients at
once to the receiver (bench/webhook.py's burst), ack p50/p99.
The whole loop is real: signed webhook over HTTP → receiver → verification against the
simulator's API → CR on the local kube-apiserver → ``janus controller`` (subprocess).
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import secrets
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

import measure  # noqa: E402
from kubernetes import client  # noqa: E402
from sim_process import SimProcess  # noqa: E402

from janus.dev.controlplane import LocalCluster  # noqa: E402
from janus.gitops import sources, verify  # noqa: E402
from janus.gitops.client import connect  # noqa: E402
from janus.gitops.crs import AccessRequests  # noqa: E402
from janus.gitops.membership import GitHubMembership  # noqa: E402
from tests.gitops import harness  # noqa: E402
from tests.integration.controller_env import ControllerProcess, prepare_central  # noqa: E402

_spec = importlib.util.spec_from_file_location("bench_webhook", ROOT / "bench" / "webhook.py")
assert _spec is not None and _spec.loader is not None
webhook = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(webhook)

# name -> (pid, with its reaped children): whose CPU time a back-to-back merge costs.
CPU_PIDS: dict[str, tuple[int, bool]] = {}
# Column -> (how merge verification reads GitHub, simulator answering one request at a time).
CONFIGS = {"rest": ("rest", False), "graphql-serial": ("graphql", True),
           "graphql": ("graphql", False)}
HEADINGS = {"rest": "REST only", "graphql-serial": "GraphQL, serial sim",
            "graphql": "GraphQL"}


def calls_of(sim: SimProcess, login: str) -> int:
    """Requests the simulator has counted for *login* (an App's bot: its installation)."""
    return int((sim.attr("app.rate_limits.used") or {}).get(login, 0))


def verify_calls(bed: harness.Bed, number: int) -> tuple[int, int]:
    """(API calls, GraphQL queries) of ``verify_merge`` alone on merged PR *number*."""
    gh = connect(bed.settings())
    repo = gh.get_repo(bed.repo)
    pull = repo.get_pull(number)
    # Count this client's own requests (REST and GraphQL), nothing else hitting the simulator.
    sent = [0]
    encode = gh.requester._Requester__requestEncode  # type: ignore[attr-defined]

    def counted(*args: Any, **kwargs: Any) -> Any:
        sent[0] += 1
        return encode(*args, **kwargs)

    gh.requester._Requester__requestEncode = counted  # type: ignore[attr-defined]
    def membership_for(policy_set, codeowners):  # what GitOps.membership_for builds
        return GitHubMembership(gh, sources.teams_named(policy_set, codeowners))

    ctx = verify.Context(repo, pull, repo.default_branch, bed.bot, membership_for)
    verdict = verify.verify_merge(ctx)
    if verdict.failure is not None:
        raise RuntimeError(f"verification refused: {verdict.failure}")
    queries = getattr(ctx.source, "queries", 0)
    return sent[0], queries


def timed_merges(sim: SimProcess, bed: harness.Bed, active: Any, numbers: dict[str, int], *,
                 spaced: bool) -> tuple[list[float], float, int, list[float]]:
    """(merge → Active latencies, seconds from the first merge to the last Active, merges,
    seconds each merge call took): bench/webhook.py's measurement, keeping the raw latencies
    so rounds can be pooled. Merges are issued one after the other, so back to back no more
    than 1 / (merge call) a second reach the receiver."""
    merged_at: dict[str, float] = {}
    calls: list[float] = []
    began = time.perf_counter()
    for name, number in numbers.items():
        issued = time.perf_counter()
        sim.merge(bed.repo, number, actor="root")
        merged_at[name] = time.perf_counter()
        calls.append(merged_at[name] - issued)
        if spaced:
            active.wait([name], 120)
    active.wait(list(numbers), 900)
    done = [n for n in numbers if n in active.seen]
    elapsed = max(active.seen[n] for n in done) - began if done else float("nan")
    return [active.seen[n] - merged_at[n] for n in done], elapsed, len(numbers), calls


def run_mode(mode: str, sim: SimProcess, crs: AccessRequests, active: Any,
             namespace: str, workdir: Path, secret: bytes, prs: int, workers: int) -> dict:
    verify.MERGE_API, serial = CONFIGS[mode]
    sim.set_serial(serial)
    app_id, key, bot = webhook.sim_app(sim, f"merge {mode} {uuid.uuid4().hex[:6]}")
    bed = harness.Bed(sim, app_id, key, bot)
    bed.repo = harness.new_repo(sim)
    bed.installation_id = sim.install_app(app_id, bed.repo)
    phase_dir = workdir / f"{mode}-{uuid.uuid4().hex[:6]}"
    phase_dir.mkdir()
    receiver = webhook.make_receiver(sim, bed, crs, phase_dir, secret, workers)
    sim.add_webhook(bed.repo, receiver.url, secret.decode(), events=["*"])
    sim.set_delivery_mode("background")
    try:
        spaced = webhook.open_approved(sim, bed, prs, namespace)
        burst = webhook.open_approved(sim, bed, prs, namespace)
        # The check runs and plan comments of the PRs just opened are not part of the figures.
        sim.wait_for_deliveries(300)
        receiver.pool.wait_idle(600)
        before = calls_of(sim, bot)
        one = timed_merges(sim, bed, active, spaced, spaced=True)
        sim.wait_for_deliveries(300)
        receiver.pool.wait_idle(600)
        calls = calls_of(sim, bot) - before
        sim.spans(True)
        cpu = {name: measure.cpu_seconds(pid, children=kids)
               for name, (pid, kids) in CPU_PIDS.items()}
        back = timed_merges(sim, bed, active, burst, spaced=False)
        sim.wait_for_deliveries(300)
        receiver.pool.wait_idle(600)
        spans = sim.spans(True)
        cpu = {name: measure.cpu_seconds(pid, children=kids) - cpu[name]
               for name, (pid, kids) in CPU_PIDS.items()}
    finally:
        sim.set_delivery_mode("sync")
        sim.set_serial(False)
        receiver.stop()
    verification, queries = verify_calls(bed, next(iter(spaced.values())))
    return {"calls": calls, "merged": len(spaced), "verify": verification, "queries": queries,
            "one": one, "back": back, "spans": spans, "cpu": cpu}


def pooled(rounds: list[dict]) -> dict:
    """One mode's rounds together: latencies pooled, throughput over all back-to-back time."""
    one = [x for r in rounds for x in r["one"][0]]
    back = [x for r in rounds for x in r["back"][0]]
    routes: dict[str, list[float]] = {}
    for r in rounds:
        for route, (n, wait, held) in r["spans"]["routes"].items():
            totals = routes.setdefault(route, [0, 0.0, 0.0])
            totals[0] += n
            totals[1] += wait
            totals[2] += held
    return {
        "routes": routes, "merges_back": sum(r["back"][2] for r in rounds),
        "max_in_flight": max(r["spans"]["max_in_flight"] for r in rounds),
        "cpu": {name: sum(r["cpu"][name] for r in rounds) / sum(r["back"][2] for r in rounds)
                for name in CPU_PIDS},
        "deliveries": sum(r["spans"]["deliveries"]["sent"] for r in rounds)
        / sum(r["back"][2] for r in rounds),
        "delivery_s": sum(r["spans"]["deliveries"]["seconds"] for r in rounds)
        / sum(r["back"][2] for r in rounds),
        "merge_call": webhook.pct([x for r in rounds for x in r["back"][3]], 50),
        "per_merge": sum(r["calls"] for r in rounds) / sum(r["merged"] for r in rounds),
        "verify": max(r["verify"] for r in rounds), "queries": max(r["queries"] for r in rounds),
        "one": {"p50": webhook.pct(one, 50), "p99": webhook.pct(one, 99),
                "active": len(one)},
        "back": {"p99": webhook.pct(back, 99), "active": len(back),
                 "merges_per_s": sum(r["back"][2] for r in rounds)
                 / sum(r["back"][1] for r in rounds)},
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--prs", type=int, default=20,
                        help="merges per mode for each of the two measurements (split in "
                             "two rounds, modes interleaved REST, GraphQL, GraphQL, REST)")
    parser.add_argument("--deliveries", type=int, default=1000)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--sim-serial", action="store_true",
                        help="also a GraphQL column with the simulator answering one request "
                             "at a time (its world lock held exclusive by reads too: the "
                             "simulator before concurrent reads), rounds interleaved")
    args = parser.parse_args()
    order = (("graphql-serial", "rest", "graphql", "graphql", "rest", "graphql-serial")
             if args.sim_serial else ("rest", "graphql", "graphql", "rest"))
    modes = list(dict.fromkeys(order))

    workdir = Path(tempfile.mkdtemp(prefix="janus-bench-merge-"))
    secret = secrets.token_hex(20).encode()
    load = subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip()
    print(f"load at start: {load}", flush=True)
    print("starting the local control plane and the GitHub simulator (own process) ...",
          flush=True)
    cluster = LocalCluster.start("bench-merge")
    rounds: dict[str, list[dict]] = {mode: [] for mode in modes}
    half = max(1, args.prs // 2)
    try:
        with SimProcess() as sim:
            print(f"simulator pid {sim.pid} (this process: receiver and benchmark)", flush=True)
            harness.setup_people(sim)
            api = cluster.admin_client()
            janus_ns = prepare_central(cluster)
            crs = AccessRequests(api, janus_ns)
            namespace = f"payments-{uuid.uuid4().hex[:6]}"
            client.CoreV1Api(api).create_namespace(
                client.V1Namespace(metadata=client.V1ObjectMeta(name=namespace)))
            CPU_PIDS["simulator (with its git processes)"] = (sim.pid, True)
            CPU_PIDS["receiver + benchmark (this process)"] = (os.getpid(), False)
            for proc in cluster.processes:
                CPU_PIDS[proc.name] = (proc.popen.pid, False)
            controller = ControllerProcess(workdir / "ctl", cluster, janus_ns,
                                           clusters=["prod", "staging"],
                                           central_name="prod").start()
            assert controller.proc is not None
            CPU_PIDS["controller"] = (controller.proc.pid, False)
            active = webhook.ActiveWatch(api, janus_ns)
            try:
                # Interleaved so a load that drifts during the run (a shared machine) weighs
                # on both modes alike.
                for mode in order:
                    print(f"\n[{mode}] {half} merges one at a time, then {half} "
                          "back to back ...", flush=True)
                    started = time.perf_counter()
                    rounds[mode].append(run_mode(mode, sim, crs, active, namespace, workdir,
                                                 secret, half, args.workers))
                    print(f"[{mode}] done in {time.perf_counter() - started:.0f} s",
                          flush=True)
            finally:
                active.stop()
                controller.stop()
            verify.MERGE_API = "graphql"
            app_id, key, bot = webhook.sim_app(sim, "burst")
            bed = harness.Bed(sim, app_id, key, bot)
            bed.repo = harness.new_repo(sim)
            bed.installation_id = sim.install_app(app_id, bed.repo)
            (workdir / "burst").mkdir()
            receiver = webhook.make_receiver(sim, bed, crs, workdir / "burst", secret,
                                             args.workers)
            try:
                burst = webhook.bench_burst(receiver.url, receiver.ops.repo_id, bed.repo,
                                            secret, args.deliveries, args.concurrency,
                                            lambda: receiver.pool.wait_idle(300))
            finally:
                receiver.stop()
    finally:
        cluster.stop()

    results = {mode: pooled(rounds[mode]) for mode in modes}
    figures = [
        ("API calls per merge (whole handling)", lambda r: f"{r['per_merge']:.1f}"),
        ("API calls of the verification alone",
         lambda r: f"{r['verify']}" + (f" ({r['queries']} GraphQL)" if r["queries"] else "")),
        ("merge → Active p50, one at a time", lambda r: webhook.ms(r["one"]["p50"])),
        ("merge → Active p99, one at a time", lambda r: webhook.ms(r["one"]["p99"])),
        ("merges/s back to back", lambda r: f"{r['back']['merges_per_s']:.2f}"),
        ("merge → Active p99, back to back", lambda r: webhook.ms(r["back"]["p99"])),
        ("reached Active",
         lambda r: f"{r['one']['active'] + r['back']['active']}/{4 * half}"),
        ("sim.merge call p50, back to back", lambda r: webhook.ms(r["merge_call"])),
        ("sim: webhook deliveries per merge", lambda r: f"{r['deliveries']:.1f}"),
        ("sim: receiver's answer time per merge", lambda r: webhook.ms(r["delivery_s"])),
        ("sim: requests in flight at once (max)", lambda r: str(r["max_in_flight"])),
        ("sim: lock held per merge, back to back",
         lambda r: webhook.ms(sum(v[2] for v in r["routes"].values()) / r["merges_back"])),
    ]
    print(f"\n{'':42}" + "".join(f"{HEADINGS[m]:>22}" for m in modes))
    for label, cell in figures:
        print(f"{label:42}" + "".join(f"{cell(results[m]):>22}" for m in modes))
    print("\nCPU per merge, back to back (ms; the machine has "
          f"{os.cpu_count()} cores, shared):")
    for name in CPU_PIDS:
        print(f"  {name:40}" + "".join(f"{webhook.ms(results[m]['cpu'][name]):>22}"
                                       for m in modes))
    print(f"  {'all of the above':40}" + "".join(
        f"{webhook.ms(sum(results[m]['cpu'].values())):>22}" for m in modes))
    for mode in modes:
        r = results[mode]
        print(f"\nsimulator, {HEADINGS[mode]}, back to back: per merge, requests and ms "
              "waiting for / holding the world lock (top routes by time held)")
        top = sorted(r["routes"].items(), key=lambda kv: -kv[1][2])[:8]
        for route, (n, wait, held) in top:
            print(f"  {route:64} {n / r['merges_back']:5.1f} req  wait "
                  f"{1000 * wait / r['merges_back']:7.1f} ms  held "
                  f"{1000 * held / r['merges_back']:7.1f} ms")
    print(f"\nwebhook burst: {burst['accepted']}/{burst['deliveries']} acknowledged by "
          f"{args.concurrency} clients; ack p50 {webhook.ms(burst['ack_p50'])}, "
          f"p99 {webhook.ms(burst['ack_p99'])}, max {webhook.ms(burst['ack_max'])}; "
          f"drained after {burst['drained_s']:.2f} s")
    load = subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip()
    print(f"load at end: {load}")


if __name__ == "__main__":
    main()
