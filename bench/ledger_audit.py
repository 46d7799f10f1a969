"""Benchmark: `janus audit --at` over a ledger of 100,000 entries, beside a bare baseline.

    .venv/bin/python bench/ledger_audit.py [--entries 100000] [--runs 7] [--baseline-runs 3]

Generates a real git repository with ``git fast-import``: 100,000 ledger entries in the exact
layout of ``janus.model.ledger.dump`` (checked against it), one grant merged every 5 minutes
over about a year, committed by the App in batches of 100 as the receiver would; every tenth
grant has a terminal session, half of them were revoked, the rest expired; the last 50 are still
live (their request files in ``requests/``) and 20 request files have no entry yet (pending).

Then, in the same run, each contender answers "who had or waited for access at T" for T just
before the newest grants (every entry was merged before T, so none is skipped by its path):

* ``janus cold``: ``janus audit --at T --format json`` as a fresh process, the scan cache removed
  before each run (a first audit of a fresh clone);
* ``janus warm``: the same with the cache the previous run left (every later audit);
* ``janus mid``: cold again, at an instant in the middle of the year (half the entries are
  skipped by their path alone);
* ``bare``: the obvious script: ``git ls-tree -r`` + ``git cat-file --batch`` of every entry +
  ``yaml.load(CSafeLoader)`` (PyYAML's C loader) each + the same interval test;
* ``floor``: ``git ls-tree`` + ``git cat-file --batch`` of every entry, output thrown away: what
  git itself needs to hand over 100,000 blobs (no Python at all).

Prints median and p99 (of --runs; with few runs p99 is the slowest) and checks that every
contender found the same grants.
"""

from __future__ import annotations

import argparse
import datetime as dt
import functools
import hashlib
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import yaml  # noqa: E402

from bench.measure import pct  # noqa: E402
from janus import names  # noqa: E402
from janus.audit.query import _CACHE_NAME as CACHE_NAME  # noqa: E402
from janus.model import ledger  # noqa: E402

T = TypeVar("T")

BOT = "janus[bot] <41898282+janus[bot]@users.noreply.github.com>"
START = dt.datetime(2025, 11, 1, tzinfo=dt.UTC)
STEP = dt.timedelta(minutes=5)
SECOND = dt.timedelta(seconds=1)
BATCH = 100
LIVE = 50
PENDING = 20


def _sha(kind: str, i: int, size: int = 40) -> str:
    return hashlib.sha256(f"{kind}{i}".encode()).hexdigest()[:size]


def request_text(name: str, user: str, ns: str, reason: str) -> bytes:
    return (f"apiVersion: janus.dev/v1alpha1\nkind: AccessRequest\nmetadata:\n  name: {name}\n"
            f"spec:\n  requester: {user}\n  cluster: prod\n  namespace: {ns}\n"
            f"  role: pod-exec\n  duration: 1h\n  reason: \"{reason}\"\n").encode()


def git_blob_sha(data: bytes) -> str:
    return hashlib.sha1(b"blob %d\0" % len(data) + data, usedforsecurity=False).hexdigest()


def entry_of(i: int, live: bool) -> ledger.Entry:
    """Grant *i*: merged at START + i*STEP, granted 2 s later, 1 h long."""
    merged = START + i * STEP
    user, ns = f"user{i % 700}", f"team-{i % 300}"
    name = f"{user}-{ns}-inc{i}"
    path = f"requests/prod/{ns}/{name}.yaml"
    reason = f"INC-{i}: worker {i} is stuck and needs a look"
    request = ledger.RequestRecord(path, git_blob_sha(request_text(name, user, ns, reason)),
                                   name, user, "prod", ns, "pod-exec", "1h", reason, f"INC-{i}")
    merge = ledger.MergeRecord("acme/access", i + 1, _sha("merge", i), ledger.fmt_time(merged),
                               f"lead{i % 40}", (f"lead{i % 40}",))
    granted = merged + dt.timedelta(seconds=2)
    expires = granted + dt.timedelta(hours=1)
    entry = ledger.Entry(request, merge, names.access_request_name("prod", ns, name),
                         granted_at=ledger.fmt_time(granted), expires_at=ledger.fmt_time(expires))
    if i % 10 == 0:
        entry = entry.with_sessions([ledger.Session(
            f"s{i}", user, f"{ns}-worker-0", "app", ledger.fmt_time(granted + STEP),
            ledger.fmt_time(granted + 2 * STEP), "exit", 120, 40960,
            ledger.Recording(40960, _sha("rec", i, 64)))])
    if live:
        return entry
    if i % 2:
        return entry.with_end(ledger.End("revoked", ledger.fmt_time(granted + 20 * 60 * SECOND),
                                         f"lead{i % 40}", "done", "web"))
    return entry.with_end(ledger.End("expired", ledger.fmt_time(expires), via="controller"))


