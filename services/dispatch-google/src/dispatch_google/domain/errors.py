"""Google's answers read and classified: the REST error body (google.rpc.Status) of both APIs,
Data Manager's ErrorReasons (docs/platforms.md §2B.9) and request-status reasons (§2B.10),
and the Ads API's GoogleAdsFailure codes (§2.7-§2.9)."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from hubkit.vocabulary import ErrorClass, Status

E = ErrorClass

# --- Data Manager fast-fail reasons (§2B.9) and canonical statuses --------------------------

_DM_REASONS: dict[str, ErrorClass] = {
    **dict.fromkeys(
        (
            "REQUIRED_FIELD_MISSING",
            "INVALID_FORMAT",
            "INVALID_ENUM_VALUE",
            "INVALID_NUMBER_FORMAT",
            "INVALID_EVENT",
            "INVALID_ARGUMENT",
            "INVALID_HEX_ENCODING",
            "INVALID_BASE64_ENCODING",
            "INVALID_SHA256_FORMAT",
            "NO_IDENTIFIERS_PROVIDED",
            "TOO_MANY_EVENTS",
            "TOO_MANY_USER_IDENTIFIERS",
            "TOO_MANY_DESTINATIONS",
            "INVALID_CURRENCY_CODE",
            "EVENT_TIME_INVALID",
            "INVALID_MERCHANT_ID",
            "FAILED_PRECONDITION",
            "OUT_OF_RANGE",
        ),
        E.BAD_INPUT,
    ),
    **dict.fromkeys(
        (  # the destination or the account's settings: park the site's events, never resend
            "INVALID_DESTINATION",
            "DUPLICATE_DESTINATION_REFERENCE",
            "INVALID_CONVERSION_ACTION_ID",
            "INVALID_CONVERSION_ACTION_TYPE",
            "OPERATING_ACCOUNT_LOGIN_ACCOUNT_MISMATCH",
            "DESTINATION_ACCOUNT_TYPE_MISMATCH",
            "DESTINATION_ACCOUNT_NOT_ENABLED_ENHANCED_CONVERSIONS_FOR_LEADS",
            "DESTINATION_ACCOUNT_DATA_POLICY_PROHIBITS_ENHANCED_CONVERSIONS",
            "DESTINATION_ACCOUNT_ENHANCED_CONVERSIONS_TERMS_NOT_SIGNED",
            "CUSTOM_VARIABLE_NOT_ENABLED",
            "CUSTOM_VARIABLE_VALUE_CONTAINS_PII",
            "NOT_ALLOWLISTED",
            "PERMISSION_DENIED",
            "NOT_FOUND",
            "SERVICE_DISABLED",
        ),
        E.CONFIG,
    ),
    **dict.fromkeys(
        (
            "UNAUTHENTICATED",
            "CREDENTIALS_MISSING",
            "ACCESS_TOKEN_EXPIRED",
            "ACCESS_TOKEN_TYPE_UNSUPPORTED",
            "ACCESS_TOKEN_SCOPE_INSUFFICIENT",
        ),
        E.AUTH,
    ),
    **dict.fromkeys(("RESOURCE_EXHAUSTED", "RATE_LIMIT_EXCEEDED"), E.THROTTLE),
    **dict.fromkeys(
        ("INTERNAL", "INTERNAL_ERROR", "UNAVAILABLE", "DEADLINE_EXCEEDED", "ABORTED", "UNKNOWN"),
        E.TRANSIENT,
    ),
}

ACCESS_TOKEN_EXPIRED = "ACCESS_TOKEN_EXPIRED"  # DM's ErrorInfo reason: refresh, send again
INVALID_REQUEST_ID = "INVALID_REQUEST_ID"  # requestStatus of a failed or validateOnly request


def dm_class(*names: str) -> ErrorClass | None:
    """The class of the first known Data Manager ErrorReason or canonical status among
    `names` (most specific first); None when none is known."""
    for name in names:
        if name in _DM_REASONS:
            return _DM_REASONS[name]
    return None


# --- Ads API (§2.2, §2.8, §2.9) ------------------------------------------------------------

NOT_ALLOWLISTED = "CUSTOMER_NOT_ALLOWLISTED_FOR_THIS_FEATURE"
OAUTH_TOKEN_EXPIRED = "OAUTH_TOKEN_EXPIRED"
# Already recorded at Google: the conversion is delivered (§2.9).
ADS_DUPLICATES = frozenset({"ORDER_ID_ALREADY_IN_USE", "CLICK_CONVERSION_ALREADY_EXISTS"})
TOO_RECENT_WAIT = 6 * 3600.0  # a click or action younger than 6 h: Google asks to wait (§2.9)
_TOO_RECENT = frozenset({"TOO_RECENT_EVENT", "TOO_RECENT_CONVERSION_ACTION"})

_ADS_KINDS: dict[str, ErrorClass] = {
    "authenticationError": E.AUTH,
    "authorizationError": E.CONFIG,  # permissions, login customer, project approval
    "headerError": E.CONFIG,
    "notAllowlistedError": E.CONFIG,
    "quotaError": E.THROTTLE,
    "internalError": E.TRANSIENT,
}
_ADS_CONFIG = frozenset(
    {
        "CUSTOMER_NOT_FOUND",  # authenticationError: the customer id names no account
        "ACCESS_PROHIBITED",  # quotaError: the project may not call the API at all
        "INVALID_CUSTOMER_ID",
        "LOGIN_CUSTOMER_ID_PARAMETER_MISSING",
        "DEVELOPER_TOKEN_PARAMETER_MISSING",
        "UNAUTHORIZED_CUSTOMER",
        "EXTERNAL_ATTRIBUTION_DATA_SET_FOR_NON_EXTERNALLY_ATTRIBUTED_CONVERSION_ACTION",
        "EXTERNAL_ATTRIBUTION_DATA_NOT_SET_FOR_EXTERNALLY_ATTRIBUTED_CONVERSION_ACTION",
        "ORDER_ID_NOT_PERMITTED_FOR_EXTERNALLY_ATTRIBUTED_CONVERSION_ACTION",
        "EXTERNALLY_ATTRIBUTED_CONVERSION_ACTION_NOT_PERMITTED_WITH_USER_IDENTIFIER",
        "CUSTOM_VARIABLE_NOT_ENABLED",
        "CUSTOMER_DATA_POLICY_PROHIBITS_ENHANCED_CONVERSIONS",
        "CUSTOMER_NOT_ACCEPTED_CUSTOMER_DATA_TERMS",
        "CUSTOMER_NOT_ENABLED_ENHANCED_CONVERSIONS_FOR_LEADS",
        "NO_CONVERSION_ACTION_FOUND",
        "INVALID_CONVERSION_ACTION_TYPE",
    }
)


def ads_class(kind: str, code: str) -> ErrorClass:
    """A GoogleAdsError's class from its errorCode (`{kind: code}`): NONE for a duplicate
    (delivered before), BAD_INPUT for whatever no table names."""
    if code in ADS_DUPLICATES:
        return E.NONE
    if code in _TOO_RECENT:
        return E.TRANSIENT
    if code in _ADS_CONFIG:
        return E.CONFIG
    return _ADS_KINDS.get(kind, E.BAD_INPUT)


def ads_retry_after(code: str) -> float | None:
    """Google's own wait for a code, in seconds (too recent: 6 h)."""
    return TOO_RECENT_WAIT if code in _TOO_RECENT else None


