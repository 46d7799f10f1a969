"""The ledger (docs/design.md §11): one YAML entry per grant in the access repo, under ``ledger/``.

Pure model, no I/O: the entry dataclasses, the deterministic path of an entry, a stable YAML
serialisation (sorted keys, fixed layout: the same entry always gives the same bytes, so
re-writing an unchanged entry makes no commit), a strict loader (safe YAML, unknown or
mistyped keys refused) and the one-line commit messages.

An entry is keyed by the *merge* that created the grant: its path is derived from the merge time,
the PR number and the AccessRequest name, so it sorts by time in a plain ``ls -R`` and the
receiver can tell from the merge alone whether it was already applied. Extensions (a later merge
of the same file while the grant is live) are recorded in the entry of the grant they extend,
with their own merge commit, so "merge commit + path already recorded" covers them too.
A break-glass grant's entry has a ``breakGlass`` block (how it came about, its review); an
*outage* break-glass grant (a cluster admin's, while GitHub was away) has no merge at all:
``pullRequest: 0``, no merge commit, no blob — the only entry allowed to lack them.

The format is described for other tools in docs (``/tmp/janus-coord/LEDGER_FORMAT.md`` during
development); ``version`` is bumped on any incompatible change.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import yaml

from janus import names
from janus.model.safe_yaml import YamlError, load

VERSION = 1
KIND = "LedgerEntry"
LEDGER_DIR = "ledger"
# Entries Janus writes itself; sessions make them grow (about 300 bytes each).
MAX_ENTRY_BYTES = 1024 * 1024

END_HOWS = ("expired", "revoked", "failed", "deleted")
END_VIAS = ("web", "cli", "pr-comment", "file-deletion", "reconcile", "controller", "kubernetes")
# How a break-glass grant came about: Janus merged an allowed break-glass PR, or a cluster admin
# created the AccessRequest with `janus break-glass` while GitHub was away (no PR, no file).
BREAK_GLASS_VIAS = ("pull-request", "outage")

_TIME = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z")
_SHA = re.compile(r"[0-9a-f]{40}(?:[0-9a-f]{24})?")
_SHA256 = re.compile(r"[0-9a-f]{64}")
# Characters a reviewer cannot see (see janus.model.safe_yaml): replaced before they are written.
_INVISIBLE = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]")
_MAX_TEXT = 2000


class LedgerError(ValueError):
    """An entry file that is not a valid ledger entry; the message says where and why."""


# ---- times ----------------------------------------------------------------------------------


def fmt_time(moment: dt.datetime) -> str:
    """``2026-11-30T01:43:10Z`` (whole seconds, UTC; a naive datetime is UTC already)."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=dt.UTC)
    return moment.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_time(text: str) -> dt.datetime:
    if not _TIME.fullmatch(text):
        raise ValueError(f"{text!r} is not a UTC time like 2026-11-30T01:43:10Z")
    return dt.datetime.strptime(text, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=dt.UTC)


def clean_text(text: str | None, limit: int = _MAX_TEXT) -> str | None:
    """Free text as it may be written: invisible characters replaced, cut to *limit*."""
    if text is None:
        return None
    return _INVISIBLE.sub("\ufffd", text)[:limit]


# ---- the entry --------------------------------------------------------------------------------


@dataclass(frozen=True)
class RequestRecord:
    """The request file as merged: where it was, its blob, and what it asked for."""

    path: str
    blob_sha: str | None  # None only for an outage break-glass grant (no file was merged)
    name: str
    requester: str
    cluster: str
    namespace: str
    role: str
    duration: str
    reason: str
    ticket: str | None = None


@dataclass(frozen=True)
class MergeRecord:
    """The merge that made the grant (or an extension): PR, merge commit, who merged, approvers."""

    repo: str
    pull_request: int
    commit: str | None  # None only for an outage break-glass grant (pullRequest 0: no merge)
    merged_at: str
    merged_by: str | None
    approvers: tuple[str, ...] = ()


