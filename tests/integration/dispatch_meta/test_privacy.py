"""No request to Meta carries personal data that is not hashed, nor a credential in its URL."""

from __future__ import annotations

import hashlib
import json
import logging
import re

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from convhub.common.v1 import common_pb2
from convhub_sim.meta import MetaSimulator
from hubkit.dispatch.testing import dispatch_request
from tests.support import wait_for

from .conftest import SCHEMA, TOKEN, Factory, statuses

RAW_EMAIL = "Jane.Doe@example.com"
RAW_PHONE = "+1 (650) 555-1212"
HEX64 = re.compile(r"^[0-9a-f]{64}$")


def sha(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def full_profile(n: int) -> common_pb2.HashedUserData:
    return common_pb2.HashedUserData(
        meta=common_pb2.HashedIdentifiers(
            email=sha(f"p{n}@example.com"),
            phone=sha(f"1650555{n:04d}"),
            first_name=sha("jane"),
            last_name=sha("doe"),
            gender=sha("f"),
            date_of_birth=sha("19900101"),
            city=sha("newyork"),
            state=sha("ny"),
            zip=sha("10001"),
            country=sha("us"),
            external_id=sha(f"user-{n}"),
        )
    )


async def test_only_hashed_identifiers_leave_convhub(
    dispatch: Factory, sim: MetaSimulator, engine: AsyncEngine, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    good = [
        dispatch_request(
            f"p{i}",
            user_data=full_profile(i),
            client_ip="203.0.113.7",
            user_agent="Mozilla/5.0",
            page_url="https://shop.example/thanks",
            action_source=common_pb2.ACTION_SOURCE_WEBSITE,
            click_ids=common_pb2.ClickIds(fbclid="IwAR123", fbp="fb.1.1596403881668.1116446470"),
            value="129.99",
            currency="EUR",
            items=[common_pb2.Item(id="SKU-1", quantity=2, price="64.995")],
        )
        for i in range(20)
    ]
    # Upstream bugs: plain values where hashes belong. They must never reach Meta.
    leaky = [
        dispatch_request(
            "leak-email",
            user_data=common_pb2.HashedUserData(meta=common_pb2.HashedIdentifiers(email=RAW_EMAIL)),
            action_source=7,
        ),
        dispatch_request(
            "leak-phone",
            user_data=common_pb2.HashedUserData(
                meta=common_pb2.HashedIdentifiers(email=sha("x@y.z"), phone=RAW_PHONE)
            ),
            action_source=7,
        ),
    ]
    await (await dispatch()).publish([*good, *leaky])

    async def done() -> bool:
        return await statuses(engine) == {"confirmed": 20, "failed": 2}

    await wait_for(done, what="good delivered, leaky failed")
    assert len(sim.processed()) == 20

    for recorded in sim.platform_requests():
        assert "access_token" not in recorded.query and TOKEN not in recorded.path
        raw = recorded.body.decode()
        assert RAW_EMAIL.lower() not in raw.lower() and "6505551212" not in raw
        assert "@" not in raw
        body = json.loads(raw)
        assert body["access_token"] == TOKEN and len(body["appsecret_proof"]) == 64
        for event in body["data"]:
            user = event["user_data"]
            for key in ("em", "ph", "fn", "ln", "ge", "db", "ct", "st", "zp", "country"):
                assert all(HEX64.match(v) for v in user[key]), key
            assert user["client_ip_address"] == "203.0.113.7"
            assert user["fbc"].startswith("fb.1.") and user["fbc"].endswith(".IwAR123")
            assert event["custom_data"]["value"] == 129.99
            assert event["custom_data"]["currency"] == "eur"
            assert event["custom_data"]["contents"] == [
                {"id": "SKU-1", "quantity": 2, "item_price": 64.995}
            ]

    async with engine.connect() as conn:
        failed = (
            await conn.execute(
                text(
                    f"SELECT delivery_id, platform_code, last_error FROM {SCHEMA}.deliveries"
                    " WHERE status = 'failed' ORDER BY delivery_id"
                )
            )
        ).all()
        audit = " ".join(
            str(v)
            for row in await conn.execute(text(f"SELECT * FROM {SCHEMA}.dead_letters"))
            for v in row
        )
    assert [(f.delivery_id.split(":")[0], f.platform_code) for f in failed] == [
        ("leak-email", "NOT_HASHED"),
        ("leak-phone", "NOT_HASHED"),
    ]
    assert "user_data.meta.email is not a SHA-256 hash" in failed[0].last_error
    logged = " ".join(r.getMessage() for r in caplog.records)
    for text_ in (audit, logged):
        assert RAW_EMAIL not in text_ and "555-1212" not in text_ and TOKEN not in text_
