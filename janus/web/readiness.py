"""What ``GET /readyz`` of the web app checks: the central API server and the session database.

The grants pages read AccessRequests from the API server and the terminal records sessions in
the database; a replica that reaches neither cannot serve a user, so it leaves the Service until
they answer again (``janus.resource.readiness`` has the rules).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import text

from janus.resource import readiness


def _unavailable(reason: str) -> readiness.Check:
    def check() -> None:
        raise RuntimeError(reason)

    return check


def _database(engine: Any) -> readiness.Check:
    def check() -> None:
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))

    return check


def checks(app: Any) -> dict[str, readiness.Check]:
    """The checks of one app: its grants store's API client and the terminal's engine."""
    api_client = getattr(app.state.grants, "api_client", None)
    terminal = getattr(app.state, "terminal", None)
    store = getattr(terminal, "store", None)
    return {
        "api_server": (readiness.api_server(api_client) if api_client is not None
                       else _unavailable("no central cluster client")),
        "database": (_database(store.engine) if store is not None
                     else _unavailable("the terminal runtime (session database) is not started")),
    }
