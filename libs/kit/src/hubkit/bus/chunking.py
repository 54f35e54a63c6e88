"""Split the items of a batch message so each message stays well under NATS's max_payload."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import TypeVar

from google.protobuf.message import Message

# NATS defaults to a 1 MB max_payload; half of it leaves room for headers and other servers.
MAX_MESSAGE_BYTES = 512 * 1024
MAX_MESSAGE_ITEMS = 1000

M = TypeVar("M", bound=Message)


def chunks(
    items: Sequence[M], max_bytes: int = MAX_MESSAGE_BYTES, max_items: int = MAX_MESSAGE_ITEMS
) -> Iterator[list[M]]:
    """Consecutive runs of `items` of at most `max_items` and about `max_bytes` each (an item
    larger than `max_bytes` travels alone)."""
    chunk: list[M] = []
    size = 0
    for item in items:
        item_size = item.ByteSize() + 8  # field tag and length prefix
        if chunk and (size + item_size > max_bytes or len(chunk) == max_items):
            yield chunk
            chunk, size = [], 0
        chunk.append(item)
        size += item_size
    if chunk:
        yield chunk
