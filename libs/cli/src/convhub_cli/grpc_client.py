"""Reaching a service: its address, credentials for the call, and its failures as one line."""

from __future__ import annotations

import json
import os
from collections.abc import AsyncIterator, Iterable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass

import grpc

from convhub_cli import stackfile
from convhub_cli.main import CliError, Failed
from hubkit.auth import Scope, issue_token
from hubkit.errors import ConfigError
from hubkit.grpcx import FIELD_ERRORS_KEY, Metadata, auth_metadata

TOKEN_ENV = "CONVHUB_TOKEN"
# How gRPC words "no connection at all" (as opposed to a service that answers UNAVAILABLE).
_NO_CONNECTION = (
    "failed to connect",
    "dns resolution failed",
    "connection refused",
    "connection reset",
    "socket closed",
    "connections to all backends failing",
)


@dataclass(frozen=True)
class Endpoint:
    service: str
    address: str
    source: str  # where the address came from: a flag, a variable or a stack.json
    from_stack: bool = False


class RpcFailed(Failed):
    """A call that failed: refused by the service, or the service not reachable at all."""

    def __init__(
        self, message: str, more: Sequence[str], code: grpc.StatusCode, unreachable: bool
    ) -> None:
        super().__init__(message, more)
        self.code = code
        self.unreachable = unreachable


def endpoint(service: str, explicit: str | None = None) -> Endpoint:
    found = stackfile.find_service(service, explicit)
    if found is None:
        stack = stackfile.find()
        why = (
            f"the stack of {stack} runs no {service}"
            if stack is not None and stack.is_file()
            else stackfile.where_looked()
        )
        raise CliError(
            f"no address for {service}: pass --target, set {stackfile.address_variable(service)}"
            f" or start `make run` ({why})"
        )
    from_stack = found.source not in ("--target", stackfile.address_variable(service))
    return Endpoint(service, found.value, found.source, from_stack)


def metadata(token: str | None, scopes: Iterable[Scope] = tuple(Scope)) -> Metadata:
    """--token, else $CONVHUB_TOKEN, else a short-lived token minted from the JWT secret."""
    token = token or os.environ.get(TOKEN_ENV)
    if token:
        return auth_metadata(token)
    secret = stackfile.find_jwt_secret()
    if secret is None:
        raise CliError(
            "no credentials: pass --token, set CONVHUB_TOKEN or CONVHUB_JWT_SECRET,"
            " or start `make run`"
        )
    return auth_metadata(mint(secret, scopes=scopes, ttl_seconds=300))


def mint(
    secret: stackfile.Found,
    *,
    scopes: Iterable[Scope | str],
    ttl_seconds: int,
    subject: str = "convhub-cli",
    sites: Iterable[str] = ("*",),
) -> str:
    try:
        return issue_token(
            secret.value, subject=subject, sites=sites, scopes=scopes, ttl_seconds=ttl_seconds
        )
    except ConfigError as exc:  # a secret too short for HS256
        raise CliError(f"{secret.source}: {exc}") from None


@asynccontextmanager
async def connect(ep: Endpoint) -> AsyncIterator[grpc.aio.Channel]:
    """A channel to `ep`; a call failing inside the block raises RpcFailed naming the service."""
    async with grpc.aio.insecure_channel(ep.address) as channel:
        try:
            yield channel
        except grpc.aio.AioRpcError as exc:
            raise rpc_failure(exc, ep) from exc


def rpc_failure(exc: grpc.aio.AioRpcError, ep: Endpoint | None = None) -> RpcFailed:
    details = exc.details() or ""
    unreachable = exc.code() == grpc.StatusCode.UNAVAILABLE and any(
        words in details.lower() for words in _NO_CONNECTION
    )
    if unreachable and ep is not None:
        origin = f"address from {ep.source}"
        if ep.from_stack:
            origin += "; is `make run` still running?"
        # gRPC's details end with the cause ("...: Connection refused"): that part says it.
        message = f"cannot reach {ep.service} at {ep.address} ({origin}): {_cause(details)}"
        return RpcFailed(message, [], exc.code(), unreachable)
    who = f"{ep.service}: " if ep is not None else ""
    more = [f"{e['field']}: {e['code']}: {e['message']}" for e in field_errors(exc)]
    return RpcFailed(f"{who}{exc.code().name}: {details}", more, exc.code(), unreachable)


def _cause(details: str) -> str:
    return details.rsplit(": ", 1)[-1].strip() or details


def field_errors(exc: grpc.aio.AioRpcError) -> list[dict[str, str]]:
    for key, value in exc.trailing_metadata() or ():
        if key == FIELD_ERRORS_KEY:
            return list(json.loads(value))
    return []
