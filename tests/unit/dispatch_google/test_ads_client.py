"""Google Ads API answers interpreted (docs/platforms.md §2.7-§2.9), on canned responses
shaped as the contract's examples; the client's requests on a mock transport."""

from __future__ import annotations

from typing import Any

import httpx
import orjson
import pytest

from dispatch_google.adapters.ads_client import AdsClient, interpret
from dispatch_google.domain.errors import SWITCH_TO_DATA_MANAGER
from dispatch_google.domain.model import UploadRequest
from hubkit.dispatch.model import Status
from hubkit.vocabulary import ErrorClass

TOKEN = "ya29.a0Af-secret-access-token"
DEVELOPER_TOKEN = "dev-token-ABCDEFGHIJKLMNOP"
URL = "https://googleads.test"
FAILURE = "type.googleapis.com/google.ads.googleads.v25.errors.GoogleAdsFailure"
ACTION = "customers/1234567890/conversionActions/987654"


def upload(
    n: int = 10, *, validate_only: bool = False, login: str = "9876543210", developer: str = ""
) -> UploadRequest:
    conversions = [orjson.Fragment(orjson.dumps({"orderId": f"O{i}"})) for i in range(n)]
    positions = [(f"d{i}",) for i in range(n)]
    if n > 3:
        positions[3] = ("d3", "d3-twin")  # two deliveries of one conversion share its fate
    return UploadRequest(
        "1234567890", login, conversions, positions, TOKEN, developer, validate_only
    )


def row_error(row: int | None, kind: str, code: str, message: str = "") -> dict[str, Any]:
    error: dict[str, Any] = {"errorCode": {kind: code}, "message": message or f"{code}."}
    if row is not None:
        error["location"] = {
            "fieldPathElements": [
                {"fieldName": "conversions", "index": row},
                {"fieldName": "gclid"},
            ]
        }
    return error


def partial(n: int, *errors: dict[str, Any], results: bool = True) -> httpx.Response:
    failed = {e["location"]["fieldPathElements"][0]["index"] for e in errors if "location" in e}
    body: dict[str, Any] = {
        "partialFailureError": {
            "code": 3,
            "message": "Multiple errors in 'details'.",
            "details": [{"@type": FAILURE, "errors": list(errors), "requestId": "AbCd1234EfGh"}],
        },
        "jobId": "2147483999",
    }
    if results:
        body["results"] = [
            {} if i in failed else {"gclid": "Cj0KCQiA", "conversionAction": ACTION}
            for i in range(n)
        ]
    return httpx.Response(200, content=orjson.dumps(body))


def rpc(status: int, name: str, *errors: dict[str, Any], headers: Any = None) -> httpx.Response:
    body = {
        "error": {
            "code": status,
            "message": "Request contains an invalid argument.",
            "status": name,
            "details": [{"@type": FAILURE, "errors": list(errors), "requestId": "Zz99"}],
        }
    }
    return httpx.Response(status, content=orjson.dumps(body), headers=headers)


def test_the_contracts_success_confirms_every_row() -> None:
    body = {
        "results": [
            {
                "gclid": "Cj0KCQiA",
                "conversionAction": ACTION,
                "conversionDateTime": "2026-09-01 12:32:45-08:00",
            }
        ],
        "jobId": "42",
    }
    result = interpret(httpx.Response(200, content=orjson.dumps(body)), upload(1))
    assert result.error is None and not result.event_errors and not result.duplicates
    assert result.request_id == "42" and result.accepted_status is Status.CONFIRMED


def test_partial_failure_rows_3_and_7_fail_exactly_those() -> None:
    response = partial(
        10,
        row_error(3, "conversionUploadError", "CLICK_NOT_FOUND", "No click matches."),
        row_error(7, "conversionUploadError", "INVALID_USER_IDENTIFIER", "Bad hash."),
        row_error(7, "conversionUploadError", "CONVERSION_PRECEDES_EVENT", "Too early."),
    )
    result = interpret(response, upload(10))
    assert result.error is None and not result.untried and not result.duplicates
    assert set(result.event_errors) == {"d3", "d3-twin", "d7"}
    three, seven = result.event_errors["d3"], result.event_errors["d7"]
    assert (three.error_class, three.code, three.message) == (
        ErrorClass.BAD_INPUT,
        "CLICK_NOT_FOUND",
        "No click matches.",
    )
    assert (seven.code, seven.message) == ("INVALID_USER_IDENTIFIER", "Bad hash.; Too early.")
    assert result.request_id == "2147483999" and result.accepted_status is Status.CONFIRMED


