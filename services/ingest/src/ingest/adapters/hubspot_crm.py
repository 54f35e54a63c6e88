"""HubSpotCrm over HubSpot's CRM API (v3 objects and search, v4 associations): deals with their
contacts, paced by the kit's token bucket. Each call is one attempt; a throttle or failure
raises CrmUnavailable with how long to wait, and the use cases wait it out."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

import httpx
import orjson

from hubkit.dispatch import http
from hubkit.resilience import TokenBucket
from ingest.domain.hubspot import CONTACT_PROPERTIES, DEAL_PROPERTIES, Deal
from ingest.ports import CrmUnavailable, DealPage

PAGE = 100  # search and batch reads both take 100
# How long each of HubSpot's rate-limit policies takes to refill.
_POLICY_WAIT = {"SECONDLY": 1.0, "TEN_SECONDLY_ROLLING": 10.0, "DAILY": 3600.0}


class HttpHubSpotCrm:
    def __init__(
        self, base_url: str, *, requests_per_second: float = 4.0, timeout: float = 30.0
    ) -> None:
        self._client = http.client(user_agent="convhub-ingest", timeout=timeout, base_url=base_url)
        # Search allows 5 requests a second per account; stay under it.
        self._limiter = TokenBucket(requests_per_second, max(1.0, requests_per_second))

    async def close(self) -> None:
        await self._client.aclose()

    async def read_deals(self, token: str, deal_ids: Sequence[str]) -> list[Deal]:
        found = await self._call(
            token,
            "/crm/v3/objects/deals/batch/read",
            {"properties": list(DEAL_PROPERTIES), "inputs": [{"id": i} for i in deal_ids]},
        )
        return await self._with_contacts(token, _results(found))

    async def search_deals(
        self, token: str, *, modified_since: datetime, stages: Sequence[str], after: str
    ) -> DealPage:
        body: dict[str, Any] = {
            "filterGroups": [
                {
                    "filters": [
                        {
                            "propertyName": "hs_lastmodifieddate",
                            "operator": "GTE",
                            "value": str(int(modified_since.timestamp() * 1000)),
                        },
                        {"propertyName": "dealstage", "operator": "IN", "values": list(stages)},
                    ]
                }
            ],
            "sorts": [{"propertyName": "hs_lastmodifieddate", "direction": "ASCENDING"}],
            "properties": list(DEAL_PROPERTIES),
            "limit": PAGE,
        }
        if after:
            body["after"] = after
        found = await self._call(token, "/crm/v3/objects/deals/search", body)
        paging = found.get("paging")
        next_after = ""
        if isinstance(paging, dict) and isinstance(paging.get("next"), dict):
            next_after = str(paging["next"].get("after") or "")
        return DealPage(await self._with_contacts(token, _results(found)), next_after)

    async def _with_contacts(self, token: str, deals: list[dict[str, Any]]) -> list[Deal]:
        if not deals:
            return []
        links = await self._call(
            token,
            "/crm/v4/associations/deals/contacts/batch/read",
            {"inputs": [{"id": str(d["id"])} for d in deals]},
        )
        contact_ids: dict[str, list[str]] = {}
        for row in _results(links):
            source = row.get("from")
            targets = row.get("to")
            if isinstance(source, dict) and isinstance(targets, list):
                contact_ids[str(source.get("id"))] = [
                    str(t["toObjectId"])
                    for t in targets
                    if isinstance(t, dict) and "toObjectId" in t
                ]
        wanted = sorted({c for ids in contact_ids.values() for c in ids})
        contacts: dict[str, dict[str, Any]] = {}
        for start in range(0, len(wanted), PAGE):
            read = await self._call(
                token,
                "/crm/v3/objects/contacts/batch/read",
                {
                    "properties": list(CONTACT_PROPERTIES),
                    "inputs": [{"id": i} for i in wanted[start : start + PAGE]],
                },
            )
            contacts |= {str(c["id"]): _properties(c) for c in _results(read)}
        deals_out = []
        for d in deals:
            ids = tuple(c for c in contact_ids.get(str(d["id"]), []) if c in contacts)
            deals_out.append(
                Deal(str(d["id"]), _properties(d), tuple(contacts[c] for c in ids), ids)
            )
        return deals_out

    async def _call(self, token: str, path: str, body: dict[str, Any]) -> dict[str, Any]:
        await self._limiter.acquire()
        try:
            response = await http.post(
                self._client,
                path,
                destination="hubspot",
                events=len(body.get("inputs", [])),
                content=orjson.dumps(body),
                headers={"authorization": f"Bearer {token}", "content-type": "application/json"},
            )
        except httpx.HTTPError as exc:
            raise CrmUnavailable(f"HubSpot unreachable: {type(exc).__name__}") from None
        answer = http.json_object(response)
        status = response.status_code
        if status < 300 or status == 207:  # 207: a batch read with some ids unknown
            return answer
        message = str(answer.get("message") or f"HTTP {status}")[:300]
        if status == 429:
            wait = _POLICY_WAIT.get(str(answer.get("policyName")), 10.0)
            raise CrmUnavailable(f"HubSpot throttled: {message}", retry_after=wait)
        if status in (401, 403):
            # The token is wrong or lacks a scope: someone must fix it; retry rarely.
            raise CrmUnavailable(f"HubSpot refused the access token: {message}", retry_after=300)
        raise CrmUnavailable(f"HubSpot answered {status}: {message}", retry_after=5)


def _results(answer: dict[str, Any]) -> list[dict[str, Any]]:
    results = answer.get("results")
    if not isinstance(results, list):
        return []
    return [r for r in results if (isinstance(r, dict) and "id" in r) or "from" in r]


def _properties(obj: dict[str, Any]) -> dict[str, Any]:
    props = obj.get("properties")
    return props if isinstance(props, dict) else {}
