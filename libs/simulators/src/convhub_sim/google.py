"""Google simulator: OAuth token refresh, Data Manager `events:ingest` + `requestStatus:retrieve`,
and the Ads API `uploadClickConversions`, on one base URL (docs/platforms.md §2 and §2B,
checklists §2.12 and §2B.14).

- `POST /token` (form): refresh tokens starting with "dev-" are accepted with both scopes, unless
  revoked; `add_refresh_token` registers others with chosen scopes (and optionally a client id).
  Access tokens carry their refresh token's scopes and live `token_lifetime` seconds.
- Data Manager: JSON is read like Google's front end (camelCase or snake_case keys; the first
  unknown field, wrong type, unknown enum name such as "GRANTED" or bad RFC 3339 text fails with
  an ESF-style BadRequest and no reason, §2B.9/§2B.14.2); then the whole request is validated,
  one fieldViolation per offending field. Accepted events go through a transactionId store per
  (operating account, action): conversion, duplicate (identical event) or adjustment (changed).
  The request status is PROCESSING for `status_delay` seconds, then SUCCESS / PARTIAL_SUCCESS /
  FAILED from the reasons counted at ingest (denied consent, > 90 days old, duplicate
  transactionId, scripted gclids).
- Ads API: request-level errors as a 400 GoogleAdsFailure, per-row errors as an HTTP 200 partial
  failure; order ids and (action, click, time) persist across requests.
- Conversion actions: any numeric id in any account until `add_conversion_action` is called;
  from then on only registered ones (and only their accounts are accessible).
- Reporting: `POST /{version}/customers/{customer}/googleAds:searchStream` answers a GAQL query
  FROM campaign (the fields in `SEARCH_FIELDS`; WHERE conditions joined by AND on
  segments.date, metrics.cost_micros, campaign.id and campaign.name; ORDER BY ignored, LIMIT
  kept) from the spend `seed_spend` recorded: a JSON array of batches of `report_page_size`
  rows (10,000 at Google), each with `results`, `fieldMask` and `requestId`, camelCase keys,
  int64 values as strings (`costMicros`, `campaign.id`). Selecting segments.date needs a
  finite date range (queryError EXPECTED_FILTERS_ON_DATE_RANGE). Auth, throttles, 5xx and
  the `quota` knob apply as on the other routes; `deny_customer` refuses a customer with an
  authorizationError (403).

Knobs work in-process or over HTTP (`POST /_sim/google/faults`); `GET /_sim/google/stats` gives
counts and request statuses. Scripted faults hit the three API routes, never `/token` (only
`slow` without a count delays it too). Error texts the contract quotes are Google's; the others
are stand-ins in Google's style.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import functools
import hashlib
import json
import math
import re
import secrets
import time
import uuid
from collections import Counter, deque
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from datetime import date, datetime
from http import HTTPStatus
from typing import Any, NamedTuple

from aiohttp import web

from convhub_sim.base import Fault, Simulator
from convhub_sim.reporting import SeededSpend, SpendRow

ADWORDS_SCOPE = "https://www.googleapis.com/auth/adwords"
DATAMANAGER_SCOPE = "https://www.googleapis.com/auth/datamanager"
ADS_VERSIONS = range(23, 27)  # active versions (§2)
STREAM_BATCH_SIZE = 10_000  # rows per searchStream batch, as Google sends them
TOKEN_LIFETIME = 3599
STATUS_DELAY = 2.0  # Google says wait 30 min (§2B.10); tests and `make run` want seconds
MAX_EVENTS = 2000
MAX_DESTINATIONS = 10
MAX_USER_IDENTIFIERS = 10
MAX_CONVERSIONS = 2000
MAX_ADS_IDENTIFIERS = 5
MAX_JOB_ID = 2**31
MAX_EVENT_AGE = 90 * 86400  # EVENT_TOO_OLD beyond the longest click-through window (§2B.7)
FUTURE_TOLERANCE = 60.0  # EVENT_TIME_INVALID: Google's tolerance is unpublished (§2B.7)
RETRY_DELAY = 30.0  # the contract's example retryDelay
PROJECT_QUOTA = 300  # Data Manager requests per minute per Cloud project (§2B.7)
MAX_RECEIVED = 500_000  # the log a long `make run` keeps
MAX_STATUSES = 100_000

CANONICAL = {
    400: "INVALID_ARGUMENT",
    401: "UNAUTHENTICATED",
    403: "PERMISSION_DENIED",
    404: "NOT_FOUND",
    429: "RESOURCE_EXHAUSTED",
    500: "INTERNAL",
    503: "UNAVAILABLE",
    504: "DEADLINE_EXCEEDED",
}
_CREDENTIALS = (
    " Expected OAuth 2 access token, login cookie or other valid authentication credential. See"
    " https://developers.google.com/identity/sign-in/web/devconsole-project."
)
_MISSING = "Request is missing required authentication credential." + _CREDENTIALS
_INVALID = "Request had invalid authentication credentials." + _CREDENTIALS
_SCOPES = "Request had insufficient authentication scopes."
# kind -> (HTTP status, message, ErrorInfo reason, the Ads API's code: an authenticationError
# with 401, an authorizationError with 403)
AUTH_ERRORS = {
    "missing": (401, _MISSING, "CREDENTIALS_MISSING", "OAUTH_TOKEN_HEADER_INVALID"),
    "unknown": (401, _INVALID, "ACCESS_TOKEN_TYPE_UNSUPPORTED", "OAUTH_TOKEN_INVALID"),
    "expired": (401, _INVALID, "ACCESS_TOKEN_EXPIRED", "OAUTH_TOKEN_EXPIRED"),
    "scope": (403, _SCOPES, "ACCESS_TOKEN_SCOPE_INSUFFICIENT", "USER_PERMISSION_DENIED"),
}
# HTTP status -> (message, Data Manager ErrorReason or None, Ads InternalError code)
SERVER_ERRORS = {
    500: ("Internal error encountered.", "INTERNAL_ERROR", "INTERNAL_ERROR"),
    503: ("The service is currently unavailable.", None, "TRANSIENT_ERROR"),
    504: ("Deadline exceeded.", "DEADLINE_EXCEEDED", "DEADLINE_EXCEEDED"),
}
DM_DESCRIPTIONS = {
    "REQUIRED_FIELD_MISSING": "The required field was not present.",
    "INVALID_NUMBER_FORMAT": "The number is in an invalid format.",
    "INVALID_FORMAT": "The value is in an invalid format.",
    "INVALID_HEX_ENCODING": "The HEX encoded value is malformed.",
    "INVALID_BASE64_ENCODING": "The Base64 encoded value is malformed.",
    "INVALID_SHA256_FORMAT": "The SHA256 encoded value is malformed.",
    "NO_IDENTIFIERS_PROVIDED": "The event has neither user data nor ad identifiers.",
    "TOO_MANY_EVENTS": f"The request has more than {MAX_EVENTS} events.",
    "TOO_MANY_DESTINATIONS": f"The request has more than {MAX_DESTINATIONS} destinations.",
    "TOO_MANY_USER_IDENTIFIERS": f"More than {MAX_USER_IDENTIFIERS} user identifiers.",
    "DUPLICATE_DESTINATION_REFERENCE": "The destination reference is not unique.",
    "INVALID_CURRENCY_CODE": "The currency code is not a valid ISO 4217 code.",
    "EVENT_TIME_INVALID": "The event time is in the future.",
    "INVALID_CONVERSION_ACTION_ID": "The conversion action ID is invalid.",
    "INVALID_REQUEST_ID": "The request ID is invalid.",
}
DM_WARNINGS = {
    "CART_DATA_NOT_SUPPORTED_WITH_GBRAID_OR_WBRAID": "Cart data is ignored with gbraid or wbraid.",
    "CART_DATA_ITEM_MERCHANT_PRODUCT_ID_MISSING": "The cart item has no merchant product ID.",
    "CART_DATA_ITEM_UNIT_PRICE_MISSING": "The cart item has no unit price.",
}
ADS_ERROR_TEXT = {
    "PARTIAL_FAILURE_MODE_REQUIRED": "The partial failure field was false in the request. This"
    " method requires this field be set to true.",
    "TOO_MANY_CONVERSIONS_IN_REQUEST": "Upload fewer than 2001 events in a single request.",
    "INVALID_JOB_ID": "The job ID must be a positive number in range [1, 2^31).",
    "INVALID_CUSTOMER_ID": "The customer ID is invalid.",
    "CUSTOMER_NOT_ALLOWLISTED_FOR_THIS_FEATURE": "Customer is not allowlisted for accessing this"
    " feature.",
    "REQUIRED_FIELD_MISSING": "The required field was not present.",
    "RESOURCE_NAME_MALFORMED": "The resource name is malformed.",
    "INVALID_STRING_DATE_TIME_SECONDS_WITH_OFFSET": "Date time input string is not in the"
    " yyyy-mm-dd hh:mm:ss+|-hh:mm format.",
    "TOO_MANY": "Too many elements in the collection.",
    "INVALID_USER_IDENTIFIER": "The user identifier is not a valid SHA-256 hash.",
    "UNSUPPORTED_USER_IDENTIFIER": "Only hashed email and hashed phone number are supported.",
    "NO_CONVERSION_ACTION_FOUND": "The conversion action was not found in the account.",
    "GBRAID_WBRAID_BOTH_SET": "Both gbraid and wbraid are set: use one.",
    "DUPLICATE_ORDER_ID": "The order ID appears more than once in the request.",
    "DUPLICATE_CLICK_CONVERSION_IN_REQUEST": "The click conversion appears more than once in"
    " the request.",
    "ORDER_ID_ALREADY_IN_USE": "The order ID was already used for this conversion action.",
    "CLICK_CONVERSION_ALREADY_EXISTS": "A conversion for this click, action and time exists.",
    "CLICK_NOT_FOUND": "The email address or phone number for this event can't be matched to a"
    " click.",
    "USER_PERMISSION_DENIED": "User doesn't have permission to access customer. Note: If you're"
    " accessing a client customer, the manager's customer id must be set in the"
    " 'login-customer-id' header. See"
    " https://developers.google.com/google-ads/api/docs/concepts/call-structure#cid",
    "CUSTOMER_NOT_ENABLED": "The customer account can't be accessed because it is not yet"
    " enabled or has been deactivated.",
    "DEVELOPER_TOKEN_NOT_APPROVED": "The developer token is not approved. Non-approved developer"
    " tokens can only be used with test accounts.",
    "UNRECOGNIZED_FIELD": "Unrecognized field in the query.",
}
# authorizationError codes `deny_customer` answers with (403 PERMISSION_DENIED)
DENIALS = frozenset(
    {"USER_PERMISSION_DENIED", "CUSTOMER_NOT_ENABLED", "DEVELOPER_TOKEN_NOT_APPROVED"}
)


def _messages(**specs: str) -> dict[str, dict[str, str]]:
    """{message: "field:type field ..."} -> {message: {field: type}}; a bare field is a string."""
    return {
        name: dict([*f.split(":", 1), "string"][:2] for f in spec.split())
        for name, spec in specs.items()
    }


# proto3 JSON schemas. Types: string bool double int32 int64 timestamp, any (taken unchecked),
# enum:<Name>, a message, or "[]" before one of them (repeated). Fields the contract does not
# type are `any`.
DM_MESSAGES = _messages(
    IngestEventsRequest="destinations:[]Destination events:[]Event consent:Consent"
    " validateOnly:bool encoding:enum:Encoding encryptionInfo:any",
    Destination="reference loginAccount:ProductAccount linkedAccount:ProductAccount"
    " operatingAccount:ProductAccount productDestinationId",
    ProductAccount="accountId accountType:enum:AccountType product:any",
    Event="destinationReferences:[]string transactionId eventTimestamp:timestamp"
    " lastUpdatedTimestamp:timestamp userData:UserData consent:Consent"
    " adIdentifiers:AdIdentifiers currency conversionValue:double conversionCount:double"
    " eventSource:enum:EventSource eventDeviceInfo:DeviceInfo cartData:CartData"
    " customVariables:[]CustomVariable experimentalFields:[]ExperimentalField"
    " userProperties:UserProperties eventName clientId userId appInstanceId"
    " additionalEventParameters:any eventLocation:any thirdPartyUserData:any",
    UserData="userIdentifiers:[]UserIdentifier",
    UserIdentifier="emailAddress phoneNumber address:Address",
    Address="givenName familyName regionCode postalCode addressLine:any city:any"
    " administrativeArea:any",
    AdIdentifiers="sessionAttributes gclid gbraid wbraid landingPageDeviceInfo:DeviceInfo"
    " mobileDeviceId:any dclid:any impressionId:any matchId:any encryptedUserIds:any",
    DeviceInfo="userAgent ipAddress category:any languageCode screenHeight:int32"
    " screenWidth:int32 operatingSystem operatingSystemVersion model brand browser"
    " browserVersion",
    CartData="merchantId merchantFeedLabel merchantFeedLanguageCode transactionDiscount:double"
    " couponCodes:[]string items:[]Item",
    Item="merchantProductId quantity:int64 unitPrice:double itemId conversionValue:any"
    " customVariables:any additionalItemParameters:any",
    Consent="adUserData:enum:ConsentStatus adPersonalization:enum:ConsentStatus",
    CustomVariable="variable value destinationReferences:[]string",
    ExperimentalField="field value",
    UserProperties="customerType:enum:CustomerType"
    " customerValueBucket:enum:CustomerValueBucket additionalUserProperties:any",
)
DM_ENUMS = {
    "Encoding": "ENCODING_UNSPECIFIED HEX BASE64",
    "AccountType": "ACCOUNT_TYPE_UNSPECIFIED GOOGLE_ADS DISPLAY_VIDEO_PARTNER"
    " DISPLAY_VIDEO_ADVERTISER DATA_PARTNER GOOGLE_ANALYTICS_PROPERTY"
    " GOOGLE_AD_MANAGER_AUDIENCE_LINK FLOODLIGHT_CONFIG",
    "EventSource": "EVENT_SOURCE_UNSPECIFIED WEB APP IN_STORE PHONE MESSAGE OTHER",
    "ConsentStatus": "CONSENT_STATUS_UNSPECIFIED CONSENT_GRANTED CONSENT_DENIED",
    "CustomerType": "CUSTOMER_TYPE_UNSPECIFIED NEW RETURNING REENGAGED",
    "CustomerValueBucket": "CUSTOMER_VALUE_BUCKET_UNSPECIFIED LOW MEDIUM HIGH",
}
ADS_MESSAGES = _messages(
    # jobId is range-checked by the backend (INVALID_JOB_ID), not by the front end
    UploadClickConversionsRequest="customerId conversions:[]ClickConversion"
    " partialFailure:bool validateOnly:bool jobId:int64",
    ClickConversion="gclid gbraid wbraid conversionAction conversionDateTime"
    " conversionValue:double currencyCode orderId externalAttributionData:any"
    " customVariables:any cartData:any userIdentifiers:[]UserIdentifier"
    " conversionEnvironment:enum:ConversionEnvironment consent:Consent customerType:any"
    " userIpAddress sessionAttributesEncoded sessionAttributesKeyValuePairs:any",
    UserIdentifier="userIdentifierSource:enum:UserIdentifierSource hashedEmail"
    " hashedPhoneNumber mobileId thirdPartyUserId addressInfo:any",
    Consent="adUserData:enum:ConsentStatus adPersonalization:enum:ConsentStatus",
    SearchGoogleAdsStreamRequest="customerId query summaryRowSetting:enum:SummaryRowSetting",
)
ADS_ENUMS = {
    "SummaryRowSetting": "UNSPECIFIED UNKNOWN NO_SUMMARY_ROW SUMMARY_ROW_WITH_RESULTS"
    " SUMMARY_ROW_ONLY",
    "ConsentStatus": "UNSPECIFIED UNKNOWN GRANTED DENIED",
    "ConversionEnvironment": "UNSPECIFIED UNKNOWN APP WEB",
    "UserIdentifierSource": "UNSPECIFIED UNKNOWN FIRST_PARTY THIRD_PARTY",
}
_SCALAR_LABELS = {t: f"TYPE_{t.upper()}" for t in ("string", "bool", "double", "int32", "int64")}
_SCALAR_LABELS["timestamp"] = "type.googleapis.com/google.protobuf.Timestamp"
_RFC3339 = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,9})?(Z|[+-]\d{2}:\d{2})")
_ADS_DATETIME = re.compile(r"\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}[+-]\d{2}:\d{2}")
_ACTION_NAME = re.compile(r"customers/(\d+)/conversionActions/(\d+)")
_ADS_VERSION = re.compile(r"v(\d+)")
_HEX = re.compile(r"(?:[0-9a-fA-F]{2})+")
_HEX64_LOWER = re.compile(r"[0-9a-f]{64}")
_CURRENCY = re.compile(r"[A-Z]{3}")
_REGION = re.compile(r"[A-Za-z]{2}")
_INTEGER = re.compile(r"-?\d+")
_CLICK_IDS = ("gclid", "gbraid", "wbraid")
_RESULT_KEYS = (*_CLICK_IDS, "conversionAction", "conversionDateTime", "userIdentifiers")


class Rejected(Exception):
    """An error answer: its HTTP status and google.rpc.Status JSON body."""

    def __init__(self, status: int, body: dict[str, Any]) -> None:
        super().__init__(status)
        self.status = status
        self.body = body


class Api(NamedTuple):
    """The surface answering a request; `ads_version` ("v25") only for the Ads API."""

    scope: str
    service: str
    method: str
    ads_version: str = ""


DM_INGEST = Api(
    DATAMANAGER_SCOPE,
    "datamanager.googleapis.com",
    "google.ads.datamanager.v1.IngestionService.IngestEvents",
)
DM_STATUS = DM_INGEST._replace(
    method="google.ads.datamanager.v1.IngestionService.RetrieveRequestStatus"
)


def ads_api(version: str) -> Api:
    method = (
        f"google.ads.googleads.{version}.services.ConversionUploadService.UploadClickConversions"
    )
    return Api(ADWORDS_SCOPE, "googleads.googleapis.com", method, version)


def search_api(version: str) -> Api:
    method = f"google.ads.googleads.{version}.services.GoogleAdsService.SearchStream"
    return Api(ADWORDS_SCOPE, "googleads.googleapis.com", method, version)


# GAQL fields served FROM campaign: name -> (row resource, camelCase field)
SEARCH_FIELDS = {
    "campaign.id": ("campaign", "id"),
    "campaign.name": ("campaign", "name"),
    "campaign.resource_name": ("campaign", "resourceName"),
    "segments.date": ("segments", "date"),
    "metrics.cost_micros": ("metrics", "costMicros"),
    "customer.id": ("customer", "id"),
    "customer.currency_code": ("customer", "currencyCode"),
    "customer.resource_name": ("customer", "resourceName"),
}
_GAQL = re.compile(
    r"\s*SELECT\s+(?P<select>.+?)\s+FROM\s+(?P<resource>\w+)"
    r"(?:\s+WHERE\s+(?P<where>.+?))?(?:\s+ORDER\s+BY\s+(?P<order>.+?))?"
    r"(?:\s+LIMIT\s+(?P<limit>\d+))?\s*",
    re.IGNORECASE | re.DOTALL,
)
_CONDITION = re.compile(
    r"(?P<field>[a-z_.]+)\s+(?:BETWEEN\s+'(?P<low>[^']*)'\s+AND\s+'(?P<high>[^']*)'"
    r"|(?P<op>>=|<=|!=|=|>|<)\s*(?P<value>'[^']*'|-?\d+))",
    re.IGNORECASE,
)
_AND = re.compile(r"\s+AND\s+", re.IGNORECASE)
_COMPARE: dict[str, Callable[[Any, Any], bool]] = {
    "=": lambda a, b: a == b,
    "!=": lambda a, b: a != b,
    ">": lambda a, b: a > b,
    ">=": lambda a, b: a >= b,
    "<": lambda a, b: a < b,
    "<=": lambda a, b: a <= b,
}


@dataclass
class SearchQuery:
    """A parsed GAQL query the simulator can answer."""

    fields: list[str]
    since: date | None = None
    until: date | None = None
    filters: list[tuple[str, str, Any]] = field(default_factory=list)  # (field, op, value)
    limit: int | None = None

    def keep(self, row: SpendRow) -> bool:
        if self.since is not None and row.day < self.since:
            return False
        if self.until is not None and row.day > self.until:
            return False
        values = {
            "metrics.cost_micros": row.micros,
            "campaign.id": int(row.campaign_id),
            "campaign.name": row.campaign,
        }
        return all(_COMPARE[op](values[name], value) for name, op, value in self.filters)


@dataclass
class AccessGrant:
    scopes: frozenset[str]
    expires_at: float


@dataclass
class StoredEvent:
    """A Data Manager event as ingested for one destination, and what Google made of it."""

    request_id: str
    operating_account: str
    action: str
    transaction_id: str
    kind: str  # "conversion" | "duplicate" | "adjustment"
    error: str | None  # the ProcessingErrorReason its request status counts, if any
    at: float
    payload: dict[str, Any] = field(repr=False)  # the event exactly as sent


@dataclass
class DestinationStatus:
    destination: dict[str, Any]  # echoed in the request status
    records: int
    errors: Counter[str]


@dataclass
class IngestRecord:
    at: float
    destinations: list[DestinationStatus]


@dataclass
class UploadedConversion:
    """An Ads API row that succeeded (not for validateOnly)."""

    customer_id: str
    job_id: int
    index: int
    at: float
    payload: dict[str, Any] = field(repr=False)  # the row exactly as sent


@dataclass
class Findings:
    """Data Manager validation: fieldViolations fail the request, fieldWarnings do not."""

    violations: list[dict[str, str]] = field(default_factory=list)
    warnings: list[dict[str, str]] = field(default_factory=list)

    def bad(self, path: str, reason: str) -> None:
        self.violations.append(
            {"field": path, "description": DM_DESCRIPTIONS[reason], "reason": reason}
        )

    def warn(self, path: str, reason: str) -> None:
        self.warnings.append(
            {
                "reason": f"WARNING_REASON_{reason}",
                "description": DM_WARNINGS[reason],
                "field": path,
            }
        )


class GoogleSimulator(Simulator):
    name = "google"

    def __init__(
        self,
        *,
        dev_refresh_tokens: bool = True,
        token_lifetime: float = TOKEN_LIFETIME,
        status_delay: float = STATUS_DELAY,
        ads_versions: Iterable[int] = ADS_VERSIONS,
        clock: Callable[[], float] = time.time,
        max_received: int = MAX_RECEIVED,
    ) -> None:
        self.dev_refresh_tokens = dev_refresh_tokens  # "dev-…" refresh tokens get both scopes
        self.refresh_tokens: dict[str, tuple[frozenset[str], str | None]] = {}
        self.revoked: set[str] = set()
        self.token_lifetime = token_lifetime
        self.access_tokens: dict[str, AccessGrant] = {}
        self.tokens_issued = 0
        self.status_delay = status_delay
        self.ads_versions = set(ads_versions)
        self.clock = clock
        self.actions: dict[str, set[str]] | None = None  # account -> action ids; None: any
        self.allowlisted: set[str] | None = None  # Ads customers; None: every customer
        self.per_minute: int | None = None  # the `quota` knob
        self._quota_window: deque[float] = deque()
        self.scripted_gclids: dict[str, str] = {}
        self._row_faults: deque[dict[int, str]] = deque()
        self.transactions: dict[tuple[str, str, str], bytes] = {}  # -> the event's fingerprint
        self.received: deque[StoredEvent] = deque(maxlen=max_received)
        self.statuses: dict[str, IngestRecord] = {}
        self.order_ids: set[tuple[str, str]] = set()  # (action id, order id)
        self.click_conversions: set[tuple[str, str, str]] = set()  # (action id, click, time)
        self.uploads: deque[UploadedConversion] = deque(maxlen=max_received)
        self.spend = SeededSpend()  # what searchStream reports
        self.stream_batch_size = STREAM_BATCH_SIZE
        self.denied_customers: dict[str, str] = {}  # customer -> authorizationError code
        super().__init__()

    def routes(self, app: web.Application) -> None:
        # aiohttp matches the decoded path: `requestStatus%3Aretrieve` lands here too.
        app.router.add_post("/token", self._token)
        app.router.add_post("/v1/events:ingest", self._ingest)
        app.router.add_get("/v1/requestStatus:retrieve", self._retrieve)
        app.router.add_post("/{version}/customers/{customer}:uploadClickConversions", self._upload)
        app.router.add_post(
            "/{version}/customers/{customer}/googleAds:searchStream", self._search_stream
        )
        app.router.add_get("/_sim/google/stats", self._get_stats)
        app.router.add_get("/_sim/google/events", self._get_events)
        app.router.add_post("/_sim/google/faults", self._post_google_faults)

    # --- configuration ---------------------------------------------------------------------------

    def add_refresh_token(
        self,
        refresh_token: str,
        scopes: Iterable[str] = (DATAMANAGER_SCOPE, ADWORDS_SCOPE),
        client_id: str | None = None,
    ) -> None:
        """Accept `refresh_token` (from `client_id` only, when given) for tokens with `scopes`."""
        self.refresh_tokens[refresh_token] = (frozenset(scopes), client_id)
        self.revoked.discard(refresh_token)

    def revoke_refresh_token(self, refresh_token: str) -> None:
        self.refresh_tokens.pop(refresh_token, None)
        self.revoked.add(refresh_token)

    def add_conversion_action(self, operating_account_id: str, action_id: str) -> None:
        """From the first call on, only registered actions (and their accounts) are known."""
        if self.actions is None:
            self.actions = {}
        self.actions.setdefault(str(operating_account_id), set()).add(str(action_id))

    # --- knobs -----------------------------------------------------------------------------------

    def throttle(
        self,
        count: int = 1,
        *,
        seconds: float | None = None,
        retry_delay: float | None = RETRY_DELAY,
        retry_info: bool = False,
    ) -> None:
        """429 RESOURCE_EXHAUSTED in each surface's shape (retryDelay omitted when None), to the
        next `count` requests or to every request for `seconds`. The Ads API gives its delay in
        quotaErrorDetails (§2.8); `retry_info` adds a google.rpc.RetryInfo detail as well."""
        body = functools.partial(
            _throttled, retry_delay=retry_delay, limit=PROJECT_QUOTA, retry_info=retry_info
        )
        self._inject(count, seconds, Fault(status=429, body=body))

    def server_error(
        self, count: int = 1, *, status: int = 500, seconds: float | None = None
    ) -> None:
        """500 INTERNAL, 503 UNAVAILABLE or 504 DEADLINE_EXCEEDED."""
        if status not in SERVER_ERRORS:
            raise ValueError(f"status must be one of {sorted(SERVER_ERRORS)}")
        self._inject(count, seconds, Fault(status=status))

    def expire_tokens(self) -> None:
        """Every access token minted so far is expired: 401 until a newly minted one is used."""
        for grant in self.access_tokens.values():
            grant.expires_at = float("-inf")

    def slow(self, seconds: float, count: int | None = None) -> None:
        """Delay answers: the next `count` requests, or every request when count is None."""
        if count is None:
            self.latency = seconds
        else:
            self.fail_next(count, Fault(delay=seconds, passthrough=True))

    def quota(self, per_minute: int | None) -> None:
        """429 to API requests beyond `per_minute` in any 60 s (None: no quota)."""
        self.per_minute = per_minute
        self._quota_window.clear()

    def allowlist(self, allowed: bool | Iterable[str] = True) -> None:
        """Ads API customers on the allowlist: True everyone, False no one, or these ids."""
        if isinstance(allowed, bool):
            self.allowlisted = None if allowed else set()
        else:
            self.allowlisted = {str(c) for c in allowed}

    def script_gclid(self, gclid: str, reason: str) -> None:
        """Events with this gclid fail with `reason`: as a Data Manager processing error
        (PROCESSING_ERROR_REASON_ added when absent) and as an Ads conversionUploadError."""
        self.scripted_gclids[gclid] = reason.removeprefix("PROCESSING_ERROR_REASON_")

    def seed_spend(
        self,
        account_id: str,
        rows: Iterable[dict[str, Any]] = (),
        currency: str = "EUR",
    ) -> None:
        """Spend searchStream reports for customer `account_id`: rows {"campaign", "date",
        "amount", "campaign_id"?} in `currency` (convhub_sim.reporting)."""
        self.spend.seed(account_id, rows, currency)

    def report_page_size(self, rows: int) -> None:
        """Rows per searchStream batch (Google: 10,000); small ones prove a client reads all."""
        if rows < 1:
            raise ValueError("rows must be at least 1")
        self.stream_batch_size = int(rows)

    def deny_customer(self, customer_id: str, code: str = "USER_PERMISSION_DENIED") -> None:
        """searchStream refuses `customer_id`: 403 with authorizationError `code`
        (USER_PERMISSION_DENIED, CUSTOMER_NOT_ENABLED or DEVELOPER_TOKEN_NOT_APPROVED)."""
        if code not in DENIALS:
            raise ValueError(f"code must be one of {sorted(DENIALS)}")
        self.denied_customers[str(customer_id)] = code

    def fail_rows(self, indexes: Iterable[int], code: str = "CLICK_NOT_FOUND") -> None:
        """The next uploadClickConversions request fails these rows with conversionUploadError
        `code` (calls queue up for the requests after it)."""
        self._row_faults.append(dict.fromkeys((int(i) for i in indexes), code))

    def _inject(self, count: int, seconds: float | None, fault: Fault) -> None:
        if seconds is None:
            self.fail_next(count, fault)
        else:
            self.fail_for(seconds, fault)

    def reset(self) -> None:
        """Forget traffic, stores and faults; keep refresh tokens, actions and minted tokens."""
        self.clear_faults()
        self.requests.clear()
        self.per_minute = None
        self._quota_window.clear()
        self.allowlisted = None
        self.scripted_gclids.clear()
        self._row_faults.clear()
        self.spend.clear()
        self.stream_batch_size = STREAM_BATCH_SIZE
        self.denied_customers.clear()
        self.transactions.clear()
        self.received.clear()
        self.statuses.clear()
        self.order_ids.clear()
        self.click_conversions.clear()
        self.uploads.clear()

    # --- what tests read -------------------------------------------------------------------------

    def conversions(self) -> list[StoredEvent]:
        return [e for e in self.received if e.kind == "conversion"]

    def duplicates(self) -> list[StoredEvent]:
        return [e for e in self.received if e.kind == "duplicate"]

    def adjustments(self) -> list[StoredEvent]:
        return [e for e in self.received if e.kind == "adjustment"]

    def request_status(self, request_id: str) -> dict[str, Any] | None:
        """The `requestStatus:retrieve` answer for `request_id` now (None: unknown id)."""
        record = self.statuses.get(request_id)
        if record is None:
            return None
        done = self.clock() - record.at >= self.status_delay
        return {"requestStatusPerDestination": [_status_of(d, done) for d in record.destinations]}

    # --- OAuth -----------------------------------------------------------------------------------

    async def _token(self, request: web.Request) -> web.Response:
        form = await request.post()
        grant_type = str(form.get("grant_type", ""))
        if grant_type != "refresh_token":
            return _oauth_error(400, "unsupported_grant_type", f"Invalid grant_type: {grant_type}")
        client_id = str(form.get("client_id", ""))
        if not client_id or not form.get("client_secret"):
            return _oauth_error(401, "invalid_client", "The OAuth client was not found.")
        refresh_token = str(form.get("refresh_token", ""))
        if not refresh_token:
            return _oauth_error(400, "invalid_request", "Missing required parameter: refresh_token")
        scopes, owner = self.refresh_tokens.get(refresh_token, (None, None))
        if scopes is None and self.dev_refresh_tokens and refresh_token.startswith("dev-"):
            scopes = frozenset((DATAMANAGER_SCOPE, ADWORDS_SCOPE))
        if scopes is None or refresh_token in self.revoked:
            return _oauth_error(400, "invalid_grant", "Token has been expired or revoked.")
        if owner is not None and owner != client_id:
            return _oauth_error(401, "unauthorized_client", "Unauthorized")
        token = "ya29.sim-" + secrets.token_urlsafe(32)
        self.access_tokens[token] = AccessGrant(scopes, self.clock() + self.token_lifetime)
        self.tokens_issued += 1
        return web.json_response(
            {
                "access_token": token,
                "expires_in": int(self.token_lifetime),
                "scope": " ".join(sorted(scopes)),
                "token_type": "Bearer",
            }
        )

    # --- the API routes --------------------------------------------------------------------------

    async def _ingest(self, request: web.Request) -> web.Response:
        return await self._serve(request, DM_INGEST, self._ingest_answer)

    async def _retrieve(self, request: web.Request) -> web.Response:
        return await self._serve(request, DM_STATUS, self._retrieve_answer)

    async def _upload(self, request: web.Request) -> web.Response:
        version = request.match_info["version"]
        known = _ADS_VERSION.fullmatch(version)
        if known is None or int(known.group(1)) not in self.ads_versions:
            return _not_found_page(request.path)
        return await self._serve(request, ads_api(version), self._upload_answer)

    async def _search_stream(self, request: web.Request) -> web.Response:
        version = request.match_info["version"]
        known = _ADS_VERSION.fullmatch(version)
        if known is None or int(known.group(1)) not in self.ads_versions:
            return _not_found_page(request.path)
        return await self._serve(request, search_api(version), self._search_answer)

    async def _serve(
        self,
        request: web.Request,
        api: Api,
        answer: Callable[[web.Request, Api], Awaitable[Any]],
    ) -> web.Response:
        """Scripted fault, then auth, then quota, then the route's own answer."""
        fault = self.take_fault()
        if fault is not None:
            if fault.delay:
                await asyncio.sleep(fault.delay)
            if not fault.passthrough:
                body = fault.body(api) if callable(fault.body) else fault.body
                if body is None:
                    body = _default_error(fault.status, api)
                return web.json_response(body, status=fault.status, headers=fault.headers)
        try:
            self._authorize(request, api)
            self._spend_quota(api)
            return web.json_response(await answer(request, api))
        except Rejected as exc:
            return web.json_response(exc.body, status=exc.status)

    def _authorize(self, request: web.Request, api: Api) -> None:
        header = request.headers.get("Authorization", "").strip()
        if not header:
            raise _auth_error("missing", api)
        scheme, _, token = header.partition(" ")
        grant = self.access_tokens.get(token.strip()) if scheme.lower() == "bearer" else None
        if grant is None:
            raise _auth_error("unknown", api)
        if grant.expires_at <= self.clock():
            raise _auth_error("expired", api)
        if api.scope not in grant.scopes:
            raise _auth_error("scope", api)

    def _spend_quota(self, api: Api) -> None:
        """A sliding minute; refused requests spend nothing (Google's buckets work that way)."""
        if self.per_minute is None:
            return
        now = self.clock()
        while self._quota_window and self._quota_window[0] <= now - 60:
            self._quota_window.popleft()
        if len(self._quota_window) >= self.per_minute:
            oldest = self._quota_window[0] if self._quota_window else now
            wait = max(1, math.ceil(oldest + 60 - now))
            raise Rejected(429, _throttled(api, retry_delay=wait, limit=self.per_minute))
        self._quota_window.append(now)

    # --- Data Manager ----------------------------------------------------------------------------

    async def _ingest_answer(self, request: web.Request, api: Api) -> dict[str, Any]:
        raw, body = DM_SCHEMA.read(await request.read(), "IngestEventsRequest")
        self._check_access(body.get("destinations", []))
        now = self.clock()
        found = Findings()
        self._check_destinations(body.get("destinations", []), found)
        self._check_events(body, now, found)
        if found.violations:
            message = "There was a problem with the request."
            raise _dm_error(400, message, "INVALID_ARGUMENT", [_bad_request(found.violations)])
        request_id = str(uuid.uuid4())
        if not body.get("validateOnly"):
            self._store(request_id, raw["events"], body, now)
        answer: dict[str, Any] = {"requestId": request_id}
        if found.warnings:
            answer["fieldWarnings"] = found.warnings
        return answer

    async def _retrieve_answer(self, request: web.Request, api: Api) -> dict[str, Any]:
        request_id = request.query.get("requestId") or request.query.get("request_id")
        reason = "INVALID_REQUEST_ID" if request_id else "REQUIRED_FIELD_MISSING"
        status = self.request_status(request_id) if request_id else None
        if status is None:
            found = Findings()
            found.bad("request_id", reason)
            raise _dm_error(400, DM_DESCRIPTIONS[reason], reason, [_bad_request(found.violations)])
        return status

    def _check_access(self, destinations: list[dict[str, Any]]) -> None:
        for destination in destinations:
            account = destination.get("operatingAccount", {}).get("accountId", "")
            if self.actions is not None and account.isdigit() and account not in self.actions:
                raise _dm_error(403, "The caller does not have permission", "PERMISSION_DENIED")

    def _check_destinations(self, destinations: list[dict[str, Any]], found: Findings) -> None:
        if not destinations:
            found.bad("destinations", "REQUIRED_FIELD_MISSING")
        elif len(destinations) > MAX_DESTINATIONS:
            found.bad("destinations", "TOO_MANY_DESTINATIONS")
        references: set[str] = set()
        for i, destination in enumerate(destinations):
            at = f"destinations[{i}]"
            reference = destination.get("reference")
            if reference and reference in references:
                found.bad(f"{at}.reference", "DUPLICATE_DESTINATION_REFERENCE")
            references.add(reference or "")
            for key, name in (
                ("operatingAccount", "operating_account"),
                ("loginAccount", "login_account"),
            ):
                account = destination.get(key)
                if account is None:
                    if key == "operatingAccount":
                        found.bad(f"{at}.{name}", "REQUIRED_FIELD_MISSING")
                    continue
                account_id = account.get("accountId", "")
                if not account_id:
                    found.bad(f"{at}.{name}.account_id", "REQUIRED_FIELD_MISSING")
                elif not account_id.isdigit():
                    found.bad(f"{at}.{name}.account_id", "INVALID_NUMBER_FORMAT")
                if account.get("accountType") in (None, "ACCOUNT_TYPE_UNSPECIFIED"):
                    found.bad(f"{at}.{name}.account_type", "REQUIRED_FIELD_MISSING")
            action = destination.get("productDestinationId", "")
            owner = destination.get("operatingAccount", {}).get("accountId", "")
            if not action:
                found.bad(f"{at}.product_destination_id", "REQUIRED_FIELD_MISSING")
            elif owner.isdigit() and not self._known_action(owner, action):
                found.bad(f"{at}.product_destination_id", "INVALID_CONVERSION_ACTION_ID")

    def _check_events(self, body: dict[str, Any], now: float, found: Findings) -> None:
        events = body.get("events", [])
        if not events:
            found.bad("events", "REQUIRED_FIELD_MISSING")
        elif len(events) > MAX_EVENTS:
            found.bad("events", "TOO_MANY_EVENTS")
        encoding = body.get("encoding", "ENCODING_UNSPECIFIED")
        if encoding == "ENCODING_UNSPECIFIED" and any("userData" in e for e in events):
            found.bad("encoding", "REQUIRED_FIELD_MISSING")
        encrypted = bool(body.get("encryptionInfo"))  # ciphertext is longer than 32 bytes
        for i, event in enumerate(events):
            at = f"events.events[{i}]"  # the doubled prefix is Google's (§2B.9)
            stamp = event.get("eventTimestamp")
            if stamp is None:
                found.bad(f"{at}.event_timestamp", "REQUIRED_FIELD_MISSING")
            elif _instant(stamp) > now + FUTURE_TOLERANCE:
                found.bad(f"{at}.event_timestamp", "EVENT_TIME_INVALID")
            if event.get("eventSource") in (None, "EVENT_SOURCE_UNSPECIFIED"):
                found.bad(f"{at}.event_source", "REQUIRED_FIELD_MISSING")
            if "currency" in event and not _CURRENCY.fullmatch(event["currency"]):
                found.bad(f"{at}.currency", "INVALID_CURRENCY_CODE")
            identifiers = event.get("userData", {}).get("userIdentifiers", [])
            if not identifiers and not event.get("adIdentifiers"):
                found.bad(at, "NO_IDENTIFIERS_PROVIDED")
            elif "userData" in event and not identifiers:
                found.bad(f"{at}.user_data.user_identifiers", "REQUIRED_FIELD_MISSING")
            elif len(identifiers) > MAX_USER_IDENTIFIERS:
                found.bad(f"{at}.user_data.user_identifiers", "TOO_MANY_USER_IDENTIFIERS")
            for j, identifier in enumerate(identifiers):
                where = f"{at}.user_data.user_identifiers[{j}]"
                _check_identifier(identifier, where, encoding, encrypted, found)
            _check_cart(event, at, found)

    def _known_action(self, account: str, action: str) -> bool:
        if self.actions is None:
            return action.isdigit()
        return action in self.actions.get(account, ())

    def _store(
        self, request_id: str, raw_events: list[Any], body: dict[str, Any], now: float
    ) -> None:
        statuses = []
        for destination in body["destinations"]:
            account = destination["operatingAccount"]["accountId"]
            action = destination["productDestinationId"]
            reference = destination.get("reference")
            errors: Counter[str] = Counter()
            routed = 0
            for payload, event in zip(raw_events, body["events"], strict=True):
                if (
                    event.get("destinationReferences")
                    and reference not in event["destinationReferences"]
                ):
                    continue
                routed += 1
                kind = self._transaction_kind(account, action, event)
                error = self._processing_error(event, body.get("consent", {}), kind, now)
                if error is not None:
                    errors[error] += 1
                transaction = event.get("transactionId", "")
                self.received.append(
                    StoredEvent(request_id, account, action, transaction, kind, error, now, payload)
                )
            statuses.append(DestinationStatus(destination, routed, errors))
        self.statuses[request_id] = IngestRecord(now, statuses)
        if len(self.statuses) > MAX_STATUSES:
            del self.statuses[next(iter(self.statuses))]

    def _transaction_kind(self, account: str, action: str, event: dict[str, Any]) -> str:
        """§2B.11: a new transactionId is a conversion; the same event again a duplicate; the
        same transactionId with anything changed an adjustment. No transactionId: always new."""
        transaction = event.get("transactionId")
        if not transaction:
            return "conversion"
        key = (account, action, transaction)
        fingerprint = hashlib.sha256(json.dumps(event, sort_keys=True).encode()).digest()
        previous = self.transactions.get(key)
        self.transactions[key] = fingerprint
        if previous is None:
            return "conversion"
        return "duplicate" if previous == fingerprint else "adjustment"

    def _processing_error(
        self, event: dict[str, Any], consent: dict[str, Any], kind: str, now: float
    ) -> str | None:
        """The one reason (if any) the later diagnostics count this event under (§2B.10)."""
        ad_user_data = event.get("consent", {}).get("adUserData") or consent.get("adUserData")
        gclid = event.get("adIdentifiers", {}).get("gclid", "")
        if ad_user_data == "CONSENT_DENIED":
            reason = "DENIED_CONSENT"
        elif now - _instant(event["eventTimestamp"]) > MAX_EVENT_AGE:
            reason = "EVENT_TOO_OLD"
        elif kind == "duplicate":
            reason = "DUPLICATE_TRANSACTION_ID"
        elif gclid in self.scripted_gclids:
            reason = self.scripted_gclids[gclid]
        else:
            return None
        return (
            reason if reason.startswith("PROCESSING_ERROR") else f"PROCESSING_ERROR_REASON_{reason}"
        )

    # --- Google Ads API --------------------------------------------------------------------------

    async def _upload_answer(self, request: web.Request, api: Api) -> dict[str, Any]:
        raw, body = ADS_SCHEMA.read(await request.read(), "UploadClickConversionsRequest")
        customer = request.match_info["customer"]
        version = api.ads_version
        if not customer.isdigit():
            raise _ads_rpc_error(400, version, [_ads_error("requestError", "INVALID_CUSTOMER_ID")])
        if self.allowlisted is not None and customer not in self.allowlisted:
            code = "CUSTOMER_NOT_ALLOWLISTED_FOR_THIS_FEATURE"
            raise _ads_rpc_error(403, version, [_ads_error("notAllowlistedError", code)])
        errors = _request_errors(body)
        if errors:
            raise _ads_rpc_error(400, version, errors)
        conversions, job_id = body["conversions"], body.get("jobId")
        scripted_rows = self._row_faults.popleft() if self._row_faults else {}
        orders: set[tuple[str, str]] = set()
        clicks: set[tuple[str, str, str]] = set()
        results: list[dict[str, Any]] = []
        failures: list[dict[str, Any]] = []
        messages: list[str] = []
        accepted = []
        for i, conversion in enumerate(conversions):
            problem = (
                ("conversionUploadError", scripted_rows[i], "")
                if i in scripted_rows
                else self._row_problem(customer, conversion, orders, clicks)
            )
            if problem is None:
                action, order, click = _conversion_keys(conversion)
                if order:
                    orders.add((action, order))
                if click:
                    clicks.add((action, click, conversion["conversionDateTime"]))
                accepted.append(i)
                results.append(_ads_result(conversion))
            else:
                kind, code, sub_field = problem
                path: list[str | tuple[str, int]] = [("conversions", i)]
                failures.append(_ads_error(kind, code, [*path, sub_field] if sub_field else path))
                where = f"conversions[{i}]" + (f".{sub_field}" if sub_field else "")
                messages.append(f"{failures[-1]['message']}, at {where}")
                results.append({})
        answer: dict[str, Any] = {}
        if failures:
            message = ", ".join(messages)
            failure = _ads_failure(version, failures)
            answer["partialFailureError"] = {"code": 3, "message": message, "details": [failure]}
        if body.get("validateOnly"):
            return answer
        self.order_ids |= orders
        self.click_conversions |= clicks
        job_id = (
            MAX_JOB_ID + secrets.randbelow(2**63 - 1 - MAX_JOB_ID) if job_id is None else job_id
        )
        now = self.clock()
        for i in accepted:
            self.uploads.append(UploadedConversion(customer, job_id, i, now, raw["conversions"][i]))
        return {**answer, "results": results, "jobId": str(job_id)}

    async def _search_answer(self, request: web.Request, api: Api) -> list[dict[str, Any]]:
        _, body = ADS_SCHEMA.read(await request.read(), "SearchGoogleAdsStreamRequest")
        customer = request.match_info["customer"]
        version = api.ads_version
        if not customer.isdigit():
            raise _ads_rpc_error(400, version, [_ads_error("requestError", "INVALID_CUSTOMER_ID")])
        login = request.headers.get("login-customer-id")
        if login is not None and not login.isdigit():
            code = "INVALID_LOGIN_CUSTOMER_ID"
            raise _ads_rpc_error(400, version, [_ads_error("headerError", code)])
        if customer in self.denied_customers:
            error = _ads_error("authorizationError", self.denied_customers[customer])
            failure = _ads_failure(version, [error])
            raise Rejected(403, _status(403, "The caller does not have permission", [failure]))
        query = parse_search(body.get("query", ""), version)
        since, until = query.since or date.min, query.until or date.max
        currency = self.spend.currency(customer)
        rows = [r for r in self.spend.rows(customer, since, until) if query.keep(r)]
        if query.limit is not None:
            rows = rows[: query.limit]
        results = [search_row(query, customer, currency, r) for r in rows]
        mask, request_id = field_mask(query), secrets.token_urlsafe(16)
        size = self.stream_batch_size
        batches: list[dict[str, Any]] = [
            {"results": results[i : i + size], "fieldMask": mask, "requestId": request_id}
            for i in range(0, len(results), size)
        ] or [{"fieldMask": mask, "requestId": request_id}]
        batches[-1]["queryResourceConsumption"] = str(len(results) + 1)
        return batches

    def _row_problem(
        self,
        customer: str,
        conversion: dict[str, Any],
        orders: set[tuple[str, str]],
        clicks: set[tuple[str, str, str]],
    ) -> tuple[str, str, str] | None:
        """The first per-row error as (error kind, code, field), or None (§2.12.3)."""
        name = conversion.get("conversionAction")
        if not name:
            return "requestError", "REQUIRED_FIELD_MISSING", "conversion_action"
        if not _ACTION_NAME.fullmatch(name):
            return "requestError", "RESOURCE_NAME_MALFORMED", "conversion_action"
        when = conversion.get("conversionDateTime")
        if not when:
            return "requestError", "REQUIRED_FIELD_MISSING", "conversion_date_time"
        if not _is_ads_datetime(when):
            code = "INVALID_STRING_DATE_TIME_SECONDS_WITH_OFFSET"
            return "dateError", code, "conversion_date_time"
        if conversion.get("gbraid") and conversion.get("wbraid"):
            return "conversionUploadError", "GBRAID_WBRAID_BOTH_SET", "wbraid"
        identifiers = conversion.get("userIdentifiers", [])
        if len(identifiers) > MAX_ADS_IDENTIFIERS:
            return "collectionSizeError", "TOO_MANY", "user_identifiers"
        for identifier in identifiers:
            if {"mobileId", "thirdPartyUserId", "addressInfo"} & identifier.keys():
                return "conversionUploadError", "UNSUPPORTED_USER_IDENTIFIER", "user_identifiers"
            hashed = [
                identifier[k] for k in ("hashedEmail", "hashedPhoneNumber") if k in identifier
            ]
            if not all(_HEX64_LOWER.fullmatch(h) for h in hashed):
                return "conversionUploadError", "INVALID_USER_IDENTIFIER", "user_identifiers"
        action, order, click = _conversion_keys(conversion)
        if not self._known_action(customer, action):
            return "conversionUploadError", "NO_CONVERSION_ACTION_FOUND", "conversion_action"
        if order and (action, order) in orders:
            return "conversionUploadError", "DUPLICATE_ORDER_ID", "order_id"
        if click and (action, click, when) in clicks:
            return "conversionUploadError", "DUPLICATE_CLICK_CONVERSION_IN_REQUEST", ""
        if order and (action, order) in self.order_ids:
            return "conversionUploadError", "ORDER_ID_ALREADY_IN_USE", "order_id"
        if click and (action, click, when) in self.click_conversions:
            return "conversionUploadError", "CLICK_CONVERSION_ALREADY_EXISTS", ""
        if click in self.scripted_gclids:
            return "conversionUploadError", self.scripted_gclids[click], "gclid"
        return None

    # --- control endpoints -----------------------------------------------------------------------

    async def _get_stats(self, request: web.Request) -> web.Response:
        statuses = {}
        for request_id in self.statuses:
            answer = self.request_status(request_id) or {}
            per_destination = answer.get("requestStatusPerDestination", [])
            statuses[request_id] = [d["requestStatus"] for d in per_destination]
        return web.json_response(
            {
                "tokens_issued": self.tokens_issued,
                "conversions": len(self.conversions()),
                "duplicates": len(self.duplicates()),
                "adjustments": len(self.adjustments()),
                "ads_conversions": len(self.uploads),
                "request_statuses": statuses,
            }
        )

    async def _get_events(self, request: web.Request) -> web.Response:
        """The Data Manager events received, as sent (hashed identifiers only)."""
        return web.json_response(
            {
                "received": [
                    {"transaction_id": e.transaction_id, "kind": e.kind, "payload": e.payload}
                    for e in self.received
                ]
            }
        )

    async def _post_google_faults(self, request: web.Request) -> web.Response:
        """{"kind": <knob or configuration method>, ...its arguments}."""
        knobs: dict[str, Callable[..., object]] = {
            "throttle": self.throttle,
            "server_error": self.server_error,
            "token_expired": self.expire_tokens,
            "expire_tokens": self.expire_tokens,
            "slow": self.slow,
            "quota": self.quota,
            "allowlist": self.allowlist,
            "script_gclid": self.script_gclid,
            "fail_rows": self.fail_rows,
            "add_refresh_token": self.add_refresh_token,
            "revoke_refresh_token": self.revoke_refresh_token,
            "add_conversion_action": self.add_conversion_action,
            "seed_spend": self.seed_spend,
            "report_page_size": self.report_page_size,
            "deny_customer": self.deny_customer,
        }
        return await self._call_knob(request, knobs)

    async def _post_reset(self, request: web.Request) -> web.Response:
        self.reset()
        return web.json_response({})


