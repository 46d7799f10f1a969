"""GitHub's OAuth web application flow, so a web app can log in against the simulator.

``GET /login/oauth/authorize`` shows a page to pick the simulated user (standing in for
github.com's sign-in and consent screens) and redirects to the registered callback with a
``code`` and the caller's ``state``. ``POST /login/oauth/access_token`` exchanges the code for
a user token (``gho_…``), answering JSON with ``Accept: application/json`` and form-encoding
otherwise, and ``200`` with ``{"error": "bad_verification_code"}`` for a bad, reused or expired
code, like GitHub. Codes are single-use and live ten minutes; ``redirect_uri`` must be the
registered callback or a path below it.

For scripted tests, ``authorize?...&login=alice`` skips the page (a simulator-only parameter).
"""

from __future__ import annotations

import html
import secrets
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING
from urllib.parse import parse_qsl, urlencode, urlsplit

from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from starlette.routing import Route, Router
from starlette.types import Receive, Scope, Send

if TYPE_CHECKING:
    from .server import GitHubSimulator

CODE_TTL = 600.0
e = html.escape


@dataclass
class OAuthApp:
    client_id: str
    client_secret: str
    callback_url: str


@dataclass
class _Grant:
    client_id: str
    login: str
    redirect_uri: str
    expires_at: float


class OAuthFlow:
    def __init__(self, sim: GitHubSimulator) -> None:
        self.sim = sim
        self.apps: dict[str, OAuthApp] = {}
        self._codes: dict[str, _Grant] = {}
        self.router = Router(routes=[
            Route("/login/oauth/authorize", self.authorize, methods=["GET", "POST"]),
            Route("/login/oauth/access_token", self.access_token, methods=["POST"]),
        ])

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await self.router(scope, receive, send)

    def register(self, callback_url: str) -> OAuthApp:
        app = OAuthApp(client_id=f"Iv1.{secrets.token_hex(8)}",
                       client_secret=secrets.token_hex(20), callback_url=callback_url)
        self.apps[app.client_id] = app
        return app

    @staticmethod
    def _redirect_ok(app: OAuthApp, redirect_uri: str) -> bool:
        # GitHub: same scheme, host and port as the callback URL, path equal or below it.
        want, got = urlsplit(app.callback_url), urlsplit(redirect_uri)
        return (want.scheme, want.netloc) == (got.scheme, got.netloc) and (
            got.path == want.path or got.path.startswith(want.path.rstrip("/") + "/"))

    async def authorize(self, request: Request) -> Response:
        params = dict(request.query_params)
        if request.method == "POST":
            params |= dict(parse_qsl((await request.body()).decode(), keep_blank_values=True))
        app = self.apps.get(params.get("client_id", ""))
        if app is None:
            return HTMLResponse("<h1>404: unknown OAuth application</h1>", status_code=404)
        redirect_uri = params.get("redirect_uri") or app.callback_url
        if not self._redirect_ok(app, redirect_uri):
            return HTMLResponse("<h1>The redirect_uri is not associated with this "
                                "application.</h1>", status_code=400)
        login = params.get("login")
        if login:
            if login.lower() not in self.sim.world.accounts:
                return HTMLResponse("<h1>unknown user</h1>", status_code=400)
            code = secrets.token_hex(10)
            self._codes[code] = _Grant(app.client_id, self.sim.world.account(login).login,
                                       redirect_uri, time.time() + CODE_TTL)
            query = {"code": code}
            if params.get("state") is not None:
                query["state"] = params["state"]
            sep = "&" if "?" in redirect_uri else "?"
            return RedirectResponse(f"{redirect_uri}{sep}{urlencode(query)}", status_code=302)
        users = [a.login for a in self.sim.world.accounts.values() if a.type == "User"]
        hidden = "".join(f"<input type='hidden' name='{e(k)}' value='{e(v)}'>"
                         for k, v in params.items() if k != "login")
        options = "".join(f"<option>{e(u)}</option>" for u in users)
        return HTMLResponse(
            "<!doctype html><meta charset='utf-8'><title>Sign in to GitHub (simulated)</title>"
            f"<h1>Authorize {e(app.client_id)}</h1><p>Scopes: {e(params.get('scope', ''))}</p>"
            f"<form method='post' action='/login/oauth/authorize'>{hidden}"
            f"Sign in as <select name='login'>{options}</select> "
            "<button>Authorize</button></form>")

    async def access_token(self, request: Request) -> Response:
        form = dict(parse_qsl((await request.body()).decode(), keep_blank_values=True))
        as_json = "application/json" in request.headers.get("accept", "")
        app = self.apps.get(form.get("client_id", ""))
        if app is None or not secrets.compare_digest(app.client_secret,
                                                     form.get("client_secret", "")):
            return self._answer({"error": "incorrect_client_credentials",
                                 "error_description": "The client_id and/or client_secret "
                                                      "passed are incorrect."}, as_json)
        grant = self._codes.pop(form.get("code", ""), None)
        if (grant is None or grant.client_id != app.client_id or grant.expires_at < time.time()
                or (form.get("redirect_uri") and form["redirect_uri"] != grant.redirect_uri)):
            return self._answer({"error": "bad_verification_code",
                                 "error_description": "The code passed is incorrect or "
                                                      "expired."}, as_json)
        with self.sim.world.lock:
            token = self.sim.world.issue_token(grant.login, oauth=True)
        return self._answer({"access_token": token, "token_type": "bearer",
                             "scope": "repo,read:org"}, as_json)

    @staticmethod
    def _answer(body: dict[str, str], as_json: bool) -> Response:
        if as_json:
            return JSONResponse(body)
        return Response(urlencode(body), media_type="application/x-www-form-urlencoded")
