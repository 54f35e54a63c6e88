"""`convhub attribution spend` (ListSpend), `convhub attribution spend record` (RecordSpend from
a CSV file) and `convhub attribution rates record` (RecordExchangeRates from a CSV file).

A file is read whole before anything is sent: a file that cannot be read as the columns it
needs sends nothing. What the service refuses is per row: the other rows are recorded, and each
refused field is reported with its file line."""

from __future__ import annotations

import argparse
import csv
import io
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

from convhub.attribution.v1 import attribution_pb2 as pb
from convhub.common.v1 import common_pb2
from convhub_cli.attribution_cmds import (
    amount,
    call,
    print_table,
    run,
    service_flags,
    time_range,
)
from convhub_cli.main import CliError, Failed, positive_float, print_json, show_help
from hubkit.auth import Scope

# What RecordSpend and RecordExchangeRates take in one call.
MAX_PER_CALL = 10_000
SPEND_COLUMNS = ("date", "channel", "campaign", "amount", "currency")
SPEND_OPTIONAL = ("platform", "account_id")
RATE_COLUMNS = ("date", "currency", "rate")
SPEND_HEADER = ("DATE", "PLATFORM", "ACCOUNT", "CHANNEL", "CAMPAIGN", "AMOUNT", "CURRENCY")
_INDEXED = re.compile(r"^(entries|rates)\[(\d+)\]\.?")


