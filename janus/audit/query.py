"""Who had — or was waiting for — which access at an instant or during a period.

The answer comes from the ledger entries (:mod:`janus.model.ledger`), each one grant from the
merge that made it to its end, and from the history of ``requests/`` for request files that
never got an entry (merged, waiting for the receiver, or never granted). Each grant has two
intervals, half-open:

* *pending*  ``[merged at, granted at)`` — approved and merged, not yet usable (or it failed);
* *access*   ``[granted at, ended at)`` — usable; without a recorded end it runs to ``expiresAt``
  (the controller removes access then), or is open when even that is unknown.

A grant is listed once, as ``access`` when its access interval meets the window, else as
``pending`` when its pending interval does. :func:`select` is pure; :func:`audit` reads the clone.

Reading 100,000 entries fully would take seconds of YAML parsing, so :func:`audit` first narrows
them without parsing: an entry's path carries its merge time (a merge after the window cannot
matter) and the stable layout of :func:`janus.model.ledger.dump` puts the end time on a line of
its own (an entry ended before the window cannot matter). Only the remaining entries are loaded,
strictly. What that scan learns is kept in a small cache in the clone's git folder keyed by blob
id (a blob never changes, so the cache is never stale); ``use_cache=False`` skips it.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import os
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from janus.audit.gitrepo import GitRepo, RepoError
from janus.model import ledger
from janus.model.request import NON_REQUEST_FILES, REQUESTS_DIR, Request, load_request

# Kinds and states of a row.
ACCESS = "access"
PENDING = "pending"
# "active" / "approved": the ledger has no end (yet); "merged": a request file without an entry.
STATES = ("active", "approved", "merged", *ledger.END_HOWS)

_CACHE_NAME = "janus-audit-scan"
_CACHE_HEADER = b"janus-audit-scan v1"
# An entry in `git ls-tree -r -z` output, with its merge stamp and AccessRequest name: the
# shape of janus.model.ledger.entry_path (tests check both agree), matched over the whole
# listing at once — 100,000 paths through ledger.parse_entry_path one by one take ~0.3 s.
_TREE_ENTRY = re.compile(
    rb"[0-7]{6} blob ([0-9a-f]{40}(?:[0-9a-f]{24})?)\t(ledger/\d{4}/\d{2}/\d{2}/"
    rb"(\d{8}T\d{6}Z)-pr\d+-([a-z0-9-]+)\.yaml)\0")
# The end time as ledger.dump writes it: "end:" at the top level, "  at: <time>" inside it.
_END_AT = re.compile(
    rb"^end:\n(?:  [^\n]*\n)*?  at: '?(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z)'?$", re.M)


@dataclass(frozen=True)
class Window:
    """``[since, until]``; an instant when both are equal."""

    since: dt.datetime
    until: dt.datetime

    @classmethod
    def at(cls, moment: dt.datetime) -> Window:
        return cls(moment, moment)

    @property
    def instant(self) -> bool:
        return self.since == self.until

    def meets(self, start: dt.datetime | None, stop: dt.datetime | None) -> bool:
        """Whether ``[start, stop)`` (stop None: open) meets the window."""
        if start is None:
            return False
        if self.instant:
            return start <= self.since and (stop is None or stop > self.since)
        return start < self.until and (stop is None or stop > self.since)


@dataclass(frozen=True)
class Filters:
    cluster: str | None = None
    namespace: str | None = None
    user: str | None = None

    def admit(self, requester: str, cluster: str, namespace: str) -> bool:
        return ((self.cluster is None or cluster == self.cluster)
                and (self.namespace is None or namespace == self.namespace)
                and (self.user is None or requester.lower() == self.user.lower()))


@dataclass(frozen=True)
class PendingFile:
    """A request file on the branch with no ledger entry: merged, never recorded."""

    path: str
    blob: str
    added_at: dt.datetime | None    # the commit that brought it (None: before the window)
    removed_at: dt.datetime | None  # the commit that took it away (None: still there)
    request: Request | None         # None when the file is not a valid request
    commit: str | None = None       # the commit that brought it (a PR's merge commit)


@dataclass(frozen=True)
class Row:
    """One line of the answer: a grant from the ledger, or a request file without an entry."""

    kind: str                       # ACCESS | PENDING
    state: str                      # one of STATES
    entry_path: str | None = None
    entry: ledger.Entry | None = None
    file: PendingFile | None = None

    @property
    def requester(self) -> str:
        if self.entry is not None:
            return self.entry.request.requester
        return self.file.request.requester if self.file and self.file.request else ""

    @property
    def cluster(self) -> str:
        if self.entry is not None:
            return self.entry.request.cluster
        parts = self.file.path.split("/") if self.file else []
        return parts[1] if len(parts) == 4 else ""

    @property
    def namespace(self) -> str:
        if self.entry is not None:
            return self.entry.request.namespace
        parts = self.file.path.split("/") if self.file else []
        return parts[2] if len(parts) == 4 else ""

    @property
    def start(self) -> str:
        """When the row's interval starts (granted, else merged/added), as ledger time text."""
        if self.entry is not None:
            return self.entry.granted_at or self.entry.merge.merged_at
        added = self.file.added_at if self.file else None
        return ledger.fmt_time(added) if added else ""


