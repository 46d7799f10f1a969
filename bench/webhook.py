"""Webhook receiver benchmark: the front door under a burst, and merge-to-Active latency.

    .venv/bin/python bench/webhook.py [--deliveries 1000] [--concurrency 32] [--prs 100]
    .venv/bin/python bench/webhook.py --compare REV [--rounds 2] [--workers 4]
    (either: [--client asyncio|threads], the burst's client; asyncio by default)

``--compare REV`` runs only the burst, against real ``janus webhook`` processes (the CLI, SQLite
store, as in production): the package at git revision REV (``git archive``, the checkout
untouched) beside the working tree, in interleaved rounds, with the client in this process and
the simulator in its own (``bench/sim_process.py``); it also prints each receiver's CPU seconds.

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
import asyncio
import json
import os
import re
import secrets
import signal
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
import tomllib
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))  # sim_process, also when imported as bench.webhook

import httpx  # noqa: E402
import yaml  # noqa: E402
from kubernetes import client, watch  # noqa: E402
from sim_process import SimProcess  # noqa: E402

from bench.measure import pct  # noqa: E402
from janus import resource  # noqa: E402
from janus.dev.controlplane import LocalCluster  # noqa: E402
from janus.dev.controlplane.ports import free_port  # noqa: E402
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


def ms(seconds: float) -> str:
    return f"{seconds * 1000:.1f} ms"


def make_receiver(sim, bed, crs, workdir: Path, secret: bytes, workers: int) -> Receiver:
    ops = GitOps(connect(bed.settings()), bed.repo, crs,
                 load_config_file(ROOT / "policies" / "janus.yaml"), janus_login=bed.bot,
                 counters=bed.counters)
    return Receiver(ops, ReceiverSettings(secret=secret, db_path=workdir / "deliveries.sqlite",
                                          port=0, workers=workers, reconcile_interval=0,
                                          status_watch=False)).start()


def _push_bodies(repo_id: int, repo: str, count: int) -> list[bytes]:
    return [json.dumps({
        "ref": f"refs/heads/janus/request/alice/{i:04d}", "before": "0" * 40,
        "after": uuid.uuid4().hex + "00000000",
        "repository": {"id": repo_id, "full_name": repo},
        "pusher": {"name": "alice"}, "commits": [],
    }).encode() for i in range(count)]


def bench_burst(url: str, repo_id: int, repo: str, secret: bytes, count: int,
                concurrency: int, wait_drained: Callable[[], object],
                client_kind: str = "asyncio") -> dict:
    """The burst; *client_kind* ``asyncio`` (one event loop, CONCURRENCY keep-alive
    connections writing pre-signed request bytes: about a tenth of the threads' CPU, which
    shares the machine's cores with the receiver) or ``threads`` (CONCURRENCY threads sharing
    an ``httpx.Client``, signing each body as it goes: the client of the earlier figures)."""
    bodies = _push_bodies(repo_id, repo, count)
    if client_kind == "asyncio":
        began, latencies, statuses = _burst_asyncio(url, secret, bodies, concurrency)
    else:
        began, latencies, statuses = _burst_threads(url, secret, bodies, concurrency)
    acked = time.perf_counter() - began
    wait_drained()
    drained = time.perf_counter() - began
    return {
        "deliveries": count, "accepted": statuses.count(202),
        "ack_p50": pct(latencies, 50), "ack_p99": pct(latencies, 99), "ack_max": max(latencies),
        "acked_per_s": count / acked, "drained_s": drained,
    }


def _burst_threads(url: str, secret: bytes, bodies: list[bytes],
                   concurrency: int) -> tuple[float, list[float], list[int]]:
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
        response = http.post(url, content=body, headers=headers)
        took = time.perf_counter() - began
        with lock:
            latencies.append(took)
            statuses.append(response.status_code)

    began = time.perf_counter()
    try:
        with ThreadPoolExecutor(concurrency) as pool:
            list(pool.map(post, range(len(bodies))))
    finally:
        http.close()
    return began, latencies, statuses


def _burst_asyncio(url: str, secret: bytes, bodies: list[bytes],
                   concurrency: int) -> tuple[float, list[float], list[int]]:
    """CONCURRENCY tasks on one event loop, each with its own keep-alive HTTP/1.1 connection,
    taking the next request from a shared list; each request's bytes (headers, signature,
    body) are built before the clock starts. Latency: from writing the request to having read
    the whole answer (status line, headers, Content-Length body), as httpx measured it."""
    parsed = urlsplit(url)
    host, port = parsed.hostname or "127.0.0.1", parsed.port or 80
    requests = [(f"POST {parsed.path} HTTP/1.1\r\nHost: {host}:{port}\r\n"
                 "Content-Type: application/json\r\nX-GitHub-Event: push\r\n"
                 f"X-GitHub-Delivery: {uuid.uuid4()}\r\n"
                 f"X-Hub-Signature-256: {sign(secret, body)}\r\n"
                 f"Content-Length: {len(body)}\r\n\r\n").encode() + body for body in bodies]
    latencies: list[float] = []
    statuses: list[int] = []
    queue = iter(requests)

    async def connection() -> None:
        reader, writer = await asyncio.open_connection(host, port)
        try:
            for request in queue:
                began = time.perf_counter()
                writer.write(request)
                head = await reader.readuntil(b"\r\n\r\n")
                length = 0
                for line in head.split(b"\r\n")[1:]:
                    name, _, value = line.partition(b":")
                    if name.strip().lower() == b"content-length":
                        length = int(value)
                if length:
                    await reader.readexactly(length)
                latencies.append(time.perf_counter() - began)
                statuses.append(int(head.split(b" ", 2)[1]))
        finally:
            writer.close()

    async def burst() -> float:
        began = time.perf_counter()
        await asyncio.gather(*(connection() for _ in range(concurrency)))
        return began

    return asyncio.run(burst()), latencies, statuses


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


class ReceiverProcess:
    """A real ``janus webhook`` process (the CLI, as in production) from the source tree *tree*
    (the working tree, or a git revision exported by :func:`export_revision`), SQLite store."""

    def __init__(self, tree: Path, workdir: Path, sim, app_id: int, installation: int,
                 repo: str, janus_ns: str, workers: int) -> None:
        self.tree, self.workdir = tree, workdir
        self.port = free_port()
        self.db = workdir / "deliveries.sqlite"
        self.args = [
            sys.executable, "-m", "janus", "webhook", "--config",
            str(ROOT / "policies" / "janus.yaml"), "--repo", repo,
            "--github-api-url", sim.base_url, "--app-id", str(app_id),
            "--app-key", str(workdir.parent / "key"), "--installation-id", str(installation),
            "--no-throttle", "--secret-file", str(workdir.parent / "secret"),
            "--kubeconfig", str(workdir.parent / "kubeconfig"), "--namespace", janus_ns,
            "--port", str(self.port), "--reconcile-interval", "0", "--workers", str(workers),
            "--db", str(self.db)]
        self.url = f"http://127.0.0.1:{self.port}/webhooks/github"
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> ReceiverProcess:
        # PYTHONPATH and the working directory both name the tree, so `-m janus` imports the
        # tree's package even with this checkout installed in the venv (editable).
        env = {**os.environ, "PYTHONPATH": str(self.tree)}
        with (self.workdir / "receiver.log").open("ab") as log:
            self.proc = subprocess.Popen(self.args, cwd=self.tree, stdout=log,
                                         stderr=subprocess.STDOUT, start_new_session=True,
                                         env=env)
        deadline = time.monotonic() + 90
        while True:
            if self.proc.poll() is not None:
                raise RuntimeError("the receiver exited: "
                                   + (self.workdir / "receiver.log").read_text()[-3000:])
            try:
                if httpx.get(f"http://127.0.0.1:{self.port}/readyz").status_code == 200:
                    return self
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError("the receiver did not become ready")
            time.sleep(0.1)

    def wait_drained(self, timeout: float = 300) -> None:
        """Until no delivery is pending or working (read from the store's file, WAL reader)."""
        deadline = time.monotonic() + timeout
        with sqlite3.connect(f"file:{self.db}?mode=ro", uri=True) as conn:
            while time.monotonic() < deadline:
                left = conn.execute("SELECT count(*) FROM deliveries "
                                    "WHERE state IN ('pending', 'working')").fetchone()[0]
                if left == 0:
                    return
                time.sleep(0.05)

    def cpu_seconds(self) -> float:
        """User and system CPU time of the receiver process so far (all its threads)."""
        assert self.proc is not None
        fields = Path(f"/proc/{self.proc.pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(60)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(10)


def _declared(pyproject: str) -> set[str]:
    """The import names of ``[project] dependencies`` (``PyGithub`` -> ``pygithub``: only
    compared with each other, so the mapping need not be exact)."""
    names = tomllib.loads(pyproject)["project"]["dependencies"]
    return {re.split(r"[\s<>=!~;\[]", name, maxsplit=1)[0].lower().replace("-", "_")
            for name in names}


def export_revision(rev: str, into: Path) -> Path:
    """The package as it was at git revision *rev* (``git archive``; the checkout untouched),
    with its dependencies: one the working tree declares and *rev* did not (uvicorn's httptools,
    which uvicorn picks whenever it is installed) is hidden from it by a module
    of that name that fails to import, as if it were not installed."""
    into.mkdir(parents=True)
    archive = subprocess.run(["git", "-C", str(ROOT), "archive", rev, "janus"],
                             check=True, capture_output=True).stdout
    subprocess.run(["tar", "-x", "-C", str(into)], input=archive, check=True)
    then = subprocess.run(["git", "-C", str(ROOT), "show", f"{rev}:pyproject.toml"],
                          check=True, capture_output=True, text=True).stdout
    for name in sorted(_declared((ROOT / "pyproject.toml").read_text()) - _declared(then)):
        (into / f"{name}.py").write_text(f"raise ImportError('{name}: not declared at {rev}')\n")
        print(f"before ({rev}): {name} hidden (not a dependency then)", flush=True)
    return into


def compare_burst(args: argparse.Namespace) -> None:
    """The burst against real ``janus webhook`` processes: REV (before) and the working tree
    (after), in interleaved rounds, the client (this process) and the simulator each in a
    process of their own."""
    load = subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip()
    print(f"load at start: {load}; client: {args.client}", flush=True)
    workdir = Path(tempfile.mkdtemp(prefix="janus-bench-webhook-"))
    secret = secrets.token_hex(20)
    trees = {f"before ({args.compare})": export_revision(args.compare, workdir / "before"),
             "after (working tree)": ROOT}
    results: dict[str, list[dict]] = {label: [] for label in trees}
    cluster = LocalCluster.start("bench-webhook-burst")
    sim = SimProcess()
    try:
        harness.setup_people(sim)
        app_id, key = sim.create_app("janus-bench-burst")
        repo = harness.new_repo(sim)
        installation = sim.install_app(app_id, repo)
        repo_id = int(httpx.get(f"{sim.base_url}/repos/{repo}",
                                headers={"Authorization": f"token {sim.token('root')}"}
                                ).json()["id"])
        janus_ns = prepare_central(cluster)
        for name, content in {"key": key, "secret": secret,
                              "kubeconfig": yaml.safe_dump(cluster.kubeconfig())}.items():
            (workdir / name).write_text(content)
        order = list(trees)
        for round_ in range(args.rounds):
            for label in order if round_ % 2 == 0 else order[::-1]:
                rundir = workdir / f"run-{round_}-{len(results[label])}-{label.split()[0]}"
                rundir.mkdir()
                receiver = ReceiverProcess(trees[label], rundir, sim, app_id, installation,
                                           repo, janus_ns, args.workers).start()
                try:
                    cpu = receiver.cpu_seconds(), time.process_time()
                    burst = bench_burst(receiver.url, repo_id, repo, secret.encode(),
                                        args.deliveries, args.concurrency,
                                        receiver.wait_drained, args.client)
                    burst["receiver_cpu"] = receiver.cpu_seconds() - cpu[0]
                    burst["client_cpu"] = time.process_time() - cpu[1]
                finally:
                    receiver.stop()
                results[label].append(burst)
                print(f"round {round_ + 1} {label}: {burst['accepted']}/{burst['deliveries']} "
                      f"202; ack p50 {ms(burst['ack_p50'])}, p99 {ms(burst['ack_p99'])}, "
                      f"max {ms(burst['ack_max'])}; {burst['acked_per_s']:.0f}/s; drained "
                      f"{burst['drained_s']:.2f} s; CPU receiver {burst['receiver_cpu']:.2f} s, "
                      f"client {burst['client_cpu']:.2f} s", flush=True)
    finally:
        sim.stop()
        cluster.stop()
    load = subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip()
    print(f"\nburst of {args.deliveries} signed deliveries, {args.concurrency} concurrent "
          f"clients ({args.client} client), receiver `janus webhook --workers {args.workers}` "
          f"(SQLite); load at end: {load}")
    for label, runs in results.items():
        print(f"  {label}: ack p50 " + " / ".join(ms(r["ack_p50"]) for r in runs)
              + ", p99 " + " / ".join(ms(r["ack_p99"]) for r in runs)
              + ", max " + " / ".join(ms(r["ack_max"]) for r in runs)
              + ", acknowledged/s " + " / ".join(f"{r['acked_per_s']:.0f}" for r in runs)
              + f"; all 202: {all(r['accepted'] == r['deliveries'] for r in runs)}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--deliveries", type=int, default=1000)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--prs", type=int, default=100)
    parser.add_argument("--client", choices=("asyncio", "threads"), default="asyncio",
                        help="the burst's client: one event loop with CONCURRENCY keep-alive "
                             "connections writing pre-signed requests (default), or "
                             "CONCURRENCY threads with httpx (the earlier figures' client)")
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--compare", metavar="REV", default=None,
                        help="only the burst, against real `janus webhook` processes: git "
                             "revision REV (before) beside the working tree (after)")
    parser.add_argument("--rounds", type=int, default=2,
                        help="with --compare: interleaved rounds of each (default 2)")
    args = parser.parse_args()
    if args.compare:
        compare_burst(args)
        return

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
                burst = bench_burst(receiver.url, receiver.ops.repo_id, bed.repo, secret,
                                    args.deliveries, args.concurrency,
                                    lambda: receiver.pool.wait_idle(300), args.client)
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
