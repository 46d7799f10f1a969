"""Alembic environment of the notification outbox (janus/notify/outbox.py)."""
