"""Google's answers read and classified (docs/platforms.md §2.7-§2.9, §2B.9, §2B.10)."""

from __future__ import annotations

import pytest

from dispatch_google.domain import errors
from hubkit.vocabulary import ErrorClass as E
from hubkit.vocabulary import Status


@pytest.mark.parametrize(
    ("names", "expected"),
    [
        (("INVALID_HEX_ENCODING",), E.BAD_INPUT),
        (("NO_IDENTIFIERS_PROVIDED",), E.BAD_INPUT),
        (("TOO_MANY_EVENTS",), E.BAD_INPUT),
        (("EVENT_TIME_INVALID",), E.BAD_INPUT),
        (("INVALID_CONVERSION_ACTION_ID",), E.CONFIG),
        (("OPERATING_ACCOUNT_LOGIN_ACCOUNT_MISMATCH",), E.CONFIG),
        (("DESTINATION_ACCOUNT_ENHANCED_CONVERSIONS_TERMS_NOT_SIGNED",), E.CONFIG),
        (("PERMISSION_DENIED",), E.CONFIG),
        (("NOT_FOUND",), E.CONFIG),
        (("SERVICE_DISABLED",), E.CONFIG),
        (("ACCESS_TOKEN_EXPIRED",), E.AUTH),
        (("ACCESS_TOKEN_SCOPE_INSUFFICIENT",), E.AUTH),
        (("UNAUTHENTICATED",), E.AUTH),
        (("RATE_LIMIT_EXCEEDED",), E.THROTTLE),
        (("RESOURCE_EXHAUSTED",), E.THROTTLE),
        (("UNAVAILABLE",), E.TRANSIENT),
        (("DEADLINE_EXCEEDED",), E.TRANSIENT),
        (("ABORTED",), E.TRANSIENT),
        (("UNKNOWN",), E.TRANSIENT),
        (("", "SOMETHING_NEW", "INVALID_ARGUMENT"), E.BAD_INPUT),  # the first known decides
        (("SOMETHING_NEW",), None),
    ],
)
def test_data_manager_reasons(names: tuple[str, ...], expected: E | None) -> None:
    assert errors.dm_class(*names) is expected


@pytest.mark.parametrize(
    ("kind", "code", "expected"),
    [
        ("conversionUploadError", "ORDER_ID_ALREADY_IN_USE", E.NONE),
        ("conversionUploadError", "CLICK_CONVERSION_ALREADY_EXISTS", E.NONE),
        ("conversionUploadError", "TOO_RECENT_EVENT", E.TRANSIENT),
        ("conversionUploadError", "TOO_RECENT_CONVERSION_ACTION", E.TRANSIENT),
        ("conversionUploadError", "CUSTOMER_NOT_ACCEPTED_CUSTOMER_DATA_TERMS", E.CONFIG),
        ("conversionUploadError", "NO_CONVERSION_ACTION_FOUND", E.CONFIG),
        ("conversionUploadError", "CLICK_NOT_FOUND", E.BAD_INPUT),
        ("conversionUploadError", "UNPARSEABLE_GCLID", E.BAD_INPUT),
        ("conversionUploadError", "TOO_MANY_CONVERSIONS_IN_REQUEST", E.BAD_INPUT),
        ("notAllowlistedError", "CUSTOMER_NOT_ALLOWLISTED_FOR_THIS_FEATURE", E.CONFIG),
        ("authenticationError", "OAUTH_TOKEN_EXPIRED", E.AUTH),
        ("authenticationError", "CUSTOMER_NOT_FOUND", E.CONFIG),
        ("authorizationError", "USER_PERMISSION_DENIED", E.CONFIG),
        ("requestError", "INVALID_CUSTOMER_ID", E.CONFIG),
        ("requestError", "REQUIRED_FIELD_MISSING", E.BAD_INPUT),
        ("quotaError", "RESOURCE_TEMPORARILY_EXHAUSTED", E.THROTTLE),
        ("internalError", "TRANSIENT_ERROR", E.TRANSIENT),
    ],
)
def test_ads_codes(kind: str, code: str, expected: E) -> None:
    assert errors.ads_class(kind, code) is expected


def test_too_recent_waits_six_hours() -> None:
    assert errors.ads_retry_after("TOO_RECENT_EVENT") == 6 * 3600
    assert errors.ads_retry_after("CLICK_NOT_FOUND") is None


def test_the_not_allowlisted_message_says_how_to_switch() -> None:
    message = errors.explain(errors.NOT_ALLOWLISTED, "The customer is not allowlisted.")
    assert "`api: GOOGLE_API_DATA_MANAGER`" in message and "Data Manager API" in message
    assert message.endswith("Google: The customer is not allowlisted.")
    assert errors.explain("CLICK_NOT_FOUND", "no click") == "no click"


@pytest.mark.parametrize(
    ("path", "index"),
    [
        ("events.events[3].user_data.user_identifiers[1]", 3),
        ("events[3]", 3),
        ("events.events[12]", 12),
        ("destinations[0].login_account.account_id", None),
        ("encoding", None),
        ("subevents[2]", None),
    ],
)
def test_event_index_of_a_field_path(path: str, index: int | None) -> None:
    assert errors.event_index(path) == index


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("30s", 30.0), ("1.5s", 1.5), ("0.000000001s", 1e-9), ("30", None), ("-1s", None), (7, None)],
)
def test_proto_durations(text: object, seconds: float | None) -> None:
    assert errors.duration_seconds(text) == seconds


