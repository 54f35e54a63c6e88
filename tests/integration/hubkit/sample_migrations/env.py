"""Alembic env of the sample schema used by the db kit tests (the same three lines as a service's)."""

from hubkit.db.migrations import run_env

run_env()
