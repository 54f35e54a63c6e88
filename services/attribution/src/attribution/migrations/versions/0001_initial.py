"""Attribution's initial schema: touchpoints, conversions, credits."""

from alembic import op

from attribution.adapters.orm import conversions, credits, metadata, touchpoints, versions

# The tables as this revision made them (later revisions add theirs).
TABLES = [touchpoints, conversions, versions, credits]


def upgrade() -> None:
    metadata.create_all(op.get_bind(), tables=TABLES)


def downgrade() -> None:
    metadata.drop_all(op.get_bind(), tables=TABLES)


revision = "0001"
down_revision = None
