"""``janus audit`` answers as a table (people), JSON (tools) or CSV (spreadsheets).

JSON carries everything, including each grant's full ledger entry; CSV one flat line per row with
the same columns as the table and a few more; the table what fits on a screen. Times are the
ledger's (``2026-11-30T01:43:10Z``).
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Sequence
from typing import Any

from janus.audit.query import Answer, Row
from janus.audit.verify import Report
from janus.model import ledger

FORMATS = ("table", "json", "csv")

CSV_COLUMNS = ("kind", "state", "requester", "cluster", "namespace", "role", "from", "until",
               "expires_at", "ended_by", "end_reason", "end_via", "approvers", "merged_by",
               "pull_request", "merge_commit", "reason", "ticket", "extensions", "sessions",
               "request_path", "ledger_entry", "break_glass")


def break_glass_text(entry: ledger.Entry) -> str:
    """``pull-request``, or ``outage by root: <reason>``, then the review's state: ``review
    #12 acknowledged by bob`` / ``overdue`` / ``due <time>`` ("" for a grant that was not
    break-glass)."""
    bg = entry.break_glass
    if bg is None:
        return ""
    text = bg.via if bg.via != "outage" else f"outage by {bg.by or '?'}: {bg.reason or ''}"
    review = f"review #{bg.review_issue}" if bg.review_issue else "review"
    if bg.acknowledged is not None:
        text += f"; {review} acknowledged by {bg.acknowledged.by} at {bg.acknowledged.at}"
        if bg.overdue_at is not None:
            text += " (late)"
    elif bg.overdue_at is not None:
        text += f"; {review} OVERDUE since {bg.overdue_at}"
    elif bg.review_due is not None:
        text += f"; {review} due {bg.review_due}"
    return text


def row_fields(row: Row) -> dict[str, Any]:
    """The flat fields of a row (CSV columns; the table shows some of them)."""
    out: dict[str, Any] = dict.fromkeys(CSV_COLUMNS, "")
    out.update(kind=row.kind, state=row.state, requester=row.requester, cluster=row.cluster,
               namespace=row.namespace, ledger_entry=row.entry_path or "")
    entry, file = row.entry, row.file
    if entry is not None:
        r, m, end = entry.request, entry.merge, entry.end
        out.update(role=r.role, reason=r.reason, ticket=r.ticket or "", request_path=r.path,
                   approvers=" ".join(m.approvers), merged_by=m.merged_by or "",
                   pull_request=m.pull_request, merge_commit=m.commit,
                   expires_at=entry.expires_at or "", extensions=len(entry.extensions),
                   sessions=len(entry.sessions), break_glass=break_glass_text(entry))
        out["from"] = (entry.granted_at if row.kind == "access" else m.merged_at) or ""
        if row.kind == "access":
            out["until"] = end.at if end else ""
        else:
            out["until"] = (end.at if end else "") if not entry.granted_at else entry.granted_at
        if end is not None:
            out.update(ended_by=end.by or "", end_reason=end.reason or end.message or "",
                       end_via=end.via or "")
    elif file is not None:
        out.update(request_path=file.path, sessions=0, extensions=0)
        out["from"] = ledger.fmt_time(file.added_at) if file.added_at else ""
        out["until"] = ledger.fmt_time(file.removed_at) if file.removed_at else ""
        if file.request is not None:
            q = file.request
            out.update(role=q.role, reason=q.reason, ticket=q.ticket or "")
    return out


def row_json(row: Row) -> dict[str, Any]:
    fields = row_fields(row)
    doc: dict[str, Any] = {
        "kind": row.kind, "state": row.state, "requester": row.requester,
        "cluster": row.cluster, "namespace": row.namespace, "role": fields["role"] or None,
        "from": fields["from"] or None, "until": fields["until"] or None,
        "requestPath": fields["request_path"], "ledgerEntry": row.entry_path,
    }
    if row.entry is not None:
        doc["entry"] = ledger.to_document(row.entry)
    if row.file is not None:
        f = row.file
        doc["requestFile"] = {
            "path": f.path, "blobSha": f.blob, "valid": f.request is not None,
            "addedAt": ledger.fmt_time(f.added_at) if f.added_at else None,
            "removedAt": ledger.fmt_time(f.removed_at) if f.removed_at else None,
            "commit": f.commit,
            "reason": f.request.reason if f.request else None,
            "duration": None if f.request is None else int(f.request.duration.total_seconds()),
        }
    return doc


def answer_json(answer: Answer, query: dict[str, Any]) -> str:
    return json.dumps({
        "query": query,
        "ledgerCommit": answer.ledger_commit, "requestsCommit": answer.requests_commit,
        "entries": answer.entries_total,
        "rows": [row_json(r) for r in answer.rows],
        "problems": list(answer.problems),
    }, indent=2, ensure_ascii=False)


def answer_csv(answer: Answer) -> str:
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=CSV_COLUMNS, lineterminator="\n")
    writer.writeheader()
    for row in answer.rows:
        writer.writerow(row_fields(row))
    return buffer.getvalue()


def _short(text: str, limit: int = 48) -> str:
    text = " ".join(str(text).split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def answer_table(answer: Answer) -> str:
    header = ("KIND", "STATE", "REQUESTER", "CLUSTER/NAMESPACE", "ROLE", "FROM", "UNTIL",
              "APPROVED BY", "PR", "SESSIONS", "REASON")
    lines = [header]
    for row in answer.rows:
        f = row_fields(row)
        state = row.state + (f" by {f['ended_by']}" if f["ended_by"] else "")
        until = f["until"] or (f"(expires {f['expires_at']})" if f["expires_at"] else "-")
        lines.append((row.kind, state, row.requester or "?",
                      f"{row.cluster}/{row.namespace}", f["role"] or "?", f["from"] or "-",
                      until, f["approvers"] or ("BREAK-GLASS" if f["break_glass"] else "-"),
                      f"#{f['pull_request']}" if f["pull_request"] not in ("", 0) else "-",
                      str(f["sessions"]), _short(f["reason"] or "")))
    return _columns(lines)


def _columns(lines: Sequence[Sequence[str]]) -> str:
    widths = [max(len(line[i]) for line in lines) for i in range(len(lines[0]))]
    return "\n".join("  ".join(c.ljust(w) for c, w in zip(line, widths, strict=True)).rstrip()
                     for line in lines)


# -- verify ------------------------------------------------------------------------------------

FINDING_COLUMNS = ("check", "path", "commit", "message")


def report_json(report: Report) -> str:
    return json.dumps({
        "ok": not report.findings,
        "ledgerCommit": report.ledger_commit, "requestsCommit": report.requests_commit,
        "checked": report.checked,
        "findings": [{"check": f.check, "path": f.path, "commit": f.commit,
                      "message": f.message} for f in report.findings],
    }, indent=2, ensure_ascii=False)


def report_csv(report: Report) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(FINDING_COLUMNS)
    for f in report.findings:
        writer.writerow((f.check, f.path or "", f.commit or "", f.message))
    return buffer.getvalue()


def report_table(report: Report) -> str:
    if not report.findings:
        return ""
    lines = [("CHECK", "PATH", "COMMIT", "FINDING")]
    lines += [(f.check, f.path or "-", (f.commit or "-")[:12], f.message)
              for f in report.findings]
    return _columns(lines)