# --- proto3 JSON, the way Google's front end reads it ------------------------------------------


@dataclass(frozen=True)
class Schema:
    package: str
    messages: dict[str, dict[str, str]]
    enums: dict[str, str]

    def read(self, raw: bytes, root: str) -> tuple[dict[str, Any], dict[str, Any]]:
        """(the body as sent, the body with camelCase keys and typed values)."""
        try:
            body = json.loads(raw or b"{}")
        except ValueError:
            raise _esf("", _PAYLOAD + "Unexpected token.") from None
        if not isinstance(body, dict):
            raise _esf("", _PAYLOAD + 'Unknown name "": Root element must be a message.')
        return body, self._message(body, root, "")

    def _message(self, obj: dict[str, Any], name: str, path: str) -> dict[str, Any]:
        fields = self.messages[name]
        out: dict[str, Any] = {}
        for key, value in obj.items():
            json_name = key if key in fields else _camel(key)
            if json_name not in fields:
                where = f" at '{path}'" if path else ""
                raise _esf(path, f'{_PAYLOAD}Unknown name "{key}"{where}: Cannot find field.')
            if value is not None:  # proto3 JSON: null is the default value
                snake = re.sub(r"([A-Z])", r"_\1", json_name).lower()
                at = f"{path}.{snake}".lstrip(".")
                out[json_name] = self._value(value, fields[json_name], at)
        # Both surfaces' UserIdentifier hold one identifier (a oneof) besides its source.
        if name == "UserIdentifier" and len(out.keys() - {"userIdentifierSource"}) > 1:
            oneof = f"Multiple values for oneof \"identifier\" at '{path}'."
            raise _esf(path, _PAYLOAD + oneof)
        return out

    def _value(self, value: Any, type_: str, path: str) -> Any:
        if type_.startswith("[]"):
            if not isinstance(value, list):
                raise self._invalid(path, type_[2:], value)
            return [self._value(v, type_[2:], f"{path}[{i}]") for i, v in enumerate(value)]
        if type_ in self.messages:
            if not isinstance(value, dict):
                raise self._invalid(path, type_, value)
            return self._message(value, type_, path)
        read = _scalar(value, type_, self.enums)
        if read is None:
            raise self._invalid(path, type_, value)
        return read[0]

    def _invalid(self, path: str, type_: str, value: Any) -> Rejected:
        label = _SCALAR_LABELS.get(type_) or (
            f"type.googleapis.com/{self.package}.{type_.removeprefix('enum:')}"
        )
        return _esf(path, f"Invalid value at '{path}' ({label}), {json.dumps(value)}")


