"""A tiny review page for the local demo: list pull requests, approve, request changes, merge.

Plain HTML forms, no JavaScript. It acts "as" any simulated user picked in the form: it is a
dev tool bound to loopback, standing in for github.com's review UI, so there is no login and no
CSRF token. Every action goes through the same :class:`~.world.World` rules as the REST API
(self-approval refused, protection enforced) and emits the same webhooks. Everything shown is
HTML-escaped, except pull request bodies and comments, which are rendered as GitHub renders
Markdown (:mod:`.markdown`: HTML comments hidden, raw HTML escaped).
"""

from __future__ import annotations

import html
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl, quote

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.routing import Route, Router
from starlette.types import Receive, Scope, Send

from .errors import ApiError
from .markdown import render_markdown

if TYPE_CHECKING:
    from .server import GitHubSimulator

e = html.escape
STYLE = """body{font-family:system-ui,sans-serif;max-width:60rem;margin:1rem auto;padding:0 1rem}
pre{background:#f6f8fa;padding:.5rem;overflow:auto}.err{color:#b00}.ok{color:#070}
table{border-collapse:collapse}
td,th{padding:.2rem .6rem;border-bottom:1px solid #ddd;text-align:left}
form{display:inline-block;margin:.3rem .6rem .3rem 0}
.md{border:1px solid #ddd;border-radius:6px;padding:0 .8rem;margin:.5rem 0}
.comment{list-style:none;margin:0;padding:0}"""


def _page(title: str, body: str) -> HTMLResponse:
    return HTMLResponse(f"<!doctype html><html><head><meta charset='utf-8'><title>{e(title)}"
                        f"</title><style>{STYLE}</style></head><body>{body}</body></html>")


