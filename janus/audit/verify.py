"""``janus audit verify``: is the ledger consistent with the history it claims to record?

Checks, each a :class:`Finding` with the check's name:

* ``entry-invalid``    a file under ``ledger/`` is not a valid entry (strict loader), or sits at
                       a path other than the one its content gives; ``stray-file`` another file.
* ``entry-duplicate``  two entries record the same merge of the same file: applied twice.
* ``merge-missing``    an entry's merge commit (or an extension's) is not in the history of the
                       branch; ``merge-file``: that commit does not have the request file with
                       the recorded blob; ``merge-not-added``: its first parent already had it
                       (the commit did not bring the file).
* ``removed-unrecorded`` a request file left ``requests/`` (deleted, or renamed away) and no
                       entry records it.
* ``ended-still-present`` an entry says the grant ended, yet its request file is still in
                       ``requests/`` (a half-done ledger write; reconcile repairs it).
* ``foreign-commit``   a commit changed ``ledger/`` but is not a ledger commit: ledger commits
                       are made by the Janus App (author and committer), have a ``janus: ``
                       subject, and touch only ``ledger/`` and deletions in ``requests/``.

Who counts as the App is *bots* (GitHub logins such as ``janus[bot]``, matched against the
commit's author and committer names and their ``<id>+login@users.noreply.github.com`` e-mail);
by default any ``…[bot]`` identity, and the report names the identities that wrote the ledger so
a reader can pin them with ``--bot``. Git identities can be set by whoever commits; the branch
ruleset (only the App may push to the default branch) is what makes them mean something.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field

from janus.audit.gitrepo import ZERO_SHA, Commit, GitRepo
from janus.model import ledger
from janus.model.request import NON_REQUEST_FILES, REQUESTS_DIR

LEDGER_SUBJECT = "janus: "
LEDGER_NON_ENTRIES = frozenset({"README.md", ".gitkeep"})
_NOREPLY = re.compile(r"(?:\d+\+)?(?P<login>[^@]+)@users\.noreply\.github\.com")


@dataclass(frozen=True)
class Finding:
    check: str
    message: str
    path: str | None = None
    commit: str | None = None


@dataclass(frozen=True)
class Report:
    findings: tuple[Finding, ...]
    ledger_commit: str
    requests_commit: str
    checked: dict[str, object] = field(default_factory=dict)


def is_bot(name: str, email: str, bots: Sequence[str] | None) -> bool:
    """Whether the identity *name* <*email*> is one of *bots* (None: any ``…[bot]``)."""
    logins = {name.strip().lower()}
    match = _NOREPLY.fullmatch(email.strip().lower())
    if match:
        logins.add(match.group("login"))
    if bots is None:
        return any(login.endswith("[bot]") for login in logins)
    wanted = {b.strip().lower() for b in bots}
    return bool(logins & wanted)


def ledger_commit_problems(commit: Commit, bots: Sequence[str] | None) -> list[str]:
    """Why *commit* (with its changes against its first parent) is not a ledger commit."""
    reasons = []
    if not is_bot(commit.author_name, commit.author_email, bots):
        reasons.append(f"author {commit.author_name} <{commit.author_email}> is not the App")
    if not is_bot(commit.committer_name, commit.committer_email, bots):
        reasons.append(f"committer {commit.committer_name} <{commit.committer_email}> is not "
                       "the App")
    if not commit.subject.startswith(LEDGER_SUBJECT):
        reasons.append(f"subject {commit.subject[:60]!r} is not a ledger message")
    if len(commit.parents) > 1:
        reasons.append("it is a merge")
    other = [c.path for c in commit.changes
             if not (c.path.startswith(f"{ledger.LEDGER_DIR}/")
                     or (c.path.startswith(f"{REQUESTS_DIR}/") and c.status == "D"))]
    if other:
        shown = ", ".join(other[:3]) + (f" and {len(other) - 3} more" if len(other) > 3 else "")
        reasons.append(f"it also changes {shown}")
    return reasons


# The check names: each finding carries one, and they appear verbatim in the report.
CHECK_STRAY = "stray-file"
CHECK_INVALID = "entry-invalid"
CHECK_DUPLICATE = "entry-duplicate"
CHECK_MERGE_MISSING = "merge-missing"
CHECK_MERGE_FILE = "merge-file"
CHECK_MERGE_NOT_ADDED = "merge-not-added"
CHECK_REMOVED = "removed-unrecorded"
CHECK_ENDED = "ended-still-present"
CHECK_FOREIGN = "foreign-commit"


def verify(repo: GitRepo, *, ref: str = "HEAD", ledger_ref: str | None = None,
           bots: Sequence[str] | None = None) -> Report:
    """Run every check (module docstring) on *ref*'s ``requests/`` and *ledger_ref*'s ledger.

    The checks run in a fixed order, so findings are listed in the same order on every run."""
    requests_commit = repo.resolve(ref)
    ledger_commit = repo.resolve(ledger_ref) if ledger_ref else requests_commit
    findings: list[Finding] = []

    entry_count, entries, found = _load_entries(repo, ledger_commit)
    findings += found
    merge_count, found = _check_duplicates(entries)
    findings += found
    findings += _check_merges(repo, requests_commit, entries)
    removed, found = _check_removed(repo, requests_commit, entries)
    findings += found
    # Only when requests/ and ledger/ share the branch: with a separate ledger ref the two
    # commits need not describe the same moment.
    if ledger_commit == requests_commit:
        findings += _check_ended(repo, requests_commit, entries)
    touching, writers, found = _check_writers(repo, ledger_commit, bots)
    findings += found

    checked = {"entries": entry_count, "merges": merge_count, "removedFiles": removed,
               "ledgerCommits": touching, "ledgerWriters": writers}
    return Report(tuple(findings), ledger_commit, requests_commit, checked)


def _load_entries(repo: GitRepo, ledger_commit: str
                  ) -> tuple[int, list[tuple[str, ledger.Entry]], list[Finding]]:
    """Every file under ledger/ is a valid entry at its own path.

    Returns how many files sit at entry paths, the entries that load, and the findings (stray
    files first, then invalid entries)."""
    findings: list[Finding] = []
    entries: list[tuple[str, ledger.Entry]] = []
    entry_files = []
    for path, blob in repo.ls_tree(ledger_commit, ledger.LEDGER_DIR):
        if ledger.parse_entry_path(path) is None:
            if path.rsplit("/", 1)[-1] not in LEDGER_NON_ENTRIES:
                findings.append(Finding(CHECK_STRAY, "not a ledger entry path (ledger/YYYY/MM/"
                                        "DD/<time>-pr<N>-<name>.yaml)", path))
            continue
        entry_files.append((path, blob))
    # One batched read for all entries rather than one git call per file.
    for (path, _), (_, data) in zip(entry_files,
                                    repo.read_blobs([b for _, b in entry_files]), strict=True):
        try:
            entries.append((path, ledger.loads(path, data)))
        except ledger.LedgerError as exc:
            findings.append(Finding(CHECK_INVALID, str(exc), path))
    return len(entry_files), entries, findings


def _check_duplicates(entries: Sequence[tuple[str, ledger.Entry]]) -> tuple[int, list[Finding]]:
    """Applied once: no merge of a file recorded twice. Returns the distinct merges counted."""
    findings: list[Finding] = []
    seen: dict[tuple[str, str], str] = {}
    for path, entry in entries:
        for merge in entry.merges():
            key = (merge, entry.request.path)
            if key in seen and seen[key] != path:
                findings.append(Finding(
                    CHECK_DUPLICATE, f"merge {merge[:12]} of {entry.request.path} is also "
                    f"recorded by {seen[key]}: applied twice", path, merge))
            seen.setdefault(key, path)
    return len(seen), findings


def _check_removed(repo: GitRepo, requests_commit: str,
                   entries: Sequence[tuple[str, ledger.Entry]]) -> tuple[int, list[Finding]]:
    """Each request file that left requests/ is recorded. Returns the removals counted."""
    findings: list[Finding] = []
    # A removal is recorded by the blob it removed: the original request or an extension.
    recorded = {(e.request.path, b) for _, e in entries
                for b in (e.request.blob_sha, *(x.blob_sha for x in e.extensions))}
    removed = 0
    for commit in repo.log(requests_commit, [f"{REQUESTS_DIR}/"], first_parent=True,
                           diff_filter="D"):
        for change in commit.changes:
            if change.status != "D" or change.path.rsplit("/", 1)[-1] in NON_REQUEST_FILES:
                continue
            removed += 1
            if (change.path, change.old_blob) not in recorded:
                findings.append(Finding(
                    CHECK_REMOVED, f"the request file left {REQUESTS_DIR}/ in this "
                    f"commit ({commit.author_name}: {commit.subject[:60]!r}) and no ledger "
                    f"entry records it (blob {change.old_blob[:12]})", change.path, commit.sha))
    return removed, findings


def _check_ended(repo: GitRepo, requests_commit: str,
                 entries: Sequence[tuple[str, ledger.Entry]]) -> list[Finding]:
    """Ended grants' request files are gone from requests/."""
    ended = {(e.request.path, e.current_blob()): path for path, e in entries if e.ended}
    return [Finding(CHECK_ENDED, f"{ended[(path, blob)]} says the grant ended, but its request "
                    "file is still here (a half-done ledger write)", path)
            for path, blob in repo.ls_tree(requests_commit, REQUESTS_DIR) if (path, blob) in ended]