@dataclass(frozen=True)
class Answer:
    """The rows, and the entries that could not be read (the answer may miss those)."""

    rows: tuple[Row, ...]
    problems: tuple[str, ...] = ()
    ledger_commit: str = ""
    requests_commit: str = ""
    entries_total: int = 0
    entries_loaded: int = 0
    cache: str = "off"              # off | cold | warm


# -- the pure part ----------------------------------------------------------------------------


def _time(text: str | None) -> dt.datetime | None:
    return ledger.parse_time(text) if text else None


def intervals(entry: ledger.Entry) -> tuple[tuple[dt.datetime | None, dt.datetime | None],
                                            tuple[dt.datetime | None, dt.datetime | None]]:
    """(pending, access) intervals of *entry*, each ``(start, stop)``; stop None = open."""
    merged = _time(entry.merge.merged_at)
    granted = _time(entry.granted_at)
    ended = _time(entry.end.at) if entry.end else None
    stop = ended if ended is not None else _time(entry.expires_at)
    pending = (merged, granted if granted is not None else ended)
    access = (granted, stop) if granted is not None else (None, None)
    return pending, access


def state_of(entry: ledger.Entry) -> str:
    if entry.end is not None:
        return entry.end.how
    return "active" if entry.granted_at else "approved"


def select(entries: Iterable[tuple[str, ledger.Entry]], files: Iterable[PendingFile],
           window: Window, filters: Filters = Filters()) -> list[Row]:
    """The rows for *window*: each entry (path, entry) whose access or pending interval meets
    it, and each request file without an entry whose time in the branch meets it; sorted by
    cluster, namespace, start, requester."""
    rows: list[Row] = []
    for path, entry in entries:
        r = entry.request
        if not filters.admit(r.requester, r.cluster, r.namespace):
            continue
        pending, access = intervals(entry)
        if window.meets(*access):
            rows.append(Row(ACCESS, state_of(entry), path, entry))
        elif window.meets(*pending):
            rows.append(Row(PENDING, state_of(entry), path, entry))
    for file in files:
        start = file.added_at or dt.datetime.min.replace(tzinfo=dt.UTC)
        if not window.meets(start, file.removed_at):
            continue
        row = Row(PENDING, "merged", file=file)
        if filters.admit(row.requester, row.cluster, row.namespace):
            rows.append(row)
    rows.sort(key=lambda row: (row.cluster, row.namespace, row.start, row.requester,
                               row.entry_path or ""))
    return rows


def end_at_of(data: bytes) -> str | None:
    """The end time written in an entry's bytes (the stable layout of ledger.dump), without
    parsing the YAML; None when there is none (or the layout is not the stable one — then the
    caller loads the entry fully, so a hand-formatted entry is never skipped wrongly)."""
    match = _END_AT.search(data)
    return match.group(1).decode() if match else None


def _entry_blobs(entry: ledger.Entry) -> set[str]:
    return {b for b in (entry.request.blob_sha, *(e.blob_sha for e in entry.extensions)) if b}


# -- reading the clone ------------------------------------------------------------------------