def register(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    spend = commands.add_parser(
        "spend",
        help="recorded ad spend per day, platform, account, channel and campaign",
        description="The site's recorded spend (synced from Google Ads, Meta and TikTok, or"
        " recorded by hand), each amount in its ad account's currency. `spend record` records"
        " spend from a CSV file.",
    )
    spend.add_argument("--site", help="the site (required)")
    spend.add_argument(
        "--days", type=positive_float, default=30, help="days of the last N days (30)"
    )
    service_flags(spend)
    spend.set_defaults(func=lambda a: run(_list(a)))
    actions = spend.add_subparsers(dest="spend_command", metavar="ACTION")
    record = actions.add_parser(
        "record",
        help="record spend from a CSV file (RecordSpend)",
        description="Record spend from a CSV file with a header row and the columns"
        " date,channel,campaign,amount,currency and optionally platform,account_id (date"
        " YYYY-MM-DD; amount a plain decimal in that currency; campaign may be empty: spend of"
        " the whole channel). A row replaces an earlier one with the same platform, account,"
        " channel, campaign and date. Exit 1 when any row was refused (the others are"
        " recorded).",
    )
    record.add_argument("--site", help="the site (required)")
    record.add_argument("--file", type=Path, required=True, help="the CSV file")
    service_flags(record)
    # Given before `record` or after it, a shared flag counts (unset after: the group's).
    for action in record._actions:
        if action.dest in ("site", "target", "token", "json"):
            action.default = argparse.SUPPRESS
    record.set_defaults(func=lambda a: run(_record_spend(a)))

    rates = commands.add_parser(
        "rates",
        help="exchange rates into a site's reporting currency",
        description="Daily exchange rates into the site's reporting currency: ROAS converts"
        " spend and revenue in other currencies at their day's rate.",
    )
    rates.set_defaults(func=show_help(rates))
    rate_actions = rates.add_subparsers(dest="rates_command", metavar="ACTION")
    rates_record = rate_actions.add_parser(
        "record",
        help="record daily rates from a CSV file (RecordExchangeRates)",
        description="Record exchange rates from a CSV file with a header row and the columns"
        " date,currency,rate: on that date 1 unit of currency is worth rate units of the site's"
        " reporting currency. A row replaces the site's earlier rate of that day and currency."
        " Exit 1 when any row was refused (the others are recorded).",
    )
    rates_record.add_argument("--site", required=True, help="the site")
    rates_record.add_argument("--file", type=Path, required=True, help="the CSV file")
    service_flags(rates_record)
    rates_record.set_defaults(func=lambda a: run(_record_rates(a)))


def _site(args: argparse.Namespace) -> str:
    site: str | None = getattr(args, "site", None)
    if not site:
        raise CliError("the following arguments are required: --site")
    return site


# --- convhub attribution spend -----------------------------------------------------------------


async def _list(args: argparse.Namespace) -> int:
    site = _site(args)
    request = pb.ListSpendRequest(site_id=site, time_range=time_range(args.days, None, None))
    answer = await call(args, "ListSpend", request)
    if args.json:
        print_json(answer)
    elif not answer.entries:
        print(f"no spend recorded for {site} in the last {args.days:g} days")
    else:
        rows = spend_rows(answer.entries)
        totals = spend_totals(answer.entries)
        print_table(SPEND_HEADER, rows + totals, {5})
    return 0


def spend_rows(entries: Sequence[pb.SpendEntry]) -> list[list[str]]:
    return [
        [
            e.date,
            e.platform or "(by hand)",
            e.account_id or "-",
            e.channel,
            e.campaign or "-",
            amount(e.amount.value),
            e.amount.currency,
        ]
        for e in entries
    ]


def spend_totals(entries: Sequence[pb.SpendEntry]) -> list[list[str]]:
    """One line per currency: spend in different currencies is never added up."""
    sums: dict[str, Decimal] = {}
    for e in entries:
        sums[e.amount.currency] = sums.get(e.amount.currency, Decimal(0)) + _decimal(e.amount.value)
    return [["total", "", "", "", "", amount(str(v)), c] for c, v in sorted(sums.items())]


def _decimal(text: str) -> Decimal:
    try:
        return Decimal(text or "0")
    except InvalidOperation:
        return Decimal(0)


# --- convhub attribution spend record / rates record --------------------------------------------


@dataclass(frozen=True)
class Row:
    line: int  # in the file (the header is line 1)
    cells: dict[str, str]


def read_csv(path: Path, required: Sequence[str], optional: Sequence[str] = ()) -> list[Row]:
    """The rows of a CSV file with a header naming `required` columns (and maybe `optional`
    ones), cells stripped; blank lines skipped. Anything else is a CliError naming the line."""
    try:
        text = path.read_text(encoding="utf-8-sig")  # a spreadsheet's BOM is not a column name
    except OSError as exc:
        raise CliError(f"cannot read {path}: {exc.strerror}") from None
    except UnicodeDecodeError as exc:
        raise CliError(f"{path}: not UTF-8 text ({exc.reason})") from None
    wanted = ",".join(required) + (f"[,{','.join(optional)}]" if optional else "")
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        header = [h.strip().lower() for h in next(reader, [])]
        problems = []
        if not any(header):
            problems.append("no header")
        else:
            missing = [c for c in required if c not in header]
            unknown = [h for h in header if h not in (*required, *optional)]
            if missing:
                problems.append(f"no column {', '.join(missing)}")
            if unknown:
                problems.append(f"unknown column {', '.join(unknown)}")
        if problems:
            raise CliError(f"{path}:1: {'; '.join(problems)} (expected the columns {wanted})")
        rows = []
        for cells in reader:
            if not any(c.strip() for c in cells):
                continue
            if len(cells) > len(header):
                raise CliError(
                    f"{path}:{reader.line_num}: {len(cells)} cells, the header has {len(header)}"
                )
            values = {h: (cells[i].strip() if i < len(cells) else "") for i, h in enumerate(header)}
            rows.append(Row(reader.line_num, values))
    except csv.Error as exc:
        raise CliError(f"{path}:{reader.line_num}: {exc}") from None
    if not rows:
        raise CliError(f"{path}: no rows under the header")
    return rows


def spend_entry(row: Row) -> pb.SpendEntry:
    c = row.cells
    return pb.SpendEntry(
        date=c["date"],
        channel=c["channel"],
        campaign=c["campaign"],
        amount=common_pb2.Money(value=c["amount"], currency=c["currency"].upper()),
        platform=c.get("platform", "").lower(),
        account_id=c.get("account_id", ""),
    )


def exchange_rate(row: Row) -> pb.ExchangeRate:
    c = row.cells
    return pb.ExchangeRate(
        date=c["date"], currency=c["currency"].upper(), rate=common_pb2.Decimal(value=c["rate"])
    )


async def _record_spend(args: argparse.Namespace) -> int:
    site = _site(args)
    rows = read_csv(args.file, SPEND_COLUMNS, SPEND_OPTIONAL)

    def request(chunk: list[Row]) -> Any:
        return pb.RecordSpendRequest(site_id=site, entries=[spend_entry(r) for r in chunk])

    return await _record(args, rows, "RecordSpend", request, f"spend entries for {site}")


async def _record_rates(args: argparse.Namespace) -> int:
    rows = read_csv(args.file, RATE_COLUMNS)

    def request(chunk: list[Row]) -> Any:
        return pb.RecordExchangeRatesRequest(
            site_id=args.site, rates=[exchange_rate(r) for r in chunk]
        )

    return await _record(
        args, rows, "RecordExchangeRates", request, f"exchange rates for {args.site}"
    )


async def _record(
    args: argparse.Namespace,
    rows: list[Row],
    method: str,
    request: Callable[[list[Row]], Any],
    what: str,
) -> int:
    recorded = 0
    errors: list[dict[str, Any]] = []
    for start in range(0, len(rows), MAX_PER_CALL):
        chunk = rows[start : start + MAX_PER_CALL]
        answer = await call(args, method, request(chunk), scopes=(Scope.INGEST,))
        recorded += answer.recorded
        errors += [field_error(args.file, chunk, e) for e in answer.errors]
    if args.json:
        print_json({"recorded": recorded, "rows": len(rows), "errors": errors})
    else:
        print(f"recorded {recorded} of {len(rows)} {what}")
    refused = sorted({e["line"] for e in errors})
    if refused:
        raise Failed(
            f"{len(refused)} of {len(rows)} rows of {args.file} not recorded",
            [f"{args.file}:{e['line']}: {e['field']}: {e['code']}: {e['message']}" for e in errors],
        )
    return 0


def field_error(path: Path, chunk: Sequence[Row], e: common_pb2.FieldError) -> dict[str, Any]:
    """A FieldError of entries[i] / rates[i] of one call, as the file's line and column."""
    match = _INDEXED.match(e.field)
    index = int(match.group(2)) if match else -1
    line = chunk[index].line if 0 <= index < len(chunk) else 0
    column = e.field[match.end() :] if match else e.field
    return {"line": line, "field": column or e.field, "code": e.code, "message": e.message}