DM_SCHEMA = Schema("google.ads.datamanager.v1", DM_MESSAGES, DM_ENUMS)
ADS_SCHEMA = Schema("google.ads.googleads.v25", ADS_MESSAGES, ADS_ENUMS)


def _scalar(value: Any, type_: str, enums: dict[str, str]) -> tuple[Any] | None:
    """(the value read,) or None when it does not fit `type_`."""
    number = isinstance(value, int | float) and not isinstance(value, bool)
    if type_ == "any":
        return (value,)
    if type_ == "string":
        return (value,) if isinstance(value, str) else None
    if type_ == "timestamp":
        return (value,) if isinstance(value, str) and _is_rfc3339(value) else None
    if type_ == "bool":
        return (value,) if isinstance(value, bool) else None
    if type_ == "double":
        if number:
            return (float(value),)
        try:
            return (float(value),) if isinstance(value, str) else None
        except ValueError:
            return None
    if type_ in ("int32", "int64"):
        integral = number and float(value).is_integer()
        if not integral and not (isinstance(value, str) and _INTEGER.fullmatch(value)):
            return None
        read = int(value)
        bits = 31 if type_ == "int32" else 63
        return (read,) if -(2**bits) <= read < 2**bits else None
    names = enums[type_.removeprefix("enum:")].split()
    if isinstance(value, str):
        return (value,) if value in names else None
    if number and value in range(len(names)):
        return (names[int(value)],)
    return None


