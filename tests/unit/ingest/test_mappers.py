"""Proto <-> domain mapping of ingest: nothing lost, nothing raw, timestamps exact."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta, timezone

from google.protobuf.timestamp_pb2 import Timestamp

from convhub.common.v1 import common_pb2
from ingest.adapters.mappers import _timestamp, hashed_conversion
from ingest.domain.model import DEFAULT_POLICY, Item, PreparedConversion
from ingest.domain.preparation import prepare
from ingest.domain.validation import Limits

from .test_preparation import EMAIL, ID, NOW, conversion


def test_timestamps_match_the_protobuf_conversion_exactly() -> None:
    rng = random.Random(7)
    moments = [
        datetime(1969, 12, 31, 23, 59, 59, 500000, tzinfo=UTC),
        datetime(2026, 1, 1, tzinfo=timezone(timedelta(hours=2))),
    ]
    moments += [
        datetime(1900, 1, 1, tzinfo=UTC) + timedelta(microseconds=rng.randint(0, 10**17))
        for _ in range(1000)
    ]
    for moment in moments:
        expected = Timestamp()
        expected.FromDatetime(moment)
        assert _timestamp(moment) == expected


def test_hashed_conversion_carries_everything_but_raw_personal_data() -> None:
    c = conversion(
        items=(Item(id="sku-1", quantity=2, price="9.99"),), mode_hint="ATTRIBUTION_MODE_SGTM"
    )
    p = prepare(c, DEFAULT_POLICY, NOW, Limits(), conversion_id=ID)
    assert isinstance(p, PreparedConversion)
    out = hashed_conversion(p)
    assert (out.site_id, out.order_id, out.value, out.currency) == (
        "shop-1",
        "o-1",
        "129.99",
        "EUR",
    )
    assert out.event_time.ToDatetime(tzinfo=UTC) == c.event_time
    assert out.click_ids.gclid == c.click_ids["gclid"] and out.items[0].id == "sku-1"
    assert out.consent.ad_user_data == common_pb2.CONSENT_STATUS_GRANTED
    assert out.mode_hint == common_pb2.ATTRIBUTION_MODE_SGTM
    assert len(out.user_data.meta.email) == 64 and len(out.user_data.google.phone) == 64
    assert EMAIL.lower().encode() not in out.SerializeToString()
