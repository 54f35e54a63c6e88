"""Alembic env of every dispatcher's ledger: the shared tables in the dispatcher's schema."""

from hubkit.dispatch.migrations import run_env

run_env()
