"""The IngestConversions use case: prepare each conversion, dedupe, store, answer in order."""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Awaitable, Callable, Sequence
from datetime import datetime

from ingest.domain.model import ConversionInput, Outcome, PreparedConversion, Status
from ingest.domain.preparation import prepare
from ingest.domain.validation import Limits
from ingest.ports import ConversionStore, IngestMetrics, SitePolicies

# What a webhook or a sync hands its conversions to: IngestConversions, or a hubkit Coalescer
# of it that shares one call among concurrent callers.
Ingest = Callable[[Sequence[ConversionInput]], Awaitable[list[Outcome]]]


class IngestConversions:
    def __init__(
        self,
        store: ConversionStore,
        policies: SitePolicies,
        metrics: IngestMetrics,
        *,
        clock: Callable[[], datetime],
        new_id: Callable[[], str],
        limits: Limits | None = None,
    ) -> None:
        """`clock` says when a batch arrives; `new_id` names each conversion (a UUIDv7)."""
        self._store = store
        self._policies = policies
        self._metrics = metrics
        self._clock = clock
        self._new_id = new_id
        self._limits = limits or Limits()

    async def __call__(self, inputs: Sequence[ConversionInput]) -> list[Outcome]:
        """One Outcome per input, same order. A bad conversion never affects its neighbours."""
        now = self._clock()
        outcomes: list[Outcome | None] = [None] * len(inputs)
        unique: list[tuple[int, PreparedConversion]] = []
        first_of: dict[tuple[str, bytes], int] = {}
        repeats: list[tuple[int, int]] = []  # (index, index of the first with the same key)
        for i, conversion in enumerate(inputs):
            result = prepare(
                conversion,
                self._policies.get(conversion.site_id),
                now,
                self._limits,
                conversion_id=self._new_id(),
            )
            if isinstance(result, Outcome):
                outcomes[i] = result
                continue
            key = (result.site_id, result.dedupe_key)
            if key in first_of:
                repeats.append((i, first_of[key]))
            else:
                first_of[key] = i
                unique.append((i, result))

        if unique:
            started = time.perf_counter()
            claims = await self._store.store([p for _, p in unique])
            self._metrics.dedupe_check((time.perf_counter() - started) / len(unique))
            for (i, prepared), claim in zip(unique, claims, strict=True):
                outcomes[i] = (
                    Outcome(
                        Status.ACCEPTED,
                        conversion_id=claim.conversion_id,
                        event_id=claim.event_id,
                        warnings=prepared.warnings,
                    )
                    if claim.stored
                    else Outcome(
                        Status.DUPLICATE, duplicate_of=claim.conversion_id, event_id=claim.event_id
                    )
                )
        for i, first in repeats:
            original = outcomes[first]
            assert original is not None
            outcomes[i] = Outcome(
                Status.DUPLICATE,
                duplicate_of=original.conversion_id or original.duplicate_of,
                event_id=original.event_id,
            )

        done = [o for o in outcomes if o is not None]
        assert len(done) == len(inputs)
        counts = Counter((c.site_id, o.status) for c, o in zip(inputs, done, strict=True))
        for (site_id, status), count in counts.items():
            self._metrics.outcome(site_id, status, count)
        return done
