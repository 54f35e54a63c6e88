"""One TikTok request as the adapter builds it."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True, repr=False)
class TrackRequest:
    """POST /open_api/v1.3/event/track/ for one pixel: `data[i]` carries the events of
    `positions[i]` (several deliveries may share one event: same event and event_id)."""

    pixel_code: str
    data: list[Any]  # orjson Fragments of the events' frozen bytes
    positions: list[tuple[str, ...]]
    access_token: str
    test_event_code: str = ""

    def __repr__(self) -> str:  # never print a token
        return f"TrackRequest({self.pixel_code}, {len(self.data)} events)"
