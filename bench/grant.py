"""Grant and expiry benchmark of `janus controller` on the local control plane.

    .venv/bin/python bench/grant.py [--count 200] [--workers 32] [--compare REV] [--rounds K]

1. *Grant*: COUNT AccessRequests applied at once; time from each create to phase Active (seen by
   a watch), and grants/s for the whole batch.
2. *Expiry*: the same COUNT grants re-timed (by extension) to expire in the same second; lag
   from that ``expiresAt`` to phase Expired (written only after the objects are gone).
3. *Floor*: a bare script making the same API calls as the controller's required work, per grant
   (create the CR, finalizer, ServiceAccount, RoleBinding, TokenRequest, token Secret, status
   patch, Event) and per expiry (three deletes, status patch, Event, finalizer removal),
   sequentially and with WORKERS threads — what the API server itself allows on this machine.
   Both sides are observed the same way: by watches on the CRs and on the RoleBindings.

The figures read as ratios: controller batch time / bare concurrent batch time.

``--compare REV`` also runs the controller from the source at git revision REV (``git archive``,
as in ``bench/scale.py``) against the same cluster and floor; with ``--rounds K`` the two
alternate K times (working, REV, REV, working, ...), each run in a namespace of its own. The load
average is printed with every run: this machine is shared.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import yaml  # noqa: E402
from kubernetes import client, watch  # noqa: E402

from bench.measure import cpu_seconds, ensure_ns, pct  # noqa: E402
from bench.scale import export_source, snapshot_working_tree  # noqa: E402
from janus import names, resource  # noqa: E402
from janus.controller import grants  # noqa: E402
from janus.dev.controlplane import LocalCluster  # noqa: E402
from janus.policy.roles import cluster_role_manifest  # noqa: E402
from janus.resource import crd, timefmt  # noqa: E402
from janus.resource.client import is_relist  # noqa: E402

ROLE = "janus-pod-exec"


def requests_by_kind(api: Any) -> dict[str, float]:
    """The API server's ``apiserver_request_total`` summed by "verb resource[/subresource]"."""
    resp = api.call_api("GET", f"{api.configuration.host}/metrics", _request_timeout=30)
    resp.read()
    out: dict[str, float] = {}
    for line in resp.data.decode().splitlines():
        if not line.startswith("apiserver_request_total{"):
            continue
        labels = dict(kv.split("=", 1) for kv in line[line.index("{") + 1:line.rindex("}")]
                      .replace('"', "").split(","))
        kind = f"{labels.get('verb', '?')} {labels.get('resource', '?')}"
        if labels.get("subresource"):
            kind += f"/{labels['subresource']}"
        out[kind] = out.get(kind, 0.0) + float(line.rsplit(" ", 1)[1])
    return out


def per_grant(before: dict[str, float], after: dict[str, float], n: int) -> str:
    """Requests per grant between two snapshots, by kind (WATCH/LIST of observers included)."""
    diff = {k: (after.get(k, 0.0) - before.get(k, 0.0)) / n for k in after}
    total = sum(diff.values())
    parts = [f"{k} {v:.2f}" for k, v in sorted(diff.items(), key=lambda kv: -kv[1]) if v >= 0.05]
    return f"{total:.2f}: " + ", ".join(parts)


def cr_body(janus_ns: str, ns: str, request: str, duration: str) -> dict[str, Any]:
    return {
        "apiVersion": resource.API_VERSION, "kind": resource.KIND,
        "metadata": {"name": names.access_request_name("central", ns, request),
                     "namespace": janus_ns},
        "spec": {"requestName": request, "requester": "bench", "cluster": "central",
                 "namespace": ns, "role": "pod-exec", "duration": duration,
                 "reason": "benchmark grant"},
    }