# --- what an operator must do (AUTH / CONFIG): no secrets, no values -----------------------

SWITCH_TO_DATA_MANAGER = (
    "the Google Ads API takes offline click conversions only from allowlisted callers: switch"
    " the site's Google destination to the Data Manager API (`api: GOOGLE_API_DATA_MANAGER`"
    " in the site configuration)"
)
_NO_ACCESS = (
    "the OAuth user cannot reach this Google Ads account: grant it access, or set the manager"
    " account it goes through (login_customer_id)"
)
_HINTS = {
    NOT_ALLOWLISTED: SWITCH_TO_DATA_MANAGER,
    "SERVICE_DISABLED": "the Data Manager API is not enabled in the Google Cloud project of the"
    " OAuth client: enable it there (Google's answer names the page)",
    "ACCESS_TOKEN_SCOPE_INSUFFICIENT": "the OAuth grant lacks the Data Manager scope"
    " (https://www.googleapis.com/auth/datamanager): the advertiser must authorize convhub"
    " again with it; a Google Ads grant (auth/adwords) alone does not cover it",
    "PERMISSION_DENIED": _NO_ACCESS,
    "USER_PERMISSION_DENIED": _NO_ACCESS,
}


def explain(code: str, message: str) -> str:
    """Google's message, preceded by what to do about `code` when convhub knows."""
    hint = _HINTS.get(code)
    if hint is None:
        return message
    return f"{hint}. Google: {message}" if message else hint


# --- the REST error body (google.rpc.Status) ------------------------------------------------


@dataclass(frozen=True, slots=True)
class Violation:
    """One BadRequest.fieldViolations entry."""

    field: str
    description: str
    reason: str


