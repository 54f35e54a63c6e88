"""Alembic environment of the attribution schema."""

from hubkit.db.migrations import run_env

run_env()
