"""Webhook receiver benchmark: the front door under a burst, and merge-to-Active latency.

    .venv/bin/python bench/webhook.py [--deliveries 1000] [--concurrency 32] [--prs 100]

1. *Burst*: DELIVERIES signed ``push`` deliveries (a push to a request branch, the most frequent
   event an access repo sends) POSTed by CONCURRENCY clients at once to the real receiver
   (uvicorn on loopback): signature check, allow-list, SQLite commit, 202. Reports ack latency
   p50/p99/max, deliveries/s acknowledged, and the time until the workers have drained them all.
2. *Merge to Active*: PRS request PRs opened and approved on the GitHub simulator (not timed),
   then merged; for each, the time from the merge call returning to the AccessRequest reaching
   phase Active (seen by a watch). Twice: *one at a time* (the next merge after the previous
   grant is Active: the latency a user sees) and *all at once* (PRS merges back to back: the
   throughput, with latency including the queue). The whole loop is real: signed
   webhook over HTTP → receiver → full docs/design.md §5 verification against the simulator's API →
   CR on the local kube-apiserver → `janus controller` (subprocess) grants SA, RoleBinding and
   token. Reports p50/p99 and merges/s.
"""

from __future__ import annotations

import argparse
import json
import secrets
import sys
import tempfile
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import httpx  # noqa: E402
from kubernetes import client, watch  # noqa: E402

from janus import resource  # noqa: E402
from janus.dev.controlplane import LocalCluster  # noqa: E402
from janus.dev.github_sim import GitHubSimulator  # noqa: E402
from janus.gitops.client import connect  # noqa: E402
from janus.gitops.crs import AccessRequests  # noqa: E402
from janus.gitops.service import GitOps  # noqa: E402
from janus.model import load_config_file  # noqa: E402
from janus.resource.client import is_relist  # noqa: E402
from janus.webhook.runtime import Receiver, ReceiverSettings  # noqa: E402
from janus.webhook.signature import sign  # noqa: E402
from tests.gitops import harness  # noqa: E402
from tests.integration.controller_env import ControllerProcess, prepare_central  # noqa: E402


def pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


def ms(seconds: float) -> str:
    return f"{seconds * 1000:.1f} ms"


def make_receiver(sim, bed, crs, workdir: Path, secret: bytes, workers: int) -> Receiver:
    ops = GitOps(connect(bed.settings()), bed.repo, crs,
                 load_config_file(ROOT / "policies" / "janus.yaml"), janus_login=bed.bot,
                 counters=bed.counters)
    return Receiver(ops, ReceiverSettings(secret=secret, db_path=workdir / "deliveries.sqlite",
                                          port=0, workers=workers, reconcile_interval=0,
                                          status_watch=False)).start()


def bench_burst(receiver: Receiver, repo: str, secret: bytes, count: int,
                concurrency: int) -> dict:
    bodies = [json.dumps({
        "ref": f"refs/heads/janus/request/alice/{i:04d}", "before": "0" * 40,
        "after": uuid.uuid4().hex + "00000000",
        "repository": {"id": receiver.ops.repo_id, "full_name": repo},
        "pusher": {"name": "alice"}, "commits": [],
    }).encode() for i in range(count)]
    latencies: list[float] = []
    statuses: list[int] = []
    lock = threading.Lock()
    http = httpx.Client(limits=httpx.Limits(max_connections=concurrency))

    def post(i: int) -> None:
        body = bodies[i]
        headers = {"Content-Type": "application/json", "X-GitHub-Event": "push",
                   "X-GitHub-Delivery": str(uuid.uuid4()),
                   "X-Hub-Signature-256": sign(secret, body)}
        began = time.perf_counter()
        response = http.post(receiver.url, content=body, headers=headers)
        took = time.perf_counter() - began
        with lock:
            latencies.append(took)
            statuses.append(response.status_code)

    began = time.perf_counter()
    with ThreadPoolExecutor(concurrency) as pool:
        list(pool.map(post, range(count)))
    acked = time.perf_counter() - began
    receiver.pool.wait_idle(300)
    drained = time.perf_counter() - began
    http.close()
    return {
        "deliveries": count, "accepted": statuses.count(202),
        "ack_p50": pct(latencies, 50), "ack_p99": pct(latencies, 99), "ack_max": max(latencies),
        "acked_per_s": count / acked, "drained_s": drained,
    }