@dataclass(frozen=True)
class Extension:
    """A later merge of the same file while the grant was live."""

    merge: MergeRecord
    blob_sha: str
    duration: str
    expires_at: str | None = None


@dataclass(frozen=True)
class End:
    """How and when the grant ended. ``via`` is the path the end took (web, cli, pr-comment,
    file-deletion, reconcile; controller for an expiry or a failure; kubernetes for a CR
    deleted while live)."""

    how: str
    at: str
    by: str | None = None
    reason: str | None = None
    via: str | None = None
    message: str | None = None


@dataclass(frozen=True)
class Recording:
    size: int
    sha256: str


@dataclass(frozen=True)
class Session:
    """One terminal session opened on the grant."""

    id: str
    user: str
    pod: str
    container: str
    opened: str
    closed: str | None = None
    close_reason: str | None = None
    bytes_in: int = 0
    bytes_out: int = 0
    recording: Recording | None = None


@dataclass(frozen=True)
class Acknowledgement:
    """A reviewer's ``/janus ack <comment>`` that closed a break-glass review."""

    by: str
    at: str
    comment: str


@dataclass(frozen=True)
class BreakGlass:
    """The grant was break-glass: granted without approval, reviewed afterwards. ``via``
    pull-request (Janus merged the PR) or outage (``by`` a cluster admin, ``reason`` theirs,
    ``at`` when the AccessRequest was created, while GitHub was away). The review: its issue,
    when it was due, when it was flagged overdue, and its acknowledgement. Each fact is set once:
    the first recorded value stands (see :meth:`merged`)."""

    via: str
    review_due: str | None = None
    review_issue: int | None = None
    by: str | None = None
    reason: str | None = None
    at: str | None = None
    overdue_at: str | None = None
    acknowledged: Acknowledgement | None = None

    def merged(self, later: BreakGlass) -> BreakGlass:
        """This record with what *later* adds; a field already recorded is never changed (an
        overdue flag or an acknowledgement happens once; a replay repeats, never rewrites)."""
        values = {f.name: getattr(self, f.name) if getattr(self, f.name) is not None
                  else getattr(later, f.name) for f in dataclasses.fields(self)}
        return BreakGlass(**values)


@dataclass(frozen=True)
class Entry:
    """One grant, from the merge that made it to its end."""

    request: RequestRecord
    merge: MergeRecord
    access_request: str
    granted_at: str | None = None
    expires_at: str | None = None
    extensions: tuple[Extension, ...] = ()
    end: End | None = None
    sessions: tuple[Session, ...] = ()
    break_glass: BreakGlass | None = None

    @property
    def path(self) -> str:
        return entry_path(self.merge.merged_at, self.merge.pull_request, self.access_request)

    @property
    def ended(self) -> bool:
        return self.end is not None

    def merges(self) -> tuple[str, ...]:
        """Every merge commit applied through this entry (the grant's and its extensions');
        none for an outage break-glass grant."""
        own = () if self.merge.commit is None else (self.merge.commit,)
        return (*own, *(e.merge.commit for e in self.extensions if e.merge.commit is not None))

    def records(self, merge_commit: str, path: str) -> bool:
        """True when the merge *merge_commit* of *path* is recorded here (applied once, ever)."""
        return self.request.path == path and merge_commit in self.merges()

    def current_blob(self) -> str | None:
        """The blob of the request file as last applied (the latest extension's, or the
        grant's): the file Janus removes from ``requests/`` when the grant ends."""
        return self.extensions[-1].blob_sha if self.extensions else self.request.blob_sha

    def with_extension(self, ext: Extension) -> Entry:
        if ext.merge.commit in self.merges():
            return self
        return dataclasses.replace(self, extensions=(*self.extensions, ext),
                                   expires_at=ext.expires_at or self.expires_at)

    def with_end(self, end: End) -> Entry:
        """The first recorded end stands (a grant ends once)."""
        return self if self.end is not None else dataclasses.replace(self, end=end)

    def with_break_glass(self, record: BreakGlass) -> Entry:
        """The break-glass facts merged in (first recorded value of each stands)."""
        merged = record if self.break_glass is None else self.break_glass.merged(record)
        return self if merged == self.break_glass else dataclasses.replace(self,
                                                                            break_glass=merged)

    def with_sessions(self, sessions: Iterable[Session]) -> Entry:
        """Sessions merged by id; a later report of the same session replaces the earlier."""
        by_id = {s.id: s for s in self.sessions}
        for s in sessions:
            by_id[s.id] = s
        ordered = sorted(by_id.values(), key=lambda s: (s.opened, s.id))
        return dataclasses.replace(self, sessions=tuple(ordered))


