"""`convhub sources`: where each site's conversions come from besides the API (Shopify,
WooCommerce and HubSpot webhooks, HubSpot's pull sync), and `convhub sources sync hubspot`,
which pulls the won deals HubSpot's webhooks missed (ingest's ListSources and SyncSource)."""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Sequence
from datetime import UTC, datetime

import grpc
from google.protobuf.timestamp_pb2 import Timestamp

from convhub.common.v1 import common_pb2
from convhub.ingest.v1 import ingest_pb2, ingest_pb2_grpc
from convhub_cli import grpc_client
from convhub_cli.main import (
    Failed,
    Progress,
    add_json,
    add_token,
    non_negative_int,
    print_json,
    to_data,
)
from hubkit.auth import Scope
from hubkit.grpcx import Metadata

HUBSPOT = common_pb2.CONVERSION_SOURCE_HUBSPOT
MAX_BACKFILL_DAYS = 90  # what ingest accepts
LIST_HEADER = (
    "SITE",
    "SOURCE",
    "CONFIGURED",
    "LAST WEBHOOK",
    "ACCEPTED",
    "DUPLICATE",
    "IGNORED",
    "REJECTED",
    "REFUSED",
    "PENDING",
    "WATERMARK",
    "LAST SYNC",
)
SYNC_HEADER = ("SITE", "DEALS READ", "ACCEPTED", "DUPLICATES", "REJECTED", "PAGES", "WATERMARK")
# Right-aligned columns (counts).
_NUMERIC = frozenset(
    {
        "ACCEPTED",
        "DUPLICATE",
        "IGNORED",
        "REJECTED",
        "REFUSED",
        "PENDING",
        "DEALS READ",
        "DUPLICATES",
        "PAGES",
    }
)


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser(
        "sources",
        help="Shopify, WooCommerce and HubSpot sources per site: webhooks, pending, last sync",
        description="Each site's conversion sources: whether the site configures it, its last"
        " webhook, its webhooks of the last 7 days by outcome (accepted, duplicate, ignored:"
        " not a conversion, rejected: unusable, refused: bad signature or wrong account),"
        " HubSpot events waiting for their deal, and HubSpot's last pull sync and watermark.",
    )
    p.add_argument("--site", help="one site's sources (default: every site the token covers)")
    _service_flags(p)
    p.set_defaults(func=run_list)
    actions = p.add_subparsers(dest="sources_command", metavar="ACTION")
    sync = actions.add_parser(
        "sync",
        help="pull what a source's webhooks missed (HubSpot: won deals changed since the last"
        " sync)",
        description="Read the won deals changed since each site's watermark from HubSpot's CRM"
        " API and ingest them (a deal already reported is not stored twice). Without --site,"
        " every site whose HubSpot source is configured. Exit 1 when any site's sync failed.",
    )
    sync.add_argument(
        "source", choices=["hubspot"], help="the source to sync (only HubSpot has a pull sync)"
    )
    sync.add_argument(
        "--site", help="sync this site only (default: every site with HubSpot configured)"
    )
    sync.add_argument(
        "--backfill-days",
        type=backfill_days,
        default=0,
        metavar="N",
        help=f"also re-read N days before the watermark, 0 to {MAX_BACKFILL_DAYS} (default 0):"
        " deals whose stage changed late",
    )
    _service_flags(sync)
    # Given before `sync` or after it, a shared flag counts: unset after, it keeps the group's.
    for action in sync._actions:
        if action.dest in ("site", "target", "token", "json"):
            action.default = argparse.SUPPRESS
    sync.set_defaults(func=run_sync)


def _service_flags(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--target",
        metavar="HOST:PORT",
        help="ingest address (default: $CONVHUB_INGEST_ADDR or the local stack's)",
    )
    add_token(parser)
    add_json(parser)


def backfill_days(text: str) -> int:
    days = non_negative_int(text)
    if days > MAX_BACKFILL_DAYS:
        raise argparse.ArgumentTypeError(f"expected 0 to {MAX_BACKFILL_DAYS} days, got {text!r}")
    return days