def _camel(key: str) -> str:
    return re.sub(r"_([a-z0-9])", lambda m: m.group(1).upper(), key)


def _is_rfc3339(text: str) -> bool:
    if not _RFC3339.fullmatch(text):
        return False
    try:
        datetime.fromisoformat(text)
    except ValueError:
        return False
    return True


def _instant(text: str) -> float:
    """Seconds since the epoch of an RFC 3339 timestamp the schema already accepted."""
    return datetime.fromisoformat(text).timestamp()


def _is_ads_datetime(text: str) -> bool:
    if not _ADS_DATETIME.fullmatch(text):
        return False
    try:
        datetime.strptime(text, "%Y-%m-%d %H:%M:%S%z")
    except ValueError:
        return False
    return True


# --- Data Manager checks -----------------------------------------------------------------------


def _check_identifier(
    identifier: dict[str, Any], at: str, encoding: str, encrypted: bool, found: Findings
) -> None:
    if not identifier.keys() & {"emailAddress", "phoneNumber", "address"}:
        found.bad(at, "REQUIRED_FIELD_MISSING")
    address = identifier.get("address", {})
    for key, name in (
        ("givenName", "given_name"),
        ("familyName", "family_name"),
        ("regionCode", "region_code"),
        ("postalCode", "postal_code"),
    ):
        if "address" in identifier and not address.get(key):
            found.bad(f"{at}.address.{name}", "REQUIRED_FIELD_MISSING")
    if address.get("regionCode") and not _REGION.fullmatch(address["regionCode"]):
        found.bad(f"{at}.address.region_code", "INVALID_FORMAT")
    hashed = [identifier.get("emailAddress"), identifier.get("phoneNumber")]
    hashed += [address.get("givenName"), address.get("familyName")]
    for value in filter(None, hashed):
        reason = _hash_problem(value, encoding, encrypted)
        if reason:
            found.bad(at, reason)  # Google names the identifier, not its sub-field (§2B.9)
            return


