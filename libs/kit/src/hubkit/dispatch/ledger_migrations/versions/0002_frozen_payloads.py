"""Ledger v2: the bytes of each event's first send, so a resend carries exactly those."""

from alembic import op

from hubkit.dispatch.migrations import downgrade_ledger_v2, upgrade_ledger_v2

revision = "0002"
down_revision = "0001"


def upgrade() -> None:
    upgrade_ledger_v2(op)


def downgrade() -> None:
    downgrade_ledger_v2(op)
