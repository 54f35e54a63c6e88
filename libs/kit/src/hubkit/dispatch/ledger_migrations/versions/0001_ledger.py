"""The delivery ledger (deliveries, batches, attempts, dead letters, outbox), v1."""

from alembic import op

from hubkit.dispatch.migrations import create_ledger_v1, drop_ledger_v1

revision = "0001"
down_revision = None


def upgrade() -> None:
    create_ledger_v1(op)


def downgrade() -> None:
    drop_ledger_v1(op)
