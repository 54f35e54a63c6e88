"""Which match keys a destination receives for a conversion, and an estimated match quality.

A platform matches a conversion to an ad interaction through the identifiers it receives; what
convhub sends decides the match rate. The keys each destination gets follow its dispatcher's
mapping (dispatch-meta, dispatch-google, dispatch-tiktok, the router's sGTM payloads):

| key | Meta | Google (Data Manager) | TikTok | sGTM |
| --- | --- | --- | --- | --- |
| email, phone | its hashes | its hashes | its hashes | any variant |
| name (first/last) | yes | — | — | any variant |
| address (city, state, zip, country) | yes | — | — | any variant |
| external_id | yes | — | yes | any variant |
| click_id | fbc, or fbclid | gclid, gbraid or wbraid | ttclid | any |
| browser_id | fbp | — | ttp | any |
| ip, user_agent | yes | yes (not on the Ads API path) | yes | yes |

The score is convhub's estimate on 0-10 (weights below), not a platform's own rating: it says
at a glance whether a site sends what matching needs (an email and a click id carry most).
Pure: used by ingest (GetConversion) and the dispatchers (GetStats, metrics).
"""

from __future__ import annotations

import enum
from collections.abc import Iterable
from typing import Any

from hubkit.vocabulary import Platform

__all__ = ["MatchKey", "delivered_keys", "keys_for", "keys_of_mask", "mask_of", "score"]


class MatchKey(enum.StrEnum):
    EMAIL = "email"
    PHONE = "phone"
    NAME = "name"
    ADDRESS = "address"
    EXTERNAL_ID = "external_id"
    CLICK_ID = "click_id"
    BROWSER_ID = "browser_id"
    IP = "ip"
    USER_AGENT = "user_agent"


# Estimated weight of each key for matching; they sum to 10.
WEIGHTS: dict[MatchKey, float] = {
    MatchKey.EMAIL: 3.0,
    MatchKey.PHONE: 2.0,
    MatchKey.CLICK_ID: 2.5,
    MatchKey.EXTERNAL_ID: 0.5,
    MatchKey.BROWSER_ID: 0.5,
    MatchKey.IP: 0.5,
    MatchKey.USER_AGENT: 0.5,
    MatchKey.NAME: 0.3,
    MatchKey.ADDRESS: 0.2,
}
_ORDER = list(MatchKey)
_BIT = {key: 1 << i for i, key in enumerate(_ORDER)}

_IDENTIFIERS = {
    MatchKey.EMAIL: ("email",),
    MatchKey.PHONE: ("phone",),
    MatchKey.NAME: ("first_name", "last_name"),
    MatchKey.ADDRESS: ("city", "state", "zip", "country"),
    MatchKey.EXTERNAL_ID: ("external_id",),
}
# Which hashed identifiers each destination's mapping sends (the rest it leaves out).
_SENT: dict[Platform, tuple[MatchKey, ...]] = {
    Platform.META: (
        MatchKey.EMAIL,
        MatchKey.PHONE,
        MatchKey.NAME,
        MatchKey.ADDRESS,
        MatchKey.EXTERNAL_ID,
    ),
    Platform.GOOGLE: (MatchKey.EMAIL, MatchKey.PHONE),
    Platform.TIKTOK: (MatchKey.EMAIL, MatchKey.PHONE, MatchKey.EXTERNAL_ID),
    Platform.SGTM: tuple(_IDENTIFIERS),
}
_CLICKS = {
    Platform.META: (("fbc", "fbclid"), ("fbp",)),
    Platform.GOOGLE: (("gclid", "gbraid", "wbraid"), ()),
    Platform.TIKTOK: (("ttclid",), ("ttp",)),
    Platform.SGTM: (
        ("gclid", "gbraid", "wbraid", "fbc", "fbclid", "ttclid"),
        ("fbp", "ttp"),
    ),
}


def keys_for(platform: Platform, conversion: Any, *, device: bool = True) -> list[MatchKey]:
    """The keys `platform` receives for `conversion` (a convhub.common.v1.HashedConversion),
    in MatchKey order. `device=False`: the destination takes no IP or user agent (the Google
    Ads API path)."""
    hashed = _variants(platform, conversion.user_data)
    found: set[MatchKey] = set()
    for key in _SENT[platform]:
        if any(getattr(h, name) for h in hashed for name in _IDENTIFIERS[key]):
            found.add(key)
    clicks, browsers = _CLICKS[platform]
    ids = conversion.click_ids
    if any(getattr(ids, name) for name in clicks):
        found.add(MatchKey.CLICK_ID)
    if any(getattr(ids, name) for name in browsers):
        found.add(MatchKey.BROWSER_ID)
    if device and conversion.client_ip:
        found.add(MatchKey.IP)
    if device and conversion.user_agent:
        found.add(MatchKey.USER_AGENT)
    return [key for key in _ORDER if key in found]


def delivered_keys(platform: Platform, request: Any) -> list[MatchKey]:
    """`keys_for` a convhub.events.v1.DispatchRequested: its conversion, to its destination."""
    ads_api = platform is Platform.GOOGLE and request.target.google_api == _GOOGLE_ADS_API
    return keys_for(platform, request.conversion, device=not ads_api)


_GOOGLE_ADS_API = 2  # convhub.common.v1.GOOGLE_API_ADS


def _variants(platform: Platform, user_data: Any) -> list[Any]:
    if platform is Platform.SGTM:  # the site's configuration picks the variant: any counts
        return [user_data.google, user_data.meta, user_data.tiktok]
    return [getattr(user_data, platform.value)]


def mask_of(keys: Iterable[MatchKey]) -> int:
    """The keys as a small integer (the ledger keeps one per delivery)."""
    mask = 0
    for key in keys:
        mask |= _BIT[key]
    return mask


def keys_of_mask(mask: int) -> list[MatchKey]:
    return [key for key in _ORDER if mask & _BIT[key]]


def score(keys: Iterable[MatchKey]) -> float:
    """convhub's estimated match quality of one event, 0-10."""
    return round(sum(WEIGHTS[key] for key in set(keys)), 2)
