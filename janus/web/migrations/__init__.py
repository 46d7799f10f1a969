"""Alembic environment of the web database (janus.dbmigrate runs it at start-up)."""
