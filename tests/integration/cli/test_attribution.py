"""`convhub attribution spend|rates|roas|jobs` from a subfolder of a running stack whose
attribution service (real, in-process, on the suite's PostgreSQL and NATS) has credited a
conversion: spend and rates from CSV files, ROAS in the reporting currency, jobs run and
listed."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from nats.js import JetStreamContext

from attribution.adapters.orm import SCHEMA
from attribution.config import Settings
from attribution.main import main as attribution_main
from attribution.migrate import MIGRATIONS
from convhub.common.v1 import common_pb2
from convhub.router.v1 import router_pb2
from hubkit.db import make_engine
from hubkit.db.migrations import upgrade
from hubkit.embedded import free_port
from tests.support import wait_for

from ..attribution.conftest import (
    SITE,
    conversion,
    publish_accepted,
    publish_touchpoints,
    set_site,
    touchpoint,
    touchpoints_stored,
)
from .conftest import SECRET, convhub, start, write_stack
from .test_sources import rows

DAY = (datetime.now(UTC) - timedelta(days=1)).date()
AT = datetime(DAY.year, DAY.month, DAY.day, 12, tzinfo=UTC)
CLOSED = f"127.0.0.1:{free_port()}"  # ingest, for the reconcile job: nothing listens


@pytest.fixture
async def stack(
    database_url: str, nats_url: str, js: JetStreamContext, tmp_path: Path
) -> AsyncIterator[Path]:
    """A checkout folder whose stack runs attribution (reporting currency EUR, exports in
    tmp_path/exports, no ingest to reconcile with) with one conversion credited: 100 EUR after
    a Google click of the campaign brand-search."""
    await asyncio.to_thread(upgrade, database_url, MIGRATIONS, SCHEMA)
    await set_site(
        js,
        router_pb2.Site(
            site_id=SITE, attribution=router_pb2.AttributionSettings(reporting_currency="EUR")
        ),
    )
    settings = Settings(
        database_url=database_url,
        nats_url=nats_url,
        grpc_port=free_port(),
        jwt_secret=SECRET,
        shutdown_grace_seconds=0.5,
        ingest_address=CLOSED,
        export_dir=str(tmp_path / "exports"),
        jobs_settle_seconds=0,  # exports what was just credited
    )
    stop, task = await start(attribution_main, settings)
    write_stack(tmp_path, {"attribution": f"127.0.0.1:{settings.grpc_port}"})
    folder = tmp_path / "docs"
    folder.mkdir()
    await publish_touchpoints(
        js,
        [
            touchpoint(
                "t-a",
                AT - timedelta(hours=2),
                "",
                "v-a",
                campaign="brand-search",
                click_ids=common_pb2.ClickIds(gclid="g" * 20),
            )
        ],
    )
    engine = make_engine(database_url)
    await touchpoints_stored(engine, 1)  # the touchpoint first: the conversion finds it
    await engine.dispose()
    await publish_accepted(js, [conversion("c-a", AT, "100.00", visitor="v-a")])

    async def credited() -> bool:
        code, out, _ = await convhub("attribution", "credit", "--site", SITE, "--json", cwd=folder)
        return code == 0 and json.loads(out).get("total_conversions", {}).get("value") == "1"

    await wait_for(credited, what="the conversion credited", interval=0.2)
    yield folder
    stop.set()
    await task


async def test_spend_rates_and_roas_from_files(stack: Path) -> None:
    day = DAY.isoformat()
    spend = stack / "spend.csv"
    spend.write_text(
        "date,channel,campaign,amount,currency,platform,account_id\n"
        f"{day},paid_search,brand-search,40.00,EUR,google,1234567890\n"
        f"{day},paid_social,retargeting,10,USD,meta,1029384756\n"
        f"{day},paid_social,retargeting,-1,usd,meta,1029384756\n"
    )
    code, out, err = await convhub(
        "attribution", "spend", "record", "--site", SITE, "--file", str(spend), cwd=stack
    )
    assert code == 1
    assert out == f"recorded 2 of 3 spend entries for {SITE}\n"
    assert err.splitlines() == [
        f"convhub: 1 of 3 rows of {spend} not recorded",
        f"  {spend}:4: amount.value: INVALID_FORMAT: a non-negative plain decimal, <= 6 places",
    ]

    # USD spend and no rate for its day: refused, naming it (never a silent mix).
    code, _, err = await convhub("attribution", "roas", "--site", SITE, cwd=stack)
    assert code == 1 and f"FAILED_PRECONDITION: no exchange rate for USD on {day}" in err

    rates = stack / "rates.csv"
    rates.write_text(f"date,currency,rate\n{day},USD,0.9\n")
    code, out, err = await convhub(
        "attribution", "rates", "record", "--site", SITE, "--file", str(rates), cwd=stack
    )
    assert (code, out) == (0, f"recorded 1 of 1 exchange rates for {SITE}\n"), err

    code, out, err = await convhub("attribution", "roas", "--site", SITE, "--days", "7", cwd=stack)
    assert code == 0, err
    # paid_search 100 / 40; paid_social: 10 USD x 0.9 = 9 EUR spent, nothing credited;
    # blended 100 / 49.
    assert rows(out) == [
        ["CHANNEL", "SPEND EUR", "REVENUE EUR", "CONVERSIONS", "ROAS", "COST/CONV EUR"],
        ["paid_search", "40.00", "100.00", "1.00", "2.50", "40.00"],
        ["paid_social", "9.00", "0.00", "0.00", "0.00", "-"],
        ["total (blended)", "49.00", "100.00", "1.00", "2.04", "49.00"],
    ]
    code, out, err = await convhub(
        "attribution", "roas", "--site", SITE, "--by", "campaign", "--json", cwd=stack
    )
    assert code == 0, err
    answer = json.loads(out)
    assert answer["currency"] == "EUR" and answer["total"]["roas"]["value"] == "2.040816"
    assert {r["key"] for r in answer["rows"]} == {"brand-search", "retargeting"}

    code, out, err = await convhub("attribution", "spend", "--site", SITE, cwd=stack)
    assert code == 0, err
    assert rows(out) == [
        ["DATE", "PLATFORM", "ACCOUNT", "CHANNEL", "CAMPAIGN", "AMOUNT", "CURRENCY"],
        [day, "google", "1234567890", "paid_search", "brand-search", "40.00", "EUR"],
        [day, "meta", "1029384756", "paid_social", "retargeting", "10.00", "USD"],
        ["total", "40.00", "EUR"],
        ["total", "10.00", "USD"],
    ]


async def test_jobs_run_and_listed(stack: Path, tmp_path: Path) -> None:
    code, out, err = await convhub("attribution", "jobs", cwd=stack)
    assert code == 0, err
    assert [r[:3] for r in rows(out)[1:]] == [
        [job, "-", "never"]
        for job in (
            "rollup",
            "spend-sync",
            "recalculate",
            "retry-unattributed",
            "reconcile",
            "export",
        )
    ]

    code, out, err = await convhub(
        "attribution", "jobs", "run", "export", "--site", SITE, cwd=stack
    )
    assert code == 0, err
    header, row = rows(out)
    assert header == ["JOB", "SCOPE", "LAST RUN", "DURATION", "OUTCOME", "COUNTS"]
    assert row[:2] == ["export", SITE] and row[4:] == ["ok", "files=1 rows=5 sites=1"]
    (exported,) = (tmp_path / "exports" / SITE).iterdir()
    assert exported.suffix == ".csv"

    # Every site (the one there is), as the CronJob runs it; JSON as the API answers.
    code, out, err = await convhub("attribution", "jobs", "run", "rollup", "--json", cwd=stack)
    assert code == 0, err
    run = json.loads(out)["run"]
    assert (run["job"], run["scope"], run["outcome"]) == ("JOB_ROLLUP", "*", "ok")

    # No ingest to reconcile with: the run fails for the site, and says why.
    code, out, err = await convhub(
        "attribution", "jobs", "run", "reconcile", "--site", SITE, "--days", "2", cwd=stack
    )
    assert code == 1
    assert rows(out)[1][4].startswith("failed for 1 of 1 sites: shop-a: ")
    assert err.startswith(f"convhub: reconcile ({SITE}): failed for 1 of 1 sites: ")
    assert len(err.splitlines()) == 1

    code, out, err = await convhub("attribution", "jobs", cwd=stack)
    assert code == 0, err
    listed = {(r[0], r[1]): r for r in rows(out)[1:]}
    assert listed[("export", SITE)][4] == "ok" and listed[("rollup", "*")][4] == "ok"
    assert listed[("reconcile", SITE)][4].startswith("failed")
    assert listed[("spend-sync", "-")][2] == "never"
