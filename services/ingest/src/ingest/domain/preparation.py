"""From a submitted conversion to one ready to store: validate, apply consent, hash, key it."""

from __future__ import annotations

import copy
import hashlib
import random
import time
import uuid
from datetime import datetime
from decimal import Decimal

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
from ingest.domain.validation import Limits, validate

_random = random.Random()  # seeded from os.urandom


def new_conversion_id() -> str:
    """A UUIDv7 (time-ordered), so new rows land at the end of the primary-key index.

    Ids need uniqueness, not secrecy: the seeded PRNG avoids a syscall per id.
    """
    value = (time.time_ns() // 1_000_000) << 80 | _random.getrandbits(80)
    value = (value & ~(0xF << 76)) | (0x7 << 76)  # version 7
    value = (value & ~(0x3 << 62)) | (0x2 << 62)  # RFC 4122 variant
    return str(uuid.UUID(int=value))


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
) -> PreparedConversion | Outcome:
    """A PreparedConversion, or a REJECTED Outcome listing every field-level problem."""
    errors = validate(c, now, limits)
    hashed: dict[Platform, dict[pii.PiiField, str]] = {}
    if user_data_allowed(c, policy):
        decision = ConsentDecision.USER_DATA_KEPT
        hashed, pii_errors = pii.hash_for_all(c.user_data)
        errors.extend(
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
        conversion_id=new_conversion_id(),
        input=stored,
        event_id=c.event_id or derived_event_id(key),
        value=Decimal(c.value) if c.value else None,
        hashed={p: fields for p, fields in hashed.items() if fields},
        consent_decision=decision,
        dedupe_key=key,
        received_at=now,
        dedupe_expires_at=now + policy.dedupe_window,
    )
