"""`convhub dlq list|replay`, `convhub delivery <conversion_id>`, `convhub stats`: the
dispatchers' operator API.

Without --platform a command asks every dispatcher with a known address; one that cannot be
reached is reported and makes the command fail (exit 1) after the others' answers are shown.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Awaitable, Callable
from datetime import UTC
from typing import TypeVar

import grpc

from convhub.common.v1 import common_pb2
from convhub.dispatch.v1 import dispatch_pb2, dispatch_pb2_grpc
from convhub_cli import grpc_client, stackfile
from convhub_cli.main import (
    CliError,
    Failed,
    Progress,
    add_json,
    add_token,
    iso_time,
    non_negative_int,
    positive_int,
    print_json,
    show_help,
    to_data,
)
from hubkit.auth import Scope
from hubkit.grpcx import Metadata

# Which service serves DispatchService for each destination (sGTM's dispatcher runs in the router).
DISPATCHERS = {
    "google": "dispatch-google",
    "meta": "dispatch-meta",
    "sgtm": "router",
    "tiktok": "dispatch-tiktok",
}
ERROR_CLASSES = ["throttle", "transient", "auth", "bad_input", "too_old", "config", "unknown"]
T = TypeVar("T")
Stub = dispatch_pb2_grpc.DispatchServiceStub


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    dlq = sub.add_parser("dlq", help="list or replay a dispatcher's dead letters")
    dlq.set_defaults(func=show_help(dlq))
    actions = dlq.add_subparsers(dest="action", metavar="ACTION")

    listing = actions.add_parser("list", help="dead letters, newest first")
    _platform(listing, required=False)
    _filters(listing)
    listing.add_argument(
        "--limit", type=positive_int, default=100, help="at most this many (default 100)"
    )
    listing.set_defaults(func=run_list)

    replay = actions.add_parser("replay", help="put dead letters back to pending")
    _platform(replay, required=True)
    replay.add_argument("--id", action="append", default=[], help="a dead letter id (repeat)")
    _filters(replay)
    replay.add_argument("--all", action="store_true", help="replay every dead letter matching")
    replay.add_argument(
        "--limit",
        type=non_negative_int,
        default=0,
        help="replay at most this many, oldest first (default 0: all)",
    )
    replay.add_argument("--dry-run", action="store_true", help="count, change nothing")
    replay.set_defaults(func=run_replay)

    delivery = sub.add_parser("delivery", help="a conversion's deliveries and attempt history")
    delivery.add_argument("conversion_id", help="the id `convhub send` printed")
    _platform(delivery, required=False)
    delivery.set_defaults(func=run_delivery)

    stats = sub.add_parser(
        "stats", help="dispatchers' live figures: rates, backlog, match keys, platform reports"
    )
    _platform(stats, required=False)
    stats.add_argument("--site", help="one site's figures (default: all sites)")
    stats.add_argument(
        "--window", type=non_negative_int, default=0, help="seconds of rates (default 0: 60)"
    )
    stats.set_defaults(func=run_stats)


def _platform(parser: argparse.ArgumentParser, *, required: bool) -> None:
    parser.add_argument(
        "--platform",
        choices=sorted(DISPATCHERS),
        required=required,
        help="which dispatcher" + ("" if required else " (default: every one that runs)"),
    )
    parser.add_argument(
        "--target",
        metavar="HOST:PORT",
        help="the dispatcher's address (with --platform; default: $CONVHUB_DISPATCH_<X>_ADDR"
        " or the local stack's)",
    )
    add_token(parser)
    add_json(parser)


def _filters(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--site", help="only this site's")
    parser.add_argument("--account", help="only this platform account's (pixel id, customer id)")
    parser.add_argument("--error-class", choices=ERROR_CLASSES, help="only this kind of failure")
    parser.add_argument(
        "--since", type=iso_time, help="dead-lettered at or after this time (ISO 8601)"
    )
    parser.add_argument("--until", type=iso_time, help="dead-lettered before this time (ISO 8601)")
    parser.add_argument(
        "--include-replayed", action="store_true", help="also those already replayed"
    )


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
        f.time_range.start.FromDatetime(args.since)
    if args.until:
        f.time_range.end.FromDatetime(args.until)
    return f


def _targets(args: argparse.Namespace) -> dict[str, grpc_client.Endpoint]:
    """platform -> endpoint: the one asked for, else every dispatcher with a known address."""
    if args.platform:
        return {args.platform: grpc_client.endpoint(DISPATCHERS[args.platform], args.target)}
    if args.target:
        raise CliError("--target needs --platform")
    found = {
        platform: grpc_client.endpoint(name)
        for platform, name in DISPATCHERS.items()
        if stackfile.find_service(name) is not None
    }
    if not found:
        raise CliError(
            "no dispatcher address: pass --platform/--target, set CONVHUB_DISPATCH_<X>_ADDR"
            f" or start `make run` ({stackfile.where_looked()})"
        )
    return found


async def _ask_each(
    args: argparse.Namespace, scope: Scope, call: Callable[[Stub, Metadata], Awaitable[T]]
) -> tuple[dict[str, T], list[str]]:
    """platform -> answer of every dispatcher asked, and those that could not be reached.

    With --platform, an unreachable dispatcher fails the command at once; without, the others'
    answers are still shown before `_fail_if_any` reports the missing ones.
    """
    targets = _targets(args)
    metadata = grpc_client.metadata(args.token, [scope])
    answers: dict[str, T] = {}
    unreachable: list[str] = []
    for platform, dispatcher in targets.items():
        try:
            async with grpc_client.connect(dispatcher) as channel:
                answers[platform] = await call(Stub(channel), metadata)
        except grpc_client.RpcFailed as failure:
            if args.platform or not failure.unreachable:
                raise
            unreachable.append(str(failure))
    return answers, unreachable


def _fail_if_any(unreachable: list[str]) -> int:
    if unreachable:
        raise Failed("; ".join(unreachable))
    return 0


# --- dlq list ------------------------------------------------------------------------------


def run_list(args: argparse.Namespace) -> int:
    request = dispatch_pb2.ListDeadLettersRequest(
        filter=_dead_letter_filter(args), page_size=min(args.limit, 1000)
    )
    answers, unreachable = asyncio.run(
        _ask_each(args, Scope.READ, lambda stub, md: stub.ListDeadLetters(request, metadata=md))
    )
    if args.json:
        print_json({platform: to_data(answer) for platform, answer in answers.items()})
        return _fail_if_any(unreachable)
    rows = [(platform, d) for platform, answer in answers.items() for d in answer.dead_letters]
    for platform, answer in answers.items():
        if answer.total_count > len(answer.dead_letters):
            shown, total = len(answer.dead_letters), answer.total_count
            print(f"# {platform}: showing {shown} of {total}", file=sys.stderr)
    if rows:
        _print_dead_letters(rows)
    elif answers:
        print(f"no dead letters ({', '.join(answers)})")
    return _fail_if_any(unreachable)


def _print_dead_letters(rows: list[tuple[str, dispatch_pb2.DeadLetter]]) -> None:
    print("PLATFORM  DEAD_LETTER_ID                    SITE          CONVERSION  ATT  REASON")
    for platform, d in rows:
        replayed = "  (replayed)" if d.HasField("replayed_at") else ""
        print(
            f"{platform:<9} {d.dead_letter_id:<33} {d.site_id:<13} {d.conversion_id:<11} "
            f"{d.attempts:>3}  {d.reason}{replayed}"
        )


# --- dlq replay ----------------------------------------------------------------------------


def run_replay(args: argparse.Namespace) -> int:
    has_filter = any(
        (args.site, args.account, args.error_class, args.since, args.until, args.include_replayed)
    )
    if args.id and (has_filter or args.all):
        raise CliError("give either --id or filters, not both")
    if not args.id and not (has_filter or args.all):
        raise CliError(
            "say what to replay: --id ..., filters (--site, --error-class, ...) or --all"
        )
    request = dispatch_pb2.ReplayDeadLettersRequest(dry_run=args.dry_run, limit=args.limit)
    if args.id:
        request.ids.ids.extend(args.id)
    else:
        request.filter.CopyFrom(_dead_letter_filter(args))
    return asyncio.run(_replay(args, request))


async def _replay(args: argparse.Namespace, request: dispatch_pb2.ReplayDeadLettersRequest) -> int:
    ((platform, dispatcher),) = _targets(args).items()
    metadata = grpc_client.metadata(args.token, [Scope.ADMIN])
    with Progress() as progress:
        async with grpc_client.connect(dispatcher) as channel:
            call = asyncio.ensure_future(
                Stub(channel).ReplayDeadLetters(request, metadata=metadata)
            )
            # The dispatcher replays in one transaction and answers with the count once done:
            # until then, the time it takes is all there is to show.
            while not call.done():
                progress.show(f"replaying on {platform} ... {progress.elapsed()}")
                await asyncio.wait([call], timeout=0.5)
            response = call.result()
    if args.json:
        print_json({platform: to_data(response)})
    elif args.dry_run:
        print(f"{platform}: matched {response.matched} (dry run: nothing replayed)")
    else:
        print(f"{platform}: matched {response.matched}, replayed {response.replayed}")
    if response.not_found_ids:
        raise Failed(f"{platform}: no dead letter {', '.join(response.not_found_ids)}")
    return 0


# --- delivery ------------------------------------------------------------------------------


def run_delivery(args: argparse.Namespace) -> int:
    request = dispatch_pb2.GetDeliveryRequest(conversion_id=args.conversion_id)

    async def get(stub: Stub, md: Metadata) -> dispatch_pb2.GetDeliveryResponse | None:
        try:
            answer: dispatch_pb2.GetDeliveryResponse = await stub.GetDelivery(request, metadata=md)
            return answer
        except grpc.aio.AioRpcError as exc:
            if exc.code() == grpc.StatusCode.NOT_FOUND:
                return None  # not this dispatcher's
            raise

    answers, unreachable = asyncio.run(_ask_each(args, Scope.READ, get))
    found = {platform: answer for platform, answer in answers.items() if answer is not None}
    if args.json:
        print_json({platform: to_data(answer) for platform, answer in found.items()})
    else:
        for platform, answer in found.items():
            for d in answer.deliveries:
                _print_delivery(platform, d)
    _fail_if_any(unreachable)
    if not found:
        raise Failed(f"{args.conversion_id}: no delivery on {', '.join(answers) or 'any'}")
    return 0


# --- stats -----------------------------------------------------------------------------------


def run_stats(args: argparse.Namespace) -> int:
    request = dispatch_pb2.GetStatsRequest(window_seconds=args.window, site_id=args.site or "")
    answers, unreachable = asyncio.run(
        _ask_each(args, Scope.READ, lambda stub, md: stub.GetStats(request, metadata=md))
    )
    if args.json:
        print_json({platform: to_data(answer) for platform, answer in answers.items()})
    else:
        for platform, answer in answers.items():
            _print_stats(platform, answer)
    return _fail_if_any(unreachable)


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