@dataclass(frozen=True, slots=True)
class AdsError:
    """One GoogleAdsError: errorCode `{kind: code}`, its row (`conversions[row]`) if named."""

    kind: str
    code: str
    message: str
    row: int | None = None
    retry_delay: float | None = None  # details.quotaErrorDetails.retryDelay


@dataclass(frozen=True, slots=True)
class RpcStatus:
    """The parts of a google.rpc.Status convhub reads (a REST `error`, or the Ads API's
    `partialFailureError`)."""

    status: str = ""  # canonical code: INVALID_ARGUMENT, UNAUTHENTICATED, ...
    message: str = ""
    reason: str = ""  # ErrorInfo.reason
    request_id: str = ""  # RequestInfo, ErrorInfo metadata or GoogleAdsFailure
    retry_delay: float | None = None  # RetryInfo.retryDelay
    violations: tuple[Violation, ...] = ()
    ads_errors: tuple[AdsError, ...] = ()


def rpc_error(payload: Any) -> RpcStatus:
    """The `error` of a REST error body; empty when there is none (an HTML 502)."""
    return rpc_status(payload.get("error") if isinstance(payload, Mapping) else None)


def rpc_status(status: Any) -> RpcStatus:
    if not isinstance(status, Mapping):
        return RpcStatus()
    reason = request_id = ""
    retry_delay: float | None = None
    violations: list[Violation] = []
    ads_errors: list[AdsError] = []
    for detail in _dicts(status.get("details")):
        kind = str(detail.get("@type", "")).rpartition(".")[2]
        if kind == "ErrorInfo":
            reason = reason or _str(detail.get("reason"))
            metadata = detail.get("metadata")
            if isinstance(metadata, Mapping):
                request_id = request_id or _str(metadata.get("requestId"))
        elif kind == "RequestInfo":
            request_id = _str(detail.get("requestId")) or request_id
        elif kind == "RetryInfo":
            retry_delay = duration_seconds(detail.get("retryDelay"))
        elif kind == "BadRequest":
            violations += [
                Violation(_str(v.get("field")), _str(v.get("description")), _str(v.get("reason")))
                for v in _dicts(detail.get("fieldViolations"))
            ]
        elif kind == "GoogleAdsFailure":
            ads_errors += [_ads_error(e) for e in _dicts(detail.get("errors"))]
            request_id = request_id or _str(detail.get("requestId"))
    return RpcStatus(
        status=_str(status.get("status")),
        message=_str(status.get("message")),
        reason=reason,
        request_id=request_id,
        retry_delay=retry_delay,
        violations=tuple(violations),
        ads_errors=tuple(ads_errors),
    )


def _ads_error(error: Mapping[str, Any]) -> AdsError:
    codes = error.get("errorCode")
    kind, code = next(iter(codes.items()), ("", "")) if isinstance(codes, Mapping) else ("", "")
    details = error.get("details")
    quota = details.get("quotaErrorDetails") if isinstance(details, Mapping) else None
    delay = duration_seconds(quota.get("retryDelay")) if isinstance(quota, Mapping) else None
    location = error.get("location")
    path = location.get("fieldPathElements") if isinstance(location, Mapping) else None
    first = next(iter(_dicts(path)), {})
    index = _str(first.get("index"))  # int32: a JSON number, or text from some encoders
    row = None
    if first.get("fieldName") == "conversions" and _ROW.match(index):
        row = int(index)
    return AdsError(_str(kind), _str(code), _str(error.get("message")), row, delay)


_ROW = re.compile(r"^\d{1,9}\Z", re.ASCII)
_EVENT_INDEX = re.compile(r"(?:^|\.)events\[(\d+)\]", re.ASCII)
_DURATION = re.compile(r"^(\d{1,12}(?:\.\d{1,9})?)s\Z", re.ASCII)


def event_index(path: str) -> int | None:
    """The event a field path names: `events.events[3].user_data…` (Data Manager doubles the
    prefix) or `events[3]` (front-end parse errors) give 3; other paths None (§2B.9)."""
    match = _EVENT_INDEX.search(path)
    return int(match.group(1)) if match else None


def duration_seconds(text: Any) -> float | None:
    """A proto-JSON Duration ("30s", "1.5s") in seconds; None when it is none."""
    match = _DURATION.match(text) if isinstance(text, str) else None
    return float(match.group(1)) if match else None


def _dicts(value: Any) -> list[Mapping[str, Any]]:
    return [v for v in value if isinstance(v, Mapping)] if isinstance(value, list) else []


def _str(value: Any) -> str:
    return value if isinstance(value, str) else "" if value is None else str(value)


