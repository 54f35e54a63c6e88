"""JetStream publisher: every message gets a Nats-Msg-Id and W3C trace context; PubAcks checked."""

from __future__ import annotations

import asyncio
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Protocol

from google.protobuf.message import Message
from nats.js import JetStreamContext, api
from nats.js.errors import NoStreamResponseError

from hubkit.telemetry import inject_headers

MSG_ID = "Nats-Msg-Id"


class PublishError(Exception):
    """No PubAck: the message may not be stored, so the caller must retry it."""


@dataclass(frozen=True)
class Outgoing:
    subject: str
    payload: bytes | Message
    msg_id: str
    headers: Mapping[str, str] = field(default_factory=dict)


class EventPublisher(Protocol):
    """The port services depend on; JetStreamPublisher and InMemoryPublisher implement it."""

    async def publish(self, message: Outgoing) -> api.PubAck | None: ...

    async def publish_all(self, messages: Iterable[Outgoing]) -> None: ...

    async def publish_each(self, messages: Iterable[Outgoing]) -> list[Exception | None]: ...


class JetStreamPublisher:
    def __init__(
        self, js: JetStreamContext, *, timeout: float = 5.0, concurrency: int = 64
    ) -> None:
        self._js = js
        self._timeout = timeout
        self._slots = asyncio.Semaphore(concurrency)

    async def publish(self, message: Outgoing) -> api.PubAck:
        if not message.msg_id:
            raise ValueError("every convhub message needs a Nats-Msg-Id")
        payload = message.payload
        data = payload if isinstance(payload, bytes) else payload.SerializeToString()
        headers = dict(message.headers)
        if (
            "traceparent" not in headers
        ):  # an outbox row keeps the trace of the request that wrote it
            headers = inject_headers(headers)
        headers[MSG_ID] = message.msg_id
        try:
            async with self._slots:
                ack = await self._js.publish(
                    message.subject, data, timeout=self._timeout, headers=headers
                )
        except (NoStreamResponseError, TimeoutError) as exc:
            raise PublishError(f"no PubAck for {message.subject}: {exc!r}") from exc
        except Exception as exc:  # a NATS API error (e.g. stream limits): still unacknowledged
            raise PublishError(f"publish to {message.subject} failed: {exc!r}") from exc
        if not ack.stream:
            raise PublishError(f"empty PubAck for {message.subject}")
        return ack

    async def publish_all(self, messages: Iterable[Outgoing]) -> None:
        """Publish concurrently; raise PublishError if any was not acknowledged."""
        for error in await self.publish_each(messages):
            if error is not None:
                raise error

    async def publish_each(self, messages: Iterable[Outgoing]) -> list[Exception | None]:
        """Publish concurrently; per message, None once acknowledged or the error."""
        results = await asyncio.gather(*(self.publish(m) for m in messages), return_exceptions=True)
        errors: list[Exception | None] = []
        for result in results:
            if isinstance(result, BaseException) and not isinstance(result, Exception):
                raise result  # cancellation and the like are not a publish outcome
            errors.append(result if isinstance(result, Exception) else None)
        return errors
