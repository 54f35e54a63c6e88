"""DeliveryUpdated batches: one per site, cut as hubkit.bus.chunking cuts, every field set."""

from __future__ import annotations

from datetime import UTC, datetime

from convhub.common.v1 import common_pb2
from convhub.events.v1 import events_pb2
from hubkit.bus.chunking import MAX_MESSAGE_BYTES, chunks
from hubkit.dispatch.events import delivery_updates
from hubkit.dispatch.model import ErrorClass, Platform, PlatformError, Status
from hubkit.dispatch.records import Change
from hubkit.dispatch.testing import dispatch_request

NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
TRACE = "00-" + "a" * 32 + "-" + "b" * 16 + "-01"


def change(n: int, site: str = "shop", error: PlatformError | None = None) -> Change:
    request = dispatch_request(f"c{n}", site_id=site)
    if n % 2:
        request.trace.traceparent = TRACE
    return Change(
        delivery_id=request.delivery_id,
        conversion_id=request.conversion_id,
        site_id=site,
        account_id="1234567890",
        status=Status.FAILED if error else Status.CONFIRMED,
        attempts=2,
        sequence=n,
        request=request if n % 5 else None,
        batch_id="b1",
        error=error,
    )


def test_each_item_carries_its_delivery_state() -> None:
    bad = PlatformError(ErrorClass.BAD_INPUT, "100/2804050", "insufficient customer information")
    (message,) = delivery_updates(
        Platform.META, [change(1), change(2, error=bad)], now=NOW, excerpt="x" * 2000
    )
    assert message.subject == "convhub.delivery.meta.shop"
    batch = message.payload
    assert isinstance(batch, events_pb2.DeliveryUpdatedBatch)
    assert batch.site_id == "shop" and batch.platform == common_pb2.PLATFORM_META
    ok, failed = batch.items
    assert (
        ok.trace.traceparent == TRACE and failed.HasField("trace") and not failed.trace.traceparent
    )
    assert ok.destination == common_pb2.Destination(
        platform=common_pb2.PLATFORM_META, account_id="1234567890"
    )
    assert ok.status == common_pb2.DELIVERY_STATUS_CONFIRMED and not ok.last_error
    assert (ok.attempts, ok.batch_id, ok.sequence) == (2, "b1", 1)
    assert ok.occurred_at.ToDatetime(UTC) == NOW and len(ok.platform_response_excerpt) == 1024
    assert failed.status == common_pb2.DELIVERY_STATUS_FAILED
    assert (failed.error_class, failed.platform_code, failed.last_error) == (
        common_pb2.ERROR_CLASS_BAD_INPUT,
        "100/2804050",
        "insufficient customer information",
    )


def test_batches_are_per_site_and_cut_like_chunks() -> None:
    changes = [change(n, site="a" if n % 3 else "b") for n in range(3500)]
    messages = delivery_updates(Platform.META, changes, now=NOW)
    per_site = {
        site: [len(m.payload.items) for m in messages if m.subject.endswith(f".{site}")]
        for site in ("a", "b")
    }
    assert per_site == {"a": [1000, 1000, 333], "b": [1000, 167]}
    for site in ("a", "b"):  # each site's in order
        assert [
            i.delivery_id for m in messages if m.payload.site_id == site for i in m.payload.items
        ] == [c.delivery_id for c in changes if c.site_id == site]
    # About MAX_MESSAGE_BYTES each when items are large, exactly where chunks() would cut.
    big = PlatformError(ErrorClass.UNKNOWN, "X", "m" * 3000)
    large = [change(n, error=big) for n in range(600)]
    cut = delivery_updates(Platform.META, large, now=NOW, excerpt="y" * 1024)
    items = [i for m in cut for i in m.payload.items]
    assert [len(m.payload.items) for m in cut] == [len(c) for c in chunks(items)]
    assert len(cut) > 1 and all(m.payload.ByteSize() < MAX_MESSAGE_BYTES for m in cut)
