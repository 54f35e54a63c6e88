"""Contract tests: the generated convhub-genproto package matches protos/ and
docs/architecture.md §2."""

from __future__ import annotations

import importlib
import pkgutil
from datetime import UTC, datetime
from pathlib import Path

import pytest
from google.protobuf import descriptor_pool
from google.protobuf.descriptor import Descriptor, FieldDescriptor

import convhub
from convhub.common.v1 import common_pb2
from convhub.events.v1 import events_pb2
from convhub.ingest.v1 import ingest_pb2

REPO = Path(__file__).resolve().parents[2]
PROTOS = REPO / "protos"

# Every service and RPC docs/architecture.md §2 names: the public contract.
DESIGN_RPCS: dict[str, list[str]] = {
    "convhub.ingest.v1.IngestService": ["Ingest", "IngestBatch", "GetConversion", "EraseUser"],
    "convhub.router.v1.RouterService": ["UpsertSite", "GetSite", "ListSites", "DeleteSite"],
    "convhub.dispatch.v1.DispatchService": [
        "GetDelivery",
        "ListDeadLetters",
        "ReplayDeadLetters",
        "GetBatch",
        "GetStats",
    ],
    "convhub.attribution.v1.AttributionService": [
        "RecordTouchpoints",
        "GetConversionAttribution",
        "QueryCredit",
        "CompareModels",
        "RecordSpend",
        "GetRoas",
        "AnalyzePaths",
        "Recalculate",
    ],
}

# NATS payloads of convhub.events.v1: every item type has a <Item>Batch (one site, many items).
EVENT_ITEMS = [
    "InboundConversion",
    "ConversionAccepted",
    "ConversionRouted",
    "DispatchRequested",
    "DeliveryUpdated",
    "DeadLettered",
    "TouchpointRecorded",
    "UserErased",
    "SiteConfigChanged",
]


def _proto_modules() -> list[str]:
    """Module names expected from protos/: convhub/x/v1/f.proto -> convhub.x.v1.f_pb2(+_grpc)."""
    names = []
    for proto in sorted((PROTOS / "convhub").rglob("*.proto")):
        base = ".".join(proto.relative_to(PROTOS).with_suffix("").parts)
        names += [f"{base}_pb2", f"{base}_pb2_grpc"]
    return names


def _generated_modules() -> list[str]:
    return sorted(
        m.name
        for m in pkgutil.walk_packages(convhub.__path__, prefix="convhub.")
        if m.name.endswith(("_pb2", "_pb2_grpc"))
    )


def _all_messages() -> list[Descriptor]:
    found: list[Descriptor] = []

    def walk(d: Descriptor) -> None:
        found.append(d)
        for nested in d.nested_types:
            walk(nested)

    for name in _generated_modules():
        module = importlib.import_module(name)
        file_desc = getattr(module, "DESCRIPTOR", None)
        if file_desc is None:  # *_pb2_grpc modules
            continue
        for d in file_desc.message_types_by_name.values():
            walk(d)
    return found


def test_every_proto_has_generated_modules_with_stubs() -> None:
    expected = _proto_modules()
    assert expected, "no .proto files found under protos/convhub"
    assert _generated_modules() == sorted(expected)
    for name in expected:
        module = importlib.import_module(name)
        assert module.__file__ is not None
        if name.endswith("_pb2"):
            assert Path(module.__file__).with_suffix(".pyi").is_file(), f"{name}: no .pyi stub"
    assert convhub.__file__ is not None
    assert (Path(convhub.__file__).parent / "py.typed").is_file()


def test_nothing_generated_under_google_namespace() -> None:
    assert convhub.__file__ is not None
    src = Path(convhub.__file__).resolve().parents[1]
    assert not (src / "google").exists()


@pytest.mark.parametrize("service", sorted(DESIGN_RPCS))
def test_design_services_and_rpcs_exist(service: str) -> None:
    pool = descriptor_pool.Default()
    for name in _generated_modules():
        importlib.import_module(name)
    svc = pool.FindServiceByName(service)
    for rpc in DESIGN_RPCS[service]:
        method = pool.FindMethodByName(f"{service}.{rpc}")
        assert method.containing_service is svc
        # Request/response naming convention: <Rpc>Request / <Rpc>Response in the same package.
        package = service.rsplit(".", 1)[0]
        assert method.input_type.full_name == f"{package}.{rpc}Request"
        assert method.output_type.full_name == f"{package}.{rpc}Response"
        assert not method.client_streaming and not method.server_streaming


