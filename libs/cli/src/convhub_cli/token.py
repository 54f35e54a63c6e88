"""`convhub token`: mint a development JWT (HS256, iss convhub, aud convhub-api)."""

from __future__ import annotations

import argparse

from convhub_cli import stackfile
from hubkit.auth import Scope, issue_token


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("token", help="mint a JWT for the local stack or a given secret")
    p.add_argument(
        "--site", action="append", default=[], help="site id it may use (repeat; '*' = all)"
    )
    p.add_argument(
        "--scope",
        action="append",
        choices=[s.value for s in Scope],
        default=[],
        help="scope it grants (repeat); default: all",
    )
    p.add_argument("--subject", default="convhub-cli")
    p.add_argument("--ttl", type=int, default=3600, help="seconds until it expires")
    p.add_argument(
        "--secret", help="HS256 secret (default: CONVHUB_JWT_SECRET[_FILE] or the stack's)"
    )
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from convhub_cli.main import CliError

    secret = stackfile.jwt_secret(args.secret)
    if not secret:
        raise CliError("no JWT secret: pass --secret, set CONVHUB_JWT_SECRET or start `make run`")
    scopes = [Scope(s) for s in args.scope] or list(Scope)
    print(
        issue_token(
            secret,
            subject=args.subject,
            sites=args.site or ["*"],
            scopes=scopes,
            ttl_seconds=args.ttl,
        )
    )
    return 0
