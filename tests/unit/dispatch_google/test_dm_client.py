"""Data Manager answers interpreted (docs/platforms.md §2B.8-§2B.10), on canned responses
shaped as the contract's examples; the client's requests on a mock transport."""

from __future__ import annotations

from typing import Any

import httpx
import orjson
import pytest

from dispatch_google.adapters.dm_client import DataManagerClient, interpret, interpret_status
from dispatch_google.domain.model import IngestRequest
from hubkit.dispatch.model import Status
from hubkit.vocabulary import ErrorClass

TOKEN = "ya29.a0Af-secret-access-token"
URL = "https://datamanager.test"
REQUEST_ID = "t-6bc8fb83-d648-4942-9c49-2604276638d8"


def ingest(n: int = 5, *, validate_only: bool = False, login: str = "9876543210") -> IngestRequest:
    events = [orjson.Fragment(orjson.dumps({"transactionId": f"T{i}"})) for i in range(n)]
    positions = [(f"d{i}",) for i in range(n)]
    if n > 1:
        positions[1] = ("d1", "d1-twin")  # two deliveries of one event share its fate
    return IngestRequest("1234567890", login, "987654", events, positions, TOKEN, validate_only)


def answer(status: int, body: Any, headers: dict[str, str] | None = None) -> httpx.Response:
    content = body if isinstance(body, bytes) else orjson.dumps(body)
    return httpx.Response(status, content=content, headers=headers)


def error(code: int, status: str, message: str, *details: dict[str, Any]) -> dict[str, Any]:
    return {"error": {"code": code, "message": message, "status": status, "details": list(details)}}


def error_info(reason: str, domain: str = "googleapis.com", **metadata: str) -> dict[str, Any]:
    return {
        "@type": "type.googleapis.com/google.rpc.ErrorInfo",
        "reason": reason,
        "domain": domain,
        "metadata": metadata,
    }


def bad_request(*violations: tuple[str, str, str]) -> dict[str, Any]:
    return {
        "@type": "type.googleapis.com/google.rpc.BadRequest",
        "fieldViolations": [
            {"field": f, "description": d, "reason": r} if r else {"field": f, "description": d}
            for f, d, r in violations
        ],
    }


# The guide's validation failure, verbatim (§2B.9).
VALIDATION_FAILURE = error(
    400,
    "INVALID_ARGUMENT",
    "There was a problem with the request.",
    error_info("INVALID_ARGUMENT", "datamanager.googleapis.com", requestId=REQUEST_ID),
    {"@type": "type.googleapis.com/google.rpc.RequestInfo", "requestId": REQUEST_ID},
    bad_request(
        (
            "events.events[0].user_data.user_identifiers[1]",
            "The HEX encoded value is malformed.",
            "INVALID_HEX_ENCODING",
        ),
        (
            "events.events[1].user_data.user_identifiers[2]",
            "The HEX encoded value is malformed.",
            "INVALID_HEX_ENCODING",
        ),
    ),
)
UNAUTHENTICATED = (
    "Request had invalid authentication credentials. Expected OAuth 2 access token, login"
    " cookie or other valid authentication credential. See"
    " https://developers.google.com/identity/sign-in/web/devconsole-project."
)


def test_accepted_is_sent_with_googles_request_id() -> None:
    body = {"requestId": "req-42", "fieldWarnings": [{"reason": "WARNING_REASON_GENERIC"}]}
    result = interpret(answer(200, body), ingest())
    assert result.error is None and not result.event_errors and not result.untried
    assert (result.http_status, result.request_id) == (200, "req-42")
    assert result.accepted_status is Status.SENT


def test_validate_only_is_confirmed_at_once_with_no_request_id() -> None:
    result = interpret(answer(200, {"requestId": "req-43"}), ingest(validate_only=True))
    assert result.error is None and result.request_id == ""
    assert result.accepted_status is Status.CONFIRMED


