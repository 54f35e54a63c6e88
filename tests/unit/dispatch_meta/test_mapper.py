"""DispatchRequested -> Meta server event, field by field (docs/platforms.md §1.3-§1.6)."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta

import pytest

from convhub.common.v1 import common_pb2
from dispatch_meta.app.mapper import event_id_of, to_server_event
from dispatch_meta.domain.events import action_source, event_name
from hubkit.dispatch.model import ErrorClass, PlatformError
from hubkit.dispatch.testing import dispatch_request

NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


def sha(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def website(**fields: object):
    base = {
        "event_time": NOW - timedelta(hours=1),
        "page_url": "https://shop.example/thanks",
        "referrer_url": "https://google.com/",
        "user_agent": "Mozilla/5.0",
        "client_ip": "2001:db8::1",
        "action_source": common_pb2.ACTION_SOURCE_WEBSITE,
        "user_data": common_pb2.HashedUserData(
            meta=common_pb2.HashedIdentifiers(
                email=sha("john_smith@gmail.com"), phone=sha("16505551212"), country=sha("us")
            ),
            google=common_pb2.HashedIdentifiers(email=sha("johnsmith@gmail.com")),
        ),
        "click_ids": common_pb2.ClickIds(
            fbc="fb.1.1554763741205.AbCdEf", fbp="fb.1.1596403881668.1116446470"
        ),
        "value": "129.99",
        "currency": "USD",
        "items": [common_pb2.Item(id="SKU-1", name="Shoe", quantity=1, price="129.99")],
    }
    base.update(fields)
    return dispatch_request("c1", **base)


def test_a_website_purchase_maps_field_by_field() -> None:
    event = to_server_event(website(), NOW)
    assert event == {
        "event_name": "Purchase",
        "event_time": int((NOW - timedelta(hours=1)).timestamp()),
        "event_id": "evt-c1",
        "action_source": "website",
        "event_source_url": "https://shop.example/thanks",
        "referrer_url": "https://google.com/",
        "user_data": {
            "em": [sha("john_smith@gmail.com")],  # Meta's variant, never Google's
            "ph": [sha("16505551212")],
            "country": [sha("us")],
            "client_ip_address": "2001:db8::1",
            "client_user_agent": "Mozilla/5.0",
            "fbc": "fb.1.1554763741205.AbCdEf",
            "fbp": "fb.1.1596403881668.1116446470",
        },
        "custom_data": {
            "value": 129.99,
            "currency": "usd",
            "order_id": "order-c1",
            "contents": [{"id": "SKU-1", "quantity": 1, "item_price": 129.99, "title": "Shoe"}],
            "content_ids": ["SKU-1"],
            "content_type": "product",
            "num_items": 1,
        },
    }


def test_fbc_is_built_from_fbclid_when_only_that_is_known() -> None:
    request = website(click_ids=common_pb2.ClickIds(fbclid="IwAR0abc"))
    event = to_server_event(request, NOW)
    assert isinstance(event, dict)
    at_ms = int((NOW - timedelta(hours=1)).timestamp() * 1000)
    assert event["user_data"]["fbc"] == f"fb.1.{at_ms}.IwAR0abc"
    assert "fbp" not in event["user_data"]


@pytest.mark.parametrize(
    ("event_type", "override", "expected"),
    [
        ("purchase", "", "Purchase"),
        ("sign_up", "", "CompleteRegistration"),
        ("lead", "", "Lead"),
        ("begin_checkout", "", "InitiateCheckout"),
        ("newsletter_optin", "", "newsletter_optin"),
        ("sign_up", "SignUpDone", "SignUpDone"),
        ("x" * 41, "", None),
        ("bad/name", "", None),
    ],
)
def test_event_names(event_type: str, override: str, expected: str | None) -> None:
    assert event_name(event_type, override) == expected


def test_action_source_defaults_from_the_page_url() -> None:
    assert action_source(0, True) == "website"
    assert action_source(0, False) == "system_generated"
    assert action_source(common_pb2.ACTION_SOURCE_PHYSICAL_STORE, True) == "physical_store"


def test_site_override_of_the_event_name_travels_in_the_target() -> None:
    request = website()
    request.target.event_name = "BigPurchase"
    event = to_server_event(request, NOW)
    assert isinstance(event, dict) and event["event_name"] == "BigPurchase"


def refusal(request: object) -> PlatformError:
    result = to_server_event(request, NOW)  # type: ignore[arg-type]
    assert isinstance(result, PlatformError), result
    return result


def test_events_older_than_7_days_are_refused_as_too_old() -> None:
    error = refusal(website(event_time=NOW - timedelta(days=7, seconds=1)))
    assert (error.error_class, error.code) == (ErrorClass.TOO_OLD, "100/2804003")
    assert isinstance(to_server_event(website(event_time=NOW - timedelta(days=6)), NOW), dict)


def test_future_times_within_the_skew_are_sent_as_now_beyond_refused() -> None:
    event = to_server_event(website(event_time=NOW + timedelta(seconds=30)), NOW)
    assert isinstance(event, dict) and event["event_time"] == int(NOW.timestamp())
    assert refusal(website(event_time=NOW + timedelta(hours=1))).code == "IN_FUTURE"


def test_plain_personal_data_is_refused_and_never_echoed() -> None:
    leaky = website(
        user_data=common_pb2.HashedUserData(
            meta=common_pb2.HashedIdentifiers(email="jane@example.com")
        )
    )
    error = refusal(leaky)
    assert (error.error_class, error.code) == (ErrorClass.BAD_INPUT, "NOT_HASHED")
    assert "jane" not in error.message
    upper = website(
        user_data=common_pb2.HashedUserData(meta=common_pb2.HashedIdentifiers(phone="A" * 64))
    )
    assert refusal(upper).code == "NOT_HASHED"


def test_website_events_need_url_and_user_agent() -> None:
    assert refusal(website(user_agent="")).code == "WEBSITE_FIELDS"
    ok = website(user_agent="", action_source=common_pb2.ACTION_SOURCE_PHONE_CALL)
    assert isinstance(to_server_event(ok, NOW), dict)


def test_no_customer_information_at_all_is_refused() -> None:
    bare = dispatch_request(
        "c2", event_time=NOW, action_source=common_pb2.ACTION_SOURCE_SYSTEM_GENERATED
    )
    error = refusal(bare)
    assert (error.error_class, error.code) == (ErrorClass.BAD_INPUT, "100/2804050")


@pytest.mark.parametrize(
    ("fields", "code"),
    [
        ({"value": "12,5"}, "INVALID_VALUE"),
        ({"value": "NaN"}, "INVALID_VALUE"),
        ({"value": "10", "currency": ""}, "100/2804010"),
        ({"value": "10", "currency": "EURO"}, "INVALID_CURRENCY"),
        ({"value": "", "currency": "EUR"}, "MISSING_VALUE"),
        ({"event_type": "lead", "value": "10", "currency": ""}, "INVALID_CURRENCY"),
        ({"event_type": ""}, "INVALID_EVENT_NAME"),
    ],
)
def test_bad_values_are_refused(fields: dict[str, object], code: str) -> None:
    assert refusal(website(**fields)).code == code


def test_missing_event_time_is_refused() -> None:
    request = website()
    request.conversion.ClearField("event_time")
    assert refusal(request).code == "REQUIRED"


def test_event_id_falls_back_to_the_conversion_id() -> None:
    request = website(event_id="")
    assert event_id_of(request) == "c1"


def test_a_purchase_without_currency_is_refused_with_metas_code() -> None:
    error = refusal(website(value="", currency=""))
    assert (error.error_class, error.code) == (ErrorClass.BAD_INPUT, "100/2804010")
    assert error.message.startswith("Missing Currency for Purchase Event")
    lead = to_server_event(website(event_type="lead", value="", currency=""), NOW)
    assert isinstance(lead, dict) and "value" not in lead["custom_data"]


def test_a_purchase_overridden_to_a_custom_name_is_not_metas_purchase() -> None:
    request = website(value="", currency="")
    request.target.event_name = "BigPurchase"
    assert isinstance(to_server_event(request, NOW), dict)


def test_currency_without_value_is_sent_for_any_event() -> None:
    event = to_server_event(website(event_type="lead", value="", currency="EUR"), NOW)
    assert isinstance(event, dict) and event["custom_data"]["currency"] == "eur"


def test_five_segment_cookies_are_sent_unchanged() -> None:
    fbc = "fb.1.1554763741205.AbCdEf.AQIBAQAB"
    fbp = "fb.1.1596403881668.1116446470.Ag"
    event = to_server_event(website(click_ids=common_pb2.ClickIds(fbc=fbc, fbp=fbp)), NOW)
    assert isinstance(event, dict)
    assert (event["user_data"]["fbc"], event["user_data"]["fbp"]) == (fbc, fbp)


def test_malformed_cookies_are_refused() -> None:
    bad_fbc = website(click_ids=common_pb2.ClickIds(fbc="fb.1.1554763741205"))
    assert refusal(bad_fbc).code == "100/2804001"
    bad_fbp = website(click_ids=common_pb2.ClickIds(fbp="fb.1.1596403881668.1116446470.XYZ"))
    assert refusal(bad_fbp).code == "INVALID_FBP"
    dotted = website(click_ids=common_pb2.ClickIds(fbclid="IwAR.0abc"))  # would be 5 segments
    assert refusal(dotted).code == "100/2804001"


def test_physical_store_events_are_taken_up_to_62_days() -> None:
    store = common_pb2.ACTION_SOURCE_PHYSICAL_STORE
    event = to_server_event(website(event_time=NOW - timedelta(days=60), action_source=store), NOW)
    assert isinstance(event, dict) and event["action_source"] == "physical_store"
    old = refusal(website(event_time=NOW - timedelta(days=63), action_source=store))
    assert old.error_class is ErrorClass.TOO_OLD


def test_app_events_are_refused_for_want_of_app_data() -> None:
    app = website(action_source=common_pb2.ACTION_SOURCE_APP)
    assert refusal(app).code == "APP_DATA_REQUIRED"


def test_unknown_action_sources_fall_back_by_page_url() -> None:
    event = to_server_event(website(action_source=42), NOW)
    assert isinstance(event, dict) and event["action_source"] == "website"
