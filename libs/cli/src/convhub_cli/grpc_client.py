"""Channels and credentials for the CLI's gRPC calls against a stack."""

from __future__ import annotations

import grpc

from convhub_cli import stackfile
from hubkit.auth import Scope, issue_token
from hubkit.grpcx import auth_metadata


def target(service: str, explicit: str | None = None) -> str:
    from convhub_cli.main import CliError

    address = stackfile.service_address(service, explicit)
    if not address:
        raise CliError(
            f"no address for {service}: pass --target, set "
            f"CONVHUB_{service.upper().replace('-', '_')}_ADDR or start `make run`"
        )
    return address


def metadata(scopes: list[Scope] | None = None) -> tuple[tuple[str, str], ...]:
    """A short-lived token for this call, from the stack's (or the environment's) secret."""
    from convhub_cli.main import CliError

    secret = stackfile.jwt_secret()
    if not secret:
        raise CliError("no JWT secret: set CONVHUB_JWT_SECRET or start `make run`")
    return auth_metadata(
        issue_token(
            secret,
            subject="convhub-cli",
            sites=["*"],
            scopes=scopes or list(Scope),
            ttl_seconds=300,
        )
    )


def channel(address: str) -> grpc.aio.Channel:
    return grpc.aio.insecure_channel(address)
