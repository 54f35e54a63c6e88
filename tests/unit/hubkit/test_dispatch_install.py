"""install(): the durable consumer names do not follow OTEL_SERVICE_NAME."""

from __future__ import annotations

from types import SimpleNamespace
from unittest.mock import MagicMock

from hubkit.dispatch import DispatchPolicy, install
from hubkit.dispatch.testing import FakePlatform


def test_durable_names_are_constant_whatever_the_tracing_service_is_called() -> None:
    workers: list[object] = []
    rt = SimpleNamespace(
        settings=SimpleNamespace(service_name="dispatch-meta-canary"),  # OTEL_SERVICE_NAME
        js=MagicMock(),
        engine=MagicMock(),
        server=MagicMock(),
        publisher=MagicMock,
        add_worker=workers.append,
        on_close=lambda closer: None,
    )
    parts = install(rt, FakePlatform(DispatchPolicy()), schema="dispatch_meta")  # type: ignore[arg-type]
    assert parts.consumer.spec.durable == "dispatch-meta"
    assert parts.erasures.spec.durable == "dispatch-meta-erasures"
    assert parts.erasures.spec.filter_subjects == ("convhub.erasures.>",)
    assert parts.erasures in workers and parts.consumer in workers
