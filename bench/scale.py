"""Scale curve of `janus controller`: thousands of live grants, and 50 target clusters.

    .venv/bin/python bench/scale.py [--sizes 500,1000,2000] [--compare REV] [--clusters 50]
    .venv/bin/python bench/scale.py --sizes 5000 --expiry-only   # floor, grant, mass expiry

For every size N, on one local control plane (kube-apiserver + etcd + kwok):

1. *Floor* — a bare script making the same SA / RoleBinding / TokenRequest / Secret / status /
   Event calls as the controller (32 threads, no controller) for N grants, then removing all N
   at once (three deletes, status, Event, finalizer). What the API server allows on this machine.
2. *Controller* — a real ``janus controller`` process: N AccessRequests applied at once (time to
   Active p50/p99, batch), then at rest with N live grants: RSS, CPU %, API requests/s; then a
   *lone* expiry (one grant re-timed to expire a few seconds later: lag of RoleBinding deletion
   and of phase Expired after ``expiresAt``); then a *mass* expiry (every grant re-timed, by an
   extension, to expire in the same second: lag p99, beside the floor's).
   Cost per grant = (figure at N - figure with 0 grants) / N.

``--compare REV`` runs the controller a second time from the source at git revision REV (exported
with ``git archive`` into a temporary directory), in the same run and against the same API
server, so a design change shows before/after. ``--clusters K`` (default 50; 0 to skip): K
target clusters as kubeconfig Secrets, all pointing at the local API server, on one controller —
RSS before/after one grant per cluster, and time to Active for each.

Observers are list-then-watch and re-list on 410 Gone / 504 / any broken stream, so a run under
load never loses events. API requests come from the API server's ``apiserver_request_total``;
the benchmark's own requests are subtracted where it made any.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import math
import os
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import yaml  # noqa: E402
from kubernetes import client, watch  # noqa: E402

from bench.measure import api_requests, cpu_seconds, ensure_ns, pct, rss_mb  # noqa: E402
from janus import names, resource  # noqa: E402
from janus.controller import grants  # noqa: E402
from janus.dev.controlplane import LocalCluster  # noqa: E402
from janus.policy.roles import cluster_role_manifest  # noqa: E402
from janus.resource import crd, timefmt  # noqa: E402

ROLE = "janus-pod-exec"
WORKERS = 32
MERGE = "application/merge-patch+json"


def cr_body(janus_ns: str, ns: str, request: str, duration: str,
            cluster: str = "central") -> dict[str, Any]:
    return {
        "apiVersion": resource.API_VERSION, "kind": resource.KIND,
        "metadata": {"name": names.access_request_name(cluster, ns, request),
                     "namespace": janus_ns},
        "spec": {"requestName": request, "requester": "bench", "cluster": cluster,
                 "namespace": ns, "role": "pod-exec", "duration": duration,
                 "reason": "benchmark grant"},
    }


# ---- observers --------------------------------------------------------------------------------

class Observer:
    """List-then-watch on one kind, re-listing whenever the watch cannot resume (410 Gone, 504
    "Too large resource version", an ERROR event, a dropped stream). ``on(type, obj, t)`` is
    called for every object of every listing (type "LIST") and every event."""

    def __init__(self, lister: Callable[..., Any], on: Callable[[str, Any, float], None],
                 **kwargs: Any) -> None:
        self._lister, self._on, self._kwargs = lister, on, kwargs
        self._stop = threading.Event()
        self.relists = 0
        self.last_error = ""
        self.ready = threading.Event()
        threading.Thread(target=self._run, daemon=True).start()

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                listing = self._lister(**self._kwargs, _request_timeout=60)
                now = time.time()
                raw = isinstance(listing, dict)
                for obj in listing["items"] if raw else listing.items:
                    self._on("LIST", obj, now)
                version = (listing["metadata"]["resourceVersion"] if raw
                           else listing.metadata.resource_version)
                self.ready.set()
                self._follow(version)
            except Exception as exc:  # 410/504/a dropped connection: list again
                self.last_error = f"{type(exc).__name__}: {str(exc)[:200]}"
            self.relists += 1
            self._stop.wait(0.2)

    def _follow(self, version: str) -> None:
        while not self._stop.is_set():
            w = watch.Watch()
            for ev in w.stream(self._lister, resource_version=version, timeout_seconds=30,
                               allow_watch_bookmarks=True, **self._kwargs):
                if ev["type"] == "ERROR":
                    return  # expired version: re-list
                obj = ev["object"]
                version = (obj["metadata"]["resourceVersion"] if isinstance(obj, dict)
                           else obj.metadata.resource_version)
                if ev["type"] != "BOOKMARK":
                    self._on(ev["type"], obj, time.time())
                if self._stop.is_set():
                    w.stop()
                    return

    def stop(self) -> None:
        self._stop.set()


class Phases:
    """First wall-clock time each (CR, phase) was seen; the latest status of each CR."""

    def __init__(self, api: Any, janus_ns: str) -> None:
        self.seen: dict[tuple[str, str], float] = {}
        self.status: dict[str, dict[str, Any]] = {}
        self.lock = threading.Lock()
        custom = client.CustomObjectsApi(api)

        def lister(**kw: Any) -> Any:
            return custom.list_namespaced_custom_object(
                resource.GROUP, resource.VERSION, janus_ns, resource.PLURAL, **kw)

        self.observer = Observer(lister, self._on)
        self.observer.ready.wait(60)

    def _on(self, type_: str, obj: dict[str, Any], t: float) -> None:
        name = obj["metadata"]["name"]
        st = obj.get("status") or {}
        with self.lock:
            self.status[name] = st
            if st.get("phase"):
                self.seen.setdefault((name, st["phase"]), t)

    def wait(self, crs: list[str], phase: str, timeout: float) -> list[str]:
        """Wait for every CR to reach *phase*; return those that did not in time."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if all((n, phase) in self.seen for n in crs):
                return []
            time.sleep(0.05)
        return [n for n in crs if (n, phase) not in self.seen]

    def stop(self) -> None:
        self.observer.stop()


