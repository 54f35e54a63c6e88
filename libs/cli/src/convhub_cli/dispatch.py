"""`convhub dlq list|replay`, `convhub delivery <conversion_id>`: the dispatchers' operator API."""

from __future__ import annotations

import argparse
import asyncio
import sys
from datetime import UTC, datetime
from typing import Any

import grpc
from google.protobuf import json_format

from convhub.common.v1 import common_pb2
from convhub.dispatch.v1 import dispatch_pb2, dispatch_pb2_grpc
from convhub_cli import grpc_client, stackfile
from hubkit.auth import Scope

# Which service serves DispatchService for each destination (sGTM's dispatcher runs in the router).
DISPATCHERS = {
    "google": "dispatch-google",
    "meta": "dispatch-meta",
    "sgtm": "router",
    "tiktok": "dispatch-tiktok",
}
ERROR_CLASSES = ["throttle", "transient", "auth", "bad_input", "too_old", "config", "unknown"]


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    dlq = sub.add_parser("dlq", help="list or replay a dispatcher's dead letters")
    actions = dlq.add_subparsers(dest="action", required=True, metavar="ACTION")

    listing = actions.add_parser("list", help="dead letters, newest first")
    _platform(listing, required=False)
    _filters(listing)
    listing.add_argument("--limit", type=int, default=100, help="at most this many (default 100)")
    listing.add_argument("--json", action="store_true", help="print the API's JSON")
    listing.set_defaults(func=run_list)

    replay = actions.add_parser("replay", help="put dead letters back to pending")
    _platform(replay, required=True)
    replay.add_argument("--id", action="append", default=[], help="a dead letter id (repeat)")
    _filters(replay)
    replay.add_argument("--all", action="store_true", help="replay every dead letter matching")
    replay.add_argument("--limit", type=int, default=0, help="replay at most this many")
    replay.add_argument("--dry-run", action="store_true", help="count, change nothing")
    replay.set_defaults(func=run_replay)

    delivery = sub.add_parser("delivery", help="a conversion's deliveries and attempt history")
    delivery.add_argument("conversion_id")
    _platform(delivery, required=False)
    delivery.add_argument("--json", action="store_true", help="print the API's JSON")
    delivery.set_defaults(func=run_delivery)

    stats = sub.add_parser(
        "stats", help="dispatchers' live figures: rates, backlog, match keys, platform reports"
    )
    _platform(stats, required=False)
    stats.add_argument("--site", help="one site's figures (default: all sites)")
    stats.add_argument("--window", type=int, default=0, help="seconds (default 60)")
    stats.add_argument("--json", action="store_true", help="print the API's JSON")
    stats.set_defaults(func=run_stats)


def _platform(parser: argparse.ArgumentParser, *, required: bool) -> None:
    parser.add_argument(
        "--platform",
        choices=sorted(DISPATCHERS),
        required=required,
        help="which dispatcher" + ("" if required else " (default: every one that runs)"),
    )
    parser.add_argument("--target", help="the dispatcher's address (with --platform)")


