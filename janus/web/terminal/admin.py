"""Admin pages: the list of terminal sessions and the replay of one recording.

Admins watch what happened; they cannot open a terminal on someone else's grant.
"""

from __future__ import annotations

import asyncio
from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.responses import HTMLResponse, PlainTextResponse, Response

from janus.web import recording as replay_rules
from janus.web.auth import User, require_admin
from janus.web.templating import templates
from janus.web.terminal.runtime import TerminalRuntime

router = APIRouter()


def _runtime(request: Request) -> TerminalRuntime:
    return request.app.state.terminal


@router.get("/admin/sessions", response_class=HTMLResponse)
async def sessions_page(
    request: Request, user: Annotated[User, Depends(require_admin)]
) -> Response:
    sessions = await asyncio.to_thread(_runtime(request).store.list_sessions)
    return templates.TemplateResponse(
        request, "terminal/sessions.html", {"sessions": sessions}
    )


@router.get("/admin/sessions/{session_id}", response_class=HTMLResponse)
async def replay_page(
    request: Request, session_id: int, user: Annotated[User, Depends(require_admin)]
) -> Response:
    session = await asyncio.to_thread(_runtime(request).store.get, session_id)
    if session is None:
        raise HTTPException(status_code=404, detail="no such session")
    return templates.TemplateResponse(
        request, "terminal/replay.html",
        {"session": session, "max_idle": replay_rules.REPLAY_MAX_IDLE_SECONDS,
         "speeds": replay_rules.REPLAY_SPEEDS, "default_speed": replay_rules.REPLAY_DEFAULT_SPEED},
    )


@router.get("/admin/sessions/{session_id}/cast")
async def recording(
    request: Request, session_id: int, user: Annotated[User, Depends(require_admin)]
) -> Response:
    store = _runtime(request).store
    session = await asyncio.to_thread(store.get, session_id)
    if session is None:
        raise HTTPException(status_code=404, detail="no such session")
    if session.recording_deleted_at is not None:
        raise HTTPException(status_code=410, detail="the recording was deleted (retention)")
    text = await asyncio.to_thread(store.recording, session_id)
    return PlainTextResponse(
        text,
        media_type="application/x-asciicast",
        headers={
            "Content-Disposition": f'inline; filename="session-{session_id}.cast"',
            **({"X-Recording-SHA256": session.recording_sha256}
               if session.recording_sha256 else {}),
        },
    )
