"""Each channel's rendering of an event's payload: Slack Block Kit, a Teams Adaptive Card (in
the incoming-webhook envelope), and a plain-text e-mail. Pure functions of the payload.

No buttons that act: links go to the pull request (where approval is a GitHub review) and to
the Janus web page; see docs/notifications.md for why there is no "approve" button in chat.
"""

from __future__ import annotations

from email.message import EmailMessage
from typing import Any


def _facts(payload: dict[str, Any]) -> list[tuple[str, str]]:
    """(label, value) pairs worth showing, in reading order; empty values left out."""
    req = payload["request"]
    scope = "/".join(p for p in (req["cluster"], req["namespace"]) if p)
    rows = [
        ("Requester", req["requester"]),
        ("Scope", f"{req['role']} on {scope}" if req["role"] and scope else scope),
        ("Duration", req["duration"]),
        ("Reason", req["reason"]),
        ("Ticket", req["ticket"] or ""),
        ("Policy", req["policy"] or ""),
        ("Expires", payload["expiresAt"] or ""),
        ("By", payload["actor"] or ""),
        ("Why", payload["why"] or ""),
        ("Step", payload["step"] or ""),
        ("Approvers asked", ", ".join(f"@{a}" for a in payload["audience"])
         if payload["kind"] == "request.opened" else ""),
    ]
    return [(k, str(v)) for k, v in rows if v]


def _headline(payload: dict[str, Any]) -> str:
    req = payload["request"]
    name = req["name"] or (f"PR #{req['pullRequest']}" if req["pullRequest"] else "")
    return f"{payload['title']}: {name}" if name else payload["title"]


def _link_text(payload: dict[str, Any]) -> list[tuple[str, str]]:
    labels = {"pull": "Pull request", "request": "Janus", "history": "History"}
    return [(labels.get(k, k), v) for k, v in payload["links"].items() if v]


def slack(payload: dict[str, Any]) -> dict[str, Any]:
    """``text`` (the notification's fallback) and Block Kit ``blocks``."""
    fields = [{"type": "mrkdwn", "text": f"*{k}*\n{_slack_escape(v)}"}
              for k, v in _facts(payload)][:10]  # Block Kit: at most 10 fields per section
    blocks: list[dict[str, Any]] = [
        {"type": "header", "text": {"type": "plain_text", "text": _headline(payload)[:150]}},
    ]
    if fields:
        blocks.append({"type": "section", "fields": fields})
    links = _link_text(payload)
    if links:
        blocks.append({"type": "context", "elements": [
            {"type": "mrkdwn", "text": " · ".join(f"<{u}|{_slack_escape(t)}>" for t, u in links)}]})
    return {"text": _headline(payload), "blocks": blocks}


def _slack_escape(text: str) -> str:
    # Slack mrkdwn: &, < and > are control characters (links, mentions); user text escaped.
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def teams(payload: dict[str, Any]) -> dict[str, Any]:
    """An incoming-webhook message carrying one Adaptive Card (1.4: what Teams renders)."""
    body: list[dict[str, Any]] = [
        {"type": "TextBlock", "text": _headline(payload), "weight": "Bolder", "size": "Medium",
         "wrap": True},
        {"type": "FactSet", "facts": [{"title": k, "value": v} for k, v in _facts(payload)]},
    ]
    card: dict[str, Any] = {
        "$schema": "http://adaptivecards.io/schemas/adaptive-card.json",
        "type": "AdaptiveCard", "version": "1.4", "body": body,
        # OpenUrl only: a link, never an action performed from chat.
        "actions": [{"type": "Action.OpenUrl", "title": t, "url": u}
                    for t, u in _link_text(payload)],
    }
    return {"type": "message", "attachments": [
        {"contentType": "application/vnd.microsoft.card.adaptive", "contentUrl": None,
         "content": card}]}


def email(payload: dict[str, Any], sender: str, to: list[str]) -> EmailMessage:
    msg = EmailMessage()
    msg["Subject"] = f"[Janus] {_headline(payload)}"
    msg["From"] = sender
    msg["To"] = ", ".join(to)
    # The event id: a mail filter (or a human) can tell a resend from a new event.
    msg["X-Janus-Event"] = payload["id"]
    lines = [_headline(payload), ""]
    lines += [f"{k}: {v}" for k, v in _facts(payload)]
    links = _link_text(payload)
    if links:
        lines += ["", *(f"{t}: {u}" for t, u in links)]
    lines += ["", "Approvals are given as GitHub reviews on the pull request, never by e-mail."]
    msg.set_content("\n".join(lines) + "\n")
    return msg
