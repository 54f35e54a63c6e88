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
from hubkit.dispatch.model import Platform
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

    Built in place (`items.add`) with the parts every item shares made once: this runs for
    every event a dispatcher settles."""
    platform_value = platform_pb(platform)
    occurred_at = timestamp(now)
    excerpt = excerpt[:1024]
    destinations: dict[str, common_pb2.Destination] = {}
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
        destination = destinations.get(c.account_id)
        if destination is None:
            destination = destinations[c.account_id] = _destination(platform, c.account_id)
        request = c.request
        current = runs[-1]
        item = current.items.add(
            delivery_id=c.delivery_id,
            conversion_id=c.conversion_id,
            trace=request.trace if request is not None else _NO_TRACE,
            destination=destination,
            status=status_pb(c.status),
            attempts=c.attempts,
            batch_id=c.batch_id,
            platform_response_excerpt=excerpt,
            occurred_at=occurred_at,
            sequence=c.sequence,
        )
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