def test_rows_google_already_has_are_delivered_duplicates() -> None:
    response = partial(
        5,
        row_error(1, "conversionUploadError", "ORDER_ID_ALREADY_IN_USE"),
        row_error(3, "conversionUploadError", "CLICK_CONVERSION_ALREADY_EXISTS"),
        row_error(3, "conversionUploadError", "CLICK_NOT_FOUND"),  # recorded all the same
    )
    result = interpret(response, upload(5))
    assert result.error is None and not result.event_errors
    assert result.duplicates == {
        "d1": "ORDER_ID_ALREADY_IN_USE",
        "d3": "CLICK_CONVERSION_ALREADY_EXISTS",
        "d3-twin": "CLICK_CONVERSION_ALREADY_EXISTS",
    }


def test_a_row_not_allowlisted_is_configuration_with_the_switch_message() -> None:
    response = partial(
        3,
        row_error(
            2,
            "notAllowlistedError",
            "CUSTOMER_NOT_ALLOWLISTED_FOR_THIS_FEATURE",
            "Customer is not allowlisted for accessing this feature.",
        ),
    )
    result = interpret(response, upload(3))
    failed = result.event_errors["d2"]
    assert set(result.event_errors) == {"d2"}
    assert (failed.error_class, failed.code) == (
        ErrorClass.CONFIG,
        "CUSTOMER_NOT_ALLOWLISTED_FOR_THIS_FEATURE",
    )
    assert failed.message.startswith(SWITCH_TO_DATA_MANAGER)
    assert "`api: GOOGLE_API_DATA_MANAGER`" in failed.message


def test_a_request_not_allowlisted_fails_every_event_as_configuration() -> None:
    response = rpc(
        403,
        "PERMISSION_DENIED",
        row_error(None, "notAllowlistedError", "CUSTOMER_NOT_ALLOWLISTED_FOR_THIS_FEATURE"),
    )
    result = interpret(response, upload(3))
    assert result.error is not None and not result.event_errors and not result.untried
    assert result.error.error_class is ErrorClass.CONFIG
    assert result.error.code == "CUSTOMER_NOT_ALLOWLISTED_FOR_THIS_FEATURE"
    assert result.error.message.startswith(SWITCH_TO_DATA_MANAGER)
    assert result.request_id == "Zz99"


def test_too_recent_waits_six_hours() -> None:
    response = partial(2, row_error(0, "conversionUploadError", "TOO_RECENT_EVENT"))
    failed = interpret(response, upload(2)).event_errors["d0"]
    assert (failed.error_class, failed.retry_after) == (ErrorClass.TRANSIENT, 6 * 3600)


def test_a_permanent_error_decides_over_a_retryable_one_in_a_row() -> None:
    response = partial(
        1,
        row_error(0, "conversionUploadError", "TOO_RECENT_EVENT"),
        row_error(0, "conversionUploadError", "UNPARSEABLE_GCLID"),
    )
    failed = interpret(response, upload(1)).event_errors["d0"]
    assert (failed.error_class, failed.code, failed.retry_after) == (
        ErrorClass.BAD_INPUT,
        "UNPARSEABLE_GCLID",
        None,
    )


def test_validate_only_has_no_results_and_reports_errors_as_usual() -> None:
    clean = interpret(httpx.Response(200, content=b"{}"), upload(2, validate_only=True))
    assert clean.error is None and clean.accepted_status is Status.CONFIRMED
    response = partial(
        2, row_error(1, "conversionUploadError", "INVALID_USER_IDENTIFIER"), results=False
    )
    result = interpret(response, upload(2, validate_only=True))
    assert set(result.event_errors) == {"d1"} and result.error is None
    assert result.request_id == "2147483999"


def test_an_expired_token_is_token_expired() -> None:
    response = rpc(
        401,
        "UNAUTHENTICATED",
        row_error(None, "authenticationError", "OAUTH_TOKEN_EXPIRED", "Token expired."),
    )
    result = interpret(response, upload(2))
    assert result.token_expired
    assert result.error is not None and (result.error.error_class, result.error.code) == (
        ErrorClass.AUTH,
        "OAUTH_TOKEN_EXPIRED",
    )


def test_the_contracts_throttle_waits_its_retry_delay() -> None:
    body = {
        "error": {
            "code": 429,
            "message": "Too many requests.",
            "status": "RESOURCE_EXHAUSTED",
            "details": [
                {
                    "@type": FAILURE,
                    "errors": [
                        {
                            "errorCode": {"quotaError": "RESOURCE_TEMPORARILY_EXHAUSTED"},
                            "message": "Too many requests in a short amount of time.",
                            "details": {
                                "quotaErrorDetails": {
                                    "rateScope": "ACCOUNT",
                                    "rateName": "Requests per account",
                                    "retryDelay": "30s",
                                }
                            },
                        }
                    ],
                    "requestId": "q-1",
                }
            ],
        }
    }
    result = interpret(httpx.Response(429, content=orjson.dumps(body)), upload(2))
    assert result.error is not None and (result.error.error_class, result.error.code) == (
        ErrorClass.THROTTLE,
        "RESOURCE_TEMPORARILY_EXHAUSTED",
    )
    assert result.error.retry_after == 30 and not result.token_expired


