"""Benchmark: the ledger writer under 1,000 grants ending within 10 s, beside an unbatched baseline.

    .venv/bin/python bench/ledger.py [--grants 1000] [--spread 10] [--batch 5] [--no-baseline]

The GitHub simulator (real git behind GitHub's REST shapes, the App's installation token, no
throttling) runs in a process of its own, so the figures are Janus's writer, not the stand-in
sharing its interpreter. For each contender a fresh repository gets COUNT request files merged
onto ``main`` in one push; then COUNT "ended" transitions are submitted to a
:class:`janus.gitops.ledger_writer.LedgerWriter` (the receiver's own writer thread) evenly over
SPREAD seconds — what the receiver's AccessRequest watch submits when that many grants expire:

* **janus** — the writer as the receiver runs it (batch window ``--batch``, default 5 s);
* **baseline** — the same writer made to commit one grant per commit, as soon as it can (no
  batch window): what a writer without batching would do.

For each it prints commits made (goal: at most one per 5 s of endings), per-grant latency from
the ending to the commit on the branch (p50/p99/max; goal: every grant within 30 s), the time
from the last ending until all are recorded, GitHub API calls per grant, and the machine's load
average; and checks every entry was written with its end and every request file removed. The
Kubernetes side (watch, finalizer) is not in this figure: tests/e2e/test_ledger.py ends 200 real
AccessRequests together.
"""

from __future__ import annotations

import argparse
import functools
import math
import multiprocessing as mp
import os
import statistics
import sys
import threading
import time
import uuid
from dataclasses import dataclass
from multiprocessing.connection import Connection
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from janus.gitops.client import GitHubSettings, connect  # noqa: E402
from janus.gitops.ledger_git import LedgerGit, blob_sha  # noqa: E402
from janus.gitops.ledger_writer import BATCH_SECONDS, LedgerWriter, Transition  # noqa: E402
from janus.gitops.metrics import Counters  # noqa: E402
from janus.model import ledger  # noqa: E402
from tests.gitops.ledger_support import entry_for  # noqa: E402

# ---- the simulator, in its own process -------------------------------------------------------


def _simulator(conn: Connection) -> None:
    """Serve the simulator; do what the benchmark asks over *conn* (setup and checks only —
    the writer talks to it over HTTP like to GitHub)."""
    sys.path.insert(0, str(ROOT))
    from janus.dev.github_sim import GitHubSimulator
    from tests.gitops import harness

    with GitHubSimulator.start() as sim:
        harness.setup_people(sim)
        app_id, key = sim.create_app("janus-bench")
        conn.send(("ready", sim.base_url, app_id, key))
        while True:
            command, *args = conn.recv()
            if command == "stop":
                return
            if command == "repo":  # a fresh repository with these request files merged
                files: dict[str, str] = args[0]
                repo = harness.new_repo(sim)
                inst = sim.install_app(app_id, repo)
                sim.push(repo, "main", dict(files), author="root", message="merge requests")
                conn.send((repo, inst))
            elif command == "check":  # entries written with their end, request files gone
                repo, pairs = args
                missing = 0
                for entry_path, request_path in pairs:
                    data = sim.read_file(repo, entry_path)
                    if (data is None or ledger.loads(entry_path, data).end is None
                            or sim.read_file(repo, request_path) is not None):
                        missing += 1
                conn.send(missing)


# ---- one contender ---------------------------------------------------------------------------


class OneAtATime(LedgerWriter):
    """The baseline: one transition per commit, written as soon as it can be."""

    def pending(self) -> list[Transition]:
        return super().pending()[:1]


@dataclass
class Result:
    name: str
    commits: int
    latencies: list[float]
    after_last: float
    calls: int
    missing: int
    finished: bool
    recorded: int
    elapsed: float  # from the first ending until done (or the deadline)


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))]


