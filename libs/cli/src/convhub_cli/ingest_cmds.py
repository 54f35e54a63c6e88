"""`convhub send` (one conversion from flags, or a JSON-lines file) and `convhub status <id>`."""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import grpc
from google.protobuf import json_format

from convhub.common.v1 import common_pb2
from convhub.ingest.v1 import ingest_pb2, ingest_pb2_grpc
from convhub_cli import grpc_client
from convhub_cli.main import (
    CliError,
    Failed,
    Progress,
    add_json,
    add_token,
    iso_time,
    non_negative_float,
    print_json,
    to_data,
)
from hubkit.grpcx import Metadata

BATCH = 500
# After sending, this many accepted conversions are each checked for parking; beyond it, one per
# site and event type (what the router's parking decision depends on).
CHECK_EACH_UP_TO = 100
USER_FIELDS = {
    "email": "e-mail address",
    "phone": "phone number, E.164 or national (see the site's default country)",
    "first_name": "first name",
    "last_name": "last name",
    "city": "city",
    "zip": "postal code",
    "country": "ISO 3166-1 alpha-2 country",
    "external_id": "the shop's customer id",
    "client_ip": "the buyer's IP address",
    "user_agent": "the buyer's browser user agent",
}
Sent = tuple[ingest_pb2.Conversion, ingest_pb2.IngestResponse]


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    send = sub.add_parser(
        "send",
        help="ingest one conversion (flags) or a JSON-lines file",
        description="Ingest conversions, then wait for the router's decision and report the"
        " conversions it parks. Exit 1 when any is rejected or parked.",
    )
    send.add_argument(
        "--file",
        type=Path,
        help="JSON lines, one convhub.ingest.v1.Conversion (proto JSON) each, instead of the"
        " conversion flags",
    )
    one = send.add_argument_group("the conversion (without --file)")
    one.add_argument("--site", help="site id (required without --file)")
    one.add_argument(
        "--order-id", help="the shop's order or lead id, its dedupe key (required without --file)"
    )
    one.add_argument(
        "--event-type",
        default="purchase",
        help="lower snake case: purchase, lead, sign_up, ... (default purchase)",
    )
    one.add_argument("--value", default="", help="decimal value, e.g. 19.99 (with --currency)")
    one.add_argument("--currency", default="", help="ISO 4217 code, e.g. EUR")
    one.add_argument(
        "--event-time",
        type=iso_time,
        help="when it happened, ISO 8601 (default: now; without a zone: UTC)",
    )
    one.add_argument("--gclid", default="", help="Google Ads click id")
    one.add_argument("--fbclid", default="", help="Meta click id (the fbclid URL parameter)")
    one.add_argument("--ttclid", default="", help="TikTok click id")
    one.add_argument(
        "--visitor-id", default="", help="the site's visitor id (joins attribution touchpoints)"
    )
    one.add_argument("--page-url", default="", help="the page where it happened")
    one.add_argument(
        "--consent",
        choices=["granted", "denied", "unspecified"],
        default="granted",
        help="ad_user_data and ad_personalization consent (default granted)",
    )
    buyer = send.add_argument_group("the buyer (ingest keeps identifiers hashed only)")
    for name, description in USER_FIELDS.items():
        buyer.add_argument(f"--{name.replace('_', '-')}", default="", help=description)
    send.add_argument(
        "--wait",
        type=non_negative_float,
        default=5.0,
        metavar="SECONDS",
        help="wait up to this long for the router's decision, to report parked conversions"
        " (default 5; 0: do not wait)",
    )
    _service_flags(send)
    send.set_defaults(func=run_send)

    status = sub.add_parser(
        "status", help="a conversion: where the router sent it, and its deliveries"
    )
    status.add_argument("conversion_id", help="the id `convhub send` printed")
    _service_flags(status)
    status.set_defaults(func=run_status)


def _service_flags(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--target",
        metavar="HOST:PORT",
        help="ingest address (default: $CONVHUB_INGEST_ADDR or the local stack's)",
    )
    add_token(parser)
    add_json(parser)


# --- send --------------------------------------------------------------------------------------


def run_send(args: argparse.Namespace) -> int:
    if args.file and (args.site or args.order_id):
        raise CliError("give --file or --site/--order-id, not both")
    if args.file:
        conversions = _from_file(args.file)
    elif args.site and args.order_id:
        conversions = [_from_flags(args)]
    else:
        raise CliError("give --site and --order-id (or --file)")
    ingest = grpc_client.endpoint("ingest", args.target)
    return asyncio.run(_send(conversions, ingest, grpc_client.metadata(args.token), args))