def test_violations_on_events_0_and_1_fail_them_and_the_other_3_are_untried() -> None:
    result = interpret(answer(400, VALIDATION_FAILURE), ingest(5))
    assert set(result.event_errors) == {"d0", "d1", "d1-twin"}
    first = result.event_errors["d0"]
    assert (first.error_class, first.code) == (ErrorClass.BAD_INPUT, "INVALID_HEX_ENCODING")
    assert first.message == "user_data.user_identifiers[1]: The HEX encoded value is malformed."
    assert result.event_errors["d1-twin"] == result.event_errors["d1"]
    assert result.untried == frozenset({"d2", "d3", "d4"})
    assert result.request_id == REQUEST_ID


def test_several_violations_of_one_event_are_joined() -> None:
    body = error(
        400,
        "INVALID_ARGUMENT",
        "There was a problem with the request.",
        bad_request(
            ("events.events[2].currency", "Invalid currency code.", "INVALID_CURRENCY_CODE"),
            ("events.events[2].event_timestamp", "Time in the future.", "EVENT_TIME_INVALID"),
        ),
    )
    result = interpret(answer(400, body), ingest(3))
    assert set(result.event_errors) == {"d2"}
    assert result.event_errors["d2"].code == "INVALID_CURRENCY_CODE"
    assert result.event_errors["d2"].message == (
        "currency: Invalid currency code.; event_timestamp: Time in the future."
    )
    assert result.untried == frozenset({"d0", "d1", "d1-twin"})


def test_a_front_end_parse_error_names_the_event_without_a_reason() -> None:
    description = (
        "Invalid JSON payload received. Unknown name \"x\" at 'events[1]': Cannot find field."
    )
    body = error(
        400, "INVALID_ARGUMENT", "Invalid JSON.", bad_request(("events[1]", description, ""))
    )
    result = interpret(answer(400, body), ingest(3))
    assert set(result.event_errors) == {"d1", "d1-twin"}
    failed = result.event_errors["d1"]
    assert (failed.error_class, failed.code, failed.message) == (
        ErrorClass.BAD_INPUT,
        "INVALID_ARGUMENT",
        description,
    )
    assert result.untried == frozenset({"d0", "d2"})


def test_a_violation_naming_no_event_refuses_the_whole_request() -> None:
    body = error(
        400,
        "INVALID_ARGUMENT",
        "There was a problem with the request.",
        bad_request(("encoding", "Encoding is required.", "REQUIRED_FIELD_MISSING")),
    )
    result = interpret(answer(400, body), ingest(3))
    assert result.error is not None and not result.event_errors and not result.untried
    assert (result.error.error_class, result.error.code) == (
        ErrorClass.BAD_INPUT,
        "REQUIRED_FIELD_MISSING",
    )
    assert "encoding: Encoding is required." in result.error.message


def test_a_destination_violation_is_configuration_even_among_event_violations() -> None:
    body = error(
        400,
        "INVALID_ARGUMENT",
        "There was a problem with the request.",
        bad_request(
            ("events.events[0].currency", "Invalid currency code.", "INVALID_CURRENCY_CODE"),
            (
                "destinations[0].login_account.account_id",
                "Invalid number format.",
                "INVALID_NUMBER_FORMAT",
            ),
        ),
    )
    result = interpret(answer(400, body), ingest(3))
    assert result.error is not None and not result.event_errors and not result.untried
    assert (result.error.error_class, result.error.code) == (
        ErrorClass.CONFIG,
        "INVALID_NUMBER_FORMAT",
    )


@pytest.mark.parametrize(
    ("reason", "expected"),
    [
        ("INVALID_CONVERSION_ACTION_ID", ErrorClass.CONFIG),
        ("TOO_MANY_EVENTS", ErrorClass.BAD_INPUT),  # the engine splits it
    ],
)
def test_whole_request_reasons(reason: str, expected: ErrorClass) -> None:
    body = error(400, "INVALID_ARGUMENT", "Bad.", error_info(reason, "datamanager.googleapis.com"))
    result = interpret(answer(400, body), ingest(2))
    assert result.error is not None and (result.error.error_class, result.error.code) == (
        expected,
        reason,
    )


def test_an_expired_token_is_token_expired() -> None:
    body = error(401, "UNAUTHENTICATED", UNAUTHENTICATED, error_info("ACCESS_TOKEN_EXPIRED"))
    result = interpret(answer(401, body), ingest(2))
    assert result.token_expired
    assert result.error is not None and (result.error.error_class, result.error.code) == (
        ErrorClass.AUTH,
        "ACCESS_TOKEN_EXPIRED",
    )