class PhaseWatch:
    """Records, per CR, the first wall-clock time each phase was seen by a watch."""

    def __init__(self, api: Any, janus_ns: str) -> None:
        self.seen: dict[tuple[str, str], float] = {}
        self.status: dict[str, dict[str, Any]] = {}
        self.relists = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, args=(api, janus_ns), daemon=True)
        self._thread.start()

    def _run(self, api: Any, janus_ns: str) -> None:
        custom = client.CustomObjectsApi(api)
        while not self._stop.is_set():
            w = watch.Watch()
            # No resourceVersion: each watch starts with every object's state (a re-list), so
            # after a 410 Gone or a 504 "Too large resource version" (the API server under
            # load) the next one sees every phase reached meanwhile, at most one watch late.
            try:
                for ev in w.stream(custom.list_namespaced_custom_object, resource.GROUP,
                                   resource.VERSION, janus_ns, resource.PLURAL,
                                   timeout_seconds=5):
                    obj = ev["object"]
                    name = obj["metadata"]["name"]
                    phase = (obj.get("status") or {}).get("phase")
                    self.status[name] = obj.get("status") or {}
                    if phase:
                        self.seen.setdefault((name, phase), time.time())
                    if self._stop.is_set():
                        w.stop()
                        break
            except client.ApiException as exc:
                if not is_relist(exc):
                    raise
                self.relists += 1

    def wait(self, names_: list[str], phase: str, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if all((n, phase) in self.seen for n in names_):
                return
            time.sleep(0.02)
        missing = [n for n in names_ if (n, phase) not in self.seen]
        raise SystemExit(f"{len(missing)} requests never reached {phase}, e.g. {missing[:3]}")

    def stop(self) -> None:
        self._stop.set()


class DeletionWatch:
    """Records when each grant's RoleBinding was deleted (the moment access ended).

    List, then watch from the listing's resourceVersion, and resume each following watch from
    the last event's: a deletion between two watches is never missed. After a 410 Gone or a
    504 "Too large resource version" it lists again; bindings that vanished meanwhile are
    recorded then (at most one listing late, never lost)."""

    def __init__(self, api: Any) -> None:
        self.deleted: dict[str, float] = {}
        self.relists = 0
        self._stop = threading.Event()
        threading.Thread(target=self._run, args=(api,), daemon=True).start()

    def _run(self, api: Any) -> None:
        rbac = client.RbacAuthorizationV1Api(api)
        selector = f"{names.LABEL_MANAGED_BY}={names.MANAGED_BY}"
        present: set[str] = set()
        version: str | None = None
        while not self._stop.is_set():
            if version is None:
                listed = rbac.list_role_binding_for_all_namespaces(label_selector=selector)
                listing = {b.metadata.labels[names.LABEL_REQUEST] for b in listed.items}
                for request in present - listing:
                    self.deleted.setdefault(request, time.time())
                present = listing
                version = listed.metadata.resource_version
            w = watch.Watch()
            try:
                for ev in w.stream(rbac.list_role_binding_for_all_namespaces, timeout_seconds=5,
                                   label_selector=selector, resource_version=version):
                    obj = ev["object"]
                    version = obj.metadata.resource_version
                    request = obj.metadata.labels[names.LABEL_REQUEST]
                    if ev["type"] == "DELETED":
                        self.deleted.setdefault(request, time.time())
                        present.discard(request)
                    else:
                        present.add(request)
                    if self._stop.is_set():
                        w.stop()
                        break
            except client.ApiException as exc:
                if not is_relist(exc):
                    raise
                self.relists += 1
                version = None

    def stop(self) -> None:
        self._stop.set()


def run_controller(cluster: LocalCluster, workdir: Path, janus_ns: str,
                   verbose: bool = False, source: Path = ROOT,
                   tag: str = "working") -> subprocess.Popen:
    kubeconfig = workdir / "ctl.kubeconfig"
    kubeconfig.write_text(yaml.safe_dump(cluster.kubeconfig()))
    config = workdir / "janus.yaml"
    config.write_text(yaml.safe_dump({
        "apiVersion": "janus.dev/v1alpha1", "kind": "JanusConfig", "metadata": {"name": "janus"},
        "spec": {"clusters": ["central"], "excludedNamespaces": ["kube-system"],
                 "duration": {"min": "10m", "max": "8h", "default": "1h"},
                 "roles": {"pod-exec": {"clusterRole": ROLE}},
                 "admins": {"teams": [], "users": ["root"]}, "pendingTimeout": "24h"},
    }))
    log = (workdir / f"controller-{tag}.log").open("ab")
    # cwd and PYTHONPATH put *source*'s janus package first (before the editable install).
    return subprocess.Popen(
        [sys.executable, "-m", "janus", "controller", "--config", str(config), "--namespace",
         janus_ns, "--central-cluster-name", "central", "--standalone",
         *(["--verbose"] if verbose else [])],
        cwd=source, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
        env={**os.environ, "KUBECONFIG": str(kubeconfig), "JANUS_TEST_MIN_DURATION": "1s",
             "PYTHONPATH": str(source)})


def bench_controller(cluster: LocalCluster, count: int, workers: int, workdir: Path,
                     verbose: bool = False, source: Path = ROOT, tag: str = "working") -> dict:
    api = cluster.admin_client()
    janus_ns = f"janus-bench-{uuid.uuid4().hex[:4]}"
    ensure_ns(api, janus_ns)
    spaces = [f"bench-{i}" for i in range(10)]
    for ns in spaces:
        ensure_ns(api, ns)
    load0 = os.getloadavg()[0]
    proc = run_controller(cluster, workdir, janus_ns, verbose, source, tag)
    watcher = PhaseWatch(api, janus_ns)
    removals = DeletionWatch(api)
    custom = client.CustomObjectsApi(api)
    try:
        time.sleep(4)  # controller start-up (imports, kopf login, first listing)
        bodies = [cr_body(janus_ns, spaces[i % len(spaces)], f"g{i}", "10m")
                  for i in range(count)]
        created: dict[str, float] = {}

        def create(body: dict) -> None:
            custom.create_namespaced_custom_object(resource.GROUP, resource.VERSION, janus_ns,
                                                   resource.PLURAL, body)
            created[body["metadata"]["name"]] = time.time()

        calls0, cpu0 = requests_by_kind(api), cpu_seconds(proc.pid)
        start = time.time()
        with ThreadPoolExecutor(workers) as pool:
            list(pool.map(create, bodies))
        crs = [b["metadata"]["name"] for b in bodies]
        watcher.wait(crs, "Active", timeout=300)
        latencies = [watcher.seen[(n, "Active")] - created[n] for n in crs]
        batch = max(watcher.seen[(n, "Active")] for n in crs) - start
        time.sleep(1.0)  # the echo passes of the last grants
        calls1, cpu1 = requests_by_kind(api), cpu_seconds(proc.pid)

        # Re-time every grant to expire in the same second (an extension per grant).
        target = timefmt.floor_second(timefmt.now()) + dt.timedelta(seconds=20)

        def align(name: str) -> None:
            granted = timefmt.parse(watcher.status[name]["grantedAt"])
            seconds = int((target - granted).total_seconds())
            custom.patch_namespaced_custom_object(
                resource.GROUP, resource.VERSION, janus_ns, resource.PLURAL, name,
                {"spec": {"duration": f"{seconds}s"}},
                _content_type="application/merge-patch+json")

        with ThreadPoolExecutor(workers) as pool:
            list(pool.map(align, crs))
        time.sleep(max(0.0, target.timestamp() - time.time() - 1.0))
        calls2, cpu2 = requests_by_kind(api), cpu_seconds(proc.pid)
        watcher.wait(crs, "Expired", timeout=120)
        lags = [watcher.seen[(n, "Expired")] - target.timestamp() for n in crs]
        time.sleep(0.5)
        calls3, cpu3 = requests_by_kind(api), cpu_seconds(proc.pid)
        access = [removals.deleted[n] - target.timestamp() for n in crs if n in removals.deleted]
    finally:
        watcher.stop()
        removals.stop()
        proc.terminate()
        proc.wait(timeout=20)
    return {"latencies": latencies, "batch": batch, "lags": lags, "access": access, "tag": tag,
            "calls": (per_grant(calls0, calls1, count), per_grant(calls2, calls3, count)),
            "cpu": (cpu1 - cpu0, cpu3 - cpu2),
            "load": (load0, os.getloadavg()[0]), "at": time.strftime("%H:%M:%S", time.gmtime())}


def _event(core: Any, cr: dict, reason: str) -> None:
    meta = cr["metadata"]
    core.create_namespaced_event(meta["namespace"], client.CoreV1Event(
        metadata=client.V1ObjectMeta(generate_name=f"{meta['name']}."),
        involved_object=client.V1ObjectReference(
            api_version=resource.API_VERSION, kind=resource.KIND, name=meta["name"],
            namespace=meta["namespace"], uid=meta["uid"]),
        reason=reason, message=reason, type="Normal"))


def bench_floor(cluster: LocalCluster, count: int, workers: int) -> dict:
    """The same API calls as the controller's required work, with no controller.

    Per grant: create the AccessRequest (as the receiver does), add a finalizer, ServiceAccount,
    RoleBinding, TokenRequest, token Secret, status patch, Event. Per expiry: delete the Secret,
    RoleBinding and ServiceAccount, status patch, Event, remove the finalizer.
    """
    api = cluster.admin_client()
    api.configuration.connection_pool_maxsize = workers
    api.rest_client = type(api.rest_client)(api.configuration)
    janus_ns = f"janus-floor-{uuid.uuid4().hex[:4]}"
    ensure_ns(api, janus_ns)
    custom = client.CustomObjectsApi(api)
    core = client.CoreV1Api(api)
    server, ca = cluster.server, Path(cluster.pki.ca_cert).read_text()
    merge = "application/merge-patch+json"
    results = {}
    # Observed the same way as the controller's figures: by watches, not the script's own clock.
    phases = PhaseWatch(api, janus_ns)
    removals = DeletionWatch(api)
    for mode, pool_size in (("sequential", 1), ("concurrent", workers)):
        ns = f"floor-{mode}-{uuid.uuid4().hex[:4]}"
        ensure_ns(api, ns)
        bodies = [cr_body(janus_ns, ns, f"f{i}", "10m") for i in range(count)]
        made: dict[str, dict] = {}

        def grant(body: dict, made: dict[str, dict]) -> None:
            cr = custom.create_namespaced_custom_object(resource.GROUP, resource.VERSION, janus_ns,
                                                        resource.PLURAL, body)
            name = cr["metadata"]["name"]
            made[name] = cr
            custom.patch_namespaced_custom_object(
                resource.GROUP, resource.VERSION, janus_ns, resource.PLURAL, name,
                {"metadata": {"finalizers": ["janus.dev/cleanup"]}}, _content_type=merge)
            g = grants.GrantObjects(name, "bench", "central", cr["spec"]["namespace"], ROLE)
            grants.ensure_service_account(api, g)
            grants.ensure_role_binding(api, g)
            expires = timefmt.now() + dt.timedelta(minutes=10)
            token = grants.mint_token(api, g, 600)
            grants.write_token_secret(api, g, token=token, server=server, ca_pem=ca,
                                      expires_at=expires)
            custom.patch_namespaced_custom_object_status(
                resource.GROUP, resource.VERSION, janus_ns, resource.PLURAL, name,
                {"status": {"phase": "Active", "expiresAt": timefmt.fmt(expires)}},
                _content_type=merge)
            _event(core, cr, "Granted")

        def expire(name: str, made: dict[str, dict], began: list[float]) -> float:
            cr = made[name]
            g = grants.GrantObjects(name, "bench", "central", cr["spec"]["namespace"], ROLE)
            with ThreadPoolExecutor(3) as inner:  # the controller deletes the three in parallel
                list(inner.map(lambda fn: fn(), (
                    lambda: grants.delete_token_secret(api, g),
                    lambda: grants.delete_role_binding(api, g),
                    lambda: grants.delete_service_account(api, g))))
            done = time.time() - began[0]
            custom.patch_namespaced_custom_object_status(
                resource.GROUP, resource.VERSION, janus_ns, resource.PLURAL, name,
                {"status": {"phase": "Expired"}}, _content_type=merge)
            _event(core, cr, "Expired")
            custom.patch_namespaced_custom_object(
                resource.GROUP, resource.VERSION, janus_ns, resource.PLURAL, name,
                {"metadata": {"finalizers": None}}, _content_type=merge)
            return done

        start = time.time()
        with ThreadPoolExecutor(pool_size) as pool:
            list(pool.map(lambda body, m=made: grant(body, m), bodies))
        crs = list(made)
        phases.wait(crs, "Active", timeout=120)
        grant_batch = max(phases.seen[(n, "Active")] for n in crs) - start
        began = [time.time()]
        with ThreadPoolExecutor(pool_size) as pool:
            list(pool.map(lambda name, m=made, b=began: expire(name, m, b), crs))
        phases.wait(crs, "Expired", timeout=120)
        time.sleep(0.5)
        results[mode] = {
            "grant_batch": grant_batch,
            "expiry_done": [removals.deleted[n] - began[0] for n in crs if n in removals.deleted],
            "expiry_total": max(phases.seen[(n, "Expired")] for n in crs) - began[0],
        }
    phases.stop()
    removals.stop()
    return results


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--count", type=int, default=200)
    parser.add_argument("--workers", type=int, default=32)
    parser.add_argument("--verbose", action="store_true", help="controller debug log")
    parser.add_argument("--skip-floor", action="store_true")
    parser.add_argument("--compare", metavar="REV", help="also run the controller at REV")
    parser.add_argument("--rounds", type=int, default=1,
                        help="with --compare: alternate the two sources this many times")
    args = parser.parse_args()
    workdir = Path(tempfile.mkdtemp(prefix="janus-bench-"))
    sources: list[tuple[str, Path]] = [("working", snapshot_working_tree())]
    if args.compare:
        sources.append((args.compare[:8], export_source(args.compare)))
    order: list[tuple[str, Path]] = []
    for round_ in range(args.rounds if args.compare else 1):
        order += sources if round_ % 2 == 0 else sources[::-1]
    print(f"load before: {os.getloadavg()}; logs in {workdir}", file=sys.stderr)
    cluster = LocalCluster.start("bench", progress=lambda m: print(m, file=sys.stderr))
    runs: list[dict] = []
    try:
        api = cluster.admin_client()
        crd.install(api)
        ensure_ns(api, names.TOKENS_NAMESPACE)
        try:
            client.RbacAuthorizationV1Api(api).create_cluster_role(cluster_role_manifest(ROLE))
        except client.ApiException as exc:
            if exc.status != 409:
                raise
        floor = (None if args.skip_floor else bench_floor(cluster, args.count, args.workers))
        floor_load = os.getloadavg()[0]
        for tag, source in order:
            runs.append(bench_controller(cluster, args.count, args.workers, workdir,
                                         args.verbose, source, tag))
            print(f"  [{tag}] done, load {os.getloadavg()[0]:.2f}", file=sys.stderr)
    finally:
        cluster.stop()

    n = args.count
    print(f"\njanus controller benchmark: N={n} AccessRequests, {args.workers} workers, "
          f"{os.cpu_count()} CPUs; logs {workdir}")
    if floor is not None:
        seq, con = floor["sequential"], floor["concurrent"]
        print(f"floor (load {floor_load:.2f}): grant batch sequential {seq['grant_batch']:.2f} s "
              f"({n / seq['grant_batch']:.0f}/s), {args.workers} threads "
              f"{con['grant_batch']:.2f} s ({n / con['grant_batch']:.0f}/s); expiry: "
              f"RoleBinding deleted p50/p99/max {pct(con['expiry_done'], 50):.3f}/"
              f"{pct(con['expiry_done'], 99):.3f}/{max(con['expiry_done']):.3f} s, all N Expired "
              f"{con['expiry_total']:.3f} s (sequential {seq['expiry_total']:.2f} s)")
    head = (f"{'source':<9} {'at':>8} {'load':>11} {'Active p50/p99 s':>16} {'batch s':>7} "
            f"{'grant x':>7} {'removed p50/p99/max s':>21} {'Expired p50/p99/max s':>21} "
            f"{'Expired x':>9}")
    print(head)
    print("-" * len(head))
    for r in runs:
        lat, lags, acc = r["latencies"], r["lags"], r["access"]
        gx = ex = "-"
        if floor is not None:
            gx = f"{r['batch'] / floor['concurrent']['grant_batch']:.2f}"
            ex = f"{pct(lags, 99) / floor['concurrent']['expiry_total']:.2f}"
        print(f"{r['tag']:<9} {r['at']:>8} {r['load'][0]:>5.2f}-{r['load'][1]:<5.2f} "
              f"{pct(lat, 50):>7.3f}/{pct(lat, 99):<8.3f} {r['batch']:>7.2f} {gx:>7} "
              f"{pct(acc, 50):>6.3f}/{pct(acc, 99):.3f}/{max(acc):<7.3f} "
              f"{pct(lags, 50):>6.3f}/{pct(lags, 99):.3f}/{max(lags):<7.3f} {ex:>9}")
        if len(acc) < n:
            print(f"          note: {n - len(acc)} RoleBinding deletions not seen")
        print(f"          controller CPU: grant {r['cpu'][0]:.2f} s, expiry {r['cpu'][1]:.2f} s; "
              f"API requests per grant: grant {r['calls'][0].split(':')[0]}, "
              f"expiry {r['calls'][1].split(':')[0]}")
        print(f"          by kind: grant {r['calls'][0].split(': ')[1]}; "
              f"expiry {r['calls'][1].split(': ')[1]}")
    print("(goals: grant x < 1.5; removed p99 < 1 s; Expired x = phase Expired p99 / the floor's "
          "all-N Expired <= 1.2)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
