"""Alembic environment of the ingest schema."""

from hubkit.db.migrations import run_env

run_env()