class Removals:
    """When each grant's RoleBinding was deleted (the moment access ended)."""

    def __init__(self, api: Any) -> None:
        self.deleted: dict[str, float] = {}
        rbac = client.RbacAuthorizationV1Api(api)
        self.observer = Observer(rbac.list_role_binding_for_all_namespaces, self._on,
                                 label_selector=f"{names.LABEL_MANAGED_BY}={names.MANAGED_BY}")
        self.observer.ready.wait(60)

    def _on(self, type_: str, obj: Any, t: float) -> None:
        if type_ == "DELETED":
            self.deleted.setdefault(obj.metadata.labels[names.LABEL_REQUEST], t)

    def stop(self) -> None:
        self.observer.stop()


# ---- process and API server figures ------------------------------------------------------------

@dataclass
class Rest:
    rss: float
    cpu_pct: float
    req_s: float


def at_rest(api: Any, pid: int, seconds: float) -> Rest:
    """RSS, CPU % and API requests/s of a controller left alone for *seconds*."""
    c0, r0, t0 = cpu_seconds(pid), api_requests(api), time.monotonic()
    time.sleep(seconds)
    c1, r1, t1 = cpu_seconds(pid), api_requests(api), time.monotonic()
    span = t1 - t0
    return Rest(rss_mb(pid), 100 * (c1 - c0) / span, max(0.0, (r1 - r0 - 2) / span))


# ---- the controller ---------------------------------------------------------------------------

def policy_doc(clusters: list[str]) -> dict[str, Any]:
    return {
        "apiVersion": "janus.dev/v1alpha1", "kind": "JanusConfig", "metadata": {"name": "janus"},
        "spec": {"clusters": clusters, "excludedNamespaces": ["kube-system"],
                 "duration": {"min": "10m", "max": "8h", "default": "1h"},
                 "roles": {"pod-exec": {"clusterRole": ROLE}},
                 "admins": {"teams": [], "users": ["root"]}, "pendingTimeout": "24h"},
    }


