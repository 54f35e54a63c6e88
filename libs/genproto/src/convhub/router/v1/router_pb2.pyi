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

class SgtmFormat(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    SGTM_FORMAT_UNSPECIFIED: _ClassVar[SgtmFormat]
    SGTM_FORMAT_STAPE_DATA_CLIENT: _ClassVar[SgtmFormat]
    SGTM_FORMAT_GA4_MP: _ClassVar[SgtmFormat]

class ConsentAction(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    CONSENT_ACTION_UNSPECIFIED: _ClassVar[ConsentAction]
    CONSENT_ACTION_REJECT: _ClassVar[ConsentAction]
    CONSENT_ACTION_STORE_WITHOUT_USER_DATA: _ClassVar[ConsentAction]
SGTM_FORMAT_UNSPECIFIED: SgtmFormat
SGTM_FORMAT_STAPE_DATA_CLIENT: SgtmFormat
SGTM_FORMAT_GA4_MP: SgtmFormat
CONSENT_ACTION_UNSPECIFIED: ConsentAction
CONSENT_ACTION_REJECT: ConsentAction
CONSENT_ACTION_STORE_WITHOUT_USER_DATA: ConsentAction

class SgtmConfig(_message.Message):
    __slots__ = ("url", "format", "auth_header_name", "auth_secret_ref", "preview_header", "measurement_id", "api_secret_ref", "user_data_rule_set", "max_batch_events")
    URL_FIELD_NUMBER: _ClassVar[int]
    FORMAT_FIELD_NUMBER: _ClassVar[int]
    AUTH_HEADER_NAME_FIELD_NUMBER: _ClassVar[int]
    AUTH_SECRET_REF_FIELD_NUMBER: _ClassVar[int]
    PREVIEW_HEADER_FIELD_NUMBER: _ClassVar[int]
    MEASUREMENT_ID_FIELD_NUMBER: _ClassVar[int]
    API_SECRET_REF_FIELD_NUMBER: _ClassVar[int]
    USER_DATA_RULE_SET_FIELD_NUMBER: _ClassVar[int]
    MAX_BATCH_EVENTS_FIELD_NUMBER: _ClassVar[int]
    url: str
    format: SgtmFormat
    auth_header_name: str
    auth_secret_ref: str
    preview_header: str
    measurement_id: str
    api_secret_ref: str
    user_data_rule_set: _common_pb2.HashRuleSet
    max_batch_events: int
    def __init__(self, url: _Optional[str] = ..., format: _Optional[_Union[SgtmFormat, str]] = ..., auth_header_name: _Optional[str] = ..., auth_secret_ref: _Optional[str] = ..., preview_header: _Optional[str] = ..., measurement_id: _Optional[str] = ..., api_secret_ref: _Optional[str] = ..., user_data_rule_set: _Optional[_Union[_common_pb2.HashRuleSet, str]] = ..., max_batch_events: _Optional[int] = ...) -> None: ...

class GoogleDestination(_message.Message):
    __slots__ = ("enabled", "customer_id", "login_customer_id", "conversion_actions", "credentials_ref", "api", "validate_only")
    class ConversionActionsEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    ENABLED_FIELD_NUMBER: _ClassVar[int]
    CUSTOMER_ID_FIELD_NUMBER: _ClassVar[int]
    LOGIN_CUSTOMER_ID_FIELD_NUMBER: _ClassVar[int]
    CONVERSION_ACTIONS_FIELD_NUMBER: _ClassVar[int]
    CREDENTIALS_REF_FIELD_NUMBER: _ClassVar[int]
    API_FIELD_NUMBER: _ClassVar[int]
    VALIDATE_ONLY_FIELD_NUMBER: _ClassVar[int]
    enabled: bool
    customer_id: str
    login_customer_id: str
    conversion_actions: _containers.ScalarMap[str, str]
    credentials_ref: str
    api: _common_pb2.GoogleApi
    validate_only: bool
    def __init__(self, enabled: _Optional[bool] = ..., customer_id: _Optional[str] = ..., login_customer_id: _Optional[str] = ..., conversion_actions: _Optional[_Mapping[str, str]] = ..., credentials_ref: _Optional[str] = ..., api: _Optional[_Union[_common_pb2.GoogleApi, str]] = ..., validate_only: _Optional[bool] = ...) -> None: ...

class MetaDestination(_message.Message):
    __slots__ = ("enabled", "pixel_id", "credentials_ref", "test_event_code", "event_names", "ad_account_id")
    class EventNamesEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    ENABLED_FIELD_NUMBER: _ClassVar[int]
    PIXEL_ID_FIELD_NUMBER: _ClassVar[int]
    CREDENTIALS_REF_FIELD_NUMBER: _ClassVar[int]
    TEST_EVENT_CODE_FIELD_NUMBER: _ClassVar[int]
    EVENT_NAMES_FIELD_NUMBER: _ClassVar[int]
    AD_ACCOUNT_ID_FIELD_NUMBER: _ClassVar[int]
    enabled: bool
    pixel_id: str
    credentials_ref: str
    test_event_code: str
    event_names: _containers.ScalarMap[str, str]
    ad_account_id: str
    def __init__(self, enabled: _Optional[bool] = ..., pixel_id: _Optional[str] = ..., credentials_ref: _Optional[str] = ..., test_event_code: _Optional[str] = ..., event_names: _Optional[_Mapping[str, str]] = ..., ad_account_id: _Optional[str] = ...) -> None: ...

class TikTokDestination(_message.Message):
    __slots__ = ("enabled", "pixel_code", "credentials_ref", "test_event_code", "event_names", "advertiser_id")
    class EventNamesEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    ENABLED_FIELD_NUMBER: _ClassVar[int]
    PIXEL_CODE_FIELD_NUMBER: _ClassVar[int]
    CREDENTIALS_REF_FIELD_NUMBER: _ClassVar[int]
    TEST_EVENT_CODE_FIELD_NUMBER: _ClassVar[int]
    EVENT_NAMES_FIELD_NUMBER: _ClassVar[int]
    ADVERTISER_ID_FIELD_NUMBER: _ClassVar[int]
    enabled: bool
    pixel_code: str
    credentials_ref: str
    test_event_code: str
    event_names: _containers.ScalarMap[str, str]
    advertiser_id: str
    def __init__(self, enabled: _Optional[bool] = ..., pixel_code: _Optional[str] = ..., credentials_ref: _Optional[str] = ..., test_event_code: _Optional[str] = ..., event_names: _Optional[_Mapping[str, str]] = ..., advertiser_id: _Optional[str] = ...) -> None: ...

class Destinations(_message.Message):
    __slots__ = ("google", "meta", "tiktok")
    GOOGLE_FIELD_NUMBER: _ClassVar[int]
    META_FIELD_NUMBER: _ClassVar[int]
    TIKTOK_FIELD_NUMBER: _ClassVar[int]
    google: GoogleDestination
    meta: MetaDestination
    tiktok: TikTokDestination
    def __init__(self, google: _Optional[_Union[GoogleDestination, _Mapping]] = ..., meta: _Optional[_Union[MetaDestination, _Mapping]] = ..., tiktok: _Optional[_Union[TikTokDestination, _Mapping]] = ...) -> None: ...

class DedupePolicy(_message.Message):
    __slots__ = ("window_seconds", "key_fields")
    WINDOW_SECONDS_FIELD_NUMBER: _ClassVar[int]
    KEY_FIELDS_FIELD_NUMBER: _ClassVar[int]
    window_seconds: int
    key_fields: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, window_seconds: _Optional[int] = ..., key_fields: _Optional[_Iterable[str]] = ...) -> None: ...

class ConsentPolicy(_message.Message):
    __slots__ = ("when_not_granted", "require_explicit_grant")
    WHEN_NOT_GRANTED_FIELD_NUMBER: _ClassVar[int]
    REQUIRE_EXPLICIT_GRANT_FIELD_NUMBER: _ClassVar[int]
    when_not_granted: ConsentAction
    require_explicit_grant: bool
    def __init__(self, when_not_granted: _Optional[_Union[ConsentAction, str]] = ..., require_explicit_grant: _Optional[bool] = ...) -> None: ...

class Site(_message.Message):
    __slots__ = ("site_id", "display_name", "attribution_mode", "sgtm", "destinations", "dedupe", "consent", "revision", "created_at", "updated_at", "default_country", "attribution", "sources")
    SITE_ID_FIELD_NUMBER: _ClassVar[int]
    DISPLAY_NAME_FIELD_NUMBER: _ClassVar[int]
    ATTRIBUTION_MODE_FIELD_NUMBER: _ClassVar[int]
    SGTM_FIELD_NUMBER: _ClassVar[int]
    DESTINATIONS_FIELD_NUMBER: _ClassVar[int]
    DEDUPE_FIELD_NUMBER: _ClassVar[int]
    CONSENT_FIELD_NUMBER: _ClassVar[int]
    REVISION_FIELD_NUMBER: _ClassVar[int]
    CREATED_AT_FIELD_NUMBER: _ClassVar[int]
    UPDATED_AT_FIELD_NUMBER: _ClassVar[int]
    DEFAULT_COUNTRY_FIELD_NUMBER: _ClassVar[int]
    ATTRIBUTION_FIELD_NUMBER: _ClassVar[int]
    SOURCES_FIELD_NUMBER: _ClassVar[int]
    site_id: str
    display_name: str
    attribution_mode: _common_pb2.AttributionMode
    sgtm: SgtmConfig
    destinations: Destinations
    dedupe: DedupePolicy
    consent: ConsentPolicy
    revision: int
    created_at: _timestamp_pb2.Timestamp
    updated_at: _timestamp_pb2.Timestamp
    default_country: str
    attribution: AttributionSettings
    sources: Sources
    def __init__(self, site_id: _Optional[str] = ..., display_name: _Optional[str] = ..., attribution_mode: _Optional[_Union[_common_pb2.AttributionMode, str]] = ..., sgtm: _Optional[_Union[SgtmConfig, _Mapping]] = ..., destinations: _Optional[_Union[Destinations, _Mapping]] = ..., dedupe: _Optional[_Union[DedupePolicy, _Mapping]] = ..., consent: _Optional[_Union[ConsentPolicy, _Mapping]] = ..., revision: _Optional[int] = ..., created_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., updated_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., default_country: _Optional[str] = ..., attribution: _Optional[_Union[AttributionSettings, _Mapping]] = ..., sources: _Optional[_Union[Sources, _Mapping]] = ...) -> None: ...

class Sources(_message.Message):
    __slots__ = ("shopify", "woocommerce", "hubspot")
    SHOPIFY_FIELD_NUMBER: _ClassVar[int]
    WOOCOMMERCE_FIELD_NUMBER: _ClassVar[int]
    HUBSPOT_FIELD_NUMBER: _ClassVar[int]
    shopify: ShopifySource
    woocommerce: WooCommerceSource
    hubspot: HubSpotSource
    def __init__(self, shopify: _Optional[_Union[ShopifySource, _Mapping]] = ..., woocommerce: _Optional[_Union[WooCommerceSource, _Mapping]] = ..., hubspot: _Optional[_Union[HubSpotSource, _Mapping]] = ...) -> None: ...

class ShopifySource(_message.Message):
    __slots__ = ("secret_ref", "shop_domain")
    SECRET_REF_FIELD_NUMBER: _ClassVar[int]
    SHOP_DOMAIN_FIELD_NUMBER: _ClassVar[int]
    secret_ref: str
    shop_domain: str
    def __init__(self, secret_ref: _Optional[str] = ..., shop_domain: _Optional[str] = ...) -> None: ...

class WooCommerceSource(_message.Message):
    __slots__ = ("secret_ref", "paid_statuses")
    SECRET_REF_FIELD_NUMBER: _ClassVar[int]
    PAID_STATUSES_FIELD_NUMBER: _ClassVar[int]
    secret_ref: str
    paid_statuses: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, secret_ref: _Optional[str] = ..., paid_statuses: _Optional[_Iterable[str]] = ...) -> None: ...