def render(e: ledger.Entry) -> bytes:
    """``ledger.dump(e)`` for the entries of :func:`entry_of`, written out by hand: PyYAML's
    emitter takes ~0.7 ms an entry, over a minute for 100,000. Checked against ledger.dump."""
    r, m = e.request, e.merge
    out = [f"accessRequest: {e.access_request}\n"]
    if e.end is not None:
        out.append(f"end:\n  at: '{e.end.at}'\n")
        if e.end.by:
            out.append(f"  by: {e.end.by}\n")
        out.append(f"  how: {e.end.how}\n")
        if e.end.reason:
            out.append(f"  reason: {e.end.reason}\n")
        out.append(f"  via: {e.end.via}\n")
    out.append(f"expiresAt: '{e.expires_at}'\ngrantedAt: '{e.granted_at}'\nkind: LedgerEntry\n"
               f"merge:\n  approvers:\n  - {m.approvers[0]}\n  commit: {m.commit}\n"
               f"  mergedAt: '{m.merged_at}'\n  mergedBy: {m.merged_by}\n"
               f"  pullRequest: {m.pull_request}\n  repo: {m.repo}\n"
               f"request:\n  blobSha: {r.blob_sha}\n  cluster: {r.cluster}\n"
               f"  duration: {r.duration}\n  name: {r.name}\n  namespace: {r.namespace}\n"
               f"  path: {r.path}\n  reason: '{r.reason}'\n  requester: {r.requester}\n"
               f"  role: {r.role}\n  ticket: {r.ticket}\n")
    for s in e.sessions:
        assert s.recording is not None
        out.append(f"sessions:\n- bytesIn: {s.bytes_in}\n  bytesOut: {s.bytes_out}\n"
                   f"  closeReason: {s.close_reason}\n  closed: '{s.closed}'\n"
                   f"  container: {s.container}\n  id: {s.id}\n  opened: '{s.opened}'\n"
                   f"  pod: {s.pod}\n  recording:\n    sha256: {s.recording.sha256}\n"
                   f"    size: {s.recording.size}\n  user: {s.user}\n")
    out.append("version: 1\n")
    return "".join(out).encode()


