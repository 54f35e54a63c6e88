"""Ingest's initial schema: conversions, dedupe keys, routing, deliveries, outbox."""

import sqlalchemy as sa
from alembic import op

from hubkit.db import create_outbox_table
from sqlalchemy.dialects import postgresql as pg

revision = "0001"
down_revision = None

SCHEMA = "ingest"
UUID = pg.UUID(as_uuid=False)
TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "conversions",
        sa.Column("conversion_id", UUID, primary_key=True),
        sa.Column("site_id", sa.Text, nullable=False),
        sa.Column("order_id", sa.Text, nullable=False),
        sa.Column("event_type", sa.Text, nullable=False),
        sa.Column("event_id", sa.Text, nullable=False),
        sa.Column("event_time", TS, nullable=False),
        sa.Column("received_at", TS, nullable=False),
        sa.Column("value", sa.Numeric(21, 6)),
        sa.Column("currency", sa.Text, nullable=False),
        sa.Column("consent_decision", sa.Text, nullable=False),
        sa.Column("visitor_id", sa.Text, nullable=False),
        sa.Column("identity_hashes", pg.ARRAY(sa.Text), nullable=False),
        sa.Column("record", sa.LargeBinary, nullable=False),
        schema=SCHEMA,
    )
    op.create_index("conversions_site_received", "conversions", ["site_id", "received_at"],
                    schema=SCHEMA)
    op.create_index("conversions_identity", "conversions", ["identity_hashes"],
                    postgresql_using="gin", schema=SCHEMA)
    op.create_table(
        "dedupe_keys",
        sa.Column("site_id", sa.Text, primary_key=True),
        sa.Column("key", sa.LargeBinary, primary_key=True),
        sa.Column("conversion_id", UUID, nullable=False),
        sa.Column("event_id", sa.Text, nullable=False),
        sa.Column("first_seen_at", TS, nullable=False),
        sa.Column("expires_at", TS, nullable=False),
        schema=SCHEMA,
    )
    op.create_index("dedupe_keys_expires", "dedupe_keys", ["expires_at"], schema=SCHEMA)
    op.create_index("dedupe_keys_conversion", "dedupe_keys", ["conversion_id"], schema=SCHEMA)
    op.create_table(
        "routing",
        sa.Column("conversion_id", UUID, primary_key=True),
        sa.Column("config_revision", sa.BigInteger, nullable=False),
        sa.Column("record", sa.LargeBinary, nullable=False),
        schema=SCHEMA,
    )
    op.create_table(
        "deliveries",
        sa.Column("delivery_id", sa.Text, primary_key=True),
        sa.Column("conversion_id", UUID, nullable=False),
        sa.Column("sequence", sa.BigInteger, nullable=False),
        sa.Column("record", sa.LargeBinary, nullable=False),
        schema=SCHEMA,
    )
    op.create_index("deliveries_conversion", "deliveries", ["conversion_id"], schema=SCHEMA)
    create_outbox_table(SCHEMA)
