"""`convhub attribution ...`: credit per channel or campaign, models side by side, the paths
that convert, one conversion's split (AttributionService)."""

from __future__ import annotations

import argparse
import asyncio
from collections.abc import Coroutine
from datetime import UTC, datetime, timedelta
from typing import Any

from convhub.attribution.v1 import attribution_pb2 as pb
from convhub.attribution.v1 import attribution_pb2_grpc
from convhub.common.v1 import common_pb2
from convhub_cli import grpc_client
from convhub_cli.main import (
    add_json,
    add_token,
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
    credit.set_defaults(func=lambda a: _run(_credit(a)))
    compare = commands.add_parser("compare", help="every model side by side, per key")
    _common(compare)
    compare.set_defaults(func=lambda a: _run(_compare(a)))
    paths = commands.add_parser("paths", help="the paths that convert")
    _common(paths)
    paths.add_argument("--top", type=positive_int, default=10, help="paths to show (default 10)")
    paths.set_defaults(func=lambda a: _run(_paths(a)))
    one = commands.add_parser("conversion", help="one conversion's split per model")
    one.add_argument("conversion_id", help="the id `convhub send` printed")
    _service_flags(one)
    one.set_defaults(func=lambda a: _run(_conversion(a)))


def _common(p: argparse.ArgumentParser) -> None:
    p.add_argument("--site", required=True, help="the site")
    p.add_argument(
        "--days", type=positive_float, default=30, help="conversions of the last N days (30)"
    )
    p.add_argument("--by", choices=sorted(GROUPS), default="channel", help="group by (channel)")
    _service_flags(p)


def _service_flags(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--target",
        metavar="HOST:PORT",
        help="attribution address (default: $CONVHUB_ATTRIBUTION_ADDR or the local stack's)",
    )
    add_token(p)
    add_json(p)


def _run(work: Coroutine[Any, Any, int]) -> int:
    return asyncio.run(work)


def _range(days: float) -> common_pb2.TimeRange:
    r = common_pb2.TimeRange()
    r.start.FromDatetime(datetime.now(UTC) - timedelta(days=days))
    return r


async def _call(args: argparse.Namespace, method: str, request: Any) -> Any:
    service = grpc_client.endpoint("attribution", args.target)
    metadata = grpc_client.metadata(args.token, [Scope.READ])
    async with grpc_client.connect(service) as channel:
        stub = attribution_pb2_grpc.AttributionServiceStub(channel)
        return await getattr(stub, method)(request, metadata=metadata)


async def _credit(args: argparse.Namespace) -> int:
    request = pb.QueryCreditRequest(
        site_id=args.site,
        model=MODELS[args.model],
        time_range=_range(args.days),
        group_by=GROUPS[args.by],
    )
    answer = await _call(args, "QueryCredit", request)
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
    answer = await _call(args, "CompareModels", request)
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
    answer = await _call(args, "AnalyzePaths", request)
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
    answer = await _call(args, "GetConversionAttribution", request)
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