def _check_writers(repo: GitRepo, ledger_commit: str, bots: Sequence[str] | None
                   ) -> tuple[int, dict[str, int], list[Finding]]:
    """Only ledger commits changed ledger/.

    Returns how many commits touched ledger/, the identities that wrote it (with their commit
    counts, for the report to name) and the findings."""
    findings: list[Finding] = []
    writers: dict[str, int] = {}
    touching = repo.log(ledger_commit, [f"{ledger.LEDGER_DIR}/"], changes=False,
                        full_history=True)
    for commit in touching:
        full = _with_own_changes(repo, commit)
        paths = [c.path for c in full.changes if c.path.startswith(f"{ledger.LEDGER_DIR}/")
                 and c.path.rsplit("/", 1)[-1] not in LEDGER_NON_ENTRIES]
        if not paths:
            # A README of ledger/ (anyone may write it), or a merge that only brought commits
            # of its parents (each is checked itself).
            continue
        reasons = ledger_commit_problems(full, bots)
        if reasons:
            findings.append(Finding(
                CHECK_FOREIGN, f"changed {', '.join(paths[:3])}"
                f"{' …' if len(paths) > 3 else ''} but is not a ledger commit: "
                + "; ".join(reasons), paths[0], commit.sha))
        else:
            who = f"{commit.committer_name} <{commit.committer_email}>"
            writers[who] = writers.get(who, 0) + 1
    return len(touching), writers, findings


