"""`convhub attribution roas|spend|rates|jobs`: arguments, time ranges, the CSV files, the tables
and how refused rows are reported (the calls themselves: tests/integration/cli)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from convhub.attribution.v1 import attribution_pb2 as pb
from convhub.common.v1 import common_pb2
from convhub_cli import attribution_cmds, attribution_jobs, attribution_spend
from convhub_cli.attribution_cmds import format_table, time_range
from convhub_cli.main import CliError, build_parser

NOW = datetime(2026, 11, 30, 12, 0, 0, tzinfo=UTC)


def money(value: str, currency: str = "EUR") -> common_pb2.Money:
    return common_pb2.Money(value=value, currency=currency)


def test_a_range_is_since_or_days_before_until_or_now() -> None:
    since, until = datetime(2026, 11, 1, tzinfo=UTC), datetime(2026, 11, 8, tzinfo=UTC)
    r = time_range(None, since, until)
    assert (r.start.ToDatetime(UTC), r.end.ToDatetime(UTC)) == (since, until)
    r = time_range(7, None, until)
    assert (r.start.ToDatetime(UTC), r.end.ToDatetime(UTC)) == (until - timedelta(days=7), until)
    r = time_range(None, None, None)  # 30 days up to now, open-ended
    assert not r.HasField("end")
    assert abs(datetime.now(UTC) - timedelta(days=30) - r.start.ToDatetime(UTC)) < timedelta(
        seconds=5
    )
    with pytest.raises(CliError, match="--until must come after"):
        time_range(None, until, since)


def test_roas_shows_every_key_the_unattributed_revenue_and_the_blended_total() -> None:
    answer = pb.GetRoasResponse(
        currency="EUR",
        rows=[
            pb.RoasRow(
                key="paid_search",
                spend=money("40"),
                revenue=money("100"),
                conversions=common_pb2.Decimal(value="1"),
                roas=common_pb2.Decimal(value="2.5"),
                cost_per_conversion=money("40"),
            ),
            pb.RoasRow(
                key="(unattributed)", revenue=money("50"), conversions=common_pb2.Decimal(value="1")
            ),
        ],
        total=pb.RoasRow(
            key="total",
            spend=money("130"),
            revenue=money("370"),
            conversions=common_pb2.Decimal(value="2.5"),
            roas=common_pb2.Decimal(value="2.846154"),
            cost_per_conversion=money("52"),
        ),
    )
    assert format_table(*attribution_cmds.roas_table(answer, "channel")) == [
        "CHANNEL          SPEND EUR  REVENUE EUR  CONVERSIONS  ROAS  COST/CONV EUR",
        "paid_search          40.00       100.00         1.00  2.50          40.00",
        "(unattributed)        0.00        50.00         1.00     -              -",
        "total (blended)     130.00       370.00         2.50  2.85          52.00",
    ]


def test_roas_takes_days_or_since_not_both() -> None:
    parser = build_parser()
    args = parser.parse_args(
        ["attribution", "roas", "--site", "s", "--since", "2026-11-01", "--by", "campaign"]
    )
    assert (args.days, args.since, args.by, args.model) == (
        None,
        datetime(2026, 11, 1, tzinfo=UTC),
        "campaign",
        "last",
    )
    with pytest.raises(SystemExit):
        parser.parse_args(["attribution", "roas", "--site", "s", "--days", "7", "--since", "x"])


def test_spend_lists_each_entry_and_a_total_per_currency() -> None:
    entries = [
        pb.SpendEntry(
            date="2026-11-29",
            channel="paid_search",
            campaign="brand-search",
            amount=money("12.5"),
            platform="google",
            account_id="1234567890",
        ),
        pb.SpendEntry(date="2026-11-29", channel="paid_social", amount=money("30", "USD")),
        pb.SpendEntry(
            date="2026-11-30",
            channel="paid_search",
            campaign="brand-search",
            amount=money("7.25"),
            platform="google",
            account_id="1234567890",
        ),
    ]
    rows = attribution_spend.spend_rows(entries) + attribution_spend.spend_totals(entries)
    assert format_table(attribution_spend.SPEND_HEADER, rows, {5}) == [
        "DATE        PLATFORM   ACCOUNT     CHANNEL      CAMPAIGN      AMOUNT  CURRENCY",
        "2026-11-29  google     1234567890  paid_search  brand-search   12.50  EUR",
        "2026-11-29  (by hand)  -           paid_social  -              30.00  USD",
        "2026-11-30  google     1234567890  paid_search  brand-search    7.25  EUR",
        "total                                                          19.75  EUR",
        "total                                                          30.00  USD",
    ]


def test_a_spend_file_becomes_entries_with_their_lines(tmp_path: Path) -> None:
    path = tmp_path / "spend.csv"
    path.write_text(
        "\ufeffDate,Channel,Campaign,Amount,Currency,Platform,Account_ID\n"  # a spreadsheet's
        "2026-11-29,paid_search,brand-search,12.50,eur,Google,1234567890\n"
        "\n"
        '2026-11-29,paid_social,"retargeting, EU",30,USD,,\n'
        "2026-11-30,email,,5\n",  # short row: the missing cells are empty
        encoding="utf-8",
    )
    rows = attribution_spend.read_csv(
        path, attribution_spend.SPEND_COLUMNS, attribution_spend.SPEND_OPTIONAL
    )
    assert [r.line for r in rows] == [2, 4, 5]
    entries = [attribution_spend.spend_entry(r) for r in rows]
    assert entries[0] == pb.SpendEntry(
        date="2026-11-29",
        channel="paid_search",
        campaign="brand-search",
        amount=money("12.50", "EUR"),
        platform="google",
        account_id="1234567890",
    )
    assert entries[1].campaign == "retargeting, EU" and entries[1].platform == ""
    assert (entries[2].amount.value, entries[2].amount.currency) == ("5", "")


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ("date,channel,amount,currency\n", "spend.csv:1: no column campaign"),
        ("date,channel,campaign,amount,currency,cost\n", "spend.csv:1: unknown column cost"),
        ("", "spend.csv:1: no header"),
        ("date,channel,campaign,amount,currency\n\n", "spend.csv: no rows under the header"),
        (
            "date,channel,campaign,amount,currency\n2026-11-29,a,b,1,EUR,x\n",
            "spend.csv:2: 6 cells, the header has 5",
        ),
    ],
)
def test_a_file_that_is_not_the_columns_sends_nothing(tmp_path: Path, text: str, says: str) -> None:
    path = tmp_path / "spend.csv"
    path.write_text(text)
    with pytest.raises(CliError) as raised:
        attribution_spend.read_csv(
            path, attribution_spend.SPEND_COLUMNS, attribution_spend.SPEND_OPTIONAL
        )
    assert str(raised.value).startswith(f"{path.parent}/{says}"), str(raised.value)
    assert raised.value.exit_code == 2


def test_a_rates_file(tmp_path: Path) -> None:
    path = tmp_path / "rates.csv"
    path.write_text("date,currency,rate\n2026-11-29,usd,0.92\n")
    (row,) = attribution_spend.read_csv(path, attribution_spend.RATE_COLUMNS)
    assert attribution_spend.exchange_rate(row) == pb.ExchangeRate(
        date="2026-11-29", currency="USD", rate=common_pb2.Decimal(value="0.92")
    )


def test_a_refused_field_is_reported_at_its_line(tmp_path: Path) -> None:
    chunk = [attribution_spend.Row(2, {}), attribution_spend.Row(7, {})]
    error = common_pb2.FieldError(
        field="entries[1].amount.value", code="INVALID_FORMAT", message="a plain decimal"
    )
    assert attribution_spend.field_error(tmp_path / "s.csv", chunk, error) == {
        "line": 7,
        "field": "amount.value",
        "code": "INVALID_FORMAT",
        "message": "a plain decimal",
    }
    rate = common_pb2.FieldError(field="rates[0].date", code="INVALID_FORMAT", message="YYYY")
    assert attribution_spend.field_error(tmp_path / "r.csv", chunk, rate)["line"] == 2


def test_shared_flags_count_before_or_after_the_action() -> None:
    parser = build_parser()
    before = parser.parse_args(
        ["attribution", "spend", "--site", "x", "--json", "record", "--file", "f.csv"]
    )
    after = parser.parse_args(["attribution", "spend", "record", "--file", "f", "--site", "y"])
    listing = parser.parse_args(["attribution", "spend", "--site", "z", "--days", "7"])
    assert (before.site, before.json, before.file) == ("x", True, Path("f.csv"))
    assert (after.site, after.json) == ("y", False)
    assert (listing.site, listing.days) == ("z", 7)
    run = parser.parse_args(["attribution", "jobs", "--json", "run", "spend-sync", "--days", "7"])
    assert (run.job, run.days, run.json, run.site, run.timeout) == (
        "spend-sync",
        7,
        True,
        None,
        attribution_jobs.DEFAULT_TIMEOUT,
    )
    bare = parser.parse_args(["attribution", "jobs", "run", "export"])
    assert (bare.days, bare.json, bare.target) == (0, False, None)


def _run(job: int, scope: str, ago: timedelta, outcome: str = "ok", **counts: int) -> pb.JobRun:
    run = pb.JobRun(job=job, scope=scope, duration_seconds=0.42, outcome=outcome, counts=counts)
    run.started_at.FromDatetime(NOW - ago)
    return run


def test_jobs_lists_every_job_in_order_and_the_ones_that_never_ran() -> None:
    runs = [
        _run(pb.JOB_EXPORT, "shop-1", timedelta(minutes=4), files=1, rows=120, sites=1),
        _run(pb.JOB_SPEND_SYNC, "shop-1", timedelta(hours=5), "failed for 1 of 1 sites: x\n\ty"),
        _run(pb.JOB_SPEND_SYNC, "*", timedelta(hours=20), accounts=3, rows=21, sites=2),
    ]
    runs[2].duration_seconds = 125.4
    rows = attribution_jobs.job_rows(runs, NOW)
    assert [r[:2] for r in rows] == [
        ["rollup", "-"],
        ["spend-sync", "*"],
        ["spend-sync", "shop-1"],
        ["recalculate", "-"],
        ["retry-unattributed", "-"],
        ["reconcile", "-"],
        ["export", "shop-1"],
    ]
    assert rows[0][2:] == ["never", "-", "-", "-"]
    assert rows[1][2:] == [
        "2026-11-29T16:00:00Z (20 h ago)",
        "2 min 5 s",
        "ok",
        "accounts=3 rows=21 sites=2",
    ]
    assert rows[2][4] == "failed for 1 of 1 sites: x y" and rows[2][5] == "-"  # one line
    assert rows[6][2:4] == ["2026-11-30T11:56:00Z (4 min ago)", "0.4 s"]


@pytest.mark.parametrize(("text", "ok"), [("1", True), ("400", True), ("0", False), ("401", False)])
def test_a_job_window_is_1_to_400_days(text: str, ok: bool) -> None:
    if ok:
        assert attribution_jobs.job_days(text) == int(text)
    else:
        with pytest.raises(Exception, match="expected 1 to 400 days"):
            attribution_jobs.job_days(text)


def test_every_job_of_the_service_has_a_command_name() -> None:
    assert set(attribution_jobs.JOBS.values()) == set(pb.Job.values()) - {pb.JOB_UNSPECIFIED}
