"""convhub.attribution.v1.AttributionService over the use cases (site-scoped JWTs)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from google.protobuf.duration_pb2 import Duration
from google.protobuf.timestamp_pb2 import Timestamp

from attribution.adapters.sql_spend import SqlSpendStore
from attribution.adapters.sql_store import SqlAttributionStore
from attribution.app.jobs import Job, JobRun, Jobs
from attribution.app.queries import Queries, Row
from attribution.app.roas import GetRoas
from attribution.app.spend import check_rates, check_spend
from attribution.app.touchpoints import check
from attribution.domain.model import RULE_MODELS, Model
from attribution.domain.roas import RoasRow
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


JOBS = {
    pb.JOB_ROLLUP: Job.ROLLUP,
    pb.JOB_SPEND_SYNC: Job.SPEND_SYNC,
    pb.JOB_RECALCULATE: Job.RECALCULATE,
    pb.JOB_RETRY_UNATTRIBUTED: Job.RETRY_UNATTRIBUTED,
    pb.JOB_RECONCILE: Job.RECONCILE,
    pb.JOB_EXPORT: Job.EXPORT,
}
JOB_PB = {job: value for value, job in JOBS.items()}
MAX_SPEND_ENTRIES = 10_000


class AttributionServicer(attribution_pb2_grpc.AttributionServiceServicer):
    def __init__(
        self,
        store: SqlAttributionStore,
        queries: Queries,
        spend: SqlSpendStore,
        get_roas: GetRoas,
        jobs: Jobs,
        *,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self._store = store
        self._queries = queries
        self._spend = spend
        self._get_roas = get_roas
        self._jobs = jobs
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

    async def RecordSpend(
        self, request: pb.RecordSpendRequest, context: Any
    ) -> pb.RecordSpendResponse:
        if not request.site_id:
            raise InvalidArgument("site_id is required", [_required("site_id")])
        current_principal().require(Scope.INGEST, request.site_id)
        _at_most("entries", len(request.entries), MAX_SPEND_ENTRIES)
        records, errors = check_spend(request.entries)
        recorded = await self._spend.record_spend(request.site_id, records) if records else 0
        return pb.RecordSpendResponse(recorded=recorded, errors=[_field(e) for e in errors])

    async def RecordExchangeRates(
        self, request: pb.RecordExchangeRatesRequest, context: Any
    ) -> pb.RecordExchangeRatesResponse:
        if not request.site_id:
            raise InvalidArgument("site_id is required", [_required("site_id")])
        current_principal().require(Scope.INGEST, request.site_id)
        _at_most("rates", len(request.rates), MAX_SPEND_ENTRIES)
        rates, errors = check_rates(request.rates)
        recorded = await self._spend.record_rates(request.site_id, rates)
        return pb.RecordExchangeRatesResponse(recorded=recorded, errors=[_field(e) for e in errors])

    async def ListSpend(self, request: pb.ListSpendRequest, context: Any) -> pb.ListSpendResponse:
        site, _, start, end = self._scope(
            request.site_id, pb.ATTRIBUTION_MODEL_UNSPECIFIED, request.time_range
        )
        records = await self._spend.spend_in(
            site, start.date() if start else None, end.date() if end else None
        )
        return pb.ListSpendResponse(
            entries=[
                pb.SpendEntry(
                    channel=r.channel,
                    campaign=r.campaign,
                    date=r.day.isoformat(),
                    amount=common_pb2.Money(value=_plain(r.amount), currency=r.currency),
                    platform=r.platform,
                    account_id=r.account_id,
                )
                for r in records
            ]
        )

    async def GetRoas(self, request: pb.GetRoasRequest, context: Any) -> pb.GetRoasResponse:
        site, model, start, end = self._scope(request.site_id, request.model, request.time_range)
        result = await self._get_roas(site, model, start, end, KEY[request.group_by])
        return pb.GetRoasResponse(
            rows=[_roas_row(r, result.currency) for r in result.rows],
            total=_roas_row(result.total, result.currency),
            currency=result.currency,
        )

    async def RunJob(self, request: pb.RunJobRequest, context: Any) -> pb.RunJobResponse:
        current_principal().require(Scope.ADMIN, request.site_id or None)
        job = JOBS.get(request.job)
        if job is None:
            raise InvalidArgument(
                "job is required", [FieldError("job", "REQUIRED", "one of the JOB_* values")]
            )
        if not 0 <= request.days <= 400:
            raise InvalidArgument(
                "days is 0 to 400", [FieldError("days", "OUT_OF_RANGE", "0 (default) to 400")]
            )
        return pb.RunJobResponse(run=_run(await self._jobs.run(job, request.site_id, request.days)))

    async def ListJobs(self, request: pb.ListJobsRequest, context: Any) -> pb.ListJobsResponse:
        current_principal().require(Scope.READ)
        response = pb.ListJobsResponse()
        for r in await self._spend.runs():
            run = response.runs.add(
                job=JOB_PB[Job(r.job)],
                scope=r.scope,
                duration_seconds=r.duration_seconds,
                outcome=r.outcome,
                counts=r.counts,
            )
            run.started_at.FromDatetime(r.started_at)
        return response

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


def _roas_row(r: RoasRow, currency: str) -> pb.RoasRow:
    row = pb.RoasRow(
        key=r.key,
        spend=common_pb2.Money(value=_plain(r.spend), currency=currency),
        revenue=common_pb2.Money(value=_plain(r.revenue), currency=currency),
        conversions=common_pb2.Decimal(value=_plain(r.conversions)),
    )
    if r.roas is not None:
        row.roas.value = _plain(r.roas)
    if r.cost_per_conversion is not None:
        row.cost_per_conversion.CopyFrom(
            common_pb2.Money(value=_plain(r.cost_per_conversion), currency=currency)
        )
    return row


def _run(r: JobRun) -> pb.JobRun:
    run = pb.JobRun(
        job=JOB_PB[r.job],
        scope=r.scope,
        duration_seconds=r.seconds,
        outcome=r.outcome,
        counts=r.counts,
    )
    run.started_at.FromDatetime(r.started_at)
    return run


def _at_most(field: str, n: int, limit: int) -> None:
    if n > limit:
        raise InvalidArgument(
            f"too many {field}", [FieldError(field, "TOO_MANY", f"at most {limit:,}")]
        )


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
