"""Site configurations and their history, routing decisions, parked conversions, the sGTM
delivery ledger and the outbox."""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

revision = "0001"
down_revision = None

TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    config = op.get_context().config
    assert config is not None
    schema = config.attributes["schema"]
    op.create_table(
        "sites",
        sa.Column("site_id", sa.Text, primary_key=True),
        sa.Column("revision", sa.BigInteger, nullable=False),
        sa.Column("deleted", sa.Boolean, nullable=False, server_default=sa.false()),
        sa.Column("mode", sa.Text, nullable=False),
        sa.Column("config", JSONB),
        sa.Column("created_at", TS),
        sa.Column("updated_at", TS, nullable=False),
        sa.Column("mirrored_revision", sa.BigInteger, nullable=False, server_default="0"),
        schema=schema,
    )
    op.create_index(
        "sites_unmirrored",
        "sites",
        ["site_id"],
        schema=schema,
        postgresql_where=sa.text("mirrored_revision < revision"),
    )
    op.create_table(
        "site_revisions",
        sa.Column("site_id", sa.Text, primary_key=True),
        sa.Column("revision", sa.BigInteger, primary_key=True),
        sa.Column("deleted", sa.Boolean, nullable=False),
        sa.Column("config", JSONB),
        sa.Column("changed_at", TS, nullable=False),
        schema=schema,
    )
    op.create_table(
        "routing_decisions",
        sa.Column("conversion_id", sa.Text, primary_key=True),
        sa.Column("site_id", sa.Text, nullable=False),
        sa.Column("mode", sa.Text, nullable=False),
        sa.Column("config_revision", sa.BigInteger, nullable=False),
        sa.Column("parked", sa.Boolean, nullable=False),
        sa.Column("park_reason", sa.Text),
        sa.Column("park_detail", sa.Text),
        sa.Column("destinations", JSONB, nullable=False),
        sa.Column("mode_mismatch", sa.Boolean, nullable=False),
        sa.Column("decided_at", TS, nullable=False),
        sa.Column("released_at", TS),
        schema=schema,
    )
    op.create_index(
        "routing_decisions_site", "routing_decisions", ["site_id", "decided_at"], schema=schema
    )
    op.create_index(
        "routing_decisions_decided_at", "routing_decisions", ["decided_at"], schema=schema
    )
    op.create_table(
        "parked_conversions",
        sa.Column("conversion_id", sa.Text, primary_key=True),
        sa.Column("site_id", sa.Text, nullable=False),
        sa.Column("payload", sa.LargeBinary, nullable=False),
        sa.Column("parked_revision", sa.BigInteger, nullable=False),
        sa.Column("checked_revision", sa.BigInteger, nullable=False),
        sa.Column("parked_at", TS, nullable=False),
        schema=schema,
    )
    op.create_index(
        "parked_conversions_site",
        "parked_conversions",
        ["site_id", "checked_revision"],
        schema=schema,
    )
    op.create_table(
        "sgtm_deliveries",
        sa.Column("delivery_id", sa.Text, primary_key=True),
        sa.Column("conversion_id", sa.Text, nullable=False),
        sa.Column("site_id", sa.Text, nullable=False),
        sa.Column("config_revision", sa.BigInteger, nullable=False),
        sa.Column("host", sa.Text, nullable=False),
        sa.Column("payload", sa.LargeBinary),
        sa.Column("traceparent", sa.Text, nullable=False, server_default=""),
        sa.Column("tracestate", sa.Text, nullable=False, server_default=""),
        sa.Column("status", sa.Text, nullable=False, server_default="pending"),
        sa.Column("attempts", sa.Integer, nullable=False, server_default="0"),
        sa.Column("sequence", sa.Integer, nullable=False, server_default="0"),
        sa.Column("next_attempt_at", TS, nullable=False, server_default=sa.func.now()),
        sa.Column("lease_owner", sa.Text),
        sa.Column(
            "lease_until", TS, nullable=False, server_default=sa.text("'-infinity'::timestamptz")
        ),
        sa.Column("last_error", sa.Text),
        sa.Column("error_class", sa.Text),
        sa.Column("platform_code", sa.Text),
        sa.Column("batch_id", sa.Text),
        sa.Column("created_at", TS, nullable=False, server_default=sa.func.now()),
        sa.Column("updated_at", TS, nullable=False, server_default=sa.func.now()),
        sa.Column("confirmed_at", TS),
        schema=schema,
    )
    # The forwarder's claim scans due pending rows in due order.
    op.create_index(
        "sgtm_deliveries_due",
        "sgtm_deliveries",
        ["next_attempt_at"],
        schema=schema,
        postgresql_where=sa.text("status = 'pending'"),
    )
    op.create_index("sgtm_deliveries_conversion", "sgtm_deliveries", ["conversion_id"], schema=schema)
    op.create_index(
        "sgtm_deliveries_site_status", "sgtm_deliveries", ["site_id", "status"], schema=schema
    )
    # Housekeeping deletes settled deliveries past the retention period.
    op.create_index(
        "sgtm_deliveries_settled",
        "sgtm_deliveries",
        ["updated_at"],
        schema=schema,
        postgresql_where=sa.text("status <> 'pending'"),
    )
    op.create_table(
        "outbox",
        sa.Column("id", sa.BigInteger, sa.Identity(), primary_key=True),
        sa.Column("subject", sa.Text, nullable=False),
        sa.Column("msg_id", sa.Text, nullable=False),
        sa.Column("payload", sa.LargeBinary, nullable=False),
        sa.Column("headers", JSONB, nullable=False),
        sa.Column("created_at", TS, nullable=False, server_default=sa.func.now()),
        schema=schema,
    )