def audit(repo: GitRepo, window: Window, filters: Filters = Filters(), *, ref: str = "HEAD",
          ledger_ref: str | None = None, use_cache: bool = True) -> Answer:
    """Answer for *window* from *repo*: the ledger at *ledger_ref* (default: *ref*), request
    files from the first-parent history of *ref*."""
    requests_commit = repo.resolve(ref)
    ledger_commit = repo.resolve(ledger_ref) if ledger_ref else requests_commit
    # (blob, path, merge stamp, AccessRequest name) of every entry, as bytes.
    entries = _TREE_ENTRY.findall(repo.ls_tree_raw(ledger_commit, ledger.LEDGER_DIR))
    until_stamp = window.until.strftime("%Y%m%dT%H%M%SZ").encode()
    # Merged after the window: it cannot matter.
    entry_files = [(blob, path) for blob, path, stamp, _ in entries if stamp <= until_stamp]

    cache = _ScanCache(repo.git_dir if use_cache else None)
    ends = cache.end_at
    since = ledger.fmt_time(window.since).encode()
    unknown = list(dict.fromkeys(blob for blob, _ in entry_files if blob not in ends))
    contents: dict[bytes, bytes] = {}
    for blob, buffer, start, stop in repo.locate_blobs(unknown):
        match = _END_AT.search(buffer, start, stop)
        end = ends[blob] = match.group(1) if match else None
        if end is None or end > since:  # kept only if it may be in the answer
            contents[blob] = buffer[start:stop]
    cache.note(scanned=len(unknown), total=len(entry_files))
    cache.save(lambda: {blob for blob, *_ in entries})

    # Ended before the window: it cannot matter either. The rest is loaded strictly.
    wanted = [(path, blob) for blob, path in entry_files
              if (end := ends.get(blob)) is None or end > since]
    contents.update(repo.read_blobs([b for b in dict.fromkeys(b for _, b in wanted)
                                     if b not in contents]))
    loaded, problems = _load([(p.decode(), contents[b]) for p, b in wanted])

    pending_files = _pending_files(repo, requests_commit, window, entries, loaded)
    rows = select(loaded, pending_files, window, filters)
    return Answer(tuple(rows), tuple(problems), ledger_commit, requests_commit,
                  entries_total=len(entries), entries_loaded=len(loaded), cache=cache.state)


def _load(files: Sequence[tuple[str, bytes]]
          ) -> tuple[list[tuple[str, ledger.Entry]], list[str]]:
    loaded, problems = [], []
    for path, data in files:
        try:
            loaded.append((path, ledger.loads(path, data)))
        except ledger.LedgerError as exc:
            problems.append(f"{path}: not a valid ledger entry ({exc}); it is left out")
    return loaded, problems


def _entries_named(entries: Sequence[tuple[bytes, bytes, bytes, bytes]],
                   names: Iterable[str]) -> list[tuple[str, bytes]]:
    """(path, blob) of the *entries* (``_TREE_ENTRY`` matches) of these AccessRequests."""
    wanted = {n.encode() for n in names if n}
    if not wanted:
        return []
    return [(path.decode(), blob) for blob, path, _, name in entries if name in wanted]


def _pending_files(repo: GitRepo, commit: str, window: Window,
                   entries: Sequence[tuple[bytes, bytes, bytes, bytes]],
                   loaded: list[tuple[str, ledger.Entry]]) -> list[PendingFile]:
    """Request files on *commit*'s first-parent line during *window* that no entry records."""
    present: dict[tuple[str, str], PendingFile] = {}
    start = repo.commit_at(commit, window.since)
    if start is not None:
        for path, blob in repo.ls_tree(start, REQUESTS_DIR):
            present[(path, blob)] = PendingFile(path, blob, None, None, None)
    if not window.instant:
        history = repo.log(commit, [f"{REQUESTS_DIR}/"], first_parent=True,
                           since=window.since, until=window.until)
        for change_commit in reversed(history):  # oldest first
            if not (window.since < change_commit.committed_at <= window.until):
                continue
            for change in change_commit.changes:
                if change.old_blob != "0" * 40 and (change.path, change.old_blob) in present:
                    old = present[(change.path, change.old_blob)]
                    if old.removed_at is None:
                        present[(change.path, change.old_blob)] = dataclasses.replace(
                            old, removed_at=change_commit.committed_at)
                if change.status in "AMT" and change.new_blob != "0" * 40:
                    present.setdefault((change.path, change.new_blob), PendingFile(
                        change.path, change.new_blob, change_commit.committed_at, None, None,
                        change_commit.sha))
    candidates = [f for f in present.values()
                  if f.path.rsplit("/", 1)[-1] not in NON_REQUEST_FILES]
    if not candidates:
        return []
    # Which of them an entry records: those loaded, else the entries of the same
    # AccessRequest name (ended before the window, so not loaded; rare).
    recorded: set[tuple[str, str]] = {(e.request.path, b) for _, e in loaded
                                      for b in _entry_blobs(e)}
    open_files = [f for f in candidates if (f.path, f.blob) not in recorded]
    seen_paths = {p for p, _ in loaded}
    names = [ledger.access_request_of(f.path) or "" for f in open_files]
    others = [(path, entry_blob) for path, entry_blob in _entries_named(entries, names)
              if path not in seen_paths]
    texts_of = dict(repo.read_blobs([entry_blob for _, entry_blob in others]))
    for path, entry_blob in others:
        try:
            entry = ledger.loads(path, texts_of[entry_blob])
        except ledger.LedgerError:
            continue  # reported by `janus audit verify`
        recorded.update((entry.request.path, b) for b in _entry_blobs(entry))
    unrecorded = [f for f in candidates if (f.path, f.blob) not in recorded]
    texts = dict(repo.read_blobs(sorted({f.blob for f in unrecorded})))
    brought = _brought(repo, start, [f for f in unrecorded if f.commit is None])
    out = []
    for f in unrecorded:
        request, _ = load_request(f.path, texts[f.blob])
        added_at, brought_by = (f.added_at, f.commit) if f.commit else brought.get(
            (f.path, f.blob), (None, None))
        out.append(PendingFile(f.path, f.blob, added_at, f.removed_at, request, brought_by))
    return out