def _hash_problem(value: str, encoding: str, encrypted: bool) -> str | None:
    """A hashed identifier must decode per `encoding` to the 32 bytes of a SHA-256 digest."""
    if encoding == "HEX":
        if not _HEX.fullmatch(value):
            return "INVALID_HEX_ENCODING"
        size = len(value) // 2
    elif encoding == "BASE64":
        try:
            size = len(base64.b64decode(value, validate=True))
        except (binascii.Error, ValueError):
            return "INVALID_BASE64_ENCODING"
    else:
        return None  # no encoding: reported once, on the request
    return None if encrypted or size == 32 else "INVALID_SHA256_FORMAT"


def _check_cart(event: dict[str, Any], at: str, found: Findings) -> None:
    cart = event.get("cartData")
    if cart is None:
        return
    click = event.get("adIdentifiers", {})
    if click.get("gbraid") or click.get("wbraid"):
        found.warn(f"{at}.cart_data", "CART_DATA_NOT_SUPPORTED_WITH_GBRAID_OR_WBRAID")
    for k, item in enumerate(cart.get("items", [])):
        if not item.get("merchantProductId"):
            found.warn(f"{at}.cart_data.items[{k}]", "CART_DATA_ITEM_MERCHANT_PRODUCT_ID_MISSING")
        if "unitPrice" not in item:
            found.warn(f"{at}.cart_data.items[{k}]", "CART_DATA_ITEM_UNIT_PRICE_MISSING")


