"""Dispatch machinery shared by the platform dispatchers: ledger, batching, retries, DLQ, API.

A platform adds a `PlatformAdapter` (mapping/validation, an HTTP client that classifies errors,
policy numbers); `install(runtime, adapter, schema=...)` wires everything else.
"""

from hubkit.dispatch.accumulator import BatchAccumulator
from hubkit.dispatch.config import DispatchSettings
from hubkit.dispatch.credentials import CredentialsMissing, CredentialStore
from hubkit.dispatch.dispatcher import Dispatcher
from hubkit.dispatch.intake import DispatchIntake, consumer_spec
from hubkit.dispatch.ledger import Ledger, LedgerUnitOfWork
from hubkit.dispatch.model import (
    BatchStatus,
    ErrorClass,
    Lane,
    PendingEvent,
    Platform,
    PlatformError,
    Prepared,
    SendBatch,
    SendResult,
    Status,
)
from hubkit.dispatch.outcomes import BatchPlan, plan_batch
from hubkit.dispatch.policy import DispatchPolicy
from hubkit.dispatch.ports import PlatformAdapter
from hubkit.dispatch.redaction import scrub
from hubkit.dispatch.service import DispatchComponents, install
from hubkit.dispatch.servicer import DispatchServicer
from hubkit.dispatch.tables import LedgerTables, ledger_tables

__all__ = [
    "BatchAccumulator",
    "BatchPlan",
    "BatchStatus",
    "CredentialStore",
    "CredentialsMissing",
    "DispatchComponents",
    "DispatchIntake",
    "DispatchPolicy",
    "DispatchServicer",
    "DispatchSettings",
    "Dispatcher",
    "ErrorClass",
    "Lane",
    "Ledger",
    "LedgerTables",
    "LedgerUnitOfWork",
    "PendingEvent",
    "Platform",
    "PlatformAdapter",
    "PlatformError",
    "Prepared",
    "SendBatch",
    "SendResult",
    "Status",
    "consumer_spec",
    "install",
    "ledger_tables",
    "plan_batch",
    "scrub",
]
