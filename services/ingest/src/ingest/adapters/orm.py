"""Ingest's tables (schema `ingest`). Only ingest reads or writes them."""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Column,
    Date,
    DateTime,
    Index,
    Integer,
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

# Every source whose report was a duplicate of a conversion (a Shopify webhook and the shop's
# backend both reporting one order). The conversion's own source is in its record.
conversion_sources = Table(
    "conversion_sources",
    metadata,
    Column("conversion_id", UUID(as_uuid=False), primary_key=True),
    Column("source", Text, primary_key=True),
    Column("reference", Text, nullable=False),
    Column("first_reported_at", DateTime(timezone=True), nullable=False),
    Column("reports", BigInteger, nullable=False),
)

# Each shop order or CRM deal a source reported, for good: a webhook retried after the dedupe
# window, or a deal read again by the next sync, is never a second conversion.
source_objects = Table(
    "source_objects",
    metadata,
    Column("site_id", Text, primary_key=True),
    Column("source", Text, primary_key=True),
    Column("reference", Text, primary_key=True),
    Column("conversion_id", UUID(as_uuid=False), nullable=False),
    Column("first_reported_at", DateTime(timezone=True), nullable=False),
    Index("source_objects_conversion", "conversion_id"),
)

# Each verified webhook delivery (a HubSpot event counts as one) and what became of it: a
# platform's retry of a delivery gets the same answer, and `convhub sources` its counts.
webhook_deliveries = Table(
    "webhook_deliveries",
    metadata,
    Column("site_id", Text, primary_key=True),
    Column("source", Text, primary_key=True),
    Column("delivery_id", Text, primary_key=True),
    Column("received_at", DateTime(timezone=True), nullable=False),
    Column("outcome", Text, nullable=False),
    Column("conversion_id", UUID(as_uuid=False)),
    Index("webhook_deliveries_received", "site_id", "source", "received_at"),
)

# Webhooks refused before they were read (bad signature, stale timestamp), per site and day:
# a count, never the request.
webhook_refusals = Table(
    "webhook_refusals",
    metadata,
    Column("site_id", Text, primary_key=True),
    Column("source", Text, primary_key=True),
    Column("day", Date, primary_key=True),
    Column("refused", BigInteger, nullable=False),
)

# HubSpot events that name a deal to read from the CRM API; gone once it is read and ingested.
hubspot_pending = Table(
    "hubspot_pending",
    metadata,
    Column("site_id", Text, primary_key=True),
    Column("event_id", Text, primary_key=True),
    Column("deal_id", Text, nullable=False),
    Column("received_at", DateTime(timezone=True), nullable=False),
    Column("attempts", Integer, nullable=False),
    Column("next_attempt_at", DateTime(timezone=True), nullable=False),
    Index("hubspot_pending_due", "next_attempt_at"),
)

# Each pull sync's watermark and last run; `lease_until` keeps two runs of one sync apart.
source_syncs = Table(
    "source_syncs",
    metadata,
    Column("site_id", Text, primary_key=True),
    Column("source", Text, primary_key=True),
    Column("watermark", DateTime(timezone=True)),
    Column("last_run_at", DateTime(timezone=True)),
    Column("last_outcome", Text, nullable=False),
    Column("lease_until", DateTime(timezone=True)),
)

outbox = outbox_table(metadata, SCHEMA)
