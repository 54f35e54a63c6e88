"""MetaPlatform.check: what Meta would refuse per event fails at intake, with Meta's code."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from convhub.common.v1 import common_pb2
from dispatch_meta.app.platform import META_POLICY, MetaPlatform
from hubkit.dispatch.model import ErrorClass
from hubkit.dispatch.testing import dispatch_request

NOW = datetime.now(UTC)
USER = common_pb2.HashedUserData(
    meta=common_pb2.HashedIdentifiers(email=hashlib.sha256(b"a@b.c").hexdigest())
)
STORE = common_pb2.ACTION_SOURCE_PHYSICAL_STORE
WEB = common_pb2.ACTION_SOURCE_WEBSITE


class Unused:
    """check() never touches the transport or the credentials."""

    def __getattr__(self, name: str) -> Any:
        raise AssertionError(f"check() used {name}")


def check(**fields: Any) -> tuple[ErrorClass, str] | None:
    base: dict[str, Any] = {
        "user_data": USER,
        "action_source": common_pb2.ACTION_SOURCE_SYSTEM_GENERATED,
        "value": "19.99",
        "currency": "EUR",
        "event_time": NOW - timedelta(hours=1),
    }
    base.update(fields)
    meta = MetaPlatform(Unused(), Unused(), META_POLICY)  # type: ignore[arg-type]
    error = meta.check(dispatch_request("c1", **base), NOW)
    if error is not None:
        assert "a@b.c" not in error.message and "19.99" not in error.message
        return error.error_class, error.code
    return None


def test_a_complete_purchase_passes() -> None:
    assert check() is None


BAD = ErrorClass.BAD_INPUT


@pytest.mark.parametrize(
    ("fields", "expected"),
    [
        ({"currency": ""}, (BAD, "100/2804010")),  # "Missing Currency for Purchase Event"
        ({"currency": "", "value": ""}, (BAD, "100/2804010")),
        ({"value": ""}, (BAD, "MISSING_VALUE")),
        ({"currency": "EURO"}, (BAD, "INVALID_CURRENCY")),
        ({"value": "12,5"}, (BAD, "INVALID_VALUE")),
        ({"event_time": NOW - timedelta(days=8)}, (ErrorClass.TOO_OLD, "100/2804003")),
        ({"event_time": NOW + timedelta(hours=1)}, (BAD, "IN_FUTURE")),
        ({"user_data": common_pb2.HashedUserData()}, (BAD, "100/2804050")),
        ({"action_source": WEB, "page_url": "https://s.example/"}, (BAD, "WEBSITE_FIELDS")),
        ({"action_source": WEB, "user_agent": "Mozilla/5.0"}, (BAD, "WEBSITE_FIELDS")),
        ({"action_source": common_pb2.ACTION_SOURCE_APP}, (BAD, "APP_DATA_REQUIRED")),
        ({"click_ids": common_pb2.ClickIds(fbc="fb.1.1554763741205")}, (BAD, "100/2804001")),
        ({"click_ids": common_pb2.ClickIds(fbp="fb.1.1.1")}, (BAD, "INVALID_FBP")),
        ({"event_type": "bad/type"}, (BAD, "INVALID_EVENT_NAME")),
        (
            {"user_data": common_pb2.HashedUserData(meta={"email": "a@b.c"})},
            (BAD, "NOT_HASHED"),
        ),
    ],
)
def test_each_rule_meta_enforces_fails_the_event_at_intake(
    fields: dict[str, Any], expected: tuple[ErrorClass, str]
) -> None:
    assert check(**fields) == expected


@pytest.mark.parametrize(
    "fields",
    [
        {"event_type": "lead", "value": "", "currency": ""},
        {"event_time": NOW - timedelta(days=40), "action_source": STORE},
        {"click_ids": common_pb2.ClickIds(fbc="fb.1.1554763741205.AbCdEf.AQIBAQAB")},
        {"click_ids": common_pb2.ClickIds(fbp="fb.1.1596403881668.1116446470.Ag")},
        {"action_source": WEB, "page_url": "https://s.example/", "user_agent": "Mozilla/5.0"},
        {"user_data": common_pb2.HashedUserData(), "client_ip": "203.0.113.7"},
    ],
)
def test_events_meta_takes_pass(fields: dict[str, Any]) -> None:
    assert check(**fields) is None
