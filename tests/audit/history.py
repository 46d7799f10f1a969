"""A real access repository history for the audit tests, made with real `git` commits.

Times are fixed (author and committer dates set per commit) so answers are exact. The story, all
on ``main`` (T0 = 2026-11-02T10:00:00Z):

* T0        root: policies, requests/README.md, ledger/README.md (by a maintainer)
* T0+5m     PR #1 merged by lena: alice asks prod/payments for 1h (branch commit by alice)
* T0+6m     janus[bot]: entry for alice created; T0+7m: granted (until T0+1h07m)
* T0+30m    PR #5 merged by lena: alice extends to 2h (same file, new blob)
* T0+31m    janus[bot]: extension recorded, expires T0+2h07m
* T0+2h     PR #2 merged by sam: bob asks prod/orders
* T0+2h01m  janus[bot]: bob granted
* T0+2h07m  janus[bot]: alice expired, her request file removed
* T0+3h     janus[bot]: bob revoked by root ("done") via web, one terminal session; file removed
* T0+4h     PR #3 merged by lena: carol asks staging/web — no entry ever (pending)
* T0+4h30m  PR #4 merged by lena: dave asks prod/payments — no entry
   (tag ``clean``: the history up to here is consistent except dave's file, still pending)
* T0+5h     mallory edits bob's entry by hand (a foreign commit)
* T0+6h     dave deletes his request file himself: it left requests/ without an entry
"""

from __future__ import annotations

import datetime as dt
import os
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

from janus.model import ledger

T0 = dt.datetime(2026, 11, 2, 10, 0, tzinfo=dt.UTC)
REPO = "acme/access"
BOT = ("janus[bot]", "41898282+janus[bot]@users.noreply.github.com")
PEOPLE = {login: (login, f"{login}@example.com") for login in
          ("maintainer", "alice", "bob", "carol", "dave", "lena", "sam", "mallory")}

CONFIG = """\
apiVersion: janus.dev/v1alpha1
kind: JanusConfig
metadata: {name: janus}
spec:
  clusters: [prod, staging]
  duration: {min: 10m, max: 8h, default: 1h}
  roles:
    pod-exec: {clusterRole: janus-pod-exec}
"""


def request_text(name: str, requester: str, cluster: str, namespace: str, duration: str,
                 reason: str) -> str:
    return (f"apiVersion: janus.dev/v1alpha1\nkind: AccessRequest\nmetadata:\n  name: {name}\n"
            f"spec:\n  requester: {requester}\n  cluster: {cluster}\n  namespace: {namespace}\n"
            f"  role: pod-exec\n  duration: {duration}\n  reason: \"{reason}\"\n")


def t(minutes: float) -> dt.datetime:
    return T0 + dt.timedelta(minutes=minutes)


@dataclass
class History:
    """The repository and what the tests need to know about it."""

    path: Path
    merges: dict[int, str] = field(default_factory=dict)      # PR number -> merge commit
    entries: dict[str, str] = field(default_factory=dict)     # requester -> entry path
    commits: dict[str, str] = field(default_factory=dict)     # label -> commit


class Builder:
    def __init__(self, path: Path, init: bool = True) -> None:
        self.path = path
        if init:
            self.git("init", "-q", "-b", "main")
        self.git("config", "commit.gpgsign", "false")

    def git(self, *args: str, who: tuple[str, str] | None = None, when: dt.datetime | None = None,
            committer: tuple[str, str] | None = None) -> str:
        env = dict(os.environ)
        for key in ("GIT_DIR", "GIT_WORK_TREE", "GIT_INDEX_FILE"):
            env.pop(key, None)
        who = who or PEOPLE["maintainer"]
        committer = committer or who
        stamp = f"{int((when or T0).timestamp())} +0000"
        env.update(GIT_AUTHOR_NAME=who[0], GIT_AUTHOR_EMAIL=who[1], GIT_AUTHOR_DATE=stamp,
                   GIT_COMMITTER_NAME=committer[0], GIT_COMMITTER_EMAIL=committer[1],
                   GIT_COMMITTER_DATE=stamp, GIT_CONFIG_NOSYSTEM="1", HOME=str(self.path))
        done = subprocess.run(["git", "-C", str(self.path), *args], env=env, check=True,
                              capture_output=True, text=True)
        return done.stdout.strip()

    def write(self, path: str, text: str | bytes) -> None:
        target = self.path / path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(text.encode() if isinstance(text, str) else text)

    def commit(self, message: str, who: tuple[str, str], when: dt.datetime,
               add: dict[str, str | bytes] | None = None, remove: tuple[str, ...] = ()) -> str:
        for path, text in (add or {}).items():
            self.write(path, text)
            self.git("add", "--", path)
        for path in remove:
            self.git("rm", "-q", "--", path)
        self.git("commit", "-q", "--allow-empty", "-m", message, who=who, when=when)
        return self.git("rev-parse", "HEAD")

    def merge_pr(self, number: int, requester: str, merger: str, when: dt.datetime,
                 files: dict[str, str]) -> str:
        """A PR branch with the requester's commit, merged with a merge commit (as GitHub)."""
        branch = f"janus/request/{requester}/{number}"
        self.git("checkout", "-q", "-b", branch, "main")
        self.commit(f"Access request by {requester}", PEOPLE[requester],
                    when - dt.timedelta(minutes=1), add=dict(files))
        self.git("checkout", "-q", "main")
        self.git("merge", "-q", "--no-ff", "-m", f"Merge pull request #{number} from "
                 f"acme/{branch}", branch, who=PEOPLE[merger], when=when,
                 committer=("GitHub", "noreply@github.com"))
        return self.git("rev-parse", "HEAD")

    def blob(self, path: str) -> str:
        return self.git("hash-object", "--", path)

    def ledger_commit(self, message: str, when: dt.datetime, entries: list[ledger.Entry],
                      remove: tuple[str, ...] = ()) -> str:
        return self.commit(message, BOT, when,
                           add={e.path: ledger.dump(e) for e in entries}, remove=remove)


