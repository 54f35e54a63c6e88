"""Attribution end to end against real NATS and PostgreSQL: touchpoints in, conversions
credited under every model, queries, order independence, replays, erasure."""

from __future__ import annotations

import hashlib
import uuid
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from sqlalchemy import text

from convhub.attribution.v1 import attribution_pb2 as pb
from convhub.common.v1 import common_pb2
from convhub.events.v1 import events_pb2
from hubkit.bus import JetStreamPublisher, Outgoing
from tests.support import wait_for

from .conftest import (
    SITE,
    conversion,
    publish_accepted,
    publish_touchpoints,
    token,
    touchpoint,
    ts,
)

NOW = datetime.now(UTC).replace(microsecond=0)
DAY = timedelta(days=1)
RULES = [
    pb.ATTRIBUTION_MODEL_FIRST_CLICK,
    pb.ATTRIBUTION_MODEL_LAST_CLICK,
    pb.ATTRIBUTION_MODEL_LINEAR,
    pb.ATTRIBUTION_MODEL_POSITION_BASED,
    pb.ATTRIBUTION_MODEL_TIME_DECAY,
]


async def attributed(stub, cid: str) -> pb.GetConversionAttributionResponse | None:  # type: ignore[no-untyped-def]
    import grpc

    try:
        got = await stub.GetConversionAttribution(
            pb.GetConversionAttributionRequest(conversion_id=cid), metadata=token()
        )
    except grpc.aio.AioRpcError:
        return None
    return got if got.attributions or got.unattributed else None


def _model(response: pb.GetConversionAttributionResponse, model: int) -> list[pb.TouchpointCredit]:
    (found,) = [a for a in response.attributions if a.model == model]
    return list(found.credits)


def credits(response: pb.GetConversionAttributionResponse, model: int) -> dict[str, Decimal]:
    (found,) = [a for a in response.attributions if a.model == model]
    out: dict[str, Decimal] = {}
    for c in found.credits:
        out[c.channel] = out.get(c.channel, Decimal(0)) + Decimal(c.credit.value)
    return {channel: credit for channel, credit in out.items() if credit}


async def test_touchpoints_get_field_errors_without_costing_their_neighbours(attribution) -> None:
    stub = attribution.stub
    good = touchpoint("t-ok", NOW - DAY, "email")
    no_time = common_pb2.Touchpoint(site_id=SITE, visitor_id="v1", channel="email")
    bad_key = touchpoint("t-key", NOW - DAY, "email", user_keys=["not-a-hash"])
    answer = await stub.RecordTouchpoints(
        pb.RecordTouchpointsRequest(site_id=SITE, touchpoints=[good, no_time, bad_key]),
        metadata=token(),
    )
    statuses = [r.status for r in answer.results]
    assert statuses == [
        pb.TOUCHPOINT_STATUS_RECORDED,
        pb.TOUCHPOINT_STATUS_REJECTED,
        pb.TOUCHPOINT_STATUS_REJECTED,
    ]
    assert [e.field for e in answer.results[1].errors] == ["occurred_at"]
    assert [e.field for e in answer.results[2].errors] == ["user_keys"]
    again = await stub.RecordTouchpoints(
        pb.RecordTouchpointsRequest(site_id=SITE, touchpoints=[good]), metadata=token()
    )
    assert again.results[0].status == pb.TOUCHPOINT_STATUS_DUPLICATE
    derived = touchpoint("", NOW - DAY, "", medium="cpc", source="google")
    named = await stub.RecordTouchpoints(
        pb.RecordTouchpointsRequest(site_id=SITE, touchpoints=[derived]), metadata=token()
    )
    assert named.results[0].touchpoint_id.startswith("tp_")  # derived, stable


