"""Ledger v3: a platform's later report on an accepted request (Google Data Manager)."""

from alembic import op

from hubkit.dispatch.migrations import downgrade_ledger_v3, upgrade_ledger_v3

revision = "0003"
down_revision = "0002"


def upgrade() -> None:
    upgrade_ledger_v3(op)


def downgrade() -> None:
    downgrade_ledger_v3(op)