def generate(repo: Path, count: int) -> dt.datetime:
    """The repository; returns T, the instant just before the live grants were merged."""
    subprocess.run(["git", "init", "-q", "-b", "main", str(repo)], check=True)
    proc = subprocess.Popen(["git", "-C", str(repo), "fast-import", "--quiet"],
                            stdin=subprocess.PIPE)
    assert proc.stdin is not None
    write = proc.stdin.write
    for first in range(0, count, BATCH):
        last = min(count, first + BATCH)
        live = list(range(max(first, count - LIVE), last))
        if live:  # their request files, merged (by people) before the App records them
            when = int((START + live[0] * STEP).timestamp())
            message = b"Merge pull requests: live requests"
            write(f"commit refs/heads/main\ncommitter Lena <lena@example.com> {when} +0000\n"
                  f"data {len(message)}\n".encode() + message + b"\n")
            for i in live:
                req = entry_of(i, live=True).request
                text = request_text(req.name, req.requester, req.namespace, req.reason)
                write(f"M 100644 inline {req.path}\ndata {len(text)}\n".encode() + text + b"\n")
            write(b"\n")
        when = int((START + (last - 1) * STEP + dt.timedelta(seconds=10)).timestamp())
        message = f"janus: ledger: {last - first} recorded".encode()
        # Commits on the same branch in one stream follow each other (no "from" needed).
        write(f"commit refs/heads/main\nauthor {BOT} {when} +0000\ncommitter {BOT} {when} +0000\n"
              f"data {len(message)}\n".encode() + message + b"\n")
        for i in range(first, last):
            entry = entry_of(i, live=i >= count - LIVE)
            data = render(entry)
            if i % 997 == 0 or i >= count - 3:  # the layout is janus's own, byte for byte
                assert data == ledger.dump(entry), f"render differs from ledger.dump ({i})"
            write(f"M 100644 inline {entry.path}\ndata {len(data)}\n".encode() + data + b"\n")
        write(b"\n")
    # Request files merged after the last batch, no entry yet.
    when = int((START + count * STEP).timestamp())
    message = b"Merge pull request: pending requests"
    write(f"commit refs/heads/main\ncommitter Lena <lena@example.com> {when} +0000\n"
          f"data {len(message)}\n".encode() + message + b"\n")
    for k in range(PENDING):
        text = request_text(f"wait{k}", f"waiter{k}", f"team-{k}", f"INC-{k}: waiting")
        write(f"M 100644 inline requests/prod/team-{k}/wait{k}.yaml\ndata {len(text)}\n".encode()
              + text + b"\n")
    write(b"\n")
    proc.stdin.close()
    if proc.wait() != 0:
        raise SystemExit("git fast-import failed")
    # Packed as a clone would be (deltas between versions), not as fast-import left it.
    subprocess.run(["git", "-C", str(repo), "repack", "-a", "-d", "-q"], check=True)
    return START + count * STEP + dt.timedelta(minutes=1)


def cpu_seconds() -> float:
    """CPU time (user + system) of this process and its finished children so far."""
    me, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(
        resource.RUSAGE_CHILDREN)
    return me.ru_utime + me.ru_stime + kids.ru_utime + kids.ru_stime


CPU: dict[str, list[float]] = {}


def measured(label: str, run: Callable[[], T]) -> tuple[float, T]:
    """Wall seconds of *run*, its CPU seconds noted under *label* (load barely moves those)."""
    cpu = cpu_seconds()
    started = time.perf_counter()
    result = run()
    wall = time.perf_counter() - started
    CPU.setdefault(label, []).append(cpu_seconds() - cpu)
    return wall, result


def run_janus(repo: Path, at: str, cache: bool) -> tuple[float, set[str]]:
    cache_file = repo / ".git" / CACHE_NAME
    if not cache and cache_file.exists():
        cache_file.unlink()
    started = time.perf_counter()
    done = subprocess.run([sys.executable, "-m", "janus", "audit", "--repo", str(repo),
                           "--at", at, "--format", "json"], capture_output=True, check=False,
                          cwd=ROOT)
    seconds = time.perf_counter() - started
    if done.returncode != 0:
        raise SystemExit(f"janus audit failed: {done.stderr.decode()}")
    rows = json.loads(done.stdout)["rows"]
    return seconds, {r["ledgerEntry"] or r["requestPath"] for r in rows}


def run_floor(repo: Path) -> float:
    """What git alone needs to hand over every entry: ls-tree + cat-file --batch, unparsed."""
    started = time.perf_counter()
    tree = subprocess.run(["git", "-C", str(repo), "ls-tree", "-r", "HEAD", "ledger/"],
                          capture_output=True, check=True).stdout
    shas = b"\n".join(line.split(b" ")[2].split(b"\t")[0] for line in tree.splitlines())
    subprocess.run(["git", "-C", str(repo), "cat-file", "--batch", "--buffer"],
                   input=shas + b"\n", stdout=subprocess.DEVNULL, check=True)
    return time.perf_counter() - started


