"""Meta's per-event rules on mapped server events (docs/platforms.md §1.3-§1.7, §1.10)."""

from __future__ import annotations

import copy
import hashlib
from datetime import UTC, datetime
from typing import Any

import pytest

from dispatch_meta.domain import rules
from dispatch_meta.domain.rules import refusal

NOW = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)
T = int(NOW.timestamp())
H = hashlib.sha256(b"john_smith@gmail.com").hexdigest()
FBC = "fb.1.1554763741205.AbCdEfGhIjKlMnOpQrStUvWxYz1234567890"
FBP = "fb.1.1596403881668.1116446470"


def purchase(**overrides: Any) -> dict[str, Any]:
    """§1.12's example request event: valid as it stands."""
    event: dict[str, Any] = {
        "event_name": "Purchase",
        "event_time": T - 3600,
        "event_id": "order-1001",
        "action_source": "website",
        "event_source_url": "https://shop.example.com/checkout/thanks",
        "user_data": {
            "em": [H],
            "external_id": [H],
            "client_ip_address": "203.0.113.7",
            "client_user_agent": "Mozilla/5.0",
            "fbc": FBC,
            "fbp": FBP,
        },
        "custom_data": {"value": 129.99, "currency": "usd", "order_id": "1001"},
    }
    event.update(overrides)
    return event


def with_user(**user: Any) -> dict[str, Any]:
    event = purchase()
    event["user_data"] = {**event["user_data"], **user}
    return event


def without(event: dict[str, Any], *path: str) -> dict[str, Any]:
    event = copy.deepcopy(event)
    parent = event
    for key in path[:-1]:
        parent = parent[key]
    del parent[path[-1]]
    return event


def code_of(event: dict[str, Any]) -> str:
    found = refusal(event, NOW)
    assert found is not None, "expected a refusal"
    return found.code


def test_a_valid_event_passes() -> None:
    assert refusal(purchase(), NOW) is None


# --- event_name (§1.3) -----------------------------------------------------------------------


@pytest.mark.parametrize("name", ["", "x" * 41, "bad/name", None, 7])
def test_event_name_must_be_a_name_meta_takes(name: object) -> None:
    assert code_of(purchase(event_name=name)) == rules.INVALID_EVENT_NAME


def test_event_name_is_required() -> None:
    assert code_of(without(purchase(), "event_name")) == rules.INVALID_EVENT_NAME


def test_custom_event_names_pass() -> None:
    assert refusal(purchase(event_name="newsletter_optin"), NOW) is None


# --- event_time (§1.3, §1.7, §1.10) ----------------------------------------------------------


def test_event_time_is_required_and_an_integer() -> None:
    assert code_of(without(purchase(), "event_time")) == rules.REQUIRED
    assert code_of(purchase(event_time=float(T))) == rules.INVALID_EVENT_TIME
    assert code_of(purchase(event_time=str(T))) == rules.INVALID_EVENT_TIME
    assert code_of(purchase(event_time=True)) == rules.INVALID_EVENT_TIME


def test_events_older_than_7_days_get_metas_too_old_code() -> None:
    week = 7 * 86400
    found = refusal(purchase(event_time=T - week - 1), NOW)
    assert found is not None and found.code == "100/2804003" and found.too_old
    assert "Event Timestamp Too Old" in found.message
    assert refusal(purchase(event_time=T - week), NOW) is None  # exactly 7 days: still taken


def test_physical_store_events_may_be_62_days_old() -> None:
    store = {"action_source": "physical_store"}
    assert refusal(purchase(event_time=T - 30 * 86400, **store), NOW) is None
    assert refusal(purchase(event_time=T - 62 * 86400, **store), NOW) is None
    late = refusal(purchase(event_time=T - 62 * 86400 - 1, **store), NOW)
    assert late is not None and late.code == rules.TOO_OLD and "62 days" in late.message
    assert code_of(purchase(event_time=T - 30 * 86400)) == rules.TOO_OLD  # website: 7 days


def test_event_time_in_the_future_beyond_the_skew_is_refused() -> None:
    assert refusal(purchase(event_time=T + 300), NOW) is None
    assert code_of(purchase(event_time=T + 301)) == rules.IN_FUTURE


