"""REST handlers: GitHub App auth, check runs, commit statuses, hooks and deliveries, rate limit."""

from __future__ import annotations

from typing import Any

from . import codeowners
from .errors import ApiError, not_found, validation_failed
from .rest import Ctx, Reply, paginate, route
from .world import now_iso

INSTALLATION_TOKEN_TTL = 3600.0


def _app_id(ctx: Ctx) -> int:
    if ctx.caller.app_id is None:
        raise ApiError(401, "A JSON web token could not be decoded")
    return ctx.caller.app_id


@route("GET", "/app", app_jwt=True)
def get_app(ctx: Ctx) -> Reply:
    return Reply(200, ctx.render.app(ctx.world.apps[_app_id(ctx)]))


@route("GET", "/app/installations", app_jwt=True)
def list_installations(ctx: Ctx) -> Reply:
    app_id = _app_id(ctx)
    return paginate(ctx, [ctx.render.installation(i) for i in ctx.world.installations.values()
                          if i.app_id == app_id])


@route("GET", "/app/installations/{installation_id}", app_jwt=True)
def get_installation(ctx: Ctx) -> Reply:
    inst = ctx.world.installations.get(ctx.int_param("installation_id"))
    if inst is None or inst.app_id != _app_id(ctx):
        raise not_found()
    return Reply(200, ctx.render.installation(inst))


@route("POST", "/app/installations/{installation_id}/access_tokens", app_jwt=True)
def create_installation_token(ctx: Ctx) -> Reply:
    inst = ctx.world.installations.get(ctx.int_param("installation_id"))
    if inst is None or inst.app_id != _app_id(ctx):
        raise not_found()
    app = ctx.world.apps[inst.app_id]
    token = ctx.world.issue_token(app.bot_login, installation_id=inst.id,
                                  ttl=INSTALLATION_TOKEN_TTL)
    expires = ctx.world.tokens[token].expires_at
    return Reply(201, {
        "token": token, "expires_at": now_iso(expires),
        "permissions": ctx.render.installation(inst)["permissions"],
        "repository_selection": "selected",
    })


@route("GET", "/repos/{owner}/{repo}/installation", app_jwt=True)
def repo_installation(ctx: Ctx) -> Reply:
    repo = ctx.world.repo(f"{ctx.params['owner']}/{ctx.params['repo']}")
    return Reply(200, ctx.render.installation(ctx.world.installation_for(repo, _app_id(ctx))))


@route("GET", "/installation/repositories")
def installation_repositories(ctx: Ctx) -> Reply:
    inst = ctx.world.installations.get(ctx.caller.installation_id or -1)
    if inst is None:
        raise ApiError(403, "This endpoint requires an installation token")
    repos = [ctx.render.repo(ctx.world.repo(n), full=False) for n in inst.repos]
    page = paginate(ctx, repos)
    page.body = {"total_count": len(repos), "repository_selection": "selected",
                 "repositories": page.body}
    return page


# -- check runs ----------------------------------------------------------------------------------


@route("POST", "/repos/{owner}/{repo}/check-runs")
def create_check_run(ctx: Ctx) -> Reply:
    repo = ctx.repo()
    run = ctx.world.create_check_run(repo, ctx.json(), ctx.login)
    return Reply(201, ctx.render.check_run(repo, run))


def _run(ctx: Ctx):
    repo = ctx.repo()
    run = repo.check_runs.get(ctx.int_param("check_run_id"))
    if run is None:
        raise not_found()
    return repo, run


@route("GET", "/repos/{owner}/{repo}/check-runs/{check_run_id}")
def get_check_run(ctx: Ctx) -> Reply:
    repo, run = _run(ctx)
    return Reply(200, ctx.render.check_run(repo, run))


@route("PATCH", "/repos/{owner}/{repo}/check-runs/{check_run_id}")
def update_check_run(ctx: Ctx) -> Reply:
    repo, run = _run(ctx)
    ctx.world.update_check_run(repo, run, ctx.json(), ctx.login)
    return Reply(200, ctx.render.check_run(repo, run))


