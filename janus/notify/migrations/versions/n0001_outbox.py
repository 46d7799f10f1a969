"""The notification outbox: events (the dedupe keys) and their deliveries, one per channel.

Revision ID: n0001
Revises: (none)

An environment of its own (version table ``alembic_version_notify``), beside the receiver's
delivery store in the same database: the outbox belongs to janus.notify, not to the store.

Downgrade (to base) drops both tables: unsent notifications are never sent, and events already
sent may be sent again after an upgrade (their dedupe keys are gone).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "n0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "notify_events",
        sa.Column("id", sa.String(400), primary_key=True),
        sa.Column("kind", sa.String(64), nullable=False),
        sa.Column("request", sa.String(300), nullable=False),
        sa.Column("policy", sa.String(200), nullable=True),
        sa.Column("created_at", sa.Float(), nullable=False),
    )
    op.create_index("notify_events_request", "notify_events", ["request", "created_at"])
    op.create_table(
        "notify_deliveries",
        sa.Column("id", sa.String(500), primary_key=True),
        sa.Column("event_id", sa.String(400), nullable=False),
        sa.Column("channel", sa.String(100), nullable=False),
        sa.Column("payload", sa.Text(), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("not_before", sa.Float(), nullable=False),
        sa.Column("lease_owner", sa.String(200), nullable=True),
        sa.Column("lease_expires", sa.Float(), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("created_at", sa.Float(), nullable=False),
        sa.Column("sent_at", sa.Float(), nullable=True),
    )
    op.create_index("notify_deliveries_event", "notify_deliveries", ["event_id"])
    op.create_index("notify_deliveries_todo", "notify_deliveries",
                    ["state", "not_before", "created_at"])


def downgrade() -> None:
    op.drop_table("notify_deliveries")
    op.drop_table("notify_events")