# --- action_source and what it requires (§1.3) ------------------------------------------------


@pytest.mark.parametrize("source", ["", "moon", "WEBSITE", None])
def test_action_source_must_be_one_of_metas(source: object) -> None:
    assert code_of(purchase(action_source=source)) == rules.INVALID_ACTION_SOURCE


def test_action_source_is_required() -> None:
    assert code_of(without(purchase(), "action_source")) == rules.INVALID_ACTION_SOURCE


@pytest.mark.parametrize(
    "source",
    ["email", "phone_call", "chat", "physical_store", "system_generated", "business_messaging"],
)
def test_non_web_sources_need_neither_url_nor_user_agent(source: str) -> None:
    event = without(purchase(action_source=source), "event_source_url")
    event = without(event, "user_data", "client_user_agent")
    assert refusal(event, NOW) is None


def test_website_events_need_event_source_url_and_client_user_agent() -> None:
    assert code_of(without(purchase(), "event_source_url")) == rules.WEBSITE_FIELDS
    assert code_of(without(purchase(), "user_data", "client_user_agent")) == rules.WEBSITE_FIELDS
    assert code_of(purchase(event_source_url="")) == rules.WEBSITE_FIELDS


def test_app_events_need_app_data() -> None:
    app = without(purchase(action_source="app"), "event_source_url")
    assert code_of(app) == rules.APP_DATA_REQUIRED
    app["app_data"] = {"advertiser_tracking_enabled": 1, "extinfo": ["a2"] + [""] * 15}
    assert refusal(app, NOW) is None


# --- user_data (§1.4) ----------------------------------------------------------------------


HASHED = ["em", "ph", "fn", "ln", "ge", "db", "ct", "st", "zp", "country", "external_id"]


@pytest.mark.parametrize("key", HASHED)
def test_hashed_keys_must_be_sha256_and_are_never_echoed(key: str) -> None:
    for plain in (["jane@example.com"], "jane@example.com", [H.upper()], [H, "x"], [1]):
        found = refusal(with_user(**{key: plain}), NOW)
        assert found is not None and found.code == rules.NOT_HASHED
        assert "jane" not in found.message and H.upper() not in found.message
    assert refusal(with_user(**{key: [H]}), NOW) is None
    assert refusal(with_user(**{key: H}), NOW) is None  # a string or a list of strings


@pytest.mark.parametrize(
    "fbc",
    [
        "fb.1.1554763741205.AbCdEfGhIjKlMnOpQrStUvWxYz1234567890",
        "fb.1.1554763741205.AbCdEf.AQIBAQAB",  # 8-character appendix (Parameter Builder)
        "fb.1.1554763741205.IwAR2F4-dbP0l7Mn_1IawQQ.Ag",  # language token
        "fb.2.1554763741205.AbCdEf.Bg",
        "fb.0.1554763741.AbCdEf",
    ],
)
def test_fbc_with_four_or_five_segments_passes(fbc: str) -> None:
    assert refusal(with_user(fbc=fbc), NOW) is None


@pytest.mark.parametrize(
    "fbc",
    [
        "fb.1.1554763741205",  # no fbclid (the captured 2804001 case)
        "fb.1.1554763741205.",
        "fb.1.abc.AbCdEf",
        "fb.1.155.AbCdEf",
        "fb.12.1554763741205.AbCdEf",
        "fx.1.1554763741205.AbCdEf",
        "fb.1.1554763741205.AbCdEf.XY",  # not a language token
        "fb.1.1554763741205.AbCdEf.AQIBAQA",  # 7 characters: neither appendix form
        "fb.1.1554763741205.AbCdEf.AQIBAQAB.Ag",  # six segments
        "fb.1.1554763741205.Ab Cd",
        " fb.1.1554763741205.AbCdEf",
        "fb.1.1554763741205.AbCdEf\n",
        "IwAR2F4-dbP0l7Mn",  # a bare fbclid is not an fbc
    ],
)
def test_malformed_fbc_gets_metas_click_id_code(fbc: str) -> None:
    found = refusal(with_user(fbc=fbc), NOW)
    assert found is not None and found.code == "100/2804001" and not found.too_old
    assert "Click ID Incorrectly Formatted" in found.message
    assert fbc.strip() not in found.message


