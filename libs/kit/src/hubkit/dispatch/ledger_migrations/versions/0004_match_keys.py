"""Ledger v4: the match keys each delivery's destination receives (GetStats coverage)."""

from alembic import op

from hubkit.dispatch.migrations import downgrade_ledger_v4, upgrade_ledger_v4

revision = "0004"
down_revision = "0003"


def upgrade() -> None:
    upgrade_ledger_v4(op)


def downgrade() -> None:
    downgrade_ledger_v4(op)
