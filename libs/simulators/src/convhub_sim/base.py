"""Simulator base: an aiohttp app on loopback that records requests and injects scripted faults."""

from __future__ import annotations

import asyncio
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Self

from aiohttp import web
from aiohttp.typedefs import Handler


@dataclass
class Fault:
    """One scripted answer instead of the normal one: a status with a body, or a delay first."""

    status: int = 500
    body: Any = None  # JSON-serialisable; None = the platform's default error for `status`
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0  # seconds to wait before answering (timeouts, slow platforms)
    passthrough: bool = False  # only delay, then answer normally


@dataclass
class Recorded:
    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    body: bytes
    at: float
    status: int = 0  # what the simulator answered
    code: int | None = None  # the envelope code, for platforms that answer one (TikTok)

    def json(self) -> Any:
        import json

        return json.loads(self.body)


# Where a handler finds the record of the request it answers (to set `Recorded.code`); a typed
# key where aiohttp has them (it warns about plain string keys there).
RECORD_KEY: Any = (
    web.RequestKey("convhub_sim.record", Recorded)
    if hasattr(web, "RequestKey")
    else "convhub_sim.record"
)

# A `make run` lasts hours: keep the latest requests only, enough for any test or benchmark.
MAX_RECORDED = 50_000


class Simulator:
    """Subclasses add their routes in `routes()` and call `self.take_fault()` in handlers."""

    name = "simulator"

    def __init__(self) -> None:
        self.requests: deque[Recorded] = deque(maxlen=MAX_RECORDED)
        self._faults: deque[Fault] = deque()
        self._storms: deque[tuple[float, Fault]] = deque()  # (until, fault), in order
        self.latency = 0.0
        self.app = web.Application(middlewares=[self._record])
        self.app.router.add_post("/_sim/faults", self._post_faults)
        self.app.router.add_post("/_sim/reset", self._post_reset)
        self.app.router.add_get("/_sim/requests", self._get_requests)
        self.routes(self.app)
        self._runner: web.AppRunner | None = None
        self.url = ""

    def routes(self, app: web.Application) -> None:
        raise NotImplementedError

    # --- knobs -----------------------------------------------------------------------------------

    def fail_next(self, count: int, fault: Fault) -> None:
        """The next `count` platform requests get `fault` instead of their normal answer."""
        self._faults.extend(Fault(**vars(fault)) for _ in range(count))

    def fail_for(self, seconds: float, fault: Fault) -> None:
        """Every platform request gets `fault` for `seconds` after the storms already queued
        (a storm of one error, then another: call it twice). Counted faults go first."""
        start = max([time.monotonic(), *(until for until, _ in self._storms)])
        self._storms.append((start + seconds, fault))

    def clear_faults(self) -> None:
        self._faults.clear()
        self._storms.clear()
        self.latency = 0.0

    def take_fault(self) -> Fault | None:
        if self._faults:
            return self._faults.popleft()
        now = time.monotonic()
        while self._storms and self._storms[0][0] <= now:
            self._storms.popleft()
        return Fault(**vars(self._storms[0][1])) if self._storms else None

    def platform_requests(self) -> list[Recorded]:
        return [r for r in self.requests if not r.path.startswith("/_sim/")]

    # --- lifecycle -------------------------------------------------------------------------------

    async def start(self, host: str = "127.0.0.1", port: int = 0) -> str:
        self._runner = web.AppRunner(self.app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, host, port)
        await site.start()
        self.url = f"http://{host}:{self._runner.addresses[0][1]}"
        return self.url

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    # --- plumbing --------------------------------------------------------------------------------

    @web.middleware
    async def _record(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        record = Recorded(
            request.method,
            request.path,
            dict(request.query),
            dict(request.headers),
            await request.read(),
            time.time(),
        )
        request[RECORD_KEY] = record
        if not request.path.startswith("/_sim/"):
            self.requests.append(record)
            if self.latency:
                await asyncio.sleep(self.latency)
        response = await handler(request)
        record.status = response.status
        return response

    async def _post_faults(self, request: web.Request) -> web.Response:
        spec = await request.json()
        self.latency = float(spec.get("latency", self.latency))
        for item in spec.get("faults", []):
            seconds = item.pop("seconds", None)
            count = int(item.pop("count", 1))
            if seconds is not None:
                self.fail_for(float(seconds), Fault(**item))
            else:
                self.fail_next(count, Fault(**item))
        return web.json_response({"queued": len(self._faults), "latency": self.latency})

    async def _call_knob(
        self, request: web.Request, knobs: dict[str, Callable[..., object]]
    ) -> web.Response:
        """A simulator's `POST /_sim/<name>/faults`: {"kind": <knob>, ...its arguments}."""
        spec = await request.json()
        kind = spec.pop("kind", "")
        if kind not in knobs:
            return web.json_response({"error": f"unknown kind {kind!r}"}, status=400)
        try:
            knobs[kind](**spec)
        except TypeError as exc:
            return web.json_response({"error": str(exc)}, status=400)
        return web.json_response({"queued": len(self._faults), "latency": self.latency})

    async def _post_reset(self, request: web.Request) -> web.Response:
        self.clear_faults()
        self.requests.clear()
        return web.json_response({})

    async def _get_requests(self, request: web.Request) -> web.Response:
        return web.json_response({"count": len(self.platform_requests())})


async def apply_fault(fault: Fault | None) -> web.Response | None:
    """Serve a scripted fault; None means answer normally (possibly after a delay)."""
    if fault is None:
        return None
    if fault.delay:
        await asyncio.sleep(fault.delay)
    if fault.passthrough:
        return None
    return web.json_response(
        fault.body if fault.body is not None else {}, status=fault.status, headers=fault.headers
    )
