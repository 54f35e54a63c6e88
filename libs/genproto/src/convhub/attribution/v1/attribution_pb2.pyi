import datetime

from convhub.common.v1 import common_pb2 as _common_pb2
from google.protobuf import duration_pb2 as _duration_pb2
from google.protobuf import timestamp_pb2 as _timestamp_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class AttributionModel(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    ATTRIBUTION_MODEL_UNSPECIFIED: _ClassVar[AttributionModel]
    ATTRIBUTION_MODEL_LAST_CLICK: _ClassVar[AttributionModel]
    ATTRIBUTION_MODEL_FIRST_CLICK: _ClassVar[AttributionModel]
    ATTRIBUTION_MODEL_LINEAR: _ClassVar[AttributionModel]
    ATTRIBUTION_MODEL_TIME_DECAY: _ClassVar[AttributionModel]
    ATTRIBUTION_MODEL_POSITION_BASED: _ClassVar[AttributionModel]
    ATTRIBUTION_MODEL_DATA_DRIVEN_MARKOV: _ClassVar[AttributionModel]
    ATTRIBUTION_MODEL_DATA_DRIVEN_SHAPLEY: _ClassVar[AttributionModel]
    ATTRIBUTION_MODEL_DATA_DRIVEN_CONVERSION_RATE_SHAPLEY: _ClassVar[AttributionModel]

class GroupBy(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    GROUP_BY_UNSPECIFIED: _ClassVar[GroupBy]
    GROUP_BY_CHANNEL: _ClassVar[GroupBy]
    GROUP_BY_CAMPAIGN: _ClassVar[GroupBy]

class TouchpointStatus(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    TOUCHPOINT_STATUS_UNSPECIFIED: _ClassVar[TouchpointStatus]
    TOUCHPOINT_STATUS_RECORDED: _ClassVar[TouchpointStatus]
    TOUCHPOINT_STATUS_DUPLICATE: _ClassVar[TouchpointStatus]
    TOUCHPOINT_STATUS_REJECTED: _ClassVar[TouchpointStatus]

class Job(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    JOB_UNSPECIFIED: _ClassVar[Job]
    JOB_ROLLUP: _ClassVar[Job]
    JOB_SPEND_SYNC: _ClassVar[Job]
    JOB_RECALCULATE: _ClassVar[Job]
    JOB_RETRY_UNATTRIBUTED: _ClassVar[Job]
    JOB_RECONCILE: _ClassVar[Job]
    JOB_EXPORT: _ClassVar[Job]
ATTRIBUTION_MODEL_UNSPECIFIED: AttributionModel
ATTRIBUTION_MODEL_LAST_CLICK: AttributionModel
ATTRIBUTION_MODEL_FIRST_CLICK: AttributionModel
ATTRIBUTION_MODEL_LINEAR: AttributionModel
ATTRIBUTION_MODEL_TIME_DECAY: AttributionModel
ATTRIBUTION_MODEL_POSITION_BASED: AttributionModel
ATTRIBUTION_MODEL_DATA_DRIVEN_MARKOV: AttributionModel
ATTRIBUTION_MODEL_DATA_DRIVEN_SHAPLEY: AttributionModel
ATTRIBUTION_MODEL_DATA_DRIVEN_CONVERSION_RATE_SHAPLEY: AttributionModel
GROUP_BY_UNSPECIFIED: GroupBy
GROUP_BY_CHANNEL: GroupBy
GROUP_BY_CAMPAIGN: GroupBy
TOUCHPOINT_STATUS_UNSPECIFIED: TouchpointStatus
TOUCHPOINT_STATUS_RECORDED: TouchpointStatus
TOUCHPOINT_STATUS_DUPLICATE: TouchpointStatus
TOUCHPOINT_STATUS_REJECTED: TouchpointStatus
JOB_UNSPECIFIED: Job
JOB_ROLLUP: Job
JOB_SPEND_SYNC: Job
JOB_RECALCULATE: Job
JOB_RETRY_UNATTRIBUTED: Job
JOB_RECONCILE: Job
JOB_EXPORT: Job

class RecordTouchpointsRequest(_message.Message):
    __slots__ = ("site_id", "touchpoints")
    SITE_ID_FIELD_NUMBER: _ClassVar[int]
    TOUCHPOINTS_FIELD_NUMBER: _ClassVar[int]
    site_id: str
    touchpoints: _containers.RepeatedCompositeFieldContainer[_common_pb2.Touchpoint]
    def __init__(self, site_id: _Optional[str] = ..., touchpoints: _Optional[_Iterable[_Union[_common_pb2.Touchpoint, _Mapping]]] = ...) -> None: ...

class TouchpointResult(_message.Message):
    __slots__ = ("touchpoint_id", "status", "errors")
    TOUCHPOINT_ID_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    ERRORS_FIELD_NUMBER: _ClassVar[int]
    touchpoint_id: str
    status: TouchpointStatus
    errors: _containers.RepeatedCompositeFieldContainer[_common_pb2.FieldError]
    def __init__(self, touchpoint_id: _Optional[str] = ..., status: _Optional[_Union[TouchpointStatus, str]] = ..., errors: _Optional[_Iterable[_Union[_common_pb2.FieldError, _Mapping]]] = ...) -> None: ...

class RecordTouchpointsResponse(_message.Message):
    __slots__ = ("results",)
    RESULTS_FIELD_NUMBER: _ClassVar[int]
    results: _containers.RepeatedCompositeFieldContainer[TouchpointResult]
    def __init__(self, results: _Optional[_Iterable[_Union[TouchpointResult, _Mapping]]] = ...) -> None: ...

class GetConversionAttributionRequest(_message.Message):
    __slots__ = ("conversion_id", "models")
    CONVERSION_ID_FIELD_NUMBER: _ClassVar[int]
    MODELS_FIELD_NUMBER: _ClassVar[int]
    conversion_id: str
    models: _containers.RepeatedScalarFieldContainer[AttributionModel]
    def __init__(self, conversion_id: _Optional[str] = ..., models: _Optional[_Iterable[_Union[AttributionModel, str]]] = ...) -> None: ...

class TouchpointCredit(_message.Message):
    __slots__ = ("touchpoint_id", "channel", "campaign", "source", "medium", "occurred_at", "credit", "revenue")
    TOUCHPOINT_ID_FIELD_NUMBER: _ClassVar[int]
    CHANNEL_FIELD_NUMBER: _ClassVar[int]
    CAMPAIGN_FIELD_NUMBER: _ClassVar[int]
    SOURCE_FIELD_NUMBER: _ClassVar[int]
    MEDIUM_FIELD_NUMBER: _ClassVar[int]
    OCCURRED_AT_FIELD_NUMBER: _ClassVar[int]
    CREDIT_FIELD_NUMBER: _ClassVar[int]
    REVENUE_FIELD_NUMBER: _ClassVar[int]
    touchpoint_id: str
    channel: str
    campaign: str
    source: str
    medium: str
    occurred_at: _timestamp_pb2.Timestamp
    credit: _common_pb2.Decimal
    revenue: _common_pb2.Money
    def __init__(self, touchpoint_id: _Optional[str] = ..., channel: _Optional[str] = ..., campaign: _Optional[str] = ..., source: _Optional[str] = ..., medium: _Optional[str] = ..., occurred_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., credit: _Optional[_Union[_common_pb2.Decimal, _Mapping]] = ..., revenue: _Optional[_Union[_common_pb2.Money, _Mapping]] = ...) -> None: ...

class ModelAttribution(_message.Message):
    __slots__ = ("model", "credits", "computed_at")
    MODEL_FIELD_NUMBER: _ClassVar[int]
    CREDITS_FIELD_NUMBER: _ClassVar[int]
    COMPUTED_AT_FIELD_NUMBER: _ClassVar[int]
    model: AttributionModel
    credits: _containers.RepeatedCompositeFieldContainer[TouchpointCredit]
    computed_at: _timestamp_pb2.Timestamp
    def __init__(self, model: _Optional[_Union[AttributionModel, str]] = ..., credits: _Optional[_Iterable[_Union[TouchpointCredit, _Mapping]]] = ..., computed_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class GetConversionAttributionResponse(_message.Message):
    __slots__ = ("conversion_id", "site_id", "visitor_id", "event_time", "value", "attributions", "unattributed")
    CONVERSION_ID_FIELD_NUMBER: _ClassVar[int]
    SITE_ID_FIELD_NUMBER: _ClassVar[int]
    VISITOR_ID_FIELD_NUMBER: _ClassVar[int]
    EVENT_TIME_FIELD_NUMBER: _ClassVar[int]
    VALUE_FIELD_NUMBER: _ClassVar[int]
    ATTRIBUTIONS_FIELD_NUMBER: _ClassVar[int]
    UNATTRIBUTED_FIELD_NUMBER: _ClassVar[int]
    conversion_id: str
    site_id: str
    visitor_id: str
    event_time: _timestamp_pb2.Timestamp
    value: _common_pb2.Money
    attributions: _containers.RepeatedCompositeFieldContainer[ModelAttribution]
    unattributed: bool
    def __init__(self, conversion_id: _Optional[str] = ..., site_id: _Optional[str] = ..., visitor_id: _Optional[str] = ..., event_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., value: _Optional[_Union[_common_pb2.Money, _Mapping]] = ..., attributions: _Optional[_Iterable[_Union[ModelAttribution, _Mapping]]] = ..., unattributed: _Optional[bool] = ...) -> None: ...

class QueryCreditRequest(_message.Message):
    __slots__ = ("site_id", "model", "time_range", "group_by", "event_types")
    SITE_ID_FIELD_NUMBER: _ClassVar[int]
    MODEL_FIELD_NUMBER: _ClassVar[int]
    TIME_RANGE_FIELD_NUMBER: _ClassVar[int]
    GROUP_BY_FIELD_NUMBER: _ClassVar[int]
    EVENT_TYPES_FIELD_NUMBER: _ClassVar[int]
    site_id: str
    model: AttributionModel
    time_range: _common_pb2.TimeRange
    group_by: GroupBy
    event_types: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, site_id: _Optional[str] = ..., model: _Optional[_Union[AttributionModel, str]] = ..., time_range: _Optional[_Union[_common_pb2.TimeRange, _Mapping]] = ..., group_by: _Optional[_Union[GroupBy, str]] = ..., event_types: _Optional[_Iterable[str]] = ...) -> None: ...

class CreditRow(_message.Message):
    __slots__ = ("key", "conversions", "revenue")
    KEY_FIELD_NUMBER: _ClassVar[int]
    CONVERSIONS_FIELD_NUMBER: _ClassVar[int]
    REVENUE_FIELD_NUMBER: _ClassVar[int]
    key: str
    conversions: _common_pb2.Decimal
    revenue: _common_pb2.Money
    def __init__(self, key: _Optional[str] = ..., conversions: _Optional[_Union[_common_pb2.Decimal, _Mapping]] = ..., revenue: _Optional[_Union[_common_pb2.Money, _Mapping]] = ...) -> None: ...

class QueryCreditResponse(_message.Message):
    __slots__ = ("rows", "total_conversions", "total_revenue", "unattributed")
    ROWS_FIELD_NUMBER: _ClassVar[int]
    TOTAL_CONVERSIONS_FIELD_NUMBER: _ClassVar[int]
    TOTAL_REVENUE_FIELD_NUMBER: _ClassVar[int]
    UNATTRIBUTED_FIELD_NUMBER: _ClassVar[int]
    rows: _containers.RepeatedCompositeFieldContainer[CreditRow]
    total_conversions: _common_pb2.Decimal
    total_revenue: _containers.RepeatedCompositeFieldContainer[_common_pb2.Money]
    unattributed: _containers.RepeatedCompositeFieldContainer[CreditRow]
    def __init__(self, rows: _Optional[_Iterable[_Union[CreditRow, _Mapping]]] = ..., total_conversions: _Optional[_Union[_common_pb2.Decimal, _Mapping]] = ..., total_revenue: _Optional[_Iterable[_Union[_common_pb2.Money, _Mapping]]] = ..., unattributed: _Optional[_Iterable[_Union[CreditRow, _Mapping]]] = ...) -> None: ...

class CompareModelsRequest(_message.Message):
    __slots__ = ("site_id", "models", "time_range", "group_by", "event_types")
    SITE_ID_FIELD_NUMBER: _ClassVar[int]
    MODELS_FIELD_NUMBER: _ClassVar[int]
    TIME_RANGE_FIELD_NUMBER: _ClassVar[int]
    GROUP_BY_FIELD_NUMBER: _ClassVar[int]
    EVENT_TYPES_FIELD_NUMBER: _ClassVar[int]
    site_id: str
    models: _containers.RepeatedScalarFieldContainer[AttributionModel]
    time_range: _common_pb2.TimeRange
    group_by: GroupBy
    event_types: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, site_id: _Optional[str] = ..., models: _Optional[_Iterable[_Union[AttributionModel, str]]] = ..., time_range: _Optional[_Union[_common_pb2.TimeRange, _Mapping]] = ..., group_by: _Optional[_Union[GroupBy, str]] = ..., event_types: _Optional[_Iterable[str]] = ...) -> None: ...

class ModelCredit(_message.Message):
    __slots__ = ("model", "conversions", "revenue")
    MODEL_FIELD_NUMBER: _ClassVar[int]
    CONVERSIONS_FIELD_NUMBER: _ClassVar[int]
    REVENUE_FIELD_NUMBER: _ClassVar[int]
    model: AttributionModel
    conversions: _common_pb2.Decimal
    revenue: _common_pb2.Money
    def __init__(self, model: _Optional[_Union[AttributionModel, str]] = ..., conversions: _Optional[_Union[_common_pb2.Decimal, _Mapping]] = ..., revenue: _Optional[_Union[_common_pb2.Money, _Mapping]] = ...) -> None: ...

class ComparisonRow(_message.Message):
    __slots__ = ("key", "currency", "credits")
    KEY_FIELD_NUMBER: _ClassVar[int]
    CURRENCY_FIELD_NUMBER: _ClassVar[int]
    CREDITS_FIELD_NUMBER: _ClassVar[int]
    key: str
    currency: str
    credits: _containers.RepeatedCompositeFieldContainer[ModelCredit]
    def __init__(self, key: _Optional[str] = ..., currency: _Optional[str] = ..., credits: _Optional[_Iterable[_Union[ModelCredit, _Mapping]]] = ...) -> None: ...

class CompareModelsResponse(_message.Message):
    __slots__ = ("models", "rows")
    MODELS_FIELD_NUMBER: _ClassVar[int]
    ROWS_FIELD_NUMBER: _ClassVar[int]
    models: _containers.RepeatedScalarFieldContainer[AttributionModel]
    rows: _containers.RepeatedCompositeFieldContainer[ComparisonRow]
    def __init__(self, models: _Optional[_Iterable[_Union[AttributionModel, str]]] = ..., rows: _Optional[_Iterable[_Union[ComparisonRow, _Mapping]]] = ...) -> None: ...

class SpendEntry(_message.Message):
    __slots__ = ("channel", "campaign", "date", "amount", "platform", "account_id")
    CHANNEL_FIELD_NUMBER: _ClassVar[int]
    CAMPAIGN_FIELD_NUMBER: _ClassVar[int]
    DATE_FIELD_NUMBER: _ClassVar[int]
    AMOUNT_FIELD_NUMBER: _ClassVar[int]
    PLATFORM_FIELD_NUMBER: _ClassVar[int]
    ACCOUNT_ID_FIELD_NUMBER: _ClassVar[int]
    channel: str
    campaign: str
    date: str
    amount: _common_pb2.Money
    platform: str
    account_id: str
    def __init__(self, channel: _Optional[str] = ..., campaign: _Optional[str] = ..., date: _Optional[str] = ..., amount: _Optional[_Union[_common_pb2.Money, _Mapping]] = ..., platform: _Optional[str] = ..., account_id: _Optional[str] = ...) -> None: ...

class RecordSpendRequest(_message.Message):
    __slots__ = ("site_id", "entries")
    SITE_ID_FIELD_NUMBER: _ClassVar[int]
    ENTRIES_FIELD_NUMBER: _ClassVar[int]
    site_id: str
    entries: _containers.RepeatedCompositeFieldContainer[SpendEntry]
    def __init__(self, site_id: _Optional[str] = ..., entries: _Optional[_Iterable[_Union[SpendEntry, _Mapping]]] = ...) -> None: ...

class RecordSpendResponse(_message.Message):
    __slots__ = ("recorded", "errors")
    RECORDED_FIELD_NUMBER: _ClassVar[int]
    ERRORS_FIELD_NUMBER: _ClassVar[int]
    recorded: int
    errors: _containers.RepeatedCompositeFieldContainer[_common_pb2.FieldError]
    def __init__(self, recorded: _Optional[int] = ..., errors: _Optional[_Iterable[_Union[_common_pb2.FieldError, _Mapping]]] = ...) -> None: ...

class GetRoasRequest(_message.Message):
    __slots__ = ("site_id", "model", "time_range", "group_by")
    SITE_ID_FIELD_NUMBER: _ClassVar[int]
    MODEL_FIELD_NUMBER: _ClassVar[int]
    TIME_RANGE_FIELD_NUMBER: _ClassVar[int]
    GROUP_BY_FIELD_NUMBER: _ClassVar[int]
    site_id: str
    model: AttributionModel
    time_range: _common_pb2.TimeRange
    group_by: GroupBy
    def __init__(self, site_id: _Optional[str] = ..., model: _Optional[_Union[AttributionModel, str]] = ..., time_range: _Optional[_Union[_common_pb2.TimeRange, _Mapping]] = ..., group_by: _Optional[_Union[GroupBy, str]] = ...) -> None: ...

class RoasRow(_message.Message):
    __slots__ = ("key", "spend", "revenue", "conversions", "roas", "cost_per_conversion")
    KEY_FIELD_NUMBER: _ClassVar[int]
    SPEND_FIELD_NUMBER: _ClassVar[int]
    REVENUE_FIELD_NUMBER: _ClassVar[int]
    CONVERSIONS_FIELD_NUMBER: _ClassVar[int]
    ROAS_FIELD_NUMBER: _ClassVar[int]
    COST_PER_CONVERSION_FIELD_NUMBER: _ClassVar[int]
    key: str
    spend: _common_pb2.Money
    revenue: _common_pb2.Money
    conversions: _common_pb2.Decimal
    roas: _common_pb2.Decimal
    cost_per_conversion: _common_pb2.Money
    def __init__(self, key: _Optional[str] = ..., spend: _Optional[_Union[_common_pb2.Money, _Mapping]] = ..., revenue: _Optional[_Union[_common_pb2.Money, _Mapping]] = ..., conversions: _Optional[_Union[_common_pb2.Decimal, _Mapping]] = ..., roas: _Optional[_Union[_common_pb2.Decimal, _Mapping]] = ..., cost_per_conversion: _Optional[_Union[_common_pb2.Money, _Mapping]] = ...) -> None: ...

class GetRoasResponse(_message.Message):
    __slots__ = ("rows", "total", "currency")
    ROWS_FIELD_NUMBER: _ClassVar[int]
    TOTAL_FIELD_NUMBER: _ClassVar[int]
    CURRENCY_FIELD_NUMBER: _ClassVar[int]
    rows: _containers.RepeatedCompositeFieldContainer[RoasRow]
    total: RoasRow
    currency: str
    def __init__(self, rows: _Optional[_Iterable[_Union[RoasRow, _Mapping]]] = ..., total: _Optional[_Union[RoasRow, _Mapping]] = ..., currency: _Optional[str] = ...) -> None: ...

class ExchangeRate(_message.Message):
    __slots__ = ("date", "currency", "rate")
    DATE_FIELD_NUMBER: _ClassVar[int]
    CURRENCY_FIELD_NUMBER: _ClassVar[int]
    RATE_FIELD_NUMBER: _ClassVar[int]
    date: str
    currency: str
    rate: _common_pb2.Decimal
    def __init__(self, date: _Optional[str] = ..., currency: _Optional[str] = ..., rate: _Optional[_Union[_common_pb2.Decimal, _Mapping]] = ...) -> None: ...

class RecordExchangeRatesRequest(_message.Message):
    __slots__ = ("site_id", "rates")
    SITE_ID_FIELD_NUMBER: _ClassVar[int]
    RATES_FIELD_NUMBER: _ClassVar[int]
    site_id: str
    rates: _containers.RepeatedCompositeFieldContainer[ExchangeRate]
    def __init__(self, site_id: _Optional[str] = ..., rates: _Optional[_Iterable[_Union[ExchangeRate, _Mapping]]] = ...) -> None: ...

class RecordExchangeRatesResponse(_message.Message):
    __slots__ = ("recorded", "errors")
    RECORDED_FIELD_NUMBER: _ClassVar[int]
    ERRORS_FIELD_NUMBER: _ClassVar[int]
    recorded: int
    errors: _containers.RepeatedCompositeFieldContainer[_common_pb2.FieldError]
    def __init__(self, recorded: _Optional[int] = ..., errors: _Optional[_Iterable[_Union[_common_pb2.FieldError, _Mapping]]] = ...) -> None: ...

class ListSpendRequest(_message.Message):
    __slots__ = ("site_id", "time_range")
    SITE_ID_FIELD_NUMBER: _ClassVar[int]
    TIME_RANGE_FIELD_NUMBER: _ClassVar[int]
    site_id: str
    time_range: _common_pb2.TimeRange
    def __init__(self, site_id: _Optional[str] = ..., time_range: _Optional[_Union[_common_pb2.TimeRange, _Mapping]] = ...) -> None: ...

class ListSpendResponse(_message.Message):
    __slots__ = ("entries",)
    ENTRIES_FIELD_NUMBER: _ClassVar[int]
    entries: _containers.RepeatedCompositeFieldContainer[SpendEntry]
    def __init__(self, entries: _Optional[_Iterable[_Union[SpendEntry, _Mapping]]] = ...) -> None: ...

class RunJobRequest(_message.Message):
    __slots__ = ("job", "site_id", "days")
    JOB_FIELD_NUMBER: _ClassVar[int]
    SITE_ID_FIELD_NUMBER: _ClassVar[int]
    DAYS_FIELD_NUMBER: _ClassVar[int]
    job: Job
    site_id: str
    days: int
    def __init__(self, job: _Optional[_Union[Job, str]] = ..., site_id: _Optional[str] = ..., days: _Optional[int] = ...) -> None: ...

class JobRun(_message.Message):
    __slots__ = ("job", "scope", "started_at", "duration_seconds", "outcome", "counts")
    class CountsEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: int
        def __init__(self, key: _Optional[str] = ..., value: _Optional[int] = ...) -> None: ...
    JOB_FIELD_NUMBER: _ClassVar[int]
    SCOPE_FIELD_NUMBER: _ClassVar[int]
    STARTED_AT_FIELD_NUMBER: _ClassVar[int]
    DURATION_SECONDS_FIELD_NUMBER: _ClassVar[int]
    OUTCOME_FIELD_NUMBER: _ClassVar[int]
    COUNTS_FIELD_NUMBER: _ClassVar[int]
    job: Job
    scope: str
    started_at: _timestamp_pb2.Timestamp
    duration_seconds: float
    outcome: str
    counts: _containers.ScalarMap[str, int]
    def __init__(self, job: _Optional[_Union[Job, str]] = ..., scope: _Optional[str] = ..., started_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., duration_seconds: _Optional[float] = ..., outcome: _Optional[str] = ..., counts: _Optional[_Mapping[str, int]] = ...) -> None: ...

class RunJobResponse(_message.Message):
    __slots__ = ("run",)
    RUN_FIELD_NUMBER: _ClassVar[int]
    run: JobRun
    def __init__(self, run: _Optional[_Union[JobRun, _Mapping]] = ...) -> None: ...

class ListJobsRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class ListJobsResponse(_message.Message):
    __slots__ = ("runs",)
    RUNS_FIELD_NUMBER: _ClassVar[int]
    runs: _containers.RepeatedCompositeFieldContainer[JobRun]
    def __init__(self, runs: _Optional[_Iterable[_Union[JobRun, _Mapping]]] = ...) -> None: ...

class AnalyzePathsRequest(_message.Message):
    __slots__ = ("site_id", "time_range", "group_by", "max_path_length", "top_n")
    SITE_ID_FIELD_NUMBER: _ClassVar[int]
    TIME_RANGE_FIELD_NUMBER: _ClassVar[int]
    GROUP_BY_FIELD_NUMBER: _ClassVar[int]
    MAX_PATH_LENGTH_FIELD_NUMBER: _ClassVar[int]
    TOP_N_FIELD_NUMBER: _ClassVar[int]
    site_id: str
    time_range: _common_pb2.TimeRange
    group_by: GroupBy
    max_path_length: int
    top_n: int
    def __init__(self, site_id: _Optional[str] = ..., time_range: _Optional[_Union[_common_pb2.TimeRange, _Mapping]] = ..., group_by: _Optional[_Union[GroupBy, str]] = ..., max_path_length: _Optional[int] = ..., top_n: _Optional[int] = ...) -> None: ...

class PathStat(_message.Message):
    __slots__ = ("steps", "conversions", "revenue", "share", "average_time_to_conversion")
    STEPS_FIELD_NUMBER: _ClassVar[int]
    CONVERSIONS_FIELD_NUMBER: _ClassVar[int]
    REVENUE_FIELD_NUMBER: _ClassVar[int]
    SHARE_FIELD_NUMBER: _ClassVar[int]
    AVERAGE_TIME_TO_CONVERSION_FIELD_NUMBER: _ClassVar[int]
    steps: _containers.RepeatedScalarFieldContainer[str]
    conversions: int
    revenue: _containers.RepeatedCompositeFieldContainer[_common_pb2.Money]
    share: _common_pb2.Decimal
    average_time_to_conversion: _duration_pb2.Duration
    def __init__(self, steps: _Optional[_Iterable[str]] = ..., conversions: _Optional[int] = ..., revenue: _Optional[_Iterable[_Union[_common_pb2.Money, _Mapping]]] = ..., share: _Optional[_Union[_common_pb2.Decimal, _Mapping]] = ..., average_time_to_conversion: _Optional[_Union[datetime.timedelta, _duration_pb2.Duration, _Mapping]] = ...) -> None: ...

class StepStat(_message.Message):
    __slots__ = ("key", "touches", "first_touch_share", "last_touch_share")
    KEY_FIELD_NUMBER: _ClassVar[int]
    TOUCHES_FIELD_NUMBER: _ClassVar[int]
    FIRST_TOUCH_SHARE_FIELD_NUMBER: _ClassVar[int]
    LAST_TOUCH_SHARE_FIELD_NUMBER: _ClassVar[int]
    key: str
    touches: int
    first_touch_share: _common_pb2.Decimal
    last_touch_share: _common_pb2.Decimal
    def __init__(self, key: _Optional[str] = ..., touches: _Optional[int] = ..., first_touch_share: _Optional[_Union[_common_pb2.Decimal, _Mapping]] = ..., last_touch_share: _Optional[_Union[_common_pb2.Decimal, _Mapping]] = ...) -> None: ...

class AnalyzePathsResponse(_message.Message):
    __slots__ = ("paths", "total_conversions", "average_path_length", "average_time_to_conversion", "steps")
    PATHS_FIELD_NUMBER: _ClassVar[int]
    TOTAL_CONVERSIONS_FIELD_NUMBER: _ClassVar[int]
    AVERAGE_PATH_LENGTH_FIELD_NUMBER: _ClassVar[int]
    AVERAGE_TIME_TO_CONVERSION_FIELD_NUMBER: _ClassVar[int]
    STEPS_FIELD_NUMBER: _ClassVar[int]
    paths: _containers.RepeatedCompositeFieldContainer[PathStat]
    total_conversions: int
    average_path_length: _common_pb2.Decimal
    average_time_to_conversion: _duration_pb2.Duration
    steps: _containers.RepeatedCompositeFieldContainer[StepStat]
    def __init__(self, paths: _Optional[_Iterable[_Union[PathStat, _Mapping]]] = ..., total_conversions: _Optional[int] = ..., average_path_length: _Optional[_Union[_common_pb2.Decimal, _Mapping]] = ..., average_time_to_conversion: _Optional[_Union[datetime.timedelta, _duration_pb2.Duration, _Mapping]] = ..., steps: _Optional[_Iterable[_Union[StepStat, _Mapping]]] = ...) -> None: ...

class RecalculateRequest(_message.Message):
    __slots__ = ("site_id", "time_range", "models")
    SITE_ID_FIELD_NUMBER: _ClassVar[int]
    TIME_RANGE_FIELD_NUMBER: _ClassVar[int]
    MODELS_FIELD_NUMBER: _ClassVar[int]
    site_id: str
    time_range: _common_pb2.TimeRange
    models: _containers.RepeatedScalarFieldContainer[AttributionModel]
    def __init__(self, site_id: _Optional[str] = ..., time_range: _Optional[_Union[_common_pb2.TimeRange, _Mapping]] = ..., models: _Optional[_Iterable[_Union[AttributionModel, str]]] = ...) -> None: ...

class RecalculateResponse(_message.Message):
    __slots__ = ("conversions_recalculated", "completed_at")
    CONVERSIONS_RECALCULATED_FIELD_NUMBER: _ClassVar[int]
    COMPLETED_AT_FIELD_NUMBER: _ClassVar[int]
    conversions_recalculated: int
    completed_at: _timestamp_pb2.Timestamp
    def __init__(self, conversions_recalculated: _Optional[int] = ..., completed_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...
