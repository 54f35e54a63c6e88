"""Validation, consent and hashing of one conversion: plain objects, no I/O."""

from __future__ import annotations

import dataclasses
import hashlib
import uuid
from datetime import UTC, datetime, timedelta

import pytest

from hubkit.pii import PiiField
from hubkit.vocabulary import DIRECT_PLATFORMS, Platform
from ingest.adapters.system import new_conversion_id
from ingest.domain.model import (
    DEFAULT_POLICY,
    ConsentAction,
    ConsentDecision,
    ConsentStatus,
    ConversionInput,
    Item,
    Outcome,
    PreparedConversion,
    SitePolicy,
    Status,
)
from ingest.domain.preparation import dedupe_key, derived_event_id, prepare
from ingest.domain.validation import Limits

NOW = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)
EMAIL = "Jane.Doe@Gmail.com"
ID = "019a2b3c-4d5e-7f00-8000-000000000001"


def conversion(**overrides: object) -> ConversionInput:
    base = ConversionInput(
        site_id="shop-1",
        order_id="o-1",
        event_type="purchase",
        event_time=NOW - timedelta(minutes=5),
        value="129.99",
        currency="EUR",
        user_data={"email": EMAIL, "phone": "+1 (650) 555-1212", "first_name": "Jane"},
        client_ip="203.0.113.7",
        user_agent="Mozilla/5.0",
        ad_user_data=ConsentStatus.GRANTED,
        click_ids={"gclid": "Cj0KCQiA-abcdefghij", "fbc": "fb.1.1700000000000.AbCdEf"},
    )
    return dataclasses.replace(base, **overrides)  # type: ignore[arg-type]


def prepared(c: ConversionInput, policy: SitePolicy = DEFAULT_POLICY) -> PreparedConversion:
    result = prepare(c, policy, NOW, Limits(), conversion_id=ID)
    assert isinstance(result, PreparedConversion), result
    return result


def errors_of(c: ConversionInput, policy: SitePolicy = DEFAULT_POLICY) -> dict[str, str]:
    result = prepare(c, policy, NOW, Limits(), conversion_id=ID)
    assert isinstance(result, Outcome) and result.status is Status.REJECTED
    return {e.field: e.code for e in result.errors}


def test_valid_conversion_is_hashed_per_platform_and_raw_data_dropped() -> None:
    p = prepared(conversion())
    sha = lambda s: hashlib.sha256(s.encode()).hexdigest()  # noqa: E731
    assert p.hashed[Platform.META][PiiField.EMAIL] == sha("jane.doe@gmail.com")
    assert p.hashed[Platform.GOOGLE][PiiField.EMAIL] == sha("janedoe@gmail.com")
    assert p.hashed[Platform.META][PiiField.PHONE] == sha("16505551212")
    assert p.hashed[Platform.GOOGLE][PiiField.PHONE] == sha("+16505551212")
    assert p.input.user_data == {}
    assert p.consent_decision is ConsentDecision.USER_DATA_KEPT
    assert str(p.value) == "129.99"
    assert p.dedupe_expires_at == NOW + timedelta(hours=24)


@pytest.mark.parametrize(
    ("overrides", "field", "code"),
    [
        ({"site_id": ""}, "site_id", "REQUIRED"),
        ({"site_id": "shop.1"}, "site_id", "INVALID_FORMAT"),
        ({"order_id": "  "}, "order_id", "REQUIRED"),
        ({"order_id": "x" * 129}, "order_id", "TOO_LONG"),
        ({"event_type": "Purchase"}, "event_type", "INVALID_FORMAT"),
        ({"event_time": None}, "event_time", "REQUIRED"),
        ({"event_time": NOW + timedelta(hours=1)}, "event_time", "IN_FUTURE"),
        ({"event_time": NOW - timedelta(days=91)}, "event_time", "TOO_OLD"),
        ({"value": "-1"}, "value", "NEGATIVE"),
        ({"value": "1e5"}, "value", "INVALID_FORMAT"),
        ({"value": "0.1234567"}, "value", "INVALID_FORMAT"),
        ({"currency": ""}, "currency", "REQUIRED"),
        ({"currency": "EURO"}, "currency", "INVALID_CURRENCY"),
        ({"page_url": "ftp://x"}, "page_url", "INVALID_FORMAT"),
        ({"items": (Item(id="a", quantity=-1),)}, "items[0].quantity", "NEGATIVE"),
        ({"items": (Item(id="a", price="abc"),)}, "items[0].price", "INVALID_FORMAT"),
    ],
)
def test_field_level_errors(overrides: dict[str, object], field: str, code: str) -> None:
    assert errors_of(conversion(**overrides)).get(field) == code


