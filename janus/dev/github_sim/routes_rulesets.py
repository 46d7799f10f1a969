"""REST handlers for repository rulesets (the rules themselves are in :mod:`.rulesets`)."""

from __future__ import annotations

from typing import Any

from .errors import not_found
from .rest import Ctx, Reply, route


@route("POST", "/repos/{owner}/{repo}/rulesets")
def create_ruleset(ctx: Ctx) -> Reply:
    repo = ctx.repo("admin")
    body = ctx.json()
    ref_name = ((body.get("conditions") or {}).get("ref_name") or {})
    world: Any = ctx.world
    ruleset = world.add_ruleset(
        repo.full_name, str(body.get("name") or "ruleset"),
        [str(r.get("type")) for r in body.get("rules") or [] if isinstance(r, dict)],
        include=list(ref_name.get("include") or ["~DEFAULT_BRANCH"]),
        exclude=list(ref_name.get("exclude") or []),
        bypass=[b for b in body.get("bypass_actors") or [] if isinstance(b, dict)],
        enforcement=str(body.get("enforcement") or "disabled"))
    return Reply(201, ruleset.as_json(repo, ctx.render.api))


@route("GET", "/repos/{owner}/{repo}/rulesets")
def list_rulesets(ctx: Ctx) -> Reply:
    repo = ctx.repo()
    world: Any = ctx.world
    return Reply(200, [r.as_json(repo, ctx.render.api) for r in world.rulesets_of(repo)])


@route("GET", "/repos/{owner}/{repo}/rulesets/{ruleset_id}")
def get_ruleset(ctx: Ctx) -> Reply:
    repo = ctx.repo()
    world: Any = ctx.world
    wanted = ctx.int_param("ruleset_id")
    for r in world.rulesets_of(repo):
        if r.id == wanted:
            return Reply(200, r.as_json(repo, ctx.render.api))
    raise not_found()


@route("DELETE", "/repos/{owner}/{repo}/rulesets/{ruleset_id}")
def delete_ruleset(ctx: Ctx) -> Reply:
    repo = ctx.repo("admin")
    world: Any = ctx.world
    world.remove_ruleset(repo.full_name, ctx.int_param("ruleset_id"))
    return Reply(204)


@route("GET", "/repos/{owner}/{repo}/rules/branches/{branch}")
def rules_for_branch(ctx: Ctx) -> Reply:
    repo = ctx.repo()
    world: Any = ctx.world
    ref = f"refs/heads/{ctx.params['branch']}"
    out = [{"type": rule, "ruleset_source_type": "Repository", "ruleset_source": repo.full_name,
            "ruleset_id": r.id}
           for r in world.rulesets_of(repo) if r.applies_to(repo, ref) for rule in r.rules]
    return Reply(200, out)
