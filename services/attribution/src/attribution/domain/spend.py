"""Spend as attribution keeps it, and which channel each platform's spend is: the channel
grouping touchpoints get from their click ids (Google clicks are paid search, Meta's and
TikTok's paid social), so spend and credit meet on the same keys."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

PLATFORM_CHANNEL = {"google": "paid_search", "meta": "paid_social", "tiktok": "paid_social"}


@dataclass(frozen=True)
class SpendRecord:
    platform: str  # "" when recorded by hand
    account_id: str
    channel: str
    campaign: str
    day: date
    amount: Decimal
    currency: str


@dataclass(frozen=True)
class ExchangeRate:
    day: date
    currency: str
    rate: Decimal  # units of the site's reporting currency per unit of `currency`