def _filters(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--site")
    parser.add_argument("--account", help="platform account (pixel id, customer id, ...)")
    parser.add_argument("--error-class", choices=ERROR_CLASSES)
    parser.add_argument("--since", help="dead-lettered at or after (ISO 8601)")
    parser.add_argument("--until", help="dead-lettered before (ISO 8601)")
    parser.add_argument("--include-replayed", action="store_true")


def _dead_letter_filter(args: argparse.Namespace) -> dispatch_pb2.DeadLetterFilter:
    f = dispatch_pb2.DeadLetterFilter(
        site_id=args.site or "",
        account_id=args.account or "",
        include_replayed=args.include_replayed,
    )
    if args.error_class:
        f.error_class = common_pb2.ErrorClass.Value(  # type: ignore[assignment]
            f"ERROR_CLASS_{args.error_class.upper()}"
        )
    if args.since:
        f.time_range.start.FromDatetime(_when(args.since))
    if args.until:
        f.time_range.end.FromDatetime(_when(args.until))
    return f


def _when(text: str) -> datetime:
    from convhub_cli.main import CliError

    try:
        at = datetime.fromisoformat(text)
    except ValueError:
        raise CliError(f"not an ISO 8601 time: {text!r}") from None
    return at if at.tzinfo else at.replace(tzinfo=UTC)


def _targets(args: argparse.Namespace) -> dict[str, str]:
    """platform -> address: the one asked for, else every dispatcher with a known address."""
    from convhub_cli.main import CliError

    if args.platform:
        return {args.platform: grpc_client.target(DISPATCHERS[args.platform], args.target)}
    if args.target:
        raise CliError("--target needs --platform")
    found = {
        p: a
        for p, name in DISPATCHERS.items()
        if (a := stackfile.service_address(name)) is not None
    }
    if not found:
        raise CliError("no dispatcher address: pass --platform/--target or start `make run`")
    return found


# --- dlq list ------------------------------------------------------------------------------


def run_list(args: argparse.Namespace) -> int:
    return asyncio.run(_list(args))


async def _list(args: argparse.Namespace) -> int:
    selector = _dead_letter_filter(args)
    metadata = grpc_client.metadata([Scope.READ])
    rows: list[tuple[str, dispatch_pb2.DeadLetter]] = []
    for platform, address in _targets(args).items():
        async with grpc_client.channel(address) as channel:
            stub = dispatch_pb2_grpc.DispatchServiceStub(channel)
            response = await _call(
                platform,
                stub.ListDeadLetters(
                    dispatch_pb2.ListDeadLettersRequest(
                        filter=selector, page_size=max(1, min(args.limit, 1000))
                    ),
                    metadata=metadata,
                ),
                many=not args.platform,
            )
            if response is None:
                continue
            if args.json:
                print(json_format.MessageToJson(response, indent=2))
                continue
            rows += [(platform, d) for d in response.dead_letters]
            if response.total_count > len(response.dead_letters):
                shown, total = len(response.dead_letters), response.total_count
                print(f"# {platform}: showing {shown} of {total}", file=sys.stderr)
    if not args.json:
        _print_dead_letters(rows)
    return 0


def _print_dead_letters(rows: list[tuple[str, dispatch_pb2.DeadLetter]]) -> None:
    if not rows:
        print("no dead letters")
        return
    print("PLATFORM  DEAD_LETTER_ID                    SITE          CONVERSION  ATT  REASON")
    for platform, d in rows:
        replayed = "  (replayed)" if d.HasField("replayed_at") else ""
        print(
            f"{platform:<9} {d.dead_letter_id:<33} {d.site_id:<13} {d.conversion_id:<11} "
            f"{d.attempts:>3}  {d.reason}{replayed}"
        )


# --- dlq replay ----------------------------------------------------------------------------


def run_replay(args: argparse.Namespace) -> int:
    from convhub_cli.main import CliError

    has_filter = any(
        (args.site, args.account, args.error_class, args.since, args.until, args.include_replayed)
    )
    if args.id and (has_filter or args.all):
        raise CliError("give either --id or filters, not both")
    if not args.id and not (has_filter or args.all):
        raise CliError(
            "say what to replay: --id ..., filters (--site, --error-class, ...) or --all"
        )
    request = dispatch_pb2.ReplayDeadLettersRequest(dry_run=args.dry_run, limit=max(args.limit, 0))
    if args.id:
        request.ids.ids.extend(args.id)
    else:
        request.filter.CopyFrom(_dead_letter_filter(args))
    return asyncio.run(_replay(args, request))


async def _replay(args: argparse.Namespace, request: dispatch_pb2.ReplayDeadLettersRequest) -> int:
    ((platform, address),) = _targets(args).items()
    async with grpc_client.channel(address) as channel:
        stub = dispatch_pb2_grpc.DispatchServiceStub(channel)
        response = await stub.ReplayDeadLetters(
            request, metadata=grpc_client.metadata([Scope.ADMIN])
        )
    if args.dry_run:
        print(f"{platform}: matched {response.matched} (dry run: nothing replayed)")
    else:
        print(f"{platform}: matched {response.matched}, replayed {response.replayed}")
    for missing in response.not_found_ids:
        print(f"{platform}: no dead letter {missing}", file=sys.stderr)
    return 1 if response.not_found_ids else 0


# --- delivery ------------------------------------------------------------------------------


def run_delivery(args: argparse.Namespace) -> int:
    return asyncio.run(_delivery(args))


async def _delivery(args: argparse.Namespace) -> int:
    metadata = grpc_client.metadata([Scope.READ])
    found = False
    for platform, address in _targets(args).items():
        async with grpc_client.channel(address) as channel:
            stub = dispatch_pb2_grpc.DispatchServiceStub(channel)
            response = await _call(
                platform,
                stub.GetDelivery(
                    dispatch_pb2.GetDeliveryRequest(conversion_id=args.conversion_id),
                    metadata=metadata,
                ),
                many=not args.platform,
                not_found_ok=True,
            )
        if response is None:
            continue
        found = True
        if args.json:
            print(json_format.MessageToJson(response, indent=2))
            continue
        for d in response.deliveries:
            _print_delivery(platform, d)
    if not found:
        print(f"{args.conversion_id}: no delivery on any dispatcher asked", file=sys.stderr)
        return 1
    return 0


# --- stats -----------------------------------------------------------------------------------


def run_stats(args: argparse.Namespace) -> int:
    return asyncio.run(_stats(args))


async def _stats(args: argparse.Namespace) -> int:
    metadata = grpc_client.metadata([Scope.READ])
    request = dispatch_pb2.GetStatsRequest(window_seconds=args.window, site_id=args.site or "")
    for platform, address in _targets(args).items():
        async with grpc_client.channel(address) as channel:
            stub = dispatch_pb2_grpc.DispatchServiceStub(channel)
            response = await _call(platform, stub.GetStats(request, metadata=metadata), many=True)
        if response is None:
            continue
        if args.json:
            print(json_format.MessageToJson(response, indent=2))
        else:
            _print_stats(platform, response)
    return 0


def _print_stats(platform: str, s: dispatch_pb2.GetStatsResponse) -> None:
    print(
        f"{platform}: {s.events_per_second:.1f} events/s over {s.window_seconds} s, success"
        f" {s.success_rate:.0%}, backlog {s.backlog}, dead letters {s.dead_letter_depth}"
    )
    if s.deliveries_received:
        coverage = ", ".join(
            f"{m.key} {m.share:.0%}" for m in sorted(s.match_key_coverage, key=lambda m: m.key)
        )
        print(
            f"  match keys of {s.deliveries_received} deliveries: {coverage};"
            f" estimated match quality {s.match_quality:.1f}/10"
        )
    if s.request_states or s.requests_awaiting_status:
        states = ", ".join(f"{k} {v}" for k, v in sorted(s.request_states.items()))
        errors = ", ".join(f"{k} {v}" for k, v in sorted(s.platform_error_counts.items()))
        print(
            f"  platform reports: {states or 'none final'};"
            f" awaiting {s.requests_awaiting_status}" + (f"; errors: {errors}" if errors else "")
        )


def _print_delivery(platform: str, d: dispatch_pb2.Delivery) -> None:
    state = d.state
    status = common_pb2.DeliveryStatus.Name(state.status).removeprefix("DELIVERY_STATUS_")
    print(
        f"{platform} {state.destination.account_id}  {status}  attempts {state.attempts}"
        f"  event_id {d.event_id}  batch {state.batch_id}"
    )
    if state.last_error:
        print(f"  last error: {state.platform_code} {state.last_error}")
    for a in d.history:
        outcome = common_pb2.DeliveryStatus.Name(a.outcome).removeprefix("DELIVERY_STATUS_")
        at = a.started_at.ToDatetime(UTC).isoformat(timespec="seconds")
        error = f"  {a.platform_code} {a.error_message}".rstrip() if a.platform_code else ""
        print(
            f"  #{a.number} {at}  HTTP {a.http_status or '-'}  {a.latency_ms} ms  {outcome}{error}"
        )


async def _call(platform: str, call: Any, *, many: bool, not_found_ok: bool = False) -> Any:
    """The answer; None when asking several dispatchers and this one is away (or has nothing)."""
    try:
        return await call
    except grpc.aio.AioRpcError as exc:
        if not_found_ok and exc.code() == grpc.StatusCode.NOT_FOUND:
            return None
        if many and exc.code() in (grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.DEADLINE_EXCEEDED):
            print(f"# {platform}: unreachable", file=sys.stderr)
            return None
        raise