# ---- paths ------------------------------------------------------------------------------------


def entry_path(merged_at: str | dt.datetime, pull_request: int, access_request: str) -> str:
    """``ledger/2026/11/30/20261130T014310Z-pr12-<cr-name>.yaml``: sortable by merge time,
    deterministic from the merge (merge time, PR number) and the AccessRequest name."""
    moment = parse_time(merged_at) if isinstance(merged_at, str) else merged_at
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=dt.UTC)
    moment = moment.astimezone(dt.UTC)
    return (f"{LEDGER_DIR}/{moment:%Y/%m/%d}/{moment:%Y%m%dT%H%M%SZ}"
            f"-pr{int(pull_request)}-{access_request}.yaml")


_ENTRY_NAME = re.compile(
    r"ledger/\d{4}/\d{2}/\d{2}/(?P<stamp>\d{8}T\d{6}Z)-pr(?P<pr>\d+)-(?P<cr>[a-z0-9-]+)\.yaml"
)


def parse_entry_path(path: str) -> tuple[str, int, str] | None:
    """(merge stamp, PR number, AccessRequest name) of an entry path, None for other paths."""
    m = _ENTRY_NAME.fullmatch(path)
    if m is None:
        return None
    return m.group("stamp"), int(m.group("pr")), m.group("cr")


def access_request_of(request_path: str) -> str | None:
    """The AccessRequest name of ``requests/<cluster>/<namespace>/<name>.yaml``."""
    parts = request_path.split("/")
    if len(parts) != 4 or parts[0] != "requests" or not parts[3].endswith(".yaml"):
        return None
    return names.access_request_name(parts[1], parts[2], parts[3][: -len(".yaml")])


# ---- serialisation ----------------------------------------------------------------------------

def _camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(p.capitalize() for p in rest)


def _to_doc(obj: Any) -> Any:
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        doc: dict[str, Any] = {}
        for f in dataclasses.fields(obj):
            value = getattr(obj, f.name)
            if value is None:
                continue
            if isinstance(value, tuple) and not value and f.name in ("extensions", "sessions"):
                continue
            doc[_camel(f.name)] = _to_doc(value)
        return doc
    if isinstance(obj, tuple):
        return [_to_doc(v) for v in obj]
    return obj


def to_document(entry: Entry) -> dict[str, Any]:
    body = _to_doc(entry)
    return {"version": VERSION, "kind": KIND, **body}


class _Dumper(yaml.SafeDumper):
    pass


def _str_presenter(dumper: yaml.SafeDumper, value: str) -> yaml.ScalarNode:
    style = "|" if "\n" in value else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)


_Dumper.add_representer(str, _str_presenter)


def dump(entry: Entry) -> bytes:
    """The entry as YAML bytes: sorted keys, block style, UTF-8; stable for equal entries."""
    text = yaml.dump(to_document(entry), Dumper=_Dumper, sort_keys=True,
                     default_flow_style=False, allow_unicode=True, width=100)
    return text.encode("utf-8")


# ---- strict loading ---------------------------------------------------------------------------