def test_other_auth_failures_are_not_refreshed() -> None:
    body = error(401, "UNAUTHENTICATED", UNAUTHENTICATED, error_info("CREDENTIALS_MISSING"))
    result = interpret(answer(401, body), ingest(1))
    assert not result.token_expired
    assert result.error is not None and result.error.error_class is ErrorClass.AUTH
    assert result.error.code == "CREDENTIALS_MISSING"


def test_a_disabled_api_says_what_to_do() -> None:
    message = (
        "Data Manager API has not been used in project 123 before or it is disabled. Enable it"
        " by visiting https://console.developers.google.com/apis/api/datamanager.googleapis.com"
        "/overview?project=123 then retry."
    )
    body = error(
        403,
        "PERMISSION_DENIED",
        message,
        error_info("SERVICE_DISABLED", activationUrl="https://console.developers.google.com/x"),
    )
    result = interpret(answer(403, body), ingest(1))
    assert result.error is not None and (result.error.error_class, result.error.code) == (
        ErrorClass.CONFIG,
        "SERVICE_DISABLED",
    )
    assert result.error.message.startswith("the Data Manager API is not enabled")
    assert message in result.error.message


def test_a_missing_scope_asks_for_consent_again() -> None:
    body = error(
        403,
        "PERMISSION_DENIED",
        "Request had insufficient authentication scopes.",
        error_info("ACCESS_TOKEN_SCOPE_INSUFFICIENT"),
    )
    result = interpret(answer(403, body), ingest(1))
    assert result.error is not None and result.error.error_class is ErrorClass.AUTH
    assert "https://www.googleapis.com/auth/datamanager" in result.error.message


def test_no_access_to_the_account_is_configuration() -> None:
    body = error(403, "PERMISSION_DENIED", "The caller does not have permission")
    result = interpret(answer(403, body), ingest(1))
    assert result.error is not None and (result.error.error_class, result.error.code) == (
        ErrorClass.CONFIG,
        "PERMISSION_DENIED",
    )


def test_a_throttle_waits_as_retry_info_says() -> None:
    body = error(
        429,
        "RESOURCE_EXHAUSTED",
        "Quota exceeded.",
        error_info("RATE_LIMIT_EXCEEDED", consumer="projects/123"),
        {"@type": "type.googleapis.com/google.rpc.RetryInfo", "retryDelay": "30s"},
    )
    result = interpret(answer(429, body, {"retry-after": "5"}), ingest(2))
    assert result.error is not None and (result.error.error_class, result.error.code) == (
        ErrorClass.THROTTLE,
        "RATE_LIMIT_EXCEEDED",
    )
    assert result.error.retry_after == 30


def test_a_throttle_without_retry_info_takes_the_header_or_nothing() -> None:
    body = error(429, "RESOURCE_EXHAUSTED", "Quota exceeded.")
    with_header = interpret(answer(429, body, {"retry-after": "12"}), ingest(1))
    assert with_header.error is not None and with_header.error.retry_after == 12
    bare = interpret(answer(429, body), ingest(1))
    assert bare.error is not None and bare.error.retry_after is None
    assert bare.error.code == "RESOURCE_EXHAUSTED"


@pytest.mark.parametrize(
    ("response", "code"),
    [
        (answer(500, error(500, "INTERNAL", "Internal error.")), "INTERNAL"),
        (answer(503, error(503, "UNAVAILABLE", "The service is unavailable.")), "UNAVAILABLE"),
        (answer(504, error(504, "DEADLINE_EXCEEDED", "Deadline exceeded.")), "DEADLINE_EXCEEDED"),
        (httpx.Response(502, text="<html>502 Bad Gateway</html>"), "HTTP 502"),
    ],
)
def test_server_errors_are_transient(response: httpx.Response, code: str) -> None:
    result = interpret(response, ingest(2))
    assert result.error is not None and (result.error.error_class, result.error.code) == (
        ErrorClass.TRANSIENT,
        code,
    )
    assert not result.event_errors and not result.untried


