import datetime

from convhub.common.v1 import common_pb2 as _common_pb2
from convhub.ingest.v1 import ingest_pb2 as _ingest_pb2
from google.protobuf import timestamp_pb2 as _timestamp_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class InboundConversion(_message.Message):
    __slots__ = ("item_id", "conversion", "trace")
    ITEM_ID_FIELD_NUMBER: _ClassVar[int]
    CONVERSION_FIELD_NUMBER: _ClassVar[int]
    TRACE_FIELD_NUMBER: _ClassVar[int]
    item_id: str
    conversion: _ingest_pb2.Conversion
    trace: _common_pb2.TraceContext
    def __init__(self, item_id: _Optional[str] = ..., conversion: _Optional[_Union[_ingest_pb2.Conversion, _Mapping]] = ..., trace: _Optional[_Union[_common_pb2.TraceContext, _Mapping]] = ...) -> None: ...

class InboundConversionBatch(_message.Message):
    __slots__ = ("site_id", "items")
    SITE_ID_FIELD_NUMBER: _ClassVar[int]
    ITEMS_FIELD_NUMBER: _ClassVar[int]
    site_id: str
    items: _containers.RepeatedCompositeFieldContainer[InboundConversion]
    def __init__(self, site_id: _Optional[str] = ..., items: _Optional[_Iterable[_Union[InboundConversion, _Mapping]]] = ...) -> None: ...

class ConversionAccepted(_message.Message):
    __slots__ = ("trace", "conversion")
    TRACE_FIELD_NUMBER: _ClassVar[int]
    CONVERSION_FIELD_NUMBER: _ClassVar[int]
    trace: _common_pb2.TraceContext
    conversion: _common_pb2.HashedConversion
    def __init__(self, trace: _Optional[_Union[_common_pb2.TraceContext, _Mapping]] = ..., conversion: _Optional[_Union[_common_pb2.HashedConversion, _Mapping]] = ...) -> None: ...

class ConversionAcceptedBatch(_message.Message):
    __slots__ = ("site_id", "items")
    SITE_ID_FIELD_NUMBER: _ClassVar[int]
    ITEMS_FIELD_NUMBER: _ClassVar[int]
    site_id: str
    items: _containers.RepeatedCompositeFieldContainer[ConversionAccepted]
    def __init__(self, site_id: _Optional[str] = ..., items: _Optional[_Iterable[_Union[ConversionAccepted, _Mapping]]] = ...) -> None: ...