class _Reader:
    """Field-by-field reading of one mapping: every key known, every value of its type."""

    def __init__(self, where: str, doc: object) -> None:
        if not isinstance(doc, dict):
            raise LedgerError(f"{where}: expected a mapping, got {type(doc).__name__}")
        self.where, self.doc = where, doc
        self.used: set[str] = set()

    def _get(self, key: str, required: bool) -> Any:
        self.used.add(key)
        if key not in self.doc or self.doc[key] is None:
            if required:
                raise LedgerError(f"{self.where}.{key}: missing")
            return None
        return self.doc[key]

    def text(self, key: str, required: bool = True, pattern: re.Pattern[str] | None = None,
             choices: tuple[str, ...] | None = None) -> Any:
        value = self._get(key, required)
        if value is None:
            return None
        if not isinstance(value, str):
            raise LedgerError(f"{self.where}.{key}: expected text, got {type(value).__name__}")
        if pattern is not None and not pattern.fullmatch(value):
            raise LedgerError(f"{self.where}.{key}: {value!r} is not of the expected form")
        if choices is not None and value not in choices:
            raise LedgerError(f"{self.where}.{key}: {value!r} is not one of {', '.join(choices)}")
        return value

    def time(self, key: str, required: bool = True) -> Any:
        return self.text(key, required, _TIME)

    def integer(self, key: str, required: bool = True) -> Any:
        value = self._get(key, required)
        if value is None:
            return None
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            raise LedgerError(f"{self.where}.{key}: expected a non-negative integer")
        return value

    def items(self, key: str) -> list[Any]:
        value = self._get(key, False)
        if value is None:
            return []
        if not isinstance(value, list):
            raise LedgerError(f"{self.where}.{key}: expected a list")
        return value

    def texts(self, key: str) -> tuple[str, ...]:
        values = self.items(key)
        if not all(isinstance(v, str) for v in values):
            raise LedgerError(f"{self.where}.{key}: expected a list of text")
        return tuple(values)

    def sub(self, key: str, required: bool = True) -> _Reader | None:
        value = self._get(key, required)
        return None if value is None else _Reader(f"{self.where}.{key}", value)

    def done(self) -> None:
        unknown = sorted(set(self.doc) - self.used)
        if unknown:
            raise LedgerError(f"{self.where}: unknown key(s) {', '.join(map(str, unknown))}")


def _merge(r: _Reader) -> MergeRecord:
    m = MergeRecord(repo=r.text("repo"), pull_request=r.integer("pullRequest"),
                    commit=r.text("commit", required=False, pattern=_SHA),
                    merged_at=r.time("mergedAt"),
                    merged_by=r.text("mergedBy", required=False),
                    approvers=r.texts("approvers"))
    r.done()
    return m


def _request(r: _Reader) -> RequestRecord:
    req = RequestRecord(path=r.text("path"),
                        blob_sha=r.text("blobSha", required=False, pattern=_SHA),
                        name=r.text("name"), requester=r.text("requester"),
                        cluster=r.text("cluster"), namespace=r.text("namespace"),
                        role=r.text("role"), duration=r.text("duration"),
                        reason=r.text("reason"), ticket=r.text("ticket", required=False))
    r.done()
    return req


def _extension(r: _Reader) -> Extension:
    merge = _sub(r, "merge", _merge)
    ext = Extension(merge=merge, blob_sha=r.text("blobSha", pattern=_SHA),
                    duration=r.text("duration"), expires_at=r.time("expiresAt", required=False))
    r.done()
    return ext


def _end(r: _Reader) -> End:
    end = End(how=r.text("how", choices=END_HOWS), at=r.time("at"),
              by=r.text("by", required=False), reason=r.text("reason", required=False),
              via=r.text("via", required=False, choices=END_VIAS),
              message=r.text("message", required=False))
    r.done()
    return end


def _session(r: _Reader) -> Session:
    rec = r.sub("recording", required=False)
    recording = None
    if rec is not None:
        recording = Recording(size=rec.integer("size"), sha256=rec.text("sha256", pattern=_SHA256))
        rec.done()
    s = Session(id=r.text("id"), user=r.text("user"), pod=r.text("pod"),
                container=r.text("container"), opened=r.time("opened"),
                closed=r.time("closed", required=False),
                close_reason=r.text("closeReason", required=False),
                bytes_in=r.integer("bytesIn", required=False) or 0,
                bytes_out=r.integer("bytesOut", required=False) or 0, recording=recording)
    r.done()
    return s


