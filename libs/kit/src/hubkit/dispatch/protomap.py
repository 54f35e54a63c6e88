"""Core enums to their convhub proto enum types (same numbers; typed for the generated stubs)."""

from __future__ import annotations

from typing import cast

from convhub.common.v1 import common_pb2
from convhub.dispatch.v1 import dispatch_pb2
from hubkit.dispatch.model import BatchStatus, ErrorClass, Platform, Status


def platform_pb(platform: Platform) -> common_pb2.Platform:
    return cast(common_pb2.Platform, platform.proto)


def status_pb(status: Status | str) -> common_pb2.DeliveryStatus:
    return cast(common_pb2.DeliveryStatus, Status(status).proto)


def error_class_pb(value: ErrorClass | int | None) -> common_pb2.ErrorClass:
    return cast(common_pb2.ErrorClass, int(value or 0))


def batch_status_pb(status: BatchStatus | str) -> dispatch_pb2.BatchStatus:
    return cast(dispatch_pb2.BatchStatus, BatchStatus(status).proto)


def breaker_pb(value: int) -> dispatch_pb2.BreakerState:
    return cast(dispatch_pb2.BreakerState, value)
