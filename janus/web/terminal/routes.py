"""HTTP and WebSocket routes of the terminal.

Only the grant's requester may open its terminal — checked on the page, the pods API AND the
WebSocket (the original tool checked only the page). Admins cannot exec as someone else; they
watch recordings (janus.web.terminal.admin).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Request, WebSocket
from fastapi.responses import HTMLResponse, JSONResponse, Response
from starlette.websockets import WebSocketDisconnect

from janus.logs import event
from janus.resource import AccessRequestView, standing
from janus.web.auth import User, access_check, require_user, user_from_websocket
from janus.web.ledger_source import LedgerUnreadable, PastGrant
from janus.web.templating import templates
from janus.web.terminal import protocol, role_gate
from janus.web.terminal.central import CentralApiError
from janus.web.terminal.debug import is_ephemeral
from janus.web.terminal.live import ending_of
from janus.web.terminal.pods import PodListError, list_pods
from janus.web.terminal.runtime import TerminalRuntime
from janus.web.terminal.session import TerminalSession

log = logging.getLogger("janus.web.terminal")
router = APIRouter()

OPEN_TIMEOUT_SECONDS = 30.0


def _runtime(conn: Request | WebSocket) -> TerminalRuntime:
    runtime: TerminalRuntime | None = getattr(conn.app.state, "terminal", None)
    if runtime is None or not runtime.available:
        raise HTTPException(status_code=503, detail="the terminal is not available")
    return runtime


async def _own_grant(runtime: TerminalRuntime, cr_name: str, user: User) -> AccessRequestView:
    """The grant, if *user* is its requester; 403 otherwise (also when it does not exist)."""
    grant = await runtime.grant(cr_name)
    if grant is None or not grant.belongs_to(user.login):
        event(log, "terminal.refused", request=cr_name, user=user.login, reason="not requester",
              level=logging.WARNING)
        raise HTTPException(status_code=403, detail="only the requester may use this terminal")
    return grant


@router.get("/terminal/{cr_name}", response_class=HTMLResponse)
async def terminal_page(
    request: Request, cr_name: str, user: Annotated[User, Depends(require_user)]
) -> Response:
    runtime = _runtime(request)
    grant = await _own_grant(runtime, cr_name, user)
    policies = role_gate.policies_of(request)
    if role_gate.terminal_mode(policies, grant.role) != "exec":
        # pod-logs, view, pod-debug (its terminal attaches to a debug container, on /debug):
        # say what the role allows and link to it, rather than a terminal that cannot exec.
        event(log, "terminal.refused", request=cr_name, user=user.login, role=grant.role,
              reason="role has no exec", level=logging.WARNING)
        return templates.TemplateResponse(
            request, "terminal/not_allowed.html",
            role_gate.refusal(policies, grant.role, grant.name, "a terminal (exec) into pods"),
            status_code=403)
    ending = ending_of(grant)
    if ending is not None:
        # An ended grant's URL says so, with its history, rather than a countdown.
        return templates.TemplateResponse(
            request, "terminal/ended.html",
            {"grant": grant, "ending": ending, "g": await _history(request, grant)},
        )
    tabs = await runtime.sibling_grants(grant)
    return templates.TemplateResponse(
        request,
        "terminal/terminal.html",
        {
            "grant": grant,
            "tabs": tabs,
            "idle_timeout_seconds": runtime.settings.idle_timeout_seconds,
        },
    )


async def _history(request: Request, grant: AccessRequestView) -> PastGrant:
    """The grant's ledger entry when the ledger has it, else what the AccessRequest says (its
    PR link); the ledger's absence only leaves the entry link out."""
    from janus.web.pages import ledger_of

    settings = request.app.state.settings
    fallback = PastGrant.from_view(grant, settings.github_url)
    source = ledger_of(request)
    if not source.enabled:
        return fallback
    try:
        recorded = await asyncio.to_thread(source.ended)
    except LedgerUnreadable:
        return fallback
    for past in recorded:
        if past.name == grant.name and past.pull_request == grant.pull_request:
            return past
    return fallback