def sim_app(sim, label: str) -> tuple[int, str, str]:
    app_id, key = sim.create_app(f"janus-bench-{label.replace(' ', '-')}")
    return app_id, key, sim.bot_login(app_id)


def open_approved(sim, bed, count: int, namespace: str) -> dict[str, int]:
    """COUNT approved request PRs (not timed): CR name -> PR number."""
    numbers: dict[str, int] = {}
    for _ in range(count):
        name = harness.request_name("alice")
        number = harness.open_request_pr(sim, bed.repo, name, namespace=namespace)
        sim.review(bed.repo, number, "bob", "APPROVE")
        numbers[harness.cr_name(name, namespace=namespace)] = number
    return numbers


class ActiveWatch:
    """Records when each AccessRequest is first seen Active."""

    def __init__(self, api, janus_ns: str) -> None:
        self.seen: dict[str, float] = {}
        self.ended: Exception | None = None
        self.relists = 0
        self.changed = threading.Condition()
        self._w = watch.Watch()
        self._thread = threading.Thread(target=self._run, args=(api, janus_ns), daemon=True)
        self._thread.start()
        time.sleep(0.5)

    def _run(self, api, janus_ns: str) -> None:
        try:
            self._watch(api, janus_ns)
        except Exception as exc:  # the cluster stopping ends the stream; nothing left to record
            self.ended = exc

    def _watch(self, api, janus_ns: str) -> None:
        # No resourceVersion: each watch starts with every object's state, so after a 410 Gone
        # or a 504 "Too large resource version" (the API server under load) the next one sees
        # every grant that became Active meanwhile (recorded when seen: an upper bound).
        while not self._w._stop:
            try:
                self._watch_once(api, janus_ns)
            except client.ApiException as exc:
                if not is_relist(exc):
                    raise
                self.relists += 1
                self._w = watch.Watch()

    def _watch_once(self, api, janus_ns: str) -> None:
        for change in self._w.stream(client.CustomObjectsApi(api).list_namespaced_custom_object,
                                     resource.GROUP, resource.VERSION, janus_ns, resource.PLURAL,
                                     timeout_seconds=3600):
            obj = change["object"]
            name = obj["metadata"]["name"]
            if (obj.get("status") or {}).get("phase") == "Active" and name not in self.seen:
                with self.changed:
                    self.seen[name] = time.perf_counter()
                    self.changed.notify_all()

    def wait(self, names_: list[str], timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        with self.changed:
            while not all(n in self.seen for n in names_):
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self.changed.wait(left)
        return True

    def stop(self) -> None:
        self._w.stop()


def bench_merges(sim, bed, active: ActiveWatch, numbers: dict[str, int], *,
                 spaced: bool) -> dict:
    """Merge each PR; spaced: wait for Active before the next merge (latency without queueing);
    burst: merge all back to back (throughput, and latency including the queue)."""
    merged_at: dict[str, float] = {}
    began = time.perf_counter()
    for name, number in numbers.items():
        sim.merge(bed.repo, number, actor="root")
        merged_at[name] = time.perf_counter()
        if spaced:
            active.wait([name], 120)
    active.wait(list(numbers), 900)
    done = [n for n in numbers if n in active.seen]
    latencies = [active.seen[n] - merged_at[n] for n in done]
    total = max(active.seen[n] for n in done) - began if done else float("nan")
    return {"prs": len(numbers), "active": len(done), "p50": pct(latencies, 50),
            "p99": pct(latencies, 99), "max": max(latencies),
            "merges_per_s": len(done) / total}


def report_merges(label: str, merges: dict) -> None:
    print(f"\nmerge to Active, {label}: {merges['active']}/{merges['prs']} merged PRs reached "
          "Active (simulator → signed webhook → receiver → verification → CR → controller)")
    print(f"  latency p50 {ms(merges['p50'])}, p99 {ms(merges['p99'])}, "
          f"max {ms(merges['max'])}; {merges['merges_per_s']:.2f} merges/s", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--deliveries", type=int, default=1000)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--prs", type=int, default=100)
    parser.add_argument("--workers", type=int, default=4)
    args = parser.parse_args()

    workdir = Path(tempfile.mkdtemp(prefix="janus-bench-webhook-"))
    secret = secrets.token_hex(20).encode()
    print("starting the local control plane and the GitHub simulator ...", flush=True)
    cluster = LocalCluster.start("bench-webhook")
    try:
        with GitHubSimulator.start() as sim:
            harness.setup_people(sim)
            app_id, key = sim.create_app("janus-bench")
            bed = harness.Bed(sim, app_id, key, sim.bot_login(app_id))
            bed.repo = harness.new_repo(sim)
            bed.installation_id = sim.install_app(app_id, bed.repo)
            api = cluster.admin_client()
            janus_ns = prepare_central(cluster)
            crs = AccessRequests(api, janus_ns)

            receiver = make_receiver(sim, bed, crs, workdir, secret, args.workers)
            try:
                burst = bench_burst(receiver, bed.repo, secret, args.deliveries,
                                    args.concurrency)
            finally:
                receiver.stop()
            print(f"\nburst: {burst['accepted']}/{burst['deliveries']} signed deliveries "
                  f"acknowledged (202) by {args.concurrency} concurrent clients")
            print(f"  ack latency p50 {ms(burst['ack_p50'])}, p99 {ms(burst['ack_p99'])}, "
                  f"max {ms(burst['ack_max'])}")
            print(f"  {burst['acked_per_s']:.0f} deliveries/s acknowledged; all handled by "
                  f"{args.workers} workers after {burst['drained_s']:.2f} s", flush=True)

            namespace = f"payments-{uuid.uuid4().hex[:6]}"
            client.CoreV1Api(api).create_namespace(
                client.V1Namespace(metadata=client.V1ObjectMeta(name=namespace)))
            controller = ControllerProcess(workdir / "ctl", cluster, janus_ns,
                                           clusters=["prod", "staging"],
                                           central_name="prod").start()
            active = ActiveWatch(api, janus_ns)
            try:
                for label, spaced in (("one at a time", True), ("all at once", False)):
                    # Each phase in its own repository with its own App installation: about 30
                    # API calls per request (check run, plan, verification, comments) would
                    # otherwise exhaust one installation's 5,000 requests/hour, which the
                    # simulator enforces as GitHub does.
                    phase = harness.Bed(sim, *sim_app(sim, label))
                    phase.repo = harness.new_repo(sim)
                    phase.installation_id = sim.install_app(phase.app_id, phase.repo)
                    phase_dir = workdir / label.replace(" ", "-")
                    phase_dir.mkdir()
                    receiver = make_receiver(sim, phase, crs, phase_dir, secret, args.workers)
                    sim.add_webhook(phase.repo, receiver.url, secret.decode(), events=["*"])
                    sim.set_delivery_mode("background")
                    try:
                        prs = open_approved(sim, phase, args.prs, namespace)
                        # The check runs of the PRs just opened are not part of the figure.
                        sim.wait_for_deliveries(300)
                        receiver.pool.wait_idle(600)
                        report_merges(label, bench_merges(sim, phase, active, prs,
                                                          spaced=spaced))
                    finally:
                        sim.set_delivery_mode("sync")
                        receiver.stop()
            finally:
                active.stop()
                controller.stop()
    finally:
        cluster.stop()


if __name__ == "__main__":
    main()
