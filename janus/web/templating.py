"""The Jinja2 environment of every page (the terminal's too): autoescaping on, and globals that
base.html needs, all computed from ``request`` so any page can extend it.

Render with ``templates.TemplateResponse(request, "name.html", {...})``.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from fastapi.templating import Jinja2Templates

from janus.resource import standing, timefmt
from janus.web.auth import csp_nonce, csrf_token, page_user

TEMPLATES_DIR = Path(__file__).parent / "templates"

# Jinja2Templates turns autoescape on for .html files; the test with a "<script>" reason
# checks it stays that way.
templates = Jinja2Templates(directory=str(TEMPLATES_DIR))
templates.env.globals.update(
    csrf_token=csrf_token,
    csp_nonce=csp_nonce,
    current_user=page_user,
    # Who revoked a grant and why: the controller's record, or the revocation as requested.
    who_revoked=standing.who_revoked,
    why_revoked=standing.why_revoked,
)


def _rfc3339(value: dt.datetime | None) -> str:
    return "" if value is None else timefmt.fmt(value)


def _short_time(value: dt.datetime | None) -> str:
    if value is None:
        return "—"
    return value.astimezone(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")


templates.env.filters["rfc3339"] = _rfc3339
templates.env.filters["short_time"] = _short_time
