"""Sources: who reported each conversion, each source object once, webhook deliveries and
refusals, HubSpot events awaiting their deal, and pull-sync watermarks."""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql as pg

revision = "0002"
down_revision = "0001"

SCHEMA = "ingest"
UUID = pg.UUID(as_uuid=False)
TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "conversion_sources",
        sa.Column("conversion_id", UUID, primary_key=True),
        sa.Column("source", sa.Text, primary_key=True),
        sa.Column("reference", sa.Text, nullable=False),
        sa.Column("first_reported_at", TS, nullable=False),
        sa.Column("reports", sa.BigInteger, nullable=False),
        schema=SCHEMA,
    )
    op.create_table(
        "source_objects",
        sa.Column("site_id", sa.Text, primary_key=True),
        sa.Column("source", sa.Text, primary_key=True),
        sa.Column("reference", sa.Text, primary_key=True),
        sa.Column("conversion_id", UUID, nullable=False),
        sa.Column("first_reported_at", TS, nullable=False),
        schema=SCHEMA,
    )
    op.create_index(
        "source_objects_conversion", "source_objects", ["conversion_id"], schema=SCHEMA
    )
    op.create_table(
        "webhook_deliveries",
        sa.Column("site_id", sa.Text, primary_key=True),
        sa.Column("source", sa.Text, primary_key=True),
        sa.Column("delivery_id", sa.Text, primary_key=True),
        sa.Column("received_at", TS, nullable=False),
        sa.Column("outcome", sa.Text, nullable=False),
        sa.Column("conversion_id", UUID),
        schema=SCHEMA,
    )
    op.create_index(
        "webhook_deliveries_received",
        "webhook_deliveries",
        ["site_id", "source", "received_at"],
        schema=SCHEMA,
    )
    op.create_table(
        "webhook_refusals",
        sa.Column("site_id", sa.Text, primary_key=True),
        sa.Column("source", sa.Text, primary_key=True),
        sa.Column("day", sa.Date, primary_key=True),
        sa.Column("refused", sa.BigInteger, nullable=False),
        schema=SCHEMA,
    )
    op.create_table(
        "hubspot_pending",
        sa.Column("site_id", sa.Text, primary_key=True),
        sa.Column("event_id", sa.Text, primary_key=True),
        sa.Column("deal_id", sa.Text, nullable=False),
        sa.Column("received_at", TS, nullable=False),
        sa.Column("attempts", sa.Integer, nullable=False),
        sa.Column("next_attempt_at", TS, nullable=False),
        schema=SCHEMA,
    )
    op.create_index("hubspot_pending_due", "hubspot_pending", ["next_attempt_at"], schema=SCHEMA)
    op.create_table(
        "source_syncs",
        sa.Column("site_id", sa.Text, primary_key=True),
        sa.Column("source", sa.Text, primary_key=True),
        sa.Column("watermark", TS),
        sa.Column("last_run_at", TS),
        sa.Column("last_outcome", sa.Text, nullable=False),
        sa.Column("lease_until", TS),
        schema=SCHEMA,
    )


def downgrade() -> None:
    for table in (
        "source_syncs",
        "hubspot_pending",
        "webhook_refusals",
        "webhook_deliveries",
        "source_objects",
        "conversion_sources",
    ):
        op.drop_table(table, schema=SCHEMA)
