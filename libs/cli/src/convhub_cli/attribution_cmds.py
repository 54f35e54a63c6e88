"""`convhub attribution ...`: credit per channel or campaign, models side by side, the paths
that convert, one conversion's split, and return on ad spend (AttributionService). Spend and
exchange rates (`spend`, `rates`) are in attribution_spend, the scheduled jobs (`jobs`) in
attribution_jobs; this module registers them and holds what they share."""

from __future__ import annotations

import argparse
import asyncio
from collections.abc import Coroutine, Iterable, Sequence
from datetime import UTC, datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any

from convhub.attribution.v1 import attribution_pb2 as pb
from convhub.attribution.v1 import attribution_pb2_grpc
from convhub.common.v1 import common_pb2
from convhub_cli import grpc_client
from convhub_cli.main import (
    CliError,
    add_json,
    add_token,
    iso_time,
    positive_float,
    positive_int,
    print_json,
    show_help,
)
from hubkit.auth import Scope

MODELS = {
    "first": pb.ATTRIBUTION_MODEL_FIRST_CLICK,
    "last": pb.ATTRIBUTION_MODEL_LAST_CLICK,
    "linear": pb.ATTRIBUTION_MODEL_LINEAR,
    "position": pb.ATTRIBUTION_MODEL_POSITION_BASED,
    "time-decay": pb.ATTRIBUTION_MODEL_TIME_DECAY,
    "markov": pb.ATTRIBUTION_MODEL_DATA_DRIVEN_MARKOV,
    "shapley": pb.ATTRIBUTION_MODEL_DATA_DRIVEN_SHAPLEY,
    "cr-shapley": pb.ATTRIBUTION_MODEL_DATA_DRIVEN_CONVERSION_RATE_SHAPLEY,
}
NAMES = {v: k for k, v in MODELS.items()}
GROUPS = {"channel": pb.GROUP_BY_CHANNEL, "campaign": pb.GROUP_BY_CAMPAIGN}


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("attribution", help="multi-touch attribution queries")
    p.set_defaults(func=show_help(p))
    commands = p.add_subparsers(dest="attribution_command", metavar="ACTION")
    credit = commands.add_parser("credit", help="credited conversions and revenue per key")
    _common(credit)
    credit.add_argument(
        "--model", choices=sorted(MODELS), default="last", help="attribution model (default last)"
    )
    credit.set_defaults(func=lambda a: run(_credit(a)))
    compare = commands.add_parser("compare", help="every model side by side, per key")
    _common(compare)
    compare.set_defaults(func=lambda a: run(_compare(a)))
    paths = commands.add_parser("paths", help="the paths that convert")
    _common(paths)
    paths.add_argument("--top", type=positive_int, default=10, help="paths to show (default 10)")
    paths.set_defaults(func=lambda a: run(_paths(a)))
    one = commands.add_parser("conversion", help="one conversion's split per model")
    one.add_argument("conversion_id", help="the id `convhub send` printed")
    service_flags(one)
    one.set_defaults(func=lambda a: run(_conversion(a)))
    roas = commands.add_parser(
        "roas",
        help="return on ad spend per key, and blended, in the reporting currency",
        description="Attributed revenue over spend per channel or campaign under one model, and"
        " the blended line: all attributed revenue over all spend. Amounts are in the site's"
        " reporting currency (other currencies converted at each day's rate; a missing rate is"
        " an error, never a silent mix). Unattributed revenue is listed, not added.",
    )
    roas.add_argument("--site", required=True, help="the site")
    roas.add_argument(
        "--model", choices=sorted(MODELS), default="last", help="attribution model (default last)"
    )
    roas.add_argument("--by", choices=sorted(GROUPS), default="channel", help="group by (channel)")
    window = roas.add_mutually_exclusive_group()
    window.add_argument(
        "--days", type=positive_float, help="the last N days (default 30; spend: whole days)"
    )
    window.add_argument(
        "--since", type=iso_time, help="from this time, ISO 8601 (instead of --days)"
    )
    roas.add_argument("--until", type=iso_time, help="up to this time, ISO 8601 (default now)")
    service_flags(roas)
    roas.set_defaults(func=lambda a: run(_roas(a)))
    # Spend, exchange rates and the scheduled jobs: modules of their own, imported here only
    # (they import this one's helpers).
    from convhub_cli import attribution_jobs, attribution_spend

    attribution_spend.register(commands)
    attribution_jobs.register(commands)


def _common(p: argparse.ArgumentParser) -> None:
    p.add_argument("--site", required=True, help="the site")
    p.add_argument(
        "--days", type=positive_float, default=30, help="conversions of the last N days (30)"
    )
    p.add_argument("--by", choices=sorted(GROUPS), default="channel", help="group by (channel)")
    service_flags(p)


def service_flags(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--target",
        metavar="HOST:PORT",
        help="attribution address (default: $CONVHUB_ATTRIBUTION_ADDR or the local stack's)",
    )
    add_token(p)
    add_json(p)


def run(work: Coroutine[Any, Any, int]) -> int:
    return asyncio.run(work)


def _range(days: float) -> common_pb2.TimeRange:
    r = common_pb2.TimeRange()
    r.start.FromDatetime(datetime.now(UTC) - timedelta(days=days))
    return r


def time_range(
    days: float | None, since: datetime | None, until: datetime | None
) -> common_pb2.TimeRange:
    """[since, until): --since, else --days (default 30) before --until or now; no --until:
    open-ended."""
    start = since or (until or datetime.now(UTC)) - timedelta(days=days or 30)
    if until is not None and until <= start:
        raise CliError("--until must come after the start of the range")
    r = common_pb2.TimeRange()
    r.start.FromDatetime(start)
    if until is not None:
        r.end.FromDatetime(until)
    return r


