"""The Google simulator is faithful to docs/platforms.md §2 (checklist §2.12) and §2B
(checklist §2B.14): OAuth refresh, Data Manager ingest + request status, uploadClickConversions."""

from __future__ import annotations

import asyncio
import copy
import time
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest

from convhub_sim import REGISTRY
from convhub_sim.google import ADWORDS_SCOPE, DATAMANAGER_SCOPE, GoogleSimulator

ACCOUNT = "1234567890"
ACTION = "987654"
EMAIL = "223ebda6f6889b1494551ba902d9d381daf2f642bae055888e96343d53e9f9c4"  # §2B.6 vectors
PHONE = "fb4f73a6ec5fdb7077d564cdd22c3554b43ce49168550c3b12c547b78c517b30"
EMAIL_B64 = "Ij69pvaImxSUVRupAtnTgdry9kK64FWIjpY0PVPp+cQ="
ADS_EMAIL = "d6117306485ed0e50afab3ac871e98f81699151f30281527d63ff5f233656c69"  # §2.5
INGEST = "/v1/events:ingest"
STATUS = "/v1/requestStatus:retrieve"
UPLOAD = f"/v25/customers/{ACCOUNT}:uploadClickConversions"
TYPE = "type.googleapis.com/"


class Clock:
    def __init__(self) -> None:
        self.now = float(int(time.time()))

    def __call__(self) -> float:
        return self.now


