"""Google Ads API client: POST /{version}/customers/{customer_id}:uploadClickConversions with
partialFailure, answers classified (docs/platforms.md §2.2-§2.9).

A 200 carries per-row errors (`partialFailureError`, located at `conversions[i]`): those rows
fail, rows Google already has (ORDER_ID_ALREADY_IN_USE, CLICK_CONVERSION_ALREADY_EXISTS) are
delivered duplicates, the rest are CONFIRMED. Anything else refuses the whole request."""

from __future__ import annotations

import httpx
import orjson

from dispatch_google.domain import errors
from dispatch_google.domain.model import UploadRequest
from hubkit.dispatch import http
from hubkit.dispatch.model import PlatformError, SendResult
from hubkit.dispatch.redaction import scrub
from hubkit.resilience import parse_retry_after
from hubkit.vocabulary import ErrorClass

MESSAGE_CHARS = 1000


class AdsClient:
    """The tokens travel in headers only: Authorization, and developer-token when given."""

    def __init__(
        self,
        base_url: str,
        *,
        api_version: str = "v26",
        timeout: float = 30.0,
        client: httpx.AsyncClient | None = None,
    ) -> None:
        self._version = api_version
        self._http = client or http.client(
            base_url=base_url, timeout=timeout, user_agent="convhub-dispatch-google"
        )

    def path(self, customer_id: str) -> str:
        return f"/{self._version}/customers/{customer_id}:uploadClickConversions"

    def body(self, request: UploadRequest) -> bytes:
        return orjson.dumps(
            {
                "conversions": request.conversions,
                "partialFailure": True,  # required (§2.3)
                "validateOnly": request.validate_only,
            }
        )

    async def send(self, request: UploadRequest) -> SendResult:
        headers = {
            "content-type": "application/json",
            "authorization": f"Bearer {request.access_token}",
        }
        if request.developer_token:
            headers["developer-token"] = request.developer_token
        if request.login_customer_id:
            headers["login-customer-id"] = request.login_customer_id
        try:
            response = await http.post(
                self._http,
                self.path(request.customer_id),
                destination="google",
                events=len(request.conversions),
                content=self.body(request),
                headers=headers,
            )
        except httpx.HTTPError as exc:
            # Timeouts included: a resend carries the same orderId, so Google keeps one.
            message = scrub(f"network error: {type(exc).__name__}: {exc}", _secrets(request))
            return SendResult(error=PlatformError(ErrorClass.TRANSIENT, "NETWORK", message))
        return interpret(response, request)

    async def close(self) -> None:
        await self._http.aclose()


def interpret(response: httpx.Response, request: UploadRequest) -> SendResult:
    secrets = _secrets(request)  # never into the audit, whatever Google echoes
    excerpt = scrub(response.text, secrets)
    code = response.status_code
    payload = http.json_object(response)
    if 200 <= code < 300 and "error" not in payload:
        failure = errors.rpc_status(payload.get("partialFailureError"))
        request_id = str(payload.get("jobId") or failure.request_id)
        event_errors, duplicates = _rows(failure.ads_errors, request, secrets)
        error = None
        if failure.ads_errors and not event_errors and not duplicates:
            # Errors naming no row (§2.7 says they all do): the request's, so nothing is
            # claimed delivered; the engine splits a BAD_INPUT and resends find duplicates.
            error = _request_error(response, failure, secrets)
        return SendResult(
            http_status=code,
            request_id=request_id,
            excerpt=excerpt,
            error=error,
            event_errors=event_errors,
            duplicates=duplicates,
        )
    status = errors.rpc_error(payload)
    located = [e for e in status.ads_errors if _row_of(e, request) is not None]
    if code == 400 and located and len(located) == len(status.ads_errors):
        # Refused for the rows it names only: the others were never processed.
        event_errors, duplicates = _rows(located, request, secrets)
        carried = {d for ids in request.positions for d in ids}
        return SendResult(
            http_status=code,
            request_id=status.request_id,
            excerpt=excerpt,
            event_errors=event_errors,
            duplicates=duplicates,
            untried=frozenset(carried - event_errors.keys() - duplicates.keys()),
        )
    expired = any(e.code == errors.OAUTH_TOKEN_EXPIRED for e in status.ads_errors)
    return SendResult(
        http_status=code,
        request_id=status.request_id,
        excerpt=excerpt,
        error=_request_error(response, status, secrets),
        token_expired=code == 401 and (expired or status.reason == errors.ACCESS_TOKEN_EXPIRED),
    )