@router.get("/api/terminal/{cr_name}/pods")
async def terminal_pods(
    request: Request, cr_name: str, user: Annotated[User, Depends(require_user)]
) -> JSONResponse:
    runtime = _runtime(request)
    grant = await _own_grant(runtime, cr_name, user)
    if not standing.usable(grant):
        raise HTTPException(status_code=409, detail=f"the grant is {grant.phase}")
    credentials = await runtime.credentials(grant)
    if credentials is None:
        raise HTTPException(status_code=409, detail="the grant has no token (yet)")
    try:
        pods = await list_pods(credentials, grant.namespace)
    except PodListError as exc:
        raise HTTPException(status_code=502, detail=str(exc)) from None
    return JSONResponse({"cluster": grant.cluster, "namespace": grant.namespace, "pods": pods})


async def _refuse(ws: WebSocket, reason: str, message: str) -> None:
    with contextlib.suppress(WebSocketDisconnect, RuntimeError):
        await ws.send_text(json.dumps(protocol.closed(reason, message)))
        await ws.close(code=protocol.close_code(reason))


@router.websocket("/ws/terminal/{cr_name}")
async def terminal_socket(ws: WebSocket, cr_name: str) -> None:
    runtime: TerminalRuntime | None = getattr(ws.app.state, "terminal", None)
    if runtime is None or not runtime.available:
        await ws.close(code=1011)
        return
    user = user_from_websocket(ws)
    if user is None:
        event(log, "terminal.refused", request=cr_name, reason="no session or foreign origin",
              level=logging.WARNING)
        await ws.close(code=4403)  # before accept: the handshake gets HTTP 403
        return
    try:
        grant = await runtime.grant(cr_name)
    except CentralApiError as exc:
        event(log, "terminal.failed", request=cr_name, level=logging.ERROR, status=exc.status)
        await ws.close(code=1011)
        return
    if grant is None or not grant.belongs_to(user.login):
        event(log, "terminal.refused", request=cr_name, user=user.login, reason="not requester",
              level=logging.WARNING)
        await ws.close(code=4403)
        return
    await ws.accept()
    if not standing.usable(grant):
        await _refuse(ws, "not-active", f"The grant is {grant.phase}.")
        return
    try:
        first = await asyncio.wait_for(ws.receive(), OPEN_TIMEOUT_SECONDS)
        if first["type"] == "websocket.disconnect":
            return
        target = protocol.parse_open(first.get("text") or "")
    except TimeoutError:
        await _refuse(ws, "bad-request", "No terminal was selected.")
        return
    except (protocol.ProtocolError, WebSocketDisconnect) as exc:
        await _refuse(ws, "bad-request", str(exc))
        return
    credentials = await runtime.credentials(grant)
    if credentials is None:
        await _refuse(ws, "not-active", "The grant has no token.")
        return
    mode = role_gate.terminal_mode(role_gate.policies_of(ws), grant.role)
    if mode is None:
        event(log, "terminal.refused", request=cr_name, user=user.login, role=grant.role,
              reason="role has no exec", level=logging.WARNING)
        await _refuse(ws, "not-allowed", str(role_gate.refusal(
            role_gate.policies_of(ws), grant.role, grant.name, "a terminal")["detail"]))
        return
    if mode == "attach":
        try:
            ephemeral = await is_ephemeral(credentials, grant.namespace, target.pod,
                                           target.container)
        except PodListError as exc:
            await _refuse(ws, "exec-failed", f"The pod could not be read: {exc}")
            return
        if not ephemeral:
            event(log, "terminal.refused", request=cr_name, user=user.login, role=grant.role,
                  reason="not an ephemeral container", level=logging.WARNING)
            await _refuse(ws, "not-allowed", role_gate.attach_message(grant.role))
            return
    session = TerminalSession(
        ws=ws,
        grant=grant,
        credentials=credentials,
        user=user.login,
        target=target,
        registry=runtime.registry,
        store=runtime.store,
        limits=runtime.limits,
        access_check=access_check(ws, user),
        reporter=runtime.reporter,
        attach=mode == "attach",
    )
    await session.run()