def _break_glass(r: _Reader) -> BreakGlass:
    ack = r.sub("acknowledged", required=False)
    acknowledged = None
    if ack is not None:
        acknowledged = Acknowledgement(by=ack.text("by"), at=ack.time("at"),
                                       comment=ack.text("comment"))
        ack.done()
    bg = BreakGlass(via=r.text("via", choices=BREAK_GLASS_VIAS),
                    review_due=r.time("reviewDue", required=False),
                    review_issue=r.integer("reviewIssue", required=False),
                    by=r.text("by", required=False), reason=r.text("reason", required=False),
                    at=r.time("at", required=False), overdue_at=r.time("overdueAt",
                                                                       required=False),
                    acknowledged=acknowledged)
    r.done()
    return bg


def _sub(r: _Reader, key: str, build: Any) -> Any:
    sub = r.sub(key)
    assert sub is not None
    return build(sub)


def from_document(doc: object, where: str = "entry") -> Entry:
    r = _Reader(where, doc)
    if r.integer("version") != VERSION:
        raise LedgerError(f"{where}.version: only version {VERSION} is known")
    r.text("kind", choices=(KIND,))
    entry = Entry(
        request=_sub(r, "request", _request),
        merge=_sub(r, "merge", _merge),
        access_request=r.text("accessRequest"),
        granted_at=r.time("grantedAt", required=False),
        expires_at=r.time("expiresAt", required=False),
        extensions=tuple(_extension(_Reader(f"{where}.extensions[{i}]", e))
                         for i, e in enumerate(r.items("extensions"))),
        end=None if (end := r.sub("end", required=False)) is None else _end(end),
        sessions=tuple(_session(_Reader(f"{where}.sessions[{i}]", s))
                       for i, s in enumerate(r.items("sessions"))),
        break_glass=None if (bg := r.sub("breakGlass", required=False)) is None
        else _break_glass(bg),
    )
    r.done()
    if entry.break_glass is None and (entry.merge.commit is None
                                      or entry.request.blob_sha is None):
        raise LedgerError(f"{where}: only an outage break-glass entry has no merge commit or "
                          "blob")
    if entry.break_glass is not None and entry.break_glass.via == "outage" \
            and entry.merge.pull_request != 0:
        raise LedgerError(f"{where}.merge.pullRequest: an outage break-glass entry has none (0)")
    return entry


def loads(path: str, data: bytes) -> Entry:
    """Load an entry file strictly (safe YAML, schema); LedgerError says what is wrong. An entry
    whose path does not match its content (moved or renamed by hand) is refused too."""
    try:
        doc, _ = load(path, data, max_bytes=MAX_ENTRY_BYTES)
    except YamlError as exc:
        raise LedgerError(exc.problem.format()) from None
    entry = from_document(doc, path)
    if path.startswith(f"{LEDGER_DIR}/") and entry.path != path:
        raise LedgerError(f"{path}: the entry belongs at {entry.path}")
    return entry


# ---- building from a grant --------------------------------------------------------------------


def entry_for(request: RequestRecord, merge: MergeRecord, access_request: str, *,
              granted_at: str | None = None, expires_at: str | None = None) -> Entry:
    return Entry(request=request, merge=merge, access_request=access_request,
                 granted_at=granted_at, expires_at=expires_at)


# ---- commit messages --------------------------------------------------------------------------


def _target(entry: Entry) -> str:
    r = entry.request
    return f"{r.requester} → {r.cluster}/{r.namespace} (PR #{entry.merge.pull_request})"


def message_granted(entry: Entry) -> str:
    approvers = ", ".join(entry.merge.approvers) or "nobody"
    until = f" until {entry.expires_at}" if entry.expires_at else ""
    return f"janus: granted {_target(entry)}{until}, approved by {approvers}"


