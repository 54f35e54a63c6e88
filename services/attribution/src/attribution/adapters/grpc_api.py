"""convhub.attribution.v1.AttributionService over the use cases (site-scoped JWTs)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from google.protobuf.duration_pb2 import Duration
from google.protobuf.timestamp_pb2 import Timestamp

from attribution.adapters.sql_store import SqlAttributionStore
from attribution.app.queries import Queries, Row
from attribution.app.touchpoints import check
from attribution.domain.model import RULE_MODELS, Model
from convhub.attribution.v1 import attribution_pb2 as pb
from convhub.attribution.v1 import attribution_pb2_grpc
from convhub.common.v1 import common_pb2
from hubkit.auth import Scope, current_principal
from hubkit.errors import FieldError, InvalidArgument, NotFound

MAX_TOUCHPOINTS = 1000
MODELS = {
    pb.ATTRIBUTION_MODEL_LAST_CLICK: Model.LAST,
    pb.ATTRIBUTION_MODEL_FIRST_CLICK: Model.FIRST,
    pb.ATTRIBUTION_MODEL_LINEAR: Model.LINEAR,
    pb.ATTRIBUTION_MODEL_TIME_DECAY: Model.TIME_DECAY,
    pb.ATTRIBUTION_MODEL_POSITION_BASED: Model.POSITION_BASED,
    pb.ATTRIBUTION_MODEL_DATA_DRIVEN_MARKOV: Model.MARKOV,
    pb.ATTRIBUTION_MODEL_DATA_DRIVEN_SHAPLEY: Model.SHAPLEY,
    pb.ATTRIBUTION_MODEL_DATA_DRIVEN_CONVERSION_RATE_SHAPLEY: Model.CONVERSION_RATE_SHAPLEY,
}
MODEL_PB = {m: v for v, m in MODELS.items()}
KEY = {
    pb.GROUP_BY_UNSPECIFIED: "channel",
    pb.GROUP_BY_CHANNEL: "channel",
    pb.GROUP_BY_CAMPAIGN: "campaign",
}


class AttributionServicer(attribution_pb2_grpc.AttributionServiceServicer):
    def __init__(
        self,
        store: SqlAttributionStore,
        queries: Queries,
        *,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self._store = store
        self._queries = queries
        self._clock = clock

    def register(self, server: Any) -> None:
        server.add(
            attribution_pb2_grpc.add_AttributionServiceServicer_to_server,
            self,
            "convhub.attribution.v1.AttributionService",
        )

    async def RecordTouchpoints(
        self, request: pb.RecordTouchpointsRequest, context: Any
    ) -> pb.RecordTouchpointsResponse:
        if not request.site_id:
            raise InvalidArgument("site_id is required", [_required("site_id")])
        current_principal().require(Scope.INGEST, request.site_id)
        if len(request.touchpoints) > MAX_TOUCHPOINTS:
            raise InvalidArgument(
                "too many touchpoints",
                [FieldError("touchpoints", "TOO_MANY", f"at most {MAX_TOUCHPOINTS}")],
            )
        now = self._clock()
        checked = [check(t, request.site_id, now) for t in request.touchpoints]
        good = [c for c in checked if not isinstance(c, list)]
        inserted = await self._store.record_touchpoints(good)
        results = []
        for t, c in zip(request.touchpoints, checked, strict=True):
            if isinstance(c, list):
                results.append(
                    pb.TouchpointResult(
                        touchpoint_id=t.touchpoint_id,
                        status=pb.TOUCHPOINT_STATUS_REJECTED,
                        errors=[_field(e) for e in c],
                    )
                )
            else:
                fresh = f"{c.site_id}/{c.touchpoint_id}" in inserted
                results.append(
                    pb.TouchpointResult(
                        touchpoint_id=c.touchpoint_id,
                        status=pb.TOUCHPOINT_STATUS_RECORDED
                        if fresh
                        else pb.TOUCHPOINT_STATUS_DUPLICATE,
                    )
                )
        return pb.RecordTouchpointsResponse(results=results)

    async def GetConversionAttribution(
        self, request: pb.GetConversionAttributionRequest, context: Any
    ) -> pb.GetConversionAttributionResponse:
        principal = current_principal()
        principal.require(Scope.READ)
        c = await self._store.conversion(request.conversion_id)
        if c is None or not principal.allows_site(c.site_id):
            raise NotFound(f"conversion {request.conversion_id} not known to attribution")
        wanted = {MODELS[m] for m in request.models if m in MODELS} or set(RULE_MODELS)
        response = pb.GetConversionAttributionResponse(
            conversion_id=c.conversion_id,
            site_id=c.site_id,
            visitor_id=c.visitor_id,
            event_time=_ts(c.event_time),
            value=common_pb2.Money(value=_plain(c.value), currency=c.currency),
            unattributed=c.unattributed,
        )
        if c.attributed_at is None:
            return response  # stored, not credited yet (a moment after it arrived)
        rows = await self._store.credits_of(c.conversion_id)
        for model in RULE_MODELS:
            if model not in wanted:
                continue
            mine = [r for r in rows if r.model == model.value and r.touchpoint_id]
            attribution = response.attributions.add(model=MODEL_PB[model])
            attribution.computed_at.CopyFrom(_ts(c.attributed_at))
            for r in mine:
                attribution.credits.add(
                    touchpoint_id=r.touchpoint_id,
                    channel=r.channel,
                    campaign=r.campaign,
                    credit=common_pb2.Decimal(value=_plain(r.credit)),
                    revenue=common_pb2.Money(value=_plain(r.revenue), currency=r.currency),
                )
        return response

    async def QueryCredit(
        self, request: pb.QueryCreditRequest, context: Any
    ) -> pb.QueryCreditResponse:
        site, model, start, end = self._scope(request.site_id, request.model, request.time_range)
        result = await self._queries.credit(
            site, model, start, end, KEY[request.group_by], list(request.event_types)
        )
        return pb.QueryCreditResponse(
            rows=[_row(r) for r in result.rows],
            unattributed=[_row(r) for r in result.unattributed],
            total_conversions=common_pb2.Decimal(value=_plain(result.total_conversions)),
            total_revenue=_money(result.total_revenue),
        )

    async def CompareModels(
        self, request: pb.CompareModelsRequest, context: Any
    ) -> pb.CompareModelsResponse:
        site, _, start, end = self._scope(
            request.site_id, pb.ATTRIBUTION_MODEL_UNSPECIFIED, request.time_range
        )
        models = [MODELS[m] for m in request.models if m in MODELS] or list(MODELS.values())
        table = await self._queries.compare(
            site, models, start, end, KEY[request.group_by], list(request.event_types)
        )
        response = pb.CompareModelsResponse(models=[MODEL_PB[m] for m in models])
        for (key, currency), per_model in sorted(table.items()):
            row = response.rows.add(key=key, currency=currency)
            for model in models:
                found = per_model.get(model)
                row.credits.add(
                    model=MODEL_PB[model],
                    conversions=common_pb2.Decimal(value=_plain(found.conversions if found else 0)),
                    revenue=common_pb2.Money(
                        value=_plain(found.revenue if found else 0), currency=currency
                    ),
                )
        return response

    async def AnalyzePaths(
        self, request: pb.AnalyzePathsRequest, context: Any
    ) -> pb.AnalyzePathsResponse:
        site, _, start, end = self._scope(
            request.site_id, pb.ATTRIBUTION_MODEL_UNSPECIFIED, request.time_range
        )
        report = await self._queries.paths(
            site,
            start,
            end,
            KEY[request.group_by],
            max_length=max(1, request.max_path_length) if request.max_path_length else 10,
            top=max(1, request.top_n) if request.top_n else 20,
        )
        response = pb.AnalyzePathsResponse(
            total_conversions=report.total,
            average_path_length=common_pb2.Decimal(value=_plain(report.average_length)),
            average_time_to_conversion=_duration(report.average_days),
        )
        for p in report.paths:
            response.paths.add(
                steps=list(p.steps),
                conversions=p.conversions,
                revenue=_money(p.revenue),
                share=common_pb2.Decimal(
                    value=_plain(Decimal(p.conversions) / Decimal(report.total or 1))
                ),
                average_time_to_conversion=_duration(p.average_days),
            )
        for key, touches, first, last in report.steps:
            response.steps.add(
                key=key,
                touches=touches,
                first_touch_share=common_pb2.Decimal(value=_plain(first)),
                last_touch_share=common_pb2.Decimal(value=_plain(last)),
            )
        return response

    async def Recalculate(
        self, request: pb.RecalculateRequest, context: Any
    ) -> pb.RecalculateResponse:
        if not request.site_id:
            raise InvalidArgument("site_id is required", [_required("site_id")])
        current_principal().require(Scope.ADMIN, request.site_id)
        start, end = _range(request.time_range)
        count = await self._queries.recalculate(request.site_id, start, end)
        return pb.RecalculateResponse(
            conversions_recalculated=count, completed_at=_ts(self._clock())
        )

    def _scope(
        self, site_id: str, model: pb.AttributionModel, time_range: common_pb2.TimeRange
    ) -> tuple[str, Model, datetime | None, datetime | None]:
        if not site_id:
            raise InvalidArgument("site_id is required", [_required("site_id")])
        current_principal().require(Scope.READ, site_id)
        chosen = MODELS.get(model, Model.LAST) if model else Model.LAST
        if model and model not in MODELS:
            raise InvalidArgument(
                "unknown model", [FieldError("model", "INVALID_VALUE", "unknown model")]
            )
        start, end = _range(time_range)
        return site_id, chosen, start, end


def _range(r: common_pb2.TimeRange) -> tuple[datetime | None, datetime | None]:
    start = r.start.ToDatetime(tzinfo=UTC) if r.HasField("start") else None
    end = r.end.ToDatetime(tzinfo=UTC) if r.HasField("end") else None
    if start and end and end <= start:
        raise InvalidArgument(
            "empty time range", [FieldError("time_range", "INVALID_RANGE", "end must follow start")]
        )
    return start, end


def _row(r: Row) -> pb.CreditRow:
    return pb.CreditRow(
        key=r.key,
        conversions=common_pb2.Decimal(value=_plain(r.conversions)),
        revenue=common_pb2.Money(value=_plain(r.revenue), currency=r.currency),
    )


def _money(amounts: dict[str, Decimal]) -> Sequence[common_pb2.Money]:
    return [common_pb2.Money(value=_plain(v), currency=c) for c, v in sorted(amounts.items())]


def _plain(x: Decimal | int | float) -> str:
    """Plain decimal notation, no exponent, no trailing zeros beyond one decimal."""
    d = Decimal(x) if not isinstance(x, Decimal) else x
    text = format(d.normalize(), "f")
    return text if "." not in text else text.rstrip("0").rstrip(".") or "0"


def _ts(at: datetime) -> Timestamp:
    ts = Timestamp()
    ts.FromDatetime(at)
    return ts


def _duration(days: float) -> Duration:
    d = Duration()
    d.FromTimedelta(timedelta(days=days))
    return d


def _required(field: str) -> FieldError:
    return FieldError(field, "REQUIRED", f"{field} is required")


def _field(e: FieldError) -> common_pb2.FieldError:
    return common_pb2.FieldError(field=e.field, code=e.code, message=e.message)