def _brought(repo: GitRepo, commit: str | None, files: Sequence[PendingFile]
             ) -> dict[tuple[str, str], tuple[dt.datetime, str]]:
    """(path, blob) → (time, commit) of the first-parent commit up to *commit* that brought
    each file in that version (one ``git log`` over those paths)."""
    if commit is None or not files:
        return {}
    wanted = {(f.path, f.blob) for f in files}
    paths = sorted({f.path for f in files}) if len(files) <= 200 else [f"{REQUESTS_DIR}/"]
    found: dict[tuple[str, str], tuple[dt.datetime, str]] = {}
    for c in repo.log(commit, paths, first_parent=True, diff_filter="AMT"):
        for change in c.changes:
            key = (change.path, change.new_blob)
            if key in wanted and key not in found:
                found[key] = (c.committed_at, c.sha)
        if len(found) == len(wanted):
            break
    return found


class _ScanCache:
    """blob id → end time (or None) as :func:`end_at_of` finds it, both as bytes, in
    ``<git dir>/janus-audit-scan``: a header line, then ``<blob id> <end time or ->`` per line.

    Written atomically (temporary file + rename) and only when it learned something; a file of
    any other shape, or one that cannot be read or written, is ignored — it only saves time."""

    def __init__(self, git_dir: Path | None) -> None:
        self.path = git_dir / _CACHE_NAME if git_dir is not None else None
        self.end_at: dict[bytes, bytes | None] = {}
        self.state = "off"
        self._known = 0
        if self.path is None:
            return
        try:
            lines = self.path.read_bytes().split(b"\n")
        except OSError:
            lines = []
        body = lines[1:-1]
        if lines and lines[0] == _CACHE_HEADER and lines[-1] == b"" and all(
                len(line) in (42, 61) and line[40:41] == b" " for line in body):
            self.end_at = {line[:40]: (None if line[41:] == b"-" else line[41:])
                           for line in body}
        self._known = len(self.end_at)
        self.state = "cold"

    def note(self, scanned: int, total: int) -> None:
        """Say how much the cache saved: warm (every entry known), partly, or cold."""
        if self.path is not None:
            self.state = "warm" if scanned == 0 else ("cold" if scanned >= total else "partly")

    def save(self, keep_of: Callable[[], set[bytes]]) -> None:
        """Write the cache if it learned something, keeping the blobs of *keep_of()* (the
        current tree's entries: older versions are dropped)."""
        if self.path is None or len(self.end_at) == self._known:
            return
        keep = keep_of()
        lines = [_CACHE_HEADER, *(blob + b" " + (end or b"-") for blob, end in
                                  self.end_at.items() if blob in keep and len(blob) == 40), b""]
        tmp = self.path.with_name(f"{self.path.name}.{os.getpid()}.tmp")
        try:
            tmp.write_bytes(b"\n".join(lines))
            os.replace(tmp, self.path)
        except OSError:
            try:
                tmp.unlink()
            except OSError:
                pass


__all__ = ["ACCESS", "PENDING", "STATES", "Answer", "Filters", "PendingFile", "RepoError",
           "Row", "Window", "audit", "end_at_of", "intervals", "select", "state_of"]
