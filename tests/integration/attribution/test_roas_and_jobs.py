"""Spend, ROAS and the scheduled jobs against real NATS and PostgreSQL (and, for the
reconciliation, a real ingest service)."""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import grpc
import pytest
from nats.js import JetStreamContext
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from attribution.adapters.orm import SCHEMA
from attribution.config import Settings
from attribution.main import main
from attribution.migrate import MIGRATIONS
from convhub.attribution.v1 import attribution_pb2 as pb
from convhub.attribution.v1 import attribution_pb2_grpc
from convhub.common.v1 import common_pb2
from convhub.ingest.v1 import ingest_pb2, ingest_pb2_grpc
from convhub.router.v1 import router_pb2
from hubkit.db.migrations import upgrade
from hubkit.embedded import free_port
from ingest.adapters.orm import SCHEMA as INGEST_SCHEMA
from ingest.migrate import MIGRATIONS as INGEST_MIGRATIONS
from tests.support import wait_for, wait_serving

from ..ingest.conftest import ingest_settings, start_ingest
from ..ingest.test_service import conversion as ingest_conversion
from .conftest import (
    SECRET,
    SITE,
    conversion,
    publish_accepted,
    publish_touchpoints,
    set_site,
    token,
    touchpoint,
    touchpoints_stored,
)

NOW = datetime.now(UTC).replace(microsecond=0)
DAY = (NOW - timedelta(days=1)).date()
AT = datetime(DAY.year, DAY.month, DAY.day, 12, tzinfo=UTC)
LAST = pb.ATTRIBUTION_MODEL_LAST_CLICK


@dataclasses.dataclass
class Stack:
    stub: attribution_pb2_grpc.AttributionServiceStub
    exports: Path
    ingest: str  # ingest's gRPC address


@pytest.fixture
async def stack(
    database_url: str, nats_url: str, js: JetStreamContext, tmp_path: Path
) -> AsyncIterator[Stack]:
    """Attribution with an export directory, and ingest beside it (same database)."""
    await asyncio.to_thread(upgrade, database_url, MIGRATIONS, SCHEMA)
    await asyncio.to_thread(upgrade, database_url, INGEST_MIGRATIONS, INGEST_SCHEMA)
    ingest = await start_ingest(
        dataclasses.replace(ingest_settings(database_url, nats_url), jwt_secret=SECRET)
    )
    settings = Settings(
        database_url=database_url,
        nats_url=nats_url,
        grpc_port=free_port(),
        jwt_secret=SECRET,
        shutdown_grace_seconds=0.5,
        ingest_address=f"127.0.0.1:{ingest.settings.grpc_port}",
        export_dir=str(tmp_path / "exports"),
        jobs_settle_seconds=0,  # exports what was just credited
    )
    await set_site(
        js,
        router_pb2.Site(
            site_id=SITE, attribution=router_pb2.AttributionSettings(reporting_currency="EUR")
        ),
    )
    stop = asyncio.Event()
    task = asyncio.create_task(main(settings, stop))
    target = f"127.0.0.1:{settings.grpc_port}"
    await wait_serving(target, alive=lambda: task.result() if task.done() else None)
    async with grpc.aio.insecure_channel(target) as channel:
        yield Stack(
            attribution_pb2_grpc.AttributionServiceStub(channel),
            tmp_path / "exports",
            settings.ingest_address,
        )
        stop.set()
        await task
    ingest.stop.set()
    await ingest.task


def money(value: str, currency: str) -> common_pb2.Money:
    return common_pb2.Money(value=value, currency=currency)


async def credited(db: AsyncEngine, n: int) -> bool:
    async with db.connect() as conn:
        found = await conn.execute(text(f"SELECT count(*) FROM {SCHEMA}.conversions"))
        return int(found.scalar_one()) >= n


async def seed_journeys(js: JetStreamContext, db: AsyncEngine) -> None:
    """A: 100 EUR after a Google click; B: 300 USD after a Meta click; C: 50 EUR, no touch."""
    await publish_touchpoints(
        js,
        [
            touchpoint(
                "t-a",
                AT - timedelta(hours=2),
                "",
                "v-a",
                campaign="brand",
                click_ids=common_pb2.ClickIds(gclid="g" * 20),
            ),
            touchpoint(
                "t-b",
                AT - timedelta(hours=3),
                "",
                "v-b",
                campaign="retarget",
                click_ids=common_pb2.ClickIds(fbclid="f" * 20),
            ),
        ],
    )
    await touchpoints_stored(db, 2)  # touchpoints first: the conversions find them
    usd = conversion("c-b", AT, "300.00", visitor="v-b")
    usd.currency = "USD"
    await publish_accepted(
        js,
        [
            conversion("c-a", AT, "100.00", visitor="v-a"),
            usd,
            conversion("c-c", AT, "50.00", visitor="v-c"),
        ],
    )
    await wait_for(lambda: credited(db, 3), what="3 conversions credited")