def message_extended(entry: Entry, ext: Extension) -> str:
    until = f" until {ext.expires_at}" if ext.expires_at else f" to {ext.duration}"
    return (f"janus: extended {_target(entry)}{until} (PR #{ext.merge.pull_request}, "
            f"approved by {', '.join(ext.merge.approvers) or 'nobody'})")


def message_ended(entry: Entry) -> str:
    end = entry.end
    if end is None:
        return f"janus: recorded {_target(entry)}"
    line = f"janus: {end.how} {_target(entry)}"
    if end.by:
        line += f" by {end.by}"
    detail = end.reason or end.message
    if detail:
        line += f": {detail}"
    return one_line(line)


def message_break_glass(entry: Entry) -> str:
    """The line of a break-glass fact: the outage grant recorded, its review overdue or
    acknowledged (the latest fact the entry holds)."""
    bg = entry.break_glass
    if bg is None:
        return f"janus: recorded {_target(entry)}"
    r = entry.request
    target = (f"{r.requester} → {r.cluster}/{r.namespace}"
              + (f" (PR #{entry.merge.pull_request})" if entry.merge.pull_request else
                 " (no PR: GitHub was away)"))
    if bg.acknowledged is not None:
        return one_line(f"janus: break-glass review of {target} acknowledged by "
                        f"{bg.acknowledged.by}: {bg.acknowledged.comment}")
    if bg.overdue_at is not None:
        return f"janus: break-glass review of {target} overdue (due {bg.review_due})"
    if bg.via == "outage":
        return one_line(f"janus: break-glass {target} by cluster admin {bg.by}: {bg.reason}")
    return f"janus: break-glass {target}, review due {bg.review_due}"


def message_sessions(entry: Entry) -> str:
    return f"janus: sessions of {_target(entry)}: {len(entry.sessions)}"


def one_line(text: str, limit: int = 200) -> str:
    """Newlines and invisible characters out, cut to *limit* (with an ellipsis)."""
    flat = " ".join((clean_text(text, 10_000) or "").split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


def batch_message(lines: Iterable[str]) -> str:
    """One commit for several transitions: a summary subject, then one line each."""
    lines = [one_line(line) for line in lines]
    if len(lines) == 1:
        return lines[0]
    counts: dict[str, int] = {}
    for line in lines:
        word = line.removeprefix("janus: ").split(" ", 1)[0]
        counts[word] = counts.get(word, 0) + 1
    summary = ", ".join(f"{n} {word}" for word, n in sorted(counts.items()))
    return f"janus: ledger: {summary}\n\n" + "\n".join(lines) + "\n"


def end_from(how: str, at: str, *, by: str | None = None, reason: str | None = None,
             via: str | None = None, message: str | None = None) -> End:
    """An :class:`End` with its free text cleaned (reasons come from users)."""
    if how not in END_HOWS:
        raise ValueError(f"unknown end {how!r}")
    if via is not None and via not in END_VIAS:
        raise ValueError(f"unknown end path {via!r}")
    return End(how=how, at=at, by=clean_text(by, 100), reason=clean_text(reason, 500),
               via=via, message=clean_text(message))


def index_by_merge(entries: Iterable[Entry]) -> Mapping[tuple[str, str], Entry]:
    """(merge commit, request path) → entry, over the grants' merges and their extensions."""
    index: dict[tuple[str, str], Entry] = {}
    for entry in entries:
        for commit in entry.merges():
            index[(commit, entry.request.path)] = entry
    return index


__all__ = [
    "BREAK_GLASS_VIAS", "END_HOWS", "END_VIAS", "KIND", "LEDGER_DIR", "VERSION", "Acknowledgement",
    "BreakGlass", "End", "Entry", "Extension", "LedgerError", "MergeRecord", "Recording",
    "RequestRecord", "Session", "access_request_of", "batch_message", "dump", "end_from",
    "entry_for", "entry_path", "fmt_time", "from_document", "index_by_merge", "loads",
    "message_break_glass", "message_ended", "message_extended", "message_granted",
    "message_sessions", "one_line", "parse_entry_path", "parse_time", "to_document",
]