def _status_of(destination: DestinationStatus, done: bool) -> dict[str, Any]:
    """One `requestStatusPerDestination` entry (§2B.10); counts are int64, so JSON strings."""
    entry: dict[str, Any] = {"destination": destination.destination}
    failed = sum(destination.errors.values())
    if not done:
        entry["requestStatus"] = "PROCESSING"
    elif not failed:
        entry["requestStatus"] = "SUCCESS"
    else:
        entry["requestStatus"] = "FAILED" if failed >= destination.records else "PARTIAL_SUCCESS"
        entry["errorInfo"] = {
            "errorCounts": [
                {"recordCount": str(n), "reason": reason}
                for reason, n in destination.errors.items()
            ]
        }
    entry["eventsIngestionStatus"] = {"recordCount": str(destination.records)}
    return entry


# --- Ads API rows --------------------------------------------------------------------------------


def _request_errors(body: dict[str, Any]) -> list[dict[str, Any]]:
    """Request-level errors: the whole request fails with them (§2.12.2)."""
    errors = []
    if body.get("partialFailure") is not True:
        code = "PARTIAL_FAILURE_MODE_REQUIRED"
        errors.append(_ads_error("partialFailureError", code, ["partial_failure"]))
    conversions = body.get("conversions", [])
    if not conversions:
        errors.append(_ads_error("requestError", "REQUIRED_FIELD_MISSING", ["conversions"]))
    elif len(conversions) > MAX_CONVERSIONS:
        code = "TOO_MANY_CONVERSIONS_IN_REQUEST"
        errors.append(_ads_error("conversionUploadError", code, ["conversions"]))
    if not 0 <= body.get("jobId", 0) < MAX_JOB_ID:
        errors.append(_ads_error("conversionUploadError", "INVALID_JOB_ID", ["job_id"]))
    return errors


