"""Outgoing NATS messages of a dispatcher: DeliveryUpdated and DeadLettered, batched per site."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from datetime import datetime
from typing import Any

from google.protobuf.message import Message
from google.protobuf.timestamp_pb2 import Timestamp

from convhub.common.v1 import common_pb2
from convhub.events.v1 import events_pb2
from hubkit import naming
from hubkit.bus.chunking import MAX_MESSAGE_BYTES, MAX_MESSAGE_ITEMS, chunks
from hubkit.bus.publisher import Outgoing
from hubkit.dispatch.model import Platform, Status
from hubkit.dispatch.records import Change
from hubkit.vocabulary import error_class_pb, platform_pb, status_pb


def delivery_subject(platform: Platform, site_id: str) -> str:
    return f"convhub.delivery.{platform.value}.{site_id}"


def deadletter_subject(platform: Platform, site_id: str) -> str:
    return f"convhub.deadletter.{platform.value}.{site_id}"


def dispatch_subject(platform: Platform, site_id: str) -> str:
    return f"convhub.dispatch.{platform.value}.{site_id}"


def timestamp(at: datetime) -> Timestamp:
    ts = Timestamp()
    ts.FromDatetime(at)
    return ts


def _destination(platform: Platform, account_id: str) -> common_pb2.Destination:
    return common_pb2.Destination(platform=platform_pb(platform), account_id=account_id)


def _trace(request: Any) -> common_pb2.TraceContext:
    trace = common_pb2.TraceContext()
    if request is not None and request.HasField("trace"):
        trace.CopyFrom(request.trace)
    return trace


def delivery_updates(
    platform: Platform, changes: Sequence[Change], *, now: datetime, excerpt: str = ""
) -> list[Outgoing]:
    """One DeliveryUpdatedBatch per site (split to stay small) announcing `changes`.

    Runs for every event a dispatcher settles, so each item is built in place (`items.add`)
    from a template of what the items of an account share (destination, time, excerpt, an
    empty trace), then its own fields."""
    platform_value = platform_pb(platform)
    occurred_at = timestamp(now)
    excerpt = excerpt[:1024]
    templates: dict[str, events_pb2.DeliveryUpdated] = {}
    statuses: dict[Status, common_pb2.DeliveryStatus] = {}
    batches: dict[str, list[events_pb2.DeliveryUpdatedBatch]] = {}
    sizes: dict[str, int] = {}
    for c in changes:
        site = c.site_id
        runs = batches.get(site)
        if runs is None:
            runs = batches[site] = [
                events_pb2.DeliveryUpdatedBatch(site_id=site, platform=platform_value)
            ]
            sizes[site] = 0
        template = templates.get(c.account_id)
        if template is None:
            template = templates[c.account_id] = events_pb2.DeliveryUpdated(
                trace=_NO_TRACE,  # always present, empty when the request carried none
                destination=_destination(platform, c.account_id),
                platform_response_excerpt=excerpt,
                occurred_at=occurred_at,
            )
        status = statuses.get(c.status)
        if status is None:
            status = statuses[c.status] = status_pb(c.status)
        current = runs[-1]
        item = current.items.add()
        item.MergeFrom(template)
        item.delivery_id = c.delivery_id
        item.conversion_id = c.conversion_id
        item.status = status
        item.attempts = c.attempts
        item.batch_id = c.batch_id
        item.sequence = c.sequence
        request = c.request
        if request is not None and request.HasField("trace"):
            item.trace.CopyFrom(request.trace)
        error = c.error
        if error is not None:
            item.last_error = error.message
            item.error_class = error_class_pb(error.error_class)
            item.platform_code = error.code
        # Cut as chunking.chunks() cuts: at most MAX_MESSAGE_ITEMS and about MAX_MESSAGE_BYTES.
        size = item.ByteSize() + 8
        count = len(current.items)
        if count > 1 and (sizes[site] + size > MAX_MESSAGE_BYTES or count > MAX_MESSAGE_ITEMS):
            moved = events_pb2.DeliveryUpdated()
            moved.CopyFrom(item)
            del current.items[-1]
            runs.append(
                events_pb2.DeliveryUpdatedBatch(
                    site_id=site, platform=platform_value, items=[moved]
                )
            )
            sizes[site] = size
        else:
            sizes[site] += size
    return [
        _outgoing(delivery_subject(platform, site), batch)
        for site, runs in batches.items()
        for batch in runs
    ]


_NO_TRACE = common_pb2.TraceContext()


def dead_letters(platform: Platform, changes: Sequence[Change], *, now: datetime) -> list[Outgoing]:
    """One DeadLetteredBatch per site for the changes that dead-lettered an event."""

    def item(c: Change) -> events_pb2.DeadLettered:
        error = c.error
        return events_pb2.DeadLettered(
            dead_letter_id=c.dead_letter_id,
            delivery_id=c.delivery_id,
            conversion_id=c.conversion_id,
            trace=_trace(c.request),
            destination=_destination(platform, c.account_id),
            reason=c.reason,
            error_class=error_class_pb(error.error_class if error else None),
            platform_code=error.code if error else "",
            last_error=error.message if error else "",
            attempts=c.attempts,
            batch_id=c.batch_id,
            dead_lettered_at=timestamp(now),
            request=c.request,
        )

    def batch(site: str, items: list[Any]) -> Message:
        return events_pb2.DeadLetteredBatch(
            site_id=site, platform=platform_pb(platform), items=items
        )

    dead = [c for c in changes if c.dead_letter_id]
    return _per_site(dead, item, batch, lambda site: deadletter_subject(platform, site))


def _per_site(
    changes: Iterable[Change],
    make_item: Callable[[Change], Message],
    make_batch: Callable[[str, list[Any]], Message],
    subject: Callable[[str], str],
) -> list[Outgoing]:
    by_site: dict[str, list[Message]] = defaultdict(list)
    for c in changes:
        by_site[c.site_id].append(make_item(c))
    return [
        _outgoing(subject(site), make_batch(site, chunk))
        for site, items in by_site.items()
        for chunk in chunks(items)
    ]


def _outgoing(subject: str, payload: Message) -> Outgoing:
    # Item ids: a delivery's change is (delivery_id, sequence); a dead letter has its own id.
    if isinstance(payload, events_pb2.DeadLetteredBatch):
        ids = [i.dead_letter_id for i in payload.items]
    else:
        assert isinstance(payload, events_pb2.DeliveryUpdatedBatch)
        ids = [f"{i.delivery_id}#{i.sequence}" for i in payload.items]
    return Outgoing(subject, payload, naming.message_id(subject, ids))
