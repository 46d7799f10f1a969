"""Alembic environment of the webhook database (janus.dbmigrate runs it at start-up)."""
