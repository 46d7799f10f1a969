"""The session audit tables as the web app made them before Alembic (``create_all``).

Revision ID: r0001
Revises: (none)

Created only if missing: a database made by an earlier web app already has them and is adopted
as it is, its sessions and recordings kept.

Downgrade (to base) drops both tables: every session record and recording is lost, also those
adopted from before Alembic. Only for removing the web app; export recordings first.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "r0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    inspector = sa.inspect(op.get_bind())
    if not inspector.has_table("terminal_sessions"):
        op.create_table(
            "terminal_sessions",
            sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
            sa.Column("cr_name", sa.String(253), nullable=False),
            sa.Column("user", sa.String(100), nullable=False),
            sa.Column("cluster", sa.String(63), nullable=False),
            sa.Column("namespace", sa.String(63), nullable=False),
            sa.Column("pod", sa.String(253), nullable=False),
            sa.Column("container", sa.String(63), nullable=False),
            sa.Column("shell", sa.String(32), nullable=True),
            sa.Column("opened_at", sa.DateTime(timezone=True), nullable=False),
            sa.Column("closed_at", sa.DateTime(timezone=True), nullable=True),
            sa.Column("close_reason", sa.String(32), nullable=True),
            sa.Column("bytes_in", sa.BigInteger(), nullable=False),
            sa.Column("bytes_out", sa.BigInteger(), nullable=False),
        )
        op.create_index("ix_terminal_sessions_cr_name", "terminal_sessions", ["cr_name"])
        op.create_index("ix_terminal_sessions_user", "terminal_sessions", ["user"])
    if not inspector.has_table("terminal_recording_chunks"):
        op.create_table(
            "terminal_recording_chunks",
            sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
            sa.Column("session_id", sa.Integer(), sa.ForeignKey("terminal_sessions.id"),
                      nullable=False),
            sa.Column("seq", sa.Integer(), nullable=False),
            sa.Column("content", sa.Text(), nullable=False),
        )
        op.create_index("ix_terminal_recording_chunks_session_id",
                        "terminal_recording_chunks", ["session_id"])


def downgrade() -> None:
    op.drop_table("terminal_recording_chunks")
    op.drop_table("terminal_sessions")