def rfc3339(clock: Clock, ago: float = 3600) -> str:
    return datetime.fromtimestamp(clock.now - ago, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def destination(action: str = ACTION, account: str = ACCOUNT) -> dict[str, Any]:
    return {
        "operatingAccount": {"accountType": "GOOGLE_ADS", "accountId": account},
        "productDestinationId": action,
    }


def event(clock: Clock, **overrides: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "transactionId": "ORD-1001",
        "eventTimestamp": rfc3339(clock),
        "eventSource": "WEB",
        "conversionValue": 129.99,
        "currency": "USD",
        "adIdentifiers": {"gclid": "Cj0KCQiA-1"},
        "userData": {"userIdentifiers": [{"emailAddress": EMAIL}, {"phoneNumber": PHONE}]},
    }
    base.update(overrides)
    return base


def dm_body(events: list[Any], **overrides: Any) -> dict[str, Any]:
    return {
        "destinations": [destination()],
        "encoding": "HEX",
        "consent": {"adUserData": "CONSENT_GRANTED", "adPersonalization": "CONSENT_GRANTED"},
        "events": events,
        **overrides,
    }


def conversion(**overrides: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "gclid": "Cj0KCQiA-1",
        "conversionAction": f"customers/{ACCOUNT}/conversionActions/{ACTION}",
        "conversionDateTime": "2026-09-01 12:32:45-08:00",
        "conversionValue": 129.99,
        "currencyCode": "USD",
        "orderId": "ORD-1001",
        "userIdentifiers": [{"userIdentifierSource": "FIRST_PARTY", "hashedEmail": ADS_EMAIL}],
        "consent": {"adUserData": "GRANTED"},
    }
    base.update(overrides)
    return base


def ads_body(rows: list[Any], **overrides: Any) -> dict[str, Any]:
    return {"conversions": rows, "partialFailure": True, "jobId": 42, **overrides}


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
async def sim(clock: Clock) -> AsyncIterator[GoogleSimulator]:
    simulator = GoogleSimulator(clock=clock, status_delay=30)
    simulator.add_conversion_action(ACCOUNT, ACTION)
    await simulator.start()
    yield simulator
    await simulator.stop()


async def call(
    sim: GoogleSimulator, method: str, path: str, *, token: str | None = None, **kwargs: Any
) -> httpx.Response:
    headers = kwargs.pop("headers", {})
    if token is not None:
        headers["Authorization"] = f"Bearer {token}"
    async with httpx.AsyncClient(base_url=sim.url) as client:
        return await client.request(method, path, headers=headers, **kwargs)


async def mint(sim: GoogleSimulator, refresh_token: str = "dev-main", **form: str) -> str:
    response = await call(sim, "POST", "/token", data=token_form(refresh_token, **form))
    assert response.status_code == 200, response.text
    return str(response.json()["access_token"])


def token_form(refresh_token: str, **overrides: str) -> dict[str, str]:
    form = {
        "client_id": "client-1.apps.googleusercontent.com",
        "client_secret": "secret",
        "refresh_token": refresh_token,
        "grant_type": "refresh_token",
    }
    return {k: v for k, v in {**form, **overrides}.items() if v}


async def ingest(sim: GoogleSimulator, body: Any, token: str | None = None) -> httpx.Response:
    return await call(sim, "POST", INGEST, token=token or await mint(sim), json=body)


async def status_of(
    sim: GoogleSimulator, request_id: str, *, param: str = "requestId"
) -> httpx.Response:
    return await call(sim, "GET", STATUS, token=await mint(sim), params={param: request_id})


async def upload(
    sim: GoogleSimulator, body: Any, *, path: str = UPLOAD, token: str | None = None
) -> httpx.Response:
    headers = {"developer-token": "ignored-22-characters!", "login-customer-id": "9876543210"}
    return await call(sim, "POST", path, token=token or await mint(sim), json=body, headers=headers)


def details(response: httpx.Response, status: int, canonical: str) -> dict[str, Any]:
    """The google.rpc.Status details by @type, after checking the error envelope."""
    assert response.status_code == status, response.text
    error = response.json()["error"]
    assert (error["code"], error["status"]) == (status, canonical)
    assert error["message"]
    return {d["@type"].removeprefix(TYPE): d for d in error.get("details", [])}


def violations(response: httpx.Response) -> list[tuple[str, str]]:
    found = details(response, 400, "INVALID_ARGUMENT")
    info, request_info = found["google.rpc.ErrorInfo"], found["google.rpc.RequestInfo"]
    assert (info["reason"], info["domain"]) == ("INVALID_ARGUMENT", "datamanager.googleapis.com")
    assert info["metadata"]["requestId"] == request_info["requestId"]
    field_violations = found["google.rpc.BadRequest"]["fieldViolations"]
    assert all(v["description"] for v in field_violations)
    return [(v["field"], v["reason"]) for v in field_violations]


def row_errors(response: httpx.Response) -> list[tuple[int, str, str]]:
    """(row index, error kind, code) of each partial-failure error."""
    assert response.status_code == 200, response.text
    status = response.json()["partialFailureError"]
    assert status["code"] == 3 and status["message"]
    (failure,) = status["details"]
    assert failure["@type"] == TYPE + "google.ads.googleads.v25.errors.GoogleAdsFailure"
    assert failure["requestId"]
    out = []
    for error in failure["errors"]:
        row = error["location"]["fieldPathElements"][0]
        assert row["fieldName"] == "conversions" and error["message"]
        ((kind, code),) = error["errorCode"].items()
        out.append((row["index"], kind, code))
    return out


def ads_failure(response: httpx.Response, status: int, canonical: str) -> list[tuple[str, str]]:
    found = details(response, status, canonical)
    failure = found["google.ads.googleads.v25.errors.GoogleAdsFailure"]
    return [next(iter(e["errorCode"].items())) for e in failure["errors"]]


# --- OAuth ---------------------------------------------------------------------------------------


async def test_token_mint_carries_the_refresh_tokens_scopes(clock: Clock) -> None:
    async with GoogleSimulator(clock=clock, token_lifetime=120) as sim:
        sim.add_refresh_token("1//ads-only", scopes=[ADWORDS_SCOPE])
        response = await call(sim, "POST", "/token", data=token_form("dev-anything"))
        assert response.status_code == 200
        answer = response.json()
        assert set(answer) == {"access_token", "expires_in", "scope", "token_type"}
        assert answer["access_token"].startswith("ya29.")
        assert (answer["expires_in"], answer["token_type"]) == (120, "Bearer")
        assert set(answer["scope"].split()) == {ADWORDS_SCOPE, DATAMANAGER_SCOPE}
        narrow = (await call(sim, "POST", "/token", data=token_form("1//ads-only"))).json()
        assert narrow["scope"] == ADWORDS_SCOPE
        assert narrow["access_token"] != answer["access_token"]
        assert sim.tokens_issued == 2
        factory, urls = REGISTRY["google"]
        assert factory == "convhub_sim.google:GoogleSimulator"
        assert urls == {
            "CONVHUB_GOOGLE_DATA_MANAGER_URL": "",
            "CONVHUB_GOOGLE_ADS_URL": "",
            "CONVHUB_GOOGLE_OAUTH_URL": "/token",
        }


@pytest.mark.parametrize(
    ("form", "status", "error"),
    [
        (token_form("1//unknown"), 400, "invalid_grant"),
        (token_form("dev-revoked"), 400, "invalid_grant"),
        (token_form("dev-main", grant_type="authorization_code"), 400, "unsupported_grant_type"),
        (token_form("dev-main", client_secret=""), 401, "invalid_client"),
        (token_form("dev-main", client_id=""), 401, "invalid_client"),
        (token_form(""), 400, "invalid_request"),
        (token_form("1//bound", client_id="someone-else"), 401, "unauthorized_client"),
    ],
)
async def test_token_refusals(
    sim: GoogleSimulator, form: dict[str, str], status: int, error: str
) -> None:
    sim.revoke_refresh_token("dev-revoked")
    sim.add_refresh_token("1//bound", client_id="client-1.apps.googleusercontent.com")
    response = await call(sim, "POST", "/token", data=form)
    assert response.status_code == status
    assert response.json()["error"] == error
    assert sim.tokens_issued == 0
    if error == "invalid_grant":
        assert response.json() == {
            "error": "invalid_grant",
            "error_description": "Token has been expired or revoked.",
        }


async def test_dev_refresh_tokens_can_be_turned_off() -> None:
    async with GoogleSimulator(dev_refresh_tokens=False) as sim:
        response = await call(sim, "POST", "/token", data=token_form("dev-main"))
        assert response.status_code == 400
        sim.add_refresh_token("dev-main")
        assert await mint(sim)


# --- Data Manager: ingest and request status -----------------------------------------------------


async def test_ingest_then_status_goes_from_processing_to_partial_success(
    sim: GoogleSimulator, clock: Clock
) -> None:
    sim.script_gclid("Cj0-lost", "PROCESSING_ERROR_REASON_CLICK_NOT_FOUND")
    sent = [
        event(clock, transactionId="T1"),
        event(clock, transactionId="T2", consent={"adUserData": "CONSENT_DENIED"}),
        event(clock, transactionId="T3", adIdentifiers={"gclid": "Cj0-lost"}),
        event(clock, transactionId="T4", eventTimestamp=rfc3339(clock, ago=91 * 86400)),
        event(clock, transactionId="T5"),
    ]
    response = await ingest(sim, dm_body(sent))
    assert response.status_code == 200, response.text
    assert set(response.json()) == {"requestId"}
    request_id = response.json()["requestId"]
    assert [e.payload for e in sim.conversions()] == sent  # kept exactly as sent
    assert {(e.request_id, e.operating_account, e.action) for e in sim.received} == {
        (request_id, ACCOUNT, ACTION)
    }

    processing = (await status_of(sim, request_id)).json()["requestStatusPerDestination"]
    assert processing == [
        {
            "destination": destination(),
            "requestStatus": "PROCESSING",
            "eventsIngestionStatus": {"recordCount": "5"},
        }
    ]
    clock.now += 30
    final = await status_of(sim, request_id)
    assert final.status_code == 200
    assert final.json() == {
        "requestStatusPerDestination": [
            {
                "destination": destination(),
                "requestStatus": "PARTIAL_SUCCESS",
                "errorInfo": {
                    "errorCounts": [
                        {"recordCount": "1", "reason": "PROCESSING_ERROR_REASON_DENIED_CONSENT"},
                        {"recordCount": "1", "reason": "PROCESSING_ERROR_REASON_CLICK_NOT_FOUND"},
                        {"recordCount": "1", "reason": "PROCESSING_ERROR_REASON_EVENT_TOO_OLD"},
                    ]
                },
                "eventsIngestionStatus": {"recordCount": "5"},
            }
        ]
    }
    # The percent-encoded colon and the snake_case parameter reach the same status.
    again = await status_of(sim, request_id, param="request_id")
    assert again.json() == final.json()
    encoded = await call(
        sim,
        "GET",
        "/v1/requestStatus%3Aretrieve",
        token=await mint(sim),
        params={"requestId": request_id},
    )
    assert encoded.json() == final.json()


async def test_request_consent_denied_fails_every_event_and_clean_requests_succeed(
    sim: GoogleSimulator, clock: Clock
) -> None:
    sim.status_delay = 0
    denied = dm_body([event(clock, transactionId=f"D{i}") for i in range(3)])
    denied["consent"] = {"adUserData": "CONSENT_DENIED"}
    failed_id = (await ingest(sim, denied)).json()["requestId"]
    clean_id = (await ingest(sim, dm_body([event(clock, transactionId="C1")]))).json()["requestId"]
    (failed,) = sim.request_status(failed_id)["requestStatusPerDestination"]  # type: ignore[index]
    assert failed["requestStatus"] == "FAILED"
    assert failed["errorInfo"]["errorCounts"] == [
        {"recordCount": "3", "reason": "PROCESSING_ERROR_REASON_DENIED_CONSENT"}
    ]
    (clean,) = (await status_of(sim, clean_id)).json()["requestStatusPerDestination"]
    assert clean["requestStatus"] == "SUCCESS" and "errorInfo" not in clean


async def test_events_fan_out_to_destinations_by_reference(
    sim: GoogleSimulator, clock: Clock
) -> None:
    sim.add_conversion_action(ACCOUNT, "111")
    first, second = {**destination(), "reference": "a"}, {**destination("111"), "reference": "b"}
    only_b = event(clock, transactionId="T2", destinationReferences=["b"])
    body = dm_body([event(clock), only_b], destinations=[first, second])
    request_id = (await ingest(sim, body)).json()["requestId"]
    clock.now += 30
    entries = (await status_of(sim, request_id)).json()["requestStatusPerDestination"]
    assert [(e["destination"], e["eventsIngestionStatus"]) for e in entries] == [
        (first, {"recordCount": "1"}),
        (second, {"recordCount": "2"}),
    ]
    assert sorted((e.action, e.transaction_id) for e in sim.received) == [
        ("111", "ORD-1001"),
        ("111", "T2"),
        (ACTION, "ORD-1001"),
    ]


async def test_whole_request_validation_names_every_offending_field(
    sim: GoogleSimulator, clock: Clock
) -> None:
    bad_hex = {"userIdentifiers": [{"emailAddress": EMAIL}, {"phoneNumber": "not-hex"}]}
    sent = [
        event(clock, userData=bad_hex),
        event(clock),
        event(clock, eventTimestamp=None, currency="usd"),
        event(clock, eventTimestamp=rfc3339(clock, ago=-3600)),  # an hour ahead
        event(clock, adIdentifiers=None, userData=None),
        event(clock, userData={"userIdentifiers": [{"emailAddress": EMAIL}] * 11}),
        event(clock, eventSource=None, userData={"userIdentifiers": [{"phoneNumber": EMAIL[:62]}]}),
        event(clock, userData={"userIdentifiers": [{"address": {"givenName": EMAIL}}]}),
    ]
    sent = [{k: v for k, v in e.items() if v is not None} for e in sent]
    response = await ingest(sim, dm_body(sent))
    assert violations(response) == [
        ("events.events[0].user_data.user_identifiers[1]", "INVALID_HEX_ENCODING"),
        ("events.events[2].event_timestamp", "REQUIRED_FIELD_MISSING"),
        ("events.events[2].currency", "INVALID_CURRENCY_CODE"),
        ("events.events[3].event_timestamp", "EVENT_TIME_INVALID"),
        ("events.events[4]", "NO_IDENTIFIERS_PROVIDED"),
        ("events.events[5].user_data.user_identifiers", "TOO_MANY_USER_IDENTIFIERS"),
        ("events.events[6].event_source", "REQUIRED_FIELD_MISSING"),
        ("events.events[6].user_data.user_identifiers[0]", "INVALID_SHA256_FORMAT"),
        (
            "events.events[7].user_data.user_identifiers[0].address.family_name",
            "REQUIRED_FIELD_MISSING",
        ),
        (
            "events.events[7].user_data.user_identifiers[0].address.region_code",
            "REQUIRED_FIELD_MISSING",
        ),
        (
            "events.events[7].user_data.user_identifiers[0].address.postal_code",
            "REQUIRED_FIELD_MISSING",
        ),
    ]
    assert not sim.received and not sim.statuses and not sim.transactions


@pytest.mark.parametrize(
    ("overrides", "expected"),
    [
        ({"encoding": None}, [("encoding", "REQUIRED_FIELD_MISSING")]),
        ({"events": []}, [("events", "REQUIRED_FIELD_MISSING")]),
        ({"destinations": []}, [("destinations", "REQUIRED_FIELD_MISSING")]),
        ({"destinations": [destination()] * 11}, [("destinations", "TOO_MANY_DESTINATIONS")]),
        (
            {"destinations": [destination("555")]},
            [("destinations[0].product_destination_id", "INVALID_CONVERSION_ACTION_ID")],
        ),
        (
            {"destinations": [{"productDestinationId": ACTION}]},
            [("destinations[0].operating_account", "REQUIRED_FIELD_MISSING")],
        ),
        (
            {"destinations": [{**destination(), "loginAccount": {"accountId": "98-76"}}]},
            [
                ("destinations[0].login_account.account_id", "INVALID_NUMBER_FORMAT"),
                ("destinations[0].login_account.account_type", "REQUIRED_FIELD_MISSING"),
            ],
        ),
    ],
)
async def test_request_level_rules(
    sim: GoogleSimulator, clock: Clock, overrides: dict[str, Any], expected: list[Any]
) -> None:
    body = {k: v for k, v in {**dm_body([event(clock)]), **overrides}.items() if v is not None}
    assert violations(await ingest(sim, body)) == expected
    assert not sim.received


async def test_base64_identifiers_are_accepted_when_declared(
    sim: GoogleSimulator, clock: Clock
) -> None:
    user = {"userIdentifiers": [{"emailAddress": EMAIL_B64}]}
    response = await ingest(sim, dm_body([event(clock, userData=user)], encoding="BASE64"))
    assert response.status_code == 200, response.text
    short = {"userIdentifiers": [{"emailAddress": EMAIL_B64[:20] + "=="}]}
    garbled = {"userIdentifiers": [{"phoneNumber": PHONE}, {"emailAddress": "%%%"}]}
    sent = [event(clock, userData=short), event(clock, userData=garbled)]
    assert violations(await ingest(sim, dm_body(sent, encoding="BASE64"))) == [
        ("events.events[0].user_data.user_identifiers[0]", "INVALID_SHA256_FORMAT"),
        ("events.events[1].user_data.user_identifiers[0]", "INVALID_SHA256_FORMAT"),  # hex text
        ("events.events[1].user_data.user_identifiers[1]", "INVALID_BASE64_ENCODING"),
    ]


async def test_an_inaccessible_operating_account_is_permission_denied(
    sim: GoogleSimulator, clock: Clock
) -> None:
    response = await ingest(sim, dm_body([event(clock)], destinations=[destination(account="555")]))
    found = details(response, 403, "PERMISSION_DENIED")
    assert found["google.rpc.ErrorInfo"]["reason"] == "PERMISSION_DENIED"
    assert "google.rpc.BadRequest" not in found
    assert not sim.received


async def test_without_registered_actions_any_numeric_action_is_known(clock: Clock) -> None:
    async with GoogleSimulator(clock=clock) as sim:
        ok = await ingest(sim, dm_body([event(clock)], destinations=[destination("42", "77")]))
        assert ok.status_code == 200
        bad = await ingest(sim, dm_body([event(clock)], destinations=[destination("abc")]))
        assert violations(bad) == [
            ("destinations[0].product_destination_id", "INVALID_CONVERSION_ACTION_ID")
        ]


def _with(clock: Clock, path: str, value: Any) -> dict[str, Any]:
    body = dm_body([event(clock)])
    node: Any = body
    *parents, last = path.split(".")
    for part in parents:
        node = node[int(part)] if isinstance(node, list) else node[part]
    node[last] = value
    return body


@pytest.mark.parametrize(
    ("path", "value", "field", "description"),
    [
        (
            "consent.adUserData",
            "GRANTED",
            "consent.ad_user_data",
            "Invalid value at 'consent.ad_user_data'"
            ' (type.googleapis.com/google.ads.datamanager.v1.ConsentStatus), "GRANTED"',
        ),
        (
            "events.0.eventSource",
            "WEBSITE",
            "events[0].event_source",
            "Invalid value at 'events[0].event_source'"
            ' (type.googleapis.com/google.ads.datamanager.v1.EventSource), "WEBSITE"',
        ),
        (
            "events.0.eventTimestamp",
            "2026-09-01 12:32:45-08:00",
            "events[0].event_timestamp",
            "Invalid value at 'events[0].event_timestamp'"
            ' (type.googleapis.com/google.protobuf.Timestamp), "2026-09-01 12:32:45-08:00"',
        ),
        (
            "events.0.conversionValue",
            "abc",
            "events[0].conversion_value",
            "Invalid value at 'events[0].conversion_value' (TYPE_DOUBLE), \"abc\"",
        ),
        (
            "events.0.orderId",
            "ORD-1",
            "events[0]",
            "Invalid JSON payload received. Unknown name \"orderId\" at 'events[0]':"
            " Cannot find field.",
        ),
        (
            "events.0.userData.userIdentifiers.0.phoneNumber",
            PHONE,
            "events[0].user_data.user_identifiers[0]",
            'Invalid JSON payload received. Multiple values for oneof "identifier" at'
            " 'events[0].user_data.user_identifiers[0]'.",
        ),
    ],
)
async def test_front_end_parse_errors_have_an_esf_path_and_no_reason(
    sim: GoogleSimulator, clock: Clock, path: str, value: Any, field: str, description: str
) -> None:
    found = details(await ingest(sim, _with(clock, path, value)), 400, "INVALID_ARGUMENT")
    assert list(found) == ["google.rpc.BadRequest"]  # no ErrorInfo: the backend never saw it
    assert found["google.rpc.BadRequest"]["fieldViolations"] == [
        {"field": field, "description": description}
    ]
    assert not sim.received


async def test_a_body_that_is_not_a_json_object(sim: GoogleSimulator) -> None:
    token = await mint(sim)
    raw = await call(sim, "POST", INGEST, token=token, content=b"{not json")
    listed = await call(sim, "POST", INGEST, token=token, json=[])
    for response in (raw, listed):
        (violation,) = details(response, 400, "INVALID_ARGUMENT")["google.rpc.BadRequest"][
            "fieldViolations"
        ]
        assert violation["description"].startswith("Invalid JSON payload received.")
        assert "field" not in violation


async def test_snake_case_keys_are_read_like_camel_case(sim: GoogleSimulator, clock: Clock) -> None:
    sent = {
        "destinations": [
            {
                "operating_account": {"account_type": "GOOGLE_ADS", "account_id": ACCOUNT},
                "product_destination_id": ACTION,
            }
        ],
        "encoding": "HEX",
        "events": [
            {
                "transaction_id": "ORD-9",
                "event_timestamp": rfc3339(clock),
                "event_source": "WEB",
                "user_data": {"user_identifiers": [{"email_address": EMAIL}]},
                "consent": {"ad_user_data": 2},  # enum number: CONSENT_DENIED
            }
        ],
    }
    response = await ingest(sim, sent)
    assert response.status_code == 200, response.text
    (stored,) = sim.received
    assert stored.payload == sent["events"][0] and stored.transaction_id == "ORD-9"
    assert stored.error == "PROCESSING_ERROR_REASON_DENIED_CONSENT"


async def test_validate_only_stores_nothing_and_its_id_has_no_status(
    sim: GoogleSimulator, clock: Clock
) -> None:
    response = await ingest(sim, dm_body([event(clock)], validateOnly=True))
    assert response.status_code == 200
    request_id = response.json()["requestId"]
    assert not sim.received and not sim.transactions and not sim.statuses
    found = details(await status_of(sim, request_id), 400, "INVALID_ARGUMENT")
    assert found["google.rpc.ErrorInfo"]["reason"] == "INVALID_REQUEST_ID"
    assert found["google.rpc.BadRequest"]["fieldViolations"][0]["field"] == "request_id"
    invalid = await ingest(sim, dm_body([event(clock, currency="EURO")], validateOnly=True))
    assert violations(invalid) == [("events.events[0].currency", "INVALID_CURRENCY_CODE")]
    missing = await call(sim, "GET", STATUS, token=await mint(sim))
    assert details(missing, 400, "INVALID_ARGUMENT")["google.rpc.ErrorInfo"]["reason"] == (
        "REQUIRED_FIELD_MISSING"
    )


async def test_cart_data_with_gbraid_is_accepted_with_field_warnings(
    sim: GoogleSimulator, clock: Clock
) -> None:
    cart = {"merchantId": "123", "items": [{"merchantProductId": "SKU", "quantity": "2"}]}
    sent = event(clock, adIdentifiers={"gbraid": "GB-1"}, cartData=cart)
    response = await ingest(sim, dm_body([event(clock, transactionId="T0"), sent]))
    assert response.status_code == 200
    warnings = response.json()["fieldWarnings"]
    assert [(w["field"], w["reason"]) for w in warnings] == [
        (
            "events.events[1].cart_data",
            "WARNING_REASON_CART_DATA_NOT_SUPPORTED_WITH_GBRAID_OR_WBRAID",
        ),
        ("events.events[1].cart_data.items[0]", "WARNING_REASON_CART_DATA_ITEM_UNIT_PRICE_MISSING"),
    ]
    assert all(w["description"] for w in warnings)
    assert len(sim.conversions()) == 2


async def test_transaction_id_resends_are_duplicates_or_adjustments(
    sim: GoogleSimulator, clock: Clock
) -> None:
    sim.status_delay = 0
    sim.add_conversion_action(ACCOUNT, "111")
    original = event(clock)
    await ingest(sim, dm_body([original]))
    retry_id = (await ingest(sim, dm_body([copy.deepcopy(original)]))).json()["requestId"]
    await ingest(sim, dm_body([event(clock, conversionValue=99.0)]))  # restated value
    await ingest(sim, dm_body([event(clock, conversionValue=99.0)]))  # the restatement again
    await ingest(sim, dm_body([event(clock, currency="EUR", conversionValue=99.0)]))
    await ingest(sim, dm_body([original], destinations=[destination("111")]))  # another action
    no_id = {k: v for k, v in original.items() if k != "transactionId"}
    await ingest(sim, dm_body([no_id, no_id]))  # no transactionId: never deduplicated
    kinds = [(e.action, e.kind) for e in sim.received]
    assert kinds == [
        (ACTION, "conversion"),
        (ACTION, "duplicate"),
        (ACTION, "adjustment"),
        (ACTION, "duplicate"),
        (ACTION, "adjustment"),
        ("111", "conversion"),
        (ACTION, "conversion"),
        (ACTION, "conversion"),
    ]
    assert sim.duplicates()[0].payload == original
    assert [e.payload["currency"] for e in sim.adjustments()] == ["USD", "EUR"]
    (entry,) = sim.request_status(retry_id)["requestStatusPerDestination"]  # type: ignore[index]
    assert entry["requestStatus"] == "FAILED"
    assert entry["errorInfo"]["errorCounts"] == [
        {"recordCount": "1", "reason": "PROCESSING_ERROR_REASON_DUPLICATE_TRANSACTION_ID"}
    ]
    stats = (await call(sim, "GET", "/_sim/google/stats")).json()
    assert (stats["conversions"], stats["duplicates"], stats["adjustments"]) == (4, 2, 2)
    assert stats["request_statuses"][retry_id] == ["FAILED"]


# --- auth ----------------------------------------------------------------------------------------


async def test_data_manager_auth_errors(sim: GoogleSimulator, clock: Clock) -> None:
    body = dm_body([event(clock)])

    def reason(response: httpx.Response, status: int, canonical: str) -> str:
        info = details(response, status, canonical)["google.rpc.ErrorInfo"]
        assert info["domain"] == "googleapis.com"
        assert info["metadata"]["service"] == "datamanager.googleapis.com"
        return str(info["reason"])

    missing = await call(sim, "POST", INGEST, json=body)
    assert reason(missing, 401, "UNAUTHENTICATED") == "CREDENTIALS_MISSING"
    unknown = await call(sim, "POST", INGEST, json=body, token="ya29.forged")
    assert reason(unknown, 401, "UNAUTHENTICATED") == "ACCESS_TOKEN_TYPE_UNSUPPORTED"
    basic = await call(sim, "POST", INGEST, json=body, headers={"Authorization": "Basic eA=="})
    assert reason(basic, 401, "UNAUTHENTICATED") == "ACCESS_TOKEN_TYPE_UNSUPPORTED"

    old = await mint(sim)
    sim.expire_tokens()
    expired = await ingest(sim, body, token=old)
    assert reason(expired, 401, "UNAUTHENTICATED") == "ACCESS_TOKEN_EXPIRED"
    fresh = await mint(sim)
    ignored = {"developer-token": "sunset-2026-09-09", "login-customer-id": "1"}
    accepted = await call(sim, "POST", INGEST, token=fresh, json=body, headers=ignored)
    assert accepted.status_code == 200
    assert reason(await ingest(sim, body, token=old), 401, "UNAUTHENTICATED") == (
        "ACCESS_TOKEN_EXPIRED"
    )
    clock.now += 3599  # the token's own lifetime
    assert reason(await ingest(sim, body, token=fresh), 401, "UNAUTHENTICATED") == (
        "ACCESS_TOKEN_EXPIRED"
    )

    sim.add_refresh_token("1//ads-only", scopes=[ADWORDS_SCOPE])
    narrow = await mint(sim, "1//ads-only")
    scope = await ingest(sim, body, token=narrow)
    assert reason(scope, 403, "PERMISSION_DENIED") == "ACCESS_TOKEN_SCOPE_INSUFFICIENT"
    status = await call(sim, "GET", STATUS, token=narrow, params={"requestId": "x"})
    assert reason(status, 403, "PERMISSION_DENIED") == "ACCESS_TOKEN_SCOPE_INSUFFICIENT"
    assert len(sim.received) == 1


async def test_ads_api_auth_errors_carry_a_google_ads_failure(sim: GoogleSimulator) -> None:
    body = ads_body([conversion()])
    missing = await call(sim, "POST", UPLOAD, json=body)
    assert ads_failure(missing, 401, "UNAUTHENTICATED") == [
        ("authenticationError", "OAUTH_TOKEN_HEADER_INVALID")
    ]
    old = await mint(sim)
    sim.expire_tokens()
    expired = await upload(sim, body, token=old)
    assert ads_failure(expired, 401, "UNAUTHENTICATED") == [
        ("authenticationError", "OAUTH_TOKEN_EXPIRED")
    ]
    assert details(expired, 401, "UNAUTHENTICATED")["google.rpc.ErrorInfo"]["reason"] == (
        "ACCESS_TOKEN_EXPIRED"
    )
    sim.add_refresh_token("1//dm-only", scopes=[DATAMANAGER_SCOPE])
    scope = await upload(sim, body, token=await mint(sim, "1//dm-only"))
    assert ads_failure(scope, 403, "PERMISSION_DENIED") == [
        ("authorizationError", "USER_PERMISSION_DENIED")
    ]
    assert not sim.uploads


# --- faults --------------------------------------------------------------------------------------


async def test_throttle_shapes_per_surface(sim: GoogleSimulator, clock: Clock) -> None:
    token = await mint(sim)
    sim.throttle(2)
    dm = await ingest(sim, dm_body([event(clock)]), token=token)
    found = details(dm, 429, "RESOURCE_EXHAUSTED")
    info = found["google.rpc.ErrorInfo"]
    assert (info["reason"], info["domain"]) == ("RATE_LIMIT_EXCEEDED", "googleapis.com")
    assert {"consumer", "quota_metric", "quota_limit"} <= info["metadata"].keys()
    assert found["google.rpc.RetryInfo"]["retryDelay"] == "30s"
    ads = await upload(sim, ads_body([conversion()]), token=token)
    assert ads_failure(ads, 429, "RESOURCE_EXHAUSTED") == [
        ("quotaError", "RESOURCE_TEMPORARILY_EXHAUSTED")
    ]
    (error,) = ads.json()["error"]["details"][0]["errors"]
    assert error["details"]["quotaErrorDetails"]["retryDelay"] == "30s"
    assert (await ingest(sim, dm_body([event(clock)]), token=token)).status_code == 200
    sim.throttle(1, retry_delay=1.5)
    retry = details(
        await ingest(sim, dm_body([event(clock)]), token=token), 429, "RESOURCE_EXHAUSTED"
    )
    assert retry["google.rpc.RetryInfo"]["retryDelay"] == "1.500s"
    sim.throttle(1, retry_delay=None)
    assert "google.rpc.RetryInfo" not in details(
        await ingest(sim, dm_body([event(clock)]), token=token), 429, "RESOURCE_EXHAUSTED"
    )
    assert len(sim.received) == 1


@pytest.mark.parametrize(
    ("status", "canonical", "ads_code"),
    [(500, "INTERNAL", "INTERNAL_ERROR"), (503, "UNAVAILABLE", "TRANSIENT_ERROR")],
)
async def test_server_errors(
    sim: GoogleSimulator, clock: Clock, status: int, canonical: str, ads_code: str
) -> None:
    token = await mint(sim)
    sim.server_error(2, status=status)
    found = details(await ingest(sim, dm_body([event(clock)]), token=token), status, canonical)
    assert "google.rpc.RequestInfo" in found
    ads = await upload(sim, ads_body([conversion()]), token=token)
    assert ads_failure(ads, status, canonical) == [("internalError", ads_code)]
    assert (await upload(sim, ads_body([conversion()]), token=token)).status_code == 200
    with pytest.raises(ValueError):
        sim.server_error(status=502)


async def test_a_storm_ends_after_its_seconds(sim: GoogleSimulator, clock: Clock) -> None:
    token = await mint(sim)
    sim.server_error(seconds=0.3, status=503)
    for _ in range(2):
        assert (await ingest(sim, dm_body([event(clock)]), token=token)).status_code == 503
    assert (await call(sim, "POST", "/token", data=token_form("dev-main"))).status_code == 200
    await asyncio.sleep(0.35)
    assert (await ingest(sim, dm_body([event(clock)]), token=token)).status_code == 200


async def test_quota_per_minute_paces_requests(sim: GoogleSimulator, clock: Clock) -> None:
    token = await mint(sim)
    sim.quota(2)
    for _ in range(2):
        assert (await ingest(sim, dm_body([event(clock)]), token=token)).status_code == 200
    clock.now += 20
    over = details(
        await ingest(sim, dm_body([event(clock)]), token=token), 429, "RESOURCE_EXHAUSTED"
    )
    assert over["google.rpc.RetryInfo"]["retryDelay"] == "40s"
    assert over["google.rpc.ErrorInfo"]["metadata"]["quota_limit_value"] == "2"
    ads = await upload(sim, ads_body([conversion()]), token=token)
    assert ads_failure(ads, 429, "RESOURCE_EXHAUSTED") == [
        ("quotaError", "RESOURCE_TEMPORARILY_EXHAUSTED")
    ]
    clock.now += 40
    assert (await ingest(sim, dm_body([event(clock)]), token=token)).status_code == 200
    sim.quota(None)
    for _ in range(3):
        assert (await ingest(sim, dm_body([event(clock)]), token=token)).status_code == 200


async def test_slow(sim: GoogleSimulator, clock: Clock) -> None:
    token = await mint(sim)
    sim.slow(0.3, count=1)
    started = time.monotonic()
    assert (await ingest(sim, dm_body([event(clock)]), token=token)).status_code == 200
    assert time.monotonic() - started >= 0.3
    started = time.monotonic()
    await ingest(sim, dm_body([event(clock)]), token=token)
    assert time.monotonic() - started < 0.3


# --- Google Ads API ------------------------------------------------------------------------------


async def test_upload_success_echoes_rows_and_the_job_id(sim: GoogleSimulator) -> None:
    second = conversion(gclid=None, gbraid="GB-1", orderId="ORD-2", userIdentifiers=None)
    rows = [conversion(), {k: v for k, v in second.items() if v is not None}]
    response = await upload(sim, ads_body(rows))
    assert response.status_code == 200, response.text
    answer = response.json()
    assert answer == {
        "results": [
            {
                "gclid": "Cj0KCQiA-1",
                "conversionAction": rows[0]["conversionAction"],
                "conversionDateTime": "2026-09-01 12:32:45-08:00",
                "userIdentifiers": rows[0]["userIdentifiers"],
            },
            {
                "gbraid": "GB-1",
                "conversionAction": rows[0]["conversionAction"],
                "conversionDateTime": "2026-09-01 12:32:45-08:00",
            },
        ],
        "jobId": "42",
    }
    assert [(u.customer_id, u.job_id, u.index, u.payload) for u in sim.uploads] == [
        (ACCOUNT, 42, 0, rows[0]),
        (ACCOUNT, 42, 1, rows[1]),
    ]
    assigned = (
        await upload(sim, ads_body([conversion(orderId="ORD-3", gclid="g3")], jobId=None))
    ).json()
    assert isinstance(assigned["jobId"], str) and int(assigned["jobId"]) >= 2**31


async def test_per_row_failures_name_their_indexes(sim: GoogleSimulator) -> None:
    sim.script_gclid("g-recent", "TOO_RECENT_EVENT")
    sim.fail_rows([3, 7])
    rows = [
        conversion(orderId="A"),
        conversion(orderId="B", conversionDateTime="2026-09-01T12:32:45Z"),
        conversion(orderId="C", gclid=None, gbraid="GB", wbraid="WB"),
        conversion(orderId="D", gclid="g3"),
        conversion(orderId="E", userIdentifiers=[{"hashedEmail": ADS_EMAIL.upper()}]),
        conversion(orderId="F", conversionAction=f"customers/{ACCOUNT}/conversionActions/555"),
        conversion(orderId="A", gclid="g6"),
        conversion(orderId="G", gclid="g7"),
        conversion(orderId="H", gclid="g-recent"),
        conversion(orderId="I", gclid="g9", userIdentifiers=[{"hashedEmail": ADS_EMAIL}] * 6),
        conversion(orderId="J"),  # same click and time as row 0
        conversion(orderId="K", gclid="g11", userIdentifiers=[{"mobileId": "idfa"}]),
    ]
    rows = [{k: v for k, v in row.items() if v is not None} for row in rows]
    response = await upload(sim, ads_body(rows))
    assert row_errors(response) == [
        (1, "dateError", "INVALID_STRING_DATE_TIME_SECONDS_WITH_OFFSET"),
        (2, "conversionUploadError", "GBRAID_WBRAID_BOTH_SET"),
        (3, "conversionUploadError", "CLICK_NOT_FOUND"),
        (4, "conversionUploadError", "INVALID_USER_IDENTIFIER"),
        (5, "conversionUploadError", "NO_CONVERSION_ACTION_FOUND"),
        (6, "conversionUploadError", "DUPLICATE_ORDER_ID"),
        (7, "conversionUploadError", "CLICK_NOT_FOUND"),
        (8, "conversionUploadError", "TOO_RECENT_EVENT"),
        (9, "collectionSizeError", "TOO_MANY"),
        (10, "conversionUploadError", "DUPLICATE_CLICK_CONVERSION_IN_REQUEST"),
        (11, "conversionUploadError", "UNSUPPORTED_USER_IDENTIFIER"),
    ]
    results = response.json()["results"]
    assert len(results) == len(rows)
    assert [i for i, r in enumerate(results) if r] == [0]
    assert response.json()["jobId"] == "42"
    assert "conversions[3]" in response.json()["partialFailureError"]["message"]
    assert [u.index for u in sim.uploads] == [0]
    # fail_rows held for one request only
    assert (
        "partialFailureError"
        not in (await upload(sim, ads_body([conversion(orderId="Z", gclid="z")]))).json()
    )


async def test_persisted_duplicates_and_validate_only(sim: GoogleSimulator) -> None:
    probe = await upload(sim, ads_body([conversion()], validateOnly=True))
    assert probe.status_code == 200 and probe.json() == {}  # no results, nothing stored
    assert not sim.uploads and not sim.order_ids
    assert "results" in (await upload(sim, ads_body([conversion()]))).json()
    resend = await upload(sim, ads_body([conversion(), conversion(orderId="NEW")]))
    assert row_errors(resend) == [
        (0, "conversionUploadError", "ORDER_ID_ALREADY_IN_USE"),
        (1, "conversionUploadError", "CLICK_CONVERSION_ALREADY_EXISTS"),
    ]
    later = conversion(orderId="NEW", conversionDateTime="2026-09-02 12:32:45-08:00")
    assert "partialFailureError" not in (await upload(sim, ads_body([later]))).json()
    invalid = await upload(
        sim, ads_body([conversion(orderId="X", gbraid="b", wbraid="w")], validateOnly=True)
    )
    assert row_errors(invalid) == [(0, "conversionUploadError", "GBRAID_WBRAID_BOTH_SET")]
    assert "results" not in invalid.json()
    assert len(sim.uploads) == 2


@pytest.mark.parametrize(
    ("overrides", "expected"),
    [
        ({"partialFailure": False}, [("partialFailureError", "PARTIAL_FAILURE_MODE_REQUIRED")]),
        ({"partialFailure": None}, [("partialFailureError", "PARTIAL_FAILURE_MODE_REQUIRED")]),
        (
            {"conversions": [conversion(orderId=str(i)) for i in range(2001)]},
            [("conversionUploadError", "TOO_MANY_CONVERSIONS_IN_REQUEST")],
        ),
        ({"jobId": -1}, [("conversionUploadError", "INVALID_JOB_ID")]),
        ({"jobId": 2**31}, [("conversionUploadError", "INVALID_JOB_ID")]),
        (
            {"partialFailure": False, "conversions": []},
            [
                ("partialFailureError", "PARTIAL_FAILURE_MODE_REQUIRED"),
                ("requestError", "REQUIRED_FIELD_MISSING"),
            ],
        ),
    ],
)
async def test_request_level_errors_are_rpc_errors(
    sim: GoogleSimulator, overrides: dict[str, Any], expected: list[tuple[str, str]]
) -> None:
    body = {k: v for k, v in ads_body([conversion()], **overrides).items() if v is not None}
    assert ads_failure(await upload(sim, body), 400, "INVALID_ARGUMENT") == expected
    assert not sim.uploads


async def test_customer_id_allowlist_and_versions(sim: GoogleSimulator) -> None:
    token = await mint(sim)
    bad_customer = await upload(
        sim,
        ads_body([conversion()]),
        path="/v25/customers/12-34:uploadClickConversions",
        token=token,
    )
    assert ads_failure(bad_customer, 400, "INVALID_ARGUMENT") == [
        ("requestError", "INVALID_CUSTOMER_ID")
    ]
    sim.allowlist(False)
    refused = await upload(sim, ads_body([conversion()]), token=token)
    assert ads_failure(refused, 403, "PERMISSION_DENIED") == [
        ("notAllowlistedError", "CUSTOMER_NOT_ALLOWLISTED_FOR_THIS_FEATURE")
    ]
    sim.allowlist([ACCOUNT])
    assert (await upload(sim, ads_body([conversion()]), token=token)).status_code == 200
    other = await upload(
        sim, ads_body([conversion()]), path="/v25/customers/555:uploadClickConversions", token=token
    )
    assert other.status_code == 403
    sim.allowlist(True)
    for version, status in (("v22", 404), ("v27", 404), ("beta", 404), ("v23", 200), ("v26", 200)):
        path = f"/{version}/customers/{ACCOUNT}:uploadClickConversions"
        response = await upload(
            sim, ads_body([conversion(orderId=version, gclid=version)]), path=path, token=token
        )
        assert response.status_code == status, version
        if status == 404:
            assert response.headers["Content-Type"].startswith("text/html")
    assert len(sim.uploads) == 3


async def test_ads_front_end_rejects_unknown_fields(sim: GoogleSimulator) -> None:
    response = await upload(sim, ads_body([conversion(transactionId="T")]))
    found = details(response, 400, "INVALID_ARGUMENT")
    (violation,) = found["google.rpc.BadRequest"]["fieldViolations"]
    assert violation["field"] == "conversions[0]" and '"transactionId"' in violation["description"]
    snake = {
        "conversions": [
            {
                "order_id": "S1",
                "gclid": "s",
                "conversion_action": conversion()["conversionAction"],
                "conversion_date_time": "2026-09-01 12:32:45+02:00",
            }
        ],
        "partial_failure": True,
    }
    assert "partialFailureError" not in (await upload(sim, snake)).json()
    assert sim.uploads[-1].payload == snake["conversions"][0]


# --- control -------------------------------------------------------------------------------------


async def knob(sim: GoogleSimulator, kind: str, **arguments: Any) -> httpx.Response:
    async with httpx.AsyncClient(base_url=sim.url) as client:
        return await client.post("/_sim/google/faults", json={"kind": kind, **arguments})


async def test_knobs_over_http(sim: GoogleSimulator, clock: Clock) -> None:
    assert (await knob(sim, "throttle", count=1)).json()["queued"] == 1
    await knob(sim, "server_error", status=503)
    await knob(sim, "fail_rows", indexes=[0], code="EXPIRED_EVENT")
    await knob(sim, "script_gclid", gclid="lost", reason="CLICK_NOT_FOUND")
    await knob(sim, "add_conversion_action", operating_account_id=ACCOUNT, action_id="222")
    await knob(sim, "add_refresh_token", refresh_token="1//x", scopes=[DATAMANAGER_SCOPE])
    assert (await knob(sim, "nope")).status_code == 400
    assert (await knob(sim, "quota", x=1)).status_code == 400
    token = await mint(sim, "1//x")
    assert (await ingest(sim, dm_body([event(clock)]), token=token)).status_code == 429
    assert (await ingest(sim, dm_body([event(clock)]), token=token)).status_code == 503
    lost = dm_body(
        [event(clock, adIdentifiers={"gclid": "lost"})], destinations=[destination("222")]
    )
    assert (await ingest(sim, lost, token=token)).status_code == 200
    assert sim.received[-1].error == "PROCESSING_ERROR_REASON_CLICK_NOT_FOUND"
    rows = [conversion(), conversion(orderId="2", gclid="lost")]
    assert row_errors(await upload(sim, ads_body(rows))) == [
        (0, "conversionUploadError", "EXPIRED_EVENT"),
        (1, "conversionUploadError", "CLICK_NOT_FOUND"),
    ]
    await knob(sim, "token_expired")
    await knob(sim, "allowlist", allowed=False)
    await knob(sim, "quota", per_minute=0)
    assert (await ingest(sim, dm_body([event(clock)]), token=token)).status_code == 401
    assert (await upload(sim, ads_body([conversion()]))).status_code == 429
    sim.quota(None)
    assert (await upload(sim, ads_body([conversion()]))).status_code == 403
    async with httpx.AsyncClient(base_url=sim.url) as client:
        stats = (await client.get("/_sim/google/stats")).json()
    assert stats == {
        "tokens_issued": 4,
        "conversions": 1,
        "duplicates": 0,
        "adjustments": 0,
        "ads_conversions": 0,
        "request_statuses": {sim.received[-1].request_id: ["PROCESSING"]},
    }


async def test_base_fault_endpoint_answers_google_shapes_for_a_bare_status(
    sim: GoogleSimulator, clock: Clock
) -> None:
    token = await mint(sim)
    async with httpx.AsyncClient(base_url=sim.url) as client:
        faults = [{"status": 429}, {"status": 504}, {"status": 418, "body": {"raw": True}}]
        await client.post("/_sim/faults", json={"faults": faults})
    throttled = details(
        await upload(sim, ads_body([conversion()]), token=token), 429, "RESOURCE_EXHAUSTED"
    )
    assert "google.ads.googleads.v25.errors.GoogleAdsFailure" in throttled
    late = details(
        await ingest(sim, dm_body([event(clock)]), token=token), 504, "DEADLINE_EXCEEDED"
    )
    assert late["google.rpc.ErrorInfo"]["reason"] == "DEADLINE_EXCEEDED"
    raw = await ingest(sim, dm_body([event(clock)]), token=token)
    assert (raw.status_code, raw.json()) == (418, {"raw": True})


async def test_reset_forgets_traffic_and_faults_but_keeps_credentials(
    sim: GoogleSimulator, clock: Clock
) -> None:
    token = await mint(sim)
    await ingest(sim, dm_body([event(clock)]), token=token)
    await upload(sim, ads_body([conversion()]), token=token)
    sim.throttle(3)
    sim.quota(0)
    sim.allowlist(False)
    sim.fail_rows([0])
    sim.script_gclid("Cj0KCQiA-1", "CLICK_NOT_FOUND")
    async with httpx.AsyncClient(base_url=sim.url) as client:
        assert (await client.post("/_sim/reset")).status_code == 200
    assert not sim.received and not sim.statuses and not sim.uploads and not sim.platform_requests()
    assert (await ingest(sim, dm_body([event(clock)]), token=token)).status_code == 200
    assert sim.received[-1].kind == "conversion" and sim.received[-1].error is None
    assert (
        "partialFailureError"
        not in (await upload(sim, ads_body([conversion()]), token=token)).json()
    )
    assert ACTION in (sim.actions or {}).get(ACCOUNT, set())
