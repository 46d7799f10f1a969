"""The deliveries table as the receiver made it before Alembic (raw SQLite, one replica).

Revision ID: w0001
Revises: (none)

Created only if missing: a database made by an earlier receiver already has it and is adopted
as it is, its deliveries kept.

Downgrade (to base) drops the table and every delivery in it, also one adopted from before
Alembic: only for removing the receiver. Nothing is lost for good that GitHub still has (the
periodic reconcile grants from the merged files), but replay protection for the last deliveries
goes with it.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "w0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    if sa.inspect(op.get_bind()).has_table("deliveries"):
        return
    op.create_table(
        "deliveries",
        sa.Column("id", sa.String(255), primary_key=True),
        sa.Column("event", sa.String(64), nullable=False),
        sa.Column("action", sa.String(64), nullable=True),
        sa.Column("body", sa.LargeBinary(), nullable=False),
        sa.Column("received_at", sa.Float(), nullable=False),
        sa.Column("state", sa.String(16), nullable=False, server_default="pending"),
        sa.Column("attempts", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("not_before", sa.Float(), nullable=False, server_default="0"),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("finished_at", sa.Float(), nullable=True),
    )
    op.create_index("deliveries_todo", "deliveries", ["state", "not_before", "received_at"])


def downgrade() -> None:
    op.drop_table("deliveries")