def test_a_daily_quota_throttle_without_a_delay_takes_the_header() -> None:
    response = rpc(
        429,
        "RESOURCE_EXHAUSTED",
        row_error(None, "quotaError", "RESOURCE_EXHAUSTED"),
        headers={"retry-after": "120"},
    )
    result = interpret(response, upload(1))
    assert result.error is not None and result.error.retry_after == 120


def test_a_request_level_rejection_naming_no_row_refuses_the_request() -> None:
    response = rpc(
        400,
        "INVALID_ARGUMENT",
        row_error(None, "conversionUploadError", "TOO_MANY_CONVERSIONS_IN_REQUEST"),
    )
    result = interpret(response, upload(3))
    assert result.error is not None and not result.event_errors and not result.untried
    assert (result.error.error_class, result.error.code) == (
        ErrorClass.BAD_INPUT,
        "TOO_MANY_CONVERSIONS_IN_REQUEST",
    )


def test_a_request_level_rejection_naming_rows_hands_the_others_back_untried() -> None:
    response = rpc(
        400, "INVALID_ARGUMENT", row_error(1, "requestError", "INVALID_ENUM_VALUE", "Bad enum.")
    )
    result = interpret(response, upload(4))
    assert set(result.event_errors) == {"d1"} and result.error is None
    assert result.untried == frozenset({"d0", "d2", "d3", "d3-twin"})


@pytest.mark.parametrize(
    ("response", "code"),
    [
        (
            rpc(500, "INTERNAL", row_error(None, "internalError", "INTERNAL_ERROR")),
            "INTERNAL_ERROR",
        ),
        (rpc(503, "UNAVAILABLE"), "UNAVAILABLE"),
        (httpx.Response(502, text="<html>502 Bad Gateway</html>"), "HTTP 502"),
    ],
)
def test_server_errors_are_transient(response: httpx.Response, code: str) -> None:
    result = interpret(response, upload(2))
    assert result.error is not None and (result.error.error_class, result.error.code) == (
        ErrorClass.TRANSIENT,
        code,
    )


def test_user_permission_denied_says_what_to_do() -> None:
    response = rpc(
        403,
        "PERMISSION_DENIED",
        row_error(None, "authorizationError", "USER_PERMISSION_DENIED", "No permission."),
    )
    result = interpret(response, upload(1))
    assert result.error is not None and result.error.error_class is ErrorClass.CONFIG
    assert "login_customer_id" in result.error.message


def test_tokens_never_reach_the_audit() -> None:
    request = upload(1, developer=DEVELOPER_TOKEN)
    message = f"Bad token {TOKEN} with developer token {DEVELOPER_TOKEN}"
    response = rpc(
        401,
        "UNAUTHENTICATED",
        row_error(None, "authenticationError", "OAUTH_TOKEN_INVALID", message),
    )
    result = interpret(response, request)
    assert result.error is not None
    for secret in (TOKEN, DEVELOPER_TOKEN):
        assert secret not in result.error.message and secret not in result.excerpt
        assert secret not in repr(request)


def test_the_body_asks_for_partial_failure() -> None:
    body = orjson.loads(AdsClient(URL).body(upload(2, validate_only=True)))
    assert body == {
        "conversions": [{"orderId": "O0"}, {"orderId": "O1"}],
        "partialFailure": True,
        "validateOnly": True,
    }


async def test_send_posts_to_the_customer_with_its_headers() -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json={"results": [{}, {}], "jobId": "7"})

    http = httpx.AsyncClient(base_url=URL, transport=httpx.MockTransport(handler))
    client = AdsClient(URL, api_version="v25", client=http)
    request = upload(2, developer=DEVELOPER_TOKEN)
    result = await client.send(request)
    await client.send(upload(1, login=""))
    await client.close()
    assert result.request_id == "7" and result.error is None
    with_all, bare = seen
    assert (with_all.method, with_all.url.path) == (
        "POST",
        "/v25/customers/1234567890:uploadClickConversions",
    )
    assert with_all.headers["authorization"] == f"Bearer {TOKEN}"
    assert with_all.headers["developer-token"] == DEVELOPER_TOKEN
    assert with_all.headers["login-customer-id"] == "9876543210"
    assert with_all.content == client.body(request)
    assert "developer-token" not in bare.headers and "login-customer-id" not in bare.headers


async def test_a_network_error_is_transient_and_never_raised() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        raise httpx.ReadTimeout("timed out", request=request)

    http = httpx.AsyncClient(base_url=URL, transport=httpx.MockTransport(handler))
    client = AdsClient(URL, client=http)
    result = await client.send(upload(1))
    await client.close()
    assert result.error is not None and (result.error.error_class, result.error.code) == (
        ErrorClass.TRANSIENT,
        "NETWORK",
    )