def _rows(
    found: tuple[errors.AdsError, ...] | list[errors.AdsError],
    request: UploadRequest,
    secrets: tuple[str, ...],
) -> tuple[dict[str, PlatformError], dict[str, str]]:
    """Per delivery: the error of its row, or the duplicate code of a row Google already has
    (whatever else that row drew: the conversion is recorded)."""
    by_row: dict[int, list[errors.AdsError]] = {}
    for error in found:
        row = _row_of(error, request)
        if row is not None:
            by_row.setdefault(row, []).append(error)
    event_errors: dict[str, PlatformError] = {}
    duplicates: dict[str, str] = {}
    for row, row_errors in sorted(by_row.items()):
        ids = request.positions[row]
        duplicate = next((e.code for e in row_errors if e.code in errors.ADS_DUPLICATES), None)
        if duplicate is not None:
            duplicates.update(dict.fromkeys(ids, duplicate))
        else:
            event_errors.update(dict.fromkeys(ids, _row_error(row_errors, secrets)))
    return event_errors, duplicates


def _row_error(found: list[errors.AdsError], secrets: tuple[str, ...]) -> PlatformError:
    first = _decisive(found)
    error_class = errors.ads_class(first.kind, first.code)
    texts = dict.fromkeys(errors.explain(e.code, e.message or e.code) for e in found)
    message = scrub("; ".join(texts), secrets, MESSAGE_CHARS)
    return PlatformError(error_class, first.code, message, _retry_after(first, error_class))


def _request_error(
    response: httpx.Response, status: errors.RpcStatus, secrets: tuple[str, ...]
) -> PlatformError:
    """A refusal of the whole request: the HTTP status decides alone for 429 and 5xx, else
    the GoogleAdsError codes, else the canonical status."""
    http_status = response.status_code
    first = _decisive(list(status.ads_errors)) if status.ads_errors else None
    if http_status == 429:
        error_class = ErrorClass.THROTTLE
    elif http_status >= 500:  # the server's trouble, whatever its body says
        error_class = ErrorClass.TRANSIENT
    elif first is not None:
        error_class = errors.ads_class(first.kind, first.code)
        if error_class is ErrorClass.NONE:  # a duplicate naming no row: nothing to attach
            error_class = ErrorClass.UNKNOWN
    else:
        found = errors.dm_class(status.reason, status.status)
        error_class = found if found is not None else http.classify_status(http_status)
    code = first.code if first is not None else ""
    code = code or status.reason or status.status or f"HTTP {http_status}"
    texts = [errors.explain(e.code, e.message or e.code) for e in status.ads_errors]
    text = "; ".join(dict.fromkeys(texts)) or errors.explain(code, status.message)
    message = scrub(text or f"HTTP {http_status}", secrets, MESSAGE_CHARS)
    retry_after = None
    if error_class in (ErrorClass.THROTTLE, ErrorClass.TRANSIENT):
        retry_after = _retry_after(first, error_class) if first is not None else None
        if retry_after is None:
            retry_after = status.retry_delay
        if retry_after is None:
            retry_after = parse_retry_after(response.headers.get("retry-after"))
    return PlatformError(error_class, code, message, retry_after)


def _decisive(found: list[errors.AdsError]) -> errors.AdsError:
    """The error that decides for several: a permanent one before a retryable one (a retry
    cannot fix the first), else the first as Google listed them."""
    return min(found, key=lambda e: errors.ads_class(e.kind, e.code).retryable)


def _retry_after(error: errors.AdsError, error_class: ErrorClass) -> float | None:
    if error_class not in (ErrorClass.THROTTLE, ErrorClass.TRANSIENT):
        return None
    wait = errors.ads_retry_after(error.code)
    return wait if wait is not None else error.retry_delay


def _row_of(error: errors.AdsError, request: UploadRequest) -> int | None:
    row = error.row
    return row if row is not None and row < len(request.positions) else None


def _secrets(request: UploadRequest) -> tuple[str, ...]:
    return (request.access_token, request.developer_token)