def snapshot_working_tree() -> Path:
    """The working tree's ``janus`` package, copied: edits made during a long run do not leak
    into its later controllers."""
    import shutil

    out = Path(tempfile.mkdtemp(prefix="janus-src-working-"))
    shutil.copytree(ROOT / "janus", out / "janus",
                    ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    return out


def export_source(rev: str) -> Path:
    """The ``janus`` package at git revision *rev*, in a temporary directory."""
    out = Path(tempfile.mkdtemp(prefix=f"janus-src-{rev[:10]}-"))
    archive = subprocess.run(["git", "-C", str(ROOT), "archive", rev, "janus"],
                             check=True, capture_output=True).stdout
    subprocess.run(["tar", "-x", "-C", str(out)], input=archive, check=True)
    return out


@contextlib.contextmanager
def controller(cluster: LocalCluster, workdir: Path, janus_ns: str, source: Path,
               clusters: list[str], tag: str) -> Iterator[subprocess.Popen[bytes]]:
    kubeconfig = workdir / "ctl.kubeconfig"
    kubeconfig.write_text(yaml.safe_dump(cluster.kubeconfig()))
    (workdir / tag).mkdir(exist_ok=True)
    config = workdir / tag / "janus.yaml"  # the file name must be the JanusConfig's name
    config.write_text(yaml.safe_dump(policy_doc(clusters)))
    log = (workdir / f"controller-{tag}.log").open("ab")  # one log per source, all sizes
    # cwd and PYTHONPATH put *source*'s janus package first (before the editable install).
    proc = subprocess.Popen(
        [sys.executable, "-m", "janus", "controller", "--config", str(config), "--namespace",
         janus_ns, "--central-cluster-name", "central", "--standalone"],
        cwd=source, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
        env={**os.environ, "KUBECONFIG": str(kubeconfig), "JANUS_TEST_MIN_DURATION": "1s",
             "PYTHONPATH": str(source)})
    try:
        yield proc
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        log.close()


def log_size(workdir: Path, tag: str) -> int:
    path = workdir / f"controller-{tag}.log"
    return path.stat().st_size if path.exists() else 0


def wait_started(workdir: Path, tag: str, offset: int, timeout: float = 60) -> None:
    """Wait for this start's ``sweep.done`` (the log holds earlier starts before *offset*)."""
    deadline = time.monotonic() + timeout
    path = workdir / f"controller-{tag}.log"
    while time.monotonic() < deadline:
        if b"sweep.done" in path.read_bytes()[offset:]:
            return
        time.sleep(0.2)
    raise SystemExit(f"controller {tag} did not start: {path}")


def clear_namespace(api: Any, ns: str) -> None:
    """Drop the AccessRequests left in *ns* (all terminal, so without finalizers)."""
    client.CustomObjectsApi(api).delete_collection_namespaced_custom_object(
        resource.GROUP, resource.VERSION, ns, resource.PLURAL, _request_timeout=300)


def apply_all(api: Any, bodies: list[dict[str, Any]], janus_ns: str) -> dict[str, float]:
    custom = client.CustomObjectsApi(api)
    created: dict[str, float] = {}

    def create(body: dict[str, Any]) -> None:
        custom.create_namespaced_custom_object(resource.GROUP, resource.VERSION, janus_ns,
                                               resource.PLURAL, body)
        created[body["metadata"]["name"]] = time.time()

    with ThreadPoolExecutor(WORKERS) as pool:
        list(pool.map(create, bodies))
    return created


def retime(api: Any, janus_ns: str, phases: Phases, crs: list[str],
           target: dt.datetime) -> None:
    """Shorten each grant (an extension) so that its expiresAt becomes *target*."""
    custom = client.CustomObjectsApi(api)

    def one(name: str) -> None:
        granted = timefmt.parse(phases.status[name]["grantedAt"])
        seconds = int((target - granted).total_seconds())
        custom.patch_namespaced_custom_object(
            resource.GROUP, resource.VERSION, janus_ns, resource.PLURAL, name,
            {"spec": {"duration": f"{seconds}s"}}, _content_type=MERGE)

    with ThreadPoolExecutor(WORKERS) as pool:
        list(pool.map(one, crs))


@dataclass
class Run:
    n: int
    tag: str
    idle: Rest
    batch: float = 0.0
    active: list[float] = field(default_factory=list)
    missing_active: int = 0
    grant_cpu: float = 0.0
    grant_requests: float = 0.0
    live: Rest | None = None
    lone_access: list[float] = field(default_factory=list)
    lone_phase: list[float] = field(default_factory=list)
    mass_access: list[float] = field(default_factory=list)
    mass_phase: list[float] = field(default_factory=list)
    mass_late_aligned: int = 0
    mass_missing: int = 0
    peak_rss: float = 0.0


def bench_controller(cluster: LocalCluster, n: int, workdir: Path, source: Path, tag: str,
                     rest_seconds: float, expiries: bool = True, lone: bool = True) -> Run:
    api = cluster.admin_client()
    janus_ns = f"janus-scale-{uuid.uuid4().hex[:4]}"
    ensure_ns(api, janus_ns)
    spaces = [f"scale-{i}" for i in range(10)]
    for ns in spaces:
        ensure_ns(api, ns)
    phases = Phases(api, janus_ns)
    removals = Removals(api)
    offset = log_size(workdir, tag)
    try:
        with controller(cluster, workdir, janus_ns, source, ["central"], tag) as proc:
            wait_started(workdir, tag, offset)
            run = Run(n, tag, idle=at_rest(api, proc.pid, rest_seconds))
            bodies = [cr_body(janus_ns, spaces[i % len(spaces)], f"s{i}", "2h")
                      for i in range(n)]
            crs = [b["metadata"]["name"] for b in bodies]
            cpu0, req0 = cpu_seconds(proc.pid), api_requests(api)
            start = time.time()
            created = apply_all(api, bodies, janus_ns)
            missing = phases.wait(crs, "Active", timeout=max(300, n / 5))
            run.missing_active = len(missing)
            ok = [c for c in crs if c not in missing]
            run.active = [phases.seen[(c, "Active")] - created[c] for c in ok]
            run.batch = max(phases.seen[(c, "Active")] for c in ok) - start
            time.sleep(2)
            run.grant_cpu = cpu_seconds(proc.pid) - cpu0
            run.grant_requests = api_requests(api) - req0 - n - 2
            run.live = at_rest(api, proc.pid, rest_seconds)
            print(f"  [{tag} N={n}] Active: batch {run.batch:.1f}s, RSS {run.live.rss:.0f} MB, "
                  f"load {os.getloadavg()[0]:.2f}", file=sys.stderr)
            if not expiries:
                run.peak_rss = peak_rss(proc.pid)
                return run

            # Lone expiries, one after another.
            for name in ok[:3] if lone else []:
                target = timefmt.floor_second(timefmt.now()) + dt.timedelta(seconds=6)
                retime(api, janus_ns, phases, [name], target)
                phases.wait([name], "Expired", timeout=60)
                time.sleep(0.3)
                if (name, "Expired") in phases.seen:
                    run.lone_phase.append(phases.seen[(name, "Expired")] - target.timestamp())
                if name in removals.deleted:
                    run.lone_access.append(removals.deleted[name] - target.timestamp())

            # Mass expiry: every other live grant re-timed to the same second.
            rest = [c for c in ok[3:]]
            # Re-timing N grants costs about what granting did. Whole seconds: expiresAt has
            # no fraction, and a fractional target made every lag read short by that fraction
            # (N = 500 once printed access removed p99 -0.47 s).
            margin = math.ceil(20 + 1.5 * run.batch)
            target = timefmt.floor_second(timefmt.now()) + dt.timedelta(seconds=margin)
            retime(api, janus_ns, phases, rest, target)
            print(f"  [{tag} N={n}] re-timed to {timefmt.fmt(target)}, load "
                  f"{os.getloadavg()[0]:.2f}", file=sys.stderr)
            want = timefmt.fmt(target)
            while time.time() < target.timestamp():
                time.sleep(0.2)
            run.mass_late_aligned = sum(
                1 for c in rest if phases.status.get(c, {}).get("expiresAt") != want)
            missing = phases.wait(rest, "Expired", timeout=max(300, n / 5))
            run.mass_missing = len(missing)
            time.sleep(1)
            t = target.timestamp()
            run.mass_phase = [phases.seen[(c, "Expired")] - t for c in rest
                              if (c, "Expired") in phases.seen]
            run.mass_access = [removals.deleted[c] - t for c in rest if c in removals.deleted]
            run.peak_rss = peak_rss(proc.pid)
            print(f"  [{tag} N={n}] mass expiry done, load {os.getloadavg()[0]:.2f}",
                  file=sys.stderr)
    finally:
        phases.stop()
        removals.stop()
    clear_namespace(api, janus_ns)
    return run


def peak_rss(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


# ---- the floor --------------------------------------------------------------------------------

def _event(core: Any, cr: dict[str, Any], reason: str) -> None:
    meta = cr["metadata"]
    core.create_namespaced_event(meta["namespace"], client.CoreV1Event(
        metadata=client.V1ObjectMeta(generate_name=f"{meta['name']}."),
        involved_object=client.V1ObjectReference(
            api_version=resource.API_VERSION, kind=resource.KIND, name=meta["name"],
            namespace=meta["namespace"], uid=meta["uid"]),
        reason=reason, message=reason, type="Normal"))


@dataclass
class Floor:
    grant_batch: float
    access: list[float]      # RoleBinding deleted, from the start of the mass removal
    phase: list[float]       # phase Expired seen, from the same start


def bench_floor(cluster: LocalCluster, n: int) -> Floor:
    """The controller's required calls for N grants and N removals, 32 threads, no controller."""
    api = cluster.admin_client()
    api.configuration.connection_pool_maxsize = WORKERS
    api.rest_client = type(api.rest_client)(api.configuration)
    janus_ns = f"janus-floor-{uuid.uuid4().hex[:4]}"
    ensure_ns(api, janus_ns)
    ns = f"floor-{uuid.uuid4().hex[:4]}"
    ensure_ns(api, ns)
    custom, core = client.CustomObjectsApi(api), client.CoreV1Api(api)
    server, ca = cluster.server, Path(cluster.pki.ca_cert).read_text()
    phases = Phases(api, janus_ns)
    removals = Removals(api)
    made: dict[str, dict[str, Any]] = {}

    def grant(body: dict[str, Any]) -> None:
        cr = custom.create_namespaced_custom_object(resource.GROUP, resource.VERSION, janus_ns,
                                                    resource.PLURAL, body)
        name = cr["metadata"]["name"]
        made[name] = cr
        custom.patch_namespaced_custom_object(
            resource.GROUP, resource.VERSION, janus_ns, resource.PLURAL, name,
            {"metadata": {"finalizers": ["janus.dev/cleanup"]}}, _content_type=MERGE)
        g = grants.GrantObjects(name, "bench", "central", ns, ROLE)
        grants.ensure_service_account(api, g)
        grants.ensure_role_binding(api, g)
        expires = timefmt.now() + dt.timedelta(hours=2)
        token = grants.mint_token(api, g, 7200)
        grants.write_token_secret(api, g, token=token, server=server, ca_pem=ca,
                                  expires_at=expires)
        custom.patch_namespaced_custom_object_status(
            resource.GROUP, resource.VERSION, janus_ns, resource.PLURAL, name,
            {"status": {"phase": "Active", "expiresAt": timefmt.fmt(expires)}},
            _content_type=MERGE)
        _event(core, cr, "Granted")

    def expire(name: str) -> None:
        cr = made[name]
        g = grants.GrantObjects(name, "bench", "central", ns, ROLE)
        with ThreadPoolExecutor(3) as inner:  # the controller deletes the three in parallel
            list(inner.map(lambda fn: fn(), (
                lambda: grants.delete_token_secret(api, g),
                lambda: grants.delete_role_binding(api, g),
                lambda: grants.delete_service_account(api, g))))
        custom.patch_namespaced_custom_object_status(
            resource.GROUP, resource.VERSION, janus_ns, resource.PLURAL, name,
            {"status": {"phase": "Expired"}}, _content_type=MERGE)
        _event(core, cr, "Expired")
        custom.patch_namespaced_custom_object(
            resource.GROUP, resource.VERSION, janus_ns, resource.PLURAL, name,
            {"metadata": {"finalizers": None}}, _content_type=MERGE)

    try:
        bodies = [cr_body(janus_ns, ns, f"f{i}", "2h") for i in range(n)]
        start = time.time()
        with ThreadPoolExecutor(WORKERS) as pool:
            list(pool.map(grant, bodies))
        crs = list(made)
        phases.wait(crs, "Active", timeout=max(300, n / 5))
        grant_batch = max(phases.seen.get((c, "Active"), start) for c in crs) - start
        began = time.time()
        with ThreadPoolExecutor(WORKERS) as pool:
            list(pool.map(expire, crs))
        phases.wait(crs, "Expired", timeout=max(300, n / 5))
        time.sleep(1)
        floor = Floor(grant_batch,
                      [removals.deleted[c] - began for c in crs if c in removals.deleted],
                      [phases.seen[(c, "Expired")] - began for c in crs
                       if (c, "Expired") in phases.seen])
    finally:
        phases.stop()
        removals.stop()
    clear_namespace(api, janus_ns)
    return floor


# ---- many target clusters ---------------------------------------------------------------------

def bench_clusters(cluster: LocalCluster, k: int, workdir: Path, source: Path,
                   rest_seconds: float) -> dict[str, Any]:
    """K kubeconfig Secrets (all the local API server) on one controller; one grant on each."""
    api = cluster.admin_client()
    janus_ns = f"janus-clusters-{uuid.uuid4().hex[:4]}"
    ensure_ns(api, janus_ns)
    core = client.CoreV1Api(api)
    text = yaml.safe_dump(cluster.kubeconfig())
    names_ = [f"target-{i:02d}" for i in range(k)]
    for name in names_:
        core.create_namespaced_secret(janus_ns, client.V1Secret(
            metadata=client.V1ObjectMeta(name=f"kubeconfig-{name}",
                                         labels={names.LABEL_CLUSTER: name}),
            string_data={"kubeconfig": text}))
    ensure_ns(api, "scale-clusters")
    phases = Phases(api, janus_ns)
    out: dict[str, Any] = {}
    try:
        with controller(cluster, workdir, janus_ns, source, ["central", *names_],
                        "clusters") as proc:
            wait_started(workdir, "clusters", 0, timeout=120)
            out["idle"] = at_rest(api, proc.pid, rest_seconds)
            bodies = [cr_body(janus_ns, "scale-clusters", f"c{i}", "2h", cluster=name)
                      for i, name in enumerate(names_)]
            created = apply_all(api, bodies, janus_ns)
            crs = [b["metadata"]["name"] for b in bodies]
            out["missing"] = len(phases.wait(crs, "Active", timeout=300))
            out["active"] = [phases.seen[(c, "Active")] - created[c] for c in crs
                             if (c, "Active") in phases.seen]
            out["live"] = at_rest(api, proc.pid, rest_seconds)
            # A second grant on each, now that every client is built (steady state).
            bodies = [cr_body(janus_ns, "scale-clusters", f"d{i}", "2h", cluster=name)
                      for i, name in enumerate(names_)]
            created = apply_all(api, bodies, janus_ns)
            crs = [b["metadata"]["name"] for b in bodies]
            phases.wait(crs, "Active", timeout=300)
            out["active2"] = [phases.seen[(c, "Active")] - created[c] for c in crs
                              if (c, "Active") in phases.seen]
            out["rss2"] = rss_mb(proc.pid)
    finally:
        phases.stop()
    return out


# ---- report -----------------------------------------------------------------------------------

def report(runs: list[Run], floors: dict[int, Floor]) -> None:
    print("\njanus controller scale curve "
          f"({os.cpu_count()} CPUs; load {os.getloadavg()[0]:.2f} at the end)")
    head = (f"{'N':>5} {'src':<8} {'RSS idle':>8} {'RSS N':>6} {'KB/gr':>6} {'CPU%':>5} "
            f"{'req/s':>6} {'Active p50/p99 s':>16} {'gr/s':>5} {'cpu ms/gr':>9} "
            f"{'req/gr':>6} {'lone max s':>10} {'mass acc p99':>12} {'mass Exp p99':>12} "
            f"{'floor acc/Exp p99':>17} {'ratio acc/Exp':>13}")
    print(head)
    print("-" * len(head))
    for r in runs:
        f = floors.get(r.n)
        live = r.live or r.idle
        kb = (live.rss - r.idle.rss) * 1024 / r.n
        acc99, exp99 = pct(r.mass_access, 99), pct(r.mass_phase, 99)
        lone = max(r.lone_access + r.lone_phase) if r.lone_access else float("nan")
        floor_txt = ratio = "-"
        if f is not None:
            facc, fexp = pct(f.access, 99), pct(f.phase, 99)
            floor_txt = f"{facc:.2f} / {fexp:.2f}"
            ratio = f"{acc99 / facc:.2f} / {exp99 / fexp:.2f}"
        print(f"{r.n:>5} {r.tag:<8} {r.idle.rss:>8.0f} {live.rss:>6.0f} {kb:>6.1f} "
              f"{live.cpu_pct:>5.1f} {live.req_s:>6.1f} "
              f"{pct(r.active, 50):>7.2f}/{pct(r.active, 99):<8.2f} {r.n / r.batch:>5.0f} "
              f"{1000 * r.grant_cpu / r.n:>9.1f} {r.grant_requests / r.n:>6.1f} "
              f"{lone:>10.3f} {acc99:>12.2f} {exp99:>12.2f} {floor_txt:>17} {ratio:>13}")
        notes = []
        if r.missing_active:
            notes.append(f"{r.missing_active} never Active")
        if r.mass_late_aligned:
            notes.append(f"{r.mass_late_aligned} re-timed only after the expiry second")
        if r.mass_missing:
            notes.append(f"{r.mass_missing} never Expired")
        if notes:
            print(f"      note: {'; '.join(notes)}")
        print("      lone expiries (access / Expired, s): "
              + ", ".join(f"{a:.3f}/{p:.3f}"
                          for a, p in zip(r.lone_access, r.lone_phase, strict=False))
              + f"; peak RSS {r.peak_rss:.0f} MB; batch {r.batch:.1f} s")
    for n, f in sorted(floors.items()):
        print(f"floor N={n}: grant batch {f.grant_batch:.1f} s ({n / f.grant_batch:.0f}/s); "
              f"removal of all N: access p50/p99 {pct(f.access, 50):.2f}/{pct(f.access, 99):.2f}"
              f" s, Expired p99 {pct(f.phase, 99):.2f} s")


def report_clusters(k: int, out: dict[str, Any]) -> None:
    idle, live = out["idle"], out["live"]
    a1, a2 = out["active"], out["active2"]
    print(f"\n{k} target clusters on one controller (kubeconfig Secrets, same API server)")
    print(f"  RSS idle {idle.rss:.0f} MB; after one grant per cluster {live.rss:.0f} MB "
          f"({(live.rss - idle.rss) * 1024 / k:.0f} KB per cluster); after two "
          f"{out['rss2']:.0f} MB")
    print(f"  first grant per cluster (client built): time to Active p50/p99/max "
          f"{pct(a1, 50):.2f}/{pct(a1, 99):.2f}/{max(a1):.2f} s; missing {out['missing']}")
    print(f"  second grant per cluster: p50/p99/max {pct(a2, 50):.2f}/{pct(a2, 99):.2f}/"
          f"{max(a2):.2f} s; at rest CPU {live.cpu_pct:.1f}%, {live.req_s:.1f} req/s")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="500,1000,2000",
                        help="comma-separated N (5000 is opt-in: about 20 minutes here)")
    parser.add_argument("--compare", metavar="REV", help="also run the controller at REV")
    parser.add_argument("--clusters", type=int, default=50, help="target clusters (0: skip)")
    parser.add_argument("--skip-floor", action="store_true")
    parser.add_argument("--grant-only", action="store_true",
                        help="no expiries: memory, CPU and grant figures only (a quick 5,000)")
    parser.add_argument("--expiry-only", action="store_true",
                        help="floor, grant and mass expiry only: no lone expiries, no clusters, "
                             "1-second at-rest windows (makes --sizes 5000 feasible here)")
    parser.add_argument("--rest", type=float, default=10.0, help="seconds of each at-rest window")
    args = parser.parse_args()
    if args.expiry_only:
        args.clusters, args.rest = 0, 1.0
    sizes = [int(s) for s in args.sizes.split(",") if s]
    workdir = Path(tempfile.mkdtemp(prefix="janus-scale-"))
    sources = [("working", snapshot_working_tree())]
    if args.compare:
        sources.append((args.compare[:8], export_source(args.compare)))
    print(f"load before: {os.getloadavg()}; logs in {workdir}", file=sys.stderr)
    cluster = LocalCluster.start("scale", progress=lambda m: print(m, file=sys.stderr))
    runs: list[Run] = []
    floors: dict[int, Floor] = {}
    clusters_out = None
    try:
        api = cluster.admin_client()
        crd.install(api)
        ensure_ns(api, names.TOKENS_NAMESPACE)
        try:
            client.RbacAuthorizationV1Api(api).create_cluster_role(cluster_role_manifest(ROLE))
        except client.ApiException as exc:
            if exc.status != 409:
                raise
        for n in sizes:
            if not args.skip_floor and not args.grant_only:
                floors[n] = bench_floor(cluster, n)
                print(f"  [floor N={n}] done, load {os.getloadavg()[0]:.2f}", file=sys.stderr)
            for tag, source in sources:
                runs.append(bench_controller(cluster, n, workdir, source, tag, args.rest,
                                             expiries=not args.grant_only,
                                             lone=not args.expiry_only))
        if args.clusters:
            clusters_out = bench_clusters(cluster, args.clusters, workdir, sources[0][1],
                                          args.rest)
    finally:
        cluster.stop()
    report(runs, floors)
    if clusters_out is not None:
        report_clusters(args.clusters, clusters_out)
    print(f"(controller logs: {workdir})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
