"""From a submitted conversion to one ready to store: validate, apply consent, hash, key it."""

from __future__ import annotations

import copy
import hashlib
from datetime import UTC, datetime
from decimal import Decimal
from urllib.parse import parse_qs, urlsplit

from hubkit import pii
from hubkit.errors import FieldError
from hubkit.vocabulary import Platform
from ingest.domain.model import (
    ConsentAction,
    ConsentDecision,
    ConsentStatus,
    ConversionInput,
    Outcome,
    PreparedConversion,
    SitePolicy,
)
from ingest.domain.validation import Limits, identifier_problems, validate


def _without(c: ConversionInput, **changes: object) -> ConversionInput:
    """`dataclasses.replace` without re-running __init__ over every field (a hot path)."""
    copied = copy.copy(c)
    for name, value in changes.items():
        object.__setattr__(copied, name, value)
    return copied


def dedupe_key(c: ConversionInput, key_fields: tuple[str, ...]) -> bytes:
    """SHA-256 over the policy's fields; site_id is always part of it (keys never cross sites)."""
    values = {
        "site_id": c.site_id,
        "email": _email_key(c) if "email" in key_fields else "",
        "event_hour": _event_hour(c) if "event_hour" in key_fields else "",
        "order_id": c.order_id,
        "event_type": c.event_type,
        "event_id": c.event_id or "",
        "visitor_id": c.visitor_id,
        "value": c.value,
        "currency": c.currency,
    }
    names = ("site_id", *(f for f in key_fields if f != "site_id"))
    text = "\x1f".join(f"{name}={values[name]}" for name in names)
    return hashlib.sha256(text.encode()).digest()


def _email_key(c: ConversionInput) -> str:
    """The email as every platform hashes it (trimmed, lowercased), whatever form it came in."""
    raw = c.user_data.get("email", "")
    if not raw:
        return ""
    try:
        return pii.hash_field(Platform.META, pii.PiiField.EMAIL, raw)
    except pii.PiiError:
        return ""


def _event_hour(c: ConversionInput) -> str:
    if c.event_time is None:
        return ""
    return c.event_time.astimezone(UTC).strftime("%Y-%m-%dT%H")


def derived_event_id(key: bytes) -> str:
    """Stable across retries of the same conversion, so platforms dedupe them too."""
    return "ch_" + key.hex()[:32]


def user_data_allowed(c: ConversionInput, policy: SitePolicy) -> bool:
    if c.ad_user_data is ConsentStatus.GRANTED:
        return True
    if c.ad_user_data is ConsentStatus.DENIED:
        return False
    return not policy.require_explicit_grant


def prepare(
    c: ConversionInput,
    policy: SitePolicy,
    now: datetime,
    limits: Limits,
    *,
    conversion_id: str,
) -> PreparedConversion | Outcome:
    """A PreparedConversion named `conversion_id`, or a REJECTED Outcome listing every
    field-level problem of the conversion's own fields. An identifier nobody could match on (an
    invalid phone number, a malformed click id) is left out with a warning: it never costs the
    conversion. Pure: the time (`now`) and the id come from the caller."""
    errors = validate(c, now, limits)
    c, warnings = _usable(_with_url_fbclid(c))
    hashed: dict[Platform, dict[pii.PiiField, str]] = {}
    if user_data_allowed(c, policy):
        decision = ConsentDecision.USER_DATA_KEPT
        hashed, pii_errors = pii.hash_for_all(c.user_data, region=_region(c, policy))
        warnings.extend(
            FieldError(f"user_data.{e.field}", e.code.upper(), e.message) for e in pii_errors
        )
        stored = _without(c, user_data={})
    elif policy.consent_action is ConsentAction.REJECT:
        errors.append(
            FieldError(
                "consent.ad_user_data",
                "CONSENT_REQUIRED",
                "this site requires ad_user_data consent GRANTED",
            )
        )
        stored = c
    else:
        decision = ConsentDecision.USER_DATA_REMOVED
        # Without consent nothing that identifies the person is kept, raw or hashed.
        stored = _without(c, user_data={}, client_ip="", user_agent="")
    if errors:
        return Outcome.rejected(errors)
    key = dedupe_key(c, policy.key_fields)
    return PreparedConversion(
        conversion_id=conversion_id,
        input=stored,
        event_id=c.event_id or derived_event_id(key),
        value=Decimal(c.value) if c.value else None,
        hashed={p: fields for p, fields in hashed.items() if fields},
        consent_decision=decision,
        dedupe_key=key,
        received_at=now,
        dedupe_expires_at=now + policy.dedupe_window,
        warnings=tuple(warnings),
    )


def _usable(c: ConversionInput) -> tuple[ConversionInput, list[FieldError]]:
    """The conversion without its unusable click ids, IP and user agent, and why each went."""
    warnings = identifier_problems(c)
    if not warnings:
        return c, warnings
    bad = {w.field for w in warnings}
    return (
        _without(
            c,
            click_ids={k: v for k, v in c.click_ids.items() if f"click_ids.{k}" not in bad},
            client_ip="" if "user_data.client_ip" in bad else c.client_ip,
            user_agent="" if "user_data.user_agent" in bad else c.user_agent,
        ),
        warnings,
    )


def _with_url_fbclid(c: ConversionInput) -> ConversionInput:
    """Meta's click id from the page URL (`?fbclid=`) when the sender gave neither fbc nor
    fbclid, as Meta's Parameter Builder reads it: dispatch-meta builds the fbc from it."""
    if c.click_ids.get("fbc") or c.click_ids.get("fbclid") or "fbclid=" not in c.page_url:
        return c
    try:
        found = parse_qs(urlsplit(c.page_url).query).get("fbclid")
    except ValueError:  # a malformed URL: validate() reports it
        return c
    if not found or not found[0]:
        return c
    return _without(c, click_ids={**c.click_ids, "fbclid": found[0]})


def _region(c: ConversionInput, policy: SitePolicy) -> str | None:
    """Where national phone numbers are read: the conversion's country, else the site's."""
    country = c.user_data.get("country", "").strip().upper()
    if len(country) == 2 and country.isalpha():
        return country
    return policy.default_country or None