class ReviewPages:
    def __init__(self, sim: GitHubSimulator) -> None:
        self.sim = sim
        self.world = sim.world
        self.router = Router(routes=[
            Route("/_sim", self.index), Route("/_sim/", self.index),
            Route("/_sim/deliveries", self.deliveries),
            Route("/_sim/deliveries/{guid}/redeliver", self.post_redeliver, methods=["POST"]),
            Route("/_sim/{owner}/{repo}", self.repo_page),
            Route("/_sim/{owner}/{repo}/raw/{ref}/{path:path}", self.raw_file),
            Route("/_sim/{owner}/{repo}/commit/{sha}", self.commit_page),
            Route("/_sim/{owner}/{repo}/pull/{number:int}", self.pull_page),
            Route("/_sim/{owner}/{repo}/pull/{number:int}/review", self.post_review,
                  methods=["POST"]),
            Route("/_sim/{owner}/{repo}/pull/{number:int}/merge", self.post_merge,
                  methods=["POST"]),
        ])

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await self.router(scope, receive, send)

    # -- pages ----------------------------------------------------------------------------------

    async def index(self, request: Request) -> Response:
        with self.world.lock:
            rows = "".join(
                f"<li><a href='/_sim/{quote(r.full_name)}'>{e(r.full_name)}</a> "
                f"({sum(p.state == 'open' for p in r.pulls.values())} open)</li>"
                for r in self.world.repos.values())
        return _page("GitHub simulator", f"<h1>Repositories</h1><ul>{rows}</ul>"
                                         "<p><a href='/_sim/deliveries'>webhook deliveries</a></p>")

    async def deliveries(self, request: Request) -> Response:
        rows = "".join(
            f"<tr><td>{e(d.created_at)}</td><td><code>{e(d.guid)}</code></td>"
            f"<td>{e(d.event)}{'.' + e(d.action) if d.action else ''}</td><td>{e(d.repo)}</td>"
            f"<td>{e(d.url)}</td><td>{e(d.state)}</td><td>{e(str(d.status_code or ''))}</td>"
            f"<td>{'redelivery' if d.redelivery else ''}</td>"
            f"<td><form method='post' action='/_sim/deliveries/{quote(d.guid)}/redeliver'>"
            "<button>redeliver</button></form></td></tr>"
            for d in reversed(self.sim.deliveries))
        return _page("Deliveries", "<p><a href='/_sim/'>repositories</a></p><h1>Webhook "
                     "deliveries</h1><table><tr><th>at</th><th>X-GitHub-Delivery</th>"
                     "<th>event</th><th>repo</th><th>url</th><th>state</th><th>status</th>"
                     f"<th></th><th></th></tr>{rows}</table>")

    async def post_redeliver(self, request: Request) -> Response:
        guid = request.path_params["guid"]
        try:
            await run_in_threadpool(self.sim.redeliver, guid)
        except KeyError:
            return _page("Not found", "<h1>No such delivery</h1>")
        return RedirectResponse("/_sim/deliveries", status_code=303)

    async def repo_page(self, request: Request) -> Response:
        full = f"{request.path_params['owner']}/{request.path_params['repo']}"
        with self.world.lock:
            try:
                repo = self.world.repo(full)
            except ApiError:
                return _page("Not found", "<h1>Not found</h1>")
            rows = "".join(
                f"<tr><td>#{p.number}</td><td><a href='/_sim/{quote(full)}/pull/{p.number}'>"
                f"{e(p.title)}</a></td><td>{e(p.user)}</td><td>"
                f"{'merged' if p.merged else e(p.state)}</td></tr>"
                for p in sorted(repo.pulls.values(), key=lambda p: -p.number))
        return _page(full, f"<p><a href='/_sim/'>all repositories</a></p><h1>{e(full)}</h1>"
                           f"<table><tr><th>#</th><th>title</th><th>author</th><th>state</th>"
                           f"</tr>{rows}</table>")

    async def raw_file(self, request: Request) -> Response:
        """``download_url`` of the contents API (branch names with slashes are not supported)."""
        p = request.path_params
        data = await run_in_threadpool(
            self._read, f"{p['owner']}/{p['repo']}", p["path"], p["ref"])
        if data is None:
            return Response("Not Found", status_code=404, media_type="text/plain")
        return Response(data, media_type="text/plain; charset=utf-8")

    def _read(self, full: str, path: str, ref: str) -> bytes | None:
        try:
            return self.sim.read_file(full, path, ref)
        except ApiError:
            return None

    async def commit_page(self, request: Request) -> Response:
        p = request.path_params
        return await run_in_threadpool(self._render_commit, f"{p['owner']}/{p['repo']}",
                                       p["sha"])

    def _render_commit(self, full: str, rev: str) -> Response:
        with self.world.lock:
            try:
                repo = self.world.repo(full)
                sha = self.world.resolve(repo, rev)
            except ApiError:
                return _page("Not found", "<h1>Not found</h1>")
            info = repo.git.commit_info(sha)
            base = info.parents[0] if info.parents else "4b825dc642cb6eb9a060e54bf8d69288fbee4904"
            files = "".join(f"<h3>{e(c.status)}: {e(c.path)}</h3><pre>{e(c.patch or '')}</pre>"
                            for c in repo.git.diff(base, sha))
        parents = " ".join(f"<code>{e(x[:7])}</code>" for x in info.parents)
        return _page(sha[:7], f"<p><a href='/_sim/{quote(full)}'>{e(full)}</a></p>"
                              f"<h1>{e(info.message.splitlines()[0] if info.message else sha)}"
                              f"</h1><p>{e(info.author.name)} &lt;{e(info.author.email)}&gt; — "
                              f"<code>{e(sha)}</code>, parents {parents}</p>"
                              f"<pre>{e(info.message)}</pre>{files}")

    async def pull_page(self, request: Request) -> Response:
        full = f"{request.path_params['owner']}/{request.path_params['repo']}"
        number = request.path_params["number"]
        return await run_in_threadpool(self._render_pull, full, number,
                                       request.query_params.get("error"),
                                       request.query_params.get("ok"))

    def _render_pull(self, full: str, number: int, error: str | None,
                     ok: str | None) -> Response:
        with self.world.lock:
            try:
                repo = self.world.repo(full)
                pr = self.world.pull(repo, number)
            except ApiError:
                return _page("Not found", "<h1>Not found</h1>")
            base = repo.git.merge_base(pr.base_sha, pr.head_sha) or pr.base_sha
            files = "".join(
                f"<h3>{e(c.status)}: {e(c.path)}</h3><pre>{e(c.patch or '')}</pre>"
                for c in repo.git.diff(base, pr.head_sha))
            reviews = "".join(
                f"<tr><td>{e(r.user)}</td><td>{e(r.state)}</td><td><code>{e(r.commit_id[:7])}"
                f"</code>{' (head)' if r.commit_id == pr.head_sha else ''}</td>"
                f"<td>{e(r.body)}</td></tr>" for r in pr.reviews)
            comments = "".join(
                f"<li><b>{e(c.user)}</b> commented<div class='md'>{render_markdown(c.body)}"
                "</div></li>"
                for c in repo.comments.values() if c.issue_number == pr.number)
            checks = "".join(
                f"<li>check run <b>{e(r.name)}</b>: {e(r.status)} {e(r.conclusion or '')} "
                f"— {e(str(r.output.get('title') or ''))}</li>"
                for r in repo.check_runs.values() if r.head_sha == pr.head_sha)
            checks += "".join(
                f"<li>status <b>{e(st.context)}</b>: {e(st.state)} — {e(st.description or '')}"
                "</li>" for st in repo.statuses if st.sha == pr.head_sha)
            labels = ", ".join(e(n) for n in pr.labels)
            users = [a.login for a in self.world.accounts.values() if a.type == "User"]
            state = "merged" if pr.merged else pr.state
            owners = self.world.code_owners_for(repo, pr)
            reviewer = self._default_reviewer(repo, pr, users, owners)
        # The review and merge forms start on someone who may approve (a code owner of the
        # changed files other than the author), not on the author, whom GitHub refuses.
        options = "".join(
            f"<option{' selected' if u == reviewer else ''}>{e(u)}</option>" for u in users)
        action = f"/_sim/{quote(full)}/pull/{number}"
        notice = (f"<p class='err'>{e(error)}</p>" if error else "") + (
            f"<p class='ok'>{e(ok)}</p>" if ok else "")
        owner_rows = "".join(f"<li>{e(p)}: {e(' '.join(o) or '(unowned)')}</li>"
                             for p, o in owners.items())
        forms = ""
        if pr.state == "open":
            forms = (
                f"<h2>Review</h2><form method='post' action='{action}/review'>"
                f"as <select name='user'>{options}</select> "
                "<select name='event'><option value='APPROVE'>approve</option>"
                "<option value='REQUEST_CHANGES'>request changes</option>"
                "<option value='COMMENT'>comment</option></select> "
                "<input name='body' placeholder='comment'> <button>submit review</button></form>"
                f"<h2>Merge</h2><form method='post' action='{action}/merge'>"
                f"as <select name='user'>{options}</select> <button>merge</button></form>")
        body = (
            f"<p><a href='/_sim/{quote(full)}'>{e(full)}</a></p>{notice}"
            f"<h1>#{number} {e(pr.title)}</h1>"
            f"<p>{e(pr.user)} wants to merge <code>{e(pr.head_ref)}</code> into "
            f"<code>{e(pr.base_ref)}</code> — <b>{e(state)}</b>; head "
            f"<code>{e(pr.head_sha[:7])}</code></p>"
            f"<div class='md'>{render_markdown(pr.body or '')}</div>"
            f"<p>labels: {labels or '(none)'}</p><h2>Checks</h2><ul>{checks}</ul>"
            f"<h2>Code owners (base branch)</h2><ul>{owner_rows}</ul>"
            f"<h2>Reviews</h2><table><tr><th>user</th><th>state</th><th>commit</th>"
            f"<th>body</th></tr>{reviews}</table>"
            f"<h2>Comments</h2><ul class='comment'>{comments}</ul>"
            f"{forms}<h2>Files</h2>{files}")
        return _page(f"#{number} {pr.title}", body)

    def _default_reviewer(self, repo: Any, pr: Any, users: list[str],
                          owners: dict[str, list[str]]) -> str | None:
        """The first user (in account order) other than the author who owns every changed file:
        the one whose approval satisfies code-owner review. Caller holds the lock."""
        def may_approve(login: str) -> bool:
            return login.lower() != pr.user.lower() and all(
                not file_owners or any(self.world._owns(repo, o, login) for o in file_owners)
                for file_owners in owners.values())
        return next((u for u in users if may_approve(u)),
                    next((u for u in users if u.lower() != pr.user.lower()), None))

    # -- actions --------------------------------------------------------------------------------

    async def _form(self, request: Request) -> dict[str, str]:
        return dict(parse_qsl((await request.body()).decode(), keep_blank_values=True))

    async def post_review(self, request: Request) -> Response:
        form = await self._form(request)
        return await run_in_threadpool(
            self._act, request, "review submitted",
            lambda full, n: self.sim.review(full, n, form.get("user", ""), form.get("event", ""),
                                            form.get("body") or None))

    async def post_merge(self, request: Request) -> Response:
        form = await self._form(request)
        return await run_in_threadpool(
            self._act, request, "merged",
            lambda full, n: self.sim.merge(full, n, form.get("user", "")))

    def _act(self, request: Request, done: str, fn: Any) -> Response:
        full = f"{request.path_params['owner']}/{request.path_params['repo']}"
        number = request.path_params["number"]
        target = f"/_sim/{quote(full)}/pull/{number}"
        try:
            fn(full, number)
        except ApiError as err:
            detail = err.message + (f": {'; '.join(map(str, err.errors))}" if err.errors else "")
            return RedirectResponse(f"{target}?error={quote(detail)}", status_code=303)
        return RedirectResponse(f"{target}?ok={quote(done)}", status_code=303)
