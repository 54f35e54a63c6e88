"""`convhub send`, `status`, `sites` and `token` from a subfolder of a running stack (`checkout`:
ingest and the router, real and in-process on the suite's PostgreSQL and NATS)."""

from __future__ import annotations

import json
import uuid
from pathlib import Path

from .conftest import convhub, one_line


async def test_send_to_an_unknown_site_says_parked_and_why(checkout: Path) -> None:
    code, out, err = await convhub(
        "send", "--site", "nowhere", "--order-id", "o-1", "--value", "9.99", "--currency", "EUR",
        cwd=checkout,
    )  # fmt: skip
    accepted, parked = (line.split("\t") for line in out.strip().splitlines())
    assert accepted[:2] == ["nowhere/o-1", "ACCEPTED"]
    conversion_id = accepted[2]
    assert parked[:3] == ["nowhere/o-1", "PARKED", conversion_id]
    assert parked[3].startswith("NO_SITE_CONFIG: the site has no configuration")
    assert code == 1 and "1 parked by the router (site nowhere;" in one_line(err)

    code, out, err = await convhub("status", conversion_id, cwd=checkout)
    assert code == 0, err
    assert "routing     PARKED NO_SITE_CONFIG" in out
    code, out, _ = await convhub("status", conversion_id, "--json", cwd=checkout)
    shown = json.loads(out)  # proto field names, as everywhere
    assert shown["conversion"]["order_id"] == "o-1" and shown["routing"]["parked"] is True

    code, out, err = await convhub(
        "send", "--site", "nowhere", "--order-id", "o-2", "--json", cwd=checkout
    )
    (result,) = json.loads(out)["results"]
    assert result["status"] == "INGEST_STATUS_ACCEPTED"
    assert result["routing"]["parked_reason"] == "PARK_REASON_NO_SITE_CONFIG" and code == 1


async def test_token_output_is_accepted_by_token_flag_and_variable(checkout: Path) -> None:
    code, out, _ = await convhub(
        "send", "--site", "s", "--order-id", "o", "--wait", "0", cwd=checkout
    )
    assert code == 0  # not waited for: the router's decision is not known
    conversion_id = out.split("\t")[2].strip()
    code, token, err = await convhub("token", "--scope", "read", cwd=checkout)
    assert code == 0, err
    # A stack whose secret is wrong: only the given token can get through.
    stack = json.loads((checkout.parent / ".run" / "stack.json").read_text())
    wrong = checkout / "wrong.json"
    wrong.write_text(json.dumps({**stack, "jwt_secret": "w" * 48}))
    env = {"CONVHUB_STACK": str(wrong)}
    code, _, err = await convhub("status", conversion_id, cwd=checkout, env=env)
    assert (
        code == 1 and one_line(err) == "convhub: ingest: UNAUTHENTICATED: Invalid token signature"
    )
    code, out, err = await convhub(
        "status", conversion_id, "--token", token.strip(), cwd=checkout, env=env
    )
    assert code == 0 and out.startswith(f"conversion  {conversion_id}"), err
    env["CONVHUB_TOKEN"] = token.strip()
    code, out, err = await convhub("status", conversion_id, cwd=checkout, env=env)
    assert code == 0, err
    code, _, err = await convhub("status", conversion_id, "--token", "not-a-jwt", cwd=checkout)
    assert code == 1 and one_line(err) == "convhub: ingest: UNAUTHENTICATED: Malformed token"


async def test_refusals_are_one_line_and_field_errors_are_listed(checkout: Path) -> None:
    code, _, err = await convhub("status", str(uuid.uuid4()), cwd=checkout)
    assert code == 1 and one_line(err).startswith("convhub: ingest: NOT_FOUND:")
    code, _, err = await convhub("status", "c-1", cwd=checkout)
    assert code == 1 and err.splitlines() == [
        "convhub: ingest: INVALID_ARGUMENT: conversion_id must be a UUID",
        "  conversion_id: INVALID_FORMAT: conversion_id must be a UUID",
    ]
    code, _, err = await convhub(
        "sites", "upsert", "--site-id", "shop", "--mode", "sgtm", cwd=checkout
    )
    assert code == 1 and "Traceback" not in err
    first, *fields = err.strip().splitlines()
    assert first.startswith("convhub: router: INVALID_ARGUMENT:")
    assert any(line.startswith("  site.sgtm.url: REQUIRED") for line in fields)
    code, out, err = await convhub("sites", "list", "--json", cwd=checkout)
    assert code == 0 and json.loads(out) == {"sites": []}, err
