"""Alembic env of dispatch-meta: the shared ledger's tables in this service's schema."""

from hubkit.dispatch.migrations import run_env

run_env()
