"""Markdown as github.com shows it on the simulator's pages, by a maintained library.

GitHub renders pull request bodies and comments as GitHub Flavored Markdown: tables and
strikethrough, HTML comments hidden (Janus marks its plan comment with ``<!-- janus:plan -->``),
other raw HTML sanitized. Here markdown-it-py renders in its GFM-like preset with raw HTML
*off*, so any HTML a user typed shows as text and can never run; the only HTML kept out of the
page is the comments, which are removed before rendering (outside code, where GitHub hides them
too). Links are limited to http(s)/mailto/relative by markdown-it's own URL validation.
"""

from __future__ import annotations

import re

from markdown_it import MarkdownIt

# Fenced code (``` or ~~~) and inline code spans are left alone; everything else loses its
# <!-- ... --> comments, as on GitHub.
_CODE_OR_COMMENT = re.compile(
    r"(?P<fence>^(?P<mark>`{3,}|~{3,})[^\n]*\n.*?(?:^(?P=mark)[ \t]*$|\Z))"
    r"|(?P<span>`+[^`\n]*`+)"
    r"|(?P<comment><!--.*?(?:-->|\Z))",
    re.DOTALL | re.MULTILINE,
)

_MD = MarkdownIt("gfm-like", {"html": False, "linkify": False, "typographer": False})


def strip_html_comments(text: str) -> str:
    """*text* without ``<!-- -->`` comments outside code."""
    return _CODE_OR_COMMENT.sub(
        lambda m: "" if m.group("comment") is not None else m.group(0), text)


def render_markdown(text: str) -> str:
    """Safe HTML for *text*: comments hidden, raw HTML escaped, GFM tables and lists."""
    return _MD.render(strip_html_comments(text or ""))
