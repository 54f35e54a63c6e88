import datetime

from google.protobuf import timestamp_pb2 as _timestamp_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class Platform(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    PLATFORM_UNSPECIFIED: _ClassVar[Platform]
    PLATFORM_GOOGLE: _ClassVar[Platform]
    PLATFORM_META: _ClassVar[Platform]
    PLATFORM_TIKTOK: _ClassVar[Platform]
    PLATFORM_SGTM: _ClassVar[Platform]

class AttributionMode(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    ATTRIBUTION_MODE_UNSPECIFIED: _ClassVar[AttributionMode]
    ATTRIBUTION_MODE_SGTM: _ClassVar[AttributionMode]
    ATTRIBUTION_MODE_DIRECT: _ClassVar[AttributionMode]

class ConsentStatus(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    CONSENT_STATUS_UNSPECIFIED: _ClassVar[ConsentStatus]
    CONSENT_STATUS_GRANTED: _ClassVar[ConsentStatus]
    CONSENT_STATUS_DENIED: _ClassVar[ConsentStatus]

class GoogleApi(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    GOOGLE_API_UNSPECIFIED: _ClassVar[GoogleApi]
    GOOGLE_API_DATA_MANAGER: _ClassVar[GoogleApi]
    GOOGLE_API_ADS: _ClassVar[GoogleApi]

class ConsentDecision(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    CONSENT_DECISION_UNSPECIFIED: _ClassVar[ConsentDecision]
    CONSENT_DECISION_USER_DATA_KEPT: _ClassVar[ConsentDecision]
    CONSENT_DECISION_USER_DATA_REMOVED: _ClassVar[ConsentDecision]

class DeliveryStatus(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    DELIVERY_STATUS_UNSPECIFIED: _ClassVar[DeliveryStatus]
    DELIVERY_STATUS_PENDING: _ClassVar[DeliveryStatus]
    DELIVERY_STATUS_SENT: _ClassVar[DeliveryStatus]
    DELIVERY_STATUS_CONFIRMED: _ClassVar[DeliveryStatus]
    DELIVERY_STATUS_FAILED: _ClassVar[DeliveryStatus]
    DELIVERY_STATUS_DEAD: _ClassVar[DeliveryStatus]

class ErrorClass(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    ERROR_CLASS_UNSPECIFIED: _ClassVar[ErrorClass]
    ERROR_CLASS_THROTTLE: _ClassVar[ErrorClass]
    ERROR_CLASS_TRANSIENT: _ClassVar[ErrorClass]
    ERROR_CLASS_AUTH: _ClassVar[ErrorClass]
    ERROR_CLASS_BAD_INPUT: _ClassVar[ErrorClass]
    ERROR_CLASS_TOO_OLD: _ClassVar[ErrorClass]
    ERROR_CLASS_CONFIG: _ClassVar[ErrorClass]
    ERROR_CLASS_UNKNOWN: _ClassVar[ErrorClass]

class ParkReason(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    PARK_REASON_UNSPECIFIED: _ClassVar[ParkReason]
    PARK_REASON_NO_SITE_CONFIG: _ClassVar[ParkReason]
    PARK_REASON_NO_USABLE_DESTINATION: _ClassVar[ParkReason]
    PARK_REASON_SGTM_NOT_CONFIGURED: _ClassVar[ParkReason]

class ConversionSource(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    CONVERSION_SOURCE_UNSPECIFIED: _ClassVar[ConversionSource]
    CONVERSION_SOURCE_API: _ClassVar[ConversionSource]
    CONVERSION_SOURCE_SHOPIFY: _ClassVar[ConversionSource]
    CONVERSION_SOURCE_HUBSPOT: _ClassVar[ConversionSource]
    CONVERSION_SOURCE_META_PIXEL: _ClassVar[ConversionSource]
    CONVERSION_SOURCE_MANUAL: _ClassVar[ConversionSource]
    CONVERSION_SOURCE_WOOCOMMERCE: _ClassVar[ConversionSource]
    CONVERSION_SOURCE_SALESFORCE: _ClassVar[ConversionSource]
    CONVERSION_SOURCE_FILE_IMPORT: _ClassVar[ConversionSource]
    CONVERSION_SOURCE_OTHER: _ClassVar[ConversionSource]

class ActionSource(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    ACTION_SOURCE_UNSPECIFIED: _ClassVar[ActionSource]
    ACTION_SOURCE_WEBSITE: _ClassVar[ActionSource]
    ACTION_SOURCE_APP: _ClassVar[ActionSource]
    ACTION_SOURCE_PHONE_CALL: _ClassVar[ActionSource]
    ACTION_SOURCE_CHAT: _ClassVar[ActionSource]
    ACTION_SOURCE_EMAIL: _ClassVar[ActionSource]
    ACTION_SOURCE_PHYSICAL_STORE: _ClassVar[ActionSource]
    ACTION_SOURCE_SYSTEM_GENERATED: _ClassVar[ActionSource]
    ACTION_SOURCE_OTHER: _ClassVar[ActionSource]

class HashRuleSet(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    HASH_RULE_SET_UNSPECIFIED: _ClassVar[HashRuleSet]
    HASH_RULE_SET_META: _ClassVar[HashRuleSet]
    HASH_RULE_SET_GOOGLE: _ClassVar[HashRuleSet]
    HASH_RULE_SET_TIKTOK: _ClassVar[HashRuleSet]

class InteractionType(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    INTERACTION_TYPE_UNSPECIFIED: _ClassVar[InteractionType]
    INTERACTION_TYPE_CLICK: _ClassVar[InteractionType]
    INTERACTION_TYPE_VIEW: _ClassVar[InteractionType]
    INTERACTION_TYPE_IMPRESSION: _ClassVar[InteractionType]
    INTERACTION_TYPE_SURVEY: _ClassVar[InteractionType]
PLATFORM_UNSPECIFIED: Platform
PLATFORM_GOOGLE: Platform
PLATFORM_META: Platform
PLATFORM_TIKTOK: Platform
PLATFORM_SGTM: Platform
ATTRIBUTION_MODE_UNSPECIFIED: AttributionMode
ATTRIBUTION_MODE_SGTM: AttributionMode
ATTRIBUTION_MODE_DIRECT: AttributionMode
CONSENT_STATUS_UNSPECIFIED: ConsentStatus
CONSENT_STATUS_GRANTED: ConsentStatus
CONSENT_STATUS_DENIED: ConsentStatus
GOOGLE_API_UNSPECIFIED: GoogleApi
GOOGLE_API_DATA_MANAGER: GoogleApi
GOOGLE_API_ADS: GoogleApi
CONSENT_DECISION_UNSPECIFIED: ConsentDecision
CONSENT_DECISION_USER_DATA_KEPT: ConsentDecision
CONSENT_DECISION_USER_DATA_REMOVED: ConsentDecision
DELIVERY_STATUS_UNSPECIFIED: DeliveryStatus
DELIVERY_STATUS_PENDING: DeliveryStatus
DELIVERY_STATUS_SENT: DeliveryStatus
DELIVERY_STATUS_CONFIRMED: DeliveryStatus
DELIVERY_STATUS_FAILED: DeliveryStatus
DELIVERY_STATUS_DEAD: DeliveryStatus
ERROR_CLASS_UNSPECIFIED: ErrorClass
ERROR_CLASS_THROTTLE: ErrorClass
ERROR_CLASS_TRANSIENT: ErrorClass
ERROR_CLASS_AUTH: ErrorClass
ERROR_CLASS_BAD_INPUT: ErrorClass
ERROR_CLASS_TOO_OLD: ErrorClass
ERROR_CLASS_CONFIG: ErrorClass
ERROR_CLASS_UNKNOWN: ErrorClass
PARK_REASON_UNSPECIFIED: ParkReason
PARK_REASON_NO_SITE_CONFIG: ParkReason
PARK_REASON_NO_USABLE_DESTINATION: ParkReason
PARK_REASON_SGTM_NOT_CONFIGURED: ParkReason
CONVERSION_SOURCE_UNSPECIFIED: ConversionSource
CONVERSION_SOURCE_API: ConversionSource
CONVERSION_SOURCE_SHOPIFY: ConversionSource
CONVERSION_SOURCE_HUBSPOT: ConversionSource
CONVERSION_SOURCE_META_PIXEL: ConversionSource
CONVERSION_SOURCE_MANUAL: ConversionSource
CONVERSION_SOURCE_WOOCOMMERCE: ConversionSource
CONVERSION_SOURCE_SALESFORCE: ConversionSource
CONVERSION_SOURCE_FILE_IMPORT: ConversionSource
CONVERSION_SOURCE_OTHER: ConversionSource
ACTION_SOURCE_UNSPECIFIED: ActionSource
ACTION_SOURCE_WEBSITE: ActionSource
ACTION_SOURCE_APP: ActionSource
ACTION_SOURCE_PHONE_CALL: ActionSource
ACTION_SOURCE_CHAT: ActionSource
ACTION_SOURCE_EMAIL: ActionSource
ACTION_SOURCE_PHYSICAL_STORE: ActionSource
ACTION_SOURCE_SYSTEM_GENERATED: ActionSource
ACTION_SOURCE_OTHER: ActionSource
HASH_RULE_SET_UNSPECIFIED: HashRuleSet
HASH_RULE_SET_META: HashRuleSet
HASH_RULE_SET_GOOGLE: HashRuleSet
HASH_RULE_SET_TIKTOK: HashRuleSet
INTERACTION_TYPE_UNSPECIFIED: InteractionType
INTERACTION_TYPE_CLICK: InteractionType
INTERACTION_TYPE_VIEW: InteractionType
INTERACTION_TYPE_IMPRESSION: InteractionType
INTERACTION_TYPE_SURVEY: InteractionType

class Decimal(_message.Message):
    __slots__ = ("value",)
    VALUE_FIELD_NUMBER: _ClassVar[int]
    value: str
    def __init__(self, value: _Optional[str] = ...) -> None: ...

class Money(_message.Message):
    __slots__ = ("value", "currency")
    VALUE_FIELD_NUMBER: _ClassVar[int]
    CURRENCY_FIELD_NUMBER: _ClassVar[int]
    value: str
    currency: str
    def __init__(self, value: _Optional[str] = ..., currency: _Optional[str] = ...) -> None: ...

class TimeRange(_message.Message):
    __slots__ = ("start", "end")
    START_FIELD_NUMBER: _ClassVar[int]
    END_FIELD_NUMBER: _ClassVar[int]
    start: _timestamp_pb2.Timestamp
    end: _timestamp_pb2.Timestamp
    def __init__(self, start: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., end: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class Consent(_message.Message):
    __slots__ = ("ad_user_data", "ad_personalization")
    AD_USER_DATA_FIELD_NUMBER: _ClassVar[int]
    AD_PERSONALIZATION_FIELD_NUMBER: _ClassVar[int]
    ad_user_data: ConsentStatus
    ad_personalization: ConsentStatus
    def __init__(self, ad_user_data: _Optional[_Union[ConsentStatus, str]] = ..., ad_personalization: _Optional[_Union[ConsentStatus, str]] = ...) -> None: ...

class FieldError(_message.Message):
    __slots__ = ("field", "code", "message")
    FIELD_FIELD_NUMBER: _ClassVar[int]
    CODE_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_FIELD_NUMBER: _ClassVar[int]
    field: str
    code: str
    message: str
    def __init__(self, field: _Optional[str] = ..., code: _Optional[str] = ..., message: _Optional[str] = ...) -> None: ...

class TraceContext(_message.Message):
    __slots__ = ("traceparent", "tracestate")
    TRACEPARENT_FIELD_NUMBER: _ClassVar[int]
    TRACESTATE_FIELD_NUMBER: _ClassVar[int]
    traceparent: str
    tracestate: str
    def __init__(self, traceparent: _Optional[str] = ..., tracestate: _Optional[str] = ...) -> None: ...

class ClickIds(_message.Message):
    __slots__ = ("gclid", "gbraid", "wbraid", "fbc", "fbclid", "fbp", "ttclid", "ttp")
    GCLID_FIELD_NUMBER: _ClassVar[int]
    GBRAID_FIELD_NUMBER: _ClassVar[int]
    WBRAID_FIELD_NUMBER: _ClassVar[int]
    FBC_FIELD_NUMBER: _ClassVar[int]
    FBCLID_FIELD_NUMBER: _ClassVar[int]
    FBP_FIELD_NUMBER: _ClassVar[int]
    TTCLID_FIELD_NUMBER: _ClassVar[int]
    TTP_FIELD_NUMBER: _ClassVar[int]
    gclid: str
    gbraid: str
    wbraid: str
    fbc: str
    fbclid: str
    fbp: str
    ttclid: str
    ttp: str
    def __init__(self, gclid: _Optional[str] = ..., gbraid: _Optional[str] = ..., wbraid: _Optional[str] = ..., fbc: _Optional[str] = ..., fbclid: _Optional[str] = ..., fbp: _Optional[str] = ..., ttclid: _Optional[str] = ..., ttp: _Optional[str] = ...) -> None: ...

class Item(_message.Message):
    __slots__ = ("id", "name", "quantity", "price", "brand", "category", "variant")
    ID_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    QUANTITY_FIELD_NUMBER: _ClassVar[int]
    PRICE_FIELD_NUMBER: _ClassVar[int]
    BRAND_FIELD_NUMBER: _ClassVar[int]
    CATEGORY_FIELD_NUMBER: _ClassVar[int]
    VARIANT_FIELD_NUMBER: _ClassVar[int]
    id: str
    name: str
    quantity: int
    price: str
    brand: str
    category: str
    variant: str
    def __init__(self, id: _Optional[str] = ..., name: _Optional[str] = ..., quantity: _Optional[int] = ..., price: _Optional[str] = ..., brand: _Optional[str] = ..., category: _Optional[str] = ..., variant: _Optional[str] = ...) -> None: ...

class HashedIdentifiers(_message.Message):
    __slots__ = ("email", "phone", "first_name", "last_name", "gender", "date_of_birth", "city", "state", "zip", "country", "external_id")
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
    def __init__(self, email: _Optional[str] = ..., phone: _Optional[str] = ..., first_name: _Optional[str] = ..., last_name: _Optional[str] = ..., gender: _Optional[str] = ..., date_of_birth: _Optional[str] = ..., city: _Optional[str] = ..., state: _Optional[str] = ..., zip: _Optional[str] = ..., country: _Optional[str] = ..., external_id: _Optional[str] = ...) -> None: ...

class HashedUserData(_message.Message):
    __slots__ = ("meta", "google", "tiktok")
    META_FIELD_NUMBER: _ClassVar[int]
    GOOGLE_FIELD_NUMBER: _ClassVar[int]
    TIKTOK_FIELD_NUMBER: _ClassVar[int]
    meta: HashedIdentifiers
    google: HashedIdentifiers
    tiktok: HashedIdentifiers
    def __init__(self, meta: _Optional[_Union[HashedIdentifiers, _Mapping]] = ..., google: _Optional[_Union[HashedIdentifiers, _Mapping]] = ..., tiktok: _Optional[_Union[HashedIdentifiers, _Mapping]] = ...) -> None: ...

class Destination(_message.Message):
    __slots__ = ("platform", "account_id")
    PLATFORM_FIELD_NUMBER: _ClassVar[int]
    ACCOUNT_ID_FIELD_NUMBER: _ClassVar[int]
    platform: Platform
    account_id: str
    def __init__(self, platform: _Optional[_Union[Platform, str]] = ..., account_id: _Optional[str] = ...) -> None: ...

class MatchKeys(_message.Message):
    __slots__ = ("destination", "keys", "score")
    DESTINATION_FIELD_NUMBER: _ClassVar[int]
    KEYS_FIELD_NUMBER: _ClassVar[int]
    SCORE_FIELD_NUMBER: _ClassVar[int]
    destination: Destination
    keys: _containers.RepeatedScalarFieldContainer[str]
    score: float
    def __init__(self, destination: _Optional[_Union[Destination, _Mapping]] = ..., keys: _Optional[_Iterable[str]] = ..., score: _Optional[float] = ...) -> None: ...

class DeliveryState(_message.Message):
    __slots__ = ("delivery_id", "destination", "status", "attempts", "last_error", "error_class", "platform_code", "batch_id", "updated_at")
    DELIVERY_ID_FIELD_NUMBER: _ClassVar[int]
    DESTINATION_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    ATTEMPTS_FIELD_NUMBER: _ClassVar[int]
    LAST_ERROR_FIELD_NUMBER: _ClassVar[int]
    ERROR_CLASS_FIELD_NUMBER: _ClassVar[int]
    PLATFORM_CODE_FIELD_NUMBER: _ClassVar[int]
    BATCH_ID_FIELD_NUMBER: _ClassVar[int]
    UPDATED_AT_FIELD_NUMBER: _ClassVar[int]
    delivery_id: str
    destination: Destination
    status: DeliveryStatus
    attempts: int
    last_error: str
    error_class: ErrorClass
    platform_code: str
    batch_id: str
    updated_at: _timestamp_pb2.Timestamp
    def __init__(self, delivery_id: _Optional[str] = ..., destination: _Optional[_Union[Destination, _Mapping]] = ..., status: _Optional[_Union[DeliveryStatus, str]] = ..., attempts: _Optional[int] = ..., last_error: _Optional[str] = ..., error_class: _Optional[_Union[ErrorClass, str]] = ..., platform_code: _Optional[str] = ..., batch_id: _Optional[str] = ..., updated_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class HashedConversion(_message.Message):
    __slots__ = ("conversion_id", "site_id", "order_id", "event_type", "event_id", "event_time", "value", "currency", "click_ids", "user_data", "client_ip", "user_agent", "consent", "consent_decision", "page_url", "referrer_url", "items", "visitor_id", "source", "action_source", "mode_hint", "received_at")
    CONVERSION_ID_FIELD_NUMBER: _ClassVar[int]
    SITE_ID_FIELD_NUMBER: _ClassVar[int]
    ORDER_ID_FIELD_NUMBER: _ClassVar[int]
    EVENT_TYPE_FIELD_NUMBER: _ClassVar[int]
    EVENT_ID_FIELD_NUMBER: _ClassVar[int]
    EVENT_TIME_FIELD_NUMBER: _ClassVar[int]
    VALUE_FIELD_NUMBER: _ClassVar[int]
    CURRENCY_FIELD_NUMBER: _ClassVar[int]
    CLICK_IDS_FIELD_NUMBER: _ClassVar[int]
    USER_DATA_FIELD_NUMBER: _ClassVar[int]
    CLIENT_IP_FIELD_NUMBER: _ClassVar[int]
    USER_AGENT_FIELD_NUMBER: _ClassVar[int]
    CONSENT_FIELD_NUMBER: _ClassVar[int]
    CONSENT_DECISION_FIELD_NUMBER: _ClassVar[int]
    PAGE_URL_FIELD_NUMBER: _ClassVar[int]
    REFERRER_URL_FIELD_NUMBER: _ClassVar[int]
    ITEMS_FIELD_NUMBER: _ClassVar[int]
    VISITOR_ID_FIELD_NUMBER: _ClassVar[int]
    SOURCE_FIELD_NUMBER: _ClassVar[int]
    ACTION_SOURCE_FIELD_NUMBER: _ClassVar[int]
    MODE_HINT_FIELD_NUMBER: _ClassVar[int]
    RECEIVED_AT_FIELD_NUMBER: _ClassVar[int]
    conversion_id: str
    site_id: str
    order_id: str
    event_type: str
    event_id: str
    event_time: _timestamp_pb2.Timestamp
    value: str
    currency: str
    click_ids: ClickIds
    user_data: HashedUserData
    client_ip: str
    user_agent: str
    consent: Consent
    consent_decision: ConsentDecision
    page_url: str
    referrer_url: str
    items: _containers.RepeatedCompositeFieldContainer[Item]
    visitor_id: str
    source: ConversionSource
    action_source: ActionSource
    mode_hint: AttributionMode
    received_at: _timestamp_pb2.Timestamp
    def __init__(self, conversion_id: _Optional[str] = ..., site_id: _Optional[str] = ..., order_id: _Optional[str] = ..., event_type: _Optional[str] = ..., event_id: _Optional[str] = ..., event_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., value: _Optional[str] = ..., currency: _Optional[str] = ..., click_ids: _Optional[_Union[ClickIds, _Mapping]] = ..., user_data: _Optional[_Union[HashedUserData, _Mapping]] = ..., client_ip: _Optional[str] = ..., user_agent: _Optional[str] = ..., consent: _Optional[_Union[Consent, _Mapping]] = ..., consent_decision: _Optional[_Union[ConsentDecision, str]] = ..., page_url: _Optional[str] = ..., referrer_url: _Optional[str] = ..., items: _Optional[_Iterable[_Union[Item, _Mapping]]] = ..., visitor_id: _Optional[str] = ..., source: _Optional[_Union[ConversionSource, str]] = ..., action_source: _Optional[_Union[ActionSource, str]] = ..., mode_hint: _Optional[_Union[AttributionMode, str]] = ..., received_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class Touchpoint(_message.Message):
    __slots__ = ("touchpoint_id", "site_id", "visitor_id", "occurred_at", "channel", "campaign", "source", "medium", "content", "term", "click_ids", "landing_page_url", "referrer_url", "interaction", "ad_id", "user_keys")
    TOUCHPOINT_ID_FIELD_NUMBER: _ClassVar[int]
    SITE_ID_FIELD_NUMBER: _ClassVar[int]
    VISITOR_ID_FIELD_NUMBER: _ClassVar[int]
    OCCURRED_AT_FIELD_NUMBER: _ClassVar[int]
    CHANNEL_FIELD_NUMBER: _ClassVar[int]
    CAMPAIGN_FIELD_NUMBER: _ClassVar[int]
    SOURCE_FIELD_NUMBER: _ClassVar[int]
    MEDIUM_FIELD_NUMBER: _ClassVar[int]
    CONTENT_FIELD_NUMBER: _ClassVar[int]
    TERM_FIELD_NUMBER: _ClassVar[int]
    CLICK_IDS_FIELD_NUMBER: _ClassVar[int]
    LANDING_PAGE_URL_FIELD_NUMBER: _ClassVar[int]
    REFERRER_URL_FIELD_NUMBER: _ClassVar[int]
    INTERACTION_FIELD_NUMBER: _ClassVar[int]
    AD_ID_FIELD_NUMBER: _ClassVar[int]
    USER_KEYS_FIELD_NUMBER: _ClassVar[int]
    touchpoint_id: str
    site_id: str
    visitor_id: str
    occurred_at: _timestamp_pb2.Timestamp
    channel: str
    campaign: str
    source: str
    medium: str
    content: str
    term: str
    click_ids: ClickIds
    landing_page_url: str
    referrer_url: str
    interaction: InteractionType
    ad_id: str
    user_keys: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, touchpoint_id: _Optional[str] = ..., site_id: _Optional[str] = ..., visitor_id: _Optional[str] = ..., occurred_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., channel: _Optional[str] = ..., campaign: _Optional[str] = ..., source: _Optional[str] = ..., medium: _Optional[str] = ..., content: _Optional[str] = ..., term: _Optional[str] = ..., click_ids: _Optional[_Union[ClickIds, _Mapping]] = ..., landing_page_url: _Optional[str] = ..., referrer_url: _Optional[str] = ..., interaction: _Optional[_Union[InteractionType, str]] = ..., ad_id: _Optional[str] = ..., user_keys: _Optional[_Iterable[str]] = ...) -> None: ...
