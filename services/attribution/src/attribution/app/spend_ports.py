"""What the spend sync needs from the ad platforms' reporting APIs, in domain terms. One adapter
per platform (Google Ads searchStream, Meta insights, TikTok integrated reports), each paced
by the kit's token bucket, guarded by its circuit breaker and, for Google, authorised through
the kit's token provider."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Protocol


@dataclass(frozen=True)
class SpendAccount:
    """One ad account of a site, as its router configuration names it."""

    platform: str  # "google", "meta", "tiktok"
    account_id: str  # Google customer id, Meta ad account id (no act_), TikTok advertiser id
    credentials_ref: str  # the same credentials reference the site's dispatcher uses
    login_customer_id: str = ""  # Google: the manager account, when access goes through one


@dataclass(frozen=True)
class SpendRow:
    """One campaign's spend on one day, exact, in the account's currency."""

    campaign: str  # the campaign's name (what touchpoints carry as utm_campaign)
    day: date  # the account's reporting day
    amount: Decimal
    currency: str  # ISO 4217


class ReportingUnavailable(Exception):
    """Throttled, failing, unreachable or its breaker open: wait `retry_after` seconds and try
    again. The message names no secret."""

    def __init__(self, message: str, retry_after: float = 5.0) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class ReportingRefused(Exception):
    """The platform refuses the account or the credentials (missing, revoked, no access):
    retrying cannot help until someone fixes the configuration."""


class SpendReports(Protocol):
    platform: str

    async def spend(self, account: SpendAccount, since: date, until: date) -> list[SpendRow]:
        """Daily spend per campaign for since..until (both inclusive), every page read. Days
        and campaigns without spend may be left out. Raises ReportingUnavailable or
        ReportingRefused."""
        ...