def test_a_rest_error_body_is_read() -> None:
    status = errors.rpc_error(
        {
            "error": {
                "code": 429,
                "message": "Too many requests.",
                "status": "RESOURCE_EXHAUSTED",
                "details": [
                    {
                        "@type": "type.googleapis.com/google.rpc.ErrorInfo",
                        "reason": "RATE_LIMIT_EXCEEDED",
                        "domain": "googleapis.com",
                        "metadata": {"service": "datamanager.googleapis.com"},
                    },
                    {"@type": "type.googleapis.com/google.rpc.RetryInfo", "retryDelay": "30s"},
                    {"@type": "type.googleapis.com/google.rpc.RequestInfo", "requestId": "r-1"},
                ],
            }
        }
    )
    assert (status.status, status.reason, status.retry_delay) == (
        "RESOURCE_EXHAUSTED",
        "RATE_LIMIT_EXCEEDED",
        30.0,
    )
    assert status.request_id == "r-1" and status.message == "Too many requests."
    assert errors.rpc_error("<html>502</html>") == errors.rpc_error(None) == errors.RpcStatus()


def test_google_ads_failures_are_read_with_their_rows() -> None:
    status = errors.rpc_status(
        {
            "code": 3,
            "details": [
                {
                    "@type": "type.googleapis.com/google.ads.googleads.v25.errors.GoogleAdsFailure",
                    "errors": [
                        {
                            "errorCode": {"conversionUploadError": "CLICK_NOT_FOUND"},
                            "message": "no click",
                            "location": {
                                "fieldPathElements": [
                                    {"fieldName": "conversions", "index": 1},
                                    {"fieldName": "gclid"},
                                ]
                            },
                        },
                        {
                            "errorCode": {"quotaError": "RESOURCE_TEMPORARILY_EXHAUSTED"},
                            "message": "slow down",
                            "details": {"quotaErrorDetails": {"retryDelay": "60s"}},
                        },
                    ],
                    "requestId": "AbCd1234EfGh",
                }
            ],
        }
    )
    assert status.request_id == "AbCd1234EfGh"
    assert status.ads_errors == (
        errors.AdsError("conversionUploadError", "CLICK_NOT_FOUND", "no click", 1),
        errors.AdsError("quotaError", "RESOURCE_TEMPORARILY_EXHAUSTED", "slow down", None, 60.0),
    )


def test_processing_reasons_lose_their_prefix() -> None:
    assert errors.reason_name("PROCESSING_ERROR_REASON_EVENT_TOO_OLD") == "EVENT_TOO_OLD"
    assert errors.reason_name("WARNING_REASON_GENERIC") == "GENERIC"
    name = "PROCESSING_ERROR_OPERATING_ACCOUNT_MISMATCH_FOR_AD_IDENTIFIER"
    assert errors.reason_name(name) == name


def test_request_status_outcomes() -> None:
    outcome = errors.dm_processing_outcome
    assert outcome("SUCCESS", {}).status is Status.CONFIRMED
    assert outcome("PROCESSING", {}).status is None
    assert outcome("PARTIAL_SUCCESS", {"EVENT_TOO_OLD": 1}).status is None
    duplicates = {"DUPLICATE_TRANSACTION_ID": 2, "DUPLICATE_GCLID": 1}
    assert outcome("FAILED", duplicates, 3) == errors.ProcessingOutcome(Status.CONFIRMED)
    failed = outcome("FAILED", {"DUPLICATE_GCLID": 1, "DENIED_CONSENT": 1, "CLICK_NOT_FOUND": 3}, 5)
    assert (failed.status, failed.error_class, failed.code) == (
        Status.FAILED,
        E.BAD_INPUT,
        "CLICK_NOT_FOUND",
    )
    assert failed.message == (
        "Google reported the request FAILED (5 events):"
        " CLICK_NOT_FOUND 3, DUPLICATE_GCLID 1, DENIED_CONSENT 1"
    )
    assert outcome("FAILED", {"EVENT_TOO_OLD": 2}).error_class is E.TOO_OLD
    assert outcome("FAILED", {"CUSTOM_VARIABLE_NOT_ENABLED": 2}).error_class is E.CONFIG
    # Passing reasons: the events go again later, byte-identical, never failed.
    internal = outcome("FAILED", {"INTERNAL_ERROR": 2})
    assert (internal.status, internal.error_class) == (Status.PENDING, E.TRANSIENT)
    assert internal.retry_after is None
    recent = outcome("FAILED", {"TOO_RECENT_CLICK": 2})
    assert (recent.status, recent.retry_after) == (Status.PENDING, 6 * 3600.0)
    silent = outcome("FAILED", {})
    assert (silent.status, silent.error_class, silent.code) == (Status.PENDING, E.UNKNOWN, "FAILED")
    # A partial report of duplicates only (an identical resend) confirms; others name none.
    assert outcome("PARTIAL_SUCCESS", {"DUPLICATE_TRANSACTION_ID": 2}).status is Status.CONFIRMED