def test_the_token_never_reaches_the_audit() -> None:
    body = error(400, "INVALID_ARGUMENT", f"Bad header: Authorization: Bearer {TOKEN}")
    result = interpret(answer(400, body), ingest(1))
    assert result.error is not None
    assert TOKEN not in result.error.message and TOKEN not in result.excerpt
    assert TOKEN not in repr(ingest(1))


def test_the_body_names_one_destination_and_hex_encoding() -> None:
    body = orjson.loads(DataManagerClient(URL).body(ingest(2)))
    assert body == {
        "destinations": [
            {
                "operatingAccount": {"accountType": "GOOGLE_ADS", "accountId": "1234567890"},
                "loginAccount": {"accountType": "GOOGLE_ADS", "accountId": "9876543210"},
                "productDestinationId": "987654",
            }
        ],
        "encoding": "HEX",
        "events": [{"transactionId": "T0"}, {"transactionId": "T1"}],
        "validateOnly": False,
    }
    direct = orjson.loads(DataManagerClient(URL).body(ingest(1, login="", validate_only=True)))
    assert "loginAccount" not in direct["destinations"][0] and direct["validateOnly"] is True


async def test_send_posts_with_the_bearer_token_only() -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json={"requestId": "req-1"})

    http = httpx.AsyncClient(base_url=URL, transport=httpx.MockTransport(handler))
    client = DataManagerClient(URL, client=http)
    result = await client.send(ingest(2))
    await client.close()
    assert result.request_id == "req-1" and result.accepted_status is Status.SENT
    (sent,) = seen
    assert (sent.method, sent.url.path) == ("POST", "/v1/events:ingest")
    assert sent.headers["authorization"] == f"Bearer {TOKEN}"
    assert sent.headers["content-type"] == "application/json"
    assert "developer-token" not in sent.headers and "login-customer-id" not in sent.headers
    assert sent.content == client.body(ingest(2))


async def test_a_network_error_is_transient_and_never_raised() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError(f"connection refused for {TOKEN}", request=request)

    http = httpx.AsyncClient(base_url=URL, transport=httpx.MockTransport(handler))
    client = DataManagerClient(URL, client=http)
    result = await client.send(ingest(1))
    report = await client.retrieve("req-1", TOKEN)
    await client.close()
    for error_ in (result.error, report.unavailable):
        assert error_ is not None and (error_.error_class, error_.code) == (
            ErrorClass.TRANSIENT,
            "NETWORK",
        )
        assert TOKEN not in error_.message


# --- requestStatus:retrieve (§2B.10) ---------------------------------------------------------


def status(state: str, errors: list[tuple[str, str]] | None = None, records: str = "3") -> Any:
    entry: dict[str, Any] = {
        "destination": {
            "operatingAccount": {"accountType": "GOOGLE_ADS", "accountId": "1234567890"},
            "productDestinationId": "987654",
        },
        "requestStatus": state,
        "eventsIngestionStatus": {"recordCount": records},
    }
    if errors is not None:
        entry["errorInfo"] = {"errorCounts": [{"recordCount": n, "reason": r} for r, n in errors]}
    return answer(200, {"requestStatusPerDestination": [entry]})


async def test_retrieve_asks_for_the_request_id_with_the_token() -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return status("SUCCESS")

    http = httpx.AsyncClient(base_url=URL, transport=httpx.MockTransport(handler))
    client = DataManagerClient(URL, client=http)
    report = await client.retrieve("req/1", TOKEN)
    await client.close()
    (sent,) = seen
    assert (sent.method, sent.url.path) == ("GET", "/v1/requestStatus:retrieve")
    assert sent.url.params["requestId"] == "req/1"
    assert sent.headers["authorization"] == f"Bearer {TOKEN}"
    assert report.final and report.outcome is Status.CONFIRMED


def test_the_contracts_partial_success_settles_nothing() -> None:
    report = interpret_status(
        status("PARTIAL_SUCCESS", [("PROCESSING_ERROR_REASON_EVENT_TOO_OLD", "1")]), TOKEN
    )
    assert (report.state, report.final, report.outcome) == ("PARTIAL_SUCCESS", True, None)
    assert report.record_count == 3 and report.error_counts == {"EVENT_TOO_OLD": 1}
    assert report.warning_counts == {} and report.failure is None


