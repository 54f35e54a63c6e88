"""convhub.dispatch.v1.DispatchService over the ledger: the same operator API for every platform."""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncEngine

from convhub.common.v1 import common_pb2
from convhub.dispatch.v1 import dispatch_pb2, dispatch_pb2_grpc
from hubkit.auth import ALL_SITES, Principal, Scope, current_principal
from hubkit.db.outbox import stage
from hubkit.dispatch import events as messages
from hubkit.dispatch.dispatcher import Dispatcher
from hubkit.dispatch.events import timestamp
from hubkit.dispatch.ledger import DeadLetterFilter, LedgerUnitOfWork
from hubkit.dispatch.model import ErrorClass, Platform, Status
from hubkit.dispatch.queries import LedgerQueries
from hubkit.dispatch.tables import LedgerTables
from hubkit.errors import FieldError, InvalidArgument, NotFound
from hubkit.vocabulary import (
    batch_status_pb,
    breaker_pb,
    error_class_pb,
    platform_pb,
    status_pb,
)

SERVICE_NAME = "convhub.dispatch.v1.DispatchService"
DEFAULT_PAGE = 100
MAX_PAGE = 1000
DEFAULT_WINDOW = 60
MAX_WINDOW = 7 * 24 * 3600


class DispatchServicer(dispatch_pb2_grpc.DispatchServiceServicer):
    """Answers for one dispatcher's platform. Reads need READ on the sites involved; replay
    needs ADMIN."""

    def __init__(
        self,
        dispatcher: Dispatcher,
        engine: AsyncEngine,
        tables: LedgerTables,
        *,
        stream_pending: Callable[[], Awaitable[int]] | None = None,
        on_staged: Callable[[], None] = lambda: None,
    ) -> None:
        self._dispatcher = dispatcher
        self._platform: Platform = dispatcher.adapter.platform
        self._engine = engine
        self._tables = tables
        self._queries = LedgerQueries(engine, tables)
        self._stream_pending = stream_pending
        self._on_staged = on_staged

    def register(self, server: Any) -> None:
        """Add to a hubkit GrpcServer."""
        server.add(dispatch_pb2_grpc.add_DispatchServiceServicer_to_server, self, SERVICE_NAME)

    # --- GetDelivery -----------------------------------------------------------------------

    async def GetDelivery(
        self, request: dispatch_pb2.GetDeliveryRequest, context: Any
    ) -> dispatch_pb2.GetDeliveryResponse:
        principal = current_principal()
        principal.require(Scope.READ)
        if not request.conversion_id:
            raise _required("conversion_id")
        rows = await self._queries.deliveries_of(request.conversion_id)
        if not rows:
            raise NotFound(f"conversion {request.conversion_id} unknown to this dispatcher")
        for site in {r.site_id for r in rows}:
            principal.require(Scope.READ, site)
        history = await self._queries.attempts_of([r.delivery_id for r in rows])
        return dispatch_pb2.GetDeliveryResponse(
            platform=platform_pb(self._platform),
            deliveries=[self._delivery(r, history.get(r.delivery_id, [])) for r in rows],
        )

    def _delivery(self, row: Any, attempts: list[Any]) -> dispatch_pb2.Delivery:
        delivery = dispatch_pb2.Delivery(
            state=common_pb2.DeliveryState(
                delivery_id=row.delivery_id,
                destination=common_pb2.Destination(
                    platform=platform_pb(self._platform), account_id=row.account_id
                ),
                status=status_pb(row.status),
                attempts=row.attempts,
                last_error=row.last_error,
                error_class=error_class_pb(row.error_class),
                platform_code=row.platform_code,
                batch_id=row.batch_id or "",
                updated_at=timestamp(row.updated_at),
            ),
            conversion_id=row.conversion_id,
            site_id=row.site_id,
            event_id=row.event_id,
            created_at=timestamp(row.created_at),
            history=[
                dispatch_pb2.DeliveryAttempt(
                    number=a.number,
                    batch_id=a.batch_id,
                    started_at=timestamp(a.started_at),
                    latency_ms=a.latency_ms,
                    http_status=a.http_status,
                    outcome=status_pb(a.outcome),
                    error_class=error_class_pb(a.error_class),
                    platform_code=a.platform_code,
                    error_message=a.error_message,
                )
                for a in attempts
            ],
        )
        if row.confirmed_at is not None:
            delivery.confirmed_at.CopyFrom(timestamp(row.confirmed_at))
        if row.status == Status.PENDING.value:
            delivery.next_attempt_at.CopyFrom(timestamp(row.next_attempt_at))
        return delivery

    # --- GetBatch --------------------------------------------------------------------------

    async def GetBatch(
        self, request: dispatch_pb2.GetBatchRequest, context: Any
    ) -> dispatch_pb2.GetBatchResponse:
        principal = current_principal()
        principal.require(Scope.READ)
        if not request.batch_id:
            raise _required("batch_id")
        head, events = await self._queries.batch(request.batch_id)
        if head is None:
            raise NotFound(f"batch {request.batch_id} unknown to this dispatcher")
        for site in {e.site_id for e in events}:
            principal.require(Scope.READ, site)
        batch = dispatch_pb2.Batch(
            batch_id=head.batch_id,
            platform=platform_pb(self._platform),
            account_id=head.account_id,
            status=batch_status_pb(head.status),
            parent_batch_id=head.parent_batch_id or "",
            event_count=head.event_count,
            succeeded_count=head.succeeded_count,
            failed_count=head.failed_count,
            attempts=head.attempts,
            created_at=timestamp(head.created_at),
            platform_request_id=head.platform_request_id,
            platform_response_excerpt=head.response_excerpt,
            outcomes=[
                dispatch_pb2.BatchEventOutcome(
                    conversion_id=e.conversion_id,
                    delivery_id=e.delivery_id,
                    site_id=e.site_id,
                    event_id=e.event_id,
                    status=status_pb(e.outcome),
                    error_class=error_class_pb(getattr(e, "error_class", 0)),
                    platform_code=getattr(e, "platform_code", ""),
                    error_message=getattr(e, "error_message", ""),
                )
                for e in events
            ],
        )
        if head.sent_at is not None:
            batch.sent_at.CopyFrom(timestamp(head.sent_at))
        if head.completed_at is not None:
            batch.completed_at.CopyFrom(timestamp(head.completed_at))
        if head.status_state or head.status_due_at is not None:
            batch.platform_status.CopyFrom(_platform_status(head))
        return dispatch_pb2.GetBatchResponse(batch=batch)

    # --- dead letters ----------------------------------------------------------------------

    async def ListDeadLetters(
        self, request: dispatch_pb2.ListDeadLettersRequest, context: Any
    ) -> dispatch_pb2.ListDeadLettersResponse:
        principal = current_principal()
        selector = _filter(request.filter, principal, Scope.READ)
        if request.page_size < 0:
            raise InvalidArgument(
                "invalid page_size",
                [FieldError("page_size", "OUT_OF_RANGE", "must not be negative")],
            )
        size = min(request.page_size or DEFAULT_PAGE, MAX_PAGE)
        after = _decode_token(request.page_token) if request.page_token else None
        rows, total = await self._queries.dead_letters(selector, page_size=size, after=after)
        token = ""
        if len(rows) == size:
            last = rows[-1]
            token = _encode_token(last.dead_lettered_at, last.dead_letter_id)
        return dispatch_pb2.ListDeadLettersResponse(
            dead_letters=[self._dead_letter(r) for r in rows],
            next_page_token=token,
            total_count=total,
        )

    def _dead_letter(self, row: Any) -> dispatch_pb2.DeadLetter:
        letter = dispatch_pb2.DeadLetter(
            dead_letter_id=row.dead_letter_id,
            delivery_id=row.delivery_id,
            conversion_id=row.conversion_id,
            site_id=row.site_id,
            platform=platform_pb(self._platform),
            account_id=row.account_id,
            event_id=row.event_id,
            reason=row.reason,
            error_class=error_class_pb(row.error_class),
            platform_code=row.platform_code,
            last_error=row.last_error,
            attempts=row.attempts,
            batch_id=row.batch_id or "",
            dead_lettered_at=timestamp(row.dead_lettered_at),
            replay_count=row.replay_count,
        )
        if row.first_attempt_at is not None:
            letter.first_attempt_at.CopyFrom(timestamp(row.first_attempt_at))
        if row.replayed_at is not None:
            letter.replayed_at.CopyFrom(timestamp(row.replayed_at))
        return letter

    async def ReplayDeadLetters(
        self, request: dispatch_pb2.ReplayDeadLettersRequest, context: Any
    ) -> dispatch_pb2.ReplayDeadLettersResponse:
        principal = current_principal()
        principal.require(Scope.ADMIN)
        if request.limit < 0:
            raise InvalidArgument(
                "invalid limit", [FieldError("limit", "OUT_OF_RANGE", "must not be negative")]
            )
        which = request.WhichOneof("selector")
        ids: list[str] | None = None
        if which == "ids":
            ids = list(dict.fromkeys(i for i in request.ids.ids if i))
            if not ids:
                raise _required("ids.ids")
            selector = DeadLetterFilter(sites=_sites_of(principal))
        elif which == "filter":
            selector = _filter(request.filter, principal, Scope.ADMIN)
        else:
            raise InvalidArgument(
                "choose the dead letters to replay",
                [FieldError("selector", "REQUIRED", "give ids or a filter")],
            )
        async with LedgerUnitOfWork(self._engine, self._tables) as uow:
            result = await uow.ledger.replay(
                ids=ids, selector=selector, limit=request.limit, dry_run=request.dry_run
            )
            outgoing = messages.delivery_updates(
                self._platform, result.changes, now=datetime.now(UTC)
            )
            await stage(uow.session, self._tables.outbox, outgoing)
            await uow.commit()
        if result.changes:
            self._on_staged()
            self._dispatcher.notify(result.lanes)
        return dispatch_pb2.ReplayDeadLettersResponse(
            matched=result.matched,
            replayed=result.replayed,
            not_found_ids=result.not_found_ids,
        )

    # --- GetStats --------------------------------------------------------------------------

    async def GetStats(
        self, request: dispatch_pb2.GetStatsRequest, context: Any
    ) -> dispatch_pb2.GetStatsResponse:
        principal = current_principal()
        principal.require(Scope.READ, request.site_id or None)
        if not request.site_id and ALL_SITES not in principal.sites:
            principal.require(Scope.READ, ALL_SITES)  # platform-wide numbers: all sites only
        if not 0 <= request.window_seconds <= MAX_WINDOW:
            raise InvalidArgument(
                "invalid window_seconds",
                [FieldError("window_seconds", "OUT_OF_RANGE", f"0..{MAX_WINDOW}")],
            )
        window = request.window_seconds or DEFAULT_WINDOW
        stats = await self._queries.stats(timedelta(seconds=window), request.site_id)
        finished = stats.confirmed + stats.failed + stats.dead
        response = dispatch_pb2.GetStatsResponse(
            platform=platform_pb(self._platform),
            as_of=timestamp(datetime.now(UTC)),
            window_seconds=window,
            events_per_second=stats.confirmed / window,
            success_rate=stats.confirmed / finished if finished else 1.0,
            confirmed=stats.confirmed,
            failed=stats.failed,
            dead_lettered=stats.dead,
            retries=stats.retries,
            backlog=stats.backlog,
            dead_letter_depth=stats.dead_letter_depth,
            stream_pending=await self._pending(),
            request_states=stats.request_states,
            platform_error_counts=stats.reported_errors,
            requests_awaiting_status=stats.awaiting_reports,
            deliveries_received=stats.received,
            match_key_coverage=[
                dispatch_pb2.MatchKeyShare(
                    key=key, share=count / stats.received if stats.received else 0.0
                )
                for key, count in stats.match_key_counts.items()
            ],
            match_quality=stats.match_quality,
        )
        live = {s.account_id: s for s in self._dispatcher.accounts()}
        names = set(stats.per_account) | (set() if request.site_id else set(live))
        for account in sorted(names):
            per = stats.per_account.get(account, {})
            done = per.get("confirmed", 0) + per.get("failed", 0)
            snap = live.get(account)
            item = dispatch_pb2.AccountStats(
                account_id=account,
                breaker_state=breaker_pb(snap.breaker_state if snap else 1),
                consecutive_failures=snap.consecutive_failures if snap else 0,
                backlog=per.get("backlog", 0),
                batches_in_flight=snap.in_flight if snap else 0,
                events_per_second=per.get("confirmed", 0) / window,
                success_rate=per.get("confirmed", 0) / done if done else 1.0,
            )
            if snap and snap.breaker_opened_at is not None:
                item.breaker_opened_at.CopyFrom(
                    timestamp(datetime.fromtimestamp(snap.breaker_opened_at, UTC))
                )
            response.accounts.append(item)
        return response

    async def _pending(self) -> int:
        if self._stream_pending is None:
            return 0
        try:
            return await self._stream_pending()
        except Exception:  # NATS away: the statistic is optional, the answer is not
            return -1


