import datetime

from convhub.common.v1 import common_pb2 as _common_pb2
from google.protobuf import timestamp_pb2 as _timestamp_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class BatchStatus(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    BATCH_STATUS_UNSPECIFIED: _ClassVar[BatchStatus]
    BATCH_STATUS_OPEN: _ClassVar[BatchStatus]
    BATCH_STATUS_SENDING: _ClassVar[BatchStatus]
    BATCH_STATUS_SUCCEEDED: _ClassVar[BatchStatus]
    BATCH_STATUS_PARTIALLY_FAILED: _ClassVar[BatchStatus]
    BATCH_STATUS_FAILED: _ClassVar[BatchStatus]
    BATCH_STATUS_RETRY_SCHEDULED: _ClassVar[BatchStatus]
    BATCH_STATUS_SPLIT: _ClassVar[BatchStatus]

class BreakerState(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    BREAKER_STATE_UNSPECIFIED: _ClassVar[BreakerState]
    BREAKER_STATE_CLOSED: _ClassVar[BreakerState]
    BREAKER_STATE_OPEN: _ClassVar[BreakerState]
    BREAKER_STATE_HALF_OPEN: _ClassVar[BreakerState]
BATCH_STATUS_UNSPECIFIED: BatchStatus
BATCH_STATUS_OPEN: BatchStatus
BATCH_STATUS_SENDING: BatchStatus
BATCH_STATUS_SUCCEEDED: BatchStatus
BATCH_STATUS_PARTIALLY_FAILED: BatchStatus
BATCH_STATUS_FAILED: BatchStatus
BATCH_STATUS_RETRY_SCHEDULED: BatchStatus
BATCH_STATUS_SPLIT: BatchStatus
BREAKER_STATE_UNSPECIFIED: BreakerState
BREAKER_STATE_CLOSED: BreakerState
BREAKER_STATE_OPEN: BreakerState
BREAKER_STATE_HALF_OPEN: BreakerState

class GetDeliveryRequest(_message.Message):
    __slots__ = ("conversion_id",)
    CONVERSION_ID_FIELD_NUMBER: _ClassVar[int]
    conversion_id: str
    def __init__(self, conversion_id: _Optional[str] = ...) -> None: ...

class DeliveryAttempt(_message.Message):
    __slots__ = ("number", "batch_id", "started_at", "latency_ms", "http_status", "outcome", "error_class", "platform_code", "error_message")
    NUMBER_FIELD_NUMBER: _ClassVar[int]
    BATCH_ID_FIELD_NUMBER: _ClassVar[int]
    STARTED_AT_FIELD_NUMBER: _ClassVar[int]
    LATENCY_MS_FIELD_NUMBER: _ClassVar[int]
    HTTP_STATUS_FIELD_NUMBER: _ClassVar[int]
    OUTCOME_FIELD_NUMBER: _ClassVar[int]
    ERROR_CLASS_FIELD_NUMBER: _ClassVar[int]
    PLATFORM_CODE_FIELD_NUMBER: _ClassVar[int]
    ERROR_MESSAGE_FIELD_NUMBER: _ClassVar[int]
    number: int
    batch_id: str
    started_at: _timestamp_pb2.Timestamp
    latency_ms: int
    http_status: int
    outcome: _common_pb2.DeliveryStatus
    error_class: _common_pb2.ErrorClass
    platform_code: str
    error_message: str
    def __init__(self, number: _Optional[int] = ..., batch_id: _Optional[str] = ..., started_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., latency_ms: _Optional[int] = ..., http_status: _Optional[int] = ..., outcome: _Optional[_Union[_common_pb2.DeliveryStatus, str]] = ..., error_class: _Optional[_Union[_common_pb2.ErrorClass, str]] = ..., platform_code: _Optional[str] = ..., error_message: _Optional[str] = ...) -> None: ...

class Delivery(_message.Message):
    __slots__ = ("state", "conversion_id", "site_id", "event_id", "created_at", "confirmed_at", "next_attempt_at", "history")
    STATE_FIELD_NUMBER: _ClassVar[int]
    CONVERSION_ID_FIELD_NUMBER: _ClassVar[int]
    SITE_ID_FIELD_NUMBER: _ClassVar[int]
    EVENT_ID_FIELD_NUMBER: _ClassVar[int]
    CREATED_AT_FIELD_NUMBER: _ClassVar[int]
    CONFIRMED_AT_FIELD_NUMBER: _ClassVar[int]
    NEXT_ATTEMPT_AT_FIELD_NUMBER: _ClassVar[int]
    HISTORY_FIELD_NUMBER: _ClassVar[int]
    state: _common_pb2.DeliveryState
    conversion_id: str
    site_id: str
    event_id: str
    created_at: _timestamp_pb2.Timestamp
    confirmed_at: _timestamp_pb2.Timestamp
    next_attempt_at: _timestamp_pb2.Timestamp
    history: _containers.RepeatedCompositeFieldContainer[DeliveryAttempt]
    def __init__(self, state: _Optional[_Union[_common_pb2.DeliveryState, _Mapping]] = ..., conversion_id: _Optional[str] = ..., site_id: _Optional[str] = ..., event_id: _Optional[str] = ..., created_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., confirmed_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., next_attempt_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., history: _Optional[_Iterable[_Union[DeliveryAttempt, _Mapping]]] = ...) -> None: ...

class GetDeliveryResponse(_message.Message):
    __slots__ = ("platform", "deliveries")
    PLATFORM_FIELD_NUMBER: _ClassVar[int]
    DELIVERIES_FIELD_NUMBER: _ClassVar[int]
    platform: _common_pb2.Platform
    deliveries: _containers.RepeatedCompositeFieldContainer[Delivery]
    def __init__(self, platform: _Optional[_Union[_common_pb2.Platform, str]] = ..., deliveries: _Optional[_Iterable[_Union[Delivery, _Mapping]]] = ...) -> None: ...

class GetBatchRequest(_message.Message):
    __slots__ = ("batch_id",)
    BATCH_ID_FIELD_NUMBER: _ClassVar[int]
    batch_id: str
    def __init__(self, batch_id: _Optional[str] = ...) -> None: ...

class BatchEventOutcome(_message.Message):
    __slots__ = ("conversion_id", "delivery_id", "site_id", "event_id", "status", "error_class", "platform_code", "error_message")
    CONVERSION_ID_FIELD_NUMBER: _ClassVar[int]
    DELIVERY_ID_FIELD_NUMBER: _ClassVar[int]
    SITE_ID_FIELD_NUMBER: _ClassVar[int]
    EVENT_ID_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    ERROR_CLASS_FIELD_NUMBER: _ClassVar[int]
    PLATFORM_CODE_FIELD_NUMBER: _ClassVar[int]
    ERROR_MESSAGE_FIELD_NUMBER: _ClassVar[int]
    conversion_id: str
    delivery_id: str
    site_id: str
    event_id: str
    status: _common_pb2.DeliveryStatus
    error_class: _common_pb2.ErrorClass
    platform_code: str
    error_message: str
    def __init__(self, conversion_id: _Optional[str] = ..., delivery_id: _Optional[str] = ..., site_id: _Optional[str] = ..., event_id: _Optional[str] = ..., status: _Optional[_Union[_common_pb2.DeliveryStatus, str]] = ..., error_class: _Optional[_Union[_common_pb2.ErrorClass, str]] = ..., platform_code: _Optional[str] = ..., error_message: _Optional[str] = ...) -> None: ...

class Batch(_message.Message):
    __slots__ = ("batch_id", "platform", "account_id", "status", "parent_batch_id", "event_count", "succeeded_count", "failed_count", "attempts", "created_at", "sent_at", "completed_at", "platform_request_id", "platform_response_excerpt", "outcomes", "platform_status")
    BATCH_ID_FIELD_NUMBER: _ClassVar[int]
    PLATFORM_FIELD_NUMBER: _ClassVar[int]
    ACCOUNT_ID_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    PARENT_BATCH_ID_FIELD_NUMBER: _ClassVar[int]
    EVENT_COUNT_FIELD_NUMBER: _ClassVar[int]
    SUCCEEDED_COUNT_FIELD_NUMBER: _ClassVar[int]
    FAILED_COUNT_FIELD_NUMBER: _ClassVar[int]
    ATTEMPTS_FIELD_NUMBER: _ClassVar[int]
    CREATED_AT_FIELD_NUMBER: _ClassVar[int]
    SENT_AT_FIELD_NUMBER: _ClassVar[int]
    COMPLETED_AT_FIELD_NUMBER: _ClassVar[int]
    PLATFORM_REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    PLATFORM_RESPONSE_EXCERPT_FIELD_NUMBER: _ClassVar[int]
    OUTCOMES_FIELD_NUMBER: _ClassVar[int]
    PLATFORM_STATUS_FIELD_NUMBER: _ClassVar[int]
    batch_id: str
    platform: _common_pb2.Platform
    account_id: str
    status: BatchStatus
    parent_batch_id: str
    event_count: int
    succeeded_count: int
    failed_count: int
    attempts: int
    created_at: _timestamp_pb2.Timestamp
    sent_at: _timestamp_pb2.Timestamp
    completed_at: _timestamp_pb2.Timestamp
    platform_request_id: str
    platform_response_excerpt: str
    outcomes: _containers.RepeatedCompositeFieldContainer[BatchEventOutcome]
    platform_status: PlatformRequestStatus
    def __init__(self, batch_id: _Optional[str] = ..., platform: _Optional[_Union[_common_pb2.Platform, str]] = ..., account_id: _Optional[str] = ..., status: _Optional[_Union[BatchStatus, str]] = ..., parent_batch_id: _Optional[str] = ..., event_count: _Optional[int] = ..., succeeded_count: _Optional[int] = ..., failed_count: _Optional[int] = ..., attempts: _Optional[int] = ..., created_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., sent_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., completed_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., platform_request_id: _Optional[str] = ..., platform_response_excerpt: _Optional[str] = ..., outcomes: _Optional[_Iterable[_Union[BatchEventOutcome, _Mapping]]] = ..., platform_status: _Optional[_Union[PlatformRequestStatus, _Mapping]] = ...) -> None: ...

class PlatformRequestStatus(_message.Message):
    __slots__ = ("state", "final", "record_count", "error_counts", "warning_counts", "checks", "checked_at")
    class ErrorCountsEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: int
        def __init__(self, key: _Optional[str] = ..., value: _Optional[int] = ...) -> None: ...
    class WarningCountsEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: int
        def __init__(self, key: _Optional[str] = ..., value: _Optional[int] = ...) -> None: ...
    STATE_FIELD_NUMBER: _ClassVar[int]
    FINAL_FIELD_NUMBER: _ClassVar[int]
    RECORD_COUNT_FIELD_NUMBER: _ClassVar[int]
    ERROR_COUNTS_FIELD_NUMBER: _ClassVar[int]
    WARNING_COUNTS_FIELD_NUMBER: _ClassVar[int]
    CHECKS_FIELD_NUMBER: _ClassVar[int]
    CHECKED_AT_FIELD_NUMBER: _ClassVar[int]
    state: str
    final: bool
    record_count: int
    error_counts: _containers.ScalarMap[str, int]
    warning_counts: _containers.ScalarMap[str, int]
    checks: int
    checked_at: _timestamp_pb2.Timestamp
    def __init__(self, state: _Optional[str] = ..., final: _Optional[bool] = ..., record_count: _Optional[int] = ..., error_counts: _Optional[_Mapping[str, int]] = ..., warning_counts: _Optional[_Mapping[str, int]] = ..., checks: _Optional[int] = ..., checked_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class GetBatchResponse(_message.Message):
    __slots__ = ("batch",)
    BATCH_FIELD_NUMBER: _ClassVar[int]
    batch: Batch
    def __init__(self, batch: _Optional[_Union[Batch, _Mapping]] = ...) -> None: ...

class DeadLetterFilter(_message.Message):
    __slots__ = ("site_id", "error_class", "time_range", "account_id", "include_replayed")
    SITE_ID_FIELD_NUMBER: _ClassVar[int]
    ERROR_CLASS_FIELD_NUMBER: _ClassVar[int]
    TIME_RANGE_FIELD_NUMBER: _ClassVar[int]
    ACCOUNT_ID_FIELD_NUMBER: _ClassVar[int]
    INCLUDE_REPLAYED_FIELD_NUMBER: _ClassVar[int]
    site_id: str
    error_class: _common_pb2.ErrorClass
    time_range: _common_pb2.TimeRange
    account_id: str
    include_replayed: bool
    def __init__(self, site_id: _Optional[str] = ..., error_class: _Optional[_Union[_common_pb2.ErrorClass, str]] = ..., time_range: _Optional[_Union[_common_pb2.TimeRange, _Mapping]] = ..., account_id: _Optional[str] = ..., include_replayed: _Optional[bool] = ...) -> None: ...

class DeadLetter(_message.Message):
    __slots__ = ("dead_letter_id", "delivery_id", "conversion_id", "site_id", "platform", "account_id", "event_id", "reason", "error_class", "platform_code", "last_error", "attempts", "batch_id", "first_attempt_at", "dead_lettered_at", "replayed_at", "replay_count")
    DEAD_LETTER_ID_FIELD_NUMBER: _ClassVar[int]
    DELIVERY_ID_FIELD_NUMBER: _ClassVar[int]
    CONVERSION_ID_FIELD_NUMBER: _ClassVar[int]
    SITE_ID_FIELD_NUMBER: _ClassVar[int]
    PLATFORM_FIELD_NUMBER: _ClassVar[int]
    ACCOUNT_ID_FIELD_NUMBER: _ClassVar[int]
    EVENT_ID_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    ERROR_CLASS_FIELD_NUMBER: _ClassVar[int]
    PLATFORM_CODE_FIELD_NUMBER: _ClassVar[int]
    LAST_ERROR_FIELD_NUMBER: _ClassVar[int]
    ATTEMPTS_FIELD_NUMBER: _ClassVar[int]
    BATCH_ID_FIELD_NUMBER: _ClassVar[int]
    FIRST_ATTEMPT_AT_FIELD_NUMBER: _ClassVar[int]
    DEAD_LETTERED_AT_FIELD_NUMBER: _ClassVar[int]
    REPLAYED_AT_FIELD_NUMBER: _ClassVar[int]
    REPLAY_COUNT_FIELD_NUMBER: _ClassVar[int]
    dead_letter_id: str
    delivery_id: str
    conversion_id: str
    site_id: str
    platform: _common_pb2.Platform
    account_id: str
    event_id: str
    reason: str
    error_class: _common_pb2.ErrorClass
    platform_code: str
    last_error: str
    attempts: int
    batch_id: str
    first_attempt_at: _timestamp_pb2.Timestamp
    dead_lettered_at: _timestamp_pb2.Timestamp
    replayed_at: _timestamp_pb2.Timestamp
    replay_count: int
    def __init__(self, dead_letter_id: _Optional[str] = ..., delivery_id: _Optional[str] = ..., conversion_id: _Optional[str] = ..., site_id: _Optional[str] = ..., platform: _Optional[_Union[_common_pb2.Platform, str]] = ..., account_id: _Optional[str] = ..., event_id: _Optional[str] = ..., reason: _Optional[str] = ..., error_class: _Optional[_Union[_common_pb2.ErrorClass, str]] = ..., platform_code: _Optional[str] = ..., last_error: _Optional[str] = ..., attempts: _Optional[int] = ..., batch_id: _Optional[str] = ..., first_attempt_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., dead_lettered_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., replayed_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., replay_count: _Optional[int] = ...) -> None: ...

class ListDeadLettersRequest(_message.Message):
    __slots__ = ("filter", "page_size", "page_token")
    FILTER_FIELD_NUMBER: _ClassVar[int]
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    filter: DeadLetterFilter
    page_size: int
    page_token: str
    def __init__(self, filter: _Optional[_Union[DeadLetterFilter, _Mapping]] = ..., page_size: _Optional[int] = ..., page_token: _Optional[str] = ...) -> None: ...

class ListDeadLettersResponse(_message.Message):
    __slots__ = ("dead_letters", "next_page_token", "total_count")
    DEAD_LETTERS_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    TOTAL_COUNT_FIELD_NUMBER: _ClassVar[int]
    dead_letters: _containers.RepeatedCompositeFieldContainer[DeadLetter]
    next_page_token: str
    total_count: int
    def __init__(self, dead_letters: _Optional[_Iterable[_Union[DeadLetter, _Mapping]]] = ..., next_page_token: _Optional[str] = ..., total_count: _Optional[int] = ...) -> None: ...

class DeadLetterIds(_message.Message):
    __slots__ = ("ids",)
    IDS_FIELD_NUMBER: _ClassVar[int]
    ids: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, ids: _Optional[_Iterable[str]] = ...) -> None: ...

class ReplayDeadLettersRequest(_message.Message):
    __slots__ = ("ids", "filter", "dry_run", "limit")
    IDS_FIELD_NUMBER: _ClassVar[int]
    FILTER_FIELD_NUMBER: _ClassVar[int]
    DRY_RUN_FIELD_NUMBER: _ClassVar[int]
    LIMIT_FIELD_NUMBER: _ClassVar[int]
    ids: DeadLetterIds
    filter: DeadLetterFilter
    dry_run: bool
    limit: int
    def __init__(self, ids: _Optional[_Union[DeadLetterIds, _Mapping]] = ..., filter: _Optional[_Union[DeadLetterFilter, _Mapping]] = ..., dry_run: _Optional[bool] = ..., limit: _Optional[int] = ...) -> None: ...

class ReplayDeadLettersResponse(_message.Message):
    __slots__ = ("matched", "replayed", "not_found_ids")
    MATCHED_FIELD_NUMBER: _ClassVar[int]
    REPLAYED_FIELD_NUMBER: _ClassVar[int]
    NOT_FOUND_IDS_FIELD_NUMBER: _ClassVar[int]
    matched: int
    replayed: int
    not_found_ids: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, matched: _Optional[int] = ..., replayed: _Optional[int] = ..., not_found_ids: _Optional[_Iterable[str]] = ...) -> None: ...

class GetStatsRequest(_message.Message):
    __slots__ = ("window_seconds", "site_id")
    WINDOW_SECONDS_FIELD_NUMBER: _ClassVar[int]
    SITE_ID_FIELD_NUMBER: _ClassVar[int]
    window_seconds: int
    site_id: str
    def __init__(self, window_seconds: _Optional[int] = ..., site_id: _Optional[str] = ...) -> None: ...

class AccountStats(_message.Message):
    __slots__ = ("account_id", "breaker_state", "consecutive_failures", "breaker_opened_at", "backlog", "batches_in_flight", "events_per_second", "success_rate")
    ACCOUNT_ID_FIELD_NUMBER: _ClassVar[int]
    BREAKER_STATE_FIELD_NUMBER: _ClassVar[int]
    CONSECUTIVE_FAILURES_FIELD_NUMBER: _ClassVar[int]
    BREAKER_OPENED_AT_FIELD_NUMBER: _ClassVar[int]
    BACKLOG_FIELD_NUMBER: _ClassVar[int]
    BATCHES_IN_FLIGHT_FIELD_NUMBER: _ClassVar[int]
    EVENTS_PER_SECOND_FIELD_NUMBER: _ClassVar[int]
    SUCCESS_RATE_FIELD_NUMBER: _ClassVar[int]
    account_id: str
    breaker_state: BreakerState
    consecutive_failures: int
    breaker_opened_at: _timestamp_pb2.Timestamp
    backlog: int
    batches_in_flight: int
    events_per_second: float
    success_rate: float
    def __init__(self, account_id: _Optional[str] = ..., breaker_state: _Optional[_Union[BreakerState, str]] = ..., consecutive_failures: _Optional[int] = ..., breaker_opened_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., backlog: _Optional[int] = ..., batches_in_flight: _Optional[int] = ..., events_per_second: _Optional[float] = ..., success_rate: _Optional[float] = ...) -> None: ...

class GetStatsResponse(_message.Message):
    __slots__ = ("platform", "as_of", "window_seconds", "events_per_second", "success_rate", "confirmed", "failed", "dead_lettered", "retries", "backlog", "stream_pending", "dead_letter_depth", "accounts", "request_states", "platform_error_counts", "requests_awaiting_status", "deliveries_received", "match_key_coverage", "match_quality")
    class RequestStatesEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: int
        def __init__(self, key: _Optional[str] = ..., value: _Optional[int] = ...) -> None: ...
    class PlatformErrorCountsEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: int
        def __init__(self, key: _Optional[str] = ..., value: _Optional[int] = ...) -> None: ...
    PLATFORM_FIELD_NUMBER: _ClassVar[int]
    AS_OF_FIELD_NUMBER: _ClassVar[int]
    WINDOW_SECONDS_FIELD_NUMBER: _ClassVar[int]
    EVENTS_PER_SECOND_FIELD_NUMBER: _ClassVar[int]
    SUCCESS_RATE_FIELD_NUMBER: _ClassVar[int]
    CONFIRMED_FIELD_NUMBER: _ClassVar[int]
    FAILED_FIELD_NUMBER: _ClassVar[int]
    DEAD_LETTERED_FIELD_NUMBER: _ClassVar[int]
    RETRIES_FIELD_NUMBER: _ClassVar[int]
    BACKLOG_FIELD_NUMBER: _ClassVar[int]
    STREAM_PENDING_FIELD_NUMBER: _ClassVar[int]
    DEAD_LETTER_DEPTH_FIELD_NUMBER: _ClassVar[int]
    ACCOUNTS_FIELD_NUMBER: _ClassVar[int]
    REQUEST_STATES_FIELD_NUMBER: _ClassVar[int]
    PLATFORM_ERROR_COUNTS_FIELD_NUMBER: _ClassVar[int]
    REQUESTS_AWAITING_STATUS_FIELD_NUMBER: _ClassVar[int]
    DELIVERIES_RECEIVED_FIELD_NUMBER: _ClassVar[int]
    MATCH_KEY_COVERAGE_FIELD_NUMBER: _ClassVar[int]
    MATCH_QUALITY_FIELD_NUMBER: _ClassVar[int]
    platform: _common_pb2.Platform
    as_of: _timestamp_pb2.Timestamp
    window_seconds: int
    events_per_second: float
    success_rate: float
    confirmed: int
    failed: int
    dead_lettered: int
    retries: int
    backlog: int
    stream_pending: int
    dead_letter_depth: int
    accounts: _containers.RepeatedCompositeFieldContainer[AccountStats]
    request_states: _containers.ScalarMap[str, int]
    platform_error_counts: _containers.ScalarMap[str, int]
    requests_awaiting_status: int
    deliveries_received: int
    match_key_coverage: _containers.RepeatedCompositeFieldContainer[MatchKeyShare]
    match_quality: float
    def __init__(self, platform: _Optional[_Union[_common_pb2.Platform, str]] = ..., as_of: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., window_seconds: _Optional[int] = ..., events_per_second: _Optional[float] = ..., success_rate: _Optional[float] = ..., confirmed: _Optional[int] = ..., failed: _Optional[int] = ..., dead_lettered: _Optional[int] = ..., retries: _Optional[int] = ..., backlog: _Optional[int] = ..., stream_pending: _Optional[int] = ..., dead_letter_depth: _Optional[int] = ..., accounts: _Optional[_Iterable[_Union[AccountStats, _Mapping]]] = ..., request_states: _Optional[_Mapping[str, int]] = ..., platform_error_counts: _Optional[_Mapping[str, int]] = ..., requests_awaiting_status: _Optional[int] = ..., deliveries_received: _Optional[int] = ..., match_key_coverage: _Optional[_Iterable[_Union[MatchKeyShare, _Mapping]]] = ..., match_quality: _Optional[float] = ...) -> None: ...

class MatchKeyShare(_message.Message):
    __slots__ = ("key", "share")
    KEY_FIELD_NUMBER: _ClassVar[int]
    SHARE_FIELD_NUMBER: _ClassVar[int]
    key: str
    share: float
    def __init__(self, key: _Optional[str] = ..., share: _Optional[float] = ...) -> None: ...