class HubSpotSource(_message.Message):
    __slots__ = ("app_secret_ref", "access_token_ref", "portal_id", "won_stages", "event_type", "default_currency")
    APP_SECRET_REF_FIELD_NUMBER: _ClassVar[int]
    ACCESS_TOKEN_REF_FIELD_NUMBER: _ClassVar[int]
    PORTAL_ID_FIELD_NUMBER: _ClassVar[int]
    WON_STAGES_FIELD_NUMBER: _ClassVar[int]
    EVENT_TYPE_FIELD_NUMBER: _ClassVar[int]
    DEFAULT_CURRENCY_FIELD_NUMBER: _ClassVar[int]
    app_secret_ref: str
    access_token_ref: str
    portal_id: int
    won_stages: _containers.RepeatedScalarFieldContainer[str]
    event_type: str
    default_currency: str
    def __init__(self, app_secret_ref: _Optional[str] = ..., access_token_ref: _Optional[str] = ..., portal_id: _Optional[int] = ..., won_stages: _Optional[_Iterable[str]] = ..., event_type: _Optional[str] = ..., default_currency: _Optional[str] = ...) -> None: ...

class AttributionSettings(_message.Message):
    __slots__ = ("lookback_days", "half_life_days", "click_only", "reporting_currency", "exclude_surveys", "view_through_days")
    LOOKBACK_DAYS_FIELD_NUMBER: _ClassVar[int]
    HALF_LIFE_DAYS_FIELD_NUMBER: _ClassVar[int]
    CLICK_ONLY_FIELD_NUMBER: _ClassVar[int]
    REPORTING_CURRENCY_FIELD_NUMBER: _ClassVar[int]
    EXCLUDE_SURVEYS_FIELD_NUMBER: _ClassVar[int]
    VIEW_THROUGH_DAYS_FIELD_NUMBER: _ClassVar[int]
    lookback_days: int
    half_life_days: float
    click_only: bool
    reporting_currency: str
    exclude_surveys: bool
    view_through_days: int
    def __init__(self, lookback_days: _Optional[int] = ..., half_life_days: _Optional[float] = ..., click_only: _Optional[bool] = ..., reporting_currency: _Optional[str] = ..., exclude_surveys: _Optional[bool] = ..., view_through_days: _Optional[int] = ...) -> None: ...

