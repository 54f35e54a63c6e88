"""TikTok's envelope codes and HTTP statuses classified; rejections naming Batch.<i>."""

from __future__ import annotations

import pytest

from dispatch_tiktok.domain.errors import batch_indexes, classify
from hubkit.vocabulary import ErrorClass as E


@pytest.mark.parametrize(
    ("http_status", "code", "expected"),
    [
        (200, 0, E.NONE),
        (200, 20001, E.NONE),
        (200, 40100, E.THROTTLE),
        (200, 40001, E.AUTH),
        (200, 40105, E.AUTH),
        (200, 40002, E.BAD_INPUT),
        (200, 40999, E.BAD_INPUT),
        (200, 40700, E.TRANSIENT),
        (200, 50000, E.TRANSIENT),
        (200, 51021, E.TRANSIENT),
        (200, 12345, E.UNKNOWN),
        (502, None, E.TRANSIENT),
        (500, 40002, E.TRANSIENT),  # a 5xx is the server's trouble whatever its body says
        (429, None, E.THROTTLE),
        (0, None, E.TRANSIENT),
        (403, None, E.AUTH),
        (404, None, E.BAD_INPUT),
    ],
)
def test_classification(http_status: int, code: int | None, expected: E) -> None:
    assert classify(http_status, code) is expected


def test_batch_indexes_are_read_from_tiktoks_messages() -> None:
    assert batch_indexes("Batch.2.user.email: Not a valid SHA256 hash") == [2]
    assert batch_indexes("Batch.0.properties.contents.0.content_id: Not a valid string") == [0]
    assert batch_indexes("Batch.3.event: x; Batch.11.event_time: y; Batch.3.page: z") == [3, 11]
    assert batch_indexes("Too many requests. Please retry in some time.") == []
    assert batch_indexes("SubBatch.4 is not an index") == []
