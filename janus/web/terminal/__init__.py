"""The browser terminal: xterm.js ↔ WebSocket ↔ Kubernetes exec with the grant's own token.

Wiring (D1's ``create_app`` calls :func:`install` once, after ``app.state.settings`` is set):

* routes: ``GET /terminal/{cr_name}``, ``WS /ws/terminal/{cr_name}``,
  ``GET /api/terminal/{cr_name}/pods``, the log viewer's ``GET /logs/{cr_name}`` and
  ``GET /api/logs/{cr_name}`` (janus.web.terminal.log_routes), ``GET /admin/sessions``,
  ``GET /admin/sessions/{id}`` and ``GET /admin/sessions/{id}/cast``, the live pages' event
  stream ``GET /events/grants`` (janus.web.terminal.live);
* background work: ``install`` WRAPS the app's lifespan (Starlette 1.x has no on_startup hooks):
  on startup it creates the session tables and starts the grant watcher
  (janus.web.terminal.watcher); on shutdown it closes open sessions and stops the watcher. The
  runtime is ``app.state.terminal``.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI


def install(app: FastAPI) -> None:
    from janus.web.terminal import admin, live, log_routes, routes
    from janus.web.terminal.runtime import TerminalRuntime

    app.include_router(routes.router)
    app.include_router(log_routes.router)
    app.include_router(admin.router)
    app.include_router(live.router)
    inner = app.router.lifespan_context

    @asynccontextmanager
    async def lifespan(application: Any) -> AsyncIterator[Any]:
        runtime = await TerminalRuntime.start(application.state.settings)
        application.state.terminal = runtime
        try:
            async with inner(application) as state:
                yield state
        finally:
            await runtime.stop()

    app.router.lifespan_context = lifespan
