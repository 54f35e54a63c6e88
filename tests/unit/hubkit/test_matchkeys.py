"""Which match keys each destination receives, and the estimated match quality."""

from __future__ import annotations

from convhub.common.v1 import common_pb2
from convhub.events.v1 import events_pb2
from hubkit import matchkeys
from hubkit.matchkeys import MatchKey as K
from hubkit.vocabulary import Platform

H = "a" * 64


def conversion(**fields: object) -> common_pb2.HashedConversion:
    return common_pb2.HashedConversion(conversion_id="c1", **fields)  # type: ignore[arg-type]


FULL = conversion(
    user_data=common_pb2.HashedUserData(
        meta=common_pb2.HashedIdentifiers(
            email=H, phone=H, first_name=H, last_name=H, zip=H, external_id=H
        ),
        google=common_pb2.HashedIdentifiers(email=H, phone=H, first_name=H),
        tiktok=common_pb2.HashedIdentifiers(email=H, external_id=H),
    ),
    click_ids=common_pb2.ClickIds(gclid="Cj0KCQ", fbclid="IwAR", fbp="fb.1.1.2", ttp="t"),
    client_ip="203.0.113.7",
    user_agent="Mozilla/5.0",
)


def test_each_destination_receives_what_its_mapping_sends() -> None:
    assert matchkeys.keys_for(Platform.META, FULL) == [
        K.EMAIL,
        K.PHONE,
        K.NAME,
        K.ADDRESS,
        K.EXTERNAL_ID,
        K.CLICK_ID,  # fbc is built from the fbclid
        K.BROWSER_ID,
        K.IP,
        K.USER_AGENT,
    ]
    # Google (Data Manager): email and phone, the gclid, the device; no names without address.
    assert matchkeys.keys_for(Platform.GOOGLE, FULL) == [
        K.EMAIL,
        K.PHONE,
        K.CLICK_ID,
        K.IP,
        K.USER_AGENT,
    ]
    # TikTok: its own hashes (no phone here), no ttclid, the ttp cookie.
    assert matchkeys.keys_for(Platform.TIKTOK, FULL) == [
        K.EMAIL,
        K.EXTERNAL_ID,
        K.BROWSER_ID,
        K.IP,
        K.USER_AGENT,
    ]


def test_the_google_ads_api_path_receives_no_device_data() -> None:
    request = events_pb2.DispatchRequested(conversion=FULL)
    request.target.google_api = common_pb2.GOOGLE_API_ADS
    assert matchkeys.delivered_keys(Platform.GOOGLE, request) == [K.EMAIL, K.PHONE, K.CLICK_ID]
    request.target.google_api = common_pb2.GOOGLE_API_DATA_MANAGER
    assert K.IP in matchkeys.delivered_keys(Platform.GOOGLE, request)


def test_masks_round_trip_and_the_score_weighs_what_matters() -> None:
    keys = matchkeys.keys_for(Platform.META, FULL)
    assert matchkeys.keys_of_mask(matchkeys.mask_of(keys)) == keys
    assert matchkeys.score(keys) == 10.0
    assert matchkeys.score([]) == 0.0
    assert matchkeys.score([K.EMAIL, K.CLICK_ID]) == 5.5
    assert matchkeys.keys_for(Platform.META, conversion()) == []