async def test_roas_per_channel_and_blended_equal_hand_computed_values(
    stack: Stack, js: JetStreamContext, db: AsyncEngine
) -> None:
    await seed_journeys(js, db)
    day = DAY.isoformat()
    recorded = await stack.stub.RecordSpend(
        pb.RecordSpendRequest(
            site_id=SITE,
            entries=[
                pb.SpendEntry(
                    channel="paid_search",
                    campaign="brand",
                    date=day,
                    amount=money("40.00", "EUR"),
                    platform="google",
                    account_id="1",
                ),
                pb.SpendEntry(
                    channel="paid_social",
                    campaign="retarget",
                    date=day,
                    amount=money("100.00", "USD"),
                    platform="meta",
                    account_id="2",
                ),
                pb.SpendEntry(channel="", date="yesterday", amount=money("-1", "eur")),
            ],
        ),
        metadata=token(),
    )
    assert recorded.recorded == 2
    assert {e.field for e in recorded.errors} == {
        "entries[2].channel",
        "entries[2].date",
        "entries[2].amount.value",
        "entries[2].amount.currency",
    }
    request = pb.GetRoasRequest(site_id=SITE, model=LAST, group_by=pb.GROUP_BY_CHANNEL)
    with pytest.raises(grpc.aio.AioRpcError) as no_rate:
        await stack.stub.GetRoas(request, metadata=token())
    assert no_rate.value.code() == grpc.StatusCode.FAILED_PRECONDITION
    assert f"USD on {day}" in (no_rate.value.details() or "")

    rates = await stack.stub.RecordExchangeRates(
        pb.RecordExchangeRatesRequest(
            site_id=SITE,
            rates=[pb.ExchangeRate(date=day, currency="USD", rate=common_pb2.Decimal(value="0.9"))],
        ),
        metadata=token(),
    )
    assert rates.recorded == 1
    roas = await stack.stub.GetRoas(request, metadata=token())
    rows = {r.key: r for r in roas.rows}
    assert roas.currency == "EUR"
    # paid_search: 100 / 40; paid_social: 300 * 0.9 = 270 over 100 * 0.9 = 90.
    assert (rows["paid_search"].revenue.value, rows["paid_search"].spend.value) == ("100", "40")
    assert rows["paid_search"].roas.value == "2.5"
    assert (rows["paid_social"].revenue.value, rows["paid_social"].spend.value) == ("270", "90")
    assert rows["paid_social"].roas.value == "3"
    assert rows["paid_social"].cost_per_conversion.value == "90"
    assert rows["(unattributed)"].revenue.value == "50" and not rows["(unattributed)"].HasField(
        "roas"
    )
    # Blended: attributed revenue 370 over all spend 130.
    assert (roas.total.revenue.value, roas.total.spend.value) == ("370", "130")
    assert roas.total.roas.value == "2.846154"
    by_campaign = await stack.stub.GetRoas(
        pb.GetRoasRequest(site_id=SITE, model=LAST, group_by=pb.GROUP_BY_CAMPAIGN),
        metadata=token(),
    )
    assert {r.key: r.roas.value for r in by_campaign.rows if r.HasField("roas")} == {
        "brand": "2.5",
        "retarget": "3",
    }
    listed = await stack.stub.ListSpend(pb.ListSpendRequest(site_id=SITE), metadata=token())
    assert [(e.platform, e.amount.value, e.amount.currency) for e in listed.entries] == [
        ("google", "40", "EUR"),
        ("meta", "100", "USD"),
    ]


async def run(stack: Stack, job: int, **fields: object) -> pb.JobRun:
    answer = await stack.stub.RunJob(pb.RunJobRequest(job=job, **fields), metadata=token())  # type: ignore[arg-type]
    assert answer.run.outcome == "ok", answer.run.outcome
    return answer.run


