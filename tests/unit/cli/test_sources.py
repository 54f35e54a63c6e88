"""`convhub sources` and `convhub sources sync hubspot`: arguments, the table, ages, the sites a
sync covers and how failures are reported (the calls themselves: tests/integration/cli)."""

from __future__ import annotations

import io
import threading
from contextlib import redirect_stdout
from datetime import UTC, datetime, timedelta

import grpc
import pytest

from convhub.common.v1 import common_pb2
from convhub.ingest.v1 import ingest_pb2
from convhub_cli import sources_cmds
from convhub_cli.demo import Summary
from convhub_cli.grpc_client import RpcFailed
from convhub_cli.main import CliError, build_parser
from convhub_cli.sites import DEMO_HUBSPOT_TOKEN, demo_sites
from convhub_sim.sources import HubSpotSimulator

NOW = datetime(2026, 11, 30, 12, 0, 0, tzinfo=UTC)
SHOPIFY = common_pb2.CONVERSION_SOURCE_SHOPIFY
HUBSPOT = common_pb2.CONVERSION_SOURCE_HUBSPOT


def at(ago: timedelta) -> datetime:
    return NOW - ago


@pytest.mark.parametrize(
    ("ago", "says"),
    [
        (timedelta(seconds=-3), "just now"),  # a clock a little ahead
        (timedelta(milliseconds=400), "just now"),
        (timedelta(seconds=12), "12 s ago"),
        (timedelta(seconds=59.9), "59 s ago"),
        (timedelta(minutes=5, seconds=40), "5 min ago"),
        (timedelta(hours=3, minutes=59), "3 h ago"),
        (timedelta(hours=47), "47 h ago"),
        (timedelta(days=6, hours=5), "6 d ago"),
    ],
)
def test_ages_use_the_largest_unit_that_fits(ago: timedelta, says: str) -> None:
    assert sources_cmds.age(at(ago), NOW) == says


def _source(**fields: object) -> ingest_pb2.SiteSource:
    s = ingest_pb2.SiteSource(**{k: v for k, v in fields.items() if not k.endswith("_at")})
    for name in ("last_webhook_at", "last_sync_at", "sync_watermark"):
        if name in fields:
            getattr(s, name).FromDatetime(fields[name])
    return s


def test_the_table_reads_per_site_and_source() -> None:
    sources = [
        _source(
            site_id="shop-1",
            source=SHOPIFY,
            configured=True,
            last_webhook_at=at(timedelta(seconds=42)),
            webhooks_accepted=120,
            webhooks_duplicate=3,
            webhooks_refused=2,
        ),
        _source(
            site_id="shop-1",
            source=HUBSPOT,
            configured=True,
            last_webhook_at=at(timedelta(minutes=3)),
            webhooks_accepted=7,
            webhooks_ignored=11,
            pending=2,
            last_sync_at=at(timedelta(hours=1)),
            last_sync_outcome="ok: 4 deals, 1 accepted, 3 duplicate",
            sync_watermark=datetime(2026, 11, 30, 10, 59, 3, 512000, tzinfo=UTC),
        ),
        # Webhooks of a source the site no longer configures; HubSpot never synced.
        _source(
            site_id="web-2", source=common_pb2.CONVERSION_SOURCE_WOOCOMMERCE, webhooks_rejected=1
        ),
        _source(site_id="web-2", source=HUBSPOT, configured=True),
    ]
    out = io.StringIO()
    with redirect_stdout(out):
        sources_cmds.print_table(sources_cmds.LIST_HEADER, sources_cmds.source_rows(sources, NOW))
    assert out.getvalue().splitlines() == [
        "SITE    SOURCE       CONFIGURED  LAST WEBHOOK  ACCEPTED  DUPLICATE  IGNORED  REJECTED"
        "  REFUSED  PENDING  WATERMARK             LAST SYNC",
        "shop-1  SHOPIFY      yes         42 s ago           120          3        0         0"
        "        2        -  -                     -",
        "shop-1  HUBSPOT      yes         3 min ago            7          0       11         0"
        "        0        2  2026-11-30T10:59:03Z  1 h ago, ok: 4 deals, 1 accepted, 3 duplicate",
        "web-2   WOOCOMMERCE  no          never                0          0        0         1"
        "        0        -  -                     -",
        "web-2   HUBSPOT      yes         never                0          0        0         0"
        "        0        0  -                     never",
    ]


def test_a_sync_covers_each_site_whose_hubspot_is_configured_once() -> None:
    sources = [
        _source(site_id="a", source=HUBSPOT, configured=True),
        _source(site_id="a", source=SHOPIFY, configured=True),
        _source(site_id="b", source=HUBSPOT),  # webhooks seen, no longer configured
        _source(site_id="c", source=SHOPIFY, configured=True),
        _source(site_id="d", source=HUBSPOT, configured=True),
    ]
    assert sources_cmds.hubspot_sites(sources) == ["a", "d"]