async def test_a_conversion_is_credited_under_every_model_and_queries_add_up(
    attribution, js
) -> None:
    stub = attribution.stub
    await stub.RecordTouchpoints(
        pb.RecordTouchpointsRequest(
            site_id=SITE,
            touchpoints=[
                touchpoint("a", NOW - 10 * DAY, "paid_search"),
                touchpoint("b", NOW - 3 * DAY, "email"),
                touchpoint("c", NOW - DAY, "paid_social"),
                touchpoint("late", NOW + DAY / 2, "email"),  # after the conversion: not counted
                touchpoint("old", NOW - 31 * DAY, "display"),  # outside the lookback
            ],
        ),
        metadata=token(),
    )
    await publish_accepted(
        js, [conversion("c1", NOW, "90.00"), conversion("c2", NOW, "10.00", visitor="v2")]
    )
    got = await _eventually(stub, "c1")
    assert credits(got, pb.ATTRIBUTION_MODEL_FIRST_CLICK) == {"paid_search": 1}
    assert credits(got, pb.ATTRIBUTION_MODEL_LAST_CLICK) == {"paid_social": 1}
    assert credits(got, pb.ATTRIBUTION_MODEL_POSITION_BASED) == {
        "paid_search": Decimal("0.4"),
        "email": Decimal("0.2"),
        "paid_social": Decimal("0.4"),
    }
    for model in RULES:
        assert sum(credits(got, model).values()) == 1
    lonely = await _eventually(stub, "c2")
    assert lonely.unattributed and not any(a.credits for a in lonely.attributions)

    for model in RULES:
        answer = await stub.QueryCredit(
            pb.QueryCreditRequest(site_id=SITE, model=model), metadata=token()
        )
        conversions = sum(Decimal(r.conversions.value) for r in answer.rows)
        conversions += sum(Decimal(r.conversions.value) for r in answer.unattributed)
        revenue = sum(Decimal(r.revenue.value) for r in [*answer.rows, *answer.unattributed])
        assert conversions == Decimal(answer.total_conversions.value) == 2
        assert revenue == Decimal("100.00")
        assert [(r.key, r.conversions.value) for r in answer.unattributed] == [
            ("(unattributed)", "1")
        ]
        by_campaign = await stub.QueryCredit(
            pb.QueryCreditRequest(site_id=SITE, model=model, group_by=pb.GROUP_BY_CAMPAIGN),
            metadata=token(),
        )
        assert [r.key for r in by_campaign.unattributed] == ["(unattributed)"]


async def test_late_touchpoints_then_recalculate_end_as_if_they_came_first(
    attribution, js, db
) -> None:
    stub = attribution.stub
    await publish_accepted(js, [conversion("late1", NOW, "50.00", visitor="v9")])
    first = await _eventually(stub, "late1")
    assert first.unattributed
    await publish_touchpoints(
        js,
        [
            touchpoint("l1", NOW - 5 * DAY, "affiliate", visitor="v9"),
            touchpoint("l2", NOW - 2 * DAY, "email", visitor="v9"),
        ],
    )
    await wait_for(lambda: _eq(_touchpoints_of(db, "v9"), 2), what="touchpoints stored")
    done = await stub.Recalculate(pb.RecalculateRequest(site_id=SITE), metadata=token())
    assert done.conversions_recalculated == 1
    got = await _eventually(stub, "late1")
    assert not got.unattributed
    assert credits(got, pb.ATTRIBUTION_MODEL_LINEAR) == {
        "affiliate": Decimal("0.5"),
        "email": Decimal("0.5"),
    }
    # The same journey with the touchpoints first ends with the same stored results.
    await publish_touchpoints(
        js,
        [
            touchpoint("f1", NOW - 5 * DAY, "affiliate", visitor="v8"),
            touchpoint("f2", NOW - 2 * DAY, "email", visitor="v8"),
        ],
    )
    await wait_for(lambda: _eq(_touchpoints_of(db, "v8"), 2), what="touchpoints stored")
    await publish_accepted(js, [conversion("early1", NOW, "50.00", visitor="v8")])
    early = await _eventually(stub, "early1")
    for model in RULES:
        assert credits(early, model) == credits(got, model)
        late_rows = [(c.channel, c.credit.value, c.revenue.value) for c in _model(got, model)]
        early_rows = [(c.channel, c.credit.value, c.revenue.value) for c in _model(early, model)]
        assert late_rows == early_rows


async def test_a_replayed_conversion_is_credited_once(attribution, js) -> None:
    stub = attribution.stub
    await stub.RecordTouchpoints(
        pb.RecordTouchpointsRequest(
            site_id=SITE, touchpoints=[touchpoint("r1", NOW - DAY, "email", visitor="vr")]
        ),
        metadata=token(),
    )
    c = conversion("rep", NOW, "40.00", visitor="vr")
    await publish_accepted(js, [c])
    await _eventually(stub, "rep")
    await publish_accepted(js, [c])  # redelivered under another message id
    await publish_accepted(js, [conversion("marker", NOW, "1.00", visitor="vr")])
    await _eventually(stub, "marker")
    answer = await stub.QueryCredit(
        pb.QueryCreditRequest(site_id=SITE, model=pb.ATTRIBUTION_MODEL_LINEAR), metadata=token()
    )
    assert Decimal(answer.total_conversions.value) == 2
    assert [(r.key, r.revenue.value) for r in answer.rows] == [("email", "41")]