def test_success_confirms_and_a_missing_error_info_is_no_counts() -> None:
    report = interpret_status(status("SUCCESS"), TOKEN)
    assert (report.final, report.outcome, report.error_counts) == (True, Status.CONFIRMED, {})


def test_failed_only_by_duplicates_is_delivered() -> None:
    counts = [
        ("PROCESSING_ERROR_REASON_DUPLICATE_TRANSACTION_ID", "2"),
        ("PROCESSING_ERROR_REASON_DUPLICATE_GCLID", "1"),
    ]
    report = interpret_status(status("FAILED", counts), TOKEN)
    assert (report.final, report.outcome, report.failure) == (True, Status.CONFIRMED, None)
    assert report.error_counts == {"DUPLICATE_TRANSACTION_ID": 2, "DUPLICATE_GCLID": 1}


def test_failed_fails_with_the_dominant_reason() -> None:
    counts = [
        ("PROCESSING_ERROR_REASON_DENIED_CONSENT", "1"),
        ("PROCESSING_ERROR_REASON_CLICK_NOT_FOUND", "2"),
        ("PROCESSING_ERROR_REASON_CLICK_NOT_FOUND", "1"),  # one reason twice: summed
    ]
    report = interpret_status(status("FAILED", counts, records="4"), TOKEN)
    assert report.final and report.outcome is Status.FAILED
    assert report.error_counts == {"DENIED_CONSENT": 1, "CLICK_NOT_FOUND": 3}
    assert report.failure is not None
    assert (report.failure.error_class, report.failure.code) == (
        ErrorClass.BAD_INPUT,
        "CLICK_NOT_FOUND",
    )
    assert "CLICK_NOT_FOUND 3, DENIED_CONSENT 1" in report.failure.message


def test_warnings_are_counted() -> None:
    response = answer(
        200,
        {
            "requestStatusPerDestination": [
                {
                    "requestStatus": "SUCCESS",
                    "warningInfo": {
                        "warningCounts": [
                            {
                                "recordCount": "2",
                                "reason": "WARNING_REASON_CUSTOM_VARIABLE_NOT_ENABLED",
                            }
                        ]
                    },
                    "eventsIngestionStatus": {"recordCount": "2"},
                }
            ]
        },
    )
    report = interpret_status(response, TOKEN)
    assert report.warning_counts == {"CUSTOM_VARIABLE_NOT_ENABLED": 2}


@pytest.mark.parametrize("state", ["PROCESSING", "REQUEST_STATUS_UNKNOWN"])
def test_processing_is_not_final(state: str) -> None:
    report = interpret_status(status(state), TOKEN)
    assert (report.state, report.final, report.outcome) == (state, False, None)


def test_an_invalid_request_id_is_final_and_unavailable() -> None:
    body = error(
        400,
        "INVALID_ARGUMENT",
        "Request id is invalid.",
        error_info("INVALID_REQUEST_ID", "datamanager.googleapis.com"),
    )
    report = interpret_status(answer(400, body), TOKEN)
    assert (report.state, report.final, report.outcome, report.unavailable) == (
        "UNAVAILABLE",
        True,
        None,
        None,
    )


def test_asking_with_an_expired_token_is_unavailable_and_recognisable() -> None:
    body = error(401, "UNAUTHENTICATED", UNAUTHENTICATED, error_info("ACCESS_TOKEN_EXPIRED"))
    report = interpret_status(answer(401, body), TOKEN)
    assert not report.final and report.unavailable is not None
    assert report.unavailable.code == "ACCESS_TOKEN_EXPIRED"


@pytest.mark.parametrize(
    ("response", "error_class"),
    [
        (answer(503, error(503, "UNAVAILABLE", "Unavailable.")), ErrorClass.TRANSIENT),
        (answer(429, error(429, "RESOURCE_EXHAUSTED", "Quota.")), ErrorClass.THROTTLE),
        (answer(200, {}), ErrorClass.UNKNOWN),
    ],
)
def test_a_report_that_could_not_be_had(response: httpx.Response, error_class: ErrorClass) -> None:
    report = interpret_status(response, TOKEN)
    assert not report.final and report.unavailable is not None
    assert report.unavailable.error_class is error_class