def test_a_sync_row() -> None:
    answer = ingest_pb2.SyncSourceResponse(
        deals_read=250, accepted=240, duplicates=9, rejected=1, pages=3
    )
    assert sources_cmds.sync_row("shop-1", answer)[1:] == ["250", "240", "9", "1", "3", "-"]
    answer.watermark.FromDatetime(datetime(2026, 11, 30, 11, 0, tzinfo=UTC))
    row = sources_cmds.sync_row("shop-1", answer)
    header = sources_cmds.SYNC_HEADER
    assert sources_cmds.format_row(header, row, [6]) == (
        "shop-1         250       240           9         1      3  2026-11-30T11:00:00Z"
    )
    assert sources_cmds.format_row(header, list(header), [6]) == (
        "SITE    DEALS READ  ACCEPTED  DUPLICATES  REJECTED  PAGES  WATERMARK"
    )


def _failed(code: grpc.StatusCode, details: str) -> RpcFailed:
    return RpcFailed(f"ingest: {code.name}: {details}", [], code, unreachable=False)


def test_failed_syncs_make_one_error_naming_each_site() -> None:
    busy = _failed(
        grpc.StatusCode.FAILED_PRECONDITION, "a HubSpot sync of site 'a' is already running"
    )
    down = _failed(grpc.StatusCode.UNAVAILABLE, "HubSpot kept failing: 502")
    assert sources_cmds._outcome([], 3, one_site=False) == 0
    with pytest.raises(CliError) as raised:
        sources_cmds._outcome([("a", busy), ("c", down)], 3, one_site=False)
    assert raised.value.exit_code == 1
    assert str(raised.value) == "HubSpot sync failed for 2 of 3 sites"
    assert raised.value.more == [
        "a: FAILED_PRECONDITION: a HubSpot sync of site 'a' is already running",
        "c: UNAVAILABLE: HubSpot kept failing: 502",
    ]
    with pytest.raises(RpcFailed) as one:  # --site: the service's answer as it is
        sources_cmds._outcome([("a", busy)], 1, one_site=True)
    assert one.value is busy


def test_shared_flags_count_before_or_after_sync() -> None:
    parser = build_parser()
    before = parser.parse_args(["sources", "--site", "x", "--json", "sync", "hubspot"])
    after = parser.parse_args(["sources", "sync", "hubspot", "--site", "y", "--token", "t"])
    bare = parser.parse_args(["sources", "sync", "hubspot"])
    assert (before.site, before.json, before.func) == ("x", True, sources_cmds.run_sync)
    assert (after.site, after.json, after.token) == ("y", False, "t")
    assert (bare.site, bare.json, bare.backfill_days, bare.target) == (None, False, 0, None)
    listing = parser.parse_args(["sources"])
    assert listing.func is sources_cmds.run_list and listing.site is None


def test_the_demo_site_has_every_source_its_stack_can_feed() -> None:
    (direct,) = demo_sites(None, ["meta"], hubspot=True)
    s = direct.sources
    assert s.shopify.secret_ref and s.woocommerce.secret_ref
    assert s.hubspot.app_secret_ref and s.hubspot.access_token_ref and s.hubspot.portal_id > 0
    (without,) = demo_sites(None, ["meta"])  # no HubSpot simulator: no HubSpot source
    assert without.sources.shopify.secret_ref and not without.sources.HasField("hubspot")
    # The token `convhub up` writes for it is the one the simulator accepts.
    assert HubSpotSimulator().access_token == DEMO_HUBSPOT_TOKEN


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_a_demo_note_is_a_line_of_its_own_above_the_summary() -> None:
    out, stop = _Terminal(), threading.Event()
    summary = Summary(stop, out, report_every=30)
    summary.note("before any summary")
    summary.sent = summary.accepted = 6
    summary.show()
    summary.note("shopify webhook: 202 accepted")
    lines = out.getvalue().split("\n")
    assert lines[0].startswith("\r\x1b[K  demo ") and lines[0].endswith(": before any summary")
    assert lines[1].endswith(": shopify webhook: 202 accepted")
    assert lines[1].startswith("\r\x1b[K") and "6 sent, 6 accepted" in lines[2]  # drawn again
    plain = io.StringIO()
    Summary(threading.Event(), plain, report_every=30).note("woocommerce webhook: 202 accepted")
    assert plain.getvalue().startswith("  demo ") and plain.getvalue().count("\n") == 1


def test_status_names_every_source_that_reported_the_conversion(
    capsys: pytest.CaptureFixture[str],
) -> None:
    from convhub_cli.ingest_cmds import _print_status

    got = ingest_pb2.GetConversionResponse()
    got.conversion.conversion_id, got.conversion.site_id = "c-1", "shop-1"
    got.conversion.order_id, got.conversion.event_type = "5551234567", "purchase"
    for source, reference, reports in ((SHOPIFY, "5551234567", 2), (HUBSPOT, "10001", 1)):
        report = got.sources.add(source=source, reference=reference, reports=reports)
        report.first_reported_at.FromDatetime(NOW)
    _print_status(got)
    lines = capsys.readouterr().out.splitlines()
    assert lines[1:3] == [
        "source      SHOPIFY 5551234567  first reported 2026-11-30T12:00:00+00:00, 2 report(s)",
        "source      HUBSPOT 10001  first reported 2026-11-30T12:00:00+00:00, 1 report(s)",
    ]
