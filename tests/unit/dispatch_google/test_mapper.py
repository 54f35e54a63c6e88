"""DispatchRequested -> Data Manager event / Ads API click conversion, field by field
(docs/platforms.md §2B.4-§2B.6, §2.4-§2.6)."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta

import orjson
import pytest

from convhub.common.v1 import common_pb2
from convhub.events.v1 import events_pb2
from dispatch_google.app.mapper import (
    destination_of,
    event_id_of,
    to_ads_conversion,
    to_dm_event,
    transaction_id_of,
)
from hubkit.dispatch.model import ErrorClass, PlatformError
from hubkit.dispatch.testing import dispatch_request
from hubkit.vocabulary import Platform

NOW = datetime(2026, 9, 1, 20, 32, 45, tzinfo=UTC)
ACTION = "customers/1234567890/conversionActions/987654"
EMAIL = hashlib.sha256(b"cloudysanfrancisco@gmail.com").hexdigest()
PHONE = hashlib.sha256(b"+18005550100").hexdigest()
G = common_pb2.CONSENT_STATUS_GRANTED
D = common_pb2.CONSENT_STATUS_DENIED


def request(action: str = ACTION, **fields: object) -> events_pb2.DispatchRequested:
    base: dict[str, object] = {
        "event_time": NOW - timedelta(hours=8),
        "order_id": "ORD-1001",
        "value": "129.99",
        "currency": "USD",
        "click_ids": common_pb2.ClickIds(gclid="Cj0KCQiA", fbc="fb.1.1.x", ttclid="tt"),
        "user_data": common_pb2.HashedUserData(
            google=common_pb2.HashedIdentifiers(email=EMAIL, phone=PHONE),
            meta=common_pb2.HashedIdentifiers(email="a" * 64),
        ),
        "client_ip": "203.0.113.7",
        "user_agent": "Mozilla/5.0",
        "consent": common_pb2.Consent(ad_user_data=G, ad_personalization=D),
        "action_source": common_pb2.ACTION_SOURCE_WEBSITE,
        "items": [common_pb2.Item(id="SKU-1", name="Shoe", quantity=2, price="64.995")],
    }
    base.update(fields)
    req = dispatch_request("c1", platform=Platform.GOOGLE, credentials_ref="google-test", **base)
    req.target.conversion_action = action
    req.target.login_customer_id = "9876543210"
    return req


def test_a_data_manager_event_maps_field_by_field() -> None:
    assert to_dm_event(request(), NOW) == {
        "transactionId": "ORD-1001",
        "eventTimestamp": "2026-09-01T12:32:45Z",
        "eventSource": "WEB",
        "conversionValue": 129.99,
        "currency": "USD",
        "adIdentifiers": {"gclid": "Cj0KCQiA"},
        "eventDeviceInfo": {"userAgent": "Mozilla/5.0", "ipAddress": "203.0.113.7"},
        "userData": {"userIdentifiers": [{"emailAddress": EMAIL}, {"phoneNumber": PHONE}]},
        "consent": {"adUserData": "CONSENT_GRANTED", "adPersonalization": "CONSENT_DENIED"},
        "cartData": {
            "items": [{"merchantProductId": "SKU-1", "quantity": "2", "unitPrice": 64.995}]
        },
    }


def test_an_ads_click_conversion_maps_field_by_field() -> None:
    assert to_ads_conversion(request(), NOW) == {
        "gclid": "Cj0KCQiA",
        "conversionAction": ACTION,
        "conversionDateTime": "2026-09-01 12:32:45+00:00",
        "conversionValue": 129.99,
        "currencyCode": "USD",
        "orderId": "ORD-1001",
        "userIdentifiers": [
            {"userIdentifierSource": "FIRST_PARTY", "hashedEmail": EMAIL},
            {"userIdentifierSource": "FIRST_PARTY", "hashedPhoneNumber": PHONE},
        ],
        "consent": {"adUserData": "GRANTED"},  # adPersonalization is not for click conversions
        "cartData": {"items": [{"productId": "SKU-1", "quantity": 2, "unitPrice": 64.995}]},
    }


def test_a_minimal_event_carries_only_what_is_known() -> None:
    bare = request(
        value="",
        currency="",
        client_ip="",
        user_agent="",
        user_data=common_pb2.HashedUserData(),
        consent=common_pb2.Consent(),
        items=[],
    )
    assert to_dm_event(bare, NOW) == {
        "transactionId": "ORD-1001",
        "eventTimestamp": "2026-09-01T12:32:45Z",
        "eventSource": "WEB",
        "adIdentifiers": {"gclid": "Cj0KCQiA"},
    }
    assert to_ads_conversion(bare, NOW) == {
        "gclid": "Cj0KCQiA",
        "conversionAction": ACTION,
        "conversionDateTime": "2026-09-01 12:32:45+00:00",
        "orderId": "ORD-1001",
    }


@pytest.mark.parametrize(
    ("ad_user_data", "ad_personalization", "dm", "ads"),
    [
        (
            G,
            G,
            {"adUserData": "CONSENT_GRANTED", "adPersonalization": "CONSENT_GRANTED"},
            "GRANTED",
        ),
        (D, D, {"adUserData": "CONSENT_DENIED", "adPersonalization": "CONSENT_DENIED"}, "DENIED"),
        (G, 0, {"adUserData": "CONSENT_GRANTED"}, "GRANTED"),
        (0, D, {"adPersonalization": "CONSENT_DENIED"}, None),
        (0, 0, None, None),
    ],
)
def test_consent_only_the_signals_given(
    ad_user_data: int, ad_personalization: int, dm: dict[str, str] | None, ads: str | None
) -> None:
    consent = common_pb2.Consent(
        ad_user_data=ad_user_data,  # type: ignore[arg-type]
        ad_personalization=ad_personalization,  # type: ignore[arg-type]
    )
    event = to_dm_event(request(consent=consent), NOW)
    conversion = to_ads_conversion(request(consent=consent), NOW)
    assert isinstance(event, dict) and isinstance(conversion, dict)
    assert event.get("consent") == dm
    assert conversion.get("consent") == (None if ads is None else {"adUserData": ads})


@pytest.mark.parametrize(
    ("ids", "sent"),
    [
        ({"gclid": "G1", "gbraid": "B1", "wbraid": "W1"}, {"gclid": "G1"}),
        ({"gbraid": "B1", "wbraid": "W1"}, {"gbraid": "B1"}),
        ({"wbraid": "W1"}, {"wbraid": "W1"}),
    ],
)
def test_one_click_id_the_most_precise(ids: dict[str, str], sent: dict[str, str]) -> None:
    req = request(click_ids=common_pb2.ClickIds(**ids))
    event = to_dm_event(req, NOW)
    conversion = to_ads_conversion(req, NOW)
    assert isinstance(event, dict) and isinstance(conversion, dict)
    assert event["adIdentifiers"] == sent
    assert {k: conversion[k] for k in ("gclid", "gbraid", "wbraid") if k in conversion} == sent


def test_the_transaction_id_falls_back_to_stable_ids() -> None:
    req = request()
    assert transaction_id_of(req) == event_id_of(req) == "ORD-1001"
    req.conversion.order_id = ""
    assert transaction_id_of(req) == "evt-c1"  # ingest's stable event id
    req.conversion.event_id = ""
    assert transaction_id_of(req) == "c1"
    req.conversion.conversion_id = ""
    req.conversion_id = "c1-outer"
    assert transaction_id_of(req) == "c1-outer"
    event = to_dm_event(req, NOW)
    conversion = to_ads_conversion(req, NOW)
    assert isinstance(event, dict) and event["transactionId"] == "c1-outer"
    assert isinstance(conversion, dict) and conversion["orderId"] == "c1-outer"


def test_a_value_of_zero_is_sent() -> None:
    event = to_dm_event(request(value="0"), NOW)
    conversion = to_ads_conversion(request(value="0.00"), NOW)
    assert isinstance(event, dict) and event["conversionValue"] == 0
    assert isinstance(conversion, dict) and conversion["conversionValue"] == 0


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        (common_pb2.ACTION_SOURCE_UNSPECIFIED, "WEB"),
        (common_pb2.ACTION_SOURCE_WEBSITE, "WEB"),
        (common_pb2.ACTION_SOURCE_APP, "APP"),
        (common_pb2.ACTION_SOURCE_PHYSICAL_STORE, "IN_STORE"),
        (common_pb2.ACTION_SOURCE_PHONE_CALL, "PHONE"),
        (common_pb2.ACTION_SOURCE_CHAT, "MESSAGE"),
        (common_pb2.ACTION_SOURCE_EMAIL, "MESSAGE"),
        (common_pb2.ACTION_SOURCE_SYSTEM_GENERATED, "OTHER"),
        (common_pb2.ACTION_SOURCE_OTHER, "OTHER"),
    ],
)
def test_event_source_from_action_source(source: int, expected: str) -> None:
    event = to_dm_event(request(action_source=source), NOW)
    assert isinstance(event, dict) and event["eventSource"] == expected


def test_items_without_an_id_are_left_out_and_quantity_is_at_least_one() -> None:
    items = [common_pb2.Item(name="no id", quantity=3), common_pb2.Item(id="SKU-2")]
    event = to_dm_event(request(items=items), NOW)
    conversion = to_ads_conversion(request(items=items), NOW)
    assert isinstance(event, dict) and isinstance(conversion, dict)
    assert event["cartData"] == {"items": [{"merchantProductId": "SKU-2", "quantity": "1"}]}
    assert conversion["cartData"] == {"items": [{"productId": "SKU-2", "quantity": 1}]}


def test_mapping_twice_gives_the_same_bytes() -> None:
    req = request()
    assert orjson.dumps(to_dm_event(req, NOW)) == orjson.dumps(to_dm_event(req, NOW))
    copy = events_pb2.DispatchRequested.FromString(req.SerializeToString())
    assert orjson.dumps(to_ads_conversion(req, NOW)) == orjson.dumps(to_ads_conversion(copy, NOW))


def test_a_time_slightly_ahead_is_sent_as_now_and_further_ahead_is_refused() -> None:
    event = to_dm_event(request(event_time=NOW + timedelta(minutes=2)), NOW)
    conversion = to_ads_conversion(request(event_time=NOW + timedelta(minutes=2)), NOW)
    assert isinstance(event, dict) and event["eventTimestamp"] == "2026-09-01T20:32:45Z"
    assert isinstance(conversion, dict)
    assert conversion["conversionDateTime"] == "2026-09-01 20:32:45+00:00"
    ahead = to_dm_event(request(event_time=NOW + timedelta(hours=1)), NOW)
    assert ahead == PlatformError(
        ErrorClass.BAD_INPUT, "EVENT_TIME_INVALID", "eventTimestamp is in the future"
    )


def test_older_than_90_days_is_too_old() -> None:
    old = request(event_time=NOW - timedelta(days=91))
    event, conversion = to_dm_event(old, NOW), to_ads_conversion(old, NOW)
    assert isinstance(event, PlatformError) and isinstance(conversion, PlatformError)
    assert (event.error_class, event.code) == (ErrorClass.TOO_OLD, "EVENT_TOO_OLD")
    assert (conversion.error_class, conversion.code) == (ErrorClass.TOO_OLD, "EXPIRED_EVENT")


def test_plain_personal_data_is_refused_and_never_echoed() -> None:
    leaked = common_pb2.HashedUserData(google=common_pb2.HashedIdentifiers(email="jane@x.com"))
    event = to_dm_event(request(user_data=leaked), NOW)
    conversion = to_ads_conversion(request(user_data=leaked), NOW)
    assert isinstance(event, PlatformError) and isinstance(conversion, PlatformError)
    assert (event.error_class, event.code) == (ErrorClass.BAD_INPUT, "INVALID_HEX_ENCODING")
    assert conversion.code == "INVALID_USER_IDENTIFIER"
    assert "jane" not in event.message and "jane" not in conversion.message


def test_no_click_id_and_no_user_data_is_refused() -> None:
    anonymous = request(click_ids=common_pb2.ClickIds(), user_data=common_pb2.HashedUserData())
    for mapped in (to_dm_event(anonymous, NOW), to_ads_conversion(anonymous, NOW)):
        assert isinstance(mapped, PlatformError) and mapped.code == "NO_IDENTIFIERS_PROVIDED"


def test_a_value_that_is_no_number_is_refused() -> None:
    event = to_dm_event(request(value="12,5"), NOW)
    assert isinstance(event, PlatformError) and event.code == "INVALID_NUMBER_FORMAT"


def test_a_target_without_a_usable_action_is_a_configuration_error() -> None:
    for action in ("", "conversionActions/1", "customers/x/conversionActions/1"):
        req = request(action=action)
        assert destination_of(req) is None
        for mapped in (to_dm_event(req, NOW), to_ads_conversion(req, NOW)):
            assert isinstance(mapped, PlatformError)
            assert (mapped.error_class, mapped.code) == (ErrorClass.CONFIG, "CONVERSION_ACTION")


def test_the_operating_account_is_the_actions_owner_or_the_customer_for_a_bare_id() -> None:
    assert destination_of(request(action="customers/5550001111/conversionActions/42")) == (
        "5550001111",
        "42",
    )
    bare = request(action="42")
    assert destination_of(bare) == ("1234567890", "42")
    conversion = to_ads_conversion(bare, NOW)
    assert isinstance(conversion, dict)
    assert conversion["conversionAction"] == "customers/1234567890/conversionActions/42"
