"""dispatch-google through the Google Ads API (uploadClickConversions, allowlisted developer
tokens): per-row partial failures, re-sent order ids, the allowlist refusal."""

from __future__ import annotations

from convhub_sim.google import GoogleSimulator
from tests.support import wait_for

from .conftest import CUSTOMER, Factory, requests, rows, settled, upload_bodies


async def test_rows_3_and_7_failing_mark_exactly_those_two(
    dispatch: Factory, sim: GoogleSimulator, engine
) -> None:
    sim.fail_rows([3, 7], code="CLICK_NOT_FOUND")
    await (await dispatch(linger=0.5)).publish(requests("r", 10, ads=True))
    await wait_for(lambda: settled(engine, {"confirmed": 8, "failed": 2}), what="rows settled")
    (body,) = upload_bodies(sim)
    assert body["partialFailure"] is True and len(body["conversions"]) == 10
    sent_order = [c["orderId"] for c in body["conversions"]]
    failed = await rows(
        engine,
        "SELECT event_id, platform_code, attempts FROM {s}.deliveries WHERE status = 'failed'",
    )
    assert sorted(r.event_id for r in failed) == sorted([sent_order[3], sent_order[7]])
    assert {(r.platform_code, r.attempts) for r in failed} == {("CLICK_NOT_FOUND", 1)}
    request = next(r for r in sim.requests if r.path.endswith(":uploadClickConversions"))
    assert request.path == f"/v26/customers/{CUSTOMER}:uploadClickConversions"
    assert request.headers.get("developer-token") == "dev-developer-token"


async def test_a_re_sent_order_id_counts_as_delivered(
    dispatch: Factory, sim: GoogleSimulator, engine
) -> None:
    harness = await dispatch(linger=0.3)
    await harness.publish(requests("o", 3, ads=True))
    await wait_for(lambda: settled(engine, {"confirmed": 3}), what="first upload")
    # Another conversion for an order Google already has (a backend sent it twice).
    again = requests("twice", 1, ads=True, order_id="order-o1")
    await harness.publish(again)
    await wait_for(lambda: settled(engine, {"confirmed": 4}), what="duplicate delivered")
    audit = await rows(
        engine,
        "SELECT a.platform_code, a.error_message FROM {s}.attempts a"
        " WHERE a.delivery_id = 'twice0:google:" + CUSTOMER + "'",
    )
    assert [r.platform_code for r in audit] == ["ORDER_ID_ALREADY_IN_USE"]
    assert len(sim.uploads) == 3  # Google kept the first one only


async def test_a_customer_not_allowlisted_is_told_to_switch_to_data_manager(
    dispatch: Factory, sim: GoogleSimulator, engine
) -> None:
    sim.allowlist(False)
    await (await dispatch(linger=0.3)).publish(requests("n", 4, ads=True))
    await wait_for(lambda: settled(engine, {"failed": 4}), what="refused for good")
    failed = await rows(
        engine, "SELECT DISTINCT platform_code, last_error, error_class FROM {s}.deliveries"
    )
    ((code, message, error_class),) = failed
    assert code == "CUSTOMER_NOT_ALLOWLISTED_FOR_THIS_FEATURE"
    assert "Data Manager" in message and error_class == 6  # CONFIG: a person must act
