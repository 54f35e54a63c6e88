"""The IngestConversions use case on fakes: order, batch isolation, duplicates, windows."""

from __future__ import annotations

import dataclasses
from datetime import timedelta

from ingest.adapters.system import new_conversion_id
from ingest.app.ingestion import IngestConversions
from ingest.domain.model import SitePolicy, Status

from .fakes import FakeMetrics, FakePolicies, FakeStore
from .test_preparation import NOW, conversion


def use_case(store: FakeStore, clock=lambda: NOW, **policies: SitePolicy):  # type: ignore[no-untyped-def]
    metrics = FakeMetrics()
    ingest = IngestConversions(
        store, FakePolicies(**policies), metrics, clock=clock, new_id=new_conversion_id
    )
    return ingest, metrics


async def test_one_bad_conversion_never_rejects_its_neighbours() -> None:
    store = FakeStore()
    ingest, metrics = use_case(store)
    batch = [
        conversion(order_id="a"),
        conversion(order_id="b", currency="???"),
        conversion(order_id="c"),
    ]
    outcomes = await ingest(batch)
    assert [o.status for o in outcomes] == [Status.ACCEPTED, Status.REJECTED, Status.ACCEPTED]
    assert [p.input.order_id for p in store.stored] == ["a", "c"]
    assert outcomes[1].errors[0].field == "currency"
    assert metrics.outcomes[("shop-1", Status.ACCEPTED)] == 2


async def test_duplicates_within_a_batch_and_across_calls() -> None:
    store = FakeStore()
    ingest, metrics = use_case(store)
    first = await ingest([conversion(), conversion(value="1.00"), conversion(order_id="x")])
    assert [o.status for o in first] == [Status.ACCEPTED, Status.DUPLICATE, Status.ACCEPTED]
    assert first[1].duplicate_of == first[0].conversion_id
    later = await ingest([conversion()])
    assert later[0].status is Status.DUPLICATE
    assert later[0].duplicate_of == first[0].conversion_id
    assert later[0].event_id == first[0].event_id
    assert len(store.stored) == 2
    assert metrics.outcomes[("shop-1", Status.DUPLICATE)] == 2


async def test_a_duplicate_after_the_window_is_a_new_conversion() -> None:
    store = FakeStore()
    now = [NOW]
    ingest, _ = use_case(
        store, clock=lambda: now[0], **{"shop-1": SitePolicy(dedupe_window=timedelta(hours=1))}
    )
    original = (await ingest([conversion()]))[0]
    now[0] = NOW + timedelta(minutes=59)
    assert (await ingest([conversion(event_time=now[0])]))[0].status is Status.DUPLICATE
    now[0] = NOW + timedelta(hours=1)
    again = (await ingest([conversion(event_time=now[0])]))[0]
    assert again.status is Status.ACCEPTED and again.conversion_id != original.conversion_id


async def test_sites_have_separate_keys() -> None:
    ingest, _ = use_case(FakeStore())
    outcomes = await ingest([conversion(), dataclasses.replace(conversion(), site_id="shop-2")])
    assert [o.status for o in outcomes] == [Status.ACCEPTED, Status.ACCEPTED]