# --- convhub sources -----------------------------------------------------------------------------


def run_list(args: argparse.Namespace) -> int:
    ingest = grpc_client.endpoint("ingest", args.target)
    metadata = grpc_client.metadata(args.token, [Scope.READ])
    answer = asyncio.run(_list_sources(ingest, metadata, args.site or ""))
    if args.json:
        print_json(answer)
    elif not answer.sources:
        where = f"site {args.site} has" if args.site else "no site has"
        print(f"no sources: {where} none configured and no webhooks received")
    else:
        print_table(LIST_HEADER, source_rows(answer.sources, datetime.now(UTC)))
    return 0


async def _list_sources(
    ingest: grpc_client.Endpoint, metadata: Metadata, site_id: str
) -> ingest_pb2.ListSourcesResponse:
    async with grpc_client.connect(ingest) as channel:
        answer: ingest_pb2.ListSourcesResponse = await ingest_pb2_grpc.IngestServiceStub(
            channel
        ).ListSources(ingest_pb2.ListSourcesRequest(site_id=site_id), metadata=metadata)
    return answer


def source_rows(sources: Sequence[ingest_pb2.SiteSource], now: datetime) -> list[list[str]]:
    rows = []
    for s in sources:
        hubspot = s.source == HUBSPOT
        if not hubspot:
            last_sync = "-"
        elif s.HasField("last_sync_at"):
            last_sync = f"{age(_time(s.last_sync_at), now)}, {s.last_sync_outcome}".rstrip(", ")
        else:
            last_sync = "never"
        rows.append(
            [
                s.site_id,
                source_name(s.source),
                "yes" if s.configured else "no",
                age(_time(s.last_webhook_at), now) if s.HasField("last_webhook_at") else "never",
                str(s.webhooks_accepted),
                str(s.webhooks_duplicate),
                str(s.webhooks_ignored),
                str(s.webhooks_rejected),
                str(s.webhooks_refused),
                str(s.pending) if hubspot else "-",
                iso(s.sync_watermark) if s.HasField("sync_watermark") else "-",
                last_sync,
            ]
        )
    return rows


# --- convhub sources sync hubspot --------------------------------------------------------------


def run_sync(args: argparse.Namespace) -> int:
    ingest = grpc_client.endpoint("ingest", args.target)
    metadata = grpc_client.metadata(args.token, [Scope.ADMIN])
    return asyncio.run(_sync(args, ingest, metadata))


async def _sync(args: argparse.Namespace, ingest: grpc_client.Endpoint, md: Metadata) -> int:
    done: list[tuple[str, ingest_pb2.SyncSourceResponse]] = []
    failed: list[tuple[str, grpc_client.RpcFailed]] = []
    with Progress() as progress:
        async with grpc_client.connect(ingest) as channel:
            stub = ingest_pb2_grpc.IngestServiceStub(channel)
            if args.site:
                sites = [args.site]
            else:
                listed = await stub.ListSources(ingest_pb2.ListSourcesRequest(), metadata=md)
                sites = hubspot_sites(listed.sources)
            if not sites:
                print("convhub: note: no site has a HubSpot source configured", file=sys.stderr)
            width = max([len(SYNC_HEADER[0]), *(len(s) for s in sites)])
            for site in sites:
                request = ingest_pb2.SyncSourceRequest(
                    site_id=site, source=HUBSPOT, backfill_days=args.backfill_days
                )
                try:
                    answer = await _one_sync(stub, request, md, progress)
                except grpc.aio.AioRpcError as exc:
                    failure = grpc_client.rpc_failure(exc, ingest)
                    if failure.unreachable:
                        raise failure from exc
                    failed.append((site, failure))
                    continue
                if not args.json:
                    progress.clear()
                    if not done:
                        print(format_row(SYNC_HEADER, list(SYNC_HEADER), [width]))
                    print(format_row(SYNC_HEADER, sync_row(site, answer), [width]))
                done.append((site, answer))
    if args.json:
        print_json(
            {
                "syncs": [{"site_id": site, **to_data(answer)} for site, answer in done],
                "failed": [
                    {"site_id": site, "code": f.code.name, "message": _why(f)} for site, f in failed
                ],
            }
        )
    return _outcome(failed, len(sites), one_site=bool(args.site))


