"""What Google refuses per event, on mapped events (docs/platforms.md §2B.4-§2B.9, §2.4-§2.9):
Google's reason code, TOO_OLD apart, and messages that name fields, never values."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from dispatch_google.domain import rules
from dispatch_google.domain.model import parse_action

NOW = datetime(2026, 9, 1, 20, 0, tzinfo=UTC)
HASH = "d6117306485ed0e50afab3ac871e98f81699151f30281527d63ff5f233656c69"
SECRET = "jane.doe@example.com"

Change = Callable[[dict[str, Any]], None]


def dm_event() -> dict[str, Any]:
    return {
        "transactionId": "ORD-1",
        "eventTimestamp": "2026-09-01T12:00:00Z",
        "eventSource": "WEB",
        "conversionValue": 10.5,
        "currency": "EUR",
        "adIdentifiers": {"gclid": "Cj0"},
        "userData": {"userIdentifiers": [{"emailAddress": HASH}, {"phoneNumber": HASH}]},
        "consent": {"adUserData": "CONSENT_GRANTED", "adPersonalization": "CONSENT_DENIED"},
        "cartData": {"items": [{"merchantProductId": "S1", "quantity": "2", "unitPrice": 5.25}]},
    }


def ads_conversion() -> dict[str, Any]:
    return {
        "gclid": "Cj0",
        "conversionAction": "customers/1234567890/conversionActions/1",
        "conversionDateTime": "2026-09-01 12:00:00+00:00",
        "conversionValue": 10.5,
        "currencyCode": "EUR",
        "orderId": "ORD-1",
        "userIdentifiers": [{"userIdentifierSource": "FIRST_PARTY", "hashedEmail": HASH}],
        "consent": {"adUserData": "GRANTED"},
        "cartData": {"items": [{"productId": "S1", "quantity": 2, "unitPrice": 5.25}]},
    }


def test_well_formed_events_pass() -> None:
    assert rules.dm_refusal(dm_event(), NOW) is None
    assert rules.ads_refusal(ads_conversion(), NOW) is None


def _set(path: str, value: Any) -> Change:
    def change(event: dict[str, Any]) -> None:
        *parents, last = path.split(".")
        target: Any = event
        for key in parents:
            target = target[int(key)] if isinstance(target, list) else target[key]
        if value is _DELETE:
            del target[last]
        elif isinstance(target, list):
            target[int(last)] = value
        else:
            target[last] = value

    return change


_DELETE = object()


@pytest.mark.parametrize(
    ("change", "code"),
    [
        (_set("transactionId", _DELETE), "REQUIRED_FIELD_MISSING"),
        (_set("eventTimestamp", _DELETE), "REQUIRED_FIELD_MISSING"),
        (_set("eventTimestamp", "2026-09-01 12:00:00+00:00"), "EVENT_TIME_INVALID"),
        (_set("eventTimestamp", "2026-13-01T12:00:00Z"), "EVENT_TIME_INVALID"),
        (_set("eventTimestamp", "2026-09-01T20:10:00Z"), "EVENT_TIME_INVALID"),
        (_set("eventSource", _DELETE), "REQUIRED_FIELD_MISSING"),
        (_set("eventSource", "WEBSITE"), "INVALID_ENUM_VALUE"),
        (
            _set("userData.userIdentifiers", [{"emailAddress": HASH}] * 11),
            "TOO_MANY_USER_IDENTIFIERS",
        ),
        (_set("userData.userIdentifiers", []), "REQUIRED_FIELD_MISSING"),
        (_set("userData.userIdentifiers.1", {"phoneNumber": SECRET}), "INVALID_HEX_ENCODING"),
        (_set("userData.userIdentifiers.1", {"phoneNumber": HASH[:62]}), "INVALID_SHA256_FORMAT"),
        (_set("userData.userIdentifiers.1", {"address": {}}), "INVALID_USER_IDENTIFIER"),
        (
            _set("userData.userIdentifiers.1", {"emailAddress": HASH, "phoneNumber": HASH}),
            "INVALID_USER_IDENTIFIER",
        ),
        (_set("adIdentifiers", {"gbraid": "B", "wbraid": "W"}), "GBRAID_WBRAID_BOTH_SET"),
        (_set("currency", "eur"), "INVALID_CURRENCY_CODE"),
        (_set("conversionValue", "10.5"), "INVALID_NUMBER_FORMAT"),
        (_set("conversionValue", float("nan")), "INVALID_NUMBER_FORMAT"),
        (_set("consent.adUserData", "GRANTED"), "INVALID_ENUM_VALUE"),
        (_set("cartData.items.0.quantity", 2), "INVALID_NUMBER_FORMAT"),
        (_set("cartData.items.0.unitPrice", "5.25"), "INVALID_NUMBER_FORMAT"),
        (_set("cartData.items.0.merchantProductId", ""), "REQUIRED_FIELD_MISSING"),
    ],
)
def test_data_manager_refusals(change: Change, code: str) -> None:
    event = dm_event()
    change(event)
    refusal = rules.dm_refusal(event, NOW)
    assert refusal is not None and refusal.code == code and not refusal.too_old
    assert SECRET not in refusal.message


def test_data_manager_needs_user_data_or_ad_identifiers() -> None:
    event = dm_event()
    del event["userData"], event["adIdentifiers"]
    refusal = rules.dm_refusal(event, NOW)
    assert refusal is not None and refusal.code == "NO_IDENTIFIERS_PROVIDED"
    event["userData"] = {"userIdentifiers": [{"emailAddress": HASH}]}
    assert rules.dm_refusal(event, NOW) is None  # either one will do
    del event["userData"]
    event["adIdentifiers"] = {"wbraid": "W"}
    assert rules.dm_refusal(event, NOW) is None


def test_uppercase_hex_is_hex_for_data_manager_not_for_the_ads_api() -> None:
    event = dm_event()
    event["userData"] = {"userIdentifiers": [{"emailAddress": HASH.upper()}]}
    assert rules.dm_refusal(event, NOW) is None
    conversion = ads_conversion()
    conversion["userIdentifiers"][0]["hashedEmail"] = HASH.upper()
    refusal = rules.ads_refusal(conversion, NOW)
    assert refusal is not None and refusal.code == "INVALID_USER_IDENTIFIER"


@pytest.mark.parametrize(
    ("change", "code"),
    [
        (_set("conversionAction", _DELETE), "REQUIRED_FIELD_MISSING"),
        (_set("conversionDateTime", _DELETE), "REQUIRED_FIELD_MISSING"),
        (_set("conversionDateTime", "2026-09-01T12:00:00Z"), "EVENT_TIME_INVALID"),
        (_set("conversionDateTime", "2026-09-01 12:00:00"), "EVENT_TIME_INVALID"),
        (_set("conversionDateTime", "2026-09-02 12:00:00+00:00"), "EVENT_TIME_INVALID"),
        (_set("userIdentifiers", [{"hashedEmail": HASH}] * 6), "TOO_MANY_USER_IDENTIFIERS"),
        (_set("userIdentifiers.0", {"hashedEmail": SECRET}), "INVALID_USER_IDENTIFIER"),
        (_set("userIdentifiers.0", {"addressInfo": {}}), "UNSUPPORTED_USER_IDENTIFIER"),
        (_set("currencyCode", "EURO"), "INVALID_CURRENCY_CODE"),
        (_set("conversionValue", True), "INVALID_NUMBER_FORMAT"),
        (_set("consent.adUserData", "CONSENT_GRANTED"), "INVALID_ENUM_VALUE"),
        (_set("cartData.items.0.quantity", "2"), "INVALID_NUMBER_FORMAT"),
        (_set("cartData.items.0.productId", _DELETE), "REQUIRED_FIELD_MISSING"),
    ],
)
def test_ads_api_refusals(change: Change, code: str) -> None:
    conversion = ads_conversion()
    change(conversion)
    refusal = rules.ads_refusal(conversion, NOW)
    assert refusal is not None and refusal.code == code and not refusal.too_old
    assert SECRET not in refusal.message


def test_the_ads_api_needs_a_click_id_or_user_identifiers_and_one_braid() -> None:
    conversion = ads_conversion()
    del conversion["gclid"], conversion["userIdentifiers"]
    refusal = rules.ads_refusal(conversion, NOW)
    assert refusal is not None and refusal.code == "NO_IDENTIFIERS_PROVIDED"
    conversion |= {"gbraid": "B", "wbraid": "W"}
    refusal = rules.ads_refusal(conversion, NOW)
    assert refusal is not None and refusal.code == "GBRAID_WBRAID_BOTH_SET"


def test_too_old_is_apart_and_judged_again_on_frozen_bytes() -> None:
    event, conversion = dm_event(), ads_conversion()
    later = NOW + rules.MAX_EVENT_AGE
    assert rules.dm_refusal_in_time(event, NOW) is None
    dm, ads = rules.dm_refusal_in_time(event, later), rules.ads_refusal_in_time(conversion, later)
    assert dm is not None and (dm.code, dm.too_old) == ("EVENT_TOO_OLD", True)
    assert ads is not None and (ads.code, ads.too_old) == ("EXPIRED_EVENT", True)
    assert rules.dm_refusal(event, later) == dm and rules.ads_refusal(conversion, later) == ads


def test_a_time_within_the_skew_passes() -> None:
    event = dm_event()
    event["eventTimestamp"] = (NOW + timedelta(minutes=4)).strftime("%Y-%m-%dT%H:%M:%SZ")
    assert rules.dm_refusal(event, NOW) is None
    event["eventTimestamp"] = "2026-09-01T20:04:00.123456789+00:00"
    assert rules.dm_refusal(event, NOW) is None


def test_action_resource_names() -> None:
    assert parse_action("customers/1234567890/conversionActions/987654") == (
        "1234567890",
        "987654",
    )
    assert parse_action(" 987654 ") == ("", "987654")
    assert parse_action("customers/123/conversionActions/") is None
    assert parse_action("customers/123/conversionActions/9x") is None
    assert parse_action("") is None
