"""Leases, so several receiver replicas can share one database (issue 15), and the index the
pruning of finished deliveries uses.

Revision ID: w0002
Revises: w0001

A claimed delivery records which replica holds it and until when; a replica that dies stops
renewing its leases and another takes the delivery over once they expire.

Downgrade (to w0001) drops ``lease_owner`` and ``lease_expires`` and the ``deliveries_finished``
index; every delivery row stays. Lost: who holds a claimed delivery and until when. Upgrading
again makes a row left 'working' without an owner 'pending' (due now), so a delivery held during
the rollback is processed, never stuck. Several replicas need w0002: scale the receiver to one
before downgrading.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "w0002"
down_revision = "w0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    inspector = sa.inspect(op.get_bind())
    columns = {c["name"] for c in inspector.get_columns("deliveries")}
    with op.batch_alter_table("deliveries") as batch:
        if "lease_owner" not in columns:
            batch.add_column(sa.Column("lease_owner", sa.String(128), nullable=True))
        if "lease_expires" not in columns:
            batch.add_column(sa.Column("lease_expires", sa.Float(), nullable=True))
    indexes = {i["name"] for i in inspector.get_indexes("deliveries")}
    if "deliveries_finished" not in indexes:  # made by the receiver since pruning, pre-Alembic
        op.create_index("deliveries_finished", "deliveries", ["finished_at"],
                        sqlite_where=sa.text("finished_at IS NOT NULL"),
                        postgresql_where=sa.text("finished_at IS NOT NULL"))
    # Rows a pre-lease receiver left 'working' have no owner: due again now.
    op.execute("UPDATE deliveries SET state='pending' WHERE state='working'"
               " AND lease_owner IS NULL")


def downgrade() -> None:
    op.drop_index("deliveries_finished", "deliveries")
    with op.batch_alter_table("deliveries") as batch:
        batch.drop_column("lease_expires")
        batch.drop_column("lease_owner")
