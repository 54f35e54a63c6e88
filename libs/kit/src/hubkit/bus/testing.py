"""In-memory stand-ins for bus ports, for unit tests of application cores."""

from __future__ import annotations

from collections.abc import Iterable

from hubkit.bus.publisher import Outgoing


class InMemoryPublisher:
    """Records what would have been published; optionally fails to exercise retry paths."""

    def __init__(self) -> None:
        self.messages: list[Outgoing] = []
        self.fail_next = 0

    async def publish(self, message: Outgoing) -> None:
        if self.fail_next:
            self.fail_next -= 1
            from hubkit.bus.publisher import PublishError

            raise PublishError("injected failure")
        self.messages.append(message)

    async def publish_all(self, messages: Iterable[Outgoing]) -> None:
        for message in messages:
            await self.publish(message)

    async def publish_each(self, messages: Iterable[Outgoing]) -> list[Exception | None]:
        errors: list[Exception | None] = []
        for message in messages:
            try:
                await self.publish(message)
                errors.append(None)
            except Exception as exc:
                errors.append(exc)
        return errors

    def subjects(self) -> list[str]:
        return [m.subject for m in self.messages]