# --- helpers -----------------------------------------------------------------------------


def _platform_status(head: Any) -> dispatch_pb2.PlatformRequestStatus:
    report = head.status_report or {}
    status = dispatch_pb2.PlatformRequestStatus(
        state=head.status_state or "PENDING",  # not asked yet
        final=head.status_due_at is None,
        record_count=int(report.get("records", 0)),
        error_counts=report.get("errors", {}),
        warning_counts=report.get("warnings", {}),
        checks=head.status_checks,
    )
    if head.status_checked_at is not None:
        status.checked_at.CopyFrom(timestamp(head.status_checked_at))
    return status


def _required(field: str) -> InvalidArgument:
    return InvalidArgument(f"{field} is required", [FieldError(field, "REQUIRED", "required")])


def _sites_of(principal: Principal) -> frozenset[str] | None:
    return None if ALL_SITES in principal.sites else frozenset(principal.sites)


def _filter(
    f: dispatch_pb2.DeadLetterFilter, principal: Principal, scope: Scope
) -> DeadLetterFilter:
    principal.require(scope, f.site_id or None)
    if f.error_class not in {int(c) for c in ErrorClass}:
        raise InvalidArgument(
            "invalid error_class",
            [FieldError("filter.error_class", "INVALID_VALUE", "unknown error class")],
        )
    start = f.time_range.start.ToDatetime(UTC) if f.time_range.HasField("start") else None
    end = f.time_range.end.ToDatetime(UTC) if f.time_range.HasField("end") else None
    if start and end and start >= end:
        raise InvalidArgument(
            "invalid time_range",
            [FieldError("filter.time_range", "OUT_OF_RANGE", "start must be before end")],
        )
    return DeadLetterFilter(
        site_id=f.site_id,
        error_class=f.error_class,
        start=start,
        end=end,
        account_id=f.account_id,
        include_replayed=f.include_replayed,
        sites=_sites_of(principal),
    )


def _encode_token(at: datetime, dead_letter_id: str) -> str:
    raw = json.dumps({"t": at.isoformat(), "id": dead_letter_id}).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _decode_token(token: str) -> tuple[datetime, str]:
    try:
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
        value = json.loads(raw)
        return datetime.fromisoformat(value["t"]), str(value["id"])
    except (binascii.Error, ValueError, KeyError, TypeError):
        raise InvalidArgument(
            "invalid page_token",
            [FieldError("page_token", "INVALID_FORMAT", "not a token from this API")],
        ) from None
