"""Spend, exchange rates, the daily metrics rollup, job runs and job watermarks."""

from alembic import op

from attribution.adapters.orm import (
    daily_metrics,
    exchange_rates,
    job_marks,
    job_runs,
    metadata,
    spend,
)

TABLES = [spend, exchange_rates, daily_metrics, job_runs, job_marks]


def upgrade() -> None:
    metadata.create_all(op.get_bind(), tables=TABLES)


def downgrade() -> None:
    metadata.drop_all(op.get_bind(), tables=TABLES)


revision = "0002"
down_revision = "0001"
