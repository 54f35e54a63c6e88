"""`convhub health`: ask every service's gRPC health endpoint whether it is SERVING."""

from __future__ import annotations

import argparse
import asyncio

from convhub_cli import stackfile
from hubkit.grpcx import check_health


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("health", help="check every service (of the local stack, or --target)")
    p.add_argument(
        "--target",
        action="append",
        default=[],
        metavar="NAME=HOST:PORT",
        help="check this address instead of the local stack's services (repeat)",
    )
    p.add_argument("--timeout", type=float, default=2.0)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from convhub_cli.main import CliError

    if args.target:
        targets = dict(t.split("=", 1) if "=" in t else (t, t) for t in args.target)
    else:
        stack = stackfile.StackInfo.load()
        if stack is None:
            raise CliError(
                "no local stack found (.run/stack.json): start `make run` or pass --target"
            )
        targets = stack.services
    if not targets:
        raise CliError("no services to check")
    results = asyncio.run(_check_all(targets, args.timeout))
    width = max(len(n) for n in results)
    for name, (address, status) in results.items():
        print(f"{name:<{width}}  {address:<21}  {status}")
    return 0 if all(status == "SERVING" for _, status in results.values()) else 1


async def _check_all(targets: dict[str, str], seconds: float) -> dict[str, tuple[str, str]]:
    async def one(address: str) -> str:
        try:
            return await check_health(address, timeout=seconds)
        except Exception as exc:  # unreachable is an answer too
            return f"UNREACHABLE ({type(exc).__name__})"

    statuses = await asyncio.gather(*(one(a) for a in targets.values()))
    return {n: (a, s) for (n, a), s in zip(targets.items(), statuses, strict=True)}
