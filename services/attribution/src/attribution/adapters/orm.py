"""The attribution schema: touchpoints, conversions and their rule-based credits."""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    Date,
    DateTime,
    Float,
    Identity,
    Index,
    Integer,
    MetaData,
    Numeric,
    Table,
    Text,
    text,
)
from sqlalchemy.dialects.postgresql import ARRAY, JSONB

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

# Advertising spend per (site, platform, ad account, channel, campaign, day), in the account's
# currency: a sync or RecordSpend of the same key replaces the amount.
spend = Table(
    "spend",
    metadata,
    Column("site_id", Text, primary_key=True),
    Column("platform", Text, primary_key=True),  # "" for spend recorded by hand
    Column("account_id", Text, primary_key=True),
    Column("channel", Text, primary_key=True),
    Column("campaign", Text, primary_key=True),
    Column("day", Date, primary_key=True),
    Column("amount", Numeric(21, 6), nullable=False),
    Column("currency", Text, nullable=False),
    _ts("recorded_at"),
)
Index("spend_site_day", spend.c.site_id, spend.c.day)

# 1 `currency` = `rate` of the site's reporting currency on `day`.
exchange_rates = Table(
    "exchange_rates",
    metadata,
    Column("site_id", Text, primary_key=True),
    Column("day", Date, primary_key=True),
    Column("currency", Text, primary_key=True),
    Column("rate", Numeric(24, 12), nullable=False),
)

# The hourly rollup: per site and day, each rule-based model's credited conversions and revenue
# per channel and campaign, in the conversions' currency (dashboards read this, not credits).
daily_metrics = Table(
    "daily_metrics",
    metadata,
    Column("site_id", Text, primary_key=True),
    Column("day", Date, primary_key=True),
    Column("model", Text, primary_key=True),
    Column("channel", Text, primary_key=True),
    Column("campaign", Text, primary_key=True),
    Column("currency", Text, primary_key=True),
    Column("conversions", Numeric(30, 20), nullable=False),
    Column("revenue", Numeric(27, 12), nullable=False),
)

# The latest run of each scheduled job per scope (a site, or "*" for every site).
job_runs = Table(
    "job_runs",
    metadata,
    Column("job", Text, primary_key=True),
    Column("scope", Text, primary_key=True),
    _ts("started_at"),
    Column("duration_seconds", Float, nullable=False),
    Column("outcome", Text, nullable=False),
    Column("counts", JSONB, nullable=False),
)

# Where a job left off per site (the export's and the rollup's watermark).
job_marks = Table(
    "job_marks",
    metadata,
    Column("job", Text, primary_key=True),
    Column("site_id", Text, primary_key=True),
    _ts("mark"),
)
