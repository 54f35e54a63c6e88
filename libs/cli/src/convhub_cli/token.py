"""`convhub token`: mint a JWT (HS256, iss convhub, aud convhub-api) that the services accept.

Pass it to any command with --token, or export it as CONVHUB_TOKEN.
"""

from __future__ import annotations

import argparse
from datetime import UTC, datetime

import jwt

from convhub_cli import grpc_client, stackfile
from convhub_cli.main import CliError, add_json, positive_int, print_json
from hubkit.auth import Scope


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser(
        "token",
        help="mint a JWT for the local stack or a given secret",
        description=__doc__,
    )
    p.add_argument(
        "--site", action="append", default=[], help="site id it may use (repeat; default: all)"
    )
    p.add_argument(
        "--scope",
        action="append",
        choices=[s.value for s in Scope],
        default=[],
        help="scope it grants (repeat; default: all)",
    )
    p.add_argument("--subject", default="convhub-cli", help="who it names (default convhub-cli)")
    p.add_argument(
        "--ttl", type=positive_int, default=3600, help="seconds until it expires (default 3600)"
    )
    p.add_argument(
        "--secret", help="HS256 secret (default: CONVHUB_JWT_SECRET[_FILE] or the stack's)"
    )
    add_json(p)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    secret = stackfile.find_jwt_secret(args.secret)
    if secret is None:
        raise CliError("no JWT secret: pass --secret, set CONVHUB_JWT_SECRET or start `make run`")
    token = grpc_client.mint(
        secret,
        subject=args.subject,
        sites=args.site or ["*"],
        scopes=[Scope(s) for s in args.scope] or list(Scope),
        ttl_seconds=args.ttl,
    )
    if args.json:
        exp = jwt.decode(token, options={"verify_signature": False})["exp"]
        expires_at = datetime.fromtimestamp(exp, UTC).isoformat().replace("+00:00", "Z")
        print_json({"token": token, "expires_at": expires_at})
    else:
        print(token)
    return 0