# --- Data Manager request status (§2B.10) --------------------------------------------------

FINAL_STATES = frozenset({"SUCCESS", "PARTIAL_SUCCESS", "FAILED"})
# Processing reasons come prefixed; convhub keeps them without the prefix ("EVENT_TOO_OLD").
_PREFIXES = ("PROCESSING_ERROR_REASON_", "WARNING_REASON_")
# An identical resend counted as a duplicate: delivered, not an error (§2B.11).
DM_DUPLICATES = frozenset({"DUPLICATE_TRANSACTION_ID", "DUPLICATE_GCLID"})
_PROCESSING: dict[str, ErrorClass] = {
    "EVENT_TOO_OLD": E.TOO_OLD,
    "INTERNAL_ERROR": E.TRANSIENT,  # the only two that look transient: a replay may pass
    "TOO_RECENT_CLICK": E.TRANSIENT,
    **dict.fromkeys(
        (
            "DESTINATION_ACCOUNT_ENHANCED_CONVERSIONS_TERMS_NOT_SIGNED",
            "CUSTOM_VARIABLE_NOT_ENABLED",
            "INVALID_CUSTOM_VARIABLE",
            "EXTERNAL_ATTRIBUTION_DATA_MISSING",
            "INVALID_MERCHANT_ID",
            "INVALID_OPERATING_ACCOUNT_FOR_CLICK",
            "PROCESSING_ERROR_OPERATING_ACCOUNT_MISMATCH_FOR_AD_IDENTIFIER",
            "ONE_PER_CLICK_CONVERSION_ACTION_NOT_PERMITTED_WITH_BRAID",
            "DECRYPTION_ERROR",
            "DEK_DECRYPTION_ERROR",
            "INVALID_WIP",
            "INVALID_KEK",
            "WIP_AUTH_FAILED",
            "KEK_PERMISSION_DENIED",
            "AWS_AUTH_FAILED",
            "USER_IDENTIFIER_DECRYPTION_ERROR",
        ),
        E.CONFIG,
    ),
}


def reason_name(reason: str) -> str:
    """A processing or warning reason without its enum prefix."""
    for prefix in _PREFIXES:
        if reason.startswith(prefix):
            return reason[len(prefix) :]
    return reason


@dataclass(frozen=True, slots=True)
class ProcessingOutcome:
    """What a final request status means for the request's SENT events: `status` CONFIRMED,
    FAILED (with class, code and message), PENDING (sent again later, byte-identical, after
    `retry_after` s: Google failed them for a passing reason), or None (they stay SENT)."""

    status: Status | None
    error_class: ErrorClass = E.NONE
    code: str = ""
    message: str = ""
    retry_after: float | None = None


_RESEND_WAIT = {"TOO_RECENT_CLICK": TOO_RECENT_WAIT}


def dm_processing_outcome(
    state: str, error_counts: Mapping[str, int], record_count: int = 0
) -> ProcessingOutcome:
    """SUCCESS confirms, and so does a status whose every error is a duplicate (an identical
    resend); FAILED fails every event with the most counted reason, or sends them all again
    when that reason passes (INTERNAL_ERROR, TOO_RECENT_CLICK, none given); PARTIAL_SUCCESS
    otherwise settles nothing: the counts name no event."""
    if state == "SUCCESS":
        return ProcessingOutcome(Status.CONFIRMED)
    if state not in ("FAILED", "PARTIAL_SUCCESS"):
        return ProcessingOutcome(None)
    counted = {r: n for r, n in error_counts.items() if n > 0}
    errors = {r: n for r, n in counted.items() if r not in DM_DUPLICATES}
    if counted and not errors:
        return ProcessingOutcome(Status.CONFIRMED)
    if state != "FAILED":
        return ProcessingOutcome(None)
    summary = ", ".join(f"{r} {n}" for r, n in sorted(counted.items(), key=lambda c: -c[1]))
    of = f" ({record_count} events)" if record_count else ""
    if not errors:  # "may not be populated in all cases" (§2B.10): try again later
        message = f"Google reported the request FAILED{of} without reasons"
        return ProcessingOutcome(Status.PENDING, E.UNKNOWN, "FAILED", message)
    dominant = max(errors, key=lambda r: errors[r])  # the first of equals, as Google listed
    message = f"Google reported the request FAILED{of}: {summary}"
    error_class = _PROCESSING.get(dominant, E.BAD_INPUT)
    if error_class.retryable:
        return ProcessingOutcome(
            Status.PENDING, error_class, dominant, message, _RESEND_WAIT.get(dominant)
        )
    return ProcessingOutcome(Status.FAILED, error_class, dominant, message)
