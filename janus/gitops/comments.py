"""PR comments Janus writes, each carrying a hidden marker so it can be found again.

PyGithub may re-send a POST after a 5xx, and deliveries may be replayed, so no comment is ever
created blind: :func:`upsert` looks for the marker first and edits (or leaves) what it finds.
Markers: ``plan`` (one per PR, edited in place), ``merge:<sha>`` (the verdict of one merge),
``status:<cr uid>:<phase>`` (one per status transition), ``reply:<comment id>`` (answers to
``/janus revoke``). Comments never contain a token: they are built from specs and statuses only.
"""

from __future__ import annotations

import re

from github.IssueComment import IssueComment
from github.PullRequest import PullRequest

MARKER_FORMAT = "<!-- janus:{key} -->"
_MARKER = re.compile(r"<!-- janus:([^ ]+) -->")


def marker(key: str) -> str:
    return MARKER_FORMAT.format(key=key)


def find(pull: PullRequest, key: str, author: str | None = None) -> IssueComment | None:
    """The comment with *key*'s marker, written by *author* when given (others can't forge it).
    A deleted account's comment has ``user: null``: never Janus's."""
    needle = marker(key)
    for comment in pull.get_issue_comments():
        if needle in (comment.body or "") and (
            author is None
            or (comment.user is not None and comment.user.login.lower() == author.lower())
        ):
            return comment
    return None


def upsert(pull: PullRequest, key: str, body: str, *, author: str | None = None,
           edit: bool = True) -> str:
    """Create the comment, or edit the existing one. Returns "created", "edited" or "kept"."""
    text = f"{marker(key)}\n{body}"
    existing = find(pull, key, author)
    if existing is None:
        pull.create_issue_comment(text)
        return "created"
    if not edit or existing.body == text:
        return "kept"
    existing.edit(text)
    return "edited"


def markers_in(text: str) -> list[str]:
    return _MARKER.findall(text or "")