@pytest.mark.parametrize(
    ("fbp", "ok"),
    [
        ("fb.1.1596403881668.1116446470", True),
        ("fb.1.1596403881668.1116446470.Ag", True),
        ("fb.1.1596403881668.1116446470.AQIBAQAB", True),
        ("fb.1.1596403881668.1116446470.ZZ", False),
        ("fb.1.1596403881668.abc", False),
        ("fb.1.155.109", False),
        ("fb.1.1596403881668", False),
        ("fb.1.1596403881668.1116446470.Ag.Ag", False),
    ],
)
def test_fbp_four_or_five_segments(fbp: str, ok: bool) -> None:
    found = refusal(with_user(fbp=fbp), NOW)
    if ok:
        assert found is None
    else:
        assert found is not None and found.code == rules.INVALID_FBP


def test_at_least_one_customer_information_parameter() -> None:
    bare = purchase(action_source="system_generated", user_data={})
    found = refusal(bare, NOW)
    assert found is not None and found.code == "100/2804050"
    assert code_of(without(bare, "user_data")) == rules.INSUFFICIENT_USER_DATA
    assert code_of(purchase(action_source="chat", user_data={"em": []})) == "100/2804050"
    for key, value in [("em", [H]), ("external_id", [H]), ("fbp", FBP), ("lead_id", "123")]:
        assert refusal(purchase(action_source="chat", user_data={key: value}), NOW) is None


# --- custom_data (§1.5, §1.6) ----------------------------------------------------------------


def test_purchase_without_currency_gets_metas_missing_currency_code() -> None:
    event = without(purchase(), "custom_data", "currency")
    found = refusal(event, NOW)
    assert found is not None and found.code == "100/2804010"
    assert "Missing Currency for Purchase Event" in found.message
    assert code_of(without(purchase(), "custom_data")) == rules.MISSING_CURRENCY


def test_purchase_without_value_is_refused() -> None:
    event = without(purchase(), "custom_data", "value")
    assert code_of(event) == rules.MISSING_VALUE
    zero = purchase(custom_data={"value": 0, "currency": "usd"})
    assert refusal(zero, NOW) is None  # 0 is a value


def test_other_events_need_neither_value_nor_currency() -> None:
    assert refusal(without(purchase(event_name="Lead"), "custom_data"), NOW) is None
    lead = purchase(event_name="Lead", custom_data={"currency": "eur"})
    assert refusal(lead, NOW) is None
    assert code_of(purchase(event_name="Lead", custom_data={"value": 5})) == rules.INVALID_CURRENCY


@pytest.mark.parametrize("currency", ["euro", "eu", "", "12a", "e€u", 978, ["usd"]])
def test_currency_is_an_iso_4217_code_of_three_letters(currency: object) -> None:
    event = purchase(custom_data={"value": 1, "currency": currency})
    assert code_of(event) == rules.INVALID_CURRENCY


@pytest.mark.parametrize("currency", ["usd", "EUR", "jpy"])
def test_three_letter_currencies_pass(currency: str) -> None:
    assert refusal(purchase(custom_data={"value": 1, "currency": currency}), NOW) is None


@pytest.mark.parametrize("value", ["12.5", "12,5", float("nan"), float("inf"), True, [1]])
def test_value_is_a_finite_number(value: object) -> None:
    assert code_of(purchase(custom_data={"value": value, "currency": "usd"})) == "INVALID_VALUE"


def test_custom_data_must_be_an_object() -> None:
    assert code_of(purchase(custom_data=[1])) == rules.INVALID_CUSTOM_DATA


def test_rules_apply_in_metas_order_of_importance() -> None:
    # An event breaking several rules reports the first: the name, then the time, ...
    broken = purchase(event_name="", event_time=T - 30 * 86400, user_data={})
    assert code_of(broken) == rules.INVALID_EVENT_NAME
    assert code_of({**broken, "event_name": "Purchase"}) == rules.TOO_OLD


def test_fbc_built_from_an_fbclid_has_four_segments() -> None:
    built = rules.fbc_from_fbclid("IwAR0abc", 1554763741205)
    assert built == "fb.1.1554763741205.IwAR0abc"
    assert refusal(with_user(fbc=built), NOW) is None