async def call(
    args: argparse.Namespace,
    method: str,
    request: Any,
    scopes: Iterable[Scope] = (Scope.READ,),
    deadline: float | None = None,
) -> Any:
    service = grpc_client.endpoint("attribution", args.target)
    metadata = grpc_client.metadata(args.token, scopes)
    async with grpc_client.connect(service) as channel:
        stub = attribution_pb2_grpc.AttributionServiceStub(channel)
        return await getattr(stub, method)(request, metadata=metadata, timeout=deadline)


async def _credit(args: argparse.Namespace) -> int:
    request = pb.QueryCreditRequest(
        site_id=args.site,
        model=MODELS[args.model],
        time_range=_range(args.days),
        group_by=GROUPS[args.by],
    )
    answer = await call(args, "QueryCredit", request)
    if args.json:
        print_json(answer)
        return 0
    print(f"{args.by.upper():<28} {'CONVERSIONS':>12} {'REVENUE':>14}")
    for row in [*answer.rows, *answer.unattributed]:
        print(
            f"{row.key:<28} {float(row.conversions.value):>12.2f}"
            f" {float(row.revenue.value):>10.2f} {row.revenue.currency}"
        )
    print(f"{'total':<28} {float(answer.total_conversions.value):>12.2f}")
    return 0


async def _compare(args: argparse.Namespace) -> int:
    request = pb.CompareModelsRequest(
        site_id=args.site, time_range=_range(args.days), group_by=GROUPS[args.by]
    )
    answer = await call(args, "CompareModels", request)
    if args.json:
        print_json(answer)
        return 0
    names = [NAMES[m] for m in answer.models]
    print(f"{args.by.upper():<24}" + "".join(f"{n:>11}" for n in names) + "  (conversions)")
    for row in answer.rows:
        cells = "".join(f"{float(c.conversions.value):>11.2f}" for c in row.credits)
        print(f"{row.key:<24}{cells}  {row.currency}")
    return 0


async def _paths(args: argparse.Namespace) -> int:
    request = pb.AnalyzePathsRequest(
        site_id=args.site, time_range=_range(args.days), group_by=GROUPS[args.by], top_n=args.top
    )
    answer = await call(args, "AnalyzePaths", request)
    if args.json:
        print_json(answer)
        return 0
    print(
        f"{answer.total_conversions} conversions, {float(answer.average_path_length.value):.2f}"
        f" touches on average"
    )
    for path in answer.paths:
        steps = " > ".join(path.steps) or "(no touch)"
        print(f"{path.conversions:>6}  {float(path.share.value):>6.1%}  {steps}")
    return 0


async def _conversion(args: argparse.Namespace) -> int:
    request = pb.GetConversionAttributionRequest(conversion_id=args.conversion_id)
    answer = await call(args, "GetConversionAttribution", request)
    if args.json:
        print_json(answer)
        return 0
    print(f"{answer.conversion_id} {answer.value.value} {answer.value.currency}")
    if answer.unattributed:
        print("  unattributed: no touchpoint in the lookback window")
    for a in answer.attributions:
        split = ", ".join(
            f"{c.channel} {float(c.credit.value):.0%}" for c in a.credits if float(c.credit.value)
        )
        print(f"  {NAMES[a.model]:<11} {split}")
    return 0


async def _roas(args: argparse.Namespace) -> int:
    request = pb.GetRoasRequest(
        site_id=args.site,
        model=MODELS[args.model],
        time_range=time_range(args.days, args.since, args.until),
        group_by=GROUPS[args.by],
    )
    answer = await call(args, "GetRoas", request)
    if args.json:
        print_json(answer)
        return 0
    if not answer.rows:
        print(f"no spend and no credited revenue for {args.site} in that range")
        return 0
    print_table(*roas_table(answer, args.by))
    return 0


def roas_table(answer: pb.GetRoasResponse, by: str) -> tuple[list[str], list[list[str]], set[int]]:
    """Header, rows (the blended total last) and the right-aligned columns of GetRoas."""
    c = answer.currency or "-"
    header = [by.upper(), f"SPEND {c}", f"REVENUE {c}", "CONVERSIONS", "ROAS", f"COST/CONV {c}"]
    rows = [_roas_cells(r) for r in answer.rows]
    rows.append(_roas_cells(answer.total, "total (blended)"))
    return header, rows, {1, 2, 3, 4, 5}


def _roas_cells(row: pb.RoasRow, key: str | None = None) -> list[str]:
    return [
        key or row.key,
        amount(row.spend.value),
        amount(row.revenue.value),
        amount(row.conversions.value),
        amount(row.roas.value) if row.HasField("roas") else "-",
        amount(row.cost_per_conversion.value) if row.HasField("cost_per_conversion") else "-",
    ]


def amount(value: str) -> str:
    """A decimal string with two places ("0.00" for empty); unreadable text as it is."""
    try:
        return format(Decimal(value or "0").quantize(Decimal("0.01")), "f")
    except InvalidOperation:
        return value


def format_table(
    header: Sequence[str], rows: Sequence[Sequence[str]], right: set[int]
) -> list[str]:
    """Columns two spaces apart, those in `right` right-aligned; no trailing spaces."""
    widths = [max(len(str(r[i])) for r in [header, *rows]) for i in range(len(header))]
    lines = []
    for cells in [header, *rows]:
        padded = [
            c.rjust(w) if i in right else c.ljust(w)
            for i, (c, w) in enumerate(zip(cells, widths, strict=True))
        ]
        lines.append("  ".join(padded).rstrip())
    return lines


def print_table(header: Sequence[str], rows: Sequence[Sequence[str]], right: set[int]) -> None:
    for line in format_table(header, rows, right):
        print(line)
