"""Ingest's tables (schema `ingest`). Only ingest reads or writes them."""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Column,
    DateTime,
    Index,
    LargeBinary,
    MetaData,
    Numeric,
    Table,
    Text,
)
from sqlalchemy.dialects.postgresql import ARRAY, UUID

from hubkit.db import outbox_table

SCHEMA = "ingest"
metadata = MetaData(schema=SCHEMA)

# One row per accepted conversion. `record` is the HashedConversion as published (hashed
# identifiers only); the other columns exist to query by.
conversions = Table(
    "conversions",
    metadata,
    Column("conversion_id", UUID(as_uuid=False), primary_key=True),
    Column("site_id", Text, nullable=False),
    Column("order_id", Text, nullable=False),
    Column("event_type", Text, nullable=False),
    Column("event_id", Text, nullable=False),
    Column("event_time", DateTime(timezone=True), nullable=False),
    Column("received_at", DateTime(timezone=True), nullable=False),
    Column("value", Numeric(21, 6)),
    Column("currency", Text, nullable=False),
    Column("consent_decision", Text, nullable=False),
    Column("visitor_id", Text, nullable=False),
    # Every hash variant of the person's email, phone and external id: what EraseUser matches.
    Column("identity_hashes", ARRAY(Text), nullable=False),
    Column("record", LargeBinary, nullable=False),
    Index("conversions_site_received", "site_id", "received_at"),
    Index("conversions_identity", "identity_hashes", postgresql_using="gin"),
)

# The dedupe claim: one row per (site, key); the unique key is what makes concurrent duplicates
# across replicas resolve to one. A row past `expires_at` may be claimed again by a new conversion.
dedupe_keys = Table(
    "dedupe_keys",
    metadata,
    Column("site_id", Text, primary_key=True),
    Column("key", LargeBinary, primary_key=True),
    Column("conversion_id", UUID(as_uuid=False), nullable=False),
    Column("event_id", Text, nullable=False),
    Column("first_seen_at", DateTime(timezone=True), nullable=False),
    Column("expires_at", DateTime(timezone=True), nullable=False),
    Index("dedupe_keys_expires", "expires_at"),
    Index("dedupe_keys_conversion", "conversion_id"),
)

# The router's latest decision per conversion (ConversionRouted).
routing = Table(
    "routing",
    metadata,
    Column("conversion_id", UUID(as_uuid=False), primary_key=True),
    Column("config_revision", BigInteger, nullable=False),
    Column("record", LargeBinary, nullable=False),
)

# Per destination delivery state (DeliveryState); `sequence` keeps updates from going backwards.
deliveries = Table(
    "deliveries",
    metadata,
    Column("delivery_id", Text, primary_key=True),
    Column("conversion_id", UUID(as_uuid=False), nullable=False),
    Column("sequence", BigInteger, nullable=False),
    Column("record", LargeBinary, nullable=False),
    Index("deliveries_conversion", "conversion_id"),
)

outbox = outbox_table(metadata, SCHEMA)
