"""Recording integrity columns (issue 10), server-side login sessions and GitHub identity pins
(issue 11).

Revision ID: r0002
Revises: r0001

Each piece is added only if missing: web apps between the first schema and Alembic added the
columns themselves at start-up and created the new tables.

Downgrade (to r0001) keeps every terminal session and its recording chunks, and loses:
``recording_sha256``, ``recording_bytes``, ``records_input`` and ``recording_deleted_at`` (the
integrity hash of each recording, and which recordings were deleted by retention: their rows
then look like sessions with an empty recording); every server-side login session (everyone logs
in again); every GitHub identity pin (re-pinned at the next login, so a login renamed and taken
over meanwhile is not caught).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "r0002"
down_revision = "r0001"
branch_labels = None
depends_on = None

_RECORDING_COLUMNS = (
    ("recording_sha256", sa.String(64)),
    ("recording_bytes", sa.BigInteger()),
    ("records_input", sa.Boolean()),
    ("recording_deleted_at", sa.DateTime(timezone=True)),
)


def upgrade() -> None:
    inspector = sa.inspect(op.get_bind())
    present = {c["name"] for c in inspector.get_columns("terminal_sessions")}
    missing = [(name, kind) for name, kind in _RECORDING_COLUMNS if name not in present]
    if missing:
        with op.batch_alter_table("terminal_sessions") as batch:
            for name, kind in missing:
                batch.add_column(sa.Column(name, kind, nullable=True))
    if not inspector.has_table("web_sessions"):
        op.create_table(
            "web_sessions",
            sa.Column("id_hash", sa.String(64), primary_key=True),
            sa.Column("login", sa.String(39), nullable=False),
            sa.Column("github_id", sa.BigInteger(), nullable=True),
            sa.Column("name", sa.String(255), nullable=False),
            sa.Column("github_token", sa.Text(), nullable=True),
            sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
            sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
            sa.Column("verified_at", sa.DateTime(timezone=True), nullable=False),
        )
        op.create_index("ix_web_sessions_login", "web_sessions", ["login"])
        op.create_index("ix_web_sessions_expires_at", "web_sessions", ["expires_at"])
    if not inspector.has_table("github_identities"):
        op.create_table(
            "github_identities",
            sa.Column("login", sa.String(39), primary_key=True),
            sa.Column("github_id", sa.BigInteger(), nullable=False),
            sa.Column("first_seen_at", sa.DateTime(timezone=True), nullable=False),
        )


def downgrade() -> None:
    op.drop_table("github_identities")
    op.drop_table("web_sessions")
    with op.batch_alter_table("terminal_sessions") as batch:
        for name, _kind in reversed(_RECORDING_COLUMNS):
            batch.drop_column(name)
