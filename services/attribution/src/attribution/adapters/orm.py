"""The attribution schema: touchpoints, conversions and their rule-based credits."""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    DateTime,
    Identity,
    Index,
    Integer,
    MetaData,
    Numeric,
    Table,
    Text,
    text,
)
from sqlalchemy.dialects.postgresql import ARRAY

SCHEMA = "attribution"
metadata = MetaData(schema=SCHEMA)


def _ts(name: str, nullable: bool = False) -> Column[object]:
    return Column(name, DateTime(timezone=True), nullable=nullable)


# One row per touchpoint; `seq` is the arrival order (ties on occurred_at keep it).
touchpoints = Table(
    "touchpoints",
    metadata,
    Column("site_id", Text, primary_key=True),
    Column("touchpoint_id", Text, primary_key=True),
    Column("seq", BigInteger, Identity(), nullable=False),
    Column("visitor_id", Text, nullable=False, server_default=""),
    Column("user_keys", ARRAY(Text), nullable=False, server_default=text("'{}'")),
    Column("channel", Text, nullable=False),
    Column("campaign", Text, nullable=False, server_default=""),
    Column("interaction", Text, nullable=False),
    _ts("occurred_at"),
)
Index(
    "touchpoints_visitor",
    touchpoints.c.site_id,
    touchpoints.c.visitor_id,
    touchpoints.c.occurred_at,
)
Index("touchpoints_time", touchpoints.c.site_id, touchpoints.c.occurred_at)
Index("touchpoints_arrival", touchpoints.c.site_id, touchpoints.c.seq)
Index("touchpoints_user_keys", touchpoints.c.user_keys, postgresql_using="gin")

# One row per accepted conversion (hashed identifiers only, as ingest published them).
conversions = Table(
    "conversions",
    metadata,
    Column("conversion_id", Text, primary_key=True),
    Column("site_id", Text, nullable=False),
    Column("visitor_id", Text, nullable=False, server_default=""),
    Column("user_keys", ARRAY(Text), nullable=False, server_default=text("'{}'")),
    Column("event_type", Text, nullable=False),
    _ts("event_time"),
    Column("value", Numeric(21, 6), nullable=False, server_default=text("0")),
    Column("currency", Text, nullable=False, server_default=""),
    Column("unattributed", Boolean, nullable=False, server_default=text("false")),
    _ts("attributed_at", nullable=True),
)
Index("conversions_site_time", conversions.c.site_id, conversions.c.event_time)
Index("conversions_visitor", conversions.c.site_id, conversions.c.visitor_id)
Index("conversions_user_keys", conversions.c.user_keys, postgresql_using="gin")

# Bumped by every write of a site's data (touchpoints, conversions, credits, erasures): the
# data-driven models' cache key.
versions = Table(
    "versions",
    metadata,
    Column("site_id", Text, primary_key=True),
    Column("version", BigInteger, nullable=False),
)

# Rule-based credits: one row per conversion, model and touch (position 0 with the
# UNATTRIBUTED key when no touch earned it). Site, time, type and currency are copied from the
# conversion so that QueryCredit reads this table alone.
credits = Table(
    "credits",
    metadata,
    Column("conversion_id", Text, primary_key=True),
    Column("model", Text, primary_key=True),
    Column("position", Integer, primary_key=True),
    Column("site_id", Text, nullable=False),
    _ts("event_time"),
    Column("event_type", Text, nullable=False),
    Column("touchpoint_id", Text, nullable=False),
    Column("channel", Text, nullable=False),
    Column("campaign", Text, nullable=False),
    Column("credit", Numeric(30, 20), nullable=False),
    Column("revenue", Numeric(27, 12), nullable=False),
    Column("currency", Text, nullable=False),
)
Index(
    "credits_query",
    credits.c.site_id,
    credits.c.model,
    credits.c.event_time,
    postgresql_include=["channel", "campaign", "credit", "revenue", "currency", "event_type"],
)