def _conversion_keys(conversion: dict[str, Any]) -> tuple[str, str, str]:
    """(action id, order id, click id) of a conversion whose action name is well formed."""
    action = _ACTION_NAME.fullmatch(conversion["conversionAction"])
    assert action is not None
    click = next((conversion[k] for k in _CLICK_IDS if conversion.get(k)), "")
    return action.group(2), conversion.get("orderId", ""), click


def _ads_result(conversion: dict[str, Any]) -> dict[str, Any]:
    """A ClickConversionResult: the row's click id, action, time and identifiers (§2.7)."""
    return {k: conversion[k] for k in _RESULT_KEYS if k in conversion}


# --- searchStream --------------------------------------------------------------------------------


def parse_search(query: str, version: str) -> SearchQuery:
    """The GAQL `query` the simulator answers, or a queryError Rejected (400) the way Google
    names it; rules the simulator does not know Google's code for say "(simulator)"."""
    match = _GAQL.fullmatch(query or "")
    if match is None:
        raise _query_error(version, "QUERY_ERROR", "The query is not SELECT ... FROM ...")
    if match.group("resource").lower() != "campaign":
        resource = match.group("resource")
        raise _query_error(
            version,
            "BAD_RESOURCE_TYPE_IN_FROM_CLAUSE",
            f"The simulator serves FROM campaign only, not {resource!r} (simulator).",
        )
    fields = [f.strip().lower() for f in match.group("select").split(",")]
    for name in fields:
        if name not in SEARCH_FIELDS:
            raise _query_error(version, "UNRECOGNIZED_FIELD", trigger=name)
    found = SearchQuery(fields)
    if match.group("limit"):
        found.limit = int(match.group("limit"))
    where = match.group("where") or ""
    at = 0
    while where:
        condition = _CONDITION.match(where, at)
        if condition is None:
            raise _query_error(version, "UNEXPECTED_INPUT", trigger=where[at:][:40])
        _apply_condition(found, condition, version)
        at = condition.end()
        if at == len(where):
            break
        joined = _AND.match(where, at)
        if joined is None:
            raise _query_error(version, "EXPECTED_AND", trigger=where[at:][:40])
        at = joined.end()
    dated = "segments.date" in fields or found.since is not None or found.until is not None
    if dated and (found.since is None or found.until is None):
        raise _query_error(version, "EXPECTED_FILTERS_ON_DATE_RANGE")
    return found


