"""What attribution reads of a site's router configuration: how journeys are credited, the
reporting currency, and the ad accounts whose spend it syncs."""

from __future__ import annotations

from dataclasses import dataclass, field

from attribution.app.attribute import settings_from_site
from attribution.app.spend_ports import SpendAccount
from attribution.domain.model import Settings
from convhub.router.v1 import router_pb2


@dataclass(frozen=True)
class SiteView:
    settings: Settings = field(default_factory=Settings)
    reporting_currency: str = ""
    accounts: tuple[SpendAccount, ...] = ()


def site_view(site: router_pb2.Site) -> SiteView:
    d = site.destinations
    accounts = []
    if d.google.customer_id and d.google.credentials_ref:
        accounts.append(
            SpendAccount(
                "google",
                d.google.customer_id,
                d.google.credentials_ref,
                login_customer_id=d.google.login_customer_id,
            )
        )
    if d.meta.ad_account_id and d.meta.credentials_ref:
        accounts.append(SpendAccount("meta", d.meta.ad_account_id, d.meta.credentials_ref))
    if d.tiktok.advertiser_id and d.tiktok.credentials_ref:
        accounts.append(SpendAccount("tiktok", d.tiktok.advertiser_id, d.tiktok.credentials_ref))
    return SiteView(settings_from_site(site), site.attribution.reporting_currency, tuple(accounts))
