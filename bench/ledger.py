"""Benchmark: the ledger writer under 1,000 grants ending within 10 s.

    .venv/bin/python bench/ledger.py [--grants 1000] [--spread 10] [--batch 5]

Against the GitHub simulator (real git behind GitHub's REST shapes, the App's installation token,
no throttling): COUNT request files are merged onto ``main`` in one push, then COUNT "ended"
transitions are submitted to a :class:`janus.gitops.ledger_writer.LedgerWriter` (the receiver's
own writer thread, default batch window) evenly over SPREAD seconds — what the receiver's
AccessRequest watch submits when that many grants expire. Prints:

* commits made (goal: at most one per 5 s of endings),
* time from the last ending until every end is on the branch, and the worst latency from an
  ending to its commit (goal: every grant recorded within 30 s of its end),
* GitHub API calls per grant,

and checks every entry was written with its end and every request file removed. The Kubernetes
side (watch, finalizer) is not in this figure: see tests/e2e/test_ledger.py for 200 CRs.
"""

from __future__ import annotations

import argparse
import sys
import threading
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from janus.dev.github_sim import GitHubSimulator  # noqa: E402
from janus.gitops.client import GitHubSettings, connect  # noqa: E402
from janus.gitops.ledger_git import LedgerGit, blob_sha  # noqa: E402
from janus.gitops.ledger_writer import BATCH_SECONDS, LedgerWriter, Transition  # noqa: E402
from janus.gitops.metrics import Counters  # noqa: E402
from janus.model import ledger  # noqa: E402
from tests.gitops import harness  # noqa: E402
from tests.gitops.ledger_support import entry_for  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--grants", type=int, default=1000)
    parser.add_argument("--spread", type=float, default=10.0)
    parser.add_argument("--batch", type=float, default=BATCH_SECONDS)
    args = parser.parse_args()

    with GitHubSimulator.start() as sim:
        harness.setup_people(sim)
        app_id, key = sim.create_app("janus-bench")
        repo = harness.new_repo(sim)
        inst = sim.install_app(app_id, repo)
        files, grants = {}, []
        for i in range(args.grants):
            name = f"b{i:05d}-{uuid.uuid4().hex[:6]}"
            text = harness.request_yaml(name)
            files[harness.request_path(name)] = text
            grants.append((name, blob_sha(text.encode())))
        sim.push(repo, "main", files, author="root", message="merge requests")
        settings = GitHubSettings(api_url=sim.base_url, app_id=app_id, app_key=key,
                                  installation_id=inst, throttle=False, timeout=30)
        git = LedgerGit(connect(settings), repo)
        counters = Counters()
        writer = LedgerWriter(git, "main", batch_seconds=args.batch, counters=counters)
        transitions = []
        for i, (name, blob) in enumerate(grants):
            e = entry_for(name, pr=10_000 + i, merge_commit=uuid.uuid4().hex + "0" * 8,
                          blob=blob)
            transitions.append(Transition(
                "ended", e, e.path, end=ledger.end_from("expired", "2026-11-30T02:00:00Z",
                                                        via="controller")))
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
            due = start + args.spread * i / max(1, len(transitions) - 1)
            time.sleep(max(0.0, due - time.monotonic()))
            ended_at[t.path] = time.monotonic()
            writer.submit(Transition(t.kind, t.entry, t.path, end=t.end,
                                     on_written=lambda p=t.path: stamp(p)))
        last_end = time.monotonic()
        ok = writer.wait_idle(300)
        done = time.monotonic()
        stop.set()
        thread.join(10)
        calls = git.calls - calls_before

        missing = 0
        for t in transitions:
            data = sim.read_file(repo, t.path)
            if data is None or ledger.loads(t.path, data).end is None \
                    or sim.read_file(repo, t.entry.request.path) is not None:
                missing += 1
        worst = max(written_at[p] - ended_at[p] for p in written_at) if written_at else -1
        print(f"grants ending:           {len(transitions)} over {args.spread:.0f} s "
              f"(batch window {args.batch:g} s)")
        print(f"ledger commits:          {writer.commits} "
              f"({writer.commits / max(args.spread, 1e-9) * 5:.2f} per 5 s of endings)")
        print(f"all recorded after:      {done - last_end:.1f} s after the last ending; "
              f"worst end→commit {worst:.1f} s")
        print(f"GitHub API calls:        {calls} ({calls / len(transitions):.3f} per grant)")
        print(f"entries checked:         {len(transitions) - missing} ok, {missing} missing")
        return 0 if ok and missing == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