async def test_identities_are_stitched_through_hashed_user_keys(attribution, js) -> None:
    stub = attribution.stub
    email = hashlib.sha256(b"jane@example.com").hexdigest()
    other_device = touchpoint(
        "d1", NOW - 2 * DAY, "paid_social", visitor="phone-1", user_keys=[email]
    )
    await stub.RecordTouchpoints(
        pb.RecordTouchpointsRequest(site_id=SITE, touchpoints=[other_device]), metadata=token()
    )
    await publish_accepted(js, [conversion("st", NOW, "20.00", visitor="laptop-1", email=email)])
    got = await _eventually(stub, "st")
    assert credits(got, pb.ATTRIBUTION_MODEL_LAST_CLICK) == {"paid_social": 1}


async def test_data_driven_models_paths_and_comparisons(attribution, js) -> None:
    stub = attribution.stub
    touches, converted = [], []
    for i in range(12):
        visitor = f"dd{i}"
        touches.append(touchpoint(f"dd{i}a", NOW - 4 * DAY, "paid_search", visitor=visitor))
        if i % 2:
            touches.append(touchpoint(f"dd{i}b", NOW - 2 * DAY, "email", visitor=visitor))
        if i < 8:
            converted.append(conversion(f"dd{i}", NOW, "10.00", visitor=visitor))
    await stub.RecordTouchpoints(
        pb.RecordTouchpointsRequest(site_id=SITE, touchpoints=touches), metadata=token()
    )
    await publish_accepted(js, converted)
    await _eventually(stub, "dd7")
    start = ts(NOW - 40 * DAY)
    for model in (
        pb.ATTRIBUTION_MODEL_DATA_DRIVEN_MARKOV,
        pb.ATTRIBUTION_MODEL_DATA_DRIVEN_SHAPLEY,
        pb.ATTRIBUTION_MODEL_DATA_DRIVEN_CONVERSION_RATE_SHAPLEY,
    ):
        answer = await stub.QueryCredit(
            pb.QueryCreditRequest(
                site_id=SITE, model=model, time_range=common_pb2.TimeRange(start=start)
            ),
            metadata=token(),
        )
        total = sum(Decimal(r.conversions.value) for r in answer.rows)
        revenue = sum(Decimal(r.revenue.value) for r in answer.rows)
        assert (total, revenue) == (8, 80), (model, answer)  # exact, whatever the model
        assert Decimal(answer.total_conversions.value) == 8
        assert {r.key for r in answer.rows} <= {"paid_search", "email"}
    compared = await stub.CompareModels(pb.CompareModelsRequest(site_id=SITE), metadata=token())
    assert len(compared.models) == 8
    assert {r.key for r in compared.rows} >= {"paid_search", "email"}
    paths = await stub.AnalyzePaths(pb.AnalyzePathsRequest(site_id=SITE), metadata=token())
    assert paths.total_conversions == 8
    assert {tuple(p.steps): p.conversions for p in paths.paths} == {
        ("paid_search",): 4,
        ("paid_search", "email"): 4,
    }
    assert {s.key: s.first_touch_share.value for s in paths.steps}["paid_search"] == "1"


async def test_an_erasure_removes_the_persons_touchpoints_and_results(attribution, js, db) -> None:
    stub = attribution.stub
    await stub.RecordTouchpoints(
        pb.RecordTouchpointsRequest(
            site_id=SITE, touchpoints=[touchpoint("e1", NOW - DAY, "email", visitor="ve")]
        ),
        metadata=token(),
    )
    await publish_accepted(js, [conversion("er", NOW, "5.00", visitor="ve")])
    await _eventually(stub, "er")
    erased = events_pb2.UserErasedBatch(
        site_id=SITE,
        items=[events_pb2.UserErased(erasure_id="x", conversion_ids=["er"], visitor_ids=["ve"])],
    )
    await JetStreamPublisher(js).publish(
        Outgoing(f"convhub.erasures.{SITE}", erased, f"er-{uuid.uuid4().hex}")
    )

    async def gone() -> bool:
        return await attributed(stub, "er") is None

    await wait_for(gone, what="results erased")
    assert await _touchpoints_of(db, "ve") == 0


async def _eventually(stub, cid: str) -> pb.GetConversionAttributionResponse:  # type: ignore[no-untyped-def]
    return await wait_for(lambda: attributed(stub, cid), what=f"{cid} attributed")


async def _touchpoints_of(db, visitor: str) -> int:  # type: ignore[no-untyped-def]
    async with db.connect() as conn:
        query = text("SELECT count(*) FROM attribution.touchpoints WHERE visitor_id = :v")
        return int((await conn.execute(query, {"v": visitor})).scalar_one())


async def _eq(value, expected: int) -> bool:  # type: ignore[no-untyped-def]
    return await value == expected
