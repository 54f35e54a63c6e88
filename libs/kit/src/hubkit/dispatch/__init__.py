"""Dispatch machinery shared by the platform dispatchers: ledger, batching, retries, DLQ, API.

Every destination (Google, Meta, TikTok, sGTM) is delivered by this one engine. A destination
adds a `PlatformAdapter` (mapping and validation, an HTTP client that classifies answers, policy
numbers; see `ports`); `install(runtime, adapter, schema=...)` wires everything else.
"""

from hubkit.dispatch.accumulator import BatchAccumulator
from hubkit.dispatch.config import DispatchKnobs, DispatchSettings
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
    Request,
    SendBatch,
    SendResult,
    Status,
)
from hubkit.dispatch.outcomes import BatchPlan, plan_batch
from hubkit.dispatch.policy import DispatchPolicy
from hubkit.dispatch.ports import BatchLimits, PlatformAdapter
from hubkit.dispatch.redaction import scrub
from hubkit.dispatch.service import DispatchComponents, components, install, serve_dispatcher
from hubkit.dispatch.servicer import DispatchServicer
from hubkit.dispatch.tables import LedgerTables, ledger_tables
from hubkit.dispatch.tokens import AccessToken, TokenProvider, TokenUnavailable

__all__ = [
    "AccessToken",
    "BatchAccumulator",
    "BatchLimits",
    "BatchPlan",
    "BatchStatus",
    "CredentialStore",
    "CredentialsMissing",
    "DispatchComponents",
    "DispatchIntake",
    "DispatchKnobs",
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
    "Request",
    "SendBatch",
    "SendResult",
    "Status",
    "TokenProvider",
    "TokenUnavailable",
    "components",
    "consumer_spec",
    "install",
    "ledger_tables",
    "plan_batch",
    "scrub",
    "serve_dispatcher",
]