@pytest.mark.parametrize(
    ("overrides", "field", "code"),
    [
        ({"click_ids": {"gclid": "bad gclid!"}}, "click_ids.gclid", "INVALID_FORMAT"),
        ({"click_ids": {"fbc": "fb.1.abc"}}, "click_ids.fbc", "INVALID_FORMAT"),
        ({"click_ids": {"fbp": "fb.1.1700000000000.x"}}, "click_ids.fbp", "INVALID_FORMAT"),
        ({"client_ip": "999.1.1.1"}, "user_data.client_ip", "INVALID_FORMAT"),
        ({"user_data": {"email": "not-an-email"}}, "user_data.email", "INVALID_FORMAT"),
        (
            {"user_data": {"phone": "555-1212", "country": "US"}},
            "user_data.phone",
            "INVALID_FORMAT",
        ),
    ],
)
def test_an_unusable_identifier_is_left_out_with_a_warning_never_a_rejection(
    overrides: dict[str, object], field: str, code: str
) -> None:
    p = prepared(conversion(**overrides))
    assert {w.field: w.code for w in p.warnings} == {field: code}
    name = field.split(".", 1)[1]
    if field.startswith("click_ids."):
        assert name not in p.input.click_ids
    elif name == "client_ip":
        assert p.input.client_ip == ""
    else:
        assert all(PiiField(name) not in fields for fields in p.hashed.values())


@pytest.mark.parametrize(
    ("phone", "country", "default_country", "meta_digits"),
    [
        ("(650) 555-1212", "US", "", "16505551212"),
        ("98765-43210", "IN", "", "919876543210"),
        ("+44 (0)20 7946 0958", "", "", "442079460958"),
        ("020 7946 0958", "GB", "", "442079460958"),
        ("06 12 34 56 78", "FR", "", "33612345678"),
        ("06 12 34 56 78", "", "FR", "33612345678"),  # the site's default country
        ("020 7946 0958", "gb", "FR", "442079460958"),  # the conversion's own country wins
    ],
)
def test_phones_are_read_in_the_conversions_country_else_the_sites(
    phone: str, country: str, default_country: str, meta_digits: str
) -> None:
    user_data = {"phone": phone, **({"country": country} if country else {})}
    p = prepared(conversion(user_data=user_data), SitePolicy(default_country=default_country))
    sha = lambda s: hashlib.sha256(s.encode()).hexdigest()  # noqa: E731
    assert p.hashed[Platform.META][PiiField.PHONE] == sha(meta_digits)
    assert p.hashed[Platform.GOOGLE][PiiField.PHONE] == sha("+" + meta_digits)
    assert p.hashed[Platform.TIKTOK][PiiField.PHONE] == sha("+" + meta_digits)
    assert not p.warnings


def test_a_national_number_without_any_country_is_left_out_with_a_warning() -> None:
    p = prepared(conversion(user_data={"phone": "020 7946 0958", "email": EMAIL}))
    assert [w.field for w in p.warnings] == ["user_data.phone"]
    assert all(PiiField.PHONE not in fields for fields in p.hashed.values())
    assert PiiField.EMAIL in p.hashed[Platform.META]


def test_meta_click_id_is_read_from_the_page_url_when_none_was_given() -> None:
    url = "https://shop.example/thanks?utm_source=fb&fbclid=IwAR2xYz-AbC_123"
    p = prepared(conversion(click_ids={}, page_url=url))
    assert p.input.click_ids == {"fbclid": "IwAR2xYz-AbC_123"}
    given = prepared(conversion(click_ids={"fbclid": "Given"}, page_url=url))
    assert given.input.click_ids == {"fbclid": "Given"}