def test_grpc_stubs_and_servicers_exist() -> None:
    for service in DESIGN_RPCS:
        package, short = service.rsplit(".", 1)
        area = package.split(".")[1]
        grpc_module = importlib.import_module(f"{package}.{area}_pb2_grpc")
        assert hasattr(grpc_module, f"{short}Stub")
        servicer = getattr(grpc_module, f"{short}Servicer")
        for rpc in DESIGN_RPCS[service]:
            assert callable(getattr(servicer, rpc))
        assert callable(getattr(grpc_module, f"add_{short}Servicer_to_server"))


@pytest.mark.parametrize("item", EVENT_ITEMS)
def test_every_event_batch_is_one_site_many_traced_items(item: str) -> None:
    batch = events_pb2.DESCRIPTOR.message_types_by_name[f"{item}Batch"]
    site = batch.fields_by_name["site_id"]
    items = batch.fields_by_name["items"]
    assert site.type == FieldDescriptor.TYPE_STRING
    assert items.is_repeated
    item_type = items.message_type
    assert item_type is not None
    assert item_type.full_name == f"convhub.events.v1.{item}"
    trace_type = item_type.fields_by_name["trace"].message_type
    assert trace_type is not None
    assert trace_type.full_name == "convhub.common.v1.TraceContext"


def test_no_binary_floats_for_money() -> None:
    money_words = ("value", "price", "amount", "revenue", "spend", "currency", "roas", "credit")
    floats = (FieldDescriptor.TYPE_DOUBLE, FieldDescriptor.TYPE_FLOAT)
    offenders = [
        f"{d.full_name}.{f.name}"
        for d in _all_messages()
        for f in d.fields
        if f.type in floats and any(w in f.name for w in money_words)
    ]
    assert offenders == []


def test_times_are_timestamps() -> None:
    offenders = [
        f"{d.full_name}.{f.name}"
        for d in _all_messages()
        for f in d.fields
        if (f.name.endswith("_at") or f.name.endswith("_time"))
        and (f.message_type is None or f.message_type.full_name != "google.protobuf.Timestamp")
    ]
    assert offenders == []


def test_conversion_accepted_batch_round_trips() -> None:
    hashed = "a" * 64
    event_time = datetime(2026, 11, 1, 12, 30, tzinfo=UTC)
    batch = events_pb2.ConversionAcceptedBatch(site_id="shop-de")
    for i in range(3):
        item = batch.items.add()
        item.trace.traceparent = f"00-{i:032x}-{i + 1:016x}-01"
        conv = item.conversion
        conv.conversion_id = f"conv-{i}"
        conv.site_id = "shop-de"
        conv.order_id = f"order-{i}"
        conv.event_type = "purchase"
        conv.event_id = f"evt-{i}"
        conv.event_time.FromDatetime(event_time)
        conv.value = "129.99"
        conv.currency = "EUR"
        conv.click_ids.gclid = "Cj0KCQ"
        conv.user_data.meta.email = hashed
        conv.user_data.google.phone = hashed
        conv.consent.ad_user_data = common_pb2.CONSENT_STATUS_GRANTED
        conv.consent_decision = common_pb2.CONSENT_DECISION_USER_DATA_KEPT
        conv.items.add(id="SKU-1", quantity=2, price="64.995")
        conv.source = common_pb2.CONVERSION_SOURCE_SHOPIFY
        conv.mode_hint = common_pb2.ATTRIBUTION_MODE_DIRECT

    data = batch.SerializeToString()
    back = events_pb2.ConversionAcceptedBatch.FromString(data)

    assert back == batch
    assert len(back.items) == 3
    first = back.items[0].conversion
    assert first.value == "129.99"  # exact decimal, as sent
    assert first.items[0].price == "64.995"
    assert first.event_time.ToDatetime(tzinfo=UTC) == event_time
    assert first.HasField("mode_hint")
    assert back.items[2].trace.traceparent.startswith("00-")


def test_optional_fields_track_presence() -> None:
    conv = ingest_pb2.Conversion(site_id="s", order_id="o", event_type="lead")
    assert not conv.HasField("event_id")
    assert not conv.HasField("mode_hint")
    conv.mode_hint = common_pb2.ATTRIBUTION_MODE_UNSPECIFIED
    assert conv.HasField("mode_hint")


def test_inbound_batch_wraps_ingest_conversions() -> None:
    batch = events_pb2.InboundConversionBatch(
        site_id="shop-de",
        items=[
            events_pb2.InboundConversion(
                item_id="1",
                conversion=ingest_pb2.Conversion(
                    site_id="shop-de", order_id="o-1", event_type="purchase"
                ),
            )
        ],
    )
    again = events_pb2.InboundConversionBatch.FromString(batch.SerializeToString())
    assert again.items[0].conversion.order_id == "o-1"
