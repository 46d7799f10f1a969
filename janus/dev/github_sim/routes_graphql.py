"""``POST /graphql`` (``/api/graphql`` on GitHub Enterprise): see :mod:`.graphql_api`."""

from __future__ import annotations

from .errors import ApiError
from .graphql_api import answer
from .rest import Ctx, Reply, route


@route("POST", "/graphql")
def graphql(ctx: Ctx) -> Reply:
    if ctx.caller.login is None:
        raise ApiError(401, "This endpoint requires you to be authenticated.",
                       doc="https://docs.github.com/graphql/guides/forming-calls-with-graphql"
                           "#authenticating-with-graphql")
    body = answer(ctx.world, ctx.caller.login, ctx.raw_body,
                  lambda: ctx.rate_limits.overview(ctx.caller))
    return Reply(200, body)