@pytest.mark.parametrize(
    "click_ids",
    [
        {"fbc": "fb.1.1554763741205.AbCdEfGhIjKlMnOp.AQ"},  # the Parameter Builder's appendix
        {"fbp": "fb.1.1596403881668.1116446470.Bg"},
        {"fbp": "fb.2.1596403881668.1116446470"},
    ],
)
def test_five_segment_meta_cookies_are_accepted(click_ids: dict[str, str]) -> None:
    assert not isinstance(
        prepare(conversion(click_ids=click_ids), DEFAULT_POLICY, NOW, Limits(), conversion_id=ID),
        Outcome,
    )


def test_every_problem_is_reported_at_once_without_raw_values() -> None:
    result = prepare(
        conversion(site_id="", currency="XXXX", user_data={"email": "jane@", "phone": "+1 650"}),
        SitePolicy(),
        NOW,
        Limits(),
        conversion_id=ID,
    )
    assert isinstance(result, Outcome)
    assert {e.field for e in result.errors} == {"site_id", "currency"}
    warned = prepare(
        conversion(user_data={"email": "jane@", "phone": "+1 650"}),
        SitePolicy(),
        NOW,
        Limits(),
        conversion_id=ID,
    )
    assert isinstance(warned, PreparedConversion)
    assert {w.field for w in warned.warnings} == {"user_data.email", "user_data.phone"}
    assert not any("jane" in w.message or "650" in w.message for w in warned.warnings)


def test_pre_hashed_values_pass_through() -> None:
    digest = hashlib.sha256(b"someone@example.com").hexdigest()
    p = prepared(conversion(user_data={"email": digest}))
    assert {p.hashed[pl][PiiField.EMAIL] for pl in DIRECT_PLATFORMS} == {digest}


def test_consent_denied_stores_without_user_data_by_default() -> None:
    p = prepared(conversion(ad_user_data=ConsentStatus.DENIED))
    assert p.consent_decision is ConsentDecision.USER_DATA_REMOVED
    assert p.hashed == {} and p.input.client_ip == "" and p.input.user_agent == ""


def test_consent_denied_rejected_when_the_site_says_so() -> None:
    policy = SitePolicy(consent_action=ConsentAction.REJECT)
    assert errors_of(conversion(ad_user_data=ConsentStatus.DENIED), policy) == {
        "consent.ad_user_data": "CONSENT_REQUIRED"
    }
    # Unspecified counts as granted unless the site requires an explicit grant.
    assert prepared(conversion(ad_user_data=ConsentStatus.UNSPECIFIED), policy).hashed
    strict = SitePolicy(consent_action=ConsentAction.REJECT, require_explicit_grant=True)
    assert "consent.ad_user_data" in errors_of(
        conversion(ad_user_data=ConsentStatus.UNSPECIFIED), strict
    )


def test_without_consent_bad_user_data_is_not_an_error() -> None:
    p = prepared(conversion(ad_user_data=ConsentStatus.DENIED, user_data={"email": "broken"}))
    assert p.hashed == {}


def test_dedupe_key_follows_the_policy_fields() -> None:
    a, b = conversion(), conversion(value="5.00")
    assert dedupe_key(a, ("site_id", "order_id", "event_type")) == dedupe_key(
        b, ("site_id", "order_id", "event_type")
    )
    assert dedupe_key(a, ("order_id", "value")) != dedupe_key(b, ("order_id", "value"))
    # site_id is always part of the key, even when a policy leaves it out.
    assert dedupe_key(a, ("order_id",)) != dedupe_key(conversion(site_id="shop-2"), ("order_id",))


def test_event_id_given_or_derived_stably() -> None:
    assert prepared(conversion(event_id="pixel-42")).event_id == "pixel-42"
    first, again = prepared(conversion()), prepared(conversion())
    assert first.event_id == again.event_id == derived_event_id(first.dedupe_key)


def test_the_conversion_is_named_by_the_caller() -> None:
    assert prepared(conversion()).conversion_id == ID


def test_conversion_ids_are_time_ordered_uuid7s() -> None:
    ids = [new_conversion_id() for _ in range(1000)]
    assert all(uuid.UUID(i).version == 7 for i in ids)
    assert len(set(ids)) == len(ids)
    stamps = [uuid.UUID(i).int >> 80 for i in ids]  # the millisecond, first 48 bits
    assert stamps == sorted(stamps)
