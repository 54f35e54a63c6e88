"""Small runtime adapters: the wall clock and the wake-up fan-out to background workers."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime


class SystemClock:
    def now(self) -> datetime:
        return datetime.now(UTC)


class WakeupHub:
    """Wakeups whose targets are attached once the workers exist (main.py wires them)."""

    def __init__(self) -> None:
        self.on_outbox: list[Callable[[], None]] = []
        self.on_site_changed: list[Callable[[str], None]] = []

    def outbox(self) -> None:
        for wake in self.on_outbox:
            wake()

    def site_changed(self, site_id: str) -> None:
        for wake in self.on_site_changed:
            wake(site_id)
