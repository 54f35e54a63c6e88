"""Attribution's initial schema: touchpoints, conversions, credits."""

from alembic import op

from attribution.adapters.orm import metadata


def upgrade() -> None:
    metadata.create_all(op.get_bind())


def downgrade() -> None:
    metadata.drop_all(op.get_bind())


revision = "0001"
down_revision = None
