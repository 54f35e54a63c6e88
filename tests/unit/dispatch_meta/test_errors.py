"""Meta error codes to error classes (docs/platforms.md §1.10)."""

from __future__ import annotations

import pytest

from dispatch_meta.domain.errors import classify, code_text
from hubkit.dispatch.model import ErrorClass as E


@pytest.mark.parametrize(
    ("status", "code", "subcode", "transient", "expected"),
    [
        (400, 4, None, None, E.THROTTLE),
        (400, 17, 2446079, None, E.THROTTLE),
        (400, 32, None, None, E.THROTTLE),
        (400, 613, 1487742, None, E.THROTTLE),
        (400, 80004, None, None, E.THROTTLE),
        (400, 341, None, None, E.THROTTLE),
        (500, 1, None, None, E.TRANSIENT),
        (503, 2, None, True, E.TRANSIENT),
        (400, 368, None, None, E.TRANSIENT),
        (400, 960, None, None, E.TRANSIENT),
        (400, 999, None, True, E.TRANSIENT),
        (400, 190, 463, None, E.AUTH),
        (400, 10, None, None, E.AUTH),
        (403, 200, None, None, E.AUTH),
        (400, 100, 2804003, None, E.TOO_OLD),
        (400, 100, 2804050, None, E.BAD_INPUT),
        (400, 100, None, False, E.BAD_INPUT),
        (400, 100, 33, None, E.CONFIG),
        (400, 2804030, None, None, E.BAD_INPUT),
        (429, None, None, None, E.THROTTLE),
        (502, None, None, None, E.TRANSIENT),
        (401, None, None, None, E.AUTH),
        (418, None, None, None, E.UNKNOWN),
        (400, 12345, None, None, E.UNKNOWN),
    ],
)
def test_classification(
    status: int, code: int | None, subcode: int | None, transient: bool | None, expected: E
) -> None:
    assert classify(status, code, subcode, transient) is expected


def test_code_text() -> None:
    assert code_text(100, 2804003) == "100/2804003"
    assert code_text(613, None) == "613"
    assert code_text(None, None) == ""
