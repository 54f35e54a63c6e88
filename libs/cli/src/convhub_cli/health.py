"""`convhub health`: ask every service's gRPC health endpoint whether it is SERVING."""

from __future__ import annotations

import argparse
import asyncio

import grpc

from convhub_cli import stackfile
from convhub_cli.main import CliError, Failed, add_json, positive_float, print_json
from hubkit.grpcx import check_health


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser(
        "health",
        help="check every service (of the local stack, or --target)",
        description="Ask each service's gRPC health endpoint; exit 1 unless all are SERVING.",
    )
    p.add_argument(
        "--target",
        action="append",
        default=[],
        metavar="NAME=HOST:PORT",
        help="check this address instead of the local stack's services (repeat)",
    )
    p.add_argument(
        "--timeout",
        type=positive_float,
        default=2.0,
        help="seconds to wait for each answer (default 2)",
    )
    p.add_argument(
        "--token", metavar="JWT", help="accepted like elsewhere; health checks need no token"
    )
    add_json(p)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    stack_path = None
    if args.target:
        targets = dict(t.split("=", 1) if "=" in t else (t, t) for t in args.target)
    else:
        stack_path = stackfile.find()
        stack = stackfile.StackInfo.load(stack_path) if stack_path else None
        if stack is None:
            raise CliError(
                f"no local stack found ({stackfile.where_looked()}): start `make run`,"
                " set CONVHUB_STACK or pass --target"
            )
        targets = stack.services
    if not targets:
        raise CliError("no services to check")
    results = asyncio.run(_check_all(targets, args.timeout))
    if args.json:
        print_json(
            {
                name: {"address": address, "status": status, "detail": detail}
                for name, (address, status, detail) in results.items()
            }
        )
    else:
        width = max(len(n) for n in results)
        for name, (address, status, detail) in results.items():
            print(f"{name:<{width}}  {address:<21}  {status}" + (f" ({detail})" if detail else ""))
    down = [name for name, (_, status, _) in results.items() if status != "SERVING"]
    if down:
        message = f"{len(down)} of {len(results)} services not serving: {', '.join(down)}"
        if stack_path is not None and len(down) == len(results):
            message += f" (the stack of {stack_path} may have stopped)"
        raise Failed(message)
    return 0


async def _check_all(targets: dict[str, str], seconds: float) -> dict[str, tuple[str, str, str]]:
    """name -> (address, status, detail); unreachable is an answer too."""

    async def one(address: str) -> tuple[str, str]:
        try:
            return await check_health(address, timeout=seconds), ""
        except grpc.aio.AioRpcError as exc:
            if exc.code() == grpc.StatusCode.DEADLINE_EXCEEDED:
                return "NO_ANSWER", f"none within {seconds:g} s"
            if exc.code() == grpc.StatusCode.UNAVAILABLE:
                return "UNREACHABLE", (exc.details() or "").rsplit(": ", 1)[-1]
            return exc.code().name, exc.details() or ""

    answers = await asyncio.gather(*(one(a) for a in targets.values()))
    return {n: (a, *answer) for (n, a), answer in zip(targets.items(), answers, strict=True)}
