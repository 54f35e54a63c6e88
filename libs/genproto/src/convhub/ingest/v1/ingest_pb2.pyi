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

class IngestStatus(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    INGEST_STATUS_UNSPECIFIED: _ClassVar[IngestStatus]
    INGEST_STATUS_ACCEPTED: _ClassVar[IngestStatus]
    INGEST_STATUS_DUPLICATE: _ClassVar[IngestStatus]
    INGEST_STATUS_REJECTED: _ClassVar[IngestStatus]
INGEST_STATUS_UNSPECIFIED: IngestStatus
INGEST_STATUS_ACCEPTED: IngestStatus
INGEST_STATUS_DUPLICATE: IngestStatus
INGEST_STATUS_REJECTED: IngestStatus

class UserData(_message.Message):
    __slots__ = ("email", "phone", "first_name", "last_name", "gender", "date_of_birth", "city", "state", "zip", "country", "external_id", "client_ip", "user_agent")
    EMAIL_FIELD_NUMBER: _ClassVar[int]
    PHONE_FIELD_NUMBER: _ClassVar[int]
    FIRST_NAME_FIELD_NUMBER: _ClassVar[int]
    LAST_NAME_FIELD_NUMBER: _ClassVar[int]
    GENDER_FIELD_NUMBER: _ClassVar[int]
    DATE_OF_BIRTH_FIELD_NUMBER: _ClassVar[int]
    CITY_FIELD_NUMBER: _ClassVar[int]
    STATE_FIELD_NUMBER: _ClassVar[int]
    ZIP_FIELD_NUMBER: _ClassVar[int]
    COUNTRY_FIELD_NUMBER: _ClassVar[int]
    EXTERNAL_ID_FIELD_NUMBER: _ClassVar[int]
    CLIENT_IP_FIELD_NUMBER: _ClassVar[int]
    USER_AGENT_FIELD_NUMBER: _ClassVar[int]
    email: str
    phone: str
    first_name: str
    last_name: str
    gender: str
    date_of_birth: str
    city: str
    state: str
    zip: str
    country: str
    external_id: str
    client_ip: str
    user_agent: str
    def __init__(self, email: _Optional[str] = ..., phone: _Optional[str] = ..., first_name: _Optional[str] = ..., last_name: _Optional[str] = ..., gender: _Optional[str] = ..., date_of_birth: _Optional[str] = ..., city: _Optional[str] = ..., state: _Optional[str] = ..., zip: _Optional[str] = ..., country: _Optional[str] = ..., external_id: _Optional[str] = ..., client_ip: _Optional[str] = ..., user_agent: _Optional[str] = ...) -> None: ...

class Conversion(_message.Message):
    __slots__ = ("site_id", "order_id", "event_type", "event_id", "event_time", "value", "currency", "click_ids", "user_data", "consent", "page_url", "referrer_url", "items", "visitor_id", "source", "action_source", "mode_hint")
    SITE_ID_FIELD_NUMBER: _ClassVar[int]
    ORDER_ID_FIELD_NUMBER: _ClassVar[int]
    EVENT_TYPE_FIELD_NUMBER: _ClassVar[int]
    EVENT_ID_FIELD_NUMBER: _ClassVar[int]
    EVENT_TIME_FIELD_NUMBER: _ClassVar[int]
    VALUE_FIELD_NUMBER: _ClassVar[int]
    CURRENCY_FIELD_NUMBER: _ClassVar[int]
    CLICK_IDS_FIELD_NUMBER: _ClassVar[int]
    USER_DATA_FIELD_NUMBER: _ClassVar[int]
    CONSENT_FIELD_NUMBER: _ClassVar[int]
    PAGE_URL_FIELD_NUMBER: _ClassVar[int]
    REFERRER_URL_FIELD_NUMBER: _ClassVar[int]
    ITEMS_FIELD_NUMBER: _ClassVar[int]
    VISITOR_ID_FIELD_NUMBER: _ClassVar[int]
    SOURCE_FIELD_NUMBER: _ClassVar[int]
    ACTION_SOURCE_FIELD_NUMBER: _ClassVar[int]
    MODE_HINT_FIELD_NUMBER: _ClassVar[int]
    site_id: str
    order_id: str
    event_type: str
    event_id: str
    event_time: _timestamp_pb2.Timestamp
    value: str
    currency: str
    click_ids: _common_pb2.ClickIds
    user_data: UserData
    consent: _common_pb2.Consent
    page_url: str
    referrer_url: str
    items: _containers.RepeatedCompositeFieldContainer[_common_pb2.Item]
    visitor_id: str
    source: _common_pb2.ConversionSource
    action_source: _common_pb2.ActionSource
    mode_hint: _common_pb2.AttributionMode
    def __init__(self, site_id: _Optional[str] = ..., order_id: _Optional[str] = ..., event_type: _Optional[str] = ..., event_id: _Optional[str] = ..., event_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., value: _Optional[str] = ..., currency: _Optional[str] = ..., click_ids: _Optional[_Union[_common_pb2.ClickIds, _Mapping]] = ..., user_data: _Optional[_Union[UserData, _Mapping]] = ..., consent: _Optional[_Union[_common_pb2.Consent, _Mapping]] = ..., page_url: _Optional[str] = ..., referrer_url: _Optional[str] = ..., items: _Optional[_Iterable[_Union[_common_pb2.Item, _Mapping]]] = ..., visitor_id: _Optional[str] = ..., source: _Optional[_Union[_common_pb2.ConversionSource, str]] = ..., action_source: _Optional[_Union[_common_pb2.ActionSource, str]] = ..., mode_hint: _Optional[_Union[_common_pb2.AttributionMode, str]] = ...) -> None: ...

class IngestRequest(_message.Message):
    __slots__ = ("conversion",)
    CONVERSION_FIELD_NUMBER: _ClassVar[int]
    conversion: Conversion
    def __init__(self, conversion: _Optional[_Union[Conversion, _Mapping]] = ...) -> None: ...

class IngestResponse(_message.Message):
    __slots__ = ("conversion_id", "status", "duplicate_of", "errors", "event_id", "warnings")
    CONVERSION_ID_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    DUPLICATE_OF_FIELD_NUMBER: _ClassVar[int]
    ERRORS_FIELD_NUMBER: _ClassVar[int]
    EVENT_ID_FIELD_NUMBER: _ClassVar[int]
    WARNINGS_FIELD_NUMBER: _ClassVar[int]
    conversion_id: str
    status: IngestStatus
    duplicate_of: str
    errors: _containers.RepeatedCompositeFieldContainer[_common_pb2.FieldError]
    event_id: str
    warnings: _containers.RepeatedCompositeFieldContainer[_common_pb2.FieldError]
    def __init__(self, conversion_id: _Optional[str] = ..., status: _Optional[_Union[IngestStatus, str]] = ..., duplicate_of: _Optional[str] = ..., errors: _Optional[_Iterable[_Union[_common_pb2.FieldError, _Mapping]]] = ..., event_id: _Optional[str] = ..., warnings: _Optional[_Iterable[_Union[_common_pb2.FieldError, _Mapping]]] = ...) -> None: ...

class IngestBatchRequest(_message.Message):
    __slots__ = ("conversions",)
    CONVERSIONS_FIELD_NUMBER: _ClassVar[int]
    conversions: _containers.RepeatedCompositeFieldContainer[Conversion]
    def __init__(self, conversions: _Optional[_Iterable[_Union[Conversion, _Mapping]]] = ...) -> None: ...

class IngestBatchResponse(_message.Message):
    __slots__ = ("results",)
    RESULTS_FIELD_NUMBER: _ClassVar[int]
    results: _containers.RepeatedCompositeFieldContainer[IngestResponse]
    def __init__(self, results: _Optional[_Iterable[_Union[IngestResponse, _Mapping]]] = ...) -> None: ...

class GetConversionRequest(_message.Message):
    __slots__ = ("conversion_id",)
    CONVERSION_ID_FIELD_NUMBER: _ClassVar[int]
    conversion_id: str
    def __init__(self, conversion_id: _Optional[str] = ...) -> None: ...

class ConversionRouting(_message.Message):
    __slots__ = ("routed", "mode", "destinations", "config_revision", "parked", "parked_reason", "parked_detail", "mode_mismatch", "routed_at")
    ROUTED_FIELD_NUMBER: _ClassVar[int]
    MODE_FIELD_NUMBER: _ClassVar[int]
    DESTINATIONS_FIELD_NUMBER: _ClassVar[int]
    CONFIG_REVISION_FIELD_NUMBER: _ClassVar[int]
    PARKED_FIELD_NUMBER: _ClassVar[int]
    PARKED_REASON_FIELD_NUMBER: _ClassVar[int]
    PARKED_DETAIL_FIELD_NUMBER: _ClassVar[int]
    MODE_MISMATCH_FIELD_NUMBER: _ClassVar[int]
    ROUTED_AT_FIELD_NUMBER: _ClassVar[int]
    routed: bool
    mode: _common_pb2.AttributionMode
    destinations: _containers.RepeatedCompositeFieldContainer[_common_pb2.Destination]
    config_revision: int
    parked: bool
    parked_reason: _common_pb2.ParkReason
    parked_detail: str
    mode_mismatch: bool
    routed_at: _timestamp_pb2.Timestamp
    def __init__(self, routed: _Optional[bool] = ..., mode: _Optional[_Union[_common_pb2.AttributionMode, str]] = ..., destinations: _Optional[_Iterable[_Union[_common_pb2.Destination, _Mapping]]] = ..., config_revision: _Optional[int] = ..., parked: _Optional[bool] = ..., parked_reason: _Optional[_Union[_common_pb2.ParkReason, str]] = ..., parked_detail: _Optional[str] = ..., mode_mismatch: _Optional[bool] = ..., routed_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class GetConversionResponse(_message.Message):
    __slots__ = ("conversion", "routing", "deliveries", "match_keys", "sources")
    CONVERSION_FIELD_NUMBER: _ClassVar[int]
    ROUTING_FIELD_NUMBER: _ClassVar[int]
    DELIVERIES_FIELD_NUMBER: _ClassVar[int]
    MATCH_KEYS_FIELD_NUMBER: _ClassVar[int]
    SOURCES_FIELD_NUMBER: _ClassVar[int]
    conversion: _common_pb2.HashedConversion
    routing: ConversionRouting
    deliveries: _containers.RepeatedCompositeFieldContainer[_common_pb2.DeliveryState]
    match_keys: _containers.RepeatedCompositeFieldContainer[_common_pb2.MatchKeys]
    sources: _containers.RepeatedCompositeFieldContainer[SourceReport]
    def __init__(self, conversion: _Optional[_Union[_common_pb2.HashedConversion, _Mapping]] = ..., routing: _Optional[_Union[ConversionRouting, _Mapping]] = ..., deliveries: _Optional[_Iterable[_Union[_common_pb2.DeliveryState, _Mapping]]] = ..., match_keys: _Optional[_Iterable[_Union[_common_pb2.MatchKeys, _Mapping]]] = ..., sources: _Optional[_Iterable[_Union[SourceReport, _Mapping]]] = ...) -> None: ...

class SourceReport(_message.Message):
    __slots__ = ("source", "reference", "first_reported_at", "reports")
    SOURCE_FIELD_NUMBER: _ClassVar[int]
    REFERENCE_FIELD_NUMBER: _ClassVar[int]
    FIRST_REPORTED_AT_FIELD_NUMBER: _ClassVar[int]
    REPORTS_FIELD_NUMBER: _ClassVar[int]
    source: _common_pb2.ConversionSource
    reference: str
    first_reported_at: _timestamp_pb2.Timestamp
    reports: int
    def __init__(self, source: _Optional[_Union[_common_pb2.ConversionSource, str]] = ..., reference: _Optional[str] = ..., first_reported_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., reports: _Optional[int] = ...) -> None: ...

class ListSourcesRequest(_message.Message):
    __slots__ = ("site_id",)
    SITE_ID_FIELD_NUMBER: _ClassVar[int]
    site_id: str
    def __init__(self, site_id: _Optional[str] = ...) -> None: ...

class SiteSource(_message.Message):
    __slots__ = ("site_id", "source", "configured", "last_webhook_at", "webhooks_accepted", "webhooks_duplicate", "webhooks_ignored", "webhooks_rejected", "webhooks_refused", "pending", "last_sync_at", "last_sync_outcome", "sync_watermark")
    SITE_ID_FIELD_NUMBER: _ClassVar[int]
    SOURCE_FIELD_NUMBER: _ClassVar[int]
    CONFIGURED_FIELD_NUMBER: _ClassVar[int]
    LAST_WEBHOOK_AT_FIELD_NUMBER: _ClassVar[int]
    WEBHOOKS_ACCEPTED_FIELD_NUMBER: _ClassVar[int]
    WEBHOOKS_DUPLICATE_FIELD_NUMBER: _ClassVar[int]
    WEBHOOKS_IGNORED_FIELD_NUMBER: _ClassVar[int]
    WEBHOOKS_REJECTED_FIELD_NUMBER: _ClassVar[int]
    WEBHOOKS_REFUSED_FIELD_NUMBER: _ClassVar[int]
    PENDING_FIELD_NUMBER: _ClassVar[int]
    LAST_SYNC_AT_FIELD_NUMBER: _ClassVar[int]
    LAST_SYNC_OUTCOME_FIELD_NUMBER: _ClassVar[int]
    SYNC_WATERMARK_FIELD_NUMBER: _ClassVar[int]
    site_id: str
    source: _common_pb2.ConversionSource
    configured: bool
    last_webhook_at: _timestamp_pb2.Timestamp
    webhooks_accepted: int
    webhooks_duplicate: int
    webhooks_ignored: int
    webhooks_rejected: int
    webhooks_refused: int
    pending: int
    last_sync_at: _timestamp_pb2.Timestamp
    last_sync_outcome: str
    sync_watermark: _timestamp_pb2.Timestamp
    def __init__(self, site_id: _Optional[str] = ..., source: _Optional[_Union[_common_pb2.ConversionSource, str]] = ..., configured: _Optional[bool] = ..., last_webhook_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., webhooks_accepted: _Optional[int] = ..., webhooks_duplicate: _Optional[int] = ..., webhooks_ignored: _Optional[int] = ..., webhooks_rejected: _Optional[int] = ..., webhooks_refused: _Optional[int] = ..., pending: _Optional[int] = ..., last_sync_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., last_sync_outcome: _Optional[str] = ..., sync_watermark: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class ListSourcesResponse(_message.Message):
    __slots__ = ("sources",)
    SOURCES_FIELD_NUMBER: _ClassVar[int]
    sources: _containers.RepeatedCompositeFieldContainer[SiteSource]
    def __init__(self, sources: _Optional[_Iterable[_Union[SiteSource, _Mapping]]] = ...) -> None: ...

class SyncSourceRequest(_message.Message):
    __slots__ = ("site_id", "source", "backfill_days")
    SITE_ID_FIELD_NUMBER: _ClassVar[int]
    SOURCE_FIELD_NUMBER: _ClassVar[int]
    BACKFILL_DAYS_FIELD_NUMBER: _ClassVar[int]
    site_id: str
    source: _common_pb2.ConversionSource
    backfill_days: int
    def __init__(self, site_id: _Optional[str] = ..., source: _Optional[_Union[_common_pb2.ConversionSource, str]] = ..., backfill_days: _Optional[int] = ...) -> None: ...

class SyncSourceResponse(_message.Message):
    __slots__ = ("deals_read", "accepted", "duplicates", "rejected", "pages", "watermark")
    DEALS_READ_FIELD_NUMBER: _ClassVar[int]
    ACCEPTED_FIELD_NUMBER: _ClassVar[int]
    DUPLICATES_FIELD_NUMBER: _ClassVar[int]
    REJECTED_FIELD_NUMBER: _ClassVar[int]
    PAGES_FIELD_NUMBER: _ClassVar[int]
    WATERMARK_FIELD_NUMBER: _ClassVar[int]
    deals_read: int
    accepted: int
    duplicates: int
    rejected: int
    pages: int
    watermark: _timestamp_pb2.Timestamp
    def __init__(self, deals_read: _Optional[int] = ..., accepted: _Optional[int] = ..., duplicates: _Optional[int] = ..., rejected: _Optional[int] = ..., pages: _Optional[int] = ..., watermark: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class EraseUserRequest(_message.Message):
    __slots__ = ("site_id", "hashed_email", "hashed_phone", "external_id")
    SITE_ID_FIELD_NUMBER: _ClassVar[int]
    HASHED_EMAIL_FIELD_NUMBER: _ClassVar[int]
    HASHED_PHONE_FIELD_NUMBER: _ClassVar[int]
    EXTERNAL_ID_FIELD_NUMBER: _ClassVar[int]
    site_id: str
    hashed_email: str
    hashed_phone: str
    external_id: str
    def __init__(self, site_id: _Optional[str] = ..., hashed_email: _Optional[str] = ..., hashed_phone: _Optional[str] = ..., external_id: _Optional[str] = ...) -> None: ...

class EraseUserResponse(_message.Message):
    __slots__ = ("erasure_id", "conversions_erased", "erased_at")
    ERASURE_ID_FIELD_NUMBER: _ClassVar[int]
    CONVERSIONS_ERASED_FIELD_NUMBER: _ClassVar[int]
    ERASED_AT_FIELD_NUMBER: _ClassVar[int]
    erasure_id: str
    conversions_erased: int
    erased_at: _timestamp_pb2.Timestamp
    def __init__(self, erasure_id: _Optional[str] = ..., conversions_erased: _Optional[int] = ..., erased_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class ListConversionsRequest(_message.Message):
    __slots__ = ("site_id", "time_range", "page_size", "page_token", "ids_only")
    SITE_ID_FIELD_NUMBER: _ClassVar[int]
    TIME_RANGE_FIELD_NUMBER: _ClassVar[int]
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    IDS_ONLY_FIELD_NUMBER: _ClassVar[int]
    site_id: str
    time_range: _common_pb2.TimeRange
    page_size: int
    page_token: str
    ids_only: bool
    def __init__(self, site_id: _Optional[str] = ..., time_range: _Optional[_Union[_common_pb2.TimeRange, _Mapping]] = ..., page_size: _Optional[int] = ..., page_token: _Optional[str] = ..., ids_only: _Optional[bool] = ...) -> None: ...

class ListConversionsResponse(_message.Message):
    __slots__ = ("conversions", "next_page_token")
    CONVERSIONS_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    conversions: _containers.RepeatedCompositeFieldContainer[_common_pb2.HashedConversion]
    next_page_token: str
    def __init__(self, conversions: _Optional[_Iterable[_Union[_common_pb2.HashedConversion, _Mapping]]] = ..., next_page_token: _Optional[str] = ...) -> None: ...