def _apply_condition(found: SearchQuery, condition: re.Match[str], version: str) -> None:
    name = condition.group("field").lower()
    if name == "segments.date":
        if condition.group("low") is not None:
            found.since = _gaql_date(condition.group("low"), version)
            found.until = _gaql_date(condition.group("high"), version)
            return
        op, text = condition.group("op"), condition.group("value")
        day = _gaql_date(text.strip("'"), version)
        if op in (">=", ">", "="):
            found.since = day if op != ">" else date.fromordinal(day.toordinal() + 1)
        if op in ("<=", "<", "="):
            found.until = day if op != "<" else date.fromordinal(day.toordinal() - 1)
        if op == "!=":
            raise _query_error(version, "BAD_OPERATOR", trigger=op)
        return
    if name not in ("metrics.cost_micros", "campaign.id", "campaign.name"):
        raise _query_error(
            version, "QUERY_ERROR", f"The simulator cannot filter on {name} (simulator)."
        )
    op, text = condition.group("op"), condition.group("value")
    if op is None:
        raise _query_error(version, "BAD_OPERATOR", trigger="BETWEEN")
    quoted = text.startswith("'")
    if (name == "campaign.name") != quoted:
        raise _query_error(version, "BAD_VALUE", trigger=text)
    found.filters.append((name, op, text.strip("'") if quoted else int(text)))


def _gaql_date(text: str, version: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise _query_error(version, "INVALID_ARGUMENT_TYPE", trigger=text) from None


def _query_error(
    version: str, code: str, message: str | None = None, *, trigger: str | None = None
) -> Rejected:
    error = _ads_error("queryError", code)
    if message is not None:
        error["message"] = message
    if trigger is not None:
        error["trigger"] = {"stringValue": trigger}
        if code == "UNRECOGNIZED_FIELD":
            error["message"] = f"Unrecognized field in the query: '{trigger}'."
    return _ads_rpc_error(400, version, [error])


def search_row(query: SearchQuery, customer: str, currency: str, row: SpendRow) -> dict[str, Any]:
    """One GoogleAdsRow: the selected fields, camelCase, with the resource names Google adds
    (campaign always: it is the FROM resource; customer when a customer field is selected)."""
    values = {
        "campaign.id": row.campaign_id,  # int64: a JSON string
        "campaign.name": row.campaign,
        "campaign.resource_name": f"customers/{customer}/campaigns/{row.campaign_id}",
        "segments.date": row.day.isoformat(),
        "metrics.cost_micros": str(row.micros),
        "customer.id": customer,
        "customer.currency_code": currency,
        "customer.resource_name": f"customers/{customer}",
    }
    out: dict[str, Any] = {
        "campaign": {"resourceName": values["campaign.resource_name"]},
    }
    if any(f.startswith("customer.") for f in query.fields):
        out["customer"] = {"resourceName": values["customer.resource_name"]}
    for name in query.fields:
        resource, key = SEARCH_FIELDS[name]
        out.setdefault(resource, {})[key] = values[name]
    return out


def field_mask(query: SearchQuery) -> str:
    return ",".join(f"{SEARCH_FIELDS[f][0]}.{SEARCH_FIELDS[f][1]}" for f in query.fields)


# --- error bodies --------------------------------------------------------------------------------

_TYPE = "type.googleapis.com/"
_PAYLOAD = "Invalid JSON payload received. "


def _status(code: int, message: str, details: list[dict[str, Any]]) -> dict[str, Any]:
    """A REST google.rpc.Status (§2.8, §2B.9)."""
    error: dict[str, Any] = {
        "code": code,
        "message": message,
        "status": CANONICAL.get(code, "UNKNOWN"),
    }
    if details:
        error["details"] = details
    return {"error": error}


def _error_info(reason: str, domain: str, metadata: dict[str, str]) -> dict[str, Any]:
    return {
        "@type": _TYPE + "google.rpc.ErrorInfo",
        "reason": reason,
        "domain": domain,
        "metadata": metadata,
    }


def _esf(path: str, description: str) -> Rejected:
    """A front-end parse error: BadRequest with an ESF path and no reason, nothing else."""
    violation = (
        {"field": path, "description": description} if path else {"description": description}
    )
    return Rejected(400, _status(400, description, [_bad_request([violation])]))


def _bad_request(violations: list[dict[str, str]]) -> dict[str, Any]:
    return {"@type": _TYPE + "google.rpc.BadRequest", "fieldViolations": violations}


def _dm_error(
    status: int, message: str, reason: str | None, extra: Iterable[dict[str, Any]] = ()
) -> Rejected:
    """A Data Manager backend error: ErrorInfo and RequestInfo, then `extra` (§2B.9)."""
    request_id = str(uuid.uuid4())
    details = [{"@type": _TYPE + "google.rpc.RequestInfo", "requestId": request_id}]
    if reason is not None:
        metadata = {"requestId": request_id}
        details.insert(0, _error_info(reason, "datamanager.googleapis.com", metadata))
    return Rejected(status, _status(status, message, [*details, *extra]))


def _ads_error(kind: str, code: str, path: Iterable[str | tuple[str, int]] = ()) -> dict[str, Any]:
    """A GoogleAdsError; `path` elements are field names or (field name, index)."""
    message = ADS_ERROR_TEXT.get(code, code.replace("_", " ").capitalize() + " (simulator).")
    error: dict[str, Any] = {"errorCode": {kind: code}, "message": message}
    elements = [
        {"fieldName": p} if isinstance(p, str) else {"fieldName": p[0], "index": p[1]} for p in path
    ]
    if elements:
        error["location"] = {"fieldPathElements": elements}
    return error


def _ads_failure(version: str, errors: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "@type": f"{_TYPE}google.ads.googleads.{version}.errors.GoogleAdsFailure",
        "errors": errors,
        "requestId": secrets.token_urlsafe(16),
    }


def _ads_rpc_error(status: int, version: str, errors: list[dict[str, Any]]) -> Rejected:
    message = "Request contains an invalid argument." if status == 400 else errors[0]["message"]
    return Rejected(status, _status(status, message, [_ads_failure(version, errors)]))


def _auth_error(kind: str, api: Api) -> Rejected:
    """ErrorInfo from Google's front end; the Ads API adds its GoogleAdsFailure (§2.2, §2B.9)."""
    status, message, reason, ads_code = AUTH_ERRORS[kind]
    metadata = {"service": api.service, "method": api.method}
    details = [_error_info(reason, "googleapis.com", metadata)]
    if api.ads_version:
        ads_kind = "authenticationError" if status == 401 else "authorizationError"
        error = {"errorCode": {ads_kind: ads_code}, "message": message}
        details.append(_ads_failure(api.ads_version, [error]))
    return Rejected(status, _status(status, message, details))


def _throttled(
    api: Api, *, retry_delay: float | None, limit: int, retry_info: bool = False
) -> dict[str, Any]:
    """429 RESOURCE_EXHAUSTED: QuotaError with quotaErrorDetails for the Ads API (§2.8); ErrorInfo
    RATE_LIMIT_EXCEEDED and RetryInfo for Data Manager (§2B.9). Quota names are (simulator)."""
    delay = {} if retry_delay is None else {"retryDelay": _duration(retry_delay)}
    if api.ads_version:
        details = {"rateScope": "ACCOUNT", "rateName": "Requests per account", **delay}
        error = {
            "errorCode": {"quotaError": "RESOURCE_TEMPORARILY_EXHAUSTED"},
            "message": "Too many requests in a short amount of time.",
            "details": {"quotaErrorDetails": details},
        }
        ads_details = [_ads_failure(api.ads_version, [error])]
        if retry_info and delay:
            ads_details.append({"@type": _TYPE + "google.rpc.RetryInfo", **delay})
        return _status(429, "Too many requests.", ads_details)
    metric = f"{api.service}/ingestion_requests"
    metadata = {
        "consumer": "projects/000000000000",
        "service": api.service,
        "quota_metric": metric,
        "quota_limit": "IngestionRequestsPerMinutePerProject",
        "quota_limit_value": str(limit),
    }
    details_list = [_error_info("RATE_LIMIT_EXCEEDED", "googleapis.com", metadata)]
    if delay:
        details_list.append({"@type": _TYPE + "google.rpc.RetryInfo", **delay})
    message = (
        f"Quota exceeded for quota metric '{metric}' and limit"
        f" 'IngestionRequestsPerMinutePerProject' of service '{api.service}'."
    )
    return _status(429, message, details_list)


def _default_error(status: int, api: Api) -> dict[str, Any]:
    """The body of a fault given only its status (the base `/_sim/faults` endpoint)."""
    if status == 429:
        return _throttled(api, retry_delay=RETRY_DELAY, limit=PROJECT_QUOTA)
    if status not in SERVER_ERRORS:
        return _status(status, HTTPStatus(status).phrase, [])
    message, reason, ads_code = SERVER_ERRORS[status]
    if api.ads_version:
        error = _ads_error("internalError", ads_code)
        return _status(status, message, [_ads_failure(api.ads_version, [error])])
    return _dm_error(status, message, reason).body


def _duration(seconds: float) -> str:
    """proto3 JSON Duration: "30s", "1.500s"."""
    return f"{int(seconds)}s" if float(seconds).is_integer() else f"{seconds:.3f}s"


def _oauth_error(status: int, error: str, description: str) -> web.Response:
    return web.json_response({"error": error, "error_description": description}, status=status)


def _not_found_page(path: str) -> web.Response:
    """What Google's front end answers for a path it does not serve (an unknown API version)."""
    html = (
        "<!DOCTYPE html>\n<html lang=en><title>Error 404 (Not Found)!!1</title>"
        f"<p><b>404.</b> <ins>That's an error.</ins><p>The requested URL <code>{path}</code>"
        " was not found on this server. <ins>That's all we know.</ins>"
    )
    return web.Response(text=html, status=404, content_type="text/html")