@route("GET", "/repos/{owner}/{repo}/commits/{ref}/check-runs")
def commit_check_runs(ctx: Ctx) -> Reply:
    repo = ctx.repo()
    sha = ctx.commit_param(repo, "ref")
    runs = [r for r in repo.check_runs.values() if r.head_sha == sha]
    if ctx.query.get("check_name"):
        runs = [r for r in runs if r.name == ctx.query["check_name"]]
    if ctx.query.get("status"):
        runs = [r for r in runs if r.status == ctx.query["status"]]
    if ctx.query.get("app_id"):
        # Any App may create a run of any name: `app_id` keeps one App's runs only.
        try:
            app_id = int(ctx.query["app_id"])
        except ValueError:
            raise validation_failed("CheckRun", "invalid", "app_id") from None
        runs = [r for r in runs if r.app_id == app_id]
    if ctx.query.get("filter", "latest") == "latest":
        latest: dict[tuple[int, str], Any] = {}
        for r in runs:
            latest[(r.app_id, r.name)] = r  # later runs replace earlier ones of that App
        runs = list(latest.values())
    runs.sort(key=lambda r: r.id, reverse=True)
    page = paginate(ctx, [ctx.render.check_run(repo, r) for r in runs])
    page.body = {"total_count": len(runs), "check_runs": page.body}
    return page


@route("POST", "/repos/{owner}/{repo}/check-runs/{check_run_id}/rerequest")
def rerequest_check_run(ctx: Ctx) -> Reply:
    repo, run = _run(ctx)
    ctx.world.rerequest_run(repo, run, ctx.login)
    return Reply(201, {})


def _suite(ctx: Ctx):
    repo = ctx.repo()
    suite = repo.check_suites.get(ctx.int_param("check_suite_id"))
    if suite is None:
        raise not_found()
    return repo, suite


@route("GET", "/repos/{owner}/{repo}/check-suites/{check_suite_id}")
def get_check_suite(ctx: Ctx) -> Reply:
    repo, suite = _suite(ctx)
    return Reply(200, ctx.render.check_suite(repo, suite))


@route("POST", "/repos/{owner}/{repo}/check-suites/{check_suite_id}/rerequest")
def rerequest_check_suite(ctx: Ctx) -> Reply:
    repo, suite = _suite(ctx)
    ctx.world.rerequest_suite(repo, suite, ctx.login)
    return Reply(201, {})


@route("GET", "/repos/{owner}/{repo}/commits/{ref}/check-suites")
def commit_check_suites(ctx: Ctx) -> Reply:
    repo = ctx.repo()
    sha = ctx.world.resolve(repo, ctx.params["ref"])
    suites = [s for s in repo.check_suites.values() if s.head_sha == sha]
    page = paginate(ctx, [ctx.render.check_suite(repo, s) for s in suites])
    page.body = {"total_count": len(suites), "check_suites": page.body}
    return page


# -- commit statuses -----------------------------------------------------------------------------


@route("POST", "/repos/{owner}/{repo}/statuses/{sha}")
def create_status(ctx: Ctx) -> Reply:
    repo = ctx.repo()
    status = ctx.world.create_status(repo, ctx.params["sha"], ctx.json(), ctx.login)
    return Reply(201, ctx.render.status(repo, status))


@route("GET", "/repos/{owner}/{repo}/commits/{ref}/statuses")
def list_statuses(ctx: Ctx) -> Reply:
    repo = ctx.repo()
    sha = ctx.world.resolve(repo, ctx.params["ref"])
    found = [s for s in reversed(repo.statuses) if s.sha == sha]
    return paginate(ctx, [ctx.render.status(repo, s) for s in found])


@route("GET", "/repos/{owner}/{repo}/commits/{ref}/status")
def combined_status(ctx: Ctx) -> Reply:
    repo = ctx.repo()
    sha = ctx.world.resolve(repo, ctx.params["ref"])
    latest: dict[str, Any] = {}
    for s in repo.statuses:
        if s.sha == sha:
            latest[s.context.lower()] = s
    states = [s.state for s in latest.values()]
    state = ("failure" if any(s in ("error", "failure") for s in states)
             else "pending" if not states or "pending" in states else "success")
    u = f"{ctx.render.api}/repos/{repo.full_name}/commits/{sha}"
    return Reply(200, {
        "state": state, "sha": sha, "total_count": len(latest),
        "statuses": [ctx.render.status(repo, s) | {"avatar_url": None}
                     for s in latest.values()],
        "repository": ctx.render.repo(repo, full=False), "commit_url": u, "url": f"{u}/status",
    })


# -- hooks and deliveries ------------------------------------------------------------------------


@route("GET", "/repos/{owner}/{repo}/hooks")
def list_hooks(ctx: Ctx) -> Reply:
    repo = ctx.repo("admin")
    return paginate(ctx, [ctx.render.hook(repo, h) for h in repo.hooks.values()])


@route("POST", "/repos/{owner}/{repo}/hooks")
def create_hook(ctx: Ctx) -> Reply:
    repo = ctx.repo("admin")
    body = ctx.json()
    config = body.get("config") or {}
    if not config.get("url"):
        raise validation_failed("Hook", "custom", "config", "url is required")
    hook = ctx.world.add_hook(repo.full_name, config["url"], config.get("secret"),
                              list(body.get("events") or ["push"]))
    return Reply(201, ctx.render.hook(repo, hook))


