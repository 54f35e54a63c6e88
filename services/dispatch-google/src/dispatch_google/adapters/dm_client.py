"""Google Data Manager API client: POST /v1/events:ingest and GET /v1/requestStatus:retrieve,
answers classified (docs/platforms.md §2B.1, §2B.8-§2B.10).

An accepted request is only acknowledged (SENT, with Google's requestId); what became of its
events comes at least 30 minutes later as counts per reason, naming no event (`retrieve`).
Validation fails the whole request (fast-fail, §2B.9): the events a 400 names fail with
Google's reason, the others were never processed and go back untried."""

from __future__ import annotations

from typing import Any

import httpx
import orjson

from dispatch_google.domain import errors
from dispatch_google.domain.model import IngestRequest
from hubkit.dispatch import http
from hubkit.dispatch.model import PlatformError, RequestReport, SendResult, Status
from hubkit.dispatch.redaction import scrub
from hubkit.resilience import parse_retry_after
from hubkit.vocabulary import ErrorClass

INGEST_PATH = "/v1/events:ingest"
STATUS_PATH = "/v1/requestStatus:retrieve"
ACCOUNT_TYPE = "GOOGLE_ADS"
ENCODING = "HEX"  # of the hashed identifiers: ingest's lowercase hex SHA-256
MESSAGE_CHARS = 1000


class DataManagerClient:
    """The token travels in the Authorization header only; no developer token, no
    login-customer-id header: the accounts go in `destinations` (§2B.1, §2B.12)."""

    def __init__(
        self, base_url: str, *, timeout: float = 30.0, client: httpx.AsyncClient | None = None
    ) -> None:
        self._http = client or http.client(
            base_url=base_url, timeout=timeout, user_agent="convhub-dispatch-google"
        )

    def body(self, request: IngestRequest) -> bytes:
        destination: dict[str, Any] = {"operatingAccount": _account(request.operating_account)}
        if request.login_account:
            destination["loginAccount"] = _account(request.login_account)
        destination["productDestinationId"] = request.action_id
        return orjson.dumps(
            {
                "destinations": [destination],
                "encoding": ENCODING,
                "events": request.events,
                "validateOnly": request.validate_only,
            }
        )

    async def send(self, request: IngestRequest) -> SendResult:
        try:
            response = await http.post(
                self._http,
                INGEST_PATH,
                destination="google",
                events=len(request.events),
                content=self.body(request),
                headers={
                    "content-type": "application/json",
                    "authorization": f"Bearer {request.access_token}",
                },
            )
        except httpx.HTTPError as exc:
            # Timeouts included: Google may have the events; a resend carries the same bytes.
            return SendResult(error=_network(exc, (request.access_token,)))
        return interpret(response, request)

    async def retrieve(self, request_id: str, access_token: str) -> RequestReport:
        """Google's report on an accepted request (§2B.10); `unavailable` when it could not be
        had this time (network, throttle, token: ACCESS_TOKEN_EXPIRED is its code)."""
        try:
            response = await self._http.get(
                STATUS_PATH,
                params={"requestId": request_id},
                headers={"authorization": f"Bearer {access_token}"},
            )
        except httpx.HTTPError as exc:
            return RequestReport(unavailable=_network(exc, (access_token,)))
        return interpret_status(response, access_token)

    async def close(self) -> None:
        await self._http.aclose()


def interpret(response: httpx.Response, request: IngestRequest) -> SendResult:
    secrets = (request.access_token,)  # never into the audit, whatever Google echoes
    excerpt = scrub(response.text, secrets)
    code = response.status_code
    payload = http.json_object(response)
    if 200 <= code < 300:
        if request.validate_only:  # nothing recorded, no status to ask: done (§2B.2)
            return SendResult(http_status=code, excerpt=excerpt)
        request_id = payload.get("requestId")
        return SendResult(
            http_status=code,
            request_id=str(request_id or ""),
            excerpt=excerpt,
            accepted_status=Status.SENT,
        )
    status = errors.rpc_error(payload)
    named = _events_named(code, status, len(request.positions))
    if not named:
        error = _request_error(response, status, secrets)
        return SendResult(
            http_status=code,
            request_id=status.request_id,
            excerpt=excerpt,
            error=error,
            token_expired=code == 401 and error.code == errors.ACCESS_TOKEN_EXPIRED,
        )
    # Only the named events are bad; the others were never processed: resend them.
    failed = {i: _event_error(violations, status, secrets) for i, violations in named.items()}
    bad = {d: failed[i] for i in sorted(failed) for d in request.positions[i]}
    rest = {d for ids in request.positions for d in ids} - bad.keys()
    return SendResult(
        http_status=code,
        request_id=status.request_id,
        excerpt=excerpt,
        error=failed[min(failed)],
        event_errors=bad,
        untried=frozenset(rest),
    )


