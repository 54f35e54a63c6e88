"""Attribution's use-case helpers on plain objects: touchpoint checks, channels, journeys."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

from google.protobuf.timestamp_pb2 import Timestamp

from attribution.app.journeys import build
from attribution.app.touchpoints import check, derive_channel
from attribution.domain.model import Interaction, Settings, Sighting, StoredConversion, Touch
from convhub.common.v1 import common_pb2

NOW = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)
KEY = "a" * 64


def touchpoint(**fields: object) -> common_pb2.Touchpoint:
    at = Timestamp()
    at.FromDatetime(NOW - timedelta(hours=1))
    values: dict[str, object] = {"site_id": "shop", "visitor_id": "v1", "occurred_at": at}
    return common_pb2.Touchpoint(**{**values, **fields})  # type: ignore[arg-type]


def test_a_good_touchpoint_gets_a_stable_id_and_a_derived_channel() -> None:
    first = check(touchpoint(medium="cpc", source="google"), "shop", NOW)
    again = check(touchpoint(medium="cpc", source="google"), "shop", NOW)
    assert not isinstance(first, list) and not isinstance(again, list)
    assert first.channel == "paid_search" and first.interaction == "click"
    assert first.touchpoint_id == again.touchpoint_id and first.touchpoint_id.startswith("tp_")


def test_every_problem_of_a_touchpoint_is_reported() -> None:
    errors = check(
        common_pb2.Touchpoint(site_id="other", channel="Not Snake", user_keys=["x"]), "shop", NOW
    )
    assert isinstance(errors, list)
    assert {e.field for e in errors} == {"site_id", "user_keys", "occurred_at", "channel"}


def test_channels_are_derived_from_click_ids_medium_and_source() -> None:
    def channel(**fields: object) -> str:
        return derive_channel(common_pb2.Touchpoint(**fields))  # type: ignore[arg-type]

    assert channel(click_ids=common_pb2.ClickIds(gclid="x")) == "paid_search"
    assert channel(click_ids=common_pb2.ClickIds(fbclid="x")) == "paid_social"
    assert channel(medium="email") == "email"
    assert channel(source="instagram") == "organic_social"
    assert channel(source="bing") == "organic_search"
    assert channel(referrer_url="https://blog.example") == "referral"
    assert channel() == "direct"


def test_journeys_stitch_a_person_across_visitor_ids_and_keep_the_lost_ones() -> None:
    def touch(tid: str, days: float, channel: str) -> Touch:
        return Touch(tid, channel, "", NOW - timedelta(days=days), Interaction.CLICK, 0)

    sightings = [
        Sighting(touch("t1", 3, "paid_social"), "phone", (KEY,)),
        Sighting(touch("t2", 1, "email"), "laptop", ()),
        Sighting(touch("t3", 2, "display"), "stranger", ()),
    ]
    bought = StoredConversion("c1", "shop", "laptop", (KEY,), "purchase", NOW, Decimal(9), "EUR")
    journeys = build([bought], sightings, Settings(), since=NOW - timedelta(days=10))
    ((conversion, journey),) = journeys.converting
    assert conversion is bought and [t.touchpoint_id for t in journey] == ["t1", "t2"]
    assert [[t.touchpoint_id for t in j] for j in journeys.non_converting] == [["t3"]]