async def table(db: AsyncEngine, sql: str) -> list[tuple[object, ...]]:
    async with db.connect() as conn:
        return [tuple(r) for r in await conn.execute(text(sql))]


async def test_every_job_run_twice_leaves_the_same_state(
    stack: Stack, js: JetStreamContext, db: AsyncEngine
) -> None:
    await seed_journeys(js, db)
    metrics = f"SELECT * FROM {SCHEMA}.daily_metrics ORDER BY 1, 2, 3, 4, 5, 6"
    credits = (
        f"SELECT conversion_id, model, position, channel, credit FROM {SCHEMA}.credits"
        " ORDER BY 1, 2, 3"
    )

    first = await run(stack, pb.JOB_ROLLUP, site_id=SITE)
    rolled = await table(db, metrics)
    again = await run(stack, pb.JOB_ROLLUP, site_id=SITE)
    # The second run may redo the day (what changed within a minute of the last run is redone):
    # the same rows either way.
    assert first.counts["days"] == 1 and again.counts["days"] <= 1
    assert await table(db, metrics) == rolled and len(rolled) == 5 * 3  # 5 models x 3 keys

    before = await table(db, credits)
    for _ in range(2):
        await run(stack, pb.JOB_RECALCULATE, site_id=SITE, days=3)
        assert await table(db, credits) == before

    # C's touchpoint arrives late: the retry credits it, a second retry changes nothing.
    await publish_touchpoints(js, [touchpoint("t-c", AT - timedelta(hours=1), "email", "v-c")])
    await touchpoints_stored(db, 3)
    retried = await run(stack, pb.JOB_RETRY_UNATTRIBUTED, site_id=SITE)
    assert (retried.counts["conversions"], retried.counts["attributed"]) == (1, 1)
    assert (await run(stack, pb.JOB_RETRY_UNATTRIBUTED, site_id=SITE)).counts["conversions"] == 0

    exported = await run(stack, pb.JOB_EXPORT, site_id=SITE)
    files = sorted((stack.exports / SITE).iterdir())
    assert exported.counts["files"] == 1 and [f.suffix for f in files] == [".csv"]
    lines = files[0].read_text().splitlines()
    assert (
        lines[0].startswith("conversion_id,event_time")
        and len(lines) == 1 + exported.counts["rows"]
    )
    assert (await run(stack, pb.JOB_EXPORT, site_id=SITE)).counts["files"] == 0
    assert sorted((stack.exports / SITE).iterdir()) == files  # no partial or repeated file

    listed = await stack.stub.ListJobs(pb.ListJobsRequest(), metadata=token())
    assert {r.job for r in listed.runs} == {
        pb.JOB_ROLLUP,
        pb.JOB_RECALCULATE,
        pb.JOB_RETRY_UNATTRIBUTED,
        pb.JOB_EXPORT,
    }
    assert all(r.outcome == "ok" and r.scope == SITE for r in listed.runs)


async def test_reconciliation_repairs_a_conversion_attribution_missed(
    stack: Stack, js: JetStreamContext, db: AsyncEngine
) -> None:
    # Through ingest: accepted, published, credited by attribution.
    async with grpc.aio.insecure_channel(stack.ingest) as channel:
        stub = ingest_pb2_grpc.IngestServiceStub(channel)
        answers = await stub.IngestBatch(
            ingest_pb2.IngestBatchRequest(
                conversions=[ingest_conversion(f"r-{n}", site=SITE) for n in range(3)]
            ),
            metadata=token(),  # ingest shares attribution's JWT secret here
        )
    ids = [a.conversion_id for a in answers.results]
    await wait_for(lambda: credited(db, 3), what="3 conversions credited")
    # Attribution misses one (its ConversionAccepted lost): gone from its tables.
    async with db.begin() as conn:
        for name in ("credits", "conversions"):
            await conn.execute(
                text(f"DELETE FROM {SCHEMA}.{name} WHERE conversion_id = :id"), {"id": ids[1]}
            )
    repaired = await run(stack, pb.JOB_RECONCILE, site_id=SITE)
    assert (repaired.counts["checked"], repaired.counts["repaired"]) == (3, 1)
    got = await stack.stub.GetConversionAttribution(
        pb.GetConversionAttributionRequest(conversion_id=ids[1]), metadata=token()
    )
    assert got.unattributed or got.attributions
    assert (await run(stack, pb.JOB_RECONCILE, site_id=SITE)).counts["repaired"] == 0