def _from_flags(args: argparse.Namespace) -> ingest_pb2.Conversion:
    consent = getattr(common_pb2, f"CONSENT_STATUS_{args.consent.upper()}")
    c = ingest_pb2.Conversion(
        site_id=args.site,
        order_id=args.order_id,
        event_type=args.event_type,
        value=args.value,
        currency=args.currency,
        visitor_id=args.visitor_id,
        page_url=args.page_url,
        click_ids=common_pb2.ClickIds(gclid=args.gclid, fbclid=args.fbclid, ttclid=args.ttclid),
        user_data=ingest_pb2.UserData(**{n: getattr(args, n) for n in USER_FIELDS}),
        consent=common_pb2.Consent(ad_user_data=consent, ad_personalization=consent),
        source=common_pb2.CONVERSION_SOURCE_MANUAL,
    )
    c.event_time.FromDatetime(args.event_time or datetime.now(UTC))
    return c


def _from_file(path: Path) -> list[ingest_pb2.Conversion]:
    """Every conversion of the file, read before anything is sent: a bad line sends nothing."""
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError as exc:
        raise CliError(f"cannot read {path}: {exc.strerror}") from None
    except UnicodeDecodeError as exc:
        raise CliError(f"{path}: not UTF-8 text ({exc.reason})") from None
    conversions = []
    for number, line in enumerate(lines, 1):
        if line.strip():
            try:
                conversions.append(json_format.Parse(line, ingest_pb2.Conversion()))
            except json_format.ParseError as exc:
                raise CliError(f"{path}:{number}: {exc}") from None
    if not conversions:
        raise CliError(f"{path}: no conversions in it")
    return conversions


async def _send(
    conversions: list[ingest_pb2.Conversion],
    ingest: grpc_client.Endpoint,
    metadata: Metadata,
    args: argparse.Namespace,
) -> int:
    sent: list[Sent] = []
    with Progress() as progress:
        async with grpc_client.connect(ingest) as channel:
            stub = ingest_pb2_grpc.IngestServiceStub(channel)
            for start in range(0, len(conversions), BATCH):
                chunk = conversions[start : start + BATCH]
                response = await stub.IngestBatch(
                    ingest_pb2.IngestBatchRequest(conversions=chunk), metadata=metadata
                )
                batch = list(zip(chunk, response.results, strict=True))
                sent += batch
                if not args.json:
                    progress.clear()
                    for c, r in batch:
                        print(_line(c, r))
                progress.show(f"sent {len(sent)}/{len(conversions)}")
            accepted = [s for s in sent if s[1].status == ingest_pb2.INGEST_STATUS_ACCEPTED]
            checked = _worth_checking(accepted) if args.wait else []
            try:
                routing = await _await_routing(stub, metadata, checked, args.wait, progress)
            except grpc.aio.AioRpcError as exc:  # sent all the same: only the check is lost
                progress.clear()
                print(f"convhub: note: routing not checked: {exc.code().name}", file=sys.stderr)
                checked, routing = [], {}
    parked = [
        (c, r, route)
        for c, r in checked
        if (route := routing[r.conversion_id]) is not None and route.parked
    ]
    if args.json:
        print_json({"results": [_result_data(c, r, routing) for c, r in sent]})
    else:
        for c, r, route in parked:
            print(_parked_line(c, r, route))
    unrouted = [r.conversion_id for _, r in checked if routing[r.conversion_id] is None]
    if unrouted:
        print(
            f"convhub: note: {len(unrouted)} conversion(s) not routed within {args.wait:g} s"
            f" (is the router running?); `convhub status {unrouted[0]}` shows it later",
            file=sys.stderr,
        )
    return _outcome(sent, parked)


def _line(c: ingest_pb2.Conversion, r: ingest_pb2.IngestResponse) -> str:
    status = ingest_pb2.IngestStatus.Name(r.status).removeprefix("INGEST_STATUS_")
    detail = r.conversion_id or r.duplicate_of or _field_errors(r.errors)
    if r.warnings:
        detail += f"\twarnings: {_field_errors(r.warnings)}"
    return f"{c.site_id}/{c.order_id}\t{status}\t{detail}"


def _parked_line(
    c: ingest_pb2.Conversion, r: ingest_pb2.IngestResponse, route: ingest_pb2.ConversionRouting
) -> str:
    reason = common_pb2.ParkReason.Name(route.parked_reason).removeprefix("PARK_REASON_")
    return f"{c.site_id}/{c.order_id}\tPARKED\t{r.conversion_id}\t{reason}: {route.parked_detail}"


def _field_errors(errors: Any) -> str:
    return "; ".join(f"{e.field}: {e.message}" for e in errors)


def _worth_checking(accepted: list[Sent]) -> list[Sent]:
    if len(accepted) <= CHECK_EACH_UP_TO:
        return accepted
    first: dict[tuple[str, str], Sent] = {}
    for c, r in accepted:
        first.setdefault((c.site_id, c.event_type), (c, r))
    return list(first.values())