class ConversionRouted(_message.Message):
    __slots__ = ("conversion_id", "trace", "mode", "destinations", "config_revision", "parked", "parked_reason", "parked_detail", "mode_mismatch", "routed_at")
    CONVERSION_ID_FIELD_NUMBER: _ClassVar[int]
    TRACE_FIELD_NUMBER: _ClassVar[int]
    MODE_FIELD_NUMBER: _ClassVar[int]
    DESTINATIONS_FIELD_NUMBER: _ClassVar[int]
    CONFIG_REVISION_FIELD_NUMBER: _ClassVar[int]
    PARKED_FIELD_NUMBER: _ClassVar[int]
    PARKED_REASON_FIELD_NUMBER: _ClassVar[int]
    PARKED_DETAIL_FIELD_NUMBER: _ClassVar[int]
    MODE_MISMATCH_FIELD_NUMBER: _ClassVar[int]
    ROUTED_AT_FIELD_NUMBER: _ClassVar[int]
    conversion_id: str
    trace: _common_pb2.TraceContext
    mode: _common_pb2.AttributionMode
    destinations: _containers.RepeatedCompositeFieldContainer[_common_pb2.Destination]
    config_revision: int
    parked: bool
    parked_reason: _common_pb2.ParkReason
    parked_detail: str
    mode_mismatch: bool
    routed_at: _timestamp_pb2.Timestamp
    def __init__(self, conversion_id: _Optional[str] = ..., trace: _Optional[_Union[_common_pb2.TraceContext, _Mapping]] = ..., mode: _Optional[_Union[_common_pb2.AttributionMode, str]] = ..., destinations: _Optional[_Iterable[_Union[_common_pb2.Destination, _Mapping]]] = ..., config_revision: _Optional[int] = ..., parked: _Optional[bool] = ..., parked_reason: _Optional[_Union[_common_pb2.ParkReason, str]] = ..., parked_detail: _Optional[str] = ..., mode_mismatch: _Optional[bool] = ..., routed_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class ConversionRoutedBatch(_message.Message):
    __slots__ = ("site_id", "items")
    SITE_ID_FIELD_NUMBER: _ClassVar[int]
    ITEMS_FIELD_NUMBER: _ClassVar[int]
    site_id: str
    items: _containers.RepeatedCompositeFieldContainer[ConversionRouted]
    def __init__(self, site_id: _Optional[str] = ..., items: _Optional[_Iterable[_Union[ConversionRouted, _Mapping]]] = ...) -> None: ...

class DispatchTarget(_message.Message):
    __slots__ = ("account_id", "credentials_ref", "test_event_code", "login_customer_id", "conversion_action", "event_name", "google_api", "validate_only")
    ACCOUNT_ID_FIELD_NUMBER: _ClassVar[int]
    CREDENTIALS_REF_FIELD_NUMBER: _ClassVar[int]
    TEST_EVENT_CODE_FIELD_NUMBER: _ClassVar[int]
    LOGIN_CUSTOMER_ID_FIELD_NUMBER: _ClassVar[int]
    CONVERSION_ACTION_FIELD_NUMBER: _ClassVar[int]
    EVENT_NAME_FIELD_NUMBER: _ClassVar[int]
    GOOGLE_API_FIELD_NUMBER: _ClassVar[int]
    VALIDATE_ONLY_FIELD_NUMBER: _ClassVar[int]
    account_id: str
    credentials_ref: str
    test_event_code: str
    login_customer_id: str
    conversion_action: str
    event_name: str
    google_api: _common_pb2.GoogleApi
    validate_only: bool
    def __init__(self, account_id: _Optional[str] = ..., credentials_ref: _Optional[str] = ..., test_event_code: _Optional[str] = ..., login_customer_id: _Optional[str] = ..., conversion_action: _Optional[str] = ..., event_name: _Optional[str] = ..., google_api: _Optional[_Union[_common_pb2.GoogleApi, str]] = ..., validate_only: _Optional[bool] = ...) -> None: ...

class DispatchRequested(_message.Message):
    __slots__ = ("delivery_id", "conversion_id", "trace", "platform", "target", "config_revision", "conversion", "previous_attempts", "replay_of_dead_letter_id", "requested_at")
    DELIVERY_ID_FIELD_NUMBER: _ClassVar[int]
    CONVERSION_ID_FIELD_NUMBER: _ClassVar[int]
    TRACE_FIELD_NUMBER: _ClassVar[int]
    PLATFORM_FIELD_NUMBER: _ClassVar[int]
    TARGET_FIELD_NUMBER: _ClassVar[int]
    CONFIG_REVISION_FIELD_NUMBER: _ClassVar[int]
    CONVERSION_FIELD_NUMBER: _ClassVar[int]
    PREVIOUS_ATTEMPTS_FIELD_NUMBER: _ClassVar[int]
    REPLAY_OF_DEAD_LETTER_ID_FIELD_NUMBER: _ClassVar[int]
    REQUESTED_AT_FIELD_NUMBER: _ClassVar[int]
    delivery_id: str
    conversion_id: str
    trace: _common_pb2.TraceContext
    platform: _common_pb2.Platform
    target: DispatchTarget
    config_revision: int
    conversion: _common_pb2.HashedConversion
    previous_attempts: int
    replay_of_dead_letter_id: str
    requested_at: _timestamp_pb2.Timestamp
    def __init__(self, delivery_id: _Optional[str] = ..., conversion_id: _Optional[str] = ..., trace: _Optional[_Union[_common_pb2.TraceContext, _Mapping]] = ..., platform: _Optional[_Union[_common_pb2.Platform, str]] = ..., target: _Optional[_Union[DispatchTarget, _Mapping]] = ..., config_revision: _Optional[int] = ..., conversion: _Optional[_Union[_common_pb2.HashedConversion, _Mapping]] = ..., previous_attempts: _Optional[int] = ..., replay_of_dead_letter_id: _Optional[str] = ..., requested_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class DispatchRequestedBatch(_message.Message):
    __slots__ = ("site_id", "platform", "items")
    SITE_ID_FIELD_NUMBER: _ClassVar[int]
    PLATFORM_FIELD_NUMBER: _ClassVar[int]
    ITEMS_FIELD_NUMBER: _ClassVar[int]
    site_id: str
    platform: _common_pb2.Platform
    items: _containers.RepeatedCompositeFieldContainer[DispatchRequested]
    def __init__(self, site_id: _Optional[str] = ..., platform: _Optional[_Union[_common_pb2.Platform, str]] = ..., items: _Optional[_Iterable[_Union[DispatchRequested, _Mapping]]] = ...) -> None: ...

class DeliveryUpdated(_message.Message):
    __slots__ = ("delivery_id", "conversion_id", "trace", "destination", "status", "attempts", "last_error", "error_class", "platform_code", "batch_id", "platform_response_excerpt", "occurred_at", "sequence")
    DELIVERY_ID_FIELD_NUMBER: _ClassVar[int]
    CONVERSION_ID_FIELD_NUMBER: _ClassVar[int]
    TRACE_FIELD_NUMBER: _ClassVar[int]
    DESTINATION_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    ATTEMPTS_FIELD_NUMBER: _ClassVar[int]
    LAST_ERROR_FIELD_NUMBER: _ClassVar[int]
    ERROR_CLASS_FIELD_NUMBER: _ClassVar[int]
    PLATFORM_CODE_FIELD_NUMBER: _ClassVar[int]
    BATCH_ID_FIELD_NUMBER: _ClassVar[int]
    PLATFORM_RESPONSE_EXCERPT_FIELD_NUMBER: _ClassVar[int]
    OCCURRED_AT_FIELD_NUMBER: _ClassVar[int]
    SEQUENCE_FIELD_NUMBER: _ClassVar[int]
    delivery_id: str
    conversion_id: str
    trace: _common_pb2.TraceContext
    destination: _common_pb2.Destination
    status: _common_pb2.DeliveryStatus
    attempts: int
    last_error: str
    error_class: _common_pb2.ErrorClass
    platform_code: str
    batch_id: str
    platform_response_excerpt: str
    occurred_at: _timestamp_pb2.Timestamp
    sequence: int
    def __init__(self, delivery_id: _Optional[str] = ..., conversion_id: _Optional[str] = ..., trace: _Optional[_Union[_common_pb2.TraceContext, _Mapping]] = ..., destination: _Optional[_Union[_common_pb2.Destination, _Mapping]] = ..., status: _Optional[_Union[_common_pb2.DeliveryStatus, str]] = ..., attempts: _Optional[int] = ..., last_error: _Optional[str] = ..., error_class: _Optional[_Union[_common_pb2.ErrorClass, str]] = ..., platform_code: _Optional[str] = ..., batch_id: _Optional[str] = ..., platform_response_excerpt: _Optional[str] = ..., occurred_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., sequence: _Optional[int] = ...) -> None: ...

class DeliveryUpdatedBatch(_message.Message):
    __slots__ = ("site_id", "platform", "items")
    SITE_ID_FIELD_NUMBER: _ClassVar[int]
    PLATFORM_FIELD_NUMBER: _ClassVar[int]
    ITEMS_FIELD_NUMBER: _ClassVar[int]
    site_id: str
    platform: _common_pb2.Platform
    items: _containers.RepeatedCompositeFieldContainer[DeliveryUpdated]
    def __init__(self, site_id: _Optional[str] = ..., platform: _Optional[_Union[_common_pb2.Platform, str]] = ..., items: _Optional[_Iterable[_Union[DeliveryUpdated, _Mapping]]] = ...) -> None: ...

class DeadLettered(_message.Message):
    __slots__ = ("dead_letter_id", "delivery_id", "conversion_id", "trace", "destination", "reason", "error_class", "platform_code", "last_error", "attempts", "batch_id", "dead_lettered_at", "request")
    DEAD_LETTER_ID_FIELD_NUMBER: _ClassVar[int]
    DELIVERY_ID_FIELD_NUMBER: _ClassVar[int]
    CONVERSION_ID_FIELD_NUMBER: _ClassVar[int]
    TRACE_FIELD_NUMBER: _ClassVar[int]
    DESTINATION_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    ERROR_CLASS_FIELD_NUMBER: _ClassVar[int]
    PLATFORM_CODE_FIELD_NUMBER: _ClassVar[int]
    LAST_ERROR_FIELD_NUMBER: _ClassVar[int]
    ATTEMPTS_FIELD_NUMBER: _ClassVar[int]
    BATCH_ID_FIELD_NUMBER: _ClassVar[int]
    DEAD_LETTERED_AT_FIELD_NUMBER: _ClassVar[int]
    REQUEST_FIELD_NUMBER: _ClassVar[int]
    dead_letter_id: str
    delivery_id: str
    conversion_id: str
    trace: _common_pb2.TraceContext
    destination: _common_pb2.Destination
    reason: str
    error_class: _common_pb2.ErrorClass
    platform_code: str
    last_error: str
    attempts: int
    batch_id: str
    dead_lettered_at: _timestamp_pb2.Timestamp
    request: DispatchRequested
    def __init__(self, dead_letter_id: _Optional[str] = ..., delivery_id: _Optional[str] = ..., conversion_id: _Optional[str] = ..., trace: _Optional[_Union[_common_pb2.TraceContext, _Mapping]] = ..., destination: _Optional[_Union[_common_pb2.Destination, _Mapping]] = ..., reason: _Optional[str] = ..., error_class: _Optional[_Union[_common_pb2.ErrorClass, str]] = ..., platform_code: _Optional[str] = ..., last_error: _Optional[str] = ..., attempts: _Optional[int] = ..., batch_id: _Optional[str] = ..., dead_lettered_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., request: _Optional[_Union[DispatchRequested, _Mapping]] = ...) -> None: ...

class DeadLetteredBatch(_message.Message):
    __slots__ = ("site_id", "platform", "items")
    SITE_ID_FIELD_NUMBER: _ClassVar[int]
    PLATFORM_FIELD_NUMBER: _ClassVar[int]
    ITEMS_FIELD_NUMBER: _ClassVar[int]
    site_id: str
    platform: _common_pb2.Platform
    items: _containers.RepeatedCompositeFieldContainer[DeadLettered]
    def __init__(self, site_id: _Optional[str] = ..., platform: _Optional[_Union[_common_pb2.Platform, str]] = ..., items: _Optional[_Iterable[_Union[DeadLettered, _Mapping]]] = ...) -> None: ...

class TouchpointRecorded(_message.Message):
    __slots__ = ("trace", "touchpoint")
    TRACE_FIELD_NUMBER: _ClassVar[int]
    TOUCHPOINT_FIELD_NUMBER: _ClassVar[int]
    trace: _common_pb2.TraceContext
    touchpoint: _common_pb2.Touchpoint
    def __init__(self, trace: _Optional[_Union[_common_pb2.TraceContext, _Mapping]] = ..., touchpoint: _Optional[_Union[_common_pb2.Touchpoint, _Mapping]] = ...) -> None: ...

class TouchpointRecordedBatch(_message.Message):
    __slots__ = ("site_id", "items")
    SITE_ID_FIELD_NUMBER: _ClassVar[int]
    ITEMS_FIELD_NUMBER: _ClassVar[int]
    site_id: str
    items: _containers.RepeatedCompositeFieldContainer[TouchpointRecorded]
    def __init__(self, site_id: _Optional[str] = ..., items: _Optional[_Iterable[_Union[TouchpointRecorded, _Mapping]]] = ...) -> None: ...

class UserErased(_message.Message):
    __slots__ = ("erasure_id", "trace", "hashed_emails", "hashed_phones", "hashed_external_id", "conversion_ids", "visitor_ids", "erased_at")
    ERASURE_ID_FIELD_NUMBER: _ClassVar[int]
    TRACE_FIELD_NUMBER: _ClassVar[int]
    HASHED_EMAILS_FIELD_NUMBER: _ClassVar[int]
    HASHED_PHONES_FIELD_NUMBER: _ClassVar[int]
    HASHED_EXTERNAL_ID_FIELD_NUMBER: _ClassVar[int]
    CONVERSION_IDS_FIELD_NUMBER: _ClassVar[int]
    VISITOR_IDS_FIELD_NUMBER: _ClassVar[int]
    ERASED_AT_FIELD_NUMBER: _ClassVar[int]
    erasure_id: str
    trace: _common_pb2.TraceContext
    hashed_emails: _containers.RepeatedScalarFieldContainer[str]
    hashed_phones: _containers.RepeatedScalarFieldContainer[str]
    hashed_external_id: str
    conversion_ids: _containers.RepeatedScalarFieldContainer[str]
    visitor_ids: _containers.RepeatedScalarFieldContainer[str]
    erased_at: _timestamp_pb2.Timestamp
    def __init__(self, erasure_id: _Optional[str] = ..., trace: _Optional[_Union[_common_pb2.TraceContext, _Mapping]] = ..., hashed_emails: _Optional[_Iterable[str]] = ..., hashed_phones: _Optional[_Iterable[str]] = ..., hashed_external_id: _Optional[str] = ..., conversion_ids: _Optional[_Iterable[str]] = ..., visitor_ids: _Optional[_Iterable[str]] = ..., erased_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class UserErasedBatch(_message.Message):
    __slots__ = ("site_id", "items")
    SITE_ID_FIELD_NUMBER: _ClassVar[int]
    ITEMS_FIELD_NUMBER: _ClassVar[int]
    site_id: str
    items: _containers.RepeatedCompositeFieldContainer[UserErased]
    def __init__(self, site_id: _Optional[str] = ..., items: _Optional[_Iterable[_Union[UserErased, _Mapping]]] = ...) -> None: ...

class SiteConfigChanged(_message.Message):
    __slots__ = ("trace", "revision", "deleted", "attribution_mode", "changed_at")
    TRACE_FIELD_NUMBER: _ClassVar[int]
    REVISION_FIELD_NUMBER: _ClassVar[int]
    DELETED_FIELD_NUMBER: _ClassVar[int]
    ATTRIBUTION_MODE_FIELD_NUMBER: _ClassVar[int]
    CHANGED_AT_FIELD_NUMBER: _ClassVar[int]
    trace: _common_pb2.TraceContext
    revision: int
    deleted: bool
    attribution_mode: _common_pb2.AttributionMode
    changed_at: _timestamp_pb2.Timestamp
    def __init__(self, trace: _Optional[_Union[_common_pb2.TraceContext, _Mapping]] = ..., revision: _Optional[int] = ..., deleted: _Optional[bool] = ..., attribution_mode: _Optional[_Union[_common_pb2.AttributionMode, str]] = ..., changed_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class SiteConfigChangedBatch(_message.Message):
    __slots__ = ("site_id", "items")
    SITE_ID_FIELD_NUMBER: _ClassVar[int]
    ITEMS_FIELD_NUMBER: _ClassVar[int]
    site_id: str
    items: _containers.RepeatedCompositeFieldContainer[SiteConfigChanged]
    def __init__(self, site_id: _Optional[str] = ..., items: _Optional[_Iterable[_Union[SiteConfigChanged, _Mapping]]] = ...) -> None: ...
