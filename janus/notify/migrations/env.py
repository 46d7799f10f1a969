"""Alembic's entry point: the connection comes from janus.dbmigrate.upgrade."""

from janus.dbmigrate import run_env

run_env()
