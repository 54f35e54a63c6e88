"""`convhub send` (one conversion from flags, or a JSON-lines file) and `convhub status <id>`."""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

from google.protobuf import json_format

from convhub.common.v1 import common_pb2
from convhub.ingest.v1 import ingest_pb2, ingest_pb2_grpc
from convhub_cli import grpc_client

BATCH = 500
USER_FIELDS = (
    "email",
    "phone",
    "first_name",
    "last_name",
    "city",
    "zip",
    "country",
    "external_id",
    "client_ip",
    "user_agent",
)


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    send = sub.add_parser("send", help="ingest one conversion (flags) or a JSON-lines file")
    send.add_argument("--file", type=Path, help="JSON lines, one convhub.ingest.v1.Conversion each")
    send.add_argument("--site")
    send.add_argument("--order-id")
    send.add_argument("--event-type", default="purchase")
    send.add_argument("--value", default="")
    send.add_argument("--currency", default="")
    send.add_argument("--event-time", help="ISO 8601; default: now")
    send.add_argument("--gclid", default="")
    send.add_argument("--fbclid", default="")
    send.add_argument("--ttclid", default="")
    send.add_argument("--visitor-id", default="")
    send.add_argument("--page-url", default="")
    send.add_argument(
        "--consent",
        choices=["granted", "denied", "unspecified"],
        default="granted",
        help="ad_user_data and ad_personalization",
    )
    for name in USER_FIELDS:
        send.add_argument(f"--{name.replace('_', '-')}", default="")
    send.add_argument("--target", help="ingest address (default: the local stack's)")
    send.set_defaults(func=run_send)

    status = sub.add_parser("status", help="a conversion, its routing and delivery status")
    status.add_argument("conversion_id")
    status.add_argument("--target", help="ingest address (default: the local stack's)")
    status.set_defaults(func=run_status)


def run_send(args: argparse.Namespace) -> int:
    from convhub_cli.main import CliError

    if args.file:
        conversions = list(_from_file(args.file))
    elif args.site and args.order_id:
        conversions = [_from_flags(args)]
    else:
        raise CliError("give --file, or at least --site and --order-id")
    return asyncio.run(_send(conversions, grpc_client.target("ingest", args.target)))


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
    when = datetime.fromisoformat(args.event_time) if args.event_time else datetime.now(UTC)
    c.event_time.FromDatetime(when if when.tzinfo else when.replace(tzinfo=UTC))
    return c


def _from_file(path: Path) -> Iterator[ingest_pb2.Conversion]:
    from convhub_cli.main import CliError

    with path.open() as lines:
        for number, line in enumerate(lines, 1):
            if not line.strip():
                continue
            try:
                yield json_format.ParseDict(json.loads(line), ingest_pb2.Conversion())
            except (ValueError, json_format.ParseError) as exc:
                raise CliError(f"{path}:{number}: {exc}") from None


async def _send(conversions: list[ingest_pb2.Conversion], address: str) -> int:
    rejected = 0
    async with grpc_client.channel(address) as channel:
        stub = ingest_pb2_grpc.IngestServiceStub(channel)
        for start in range(0, len(conversions), BATCH):
            chunk = conversions[start : start + BATCH]
            response = await stub.IngestBatch(
                ingest_pb2.IngestBatchRequest(conversions=chunk), metadata=grpc_client.metadata()
            )
            for c, r in zip(chunk, response.results, strict=True):
                status = ingest_pb2.IngestStatus.Name(r.status).removeprefix("INGEST_STATUS_")
                detail = (
                    r.conversion_id
                    or r.duplicate_of
                    or "; ".join(f"{e.field}: {e.message}" for e in r.errors)
                )
                print(f"{c.site_id}/{c.order_id}\t{status}\t{detail}")
                rejected += r.status == ingest_pb2.INGEST_STATUS_REJECTED
    return 1 if rejected else 0


def run_status(args: argparse.Namespace) -> int:
    return asyncio.run(_status(args.conversion_id, grpc_client.target("ingest", args.target)))


async def _status(conversion_id: str, address: str) -> int:
    async with grpc_client.channel(address) as channel:
        stub = ingest_pb2_grpc.IngestServiceStub(channel)
        response = await stub.GetConversion(
            ingest_pb2.GetConversionRequest(conversion_id=conversion_id),
            metadata=grpc_client.metadata(),
        )
    print(json_format.MessageToJson(response, indent=2), file=sys.stdout)
    return 0