def record(path: str, blob: str, name: str, requester: str, cluster: str, namespace: str,
           duration: str, reason: str) -> ledger.RequestRecord:
    return ledger.RequestRecord(path=path, blob_sha=blob, name=name, requester=requester,
                                cluster=cluster, namespace=namespace, role="pod-exec",
                                duration=duration, reason=reason)


def build(path: Path) -> History:
    b = Builder(path)
    h = History(path)
    fmt = ledger.fmt_time
    b.commit("Access repository", PEOPLE["maintainer"], T0, add={
        "policies/janus.yaml": CONFIG, "requests/README.md": "Requests go here.\n",
        "ledger/README.md": "The Janus ledger: one entry per grant.\n"})

    # alice: PR #1, granted, extended by PR #5, expired.
    alice_path = "requests/prod/payments/alice-debug.yaml"
    alice_v1 = request_text("alice-debug", "alice", "prod", "payments", "1h", "INC-1: stuck worker")
    h.merges[1] = b.merge_pr(1, "alice", "lena", t(5), {alice_path: alice_v1})
    alice_req = record(alice_path, b.blob(alice_path), "alice-debug", "alice", "prod",
                       "payments", "1h", "INC-1: stuck worker")
    alice_cr = ledger.access_request_of(alice_path)
    merge1 = ledger.MergeRecord(REPO, 1, h.merges[1], fmt(t(5)), "lena", ("lena",))
    alice = ledger.entry_for(alice_req, merge1, alice_cr)
    b.ledger_commit(ledger.message_granted(alice).replace("granted", "approved", 1), t(6),
                    [alice])
    alice = ledger.Entry(alice_req, merge1, alice_cr, granted_at=fmt(t(7)),
                         expires_at=fmt(t(67)))
    b.ledger_commit(ledger.message_granted(alice), t(7), [alice])
    h.entries["alice"] = alice.path

    alice_v2 = alice_v1.replace("duration: 1h", "duration: 2h")
    h.merges[5] = b.merge_pr(5, "alice", "lena", t(30), {alice_path: alice_v2})
    ext = ledger.Extension(ledger.MergeRecord(REPO, 5, h.merges[5], fmt(t(30)), "lena",
                                              ("lena",)),
                           b.blob(alice_path), "2h", fmt(t(127)))
    alice = alice.with_extension(ext)
    b.ledger_commit(ledger.message_extended(alice, ext), t(31), [alice])

    # bob: PR #2, granted.
    bob_path = "requests/prod/orders/bob-orders.yaml"
    bob_text = request_text("bob-orders", "bob", "prod", "orders", "4h", "INC-2: orders stuck")
    h.merges[2] = b.merge_pr(2, "bob", "sam", t(120), {bob_path: bob_text})
    bob_req = record(bob_path, b.blob(bob_path), "bob-orders", "bob", "prod", "orders", "4h",
                     "INC-2: orders stuck")
    bob = ledger.Entry(bob_req, ledger.MergeRecord(REPO, 2, h.merges[2], fmt(t(120)), "sam",
                                                   ("sam", "lena")),
                       ledger.access_request_of(bob_path), granted_at=fmt(t(121)),
                       expires_at=fmt(t(361)))
    b.ledger_commit(ledger.message_granted(bob), t(121), [bob])
    h.entries["bob"] = bob.path

    # alice expires; bob is revoked with a session.
    alice = alice.with_end(ledger.end_from("expired", fmt(t(127)), via="controller"))
    h.commits["alice-expired"] = b.ledger_commit(ledger.message_ended(alice), t(127), [alice],
                                                 remove=(alice_path,))
    session = ledger.Session(id="s-1", user="bob", pod="orders-0", container="app",
                             opened=fmt(t(130)), closed=fmt(t(150)), close_reason="exit",
                             bytes_in=42, bytes_out=4096,
                             recording=ledger.Recording(size=5000, sha256="ab" * 32))
    bob = bob.with_sessions([session]).with_end(
        ledger.end_from("revoked", fmt(t(180)), by="root", reason="done", via="web"))
    b.ledger_commit(ledger.message_ended(bob), t(180), [bob], remove=(bob_path,))

    # carol and dave: merged, never recorded.
    h.merges[3] = b.merge_pr(3, "carol", "lena", t(240), {
        "requests/staging/web/carol-web.yaml":
            request_text("carol-web", "carol", "staging", "web", "1h", "deploy check")})
    h.merges[4] = b.merge_pr(4, "dave", "lena", t(270), {
        "requests/prod/payments/dave-pay.yaml":
            request_text("dave-pay", "dave", "prod", "payments", "1h", "INC-3: payments")})
    b.git("tag", "clean")
    h.commits["clean"] = b.git("rev-parse", "HEAD")

    # mallory rewrites bob's reason by hand; dave deletes his request without an entry.
    edited = (path / bob.path).read_text().replace("INC-2: orders stuck", "routine check")
    h.commits["hand-edit"] = b.commit("fix typo", PEOPLE["mallory"], t(300),
                                      add={bob.path: edited})
    h.commits["dave-delete"] = b.commit("remove my request", PEOPLE["dave"], t(360),
                                        remove=("requests/prod/payments/dave-pay.yaml",))
    return h