async def _one_sync(
    stub: ingest_pb2_grpc.IngestServiceStub,
    request: ingest_pb2.SyncSourceRequest,
    md: Metadata,
    progress: Progress,
) -> ingest_pb2.SyncSourceResponse:
    """One site's sync; it answers once done (HubSpot throttling it can take minutes): until
    then, the time it takes is all there is to show."""
    started = asyncio.get_running_loop().time()
    call = asyncio.ensure_future(stub.SyncSource(request, metadata=md))
    while not call.done():
        elapsed = asyncio.get_running_loop().time() - started
        progress.show(f"syncing {request.site_id} with HubSpot ... {elapsed:.0f} s")
        await asyncio.wait([call], timeout=0.5)
    answer: ingest_pb2.SyncSourceResponse = call.result()
    return answer


def hubspot_sites(sources: Sequence[ingest_pb2.SiteSource]) -> list[str]:
    """The sites whose HubSpot source is configured, each once, in order."""
    return list(dict.fromkeys(s.site_id for s in sources if s.source == HUBSPOT and s.configured))


def sync_row(site: str, answer: ingest_pb2.SyncSourceResponse) -> list[str]:
    return [
        site,
        str(answer.deals_read),
        str(answer.accepted),
        str(answer.duplicates),
        str(answer.rejected),
        str(answer.pages),
        iso(answer.watermark) if answer.HasField("watermark") else "-",
    ]


def _why(failure: grpc_client.RpcFailed) -> str:
    """The service's own words, without the "ingest: CODE: " the one-line error starts with."""
    return str(failure).split(": ", 2)[-1]


def _outcome(failed: list[tuple[str, grpc_client.RpcFailed]], asked: int, *, one_site: bool) -> int:
    if not failed:
        return 0
    if one_site:  # --site: the service's answer as every command reports one
        ((_, failure),) = failed
        raise failure
    lines = [f"{site}: {f.code.name}: {_why(f)}" for site, f in failed]
    raise Failed(f"HubSpot sync failed for {len(failed)} of {asked} sites", lines)


# --- formatting --------------------------------------------------------------------------------


def source_name(source: int) -> str:
    return common_pb2.ConversionSource.Name(source).removeprefix("CONVERSION_SOURCE_")


def _time(ts: Timestamp) -> datetime:
    return ts.ToDatetime(UTC)


def iso(ts: Timestamp) -> str:
    return _time(ts).isoformat(timespec="seconds").replace("+00:00", "Z")


def age(at: datetime, now: datetime) -> str:
    """How long ago, in the largest unit that fits: "12 s ago", "5 min ago", "3 h ago"."""
    seconds = (now - at).total_seconds()
    if seconds < 1:
        return "just now"  # or a clock a little ahead of ours
    for unit, size in (("d", 86400), ("h", 3600), ("min", 60)):
        if seconds >= size * (2 if unit == "d" else 1):
            return f"{int(seconds // size)} {unit} ago"
    return f"{int(seconds)} s ago"


def format_row(header: Sequence[str], cells: Sequence[str], widths: Sequence[int]) -> str:
    """Cells padded to `widths` (a missing width: the header's), counts right-aligned; the last
    cell is not padded."""
    out = []
    for i, (name, cell) in enumerate(zip(header, cells, strict=True)):
        width = widths[i] if i < len(widths) else len(name)
        if i == len(cells) - 1:
            out.append(cell.rjust(width) if name in _NUMERIC else cell)
        else:
            out.append(cell.rjust(width) if name in _NUMERIC else cell.ljust(width))
    return "  ".join(out).rstrip()


def print_table(header: Sequence[str], rows: list[list[str]]) -> None:
    widths = [max(len(h), *(len(r[i]) for r in rows)) for i, h in enumerate(header)]
    for cells in [list(header), *rows]:
        print(format_row(header, cells, widths))
