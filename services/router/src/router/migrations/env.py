"""Alembic environment of the router schema."""

from hubkit.db.migrations import run_env

run_env()