async def _await_routing(
    stub: ingest_pb2_grpc.IngestServiceStub,
    metadata: Metadata,
    checked: list[Sent],
    wait: float,
    progress: Progress,
) -> dict[str, ingest_pb2.ConversionRouting | None]:
    """conversion id -> the router's decision, None when none came within `wait` seconds."""
    decided: dict[str, ingest_pb2.ConversionRouting | None] = {
        r.conversion_id: None for _, r in checked
    }
    deadline = time.monotonic() + wait
    while True:
        pending = [i for i, route in decided.items() if route is None]
        if not pending or time.monotonic() >= deadline:
            return decided
        for conversion_id in pending:
            got = await stub.GetConversion(
                ingest_pb2.GetConversionRequest(conversion_id=conversion_id), metadata=metadata
            )
            if got.routing.routed:
                decided[conversion_id] = got.routing
        routed = sum(route is not None for route in decided.values())
        progress.show(f"waiting for the router: {routed}/{len(decided)} routed")
        await asyncio.sleep(0.2)


def _result_data(
    c: ingest_pb2.Conversion,
    r: ingest_pb2.IngestResponse,
    routing: dict[str, ingest_pb2.ConversionRouting | None],
) -> dict[str, Any]:
    data = {"site_id": c.site_id, "order_id": c.order_id, **to_data(r)}
    route = routing.get(r.conversion_id)
    if route is not None:
        data["routing"] = to_data(route)
    return data


def _outcome(
    sent: list[Sent],
    parked: list[tuple[ingest_pb2.Conversion, ingest_pb2.IngestResponse, Any]],
) -> int:
    rejected = sum(r.status == ingest_pb2.INGEST_STATUS_REJECTED for _, r in sent)
    problems = [f"{rejected} rejected"] if rejected else []
    if parked:
        sites = sorted({c.site_id for c, _, _ in parked})
        problems.append(
            f"{len(parked)} parked by the router (site {', '.join(sites)}; `convhub sites get"
            f" {sites[0]}` shows its configuration, `convhub sites upsert` sets it)"
        )
    if problems:
        raise Failed(f"of {len(sent)} conversion(s), " + " and ".join(problems))
    return 0


# --- status ------------------------------------------------------------------------------------


def run_status(args: argparse.Namespace) -> int:
    ingest = grpc_client.endpoint("ingest", args.target)
    return asyncio.run(_status(args, ingest, grpc_client.metadata(args.token)))


async def _status(args: argparse.Namespace, ingest: grpc_client.Endpoint, md: Metadata) -> int:
    async with grpc_client.connect(ingest) as channel:
        response = await ingest_pb2_grpc.IngestServiceStub(channel).GetConversion(
            ingest_pb2.GetConversionRequest(conversion_id=args.conversion_id), metadata=md
        )
    if args.json:
        print_json(response)
    else:
        _print_status(response)
    return 0


def _print_status(got: ingest_pb2.GetConversionResponse) -> None:
    c, routing = got.conversion, got.routing
    value = f" {c.value} {c.currency}" if c.value else ""
    at = c.event_time.ToDatetime(UTC).isoformat(timespec="seconds")
    print(f"conversion  {c.conversion_id}  {c.site_id}/{c.order_id}  {c.event_type}{value}  {at}")
    for s in got.sources:  # who reported it: the first, then each later duplicate report
        name = common_pb2.ConversionSource.Name(s.source).removeprefix("CONVERSION_SOURCE_")
        first = s.first_reported_at.ToDatetime(UTC).isoformat(timespec="seconds")
        ref = f" {s.reference}" if s.reference else ""
        print(f"source      {name}{ref}  first reported {first}, {s.reports} report(s)")
    if not routing.routed:
        print("routing     not routed yet")
    elif routing.parked:
        reason = common_pb2.ParkReason.Name(routing.parked_reason).removeprefix("PARK_REASON_")
        print(f"routing     PARKED {reason}: {routing.parked_detail}")
    else:
        mode = common_pb2.AttributionMode.Name(routing.mode).removeprefix("ATTRIBUTION_MODE_")
        to = ", ".join(_destination(d) for d in routing.destinations) or "nowhere"
        print(f"routing     {mode} -> {to} (site revision {routing.config_revision})")
    for d in got.deliveries:
        status = common_pb2.DeliveryStatus.Name(d.status).removeprefix("DELIVERY_STATUS_")
        error = f"  last error: {d.platform_code} {d.last_error}".rstrip() if d.last_error else ""
        print(f"delivery    {_destination(d.destination)}  {status}  attempts {d.attempts}{error}")


def _destination(d: common_pb2.Destination) -> str:
    platform = common_pb2.Platform.Name(d.platform).removeprefix("PLATFORM_").lower()
    return f"{platform} {d.account_id}".rstrip()
