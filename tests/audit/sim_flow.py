"""A ledger history made by the real pieces: request PRs merged on the GitHub simulator, and the
ledger written by janus.gitops.ledger_writer as the App (an installation token, `janus[bot]`).

Used by the audit test on a clone of that repository and by the web's past-grants test.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from janus import names
from janus.dev.github_sim import GitHubSimulator
from janus.gitops.ledger_git import LedgerGit, blob_sha
from janus.gitops.ledger_writer import LedgerWriter, Transition
from janus.model import ledger

REPO = "acme/access"
POLICY = """\
apiVersion: janus.dev/v1alpha1
kind: JanusConfig
metadata: {name: janus}
spec:
  clusters: [prod]
  duration: {min: 10m, max: 8h, default: 1h}
  roles:
    pod-exec: {clusterRole: janus-pod-exec}
"""


def request_text(name: str, requester: str, namespace: str, reason: str) -> str:
    return (f"apiVersion: janus.dev/v1alpha1\nkind: AccessRequest\nmetadata:\n  name: {name}\n"
            f"spec:\n  requester: {requester}\n  cluster: prod\n  namespace: {namespace}\n"
            f"  role: pod-exec\n  duration: 1h\n  reason: \"{reason}\"\n")


@dataclass
class Flow:
    sim: GitHubSimulator
    bot: str
    writer: LedgerWriter
    git: LedgerGit
    entries: dict[str, ledger.Entry] = field(default_factory=dict)   # requester -> entry
    pulls: dict[str, int] = field(default_factory=dict)               # requester -> PR

    def merge_request(self, requester: str, namespace: str, reason: str) -> ledger.Entry:
        """A PR by *requester* adding one request file, approved by lena, merged by root; the
        entry the receiver would record (not written yet)."""
        name = f"{requester}-{namespace}"
        path = f"requests/prod/{namespace}/{name}.yaml"
        text = request_text(name, requester, namespace, reason)
        branch = f"janus/request/{requester}/{name}"
        self.sim.push(REPO, branch, {path: text}, requester, f"Access request {name}")
        number = self.sim.create_pull(REPO, branch, f"Access: {name}", requester)
        self.sim.review(REPO, number, "lena", "APPROVE")
        commit = self.sim.merge(REPO, number, "root")
        merged = ledger.fmt_time(dt.datetime.now(dt.UTC))
        entry = ledger.entry_for(
            ledger.RequestRecord(path, blob_sha(text.encode()), name, requester, "prod",
                                 namespace, "pod-exec", "1h", reason),
            ledger.MergeRecord(REPO, number, commit, merged, "root", ("lena",)),
            names.access_request_name("prod", namespace, name))
        self.pulls[requester] = number
        self.entries[requester] = entry
        return entry

    def record(self, kind: str, entry: ledger.Entry, **extra: object) -> ledger.Entry:
        """Submit one transition and write it now (one commit); the entry as recorded."""
        self.writer.submit(Transition(kind, entry, entry.path, **extra))  # type: ignore[arg-type]
        assert self.writer.write_once(), self.writer.last_error
        data = self.sim.read_file(REPO, entry.path, ref=self.writer.branch)
        assert data is not None
        recorded = ledger.loads(entry.path, data)
        self.entries[entry.request.requester] = recorded
        return recorded

    def grant(self, requester: str, namespace: str, reason: str) -> ledger.Entry:
        entry = self.merge_request(requester, namespace, reason)
        self.record("applied", entry)
        now = dt.datetime.now(dt.UTC).replace(microsecond=0)
        active = ledger.Entry(entry.request, entry.merge, entry.access_request,
                              granted_at=ledger.fmt_time(now),
                              expires_at=ledger.fmt_time(now + dt.timedelta(hours=1)))
        return self.record("active", active)

    def end(self, requester: str, how: str, **fields: str) -> ledger.Entry:
        entry = self.entries[requester]
        end = ledger.end_from(how, ledger.fmt_time(dt.datetime.now(dt.UTC)), **fields)
        return self.record("ended", entry, end=end)


def start(sim: GitHubSimulator) -> Flow:
    """The users, the org, the repository and the App writing its ledger."""
    for login in ("root", "alice", "bob", "carol", "lena", "mallory"):
        sim.add_user(login)
    sim.add_org("acme", admins=["root"])
    sim.create_repo("acme", "access",
                    files={"policies/janus.yaml": POLICY, "requests/README.md": "Requests.\n"},
                    collaborators={u: "write" for u in ("alice", "bob", "carol", "lena",
                                                        "mallory")} | {"root": "admin"})
    app_id, _ = sim.create_app("janus", owner="acme")
    token = sim.installation_token(sim.install_app(app_id, REPO))
    git = LedgerGit(sim.client(token=token), REPO)
    return Flow(sim, sim.bot_login(app_id), LedgerWriter(git, "main"), git)
