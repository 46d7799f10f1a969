"""Inbox benchmark: what "Waiting for my review" costs per call, beside My access's PR listing.

    .venv/bin/python bench/inbox.py [--prs 20] [--rounds 5]

On the GitHub simulator (loopback HTTP, the same REST API PyGithub calls on GitHub), PRS open
request PRs (one request file each) wait for review. Timed, in one run:

* *baseline*: ``janus.web.pulls.open_pulls_of`` — the open PRs My access lists for a requester
  (the listing, then reviews and checks of that requester's PRs);
* *count, cold*: ``/inbox/count``'s work for an approver the first time (every PR's files are
  read and judged against the base policies and CODEOWNERS);
* *count, warm*: the same again with nothing changed (judgement cached by head and base commit,
  reviews by head and ``updated_at``: the listing call remains);
* *page*: ``/inbox``'s work (also the check runs and statuses of the rows shown, cached for
  10 s: the first round reads them, the next ones within 10 s do not).

Reports the median and max of ROUNDS rounds (cold: one) and GitHub calls per round. Figures
depend on the machine; compare them with the baseline of the same run.
"""

from __future__ import annotations

import argparse
import datetime as dt
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from github import Auth, Github  # noqa: E402

from janus.dev.github_sim import GitHubSimulator  # noqa: E402
from janus.policy.membership import StaticMembership  # noqa: E402
from janus.web import inbox_source  # noqa: E402
from janus.web.inbox import build_inbox  # noqa: E402
from janus.web.pulls import open_pulls_of  # noqa: E402
from tests.web.conftest import JANUS_CONFIG, PAYMENTS_POLICY  # noqa: E402

REPO = "acme/access"
MEMBERS = StaticMembership({"acme/payments-leads": ["bob"], "acme/payments-devs": ["carol"]})


def _request(requester: str, name: str) -> str:
    return f"""\
apiVersion: janus.dev/v1alpha1
kind: AccessRequest
metadata: {{name: {name}}}
spec:
  requester: {requester}
  cluster: prod
  namespace: payments
  role: pod-exec
  duration: 1h
  reason: "INC-1: benchmark request number {name}"
  ticket: INC-1
"""


def _timed(fn: object) -> float:
    start = time.perf_counter()
    fn()  # type: ignore[operator]
    return time.perf_counter() - start


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--prs", type=int, default=20)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args(argv)
    with GitHubSimulator.start() as sim:
        for login in ("root", "alice", "bob", "carol"):
            sim.add_user(login)
        sim.add_org("acme", admins=["root"])
        sim.create_repo("acme", "access", files={
            "policies/janus.yaml": JANUS_CONFIG, "policies/payments-prod.yaml": PAYMENTS_POLICY,
            ".github/CODEOWNERS": "/requests/prod/ @acme/payments-leads\n"},
            collaborators={"alice": "write", "bob": "write", "carol": "write", "root": "admin"})
        for i in range(args.prs):
            requester = "alice" if i % 2 == 0 else "carol"
            name = f"{requester}-bench-{i}"
            branch = f"janus/request/{requester}/{name}"
            sim.push(REPO, branch, {f"requests/prod/payments/{name}.yaml":
                                    _request(requester, name)}, requester, name)
            sim.create_pull(REPO, branch, f"Access request {name}", requester)

        calls = {"n": 0}

        def repo() -> object:
            gh = Github(base_url=sim.base_url, auth=Auth.Token(sim.token("bob")), retry=None)
            requester = gh._Github__requester  # type: ignore[attr-defined]
            original = requester.requestJsonAndCheck

            def counted(*a: object, **kw: object) -> object:
                calls["n"] += 1
                return original(*a, **kw)

            requester.requestJsonAndCheck = counted
            return gh.get_repo(REPO)

        def count_round() -> int:
            pulls = inbox_source.open_pulls(repo(), MEMBERS)  # type: ignore[arg-type]
            return build_inbox("bob", pulls, MEMBERS, dt.datetime.now(dt.UTC)).count

        def page_round() -> int:
            # As GET /inbox: the check states of the rows shown (every PR here).
            the_repo = repo()
            pulls = inbox_source.open_pulls(the_repo, MEMBERS)  # type: ignore[arg-type]
            pulls = inbox_source.with_check_states(the_repo, pulls,  # type: ignore[arg-type]
                                                   {p.number for p in pulls})
            return build_inbox("bob", pulls, MEMBERS, dt.datetime.now(dt.UTC)).count

        def measure(label: str, work: object, rounds: int) -> None:
            times, used = [], []
            for _ in range(rounds):
                calls["n"] = 0
                times.append(_timed(work))
                used.append(calls["n"])
            print(f"{label:<36} median {statistics.median(times) * 1000:8.1f} ms   "
                  f"max {max(times) * 1000:8.1f} ms   GitHub calls/round {max(used)}")

        print(f"{args.prs} open request PRs on the GitHub simulator; bob may approve all of them")
        measure("baseline: My access open PRs", lambda: open_pulls_of(repo(), "alice"),  # type: ignore[arg-type]
                args.rounds)
        measure("inbox count, cold (judge files)", count_round, 1)
        assert count_round() == args.prs, "bob should be asked to review every PR"
        measure("inbox count, warm (nothing changed)", count_round, args.rounds)
        measure("inbox page (checks, then cached)", page_round, args.rounds)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