def interpret_status(response: httpx.Response, access_token: str) -> RequestReport:
    """A requestStatus:retrieve answer as the engine's RequestReport (§2B.10)."""
    secrets = (access_token,)
    excerpt = scrub(response.text, secrets)
    payload = http.json_object(response)
    if not 200 <= response.status_code < 300:
        status = errors.rpc_error(payload)
        reasons = {status.reason, *(v.reason for v in status.violations)}
        if errors.INVALID_REQUEST_ID in reasons:  # no status will ever come: stop asking
            return RequestReport(state="UNAVAILABLE", final=True, excerpt=excerpt)
        error = _request_error(response, status, secrets)
        return RequestReport(unavailable=error, excerpt=excerpt)
    found = payload.get("requestStatusPerDestination")
    entry = found[0] if isinstance(found, list) and found else None
    if not isinstance(entry, dict):
        error = PlatformError(ErrorClass.UNKNOWN, "NO_STATUS", "the answer names no destination")
        return RequestReport(unavailable=error, excerpt=excerpt)
    state = str(entry.get("requestStatus") or "REQUEST_STATUS_UNKNOWN")
    error_counts = _counts(entry.get("errorInfo"), "errorCounts")
    records = entry.get("eventsIngestionStatus")
    record_count = _int(records.get("recordCount")) if isinstance(records, dict) else 0
    final = state in errors.FINAL_STATES
    outcome = errors.dm_processing_outcome(state, error_counts, record_count)
    failure = None
    if outcome.status in (Status.FAILED, Status.PENDING):
        failure = PlatformError(
            outcome.error_class, outcome.code, outcome.message, outcome.retry_after
        )
    return RequestReport(
        state=state,
        final=final,
        record_count=record_count,
        error_counts=error_counts,
        warning_counts=_counts(entry.get("warningInfo"), "warningCounts"),
        outcome=outcome.status,
        failure=failure,
        excerpt=excerpt,
    )


def _request_error(
    response: httpx.Response, status: errors.RpcStatus, secrets: tuple[str, ...]
) -> PlatformError:
    """A refusal of the whole request: the class from the HTTP status where it decides alone
    (429, 5xx), else from Google's reasons (a violation in `destinations` is configuration)."""
    http_status = response.status_code
    own = [v for v in status.violations if errors.event_index(v.field) is None]
    code = next((v.reason for v in own if v.reason), "")
    code = code or status.reason or status.status or f"HTTP {http_status}"
    if http_status == 429:
        error_class = ErrorClass.THROTTLE
    elif http_status >= 500:  # the server's trouble, whatever its body says
        error_class = ErrorClass.TRANSIENT
    elif any(v.field.startswith("destinations") for v in status.violations):
        error_class = ErrorClass.CONFIG
    else:
        reasons = [v.reason for v in status.violations]
        found = errors.dm_class(*reasons, status.reason, status.status)
        error_class = found if found is not None else http.classify_status(http_status)
    parts = [status.message or f"HTTP {http_status}"]
    parts += [f"{v.field}: {v.description}" for v in status.violations]
    message = scrub(errors.explain(code, "; ".join(parts)), secrets, MESSAGE_CHARS)
    retry_after = None
    if error_class in (ErrorClass.THROTTLE, ErrorClass.TRANSIENT):
        retry_after = status.retry_delay
        if retry_after is None:
            retry_after = parse_retry_after(response.headers.get("retry-after"))
    return PlatformError(error_class, code, message, retry_after)


def _events_named(
    http_status: int, status: errors.RpcStatus, events: int
) -> dict[int, list[errors.Violation]]:
    """The request's events a 400 names, with their violations; empty when it names anything
    else as well (then the whole request is refused)."""
    if http_status != 400 or not status.violations:
        return {}
    named: dict[int, list[errors.Violation]] = {}
    for violation in status.violations:
        index = errors.event_index(violation.field)
        if index is None or index >= events:
            return {}
        named.setdefault(index, []).append(violation)
    return named


def _event_error(
    violations: list[errors.Violation], status: errors.RpcStatus, secrets: tuple[str, ...]
) -> PlatformError:
    """One event's violations: the first one's reason decides (a front-end parse error has
    none: BAD_INPUT); all their descriptions go in the message."""
    first = violations[0]
    found = errors.dm_class(first.reason)
    code = first.reason or status.reason or status.status or "INVALID_ARGUMENT"
    texts = dict.fromkeys(_violation_text(v) for v in violations)
    message = scrub("; ".join(texts), secrets, MESSAGE_CHARS)
    return PlatformError(found if found is not None else ErrorClass.BAD_INPUT, code, message)


def _violation_text(violation: errors.Violation) -> str:
    """The path inside the event and Google's description: `user_data.user_identifiers[1]:
    The HEX encoded value is malformed.` (field names only, never values)."""
    inside = violation.field.partition("]")[2].lstrip(".")
    text = violation.description or violation.reason or "invalid"
    return f"{inside}: {text}" if inside else text


def _counts(info: Any, key: str) -> dict[str, int]:
    """Record counts per reason (int64: JSON strings); a missing info block is no counts."""
    counts: dict[str, int] = {}
    entries = info.get(key) if isinstance(info, dict) else None
    for entry in entries if isinstance(entries, list) else ():
        if isinstance(entry, dict):
            reason = errors.reason_name(str(entry.get("reason") or "UNSPECIFIED"))
            counts[reason] = counts.get(reason, 0) + _int(entry.get("recordCount"))
    return counts


def _account(account_id: str) -> dict[str, str]:
    return {"accountType": ACCOUNT_TYPE, "accountId": account_id}


def _network(exc: httpx.HTTPError, secrets: tuple[str, ...]) -> PlatformError:
    message = scrub(f"network error: {type(exc).__name__}: {exc}", secrets)
    return PlatformError(ErrorClass.TRANSIENT, "NETWORK", message)


def _int(value: Any) -> int:
    try:
        return int(value) if not isinstance(value, bool) else 0
    except (TypeError, ValueError):
        return 0