def run_one(conn: Connection, info: tuple[str, int, str], name: str, grants: int, spread: float,
            batch: float, *, unbatched: bool, timeout: float) -> Result:
    base_url, app_id, key = info
    files, made = {}, []
    for i in range(grants):
        req = f"b{i:05d}-{uuid.uuid4().hex[:6]}"
        text = _request_yaml(req)
        files[f"requests/prod/payments/{req}.yaml"] = text
        made.append((req, blob_sha(text.encode())))
    conn.send(("repo", files))
    repo, inst = conn.recv()
    settings = GitHubSettings(api_url=base_url, app_id=app_id, app_key=key,
                              installation_id=inst, throttle=False, timeout=60)
    git = LedgerGit(connect(settings), repo)
    writer_class = OneAtATime if unbatched else LedgerWriter
    writer = writer_class(git, "main", batch_seconds=0.0 if unbatched else batch,
                          counters=Counters())
    transitions = []
    for i, (req, blob) in enumerate(made):
        e = entry_for(req, pr=10_000 + i, merge_commit=uuid.uuid4().hex + "0" * 8, blob=blob)
        transitions.append(Transition("ended", e, e.path, end=ledger.end_from(
            "expired", "2026-11-30T02:00:00Z", via="controller")))
    ended_at: dict[str, float] = {}
    written_at: dict[str, float] = {}

    def stamp(path: str) -> None:
        written_at[path] = time.monotonic()

    stop = threading.Event()
    thread = threading.Thread(target=writer.run_forever, args=(stop,), daemon=True)
    thread.start()
    calls_before = git.calls
    start = time.monotonic()
    for i, t in enumerate(transitions):
        due = start + spread * i / max(1, len(transitions) - 1)
        time.sleep(max(0.0, due - time.monotonic()))
        ended_at[t.path] = time.monotonic()
        writer.submit(Transition(t.kind, t.entry, t.path, end=t.end,
                                 on_written=functools.partial(stamp, t.path)))
    last_end = time.monotonic()
    finished = writer.wait_idle(timeout)
    done = time.monotonic()
    stop.set()
    thread.join(30)
    calls = git.calls - calls_before
    conn.send(("check", repo, [(t.path, t.entry.request.path) for t in transitions]))
    missing = conn.recv()
    # A grant not written by the deadline counts with the time it had waited by then.
    latencies = [written_at.get(p, done) - ended_at[p] for p in ended_at]
    return Result(name, writer.commits, latencies, done - last_end, calls, missing, finished,
                  len(written_at), done - start)


def _request_yaml(name: str) -> str:
    from tests.gitops import harness

    return harness.request_yaml(name)


def report(r: Result, grants: int, spread: float, batch: float | None) -> None:
    window = "one grant per commit, no window" if batch is None else f"batch window {batch:g} s"
    lat = r.latencies
    print(f"{r.name} ({window})")
    print(f"  ledger commits:        {r.commits} "
          f"({r.commits / max(spread, 1e-9) * 5:.2f} per 5 s of endings)")
    print(f"  ending -> recorded:    p50 {_percentile(lat, 0.5):.1f} s, "
          f"p99 {_percentile(lat, 0.99):.1f} s, max {max(lat):.1f} s, "
          f"mean {statistics.fmean(lat):.1f} s")
    if r.finished:
        print(f"  all recorded after:    {r.after_last:.1f} s after the last ending")
    else:
        print(f"  recorded by deadline:  {r.recorded} of {grants}, {r.after_last:.0f} s after "
              f"the last ending (the rest still queued; their latency counted as waited so far)")
    print(f"  GitHub API calls:      {r.calls} ({r.calls / grants:.3f} per grant)")
    print(f"  entries checked:       {grants - r.missing} ok, {r.missing} missing")
    if not r.finished and r.recorded:
        per_commit = r.elapsed / max(1, r.commits)
        print(f"  at {per_commit:.2f} s per commit, all {grants} would take about "
              f"{per_commit * grants:.0f} s")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--grants", type=int, default=1000)
    parser.add_argument("--spread", type=float, default=10.0)
    parser.add_argument("--batch", type=float, default=BATCH_SECONDS)
    parser.add_argument("--no-baseline", action="store_true",
                        help="skip the one-commit-per-grant baseline")
    parser.add_argument("--timeout", type=float, default=600.0,
                        help="give up waiting for Janus's writes after this many seconds")
    parser.add_argument("--baseline-timeout", type=float, default=120.0,
                        help="stop the baseline this many seconds after the last ending")
    args = parser.parse_args()

    ctx = mp.get_context("spawn")  # a clean interpreter: nothing of ours shares its GIL
    ours, theirs = ctx.Pipe()
    sim = ctx.Process(target=_simulator, args=(theirs,), daemon=True)
    sim.start()
    try:
        _, base_url, app_id, key = ours.recv()
        info = (base_url, app_id, key)
        print(f"{args.grants} grants ending over {args.spread:g} s; simulator in process "
              f"{sim.pid}, load average {os.getloadavg()[0]:.1f} (1 min) on "
              f"{os.cpu_count()} CPUs")
        results = [(run_one(ours, info, "janus", args.grants, args.spread, args.batch,
                            unbatched=False, timeout=args.timeout), args.batch)]
        if not args.no_baseline:
            results.append((run_one(ours, info, "baseline", args.grants, args.spread,
                                    args.batch, unbatched=True,
                                    timeout=args.baseline_timeout), None))
        for r, batch in results:
            report(r, args.grants, args.spread, batch)
        print(f"load average after: {os.getloadavg()[0]:.1f} (1 min)")
        janus = results[0][0]
        goals = (max(janus.latencies) <= 30
                 and janus.commits <= max(1, math.ceil(args.spread / 5))
                 and janus.missing == 0 and janus.finished)
        print(f"goals (every grant within 30 s; <= 1 commit per 5 s of endings): "
              f"{'met' if goals else 'NOT met'}")
        return 0 if janus.missing == 0 and janus.finished else 1
    finally:
        ours.send(("stop",))
        sim.join(30)
        if sim.is_alive():
            sim.terminate()


if __name__ == "__main__":
    sys.exit(main())