class UpsertSiteRequest(_message.Message):
    __slots__ = ("site", "expected_revision", "validate_only")
    SITE_FIELD_NUMBER: _ClassVar[int]
    EXPECTED_REVISION_FIELD_NUMBER: _ClassVar[int]
    VALIDATE_ONLY_FIELD_NUMBER: _ClassVar[int]
    site: Site
    expected_revision: int
    validate_only: bool
    def __init__(self, site: _Optional[_Union[Site, _Mapping]] = ..., expected_revision: _Optional[int] = ..., validate_only: _Optional[bool] = ...) -> None: ...

class UpsertSiteResponse(_message.Message):
    __slots__ = ("site", "created")
    SITE_FIELD_NUMBER: _ClassVar[int]
    CREATED_FIELD_NUMBER: _ClassVar[int]
    site: Site
    created: bool
    def __init__(self, site: _Optional[_Union[Site, _Mapping]] = ..., created: _Optional[bool] = ...) -> None: ...

class GetSiteRequest(_message.Message):
    __slots__ = ("site_id",)
    SITE_ID_FIELD_NUMBER: _ClassVar[int]
    site_id: str
    def __init__(self, site_id: _Optional[str] = ...) -> None: ...

class GetSiteResponse(_message.Message):
    __slots__ = ("site",)
    SITE_FIELD_NUMBER: _ClassVar[int]
    site: Site
    def __init__(self, site: _Optional[_Union[Site, _Mapping]] = ...) -> None: ...

class ListSitesRequest(_message.Message):
    __slots__ = ("page_size", "page_token")
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    page_size: int
    page_token: str
    def __init__(self, page_size: _Optional[int] = ..., page_token: _Optional[str] = ...) -> None: ...

class ListSitesResponse(_message.Message):
    __slots__ = ("sites", "next_page_token")
    SITES_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    sites: _containers.RepeatedCompositeFieldContainer[Site]
    next_page_token: str
    def __init__(self, sites: _Optional[_Iterable[_Union[Site, _Mapping]]] = ..., next_page_token: _Optional[str] = ...) -> None: ...

class DeleteSiteRequest(_message.Message):
    __slots__ = ("site_id", "expected_revision")
    SITE_ID_FIELD_NUMBER: _ClassVar[int]
    EXPECTED_REVISION_FIELD_NUMBER: _ClassVar[int]
    site_id: str
    expected_revision: int
    def __init__(self, site_id: _Optional[str] = ..., expected_revision: _Optional[int] = ...) -> None: ...

class DeleteSiteResponse(_message.Message):
    __slots__ = ("revision",)
    REVISION_FIELD_NUMBER: _ClassVar[int]
    revision: int
    def __init__(self, revision: _Optional[int] = ...) -> None: ...
