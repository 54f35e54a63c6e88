"""Tables of the router's schema (the migrations create them; this module only describes them)."""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    DateTime,
    LargeBinary,
    MetaData,
    Table,
    Text,
)
from sqlalchemy.dialects.postgresql import JSONB

from hubkit.db import outbox_table

SCHEMA = "router"
SGTM_SCHEMA = "router_sgtm"  # the sGTM dispatcher's ledger (hubkit.dispatch tables)
metadata = MetaData(schema=SCHEMA)

# The current configuration of each site; a tombstone (deleted, config NULL) keeps the revision.
sites = Table(
    "sites",
    metadata,
    Column("site_id", Text, primary_key=True),
    Column("revision", BigInteger, nullable=False),
    Column("deleted", Boolean, nullable=False),
    Column("mode", Text, nullable=False),
    Column("config", JSONB),  # convhub.router.v1.Site in proto JSON
    Column("created_at", DateTime(timezone=True)),
    Column("updated_at", DateTime(timezone=True), nullable=False),
    Column("mirrored_revision", BigInteger, nullable=False),
)

# Every revision ever stored: what each routing decision's revision meant.
site_revisions = Table(
    "site_revisions",
    metadata,
    Column("site_id", Text, primary_key=True),
    Column("revision", BigInteger, primary_key=True),
    Column("deleted", Boolean, nullable=False),
    Column("config", JSONB),
    Column("changed_at", DateTime(timezone=True), nullable=False),
)

# One row per conversion ever routed: the idempotency key of the routing consumer.
routing_decisions = Table(
    "routing_decisions",
    metadata,
    Column("conversion_id", Text, primary_key=True),
    Column("site_id", Text, nullable=False),
    Column("mode", Text, nullable=False),
    Column("config_revision", BigInteger, nullable=False),
    Column("parked", Boolean, nullable=False),
    Column("park_reason", Text),
    Column("park_detail", Text),
    Column("destinations", JSONB, nullable=False),
    Column("mode_mismatch", Boolean, nullable=False),
    Column("decided_at", DateTime(timezone=True), nullable=False),
    Column("released_at", DateTime(timezone=True)),
)

# Conversions waiting for a usable configuration, with what is needed to route them later.
parked_conversions = Table(
    "parked_conversions",
    metadata,
    Column("conversion_id", Text, primary_key=True),
    Column("site_id", Text, nullable=False),
    Column("payload", LargeBinary, nullable=False),
    Column("parked_revision", BigInteger, nullable=False),
    Column("checked_revision", BigInteger, nullable=False),
    Column("parked_at", DateTime(timezone=True), nullable=False),
)

outbox = outbox_table(metadata, SCHEMA)