def _with_own_changes(repo: GitRepo, commit: Commit) -> Commit:
    """*commit* with what it changed itself: against its parent, or for a merge only the paths
    whose result differs from every parent (what the merge made, not what it brought in)."""
    if len(commit.parents) <= 1:
        changes = repo.diff_tree(commit.sha, commit.parents[0] if commit.parents else None)
    else:
        per_parent = [{c.path: c for c in repo.diff_tree(commit.sha, p)} for p in commit.parents]
        own = set(per_parent[0]).intersection(*per_parent[1:])
        changes = [c for path, c in per_parent[0].items() if path in own]
    return Commit(commit.sha, commit.parents, commit.author_name, commit.author_email,
                  commit.committer_name, commit.committer_email, commit.committed_at,
                  commit.subject, tuple(changes))


def _check_merges(repo: GitRepo, requests_commit: str,
                  entries: Sequence[tuple[str, ledger.Entry]]) -> list[Finding]:
    """Each recorded merge (and extension) is in the history and brought the recorded blob."""
    findings: list[Finding] = []
    history = repo.commits(requests_commit)
    checks: list[tuple[str, str, str, str]] = []  # entry path, merge commit, request path, blob
    for path, entry in entries:
        if entry.merge.commit is None or entry.request.blob_sha is None:
            continue  # an outage break-glass grant: no merge, no file, nothing in git to check
        checks.append((path, entry.merge.commit, entry.request.path, entry.request.blob_sha))
        checks += [(path, x.merge.commit, entry.request.path, x.blob_sha)
                   for x in entry.extensions if x.merge.commit is not None]
    names = []
    for _, commit, request_path, _ in checks:
        names += [f"{commit}:{request_path}", f"{commit}^1:{request_path}"]
    ids = repo.object_ids(names)
    for i, (path, commit, request_path, blob) in enumerate(checks):
        at_merge, before = ids[2 * i], ids[2 * i + 1]
        if commit not in history:
            findings.append(Finding(CHECK_MERGE_MISSING, f"merge commit {commit[:12]} is not in "
                                    "the history of the branch", path, commit))
        elif at_merge != blob:
            found = "no such file" if at_merge is None else f"blob {at_merge[:12]}"
            findings.append(Finding(CHECK_MERGE_FILE, f"merge {commit[:12]} has {found} at "
                                    f"{request_path}, the entry records blob {blob[:12]}",
                                    path, commit))
        elif before == blob:
            findings.append(Finding(CHECK_MERGE_NOT_ADDED, f"merge {commit[:12]} did not bring "
                                    f"{request_path}: its first parent already had it", path,
                                    commit))
    return findings


__all__ = ["LEDGER_SUBJECT", "ZERO_SHA", "Finding", "Report", "is_bot",
           "ledger_commit_problems", "verify"]
