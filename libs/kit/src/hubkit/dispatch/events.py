"""Outgoing NATS messages of a dispatcher: DeliveryUpdated and DeadLettered, batched per site."""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from datetime import datetime
from typing import Any

from google.protobuf.message import Message
from google.protobuf.timestamp_pb2 import Timestamp

from convhub.common.v1 import common_pb2
from convhub.events.v1 import events_pb2
from hubkit.bus.chunking import chunks
from hubkit.bus.publisher import Outgoing
from hubkit.dispatch.model import Platform
from hubkit.dispatch.protomap import error_class_pb, platform_pb, status_pb
from hubkit.dispatch.records import Change


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
    """One DeliveryUpdatedBatch per site (split to stay small) announcing `changes`."""

    def item(c: Change) -> events_pb2.DeliveryUpdated:
        error = c.error
        return events_pb2.DeliveryUpdated(
            delivery_id=c.delivery_id,
            conversion_id=c.conversion_id,
            trace=_trace(c.request),
            destination=_destination(platform, c.account_id),
            status=status_pb(c.status),
            attempts=c.attempts,
            last_error=error.message if error else "",
            error_class=error_class_pb(error.error_class if error else None),
            platform_code=error.code if error else "",
            batch_id=c.batch_id,
            platform_response_excerpt=excerpt[:1024],
            occurred_at=timestamp(now),
            sequence=c.sequence,
        )

    def batch(site: str, items: list[Any]) -> Message:
        return events_pb2.DeliveryUpdatedBatch(
            site_id=site, platform=platform_pb(platform), items=items
        )

    return _per_site(changes, item, batch, lambda site: delivery_subject(platform, site))


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
    # The outbox row keeps this id across relay retries, so the stream drops any republish.
    return Outgoing(subject, payload, f"{subject}:{uuid.uuid4().hex}")
