"""The log viewer's and the read-only resource view's routes (roles ``pod-logs``, ``view``).

The log viewer: a page, and the log itself streamed with the grant's token.

As for the terminal, only the grant's requester may use them (checked on the page and on the
stream); the grant must be usable; Kubernetes RBAC decides whether the role reads logs
(``pod-logs`` and ``pod-exec`` do). ``download=1`` answers the same bytes as an attachment.
The resource view: ``/view/<grant>`` and ``/api/view/<grant>/<kind>``
(janus.web.terminal.resources). The debug flow: the page ``/debug/<grant>``, the allow-list
``/api/debug/<grant>/images`` and ``POST /api/debug/<grant>`` (janus.web.terminal.debug); its
terminal is the terminal's WebSocket in attach mode (janus.web.terminal.role_gate).
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Query, Request
from fastapi.responses import HTMLResponse, JSONResponse, Response, StreamingResponse
from pydantic import BaseModel, Field

from janus.logs import event
from janus.resource import standing
from janus.web.auth import User, require_csrf, require_user
from janus.web.templating import templates
from janus.web.terminal import role_gate
from janus.web.terminal.debug import add_debug_container, allowed_images, check_request
from janus.web.terminal.grants import earliest
from janus.web.terminal.logs import LogQuery, LogRequestError, LogStream, open_upstream
from janus.web.terminal.pods import PodListError
from janus.web.terminal.resources import KINDS, list_kind
from janus.web.terminal.routes import _own_grant, _runtime

log = logging.getLogger("janus.web.terminal")
router = APIRouter()


@router.get("/logs/{cr_name}", response_class=HTMLResponse)
async def logs_page(
    request: Request, cr_name: str, user: Annotated[User, Depends(require_user)]
) -> Response:
    runtime = _runtime(request)
    grant = await _own_grant(runtime, cr_name, user)
    return templates.TemplateResponse(request, "terminal/logs.html", {"grant": grant})


@router.get("/api/logs/{cr_name}")
async def logs_stream(
    request: Request,
    cr_name: str,
    user: Annotated[User, Depends(require_user)],
    pod: Annotated[str, Query(max_length=253)],
    container: Annotated[str, Query(max_length=63)],
    follow: bool = False,
    since: Annotated[int | None, Query(ge=1)] = None,
    timestamps: bool = False,
    download: bool = False,
) -> Response:
    runtime = _runtime(request)
    grant = await _own_grant(runtime, cr_name, user)
    if not standing.usable(grant):
        raise HTTPException(status_code=409, detail=f"the grant is {grant.phase}")
    try:
        query = LogQuery(pod=pod, container=container, follow=follow, since_seconds=since,
                         timestamps=timestamps)
    except LogRequestError as exc:
        raise HTTPException(status_code=exc.status, detail=str(exc)) from None
    credentials = await runtime.credentials(grant)
    if credentials is None:
        raise HTTPException(status_code=409, detail="the grant has no token (yet)")
    try:
        http, upstream = await open_upstream(credentials, grant.namespace, query)
    except LogRequestError as exc:
        event(log, "logs.refused", request=cr_name, user=user.login, status=exc.status,
              level=logging.WARNING)
        raise HTTPException(status_code=exc.status, detail=str(exc)) from None
    event(log, "logs.opened", request=cr_name, user=user.login, pod=query.pod,
          container=query.container, follow=query.follow, download=download)
    stream = LogStream(cr_name, earliest(grant.expires_at, credentials.expires_at),
                       runtime.registry)

    async def body() -> AsyncIterator[bytes]:
        try:
            async for chunk in stream.relay(upstream.aiter_raw(), trailer=not download):
                yield chunk
        finally:
            # Here, not in a background task: a browser that goes away cancels the response
            # and its background task never runs; the upstream connection must close anyway.
            await upstream.aclose()
            await http.aclose()
            event(log, "logs.closed", request=cr_name, user=user.login,
                  reason=(stream.reason or ("client-gone", ""))[0])

    headers = {"Cache-Control": "no-store", "X-Content-Type-Options": "nosniff"}
    if download:
        filename = f"{grant.cluster}-{grant.namespace}-{query.pod}-{query.container}.log"
        headers["Content-Disposition"] = f'attachment; filename="{filename}"'
    return StreamingResponse(body(), media_type="text/plain; charset=utf-8", headers=headers)


# ---- the read-only resource view (role `view`) ------------------------------------------------


@router.get("/view/{cr_name}", response_class=HTMLResponse)
async def view_page(
    request: Request, cr_name: str, user: Annotated[User, Depends(require_user)]
) -> Response:
    runtime = _runtime(request)
    grant = await _own_grant(runtime, cr_name, user)
    return templates.TemplateResponse(request, "terminal/view.html",
                                      {"grant": grant, "kinds": list(KINDS)})


@router.get("/api/view/{cr_name}/{kind}")
async def view_kind(
    request: Request, cr_name: str, kind: str, user: Annotated[User, Depends(require_user)]
) -> JSONResponse:
    runtime = _runtime(request)
    grant = await _own_grant(runtime, cr_name, user)
    if kind not in KINDS:
        raise HTTPException(status_code=400, detail=f"one of {', '.join(KINDS)} is accepted")
    if not standing.usable(grant):
        raise HTTPException(status_code=409, detail=f"the grant is {grant.phase}")
    credentials = await runtime.credentials(grant)
    if credentials is None:
        raise HTTPException(status_code=409, detail="the grant has no token (yet)")
    try:
        items = await list_kind(credentials, grant.namespace, kind)
    except PodListError as exc:
        raise HTTPException(status_code=exc.status, detail=str(exc)) from None
    return JSONResponse({"cluster": grant.cluster, "namespace": grant.namespace, "kind": kind,
                         "items": items})


# ---- the debug flow (role `pod-debug`) ------------------------------------------------------


@router.get("/debug/{cr_name}", response_class=HTMLResponse)
async def debug_page(
    request: Request, cr_name: str, user: Annotated[User, Depends(require_user)]
) -> Response:
    """Pick a pod, its container to target and an allowed image; start the debug container;
    a terminal attaches to it (``WS /ws/terminal/<grant>`` in attach mode)."""
    runtime = _runtime(request)
    grant = await _own_grant(runtime, cr_name, user)
    policies = role_gate.policies_of(request)
    if "debug" not in role_gate.role_offers(policies, grant.role):
        return templates.TemplateResponse(
            request, "terminal/not_allowed.html",
            role_gate.refusal(policies, grant.role, grant.name, "debug containers"),
            status_code=403)
    return templates.TemplateResponse(request, "terminal/debug.html", {
        "grant": grant, "images": allowed_images(policies, grant.role),
        "idle_timeout_seconds": runtime.settings.idle_timeout_seconds})


class DebugRequest(BaseModel):
    pod: str = Field(max_length=253)
    container: str = Field(max_length=63)
    image: str = Field(max_length=255)


@router.get("/api/debug/{cr_name}/images")
async def debug_images(
    request: Request, cr_name: str, user: Annotated[User, Depends(require_user)]
) -> JSONResponse:
    runtime = _runtime(request)
    grant = await _own_grant(runtime, cr_name, user)
    return JSONResponse({"images": list(allowed_images(role_gate.policies_of(request),
                                                       grant.role))})


@router.post("/api/debug/{cr_name}", dependencies=[Depends(require_csrf)])
async def debug_container(
    request: Request, cr_name: str, body: DebugRequest,
    user: Annotated[User, Depends(require_user)],
) -> JSONResponse:
    runtime = _runtime(request)
    grant = await _own_grant(runtime, cr_name, user)
    if not standing.usable(grant):
        raise HTTPException(status_code=409, detail=f"the grant is {grant.phase}")
    policies = role_gate.policies_of(request)
    if policies is None:
        raise HTTPException(status_code=503, detail="the access policies cannot be read now")
    try:
        check_request(body.pod, body.container, body.image,
                      allowed_images(policies, grant.role))
        credentials = await runtime.credentials(grant)
        if credentials is None:
            raise HTTPException(status_code=409, detail="the grant has no token (yet)")
        name = await add_debug_container(credentials, grant.namespace, body.pod,
                                         body.container, body.image)
    except PodListError as exc:
        event(log, "debug.refused", request=cr_name, user=user.login, status=exc.status,
              level=logging.WARNING)
        raise HTTPException(status_code=exc.status, detail=str(exc)) from None
    event(log, "debug.container_added", request=cr_name, user=user.login, pod=body.pod,
          target=body.container, image=body.image, container=name)
    return JSONResponse({"pod": body.pod, "container": name, "image": body.image})