@route("GET", "/repos/{owner}/{repo}/hooks/{hook_id}")
def get_hook(ctx: Ctx) -> Reply:
    repo = ctx.repo("admin")
    hook = repo.hooks.get(ctx.int_param("hook_id"))
    if hook is None:
        raise not_found()
    return Reply(200, ctx.render.hook(repo, hook))


@route("GET", "/repos/{owner}/{repo}/hooks/{hook_id}/deliveries")
def list_deliveries(ctx: Ctx) -> Reply:
    repo = ctx.repo("admin")
    hook_id = ctx.int_param("hook_id")
    if hook_id not in repo.hooks:
        raise not_found()
    items = [d.summary() for d in reversed(ctx.deliverer.log()) if d.hook_id == hook_id]
    return paginate(ctx, items)


@route("GET", "/repos/{owner}/{repo}/hooks/{hook_id}/deliveries/{delivery_id}")
def get_delivery(ctx: Ctx) -> Reply:
    repo = ctx.repo("admin")
    hook_id = ctx.int_param("hook_id")
    for d in ctx.deliverer.log():
        if d.hook_id == hook_id and d.id == ctx.int_param("delivery_id") and hook_id in repo.hooks:
            return Reply(200, d.detail())
    raise not_found()


@route("POST", "/repos/{owner}/{repo}/hooks/{hook_id}/deliveries/{delivery_id}/attempts")
def redeliver(ctx: Ctx) -> Reply:
    repo = ctx.repo("admin")
    hook_id = ctx.int_param("hook_id")
    for d in ctx.deliverer.log():
        if d.hook_id == hook_id and d.id == ctx.int_param("delivery_id") and hook_id in repo.hooks:
            ctx.deliverer.schedule_redelivery(d)
            return Reply(202, {})
    raise not_found()


@route("GET", "/app/hook/deliveries", app_jwt=True)
def list_app_deliveries(ctx: Ctx) -> Reply:
    app_id = _app_id(ctx)
    items = [d.summary() for d in reversed(ctx.deliverer.log()) if d.app_id == app_id]
    return paginate(ctx, items)


def _app_delivery(ctx: Ctx) -> Any:
    app_id = _app_id(ctx)
    for d in ctx.deliverer.log():
        if d.app_id == app_id and d.id == ctx.int_param("delivery_id"):
            return d
    raise not_found()


@route("GET", "/app/hook/deliveries/{delivery_id}", app_jwt=True)
def get_app_delivery(ctx: Ctx) -> Reply:
    return Reply(200, _app_delivery(ctx).detail())


@route("POST", "/app/hook/deliveries/{delivery_id}/attempts", app_jwt=True)
def redeliver_app_delivery(ctx: Ctx) -> Reply:
    ctx.deliverer.schedule_redelivery(_app_delivery(ctx))
    return Reply(202, {})


# -- misc ----------------------------------------------------------------------------------------


@route("GET", "/rate_limit")
def rate_limit(ctx: Ctx) -> Reply:
    core = ctx.rate_limits.overview(ctx.caller)
    core.pop("resource", None)
    return Reply(200, {"resources": {"core": core, "search": core, "graphql": core},
                       "rate": core})


@route("GET", "/repos/{owner}/{repo}/codeowners/errors")
def codeowners_errors(ctx: Ctx) -> Reply:
    """Lines GitHub skips: bad syntax, and owners that do not exist or lack write access."""
    repo = ctx.repo()
    commit = ctx.world.resolve(repo, ctx.query.get("ref"))
    for path in codeowners.LOCATIONS:
        entry = repo.git.entry_at(commit, path)
        if entry is not None and entry.type == "blob":
            break
    else:
        raise ApiError(404, "No CODEOWNERS file found in the repository")
    text = repo.git.read_blob(entry.sha).decode("utf-8", errors="replace")
    lines = text.splitlines()
    errors = []
    for number, message in codeowners.syntax_errors(text):
        errors.append(_co_error(path, lines, number, "Invalid pattern", message))
    for number, owner in codeowners.owner_lines(text):
        if not ctx.world.eligible_owner(repo, owner):
            errors.append(_co_error(
                path, lines, number, "Unknown owner",
                f"Unknown owner on line {number}: make sure {owner} exists and has write "
                "access to the repository"))
    errors.sort(key=lambda e: e["line"])
    return Reply(200, {"errors": errors})


def _co_error(path: str, lines: list[str], number: int, kind: str,
              message: str) -> dict[str, Any]:
    source = lines[number - 1] if 0 < number <= len(lines) else ""
    return {"line": number, "column": 1, "kind": kind, "source": source, "suggestion": None,
            "message": message, "path": path}
