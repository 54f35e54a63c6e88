"""Site ids, delivery ids and message chunking shared by every service."""

from __future__ import annotations

import pytest
from google.protobuf.wrappers_pb2 import BytesValue

from hubkit.bus.chunking import chunks
from hubkit.naming import delivery_id, is_site_id


@pytest.mark.parametrize("value", ["shop-1", "A", "s_1", "x" * 64])
def test_valid_site_ids(value: str) -> None:
    assert is_site_id(value)


@pytest.mark.parametrize(
    "value", ["", "_shop", "-x", "shop.1", "shop*", "shop>", "a b", "shop\n", "x" * 65]
)
def test_invalid_site_ids(value: str) -> None:
    assert not is_site_id(value)


def test_delivery_id() -> None:
    assert delivery_id("c-1", "META", "px") == "c-1:meta:px"


def test_chunks_respect_bytes_and_count() -> None:
    items = [BytesValue(value=b"x" * 100) for _ in range(50)]
    by_bytes = list(chunks(items, max_bytes=1000, max_items=1000))
    assert [len(c) for c in by_bytes] == [9] * 5 + [5]
    assert [item for chunk in by_bytes for item in chunk] == items
    assert [len(c) for c in chunks(items, max_bytes=10**6, max_items=20)] == [20, 20, 10]
    big = [BytesValue(value=b"x" * 5000), BytesValue(value=b"y")]
    assert [len(c) for c in chunks(big, max_bytes=1000)] == [1, 1]
    assert list(chunks([])) == []
