"""Alembic env of the sample schema of the db kit tests (the same lines as a service's)."""

from hubkit.db.migrations import run_env

run_env()