def run_bare(repo: Path, at: str) -> tuple[float, set[str]]:
    """ls-tree + cat-file + the C YAML loader on every entry + the interval test."""
    started = time.perf_counter()
    tree = subprocess.run(["git", "-C", str(repo), "ls-tree", "-r", "-z", "HEAD", "ledger/"],
                          capture_output=True, check=True).stdout
    files = []
    for record in tree.split(b"\0"):
        if record:
            meta, _, path = record.partition(b"\t")
            files.append((path.decode(), meta.split(b" ")[2]))
    blobs = subprocess.run(["git", "-C", str(repo), "cat-file", "--batch"],
                           input=b"\n".join(sha for _, sha in files) + b"\n",
                           capture_output=True, check=True).stdout
    found = set()
    pos = 0
    for path, _ in files:
        end = blobs.index(b"\n", pos)
        size = int(blobs[pos:end].rsplit(b" ", 1)[1])
        doc = yaml.load(blobs[end + 1:end + 1 + size], Loader=yaml.CSafeLoader)
        pos = end + 2 + size
        granted = doc.get("grantedAt")
        stop = (doc.get("end") or {}).get("at") or doc.get("expiresAt")
        if granted and granted <= at and (stop is None or stop > at):
            found.add(path)
    # (The pending request files are a few ls-tree lines; left out of the bare side.)
    return time.perf_counter() - started, found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--entries", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--baseline-runs", type=int, default=2)
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="janus-ledger-bench-") as tmp:
        repo = Path(tmp) / "access"
        started = time.perf_counter()
        t_end = generate(repo, args.entries)
        size = sum(f.stat().st_size for f in (repo / ".git").rglob("*") if f.is_file())
        print(f"generated {args.entries} entries in {time.perf_counter() - started:.1f} s "
              f"(git fast-import; .git {size / 2**20:.0f} MiB)")
        at_end = ledger.fmt_time(t_end)
        at_mid = ledger.fmt_time(START + args.entries // 2 * STEP + dt.timedelta(minutes=30))
        os.environ.pop("GIT_DIR", None)

        figures: dict[str, list[float]] = {}
        answers: dict[str, set[str]] = {}
        for label, at, cache in (("janus cold", at_end, False), ("janus warm", at_end, True),
                                 ("janus mid (cold)", at_mid, False)):
            if label == "janus warm":
                run_janus(repo, at, cache=True)  # leaves the cache behind
            times = []
            for _ in range(args.runs):
                _, (seconds, found) = measured(label, functools.partial(run_janus, repo, at, cache))
                times.append(seconds)
                answers[label] = found
            figures[label] = times
        bare = "bare (ls-tree + cat-file + CSafeLoader)"
        bare_times = []
        for _ in range(args.baseline_runs):
            seconds, (_, found) = measured(bare, lambda: run_bare(repo, at_end))
            bare_times.append(seconds)
            answers["bare"] = found
        figures[bare] = bare_times
        floor = "floor: git ls-tree + cat-file alone"
        figures[floor] = [measured(floor, lambda: run_floor(repo))[0] for _ in range(args.runs)]
        startup = []
        for _ in range(3):
            started = time.perf_counter()
            subprocess.run([sys.executable, "-m", "janus", "--version"], capture_output=True,
                           check=True, cwd=ROOT)
            startup.append(time.perf_counter() - started)

        print(f"at {at_end}: {len(answers['janus cold'])} rows (the live grants of the last hour "
              f"and {PENDING} pending files); at {at_mid}: {len(answers['janus mid (cold)'])} rows")
        live_entries = {p for p in answers["janus cold"] if p.startswith("ledger/")}
        assert live_entries == answers["bare"], "janus and the bare script disagree"
        assert answers["janus warm"] == answers["janus cold"]
        print(f"{'contender':42} {'runs':>4} {'median':>8} {'p99':>8} {'CPU median':>11}")
        for label, times in figures.items():
            print(f"{label:42} {len(times):>4} {statistics.median(times):>7.2f}s "
                  f"{pct(times, 99):>7.2f}s {statistics.median(CPU[label]):>10.2f}s")
        print(f"{'python -m janus --version (startup)':42} {3:>4} "
              f"{statistics.median(startup):>7.2f}s")
        ratio = statistics.median(figures["janus cold"]) / statistics.median(bare_times)
        print(f"ratio janus cold / bare: {ratio:.2f}; goal: janus audit --at < 2 s "
              "(CPU: user + system seconds of the process and its git children)")
        print(f"load average: {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")


if __name__ == "__main__":
    main()
