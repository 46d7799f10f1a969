"""Server-side login sessions (issue 11 item 7): a random id in the cookie, the session in the
web database.

A copied cookie is worth nothing once its row is gone: logout deletes it, a new login in the
same browser deletes the old one (the id rotates: nothing from before the login survives), and
a row past ``expires_at`` counts as gone (and is purged). Only the id's SHA-256 is stored.
Blocking: each call is one short query (SQLite or PostgreSQL).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets
from dataclasses import dataclass

from sqlalchemy import Engine, delete, insert, select, update

from janus.web.db import as_utc, now, web_sessions


@dataclass(frozen=True)
class LoginSession:
    login: str
    github_id: int | None
    name: str
    sealed_github_token: str | None
    expires_at: dt.datetime
    verified_at: dt.datetime


def _hash(session_id: str) -> str:
    return hashlib.sha256(session_id.encode()).hexdigest()


class WebSessionStore:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def create(
        self,
        *,
        login: str,
        name: str,
        max_age_seconds: int,
        github_id: int | None = None,
        sealed_github_token: str | None = None,
    ) -> str:
        """A new session; returns its id (for the cookie, never stored as such)."""
        session_id = secrets.token_urlsafe(32)
        started = now()
        with self.engine.begin() as conn:
            # Expired rows go on every login: the table never grows past the live sessions.
            conn.execute(delete(web_sessions).where(web_sessions.c.expires_at <= started))
            conn.execute(
                insert(web_sessions).values(
                    id_hash=_hash(session_id),
                    login=login,
                    github_id=github_id,
                    name=name,
                    github_token=sealed_github_token,
                    created_at=started,
                    expires_at=started + dt.timedelta(seconds=max_age_seconds),
                    verified_at=started,
                )
            )
        return session_id

    def get(self, session_id: str) -> LoginSession | None:
        """The live session with this id, or None (unknown, ended or expired)."""
        with self.engine.connect() as conn:
            row = conn.execute(
                select(web_sessions).where(web_sessions.c.id_hash == _hash(session_id))
            ).first()
        if row is None or as_utc(row.expires_at) <= now():
            return None
        return LoginSession(
            login=row.login,
            github_id=row.github_id,
            name=row.name,
            sealed_github_token=row.github_token,
            expires_at=as_utc(row.expires_at),
            verified_at=as_utc(row.verified_at),
        )

    def end(self, session_id: str) -> None:
        with self.engine.begin() as conn:
            conn.execute(delete(web_sessions).where(web_sessions.c.id_hash == _hash(session_id)))

    def end_all_of(self, login: str) -> int:
        """End every session of *login* (no longer allowed in); returns how many."""
        with self.engine.begin() as conn:
            result = conn.execute(
                delete(web_sessions).where(web_sessions.c.login == login)
            )
            return int(result.rowcount or 0)

    def mark_verified(self, session_id: str) -> None:
        with self.engine.begin() as conn:
            conn.execute(
                update(web_sessions)
                .where(web_sessions.c.id_hash == _hash(session_id))
                .values(verified_at=now())
            )
